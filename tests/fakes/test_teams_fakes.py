"""Self-tests of the Teams fakes, against the real botbuilder SDK (ConnectorClient, CloudAdapter,
ConfigurationBotFrameworkAuthentication, TeamsActivityHandler) and MSAL.

Two botbuilder 4.17.1 gaps a server must cover too (both shown here):
- CloudAdapter never closes the ConnectorClient / TokenApiClient it builds per turn (each holds a
  requests.Session; leaked sockets are ResourceWarnings, errors under filterwarnings=error):
  `close_turn_clients` closes them, and MSAL's session, at the end of each turn.
- Invoke responses with a body are serialized twice (ActivityHandler, then CloudAdapter.process),
  which raises: `RecordingBot.on_invoke_activity` hands process() a model again.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from botbuilder.core import InvokeResponse, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler, teams_get_channel_id, teams_get_team_info
from botbuilder.core.teams.teams_activity_extensions import teams_get_channel_data
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import (
    Activity,
    AdaptiveCardInvokeResponse,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
    ErrorResponseException,
)
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import JwtTokenExtractor, MicrosoftAppCredentials

from tests.fakes.teams import BOT_FRAMEWORK_ISSUER, FakeConnector
from tests.fakes.teams_client import (
    APP_ID,
    BOT_ID,
    BOT_NAME,
    TEAM_ID,
    TeamsSender,
    card_execute,
    card_submit,
    conversation_update,
    installation_update,
    message,
    personal_conversation_id,
)

PASSWORD = "fake-app-password"
CHANNEL_THREAD = "19:abc-def@thread.tacv2;messageid=1700000000001"


@pytest.fixture
async def teams() -> AsyncIterator[FakeConnector]:
    async with FakeConnector() as fake:
        yield fake


@pytest.fixture
async def client(teams: FakeConnector) -> AsyncIterator[ConnectorClient]:
    async with ConnectorClient(MicrosoftAppCredentials.empty(), base_url=teams.url) as connector:
        yield connector


@pytest.fixture
def threaded() -> Iterator[FakeConnector]:
    """Served from its own thread: botbuilder's auth blocks the event loop on `requests`."""
    with FakeConnector() as fake:
        yield fake


def adapter_for(config: dict[str, str]) -> CloudAdapter:
    return CloudAdapter(ConfigurationBotFrameworkAuthentication(SimpleNamespace(**config)))


async def close_turn_clients(turn_context: TurnContext) -> None:
    for key in (CloudAdapter.BOT_CONNECTOR_CLIENT_KEY, CloudAdapter.USER_TOKEN_CLIENT_KEY):
        owner = turn_context.turn_state.get(key)
        client = getattr(owner, "_client", owner)  # the user token client wraps a TokenApiClient
        if client is not None:
            await client.__aexit__(None, None, None)
            msal_app = getattr(client.config.credentials, "app", None)
            if msal_app is not None:
                msal_app.http_client.close()


class RecordingBot(TeamsActivityHandler):
    """Echoes messages; records what the Teams handler routed where."""

    def __init__(self, reserialize_invokes: bool = True) -> None:
        self.events: list[tuple[str, Any]] = []
        self.reserialize_invokes = reserialize_invokes

    async def on_turn(self, turn_context: TurnContext) -> None:
        try:
            await super().on_turn(turn_context)
        finally:
            await close_turn_clients(turn_context)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        text = TurnContext.remove_recipient_mention(activity) if activity.text else None
        self.events.append(("message", (text or "").strip() or activity.value))
        await turn_context.send_activity(f"echo: {(text or '').strip()}")

    async def on_teams_members_added(self, members, team_info, turn_context):  # noqa: ANN001
        self.events.append(("members_added", ([m.id for m in members], team_info.id if team_info else None)))

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        self.events.append(("installed", turn_context.activity.conversation.id))

    async def on_installation_update_remove(self, turn_context: TurnContext) -> None:
        self.events.append(("uninstalled", turn_context.activity.conversation.id))

    async def on_adaptive_card_invoke(self, turn_context, invoke_value):  # noqa: ANN001
        action = invoke_value.action  # a dict: botbuilder does not deserialize it
        self.events.append(("execute", (action["verb"], action["data"])))
        card = {"type": "AdaptiveCard", "version": "1.4", "body": [{"type": "TextBlock", "text": "done"}]}
        return AdaptiveCardInvokeResponse(status_code=200, type="application/vnd.microsoft.card.adaptive", value=card)

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse | None:
        response = await super().on_invoke_activity(turn_context)
        if self.reserialize_invokes and response is not None and isinstance(response.body, dict):
            # botbuilder 4.17.1 serializes invoke bodies twice (ActivityHandler, then
            # CloudAdapter.process), which fails on a dict: hand process() a model again.
            response.body = AdaptiveCardInvokeResponse().deserialize(response.body)
        return response


