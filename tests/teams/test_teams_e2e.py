"""Teams end to end: activities with real Bot Framework tokens posted over HTTP to a real
`cocreate serve`, replies through a fake Bot Connector, then the stored records checked.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from datetime import date, timedelta

import pytest

from storage.repository import open_store
from tests.fakes.teams_client import (
    APP_ID,
    TEAM_ID,
    TeamsSender,
    card_submit,
    conversation_update,
    installation_update,
    message,
    personal_conversation_id,
)
from tests.support import COCREATE, start_server, stop_server


async def records(server, coalition="harbour"):
    store = open_store(server.database_url)
    try:
        return await store.export(coalition)
    finally:
        await store.close()


async def post(server, connector, activity, **options):
    async with TeamsSender(connector=connector, app_id=APP_ID) as sender:
        status, _ = await sender.post(server.url, activity, **options)
    return status


def cards(connector, conversation):
    """The bot's messages in a conversation that carry an Adaptive Card, as they stand now."""
    found = []
    for activity in connector.messages(conversation):
        for attachment in activity.get("attachments") or []:
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                found.append((activity["id"], attachment["content"]))
    return found


def said(connector, conversation) -> str:
    texts = []
    for activity in connector.messages(conversation):
        texts.append(activity.get("text") or "")
        for attachment in activity.get("attachments") or []:
            texts.append(str(attachment.get("content")))
    return "\n".join(texts)


def inputs(card) -> list[str]:
    return [e["id"] for e in card["body"] if e.get("type", "").startswith("Input.")]


def submit_data(card) -> dict:
    [action] = [a for s in card["body"] if s["type"] == "ActionSet" for a in s["actions"]] or card["actions"]
    return action["data"]


async def say(server, connector, text, user="29:mo", **kw):
    activity = message(text, user_id=user, service_url=connector.url, **kw)
    assert await post(server, connector, activity) == 200
    return activity


async def test_story_in_a_personal_chat_card_updated_in_place(teams_server, connector):
    chat = personal_conversation_id("29:mo")
    await say(teams_server, connector, "story")
    [(card_id, card)] = cards(connector, chat)
    assert card["version"] == "1.5"
    assert inputs(card) == ["title", "body", "principles", "sectors", "consent", "named"]
    data = submit_data(card)

    # A missing title: the same card comes back with the error on it, nothing stored.
    bad = {**data, "title": "", "body": "It began", "principles": "1,7", "sectors": "citizen",
           "consent": "coalition", "named": "no"}
    assert await post(teams_server, connector, card_submit(bad, card_id, service_url=connector.url)) == 200
    [update] = connector.calls("update")
    assert update.activity_id == card_id and "This one needs an answer." in str(update.body)
    assert (await records(teams_server))["stories"] == []

    good = {**bad, "title": "Café in the harbour 🌊"}
    assert await post(teams_server, connector, card_submit(good, card_id, service_url=connector.url)) == 200
    # The card is now a read-only record of the answers: no inputs, no second submit.
    [(_, now)] = [(i, c) for i, c in cards(connector, chat) if i == card_id]
    assert "actions" not in str(now) and not inputs(now) and "Café in the harbour" in str(now)
    assert "Who can see it: My coalition (anonymous)" in said(connector, chat)
    [story] = (await records(teams_server))["stories"]
    assert (story["title"], story["principles"], story["anonymous"]) == ("Café in the harbour 🌊", [1, 7], True)


async def eventually(find, what, timeout=5.0):
    """Poll `find()` until it returns something truthy (the fake records calls as they come)."""
    deadline = time.monotonic() + timeout
    while not (found := find()):
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.05)
    return found


def card_buttons(card) -> list[dict]:
    return [a for s in card["body"] if s["type"] == "ActionSet" for a in s["actions"]]


