"""Slack end to end: signed requests over real HTTP to a real `cocreate serve` process,
which answers through a fake Slack Web API; then the stored records are checked.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import date, timedelta

import aiohttp
import pytest

from storage.repository import open_store
from tests.fakes.slack_client import (
    SlackSender,
    app_home_opened,
    app_uninstalled,
    block_action,
    dm_message,
    event,
    plain_text,
    slash_command,
    view_submission,
)
from tests.slack.conftest import SECRET


async def records(server, coalition="harbour"):
    store = open_store(server.database_url)
    try:
        return await store.export(coalition)
    finally:
        await store.close()


async def send(server, request, **options):
    async with SlackSender(secret=SECRET) as sender:
        return await sender.post(server.url, request, **options)


async def command(server, slack, text, user="U_MO", channel="C_HARBOUR", rid="r1"):
    started = time.monotonic()
    status, body = await send(server, slash_command(text, user=user, channel=channel,
                                                    response_url=slack.response_url(rid)))
    assert status == 200 and time.monotonic() - started < 1.5  # acked long before Slack's 3 s
    return body


async def posted(slack, channel, text, timeout=5.0, threaded=False):
    """The message posted to `channel` that says `text` (waits for it; order-independent),
    and with `threaded` one posted in a thread."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [c for c in slack.calls("chat.postMessage") if c.args.get("channel") == channel and text in texts(c)
                 and (not threaded or c.args.get("thread_ts"))]
        if found:
            return found[-1]
        await asyncio.sleep(0.05)
    raise AssertionError(f"nothing saying {text!r} was posted to {channel}")


def radio(value):
    return {"type": "radio_buttons", "selected_option": {"value": value}}


def checks(*values):
    return {"type": "checkboxes", "selected_options": [{"value": v} for v in values]}


def day(value):
    return {"type": "datepicker", "selected_date": value}


def state(**fields):
    """`view.state.values` as Slack sends it: {block_id: {action_id: element}} (ids = field ids)."""
    return {name: {name: element} for name, element in fields.items()}


async def opened_view(slack, count=1):
    calls = await slack.wait_for("views.open", count=count)
    return calls[-1].args["view"]


async def submit(server, view, values, user="U_MO", view_hash=None, **options):
    request = view_submission("cocreate_form", view["private_metadata"], state(**values), user=user,
                              view_hash=view_hash or f"h{time.monotonic_ns()}", **options)
    status, body = await send(server, request)
    assert status == 200
    return json.loads(body) if body else {}


def texts(call) -> str:
    """Everything a posted message says, for assertions."""
    return json.dumps(call.args.get("blocks") or [], ensure_ascii=False) + call.args.get("text", "")


async def test_health_and_readiness(server):
    async with aiohttp.ClientSession() as http:
        for path, expected in (("/healthz", "ok"), ("/readyz", "ready")):
            async with http.get(server.url + path) as response:
                assert response.status == 200 and (await response.json())["status"] == expected


async def test_story_from_slash_command_to_modal_to_stored_record(server, fake_slack):
    assert await command(server, fake_slack, "story") == ""
    view = await opened_view(fake_slack)
    assert view["callback_id"] == "cocreate_form" and len(view["title"]["text"]) <= 24
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == [
        "title", "body", "principles", "sectors", "consent", "named"]

    # A missing title comes back on its input; nothing is stored.
    answer = await submit(server, view, {"title": plain_text(None), "body": plain_text("It began"),
                                         "principles": checks("1", "7"), "sectors": checks("citizen"),
                                         "consent": radio("coalition"), "named": radio("no")})
    assert answer == {"response_action": "errors", "errors": {"title": "This one needs an answer."}}
    assert (await records(server))["stories"] == []

    answer = await submit(server, view, {"title": plain_text("Café <in> the harbour 🌊"),
                                         "body": plain_text("It began with one question…"),
                                         "principles": checks("1", "7"), "sectors": checks("business", "citizen"),
                                         "consent": radio("coalition"), "named": radio("no")})
    assert answer == {}  # the modal closes
    dm, headline, thread = await fake_slack.wait_for("chat.postMessage", count=3)
    assert dm.args["channel"] == "U_MO" and "is saved" in texts(dm)
    # The coalition hears about it in its channel, the story's start in the thread, no name.
    assert headline.args["channel"] == "C_HARBOUR" and "anonymously" in texts(headline)
    assert "Café &lt;in&gt; the harbour" in texts(headline)  # typed text cannot make mentions or links
    assert thread.args["thread_ts"] == "1700000000.000200" and "one question" in texts(thread)
    assert "Mo Member" not in texts(headline) + texts(thread)
    [story] = (await records(server))["stories"]
    assert (story["title"], story["principles"], story["consent"], story["anonymous"]) == (
        "Café <in> the harbour 🌊", [1, 7], "coalition", True)