@asynccontextmanager
async def bot_server(adapter: CloudAdapter, bot: RecordingBot) -> AsyncIterator[str]:
    """The bot's `POST /api/messages` on 127.0.0.1, as `cocreate serve` would run it."""

    async def messages(request: web.Request) -> web.StreamResponse:
        return await adapter.process(request, bot)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


# ---------------------------------------------------------------- the connector, no credentials


async def test_send_reply_update_delete_are_recorded(teams: FakeConnector, client: ConnectorClient) -> None:
    assert teams.url.startswith("http://127.0.0.1:") and teams.url.endswith("/")
    conversation = "a:1AbC_dEf-9"
    text = Activity(type="message", text="hello", conversation=ConversationAccount(id=conversation))
    sent = await client.conversations.send_to_conversation(conversation, text)
    reply = Activity(type="message", text="in thread", reply_to_id=sent.id)
    replied = await client.conversations.reply_to_activity(conversation, sent.id, reply)
    changed = Activity(type="message", id=sent.id, text="edited")
    updated = await client.conversations.update_activity(conversation, sent.id, changed)
    await client.conversations.delete_activity(conversation, replied.id)

    assert sent.id.isdigit() and replied.id.isdigit() and int(replied.id) > int(sent.id)
    assert updated.id == sent.id
    assert [(c.kind, c.method, c.answered) for c in teams.calls()] == [
        ("send", "POST", 201), ("reply", "POST", 201), ("update", "PUT", 200), ("delete", "DELETE", 200),
    ]  # fmt: skip
    send, reply_call, update, delete = teams.calls()
    assert send.conversation_id == conversation and send.path == "/v3/conversations/a%3A1AbC_dEf-9/activities"
    assert send.body["text"] == "hello" and send.text == "hello" and send.body["type"] == "message"
    assert (reply_call.activity_id, reply_call.body["replyToId"]) == (sent.id, sent.id)
    assert (update.activity_id, update.body["text"]) == (sent.id, "edited")
    assert delete.activity_id == replied.id and delete.body is None
    assert send.authorization is None and send.token is None and send.ok  # no credentials: no header
    # what is left in the conversation: the edited first message; the reply was deleted
    assert [(m["id"], m["text"]) for m in teams.messages(conversation)] == [(sent.id, "edited")]
    assert await teams.wait_for("send") == [send]
    assert teams.calls("reply", conversation_id="other") == []
    teams.clear()
    assert teams.calls() == [] and teams.messages(conversation) == []


@pytest.mark.parametrize("conversation", [CHANNEL_THREAD, "29:odd/id with space", "a:1x;y=z@q"])
async def test_conversation_ids_are_decoded(teams: FakeConnector, client: ConnectorClient, conversation: str) -> None:
    sent = await client.conversations.send_to_conversation(conversation, Activity(type="message", text="x"))
    await client.conversations.update_activity(conversation, sent.id, Activity(type="message", text="y"))
    send, update = teams.calls()
    assert "%3A" in send.path and ";" not in send.path  # the SDK percent-encodes ids
    assert (send.kind, send.conversation_id, update.kind, update.conversation_id) == (
        "send", conversation, "update", conversation,
    )  # fmt: skip
    assert update.activity_id == sent.id


