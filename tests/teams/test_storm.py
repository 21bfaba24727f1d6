"""A Teams 403/404 storm (fault suite): the app removed from a team, so opening a chat with
any of its members is refused, in the middle of a check-in round. Over HTTP against a real
`cocreate serve` and the fake Bot Connector: each member is tried once and marked unreachable
once, and the leader gets one summary listing everyone, not one message per member."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta

import yaml

from storage.repository import open_store
from tests.fakes.teams_client import APP_ID, TEAM_ID, conversation_update, personal_conversation_id
from tests.support import APP_YAML, COCREATE, start_server, stop_server
from tests.teams.test_teams_e2e import eventually, post, say

MEMBERS = [f"29:m{n}" for n in range(24)]


async def test_a_storm_of_refusals_marks_each_member_once_and_is_one_summary(tmp_path, teams_env, connector):
    config = yaml.safe_load(APP_YAML.read_text(encoding="utf-8"))
    config["members"] += [{"id": f"m{n}", "name": f"Member {n}", "platforms": {"teams": user}}
                          for n, user in enumerate(MEMBERS)]
    config["coalitions"][0]["members"] = ["mo", *(f"m{n}" for n in range(len(MEMBERS)))]
    (tmp_path / "app.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    env = {**teams_env, "COCREATE_CONFIG": str(tmp_path / "app.yaml"), "COCREATE_NOTICE_SECONDS": "8"}  # after the terminal session that opened the round has ended,
    # and after all 24 refusals even on a busy machine (the summary holds what failed before it)
    server = start_server(tmp_path, env)
    try:
        # The app is in the team: each member's address comes with the install.
        added = conversation_update(members_added=[f"28:{APP_ID}", *MEMBERS], team_id=TEAM_ID,
                                    service_url=connector.url)
        assert await post(server, connector, added) == 200
        await say(server, connector, "help", user="29:lea")  # the leader's own chat works
        await say(server, connector, "help", user="29:mo")
        half = len(MEMBERS) // 2
        connector.refuse(MEMBERS[:half], 403, "BotDisabledByAdmin")  # then it was removed
        connector.refuse(MEMBERS[half:], 404, "ConversationNotFound")
        connector.clear()

        today = date.today()
        opened = subprocess.run(
            [str(COCREATE), "chat", "--user", "lea"], capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env,
            input="\n".join(["experiment", "Job café", "Open a café", "Apprenticeships", "young people", "Bakery",
                             (today - timedelta(days=1)).isoformat(), (today + timedelta(days=30)).isoformat(),
                             "Contracts", "", "checkin", ""]))
        assert "is open: I am asking 26 members now" in opened.stdout, opened.stdout + opened.stderr

        lea = personal_conversation_id("29:lea")

        def summaries():
            return [c for c in connector.calls() if c.conversation_id == lea and "could not reach" in (c.text or "")]

        [summary] = await eventually(summaries, "the leaders' summary", timeout=30)
        assert f"I could not reach {len(MEMBERS)} members of Harbour Youth in the last hour." in summary.text
        assert "- Member 0 on Teams:" in summary.text and f"- Member {len(MEMBERS) - 1} on Teams:" in summary.text
        await eventually(lambda: [c for c in connector.calls() if c.conversation_id == personal_conversation_id("29:mo")
                                  and "Impact check-in" in str(c.body)], "Mo's invitation, which is not refused")
        refused = [c for c in connector.calls() if c.answered in (403, 404)]
        tried = [m["id"] for c in refused if c.kind == "create" for m in c.body.get("members", [])]
        assert sorted(tried) == sorted(MEMBERS)  # each member tried once: never retried
        store = open_store(server.database_url)
        try:
            unreachable = await store.unreachable("teams")
        finally:
            await store.close()
        assert sorted(m for m, _ in unreachable) == sorted(f"m{n}" for n in range(len(MEMBERS)))
        await_later = len(summaries())
    finally:
        stop_server(server)
    assert await_later == 1  # one message, however many members
    assert "Traceback" not in server.logs()