async def eventually(find, what, timeout=5.0):
    """Poll `find()` until it returns something truthy (the fakes record calls as they come)."""
    deadline = time.monotonic() + timeout
    while not (found := find()):
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.05)
    return found


def buttons(call) -> list[dict]:
    return [e for b in call.args.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]]


async def test_leader_registers_an_experiment_and_checks_in(server, fake_slack):
    """The whole round over HTTP: opened by a leader, invitations sent by the outbox, answered
    from the invitation's button in a modal, progress updated in place, summary in the channel."""
    today = date.today()
    await command(server, fake_slack, "experiment", user="U_LEA")
    view = await opened_view(fake_slack)
    experiment = {
        "title": plain_text("Job café"), "action": plain_text("A café run by young people"),
        "effect": plain_text("Three apprenticeships"), "stakeholders": plain_text("young people, employers"),
        "partners": plain_text("Harbour Bakery"), "starts_on": day(today.isoformat()),
        "ends_on": day((today + timedelta(days=30)).isoformat()), "measures": plain_text("Contracts"),
        "owner": plain_text(None)}
    assert await submit(server, view, experiment, user="U_LEA") == {}
    assert [e["title"] for e in (await records(server))["experiments"]] == ["Job café"]

    # A member may not start a check-in: a short ephemeral answer says so.
    await command(server, fake_slack, "checkin", rid="member")
    [refusal] = [c for c in await fake_slack.wait_for("response_url") if c.path.endswith("/member")]
    assert "Only coalition leaders" in texts(refusal) and refusal.args["response_type"] == "ephemeral"

    # The leader opens a round: everyone in the coalition (the leader too) is asked.
    await command(server, fake_slack, "checkin", user="U_LEA", rid="leader")
    [opened] = await eventually(lambda: [c for c in fake_slack.calls("response_url") if c.path.endswith("/leader")],
                                "the leader's answer to checkin")
    assert "Check-in round on *Job café* is open: I am asking 2 members now" in texts(opened)

    # The outbox sends each member a DM invitation whose primary button types `impact <round>`.
    invitation = await posted(fake_slack, "U_MO", "Impact check-in: Job café")
    [button] = buttons(invitation)
    assert button["action_id"] == "command_0" and button["style"] == "primary"
    assert button["value"].startswith("impact ") and button["text"]["text"] == "Answer the check-in"
    round_id = int(button["value"].split()[1])
    await posted(fake_slack, "U_LEA", "Impact check-in: Job café")
    await posted(fake_slack, "U_LEA", "Check-in round on Job café")
    [progress_ts] = [m["ts"] for m in fake_slack.messages("U_LEA") if "Check-in round on Job café" in m["text"]]

    # Mo clicks the button in the DM: the form opens in a modal (the click's trigger id).
    click = block_action("command_0", button["value"], user="U_MO", channel=invitation.args["channel"],
                         message_ts="1700000000.000900", response_url=fake_slack.response_url("click"))
    assert (await send(server, click))[0] == 200
    view = await opened_view(fake_slack, count=2)
    ids = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert ids == ["citizen_impact", "effect_0", "effect_1", "intended", "unintended", "evidence", "decision"]
    answer = await submit(server, view, {
        "citizen_impact": radio("4"), "effect_0": radio("5"), "effect_1": radio("2"),
        "intended": plain_text("Two apprenticeships"), "unintended": plain_text(None),
        "evidence": plain_text("https://example.org/report"), "decision": radio("scale_up")})
    assert answer == {}
    confirmation = await posted(fake_slack, "U_MO", "Check-in saved for")
    assert "Decision: Scale up" in texts(confirmation)
    [checkin] = (await records(server))["checkins"]
    assert (checkin["member_id"], checkin["round_id"]) == ("mo", str(round_id))
    assert checkin["effects"] == [{"stakeholder": "young people", "rating": 5},
                                  {"stakeholder": "employers", "rating": 2}]

    # The leader's progress message is edited in place (same message) to count the answer.
    update = await eventually(lambda: [c for c in fake_slack.calls("chat.update")
                                       if c.args["ts"] == progress_ts and "1 answered" in texts(c)],
                              "the progress message updated to 1 answered")
    assert update[-1].args["channel"] == "DU_LEA"  # the DM the progress message was posted in
    assert "sent 2/2 · 0 unreachable · 1 answered" in texts(update[-1])

    # Closing the round: the summary's headline in the coalition's channel, details in its thread.
    await command(server, fake_slack, "checkin close", user="U_LEA", rid="close")
    [closed] = await eventually(lambda: [c for c in fake_slack.calls("response_url") if c.path.endswith("/close")],
                                "the leader's answer to checkin close")
    assert "Closed the check-in round on *Job café*" in texts(closed)
    headline = await posted(fake_slack, "C_HARBOUR", "Impact check-in on *Job café* closed: 1 answer(s)")
    assert "thread_ts" not in headline.args
    [headline_ts] = [m["ts"] for m in fake_slack.messages("C_HARBOUR") if "closed: 1 answer(s)" in m["text"]]
    thread = await eventually(lambda: [c for c in fake_slack.calls("chat.postMessage")
                                       if c.args.get("thread_ts") == headline_ts], "the summary's thread reply")
    assert thread[0].args["channel"] == "C_HARBOUR"
    assert "Two apprenticeships" in texts(thread[0]) and "Scale up: 1" in texts(thread[0])

    # Nobody was invited twice.
    invited = [c.args["channel"] for c in fake_slack.calls("chat.postMessage")
               if any(b.get("value") == f"impact {round_id}" for b in buttons(c))]
    assert sorted(invited) == ["U_LEA", "U_MO"]