async def test_create_conversation_personal_and_channel(teams: FakeConnector, client: ConnectorClient) -> None:
    personal = ConversationParameters(
        is_group=False, bot=ChannelAccount(id=BOT_ID), members=[ChannelAccount(id="29:mo")], tenant_id="t-1",
        activity=Activity(type="message", text="welcome"),
    )  # fmt: skip
    created = await client.conversations.create_conversation(personal)
    assert created.id.startswith("a:new-") and created.activity_id and created.service_url == teams.url
    channel = ConversationParameters(
        is_group=True, channel_data={"channel": {"id": "19:general@thread.tacv2"}}, tenant_id="t-1",
        activity=Activity(type="message", text="news"),
    )  # fmt: skip
    thread = await client.conversations.create_conversation(channel)
    assert thread.id == f"19:general@thread.tacv2;messageid={thread.activity_id}"

    first, second = teams.calls("create")
    assert first.body["members"] == [{"id": "29:mo"}] and first.body["activity"]["text"] == "welcome"
    assert first.body["tenantID"] == "t-1" and first.answered == 201  # sic: botbuilder-python's key
    assert second.body["channelData"] == {"channel": {"id": "19:general@thread.tacv2"}}
    assert [m["text"] for m in teams.messages(thread.id)] == ["news"]
    members = await client.conversations.get_conversation_members(created.id)
    assert [m.id for m in members] == ["29:mo"] and members[0].name == "Mo"


async def test_roster(teams: FakeConnector, client: ConnectorClient) -> None:
    anyone = await client.conversations.get_conversation_member("a:1", "29:some-user")
    assert (anyone.id, anyone.name) == ("29:some-user", "Some User")
    teams.set_members("a:2", ["29:ann", teams.member("29:bo", name="Bo B")])
    assert [m.name for m in await client.conversations.get_conversation_members("a:2")] == ["Ann", "Bo B"]
    with pytest.raises(ErrorResponseException) as missing:
        await client.conversations.get_conversation_member("a:2", "29:nobody")
    assert missing.value.response.status_code == 404
    assert missing.value.error.error.code == "MemberNotFoundInConversation"
    paged = await client.conversations.get_conversation_paged_members("a:2")
    assert [m.id for m in paged.members] == ["29:ann", "29:bo"]
    assert [c.kind for c in teams.calls()] == ["member", "members", "member", "paged_members"]
    assert teams.calls("member")[0].member_id == "29:some-user"


# ---------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("status", "code"),
    [(403, "BotNotInConversationRoster"), (404, "ConversationNotFound"), (412, "PreconditionFailed"),
     (502, "ServiceError"), (504, "GatewayTimeout")],
)  # fmt: skip
async def test_faults_are_sdk_errors(teams: FakeConnector, client: ConnectorClient, status: int, code: str) -> None:
    teams.fail("send", status)
    with pytest.raises(ErrorResponseException) as raised:
        await client.conversations.send_to_conversation("a:1", Activity(type="message", text="x"))
    assert raised.value.response.status_code == status
    assert raised.value.error.error.code == code and raised.value.error.error.message
    await client.conversations.send_to_conversation("a:1", Activity(type="message", text="x"))  # consumed
    assert [c.answered for c in teams.calls("send")] == [status, 201]
    assert teams.messages("a:1")[0]["text"] == "x" and len(teams.messages("a:1")) == 1


async def test_fail_with_custom_code_in_order(teams: FakeConnector, client: ConnectorClient) -> None:
    teams.fail("update", 403, error_code="ConversationBlockedByUser")
    teams.fail("update", 400, times=2, message="bad card")
    codes = []
    for _ in range(4):
        try:
            await client.conversations.update_activity("a:1", "1", Activity(type="message", text="x"))
            codes.append("ok")
        except ErrorResponseException as error:
            codes.append((error.response.status_code, error.error.error.code, error.error.error.message))
    assert codes == [
        (403, "ConversationBlockedByUser", "User blocked the conversation with the bot."),
        (400, "BadSyntax", "bad card"), (400, "BadSyntax", "bad card"), "ok",
    ]  # fmt: skip


async def test_throttle_answers_429_with_retry_after(teams: FakeConnector, client: ConnectorClient) -> None:
    teams.throttle("reply", retry_after=3)
    with pytest.raises(ErrorResponseException) as raised:
        await client.conversations.reply_to_activity("a:1", "5", Activity(type="message", text="x"))
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "3"
    assert raised.value.error.error.code == "Throttled"
    await client.conversations.reply_to_activity("a:1", "5", Activity(type="message", text="x"))
    assert [c.answered for c in teams.calls("reply")] == [429, 201]