async def test_leader_experiment_and_check_in(teams_server, connector):
    """The whole round over HTTP: opened by a leader, invitations sent by the outbox to each
    member's personal chat, answered from the invitation's button on a card, progress updated
    in place, the summary posted in the coalition's team channel with details in its thread."""
    lea, mo = personal_conversation_id("29:lea"), personal_conversation_id("29:mo")
    # The app is in the coalition's team: the bot keeps the channel's address from this event.
    added = conversation_update(members_added=[f"28:{APP_ID}"], team_id=TEAM_ID, service_url=connector.url)
    assert await post(teams_server, connector, added) == 200

    today = date.today()
    await say(teams_server, connector, "experiment", user="29:lea")
    [(card_id, card)] = cards(connector, lea)
    values = {**submit_data(card), "title": "Job café", "action": "Open a café", "effect": "Apprenticeships",
              "stakeholders": "young people, employers", "partners": "Bakery",
              "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=30)).isoformat(),
              "measures": "Contracts", "owner": ""}
    await post(teams_server, connector, card_submit(values, card_id, user_id="29:lea", service_url=connector.url))
    assert [e["title"] for e in (await records(teams_server))["experiments"]] == ["Job café"]

    # A member may not start one (and has now written to the bot, so it can write back).
    await say(teams_server, connector, "checkin")
    assert "Only coalition leaders" in said(connector, mo)

    await say(teams_server, connector, "checkin", user="29:lea")
    assert "Check-in round on **Job café** is open: I am asking 2 members now" in said(connector, lea)

    # The outbox sends each member an invitation card whose primary button sends `impact <round>`.
    def invitations(conversation):
        return [(i, c) for i, c in cards(connector, conversation) if "Impact check-in: Job café" in str(c)]

    [(_, invitation)] = await eventually(lambda: invitations(mo), "mo's invitation")
    [button] = card_buttons(invitation)
    assert button["type"] == "Action.Submit" and button["title"] == "Answer the check-in"
    assert button["style"] == "positive"
    command = button["data"]["msteams"]
    assert command["type"] == "imBack" and command["value"].startswith("impact ")
    round_id = int(command["value"].split()[1])
    await eventually(lambda: invitations(lea), "the leader's own invitation")
    [(progress_id, _)] = await eventually(
        lambda: [(i, c) for i, c in cards(connector, lea) if "Check-in round on Job café" in str(c)],
        "the leader's progress message")

    # Mo presses it: Teams posts the imBack value as Mo's message; the form comes as a card.
    await say(teams_server, connector, command["value"])
    [(form_id, form)] = [(i, c) for i, c in cards(connector, mo) if inputs(c)]
    assert inputs(form) == ["citizen_impact", "effect_0", "effect_1", "intended", "unintended", "evidence",
                            "decision"]
    values = {**submit_data(form), "citizen_impact": "4", "effect_0": "5", "effect_1": "2",
              "intended": "Two apprenticeships", "unintended": "", "evidence": "", "decision": "adjust"}
    assert await post(teams_server, connector, card_submit(values, form_id, service_url=connector.url)) == 200
    assert "Check-in saved for **Job café**. Decision: Adjust" in said(connector, mo)
    [checkin] = (await records(teams_server))["checkins"]
    assert (checkin["member_id"], checkin["round_id"]) == ("mo", str(round_id))
    assert checkin["effects"] == [{"stakeholder": "young people", "rating": 5},
                                  {"stakeholder": "employers", "rating": 2}]

    # The leader's progress message is replaced in place (a PUT to the same activity).
    [update] = await eventually(
        lambda: [c for c in connector.calls("update", lea) if c.activity_id == progress_id
                 and "1 answered" in str(c.body)][-1:], "the progress message updated to 1 answered")
    assert update.method == "PUT" and "sent 2/2 · 0 unreachable · 1 answered" in str(update.body)

    # Closed: the summary's headline is a new post in the team channel, its details in the thread.
    await say(teams_server, connector, "checkin close", user="29:lea")
    assert "Closed the check-in round on **Job café**" in said(connector, lea)

    def posts(where):  # proactive posts (new, or in reply to the turn's activity)
        return [c for c in connector.calls() if c.kind in ("send", "reply") and where(c.conversation_id or "")]

    [headline] = await eventually(
        lambda: [c for c in posts(lambda id: id == TEAM_ID) if "closed: 1 answer(s)" in str(c.body)],
        "the summary in the team channel")
    [headline_id] = [a["id"] for a in connector.messages(TEAM_ID) if "closed: 1 answer(s)" in str(a)]
    [details] = await eventually(
        lambda: posts(lambda id: id == f"{TEAM_ID};messageid={headline_id}"), "the summary's thread reply")
    assert "Two apprenticeships" in str(details.body) and "Adjust: 1" in str(details.body)
    assert headline.ok and details.ok

    # Nobody was invited twice.
    sent = [c for c in posts(lambda id: True) if command["value"] in str(c.body)]
    assert sorted(c.conversation_id for c in sent) == sorted([lea, mo])


