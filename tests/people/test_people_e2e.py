"""People by email, end to end: a real `cocreate serve`, signed Slack requests and Bot
Framework activities over HTTP, the fake Slack Web API (users.lookupByEmail, users.info) and
the fake Teams roster. Nobody in app.yaml is given a Slack or Teams id except Cora."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from datetime import date, timedelta

from storage.repository import open_store
from tests.fakes.slack_client import block_action, plain_text
from tests.fakes.teams_client import (APP_ID, TEAM_ID, card_submit, conversation_update, message,
                                      personal_conversation_id)
from tests.people.conftest import PEOPLE_YAML
from tests.slack.test_slack_e2e import (buttons, command, eventually, opened_view, posted, radio, records, send,
                                        submit, texts)
from tests.support import COCREATE
from tests.teams.test_teams_e2e import cards, post as post_to_teams, said, say, submit_data


async def identities(server) -> dict:
    store = open_store(server.database_url)
    try:
        return {(i.platform, i.user): (i.member_id, i.how) for _, i in await store.identities()}
    finally:
        await store.close()


async def until(read, expected, timeout: float = 5.0):
    """Poll the coroutine function `read` until it returns `expected`; the last value else."""
    deadline = time.monotonic() + timeout
    while (found := await read()) != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return found


async def answered(slack, rid: str) -> str:
    found = await eventually(lambda: [c for c in slack.calls("response_url") if c.path.endswith(f"/{rid}")],
                             f"an answer to the request {rid!r}")
    return "\n".join(texts(c) for c in found)


async def new_experiment(server, slack, user: str) -> None:
    today = date.today()
    opened = len(slack.calls("views.open"))
    await command(server, slack, "experiment", user=user, rid="experiment")
    view = await opened_view(slack, count=opened + 1)
    assert await submit(server, view, {
        "title": plain_text("Job café"), "action": plain_text("A café run by young people"),
        "effect": plain_text("Three apprenticeships"), "stakeholders": plain_text("young people, employers"),
        "partners": plain_text("Harbour Bakery"), "measures": plain_text("Contracts"), "owner": plain_text(None),
        "starts_on": {"type": "datepicker", "selected_date": today.isoformat()},
        "ends_on": {"type": "datepicker", "selected_date": (today + timedelta(days=30)).isoformat()},
    }, user=user) == {}


async def test_a_leader_given_only_by_email_opens_a_check_in_round_from_slack(people_env, fake_slack, servers):
    fake_slack.emails.update({"U_LEA": "lea.leader@example.org", "U_MO": "Mo@Example.org"})
    server = servers(people_env)
    # At start the bot looks up everyone app.yaml gives by email and no Slack id (not Cora).
    lookups = await fake_slack.wait_for("users.lookupByEmail", count=3)
    assert sorted(c.args["email"] for c in lookups) == ["ida@example.org", "lea.leader@example.org", "mo@example.org"]
    assert await until(lambda: identities(server), {
        ("slack", "U_LEA"): ("lea", "users.lookupByEmail"), ("slack", "U_MO"): ("mo", "users.lookupByEmail")})

    await new_experiment(server, fake_slack, "U_LEA")
    [experiment] = (await records(server))["experiments"]
    assert experiment["member_id"] == "lea"  # the leader app.yaml names, not "slack:U_LEA"

    await command(server, fake_slack, "checkin", user="U_LEA", rid="open")
    # Lea, Mo and Ida: Ida is on no platform, so her invitation fails and the leader hears of it.
    assert "I am asking 3 members now" in await answered(fake_slack, "open")
    invitation = await posted(fake_slack, "U_MO", "Impact check-in: Job café")
    await posted(fake_slack, "U_LEA", "Impact check-in: Job café")
    [button] = buttons(invitation)
    click = block_action("command_0", button["value"], user="U_MO", channel=invitation.args["channel"],
                         message_ts="1700000000.000900", response_url=fake_slack.response_url("click"))
    assert (await send(server, click))[0] == 200
    view = await opened_view(fake_slack, count=2)
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"][0] == "citizen_impact"

    # Ida, whom no platform knows, is named in the log by member id (never by address).
    assert "users.lookupByEmail for member ida: no Slack account has their email" in server.logs()


async def test_without_the_email_scope_ids_keep_working_and_the_log_says_what_to_do(people_env, fake_slack,
                                                                                     servers):
    fake_slack.fail("users.lookupByEmail", "missing_scope", times=10)
    server = servers(people_env)
    await fake_slack.wait_for("users.lookupByEmail")
    await command(server, fake_slack, "checkin", user="U_CORA", rid="cora")  # Cora has her Slack id
    assert "No experiment" in await answered(fake_slack, "cora") or "experiment" in await answered(fake_slack, "cora")
    logs = server.logs()
    assert logs.count("add the users:read.email scope and reinstall") == 1
    assert len(fake_slack.calls("users.lookupByEmail")) == 1  # it stopped asking


async def test_someone_who_writes_is_found_by_the_email_in_their_profile(people_env, fake_slack, servers):
    """Lea's account was not found at start (lookups failed), but her profile has her email:
    her first command already comes from the leader app.yaml names."""
    fake_slack.fail("users.lookupByEmail", "ratelimited", times=10)  # no luck at start
    fake_slack.emails["U_LEA2"] = "LEA.LEADER@example.org"
    server = servers(people_env)
    await fake_slack.wait_for("users.lookupByEmail", count=3)
    await command(server, fake_slack, "checkin", user="U_LEA2", rid="lea")
    said = await answered(fake_slack, "lea")
    assert "Only coalition leaders" not in said and "experiment" in said.lower()
    assert (await identities(server))[("slack", "U_LEA2")] == ("lea", "users.info")
    # Someone the profile does not name is themselves, asked once.
    await command(server, fake_slack, "help", user="U_STRANGER", rid="s1")
    await command(server, fake_slack, "help", user="U_STRANGER", rid="s2")
    await answered(fake_slack, "s2")
    assert (await identities(server))[("slack", "U_STRANGER")] == ("slack:U_STRANGER", "users.info")
    assert fake_slack.lookups().count("U_STRANGER") == 1


async def test_one_person_on_slack_and_teams_is_one_member_with_one_seat(both_env, fake_slack, connector, servers):
    """Sam is in no app.yaml: they join from Teams, then write from Slack with the same email
    (in another case). One member, one seat, one invitation per round, on the platform they
    used last."""
    fake_slack.emails.update({"U_LEA": "lea.leader@example.org", "U_SAM": "Sam@Example.com"})
    connector.set_members(personal_conversation_id("29:sam"), [connector.member("29:sam", email="sam@example.com")])
    server = servers(both_env)
    await fake_slack.wait_for("users.lookupByEmail", count=3)

    # Sam joins on Teams: the join card, answered.
    chat = personal_conversation_id("29:sam")
    await say(server, connector, "join", user="29:sam")
    [(card_id, card)] = cards(connector, chat)
    values = {**submit_data(card), "sector": "citizen", "organisation": "Harbour Rowing Club",
              "brings": "Boats and a clubhouse"}
    assert await post_to_teams(server, connector, card_submit(values, card_id, user_id="29:sam",
                                                              service_url=connector.url)) == 200
    assert await until(lambda: identities(server), {
        ("slack", "U_LEA"): ("lea", "users.lookupByEmail"), ("teams", "29:sam"): ("teams:29:sam", "roster")})
    assert [m["member_id"] for m in (await records(server))["members"]] == ["teams:29:sam"]

    # Sam on Slack: the same person (found by email), so joining again updates their seat.
    await command(server, fake_slack, "join", user="U_SAM", rid="join")
    view = await opened_view(fake_slack)
    answer = await submit(server, view, {"sector": radio("citizen"), "organisation": plain_text("Harbour Rowing Club"),
                                         "brings": plain_text("Boats, a clubhouse and coffee")}, user="U_SAM")
    assert answer["response_action"] == "update"  # saved; the modal goes on to "anything to offer?"
    assert (await identities(server))[("slack", "U_SAM")] == ("teams:29:sam", "users.info")
    [seat] = (await records(server))["members"]
    assert (seat["member_id"], seat["brings"]) == ("teams:29:sam", "Boats, a clubhouse and coffee")

    # A round: Sam is invited once, on Slack, where they wrote last.
    await new_experiment(server, fake_slack, "U_LEA")
    await command(server, fake_slack, "checkin", user="U_LEA", rid="open")
    assert "I am asking 4 members now" in await answered(fake_slack, "open")  # Lea, Mo and Ida (app.yaml), Sam
    await posted(fake_slack, "U_SAM", "Impact check-in: Job café")
    await asyncio.sleep(1.0)  # the outbox had its chance to send a second invitation
    assert "Impact check-in" not in said_in(connector, chat)
    assert len([c for c in fake_slack.calls("chat.postMessage")
                if c.args.get("channel") == "U_SAM" and "Impact check-in" in texts(c)]) == 1


def said_in(connector, conversation) -> str:
    return "\n".join(str(a) for a in connector.messages(conversation))


async def test_a_team_roster_finds_members_by_email_before_they_ever_write(tmp_path, teams_env, connector, servers):
    """The app is added to a team: its roster's emails (else UPNs) name app.yaml's members, so
    the bot can open a chat with Lea although app.yaml has no Teams id for her."""
    env = {**teams_env, "COCREATE_CONFIG": str(PEOPLE_YAML)}
    connector.set_members(TEAM_ID, [
        connector.member("29:lea-t", email=None, userPrincipalName="LEA.LEADER@example.org"),
        connector.member("29:mo-t", email="mo@example.org"),
        connector.member("29:guest", email=None, userPrincipalName=None)])
    server = servers(env)
    added = conversation_update(members_added=[f"28:{APP_ID}"], team_id=TEAM_ID, service_url=connector.url)
    assert await post_to_teams(server, connector, added) == 200
    assert await identities(server) == {("teams", "29:lea-t"): ("lea", "roster"),
                                        ("teams", "29:mo-t"): ("mo", "roster"),
                                        ("teams", "29:guest"): ("teams:29:guest", "roster")}

    result = subprocess.run([str(COCREATE), "notify", "--member", "lea", "The next meeting is on Tuesday"],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    [created] = connector.calls("create")
    assert [m["id"] for m in created.body["members"]] == ["29:lea-t"]
    assert any("Tuesday" in (c.text or "") for c in connector.calls() if c.kind in ("send", "reply"))


async def test_a_leader_adds_someone_by_email_and_slack_finds_them_at_once(people_env, fake_slack, servers):
    fake_slack.emails.update({"U_LEA": "lea.leader@example.org", "U_NEW": "New.Person@example.org"})
    server = servers(people_env)
    await fake_slack.wait_for("users.lookupByEmail", count=3)
    await command(server, fake_slack, "add new.person@example.org Nina Nyborg", user="U_LEA", rid="add")
    said = await answered(fake_slack, "add")
    assert "Nina Nyborg (new.person@example.org) is now a member of Harbour Youth." in said
    lookups = await fake_slack.wait_for("users.lookupByEmail", count=4)
    assert lookups[-1].args["email"] == "new.person@example.org"  # only the new one: the others were asked today
    assert (await until(lambda: identities(server), None, timeout=2)).get(("slack", "U_NEW")) == (
        "new-person", "users.lookupByEmail")
    await command(server, fake_slack, "members", user="U_LEA", rid="members")
    await answered(fake_slack, "members")
    [listing] = [c.args["text"] for c in fake_slack.calls("response_url") if c.path.endswith("/members")]
    assert "Nina Nyborg (new.person@example.org)" in listing
    [unreached] = [line for line in listing.splitlines() if line.startswith("Not reached yet")]
    assert "Ida Elsewhere" in unreached and "Nina Nyborg" not in unreached  # Slack found her


async def test_sighup_reloads_app_yaml_and_a_broken_file_leaves_it_running(tmp_path, people_env, fake_slack, servers):
    app_yaml = tmp_path / "app.yaml"
    app_yaml.write_text(PEOPLE_YAML.read_text(encoding="utf-8"), encoding="utf-8")
    server = servers({**people_env, "COCREATE_CONFIG": str(app_yaml)})

    async def help_title(rid: str) -> str:
        await command(server, fake_slack, "help", user="U_CORA", rid=rid)
        return (await answered(fake_slack, rid)).split("\\n")[0]

    assert "People Movement" in await help_title("before")
    app_yaml.write_text(app_yaml.read_text(encoding="utf-8").replace("People Movement", "Renamed Movement"),
                        encoding="utf-8")
    server.process.send_signal(signal.SIGHUP)
    await eventually(lambda: "app.yaml reloaded" in server.logs(), "the reload")
    assert "Renamed Movement" in await help_title("after")

    app_yaml.write_text(app_yaml.read_text(encoding="utf-8") + "  - id: Not A Slug\n", encoding="utf-8")
    server.process.send_signal(signal.SIGHUP)
    await eventually(lambda: "was not reloaded" in server.logs(), "the refusal")
    # The same lines as at start-up: the file, the key, the problem.
    assert f"{app_yaml}: coalitions[1].id: 'Not A Slug' is not a valid id" in server.logs()
    assert f"{app_yaml}: coalitions[1].name: required key is missing" in server.logs()
    assert "Renamed Movement" in await help_title("broken")
    assert server.process.poll() is None


async def test_a_mention_names_the_member_behind_the_account(people_env, fake_slack, servers):
    """`/cocreate remove @Mo`: Slack sends the mention as a user id (the manifest escapes
    command text); whose account it is, is asked like for anyone who writes."""
    fake_slack.fail("users.lookupByEmail", "ratelimited", times=10)  # nobody found at start
    fake_slack.emails.update({"U_LEA": "lea.leader@example.org", "U_MO": "mo@example.org"})
    server = servers(people_env)
    await fake_slack.wait_for("users.lookupByEmail", count=3)
    await command(server, fake_slack, "remove <@U_MO|mo> &amp; more", user="U_LEA", rid="remove")
    said = await answered(fake_slack, "remove")
    # Read unescaped (the rest makes it no name), and escaped again for Slack to show "&".
    assert "I don't know mo &amp; more." in said and "&amp;amp;" not in said
    await command(server, fake_slack, "remove <@U_MO|mo>", user="U_LEA", rid="remove2")
    assert "Mo Member is no longer in Harbour Youth." in await answered(fake_slack, "remove2")
    assert (await identities(server))[("slack", "U_MO")] == ("mo", "users.info")


async def test_a_teams_mention_names_the_member_too(teams_env, connector, servers):
    env = {**teams_env, "COCREATE_CONFIG": str(PEOPLE_YAML)}
    chat = personal_conversation_id("29:lea-t")
    connector.set_members(chat, [connector.member("29:lea-t", email="lea.leader@example.org"),
                                 connector.member("29:mo-t", email="mo@example.org")])
    server = servers(env)
    activity = message("remove <at>Mo Member</at>", user_id="29:lea-t", service_url=connector.url)
    activity["entities"].append({"type": "mention", "text": "<at>Mo Member</at>",
                                 "mentioned": {"id": "29:mo-t", "name": "Mo Member"}})
    assert await post_to_teams(server, connector, activity) == 200
    assert "Mo Member is no longer in Harbour Youth." in said(connector, chat)
    assert (await identities(server))[("teams", "29:mo-t")] == ("mo", "roster")