async def test_limit_per_conversation(teams: FakeConnector, client: ConnectorClient) -> None:
    teams.limit(per_conversation=(3, 0.5))
    statuses = []
    for conversation in ["a:1"] * 4 + ["a:2"]:
        try:
            await client.conversations.send_to_conversation(conversation, Activity(type="message", text="x"))
            statuses.append(201)
        except ErrorResponseException as error:
            statuses.append(error.response.status_code)
            assert error.response.headers["Retry-After"] == "1"
    assert statuses == [201, 201, 201, 429, 201]  # the other conversation has its own budget
    await asyncio.sleep(0.55)
    await client.conversations.send_to_conversation("a:1", Activity(type="message", text="x"))
    teams.limit(None)
    for _ in range(5):
        await client.conversations.send_to_conversation("a:1", Activity(type="message", text="x"))


async def test_slow_and_respond(teams: FakeConnector, client: ConnectorClient) -> None:
    teams.slow("send", 0.3)
    started = time.monotonic()
    await client.conversations.send_to_conversation("a:1", Activity(type="message", text="x"))
    assert time.monotonic() - started >= 0.3
    teams.respond("send", lambda call: {"id": f"custom-{call.conversation_id}"})
    assert (await client.conversations.send_to_conversation("a:9", Activity(type="message"))).id == "custom-a:9"


async def test_latency_delays_every_answer_and_concurrent_calls_overlap() -> None:
    async with FakeConnector(latency_ms=150) as teams, aiohttp.ClientSession() as http:

        async def send(i: int) -> float:
            started = time.monotonic()
            async with http.post(f"{teams.url}v3/conversations/a:{i}/activities", json={"type": "message"}) as answer:
                assert answer.status == 201
            return time.monotonic() - started

        started = time.monotonic()
        took = await asyncio.gather(*(send(i) for i in range(20)))
        wall = time.monotonic() - started
    assert min(took) >= 0.15
    assert wall < 1.0  # one after another would be 20 x 150 ms = 3 s
    assert len(teams.calls("send")) == 20


async def test_unknown_paths_are_404(teams: FakeConnector) -> None:
    async with ConnectorClient(MicrosoftAppCredentials.empty(), base_url=teams.url) as client:
        request = client._client.get("/v3/nothing/here")
        response = await client._client.async_send(request)
        assert response.status_code == 404
    assert teams.calls()[0].kind == "unknown"


# ---------------------------------------------------------------- through CloudAdapter, auth off


async def test_cloud_adapter_without_credentials(teams: FakeConnector) -> None:
    adapter = adapter_for(teams.bot_config())  # {}: auth off, like the Emulator
    assert teams.bot_config() == {}
    seen: dict[str, Any] = {}

    async def on_created(turn_context: TurnContext) -> None:
        seen["conversation"] = turn_context.activity.conversation.id
        sent = await turn_context.send_activity("first")
        seen["sent"] = sent.id
        activity = MessageFactory.text("first, edited")
        activity.id = sent.id
        await turn_context.update_activity(activity)
        await close_turn_clients(turn_context)

    params = ConversationParameters(is_group=False, members=[ChannelAccount(id="29:mo")], tenant_id="t-1")
    await adapter.create_conversation(None, on_created, params, "msteams", teams.url)
    conversation = seen["conversation"]
    assert conversation.startswith("a:new-")

    async def proactive(turn_context: TurnContext) -> None:
        await turn_context.send_activity("later")
        await turn_context.delete_activity(seen["sent"])
        await close_turn_clients(turn_context)

    reference = ConversationReference(
        channel_id="msteams", service_url=teams.url, conversation=ConversationAccount(id=conversation),
        bot=ChannelAccount(id=BOT_ID),
    )  # fmt: skip
    await adapter.continue_conversation(reference, proactive, bot_app_id=None)
    # CloudAdapter gives the create turn and continuation turns a made-up activity id (a uuid),
    # so what the bot sends there is a *reply* to that id; Teams accepts it.
    assert [c.kind for c in teams.calls()] == ["create", "reply", "update", "reply", "delete"]
    create_reply, _, proactive_reply, _ = teams.calls()[1:]
    assert create_reply.conversation_id == proactive_reply.conversation_id == conversation
    assert len(create_reply.activity_id) == 36 and create_reply.activity_id != proactive_reply.activity_id
    assert all(c.authorization is None for c in teams.calls())
    assert [m["text"] for m in teams.messages(conversation)] == ["later"]