async def test_the_early_end_date_was_refused_on_its_input(server, fake_slack):
    today = date.today()
    await command(server, fake_slack, "experiment", user="U_LEA")
    view = await opened_view(fake_slack)
    answer = await submit(server, view, {
        "title": plain_text("T"), "action": plain_text("A"), "effect": plain_text("E"),
        "stakeholders": plain_text("S"), "partners": plain_text("P"), "starts_on": day(today.isoformat()),
        "ends_on": day((today - timedelta(days=1)).isoformat()), "measures": plain_text("M"),
        "owner": plain_text(None)}, user="U_LEA")
    assert answer["response_action"] == "errors" and list(answer["errors"]) == ["ends_on"]
    assert "before the start date" in answer["errors"]["ends_on"]


async def test_unknown_subcommand_gets_a_short_ephemeral_answer(server, fake_slack):
    await command(server, fake_slack, "dance")
    [reply] = await fake_slack.wait_for("response_url")
    assert "I don't know the command 'dance'" in texts(reply)


async def test_reflect_with_a_select_then_a_modal(server, fake_slack):
    await command(server, fake_slack, "reflect")
    [reply] = await fake_slack.wait_for("response_url")
    [select] = [e for b in reply.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    option = select["options"][2]  # principle #3
    click = block_action(select["action_id"], channel="C_HARBOUR", response_url=fake_slack.response_url("r2"),
                         action={"type": "static_select", "selected_option": option})
    status, _ = await send(server, click)
    assert status == 200
    view = await opened_view(fake_slack)  # the open question (a text) opens with the click's trigger
    answer = await submit(server, view, {"text": plain_text("We listened to the parents first")})
    assert answer == {}
    [row] = (await records(server))["reflections"]
    assert (row["principle"], row["text"]) == (3, "We listened to the parents first")


async def test_typed_answers_in_the_dm_and_a_retried_event_counts_once(server, fake_slack):
    await send(server, event(dm_message("reflect 2")))
    [question] = await fake_slack.wait_for("chat.postMessage")
    assert question.args["channel"] == "D_MO" and "open_form" in texts(question)
    answer = event(dm_message("Habits change when we meet"), event_id="Ev-answer")
    assert (await send(server, answer))[0] == 200
    await fake_slack.wait_for("chat.postMessage", count=2)
    status, _ = await send(server, answer, retry_num=1, retry_reason="http_timeout")
    assert status == 200
    await asyncio.sleep(0.5)
    assert len(fake_slack.calls("chat.postMessage")) == 2  # no second confirmation
    assert [r["text"] for r in (await records(server))["reflections"]] == ["Habits change when we meet"]


async def test_a_double_submit_records_once(server, fake_slack):
    await command(server, fake_slack, "reflect 4")
    view = await opened_view(fake_slack)
    answers = await asyncio.gather(*(
        submit(server, view, {"text": plain_text("Twice clicked")}, view_hash=f"click-{n}") for n in range(2)))
    assert answers == [{}, {}]
    calls = await fake_slack.wait_for("chat.postMessage", count=2)
    said = [texts(c) for c in calls]
    assert sum("Thank you for reflecting" in t for t in said) == 1
    assert sum("moved on" in t for t in said) == 1
    assert len((await records(server))["reflections"]) == 1


async def test_an_answer_button_in_a_message_moves_the_flow_on(server, fake_slack):
    await send(server, event(dm_message("frame")))
    [menu] = await fake_slack.wait_for("chat.postMessage")
    buttons = [e for b in menu.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["text"]["text"] for b in buttons] == ["Add an outside-in perspective", "Propose a problem statement"]
    click = block_action(buttons[0]["action_id"], buttons[0]["value"], channel="D_MO",
                         response_url=fake_slack.response_url("m"))
    await send(server, click)
    view = await opened_view(fake_slack)
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["voice", "said", "shows"]
    # The same (now outdated) button again: nothing is recorded, the member is told.
    await send(server, block_action(buttons[0]["action_id"], buttons[0]["value"], channel="D_MO",
                                    response_url=fake_slack.response_url("m2")))
    replies = await fake_slack.wait_for("response_url")
    assert "moved on" in texts(replies[-1])


async def test_app_home_shows_status(server, fake_slack):
    await send(server, event(app_home_opened("U_MO")))
    [call] = await fake_slack.wait_for("views.publish")
    assert call.args["user_id"] == "U_MO" and call.args["view"]["type"] == "home"
    assert "haven't joined yet" in json.dumps(call.args["view"])


@pytest.mark.parametrize("options", [{"forge": True}, {"stale": True}, {"signed": False}])
async def test_forged_stale_or_unsigned_requests_are_refused(server, fake_slack, options):
    status, _ = await send(server, slash_command("story", response_url=fake_slack.response_url("f")), **options)
    assert status == 401
    await asyncio.sleep(0.3)
    assert fake_slack.calls() == []


async def test_a_command_that_says_payload_is_a_command_like_any_other(server, fake_slack):
    # slack-bolt reads any form body with "payload" in it as an interaction's payload field: a
    # command whose text (or channel name) says "payload" used to reach no handler at all.
    await command(server, fake_slack, "dance with the payload")
    [reply] = await fake_slack.wait_for("response_url")
    assert "I don't know the command 'dance'" in texts(reply)


async def test_malformed_and_oversized_bodies_are_refused(server, fake_slack):
    from tests.fakes.slack_client import SlackRequest

    garbage = SlackRequest(b"payload=%7Bnot-json", "application/x-www-form-urlencoded", {})
    assert (await send(server, garbage))[0] == 400
    assert (await send(server, SlackRequest(b"[1, 2", "application/json", {})))[0] == 400
    huge = SlackRequest(b"text=" + b"x" * (2 * 1024 * 1024), "application/x-www-form-urlencoded", {})
    sender = SlackSender(secret=SECRET)  # urllib: aiohttp's client warns about big raw bodies
    assert (await asyncio.to_thread(sender.post_sync, server.url, huge))[0] == 413


async def test_rate_limited_send_waits_and_delivers_once(server, fake_slack):
    fake_slack.rate_limit("chat.postMessage", retry_after=1)
    started = time.monotonic()
    await send(server, event(dm_message("status")))
    calls = await fake_slack.wait_for("chat.postMessage", count=2, timeout=10)
    assert [c.answered for c in calls] == [429, "ok"] and calls[1].at - calls[0].at >= 0.9
    assert time.monotonic() - started < 10


async def test_permanent_errors_are_logged_and_not_retried(server, fake_slack):
    fake_slack.fail("chat.postMessage", "invalid_auth")
    await send(server, event(dm_message("status")))
    await fake_slack.wait_for("chat.postMessage")
    await asyncio.sleep(0.5)
    assert len(fake_slack.calls("chat.postMessage")) == 1
    assert "chat_postMessage failed: invalid_auth (not retried)" in server.logs()


async def test_uninstall_in_single_workspace_mode_is_logged(server, fake_slack):
    assert (await send(server, event(app_uninstalled())))[0] == 200
    await asyncio.sleep(0.3)
    assert "app_uninstalled" in server.logs()


async def test_slack_connect_member_keeps_their_home_team(server, fake_slack):
    await send(server, slash_command("join", user="U_EXT", channel="C_HARBOUR",
                                     response_url=fake_slack.response_url("c")))
    view = await opened_view(fake_slack)
    await submit(server, view, {"sector": radio("business"), "organisation": plain_text("Partner Inc"),
                                "brings": plain_text("Mentors")}, user="U_EXT", user_team="T_OTHER")
    [member] = (await records(server))["members"]
    assert (member["member_id"], member["platform"]) == ("slack:U_EXT", "slack:T_OTHER")


async def test_leader_pulls_a_digest_with_details_in_a_thread(server, fake_slack):
    await command(server, fake_slack, "story")
    view = await opened_view(fake_slack)
    await submit(server, view, {"title": plain_text("Café in the harbour"), "body": plain_text("It began *here*"),
                                "principles": checks("3"), "sectors": checks("business"),
                                "consent": radio("coalition"), "named": radio("yes")})
    await posted(fake_slack, "U_MO", "is saved")
    assert await command(server, fake_slack, "digest 7d", user="U_LEA", rid="digest") == ""
    summary = await posted(fake_slack, "U_LEA", "Digest for Harbour Youth, last 7 days")
    assert "Café in the harbour" in texts(summary) and "Not yet touched" in texts(summary)
    thread = await posted(fake_slack, "U_LEA", "It began", threaded=True)  # the summary may quote it too
    assert thread.args["thread_ts"] and "Mo Member" in texts(thread)
    [note] = [c for c in fake_slack.calls("response_url") if c.path.endswith("/digest")]
    assert "Sent to our direct messages" in texts(note)
    # Members of this coalition may not pull it (app.yaml does not open it to them).
    await command(server, fake_slack, "digest", user="U_MO", rid="member")
    [refused] = [c for c in await fake_slack.wait_for("response_url", count=2) if c.path.endswith("/member")]
    assert "for its leaders" in texts(refused)


async def test_a_reply_whose_first_connection_drops_is_posted_once_on_the_second(server, fake_slack):
    """Slack's response_url may drop a connection (a proxy, a redeploy): the reply is tried
    once more, as slack_sdk's webhook client did, and arrives once."""
    from aiohttp import web

    arrived: list[dict] = []
    dropped: list[dict] = []

    async def flaky(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if not dropped:
            dropped.append(body)
            request.transport.close()  # no answer at all: the connection is gone
            return web.Response()
        arrived.append(body)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", flaky)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
        status, _ = await send(server, slash_command("status", user="U_MO", channel="C_HARBOUR", response_url=url))
        assert status == 200
        deadline = time.monotonic() + 5
        while not arrived and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # and no second copy follows
    finally:
        await runner.cleanup()
    assert len(dropped) == 1 and len(arrived) == 1 and "status" in json.dumps(arrived[0]).lower()
