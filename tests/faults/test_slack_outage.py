"""The Slack Web API answering 503 to every message for a while (fault suite), in the middle of
a 40-member check-in round, against a real `cocreate serve` and the throttled fake Slack: the
outbox backs off (nothing gives up while Slack is down), says so once in its log, and when Slack
answers again every invitation goes out exactly once, at the workspace's pace (no 429)."""

from __future__ import annotations

from tests.delivery.processes import (
    Tally,
    all_sent,
    cleanup,
    expected_users,
    invitations,
    open_round,
    outbox,
    seed_experiment,
    serve_env,
    throttled_slack,
    wait_until,
)
from tests.support import start_server
from tests.web.http import sql

RATE = 20
MEMBERS = 40
DOWN = 8.0  # seconds: "minutes" at test speed; the outbox's rule does not depend on how long


def test_slack_away_for_a_while_then_every_invitation_once_at_its_pace(tmp_path, sqlite_url):
    slack = throttled_slack(RATE)
    users = expected_users(MEMBERS)
    env = serve_env(tmp_path, slack, sqlite_url, members=MEMBERS, rate=RATE)
    seed_experiment(sqlite_url)
    server = None
    try:
        server = start_server(tmp_path, env)
        slack.down("chat.postMessage", DOWN)
        open_round(server, slack)
        wait_until(lambda: len([c for c in slack.calls("chat.postMessage") if c.answered == 503]) >= 3, 10,
                   "Slack refusing", [server])
        wait_until(lambda: all_sent(sqlite_url, len(users)), 60, "every invitation sent", [server])
        rows = outbox(sqlite_url)
        tally = Tally.of(slack, rows, users)
        refused = len([c for c in slack.calls("chat.postMessage") if c.answered == 503])
        print(f"\nslack outage: {refused} calls answered 503 over {DOWN:.0f}s; then {len(users)} invitations, "
              f"duplicates={tally.duplicates} lost={len(tally.missing)} 429s={slack.rate_limited()}")
        tally.check(users)
        assert slack.rate_limited() == 0  # no flood when it came back: the workspace budget held
        assert not [r for r in rows if r.state == "failed"]  # nobody given up on
        assert sql(sqlite_url, "SELECT count(*) FROM outbox WHERE kind = 'notice'") == [(0,)]  # nothing to tell
        logs = server.logs()
        # Said when it starts and when it ends (a send already in flight at the end may start one more).
        assert 1 <= logs.count("slack is failing (HTTP 503)") <= 2 and "slack answers again" in logs, logs
    finally:
        cleanup([server])
        slack.stop()
    assert "Traceback" not in server.logs()