async def test_builders_through_a_teams_activity_handler(teams: FakeConnector) -> None:
    adapter, bot = adapter_for({}), RecordingBot()
    async with bot_server(adapter, bot) as url, TeamsSender() as sender:
        personal = message("hello", service_url=teams.url)
        assert (await sender.post(url, personal))[0] == 201
        channel = message("start", conversation_type="channel", mentions_bot=True, service_url=teams.url)
        assert (await sender.post(url, channel))[0] == 201
        submit = card_submit({"choice": "b"}, reply_to_id="1700000000123", service_url=teams.url)
        assert (await sender.post(url, submit))[0] == 201
        added = conversation_update(members_added=[BOT_ID, "29:ann"], team_id=TEAM_ID, service_url=teams.url)
        assert (await sender.post(url, added))[0] == 201  # CloudAdapter answers 201 to all but invokes
        for action in ("add", "remove"):
            assert (await sender.post(url, installation_update(action, service_url=teams.url)))[0] == 201
        status, body = await sender.post(url, card_execute("vote", {"option": 2}, service_url=teams.url))
        assert status == 200 and json.loads(body)["value"]["body"][0]["text"] == "done"
        assert (await sender.post(url, "{not json"))[0] == 500  # the SDK does not guard request.json()
        assert (await sender.post(url, {"text": "no type"}))[0] == 400

    assert bot.events == [
        ("message", "hello"), ("message", "start"), ("message", {"choice": "b"}),
        ("members_added", ([BOT_ID, "29:ann"], TEAM_ID)),
        ("installed", personal_conversation_id()), ("uninstalled", personal_conversation_id()),
        ("execute", ("vote", {"option": 2})),
    ]  # fmt: skip
    replies = teams.calls("reply")
    assert [c.text for c in replies] == ["echo: hello", "echo: start", "echo: "]
    assert replies[0].conversation_id == personal["conversation"]["id"]
    assert replies[0].activity_id == personal["id"]
    assert replies[1].conversation_id == f"{TEAM_ID};messageid={channel['id']}"
    assert replies[1].body["recipient"]["id"] == "29:mo" and replies[1].body["from"]["id"] == BOT_ID


async def test_sdk_invoke_responses_need_help(teams: FakeConnector) -> None:
    """Without RecordingBot's workaround, any invoke answered with a body is a 500 (SDK bug)."""
    adapter, bot = adapter_for({}), RecordingBot(reserialize_invokes=False)
    async with bot_server(adapter, bot) as url:
        status, _ = await TeamsSender().post(url, card_execute("vote", service_url=teams.url))
    assert status == 500 and bot.events == [("execute", ("vote", {}))]


def test_builder_shapes() -> None:
    channel = message("hi", conversation_type="channel", mentions_bot=True, team_id="19:t@thread.tacv2",
                      channel_id="19:c@thread.tacv2", reply_to_id="1700")  # fmt: skip
    assert channel["text"] == f"<at>{BOT_NAME}</at> hi"
    assert channel["conversation"]["id"] == "19:c@thread.tacv2;messageid=1700" and channel["replyToId"] == "1700"
    activity = Activity().deserialize(channel)
    data = teams_get_channel_data(activity)
    assert (data.team.id, data.channel.id, data.tenant.id) == ("19:t@thread.tacv2", "19:c@thread.tacv2", "t-1")
    assert teams_get_team_info(activity).id == "19:t@thread.tacv2"
    assert teams_get_channel_id(activity) == "19:c@thread.tacv2"
    [mention] = TurnContext.get_mentions(activity)
    mentioned = {"mentioned": {"id": BOT_ID, "name": BOT_NAME}, "text": f"<at>{BOT_NAME}</at>"}
    assert mention.type == "mention" and mention.additional_properties == mentioned
    assert TurnContext.remove_recipient_mention(activity).strip() == "hi"

    personal = Activity().deserialize(message("yo", user_id="29:ann", aad_id="aad-1", name="Ann"))
    assert personal.conversation.conversation_type == "personal" and personal.conversation.id.startswith("a:")
    assert (personal.from_property.id, personal.from_property.aad_object_id) == ("29:ann", "aad-1")
    assert personal.channel_data == {"tenant": {"id": "t-1"}} and personal.channel_id == "msteams"
    assert personal.recipient.id == BOT_ID and personal.text == "yo" and not personal.entities[0].type == "mention"

    submit = card_submit({"a": 1}, reply_to_id="17", conversation_type="channel")
    assert "text" not in submit and submit["value"] == {"a": 1} and submit["replyToId"] == "17"
    assert submit["channelData"]["team"]["id"] == TEAM_ID and submit["channelData"]["source"] == {"name": "message"}

    removed = conversation_update(members_removed=[BOT_ID], team_id=TEAM_ID)
    assert removed["channelData"]["eventType"] == "teamMemberRemoved" and "membersAdded" not in removed
    team_install = installation_update("add", team_id=TEAM_ID)
    assert team_install["conversation"]["id"] == TEAM_ID and team_install["action"] == "add"
    assert team_install["channelData"]["settings"]["selectedChannel"]["id"] == TEAM_ID
    with pytest.raises(ValueError):
        message("x", conversation_type="meeting")


