"""Self-tests of the Slack fakes, against the real slack_sdk clients and a real Bolt app."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes.slack import FakeSlack
from tests.fakes.slack_client import (
    FORM,
    SlackSender,
    app_home_opened,
    app_uninstalled,
    block_action,
    dm_message,
    event,
    plain_text,
    selected,
    sign,
    slash_command,
    tokens_revoked,
    url_verification,
    view_submission,
)

SECRET = "test-signing-secret"
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Hello*"}}]


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=slack.url)


# ---------------------------------------------------------------- Web API fake


async def test_records_method_args_and_token(slack: FakeSlack, client: AsyncWebClient) -> None:
    assert slack.url.startswith("http://127.0.0.1:") and slack.url.endswith("/api/")
    first = await client.chat_postMessage(channel="C_GENERAL", text="hi", blocks=BLOCKS)
    second = await client.chat_postMessage(channel="U_MO", text="dm")
    modal = {"type": "modal", "callback_id": "setup", "blocks": []}
    opened = await client.views_open(trigger_id="t1", view=modal)

    assert first["ok"] and first["channel"] == "C_GENERAL" and first["message"]["blocks"] == BLOCKS
    assert second["channel"] == "DU_MO"
    assert first["ts"] == "1700000000.000100" and float(second["ts"]) > float(first["ts"])
    view = opened["view"]
    assert view["id"].startswith("V") and view["hash"] and view["callback_id"] == "setup"

    [post, _] = slack.calls("chat.postMessage")
    assert (post.method, post.token, post.answered, post.ok) == ("chat.postMessage", "xoxb-test", "ok", True)
    assert post.args == {"channel": "C_GENERAL", "text": "hi", "blocks": BLOCKS}
    [view_call] = slack.calls("views.open")
    assert view_call.args["view"]["callback_id"] == "setup" and view_call.args["trigger_id"] == "t1"
    assert [c.method for c in slack.calls()] == ["chat.postMessage", "chat.postMessage", "views.open"]
    slack.clear()
    assert slack.calls() == []


async def test_form_bodies_query_params_and_defaults(slack: FakeSlack, client: AsyncWebClient) -> None:
    await client.api_call("chat.postMessage", data={"channel": "C1", "blocks": json.dumps(BLOCKS)})
    assert slack.calls("chat.postMessage")[0].args == {"channel": "C1", "blocks": BLOCKS}

    auth = await client.auth_test()
    assert (auth["team_id"], auth["user_id"], auth["bot_id"]) == ("T_TEST", "U_BOT", "B_BOT")
    user = (await client.users_info(user="U_MO"))["user"]  # a GET with query params
    assert (user["id"], user["team_id"], user["tz"]) == ("U_MO", "T_TEST", "Europe/Copenhagen")
    assert (await client.conversations_open(users="U_MO"))["channel"]["id"] == "DU_MO"
    assert (await client.chat_postEphemeral(channel="C1", user="U_MO", text="x"))["message_ts"]
    updated = await client.chat_update(channel="C1", ts="1.2", text="new")
    assert (updated["channel"], updated["ts"]) == ("C1", "1.2")
    republished = await client.views_update(view_id="V1", view={"type": "modal", "blocks": []})
    assert republished["view"]["id"] == "V1"
    home = await client.views_publish(user_id="U_MO", view={"type": "home", "blocks": []})
    assert home["view"]["type"] == "home"
    assert (await client.api_call("reactions.add")).data == {"ok": True}

    slack.socket_url = "ws://127.0.0.1:1/socket"
    assert (await client.apps_connections_open(app_token="xapp-1"))["url"] == "ws://127.0.0.1:1/socket"
    assert slack.calls("apps.connections.open")[0].token == "xapp-1"

    slack.users["U_NY"] = {"tz": "America/New_York", "real_name": "Ny"}
    assert (await client.users_info(user="U_NY"))["user"]["tz"] == "America/New_York"
    slack.respond("team.info", {"ok": True, "team": {"id": "T_X"}})
    assert (await client.team_info())["team"]["id"] == "T_X"


async def test_oauth_install_with_and_without_token_rotation(slack: FakeSlack) -> None:
    # Credentials go in the form: slack_sdk's `oauth_v2_access(client_id=..., client_secret=...)`
    # uses aiohttp.BasicAuth, which warns (DeprecationWarning) on aiohttp 3.14.
    client = AsyncWebClient(base_url=slack.url)
    credentials = {"client_id": "1.2", "client_secret": "s"}
    plain = await client.api_call("oauth.v2.access", data=credentials | {"code": "c"})
    assert plain["token_type"] == "bot" and plain["access_token"].startswith("xoxb-")
    assert plain["team"] == {"id": "T_TEST", "name": "Test Team"} and plain["enterprise"] is None
    assert plain["bot_user_id"] == "U_BOT" and plain["app_id"] == "A_TEST"
    assert plain["authed_user"]["id"] == "U_MO" and "refresh_token" not in plain
    slack.token_rotation = True
    rotated = await client.api_call("oauth.v2.access", data=credentials | {"code": "c"})
    assert rotated["refresh_token"] and rotated["expires_in"] == 43200
    refresh = {"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]}
    refreshed = await client.api_call("oauth.v2.access", data=credentials | refresh)
    assert refreshed["access_token"] != rotated["access_token"] and refreshed["refresh_token"]
    assert [c.token for c in slack.calls("oauth.v2.access")] == [None, None, None]
    assert slack.calls("oauth.v2.access")[0].args == credentials | {"code": "c"}


async def test_fail_raises_slack_api_error_then_recovers(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.fail("chat.postMessage", "channel_not_found", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as raised:
            await client.chat_postMessage(channel="C1", text="x")
        assert raised.value.response["error"] == "channel_not_found"
    assert (await client.chat_postMessage(channel="C1", text="x"))["ok"]
    assert [c.answered for c in slack.calls()] == ["channel_not_found", "channel_not_found", "ok"]


async def test_rate_limit_is_retried_after_retry_after(slack: FakeSlack) -> None:
    client = AsyncWebClient(token="xoxb-test", base_url=slack.url)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    slack.rate_limit("chat.postMessage", retry_after=1)
    started = time.monotonic()
    assert (await client.chat_postMessage(channel="C1", text="x"))["ok"]
    calls = slack.calls("chat.postMessage")
    assert [c.answered for c in calls] == [429, "ok"]
    assert calls[1].at - calls[0].at >= 1 and time.monotonic() - started >= 1


async def test_rate_limit_without_retry_handler_raises_429(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.rate_limit("chat.postMessage", retry_after=3)
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C1", text="x")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "3"


async def test_limit_per_channel(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.limit("chat.postMessage", per_second=1, key="channel")
    await client.chat_postMessage(channel="C1", text="1")
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C1", text="2")
    assert raised.value.response.status_code == 429
    await client.chat_postMessage(channel="C2", text="other channel")
    assert [c.answered for c in slack.calls()] == ["ok", 429, "ok"]


async def test_slow_delays_the_answer(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.slow("users.info", 0.3)
    started = time.monotonic()
    await client.users_info(user="U_MO")
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    await client.users_info(user="U_MO")
    assert time.monotonic() - started < 0.3


async def test_latency_delays_every_answer_without_queueing_them() -> None:
    async with FakeSlack(latency_ms=150) as slack:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.url)

        async def timed(call) -> float:
            started = time.monotonic()
            await call
            return time.monotonic() - started

        started = time.monotonic()
        took = await asyncio.gather(
            *(timed(client.chat_postMessage(channel=f"C{i}", text="x")) for i in range(19)),
            timed(AsyncWebhookClient(slack.response_url("r1")).send(text="done")))
        together = time.monotonic() - started
    assert min(took) >= 0.15  # every answer waited, the response_url's too
    assert together < 20 * 0.15 / 2  # side by side, not one after another
    assert len(slack.calls()) == 20 and all(c.ok for c in slack.calls())


async def test_wait_for(slack: FakeSlack, client: AsyncWebClient) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await client.chat_postMessage(channel="C1", text="x")

    task = asyncio.create_task(later())
    [call] = await slack.wait_for("chat.postMessage")
    await task
    assert call.args["text"] == "x"
    with pytest.raises(TimeoutError, match="views.open"):
        await slack.wait_for("views.open", timeout=0.05)


async def test_response_url_is_recorded(slack: FakeSlack) -> None:
    url = slack.response_url("r1")
    assert url.endswith("/response/r1")
    response = await AsyncWebhookClient(url).send(text="done", response_type="ephemeral", blocks=BLOCKS)
    assert response.status_code == 200
    [call] = slack.calls("response_url")
    assert call.path == "/response/r1"
    assert call.args == {"text": "done", "response_type": "ephemeral", "blocks": BLOCKS}


def test_thread_mode_from_sync_code() -> None:
    slack = FakeSlack().start_in_thread()
    try:
        client = WebClient(token="xoxb-sync", base_url=slack.url)
        assert client.chat_postMessage(channel="C1", text="from sync")["ok"]
        [call] = slack.wait_for_sync("chat.postMessage")
        assert (call.token, call.args["text"]) == ("xoxb-sync", "from sync")
        slack.fail("auth.test")
        with pytest.raises(SlackApiError, match="invalid_auth"):
            client.auth_test()
    finally:
        slack.stop()

    with FakeSlack() as slack:  # the sync context manager runs it in a thread too
        status, _ = SlackSender(SECRET, path="/response/sync").post_sync(slack.root, slash_command("x"))
        [call] = slack.wait_for_sync("response_url")
        assert status == 200 and call.args["command"] == "/cocreate"
        assert call.headers["X-Slack-Signature"].startswith("v0=")


# ---------------------------------------------------------------- signing


def test_signature_is_accepted_by_slack_sdk_and_forgery_rejected() -> None:
    verifier = SignatureVerifier(SECRET)
    body = slash_command("start").body
    headers = sign(body, SECRET)
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body, sign(body, "wrong-secret"))
    assert not verifier.is_valid_request(body + b"&x=1", headers)
    assert not verifier.is_valid_request(body, sign(body, SECRET, int(time.time()) - 600))

    _, _, forged = SlackSender(SECRET).prepare("http://bot", body, forge=True)
    assert not verifier.is_valid_request(body, forged)
    _, _, stale = SlackSender(SECRET).prepare("http://bot", body, stale=True)
    assert not verifier.is_valid_request(body, stale)
    url, _, retried = SlackSender(SECRET).prepare("http://bot/", body, retry_num=1)
    assert url == "http://bot/slack/events" and verifier.is_valid_request(body, retried)
    assert (retried["X-Slack-Retry-Num"], retried["X-Slack-Retry-Reason"]) == ("1", "http_timeout")


def test_builders_have_slack_shapes() -> None:
    command = slash_command("start", response_url="http://x/response/1")
    assert command.content_type == FORM
    fields = {k: v[0] for k, v in parse_qs(command.body.decode()).items()}
    assert fields["command"] == "/cocreate" and fields["text"] == "start" and fields["trigger_id"]

    action = block_action("join", "w1", user_team="T_OTHER")
    payload = json.loads(parse_qs(action.body.decode())["payload"][0])
    assert payload == action.payload and payload["type"] == "block_actions"
    assert payload["user"]["team_id"] == "T_OTHER" and payload["team"]["id"] == "T_TEST"
    assert payload["actions"][0]["value"] == "w1" and payload["container"]["type"] == "message"
    in_modal = block_action("pick", view={"id": "V9", "type": "modal"}).payload
    assert in_modal["container"] == {"type": "view", "view_id": "V9"} and "response_url" not in in_modal

    envelope = event(dm_message("hi")).payload
    assert envelope["type"] == "event_callback" and envelope["event"]["channel_type"] == "im"
    assert envelope["authorizations"][0]["team_id"] == "T_TEST" and envelope["event_id"].startswith("Ev")
    assert tokens_revoked(["U_BOT"])["tokens"] == {"oauth": [], "bot": ["U_BOT"]}


# ---------------------------------------------------------------- end to end with a real Bolt app


@pytest.fixture
async def bolt(slack: FakeSlack) -> AsyncIterator[tuple[str, list[tuple[str, Any]]]]:
    """A real Bolt app on a random port using the fake as its Web API; yields (url, seen)."""
    seen: list[tuple[str, Any]] = []
    app = AsyncApp(client=AsyncWebClient(token="xoxb-test", base_url=slack.url), signing_secret=SECRET)

    @app.command("/cocreate")
    async def command(ack: Any, respond: Any, command: dict) -> None:
        await ack()
        await respond(f"got {command['text']}")

    @app.action("join")
    async def join(ack: Any, body: dict, client: AsyncWebClient) -> None:
        await ack()
        seen.append(("action", body))
        await client.chat_postMessage(channel=body["user"]["id"], text="joined")

    @app.view("setup")
    async def setup(ack: Any, view: dict, body: dict) -> None:
        await ack()
        seen.append(("view", view))

    @app.event("message")
    async def message(event: dict, say: Any, request: Any) -> None:
        seen.append(("message", request.headers.get("x-slack-retry-num")))
        await say(f"echo {event['text']}")

    @app.event("app_home_opened")
    async def home(event: dict, client: AsyncWebClient) -> None:
        await client.views_publish(user_id=event["user"], view={"type": "home", "blocks": []})

    @app.event("app_uninstalled")
    @app.event("tokens_revoked")
    async def lifecycle(event: dict) -> None:
        seen.append((event["type"], event))

    runner = web.AppRunner(app.web_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", seen
    finally:
        await runner.cleanup()


async def test_bolt_accepts_every_builder(slack: FakeSlack, bolt: tuple[str, list]) -> None:
    url, seen = bolt
    async with SlackSender(SECRET) as sender:
        command = slash_command("start", response_url=slack.response_url("c1"))
        assert await sender.post(url, command) == (200, "")
        [reply] = await slack.wait_for("response_url")
        assert reply.args["text"] == "got start" and reply.path == "/response/c1"

        assert (await sender.post(url, block_action("join", "w1", user="U_ANA")))[0] == 200
        [post] = await slack.wait_for("chat.postMessage")
        assert post.args["channel"] == "U_ANA" and post.token == "xoxb-test"

        state = {"name": {"name_input": plain_text("Ocean")}, "kind": {"kind_select": selected("ngo")}}
        submission = view_submission("setup", private_metadata='{"w": 1}', state_values=state)
        assert (await sender.post(url, submission))[0] == 200

        assert (await sender.post(url, event(dm_message("hello")), retry_num=1))[0] == 200
        await slack.wait_for("chat.postMessage", count=2)
        assert slack.calls("chat.postMessage")[1].args["channel"] == "D_MO"

        assert (await sender.post(url, event(app_home_opened("U_MO"))))[0] == 200
        [published] = await slack.wait_for("views.publish")
        assert published.args["user_id"] == "U_MO"
        for lifecycle in (app_uninstalled(), tokens_revoked()):
            assert (await sender.post(url, event(lifecycle)))[0] == 200

        status, text = await sender.post(url, url_verification("abc"))
        assert status == 200 and "abc" in text
        assert (await sender.post(url, slash_command("x"), forge=True))[0] == 401
        assert (await sender.post(url, slash_command("x"), stale=True))[0] == 401
        assert (await sender.post(url, slash_command("x"), signed=False))[0] == 401

    kinds = dict(seen)
    assert kinds["view"]["state"]["values"]["name"]["name_input"]["value"] == "Ocean"
    assert kinds["view"]["private_metadata"] == '{"w": 1}'
    assert kinds["message"] == ["1"]
    assert {"app_uninstalled", "tokens_revoked", "action"} <= kinds.keys()
    assert slack.calls("auth.test")  # Bolt verified its token against the fake