async def test_a_members_time_zone_comes_from_their_teams_client(teams_server, connector):
    async def zones():
        store = open_store(teams_server.database_url)
        try:
            return dict(await store.zones())
        finally:
            await store.close()

    await say(teams_server, connector, "help", timezone="America/New_York")  # clientInfo.timezone
    await say(teams_server, connector, "help", user="29:lea", timezone="Not/A_Zone")  # not a zone: ignored
    # Not in app.yaml, but they may join in chat and get prompts: kept as on Slack.
    await say(teams_server, connector, "help", user="29:ann", timezone="Asia/Tokyo")
    assert await zones() == {"mo": "America/New_York", "teams:29:ann": "Asia/Tokyo"}
    await say(teams_server, connector, "status", timezone="Europe/Berlin")  # mo travelled
    assert (await zones())["mo"] == "Europe/Berlin"


async def test_members_may_not_start_a_check_in(teams_server, connector):
    await say(teams_server, connector, "checkin")
    assert "Only coalition leaders" in said(connector, personal_conversation_id("29:mo"))


async def test_channel_mention_is_stripped_and_the_channel_picks_the_coalition(teams_server, connector):
    activity = await say(teams_server, connector, "status", user="29:ann", conversation_type="channel",
                         mentions_bot=True, team_id=TEAM_ID, channel_id=TEAM_ID)
    assert activity["text"].startswith("<at>")
    conversation = activity["conversation"]["id"]
    assert "Your status in Harbour Youth" in said(connector, conversation)


async def test_a_retried_activity_records_once(teams_server, connector):
    await say(teams_server, connector, "reflect 2")
    answer = message("Habits change when we meet", service_url=connector.url)
    assert await post(teams_server, connector, answer) == 200
    replies = len(connector.calls())
    assert await post(teams_server, connector, answer) == 200  # Teams retries with the same id
    assert len(connector.calls()) == replies  # no second confirmation
    assert [r["text"] for r in (await records(teams_server))["reflections"]] == ["Habits change when we meet"]


@pytest.mark.parametrize("forge", ["signature", "audience", "expired", "issuer", "serviceurl", "unknown_key", None])
async def test_bad_or_missing_tokens_are_refused_and_change_nothing(teams_server, connector, forge):
    activity = message("join", service_url=connector.url)
    options = {"forge": forge} if forge else {"signed": False}
    assert await post(teams_server, connector, activity, **options) == 401
    assert [c for c in connector.calls() if c.kind not in ("openid", "keys")] == []


async def test_malformed_bodies_get_400(teams_server, connector):
    async with TeamsSender(connector=connector, app_id=APP_ID) as sender:
        assert (await sender.post(teams_server.url, b"{not json", signed=False))[0] == 400
        assert (await sender.post(teams_server.url, b'{"type": "message"}', signed=False))[0] == 400


async def test_install_welcomes_and_remembers_team_members(teams_server, connector):
    install = installation_update("add", service_url=connector.url)
    assert await post(teams_server, connector, install) == 200
    assert "Type **help**" in said(connector, install["conversation"]["id"])
    added = conversation_update(members_added=[f"28:{APP_ID}", "29:ann"], team_id=TEAM_ID, service_url=connector.url)
    assert await post(teams_server, connector, added) == 200
    store = open_store(teams_server.database_url)
    try:
        roster = await store.reference_for("teams", "teams:29:ann", "roster")
    finally:
        await store.close()
    assert roster is not None and roster.extra["service_url"] == connector.url


def notify(server_env, tmp_path, member, text):
    return subprocess.run([str(COCREATE), "notify", "--member", member, text], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path, env=server_env)