# ---------------------------------------------------------------- inbound auth (JWT validation)


def activity_for(teams: FakeConnector, text: str = "hi") -> Activity:
    return Activity().deserialize(message(text, service_url=teams.url))


async def echo(turn_context: TurnContext) -> None:
    await close_turn_clients(turn_context)


async def test_metadata_and_keys(threaded: FakeConnector) -> None:
    async with ConnectorClient(MicrosoftAppCredentials.empty(), base_url=threaded.root) as client:
        for url in (threaded.openid_metadata_url, f"{threaded.root}/openid/.well-known/openidconfiguration"):
            response = await client._client.async_send(client._client.get(url))
            metadata = json.loads(response.text())
            assert metadata["issuer"] == BOT_FRAMEWORK_ISSUER and metadata["jwks_uri"] == threaded.jwks_url
        keys = json.loads((await client._client.async_send(client._client.get(threaded.jwks_url))).text())
    [key] = keys["keys"]
    assert key["kid"] == threaded.key.kid and key["kty"] == "RSA" and key["endorsements"] == ["msteams"]
    token = threaded.token_for(APP_ID, threaded.url)
    claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=["RS256"], audience=APP_ID)
    assert claims["serviceurl"] == threaded.url and claims["iss"] == BOT_FRAMEWORK_ISSUER
    assert jwt.get_unverified_header(token)["kid"] == key["kid"]


async def test_valid_token_is_accepted(threaded: FakeConnector) -> None:
    adapter = adapter_for(threaded.bot_config(APP_ID, PASSWORD))
    turns: list[TurnContext] = []

    async def logic(turn_context: TurnContext) -> None:
        turns.append(turn_context)
        await close_turn_clients(turn_context)

    activity = activity_for(threaded)
    assert await adapter.process_activity(threaded.authorization(APP_ID, threaded.url), activity, logic) is None
    [turn] = turns
    claims = turn.turn_state[CloudAdapter.BOT_IDENTITY_KEY].claims
    assert claims["aud"] == APP_ID and claims["serviceurl"] == threaded.url
    assert [c.kind for c in threaded.calls()] == ["openid", "keys"]  # fetched once, then cached
    activity = activity_for(threaded)
    await adapter.process_activity(threaded.authorization(APP_ID, threaded.url), activity, logic)
    assert len(turns) == 2 and len(threaded.calls()) == 2


@pytest.mark.parametrize(
    ("how", "error"),
    [
        (None, AttributeError),  # no Authorization header: the SDK dereferences a None identity
        ("malformed", jwt.DecodeError),
        ("basic", PermissionError),
        ("audience", PermissionError),
        ("issuer", PermissionError),
        ("serviceurl", PermissionError),
        ("signature", jwt.InvalidSignatureError),
        ("expired", jwt.ExpiredSignatureError),
        ("unknown_key", IndexError),  # botbuilder's key lookup: [...][0] on no match
    ],
)
async def test_bad_tokens_are_refused(threaded: FakeConnector, how: str | None, error: type[Exception]) -> None:
    adapter = adapter_for(threaded.bot_config(APP_ID, PASSWORD))
    headers = {None: "", "malformed": "Bearer not.a.jwt", "basic": "Basic YXBwOnNlY3JldA=="}
    header = headers[how] if how in headers else f"Bearer {threaded.forged_token(how, APP_ID, threaded.url)}"

    async def logic(turn_context: TurnContext) -> None:  # pragma: no cover - must not run
        raise AssertionError("turn ran")

    with pytest.raises(error):
        await adapter.process_activity(header, activity_for(threaded), logic)


async def test_expiry_leeway_is_five_minutes(threaded: FakeConnector) -> None:
    adapter = adapter_for(threaded.bot_config(APP_ID, PASSWORD))
    header = threaded.authorization(APP_ID, threaded.url, expires_in=-200)  # expired, within leeway
    await adapter.process_activity(header, activity_for(threaded), echo)
    with pytest.raises(jwt.ExpiredSignatureError):
        await adapter.process_activity(threaded.authorization(APP_ID, threaded.url, expires_in=-400),
                                       activity_for(threaded), echo)  # fmt: skip


async def test_endorsements_are_checked(threaded: FakeConnector) -> None:
    adapter = adapter_for(threaded.bot_config(APP_ID, PASSWORD))
    activity = activity_for(threaded)
    activity.channel_id = "webchat"
    with pytest.raises(Exception, match="Could not validate endorsement key"):
        await adapter.process_activity(threaded.authorization(APP_ID, threaded.url), activity, echo)


async def test_http_statuses_of_refusals(threaded: FakeConnector) -> None:
    """What a `cocreate serve` built on CloudAdapter.process answers, unless it maps errors itself."""
    adapter, bot = adapter_for(threaded.bot_config(APP_ID, PASSWORD)), RecordingBot()
    async with bot_server(adapter, bot) as url, TeamsSender(connector=threaded, app_id=APP_ID) as sender:
        activity = message("hi", service_url=threaded.url)
        statuses = {
            "missing": (await sender.post(url, activity, signed=False))[0],
            "audience": (await sender.post(url, activity, forge="audience"))[0],
            "serviceurl": (await sender.post(url, activity, forge="serviceurl"))[0],
            "signature": (await sender.post(url, activity, forge="signature"))[0],
            "expired": (await sender.post(url, activity, forge="expired"))[0],
        }
        assert statuses == {"missing": 500, "audience": 401, "serviceurl": 401, "signature": 500, "expired": 500}
        assert bot.events == []
        # A valid token: the turn runs, but its reply needs an outbound token and, without
        # tls=True, there is no TO_CHANNEL_FROM_BOT_LOGIN_URL: MSAL tries login.microsoftonline.com.
        status, _ = await sender.post(url, activity, token=threaded.token_for(APP_ID, threaded.url))
    assert bot.events == [("message", "hi")]
    assert status == 500 and threaded.calls("reply") == []


async def test_auth_off_with_override_keys_refuses_anonymous(threaded: FakeConnector) -> None:
    """Why bot_config() is {} without an app id: any override key makes the SDK demand a token
    (and crash on its absence: AttributeError, a 500), even with auth disabled."""
    config = {"TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": threaded.openid_metadata_url,
              "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": BOT_FRAMEWORK_ISSUER}  # fmt: skip
    with pytest.raises(AttributeError):
        await adapter_for(config).process_activity("", activity_for(threaded), echo)
    await adapter_for({}).process_activity("", activity_for(threaded), echo)


async def test_each_fake_has_its_own_metadata_url() -> None:
    """The SDK caches keys per metadata URL for a day, process-wide; a reused port must not matter."""
    for _ in range(2):
        with FakeConnector() as fake:
            assert fake.openid_metadata_url not in JwtTokenExtractor.metadataCache
            adapter = adapter_for(fake.bot_config(APP_ID, PASSWORD))
            await adapter.process_activity(fake.authorization(APP_ID, fake.url), activity_for(fake), echo)
            assert fake.openid_metadata_url in JwtTokenExtractor.metadataCache


# ---------------------------------------------------------------- outbound auth (MSAL, TLS)