async def test_after_a_restart_the_bot_reaches_members_and_channels(tmp_path, teams_env, connector):
    first = start_server(tmp_path, teams_env, "first")
    try:
        await say(first, connector, "help")  # mo's personal chat is remembered
        await say(first, connector, "status", user="29:lea", conversation_type="channel",
                  team_id=TEAM_ID, channel_id=TEAM_ID)  # and the coalition's channel
    finally:
        stop_server(first)
    connector.clear()

    # A new process: a proactive message through the stored reference only.
    result = notify(teams_env, tmp_path, "mo", "The next meeting is on Tuesday")
    assert result.returncode == 0, result.stderr
    [sent] = [c for c in connector.calls() if c.kind in ("send", "reply")]
    assert sent.conversation_id == personal_conversation_id("29:mo") and "Tuesday" in sent.text
    assert sent.token in connector.issued_tokens  # outbound calls carry the bot's token, from MSAL

    # The restarted server posts coalition news to the stored channel, details in its thread.
    second = start_server(tmp_path, teams_env, "second")
    try:
        await say(second, connector, "experiment", user="29:lea")
        [(card_id, card)] = cards(connector, personal_conversation_id("29:lea"))
        today = date.today()
        values = {**submit_data(card), "title": "Homework club", "action": "Open the library", "effect": "Grades",
                  "stakeholders": "pupils", "partners": "Library", "starts_on": today.isoformat(),
                  "ends_on": (today + timedelta(days=20)).isoformat(), "measures": "Grades", "owner": ""}
        await post(second, connector, card_submit(values, card_id, user_id="29:lea", service_url=connector.url))
    finally:
        stop_server(second)
    channel = [c for c in connector.calls() if c.conversation_id and c.conversation_id.startswith(TEAM_ID)]
    assert "New experiment: **Homework club**" in str(channel[0].body)
    assert channel[1].conversation_id.startswith(f"{TEAM_ID};messageid=") and "Open the library" in str(channel[1].body)


async def test_a_member_who_never_wrote_gets_a_new_chat(tmp_path, teams_env, connector, teams_server):
    added = conversation_update(members_added=[f"28:{APP_ID}", "29:cora"], team_id=TEAM_ID, service_url=connector.url)
    assert await post(teams_server, connector, added) == 200
    connector.clear()
    result = notify(teams_env, tmp_path, "cora", "Welcome to the movement")
    assert result.returncode == 0, result.stderr
    [created] = connector.calls("create")
    assert created.body["members"][0]["id"] == "29:cora"
    assert any("Welcome to the movement" in (c.text or "") for c in connector.calls() if c.kind in ("send", "reply"))


async def test_a_blocked_member_is_marked_and_leaders_are_told(tmp_path, teams_env, connector, teams_server):
    await say(teams_server, connector, "help")
    await say(teams_server, connector, "help", user="29:lea")
    connector.clear()
    connector.fail("reply", 403, error_code="ConversationBlockedByUser")
    result = notify(teams_env, tmp_path, "mo", "Are you there?")
    assert result.returncode == 1 and "nothing was delivered to mo" in result.stderr
    assert len([c for c in connector.calls() if c.answered == 403]) == 1  # never retried
    told = [c for c in connector.calls() if c.conversation_id == personal_conversation_id("29:lea")]
    assert told and "could not reach Mo Member in Teams (they blocked the app)" in told[0].text
    store = open_store(teams_server.database_url)
    try:
        assert await store.unreachable("teams") == [("mo", "ConversationBlockedByUser")]
    finally:
        await store.close()


async def test_throttled_sends_are_retried(teams_server, connector):
    connector.throttle("reply", retry_after=1)
    await say(teams_server, connector, "help")
    sends = [c for c in connector.calls() if c.kind in ("send", "reply")]
    assert [c.answered for c in sends][0] == 429 and sends[-1].ok and len(sends) == 2
    assert sends[1].at - sends[0].at >= 0.9  # waited for Retry-After


async def test_a_personal_link_asked_for_in_a_channel_goes_to_the_members_private_chat(teams_server, connector):
    """Anyone in the team reads the channel: a one-time sign-in link posted there would sign
    them in as the member who asked."""
    await say(teams_server, connector, "help")  # Mo's private chat with the bot is known
    activity = await say(teams_server, connector, "web", conversation_type="channel", mentions_bot=True,
                         team_id=TEAM_ID, channel_id=TEAM_ID)
    channel, chat = activity["conversation"]["id"], personal_conversation_id("29:mo")
    assert "I answered you in our private chat." in said(connector, channel)
    assert "/signin/" not in said(connector, channel)
    assert "/signin/" in said(connector, chat)
    # Someone the bot has no private chat with gets no link at all, only where to ask.
    activity = await say(teams_server, connector, "web", user="29:ann", conversation_type="channel",
                         mentions_bot=True, team_id=TEAM_ID, channel_id=TEAM_ID)
    assert "I can only answer that in our private chat" in said(connector, activity["conversation"]["id"])
    links = [c.conversation_id for c in connector.calls() if c.kind in ("send", "reply") and "/signin/" in str(c.body)]
    assert links == [chat]  # Mo's, in Mo's private chat; none for Ann anywhere