@pytest.fixture
def secure(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeConnector]:
    with FakeConnector(tls=True, app_id=APP_ID, app_password=PASSWORD, require_auth=True) as fake:
        assert fake.ca_file is not None
        for name, value in fake.env().items():
            monkeypatch.setenv(name, value)
        yield fake


async def test_outbound_token_from_the_fake(secure: FakeConnector) -> None:
    config = secure.bot_config(APP_ID, PASSWORD)
    assert config["TO_CHANNEL_FROM_BOT_LOGIN_URL"] == secure.login_url
    assert secure.login_url.startswith("https://127.0.0.1:") and secure.login_url.endswith("/adfs")
    adapter, bot = adapter_for(config), RecordingBot()
    service_url = secure.service_url("emea", tls=True)  # https service URL, /emea/ prefix
    activity = Activity().deserialize(message("hi", service_url=service_url))
    await adapter.process_activity(secure.authorization(APP_ID, service_url), activity, bot.on_turn)

    assert [c.kind for c in secure.calls()] == ["openid", "keys", "authority", "token", "reply"]
    token_call, reply = secure.calls("token")[0], secure.calls("reply")[0]
    assert token_call.body["client_id"] == APP_ID and token_call.body["client_secret"] == PASSWORD
    assert token_call.body["grant_type"] == "client_credentials"
    assert token_call.body["scope"] == "https://api.botframework.com/.default"
    assert token_call.path == "/adfs/oauth2/v2.0/token" and token_call.tenant == "adfs"
    assert reply.answered == 201 and reply.token == secure.issued_tokens[0]
    assert reply.path.startswith("/emea/v3/conversations/") and reply.text == "echo: hi"
    activity = Activity().deserialize(message("again", service_url=service_url))
    await adapter.process_activity(secure.authorization(APP_ID, service_url), activity, bot.on_turn)
    assert [c.kind for c in secure.calls()][5:] == ["authority", "token", "reply"]  # new credentials per turn
    assert secure.calls("reply")[1].token == secure.issued_tokens[1]


async def test_outbound_wrong_secret_and_missing_token(secure: FakeConnector) -> None:
    adapter = adapter_for(secure.bot_config(APP_ID, "wrong-password"))
    activity = Activity().deserialize(message("hi", service_url=secure.url))
    with pytest.raises(PermissionError, match="invalid_client"):
        await adapter.process_activity(secure.authorization(APP_ID, secure.url), activity, RecordingBot().on_turn)
    assert secure.calls("token")[0].answered == 401 and secure.calls("reply") == []

    async with ConnectorClient(MicrosoftAppCredentials.empty(), base_url=secure.url) as client:
        with pytest.raises(ErrorResponseException) as raised:  # require_auth: no token, no entry
            await client.conversations.send_to_conversation("a:1", Activity(type="message", text="x"))
    assert raised.value.response.status_code == 401


def test_msal_refuses_plain_http_authority(threaded: FakeConnector) -> None:
    credentials = MicrosoftAppCredentials(APP_ID, PASSWORD)
    credentials.oauth_endpoint = f"{threaded.root}/adfs"
    with pytest.raises(ValueError, match="https"):
        credentials.get_access_token()
    assert threaded.calls() == []


# ---------------------------------------------------------------- sync use, as from subprocess tests


def test_sync_sender_and_wait_for_sync() -> None:
    teams = FakeConnector().start_in_thread()
    try:
        sender = TeamsSender(connector=teams, app_id=APP_ID, path="/v3/conversations/a%3A1/activities")
        activity = message("sync", service_url=teams.url)
        status, text = sender.post_sync(teams.root, activity)
        assert status == 201 and json.loads(text)["id"].isdigit()
        [call] = teams.wait_for_sync("send")
        assert call.body == activity and call.conversation_id == "a:1"
        claims = jwt.decode(call.token, options={"verify_signature": False})
        assert (claims["aud"], claims["serviceurl"]) == (APP_ID, teams.url)
        teams.fail("send", 403)
        assert sender.post_sync(teams.root, activity, signed=False)[0] == 403
        assert teams.calls("send")[1].authorization is None
        with pytest.raises(TimeoutError, match="expected 1 x update"):
            teams.wait_for_sync("update", timeout=0.05)
    finally:
        teams.stop()
    with pytest.raises(RuntimeError):
        teams.url  # noqa: B018
