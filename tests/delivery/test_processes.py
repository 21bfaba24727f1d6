"""Real `cocreate serve` processes fanning a check-in round out through a throttled fake
Slack, while they are killed, replaced and restarted: every member gets exactly one
invitation, none is lost, none is sent twice (see tests/delivery/processes.py).

Each test prints what it measured (run with -s).
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime

import pytest

from tests.delivery.processes import (
    TAKEOVER,
    Tally,
    all_sent,
    cleanup,
    expected_users,
    invitations,
    invites,
    kill,
    logged_at,
    logs,
    open_round,
    outbox,
    seed_experiment,
    serve_env,
    tag,
    terminate,
    throttled_slack,
    wait_until,
)
from tests.support import start_server

RATE = 60  # chat.postMessage a second, the whole workspace (app.yaml and the fake agree)
HELD = 3  # posts whose answer is held back when the worker dies: Slack has them, the outbox does not


@pytest.fixture
def database_url(backend, request):
    """A fresh migrated database of this test's own, on `backend` (sqlite, postgres)."""
    if backend == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_database")()


@pytest.fixture
def slack():
    slack = throttled_slack(RATE)
    yield slack
    slack.stop()


def assert_clean(*servers) -> None:
    for server in servers:
        assert "Traceback" not in server.logs(), logs([server])


def test_a_killed_worker_s_invitations_are_finished_by_its_successor_exactly_once(
        tmp_path, backend, database_url, slack):
    members = 200
    users = expected_users(members)
    env = serve_env(tmp_path, slack, database_url, members=members, rate=RATE, lease=5)
    seed_experiment(database_url)
    first = second = None
    try:
        first = start_server(tmp_path, env, "first")
        started = time.monotonic()
        open_round(first, slack)
        wait_until(lambda: len(invitations(slack)) >= len(users) // 2, 30, "half the invitations", [first])

        # The next posts reach Slack, but their answers are held: the worker dies between
        # Slack taking the message and the outbox hearing of it.
        posts = len(slack.calls("chat.postMessage"))
        slack.slow("chat.postMessage", 60, times=HELD)
        wait_until(lambda: len(slack.calls("chat.postMessage")) >= posts + HELD + 5, 10, "the held posts", [first])
        kill(first)
        # A COMMIT the dead process had already written to its socket may still be applied by
        # PostgreSQL's backend: let it land before reading what the dead worker held.
        time.sleep(0.5)
        killed_after = len(invitations(slack))
        at_kill = invites(outbox(database_url))
        posted_tags = {tag(c) for c in invitations(slack)}
        unacknowledged = [r for r in at_kill if r.state == "sending" and str(r.id) in posted_tags]
        held_by_the_dead = [r for r in at_kill if r.state == "sending"]
        assert unacknowledged, "no post was in flight when the worker died: the test proved nothing"

        second = start_server(tmp_path, env, "second")
        restarted = time.monotonic()
        wait_until(lambda: users <= {str(c.args["channel"]) for c in invitations(slack)},
                   40, "an invitation for everyone", [first, second])
        wait_until(lambda: all_sent(database_url, len(users)), 20, "every invite row marked sent", [second])
        finished = time.monotonic()

        rows = outbox(database_url)
        tally = Tally.of(slack, rows, users)
        print(f"\ncrash[{backend}]: {len(users)} invitations, killed after {killed_after}, dead worker held "
              f"{len(held_by_the_dead)} rows ({len(unacknowledged)} posted but unacknowledged); "
              f"successor finished in {finished - restarted:.1f}s (total {finished - started:.1f}s); "
              f"history checks={len(slack.calls('conversations.history'))} 429s={slack.rate_limited()} "
              f"duplicates={tally.duplicates} lost={len(tally.missing)}")
        tally.check(users)
        assert all(r.state == "sent" for r in invites(rows))
        # What Slack had already taken was found in the DM's history, not posted again: the
        # outbox records the dead worker's message.
        user_of = {tag(c): str(c.args["channel"]) for c in invitations(slack)}
        final = {r.id: r for r in rows}
        for row in unacknowledged:
            [message] = [m for m in slack.messages(user_of[str(row.id)])
                         if (m.get("metadata") or {}).get("event_payload", {}).get("tag") == str(row.id)]
            assert final[row.id].message_id == message["ts"]
        assert all(final[r.id].interrupted_at is not None for r in held_by_the_dead)
        assert len(slack.calls("conversations.history")) >= len(held_by_the_dead)
    finally:
        cleanup([first, second])
    assert second.process.returncode == 0, logs([second])
    assert_clean(first, second)


@pytest.mark.postgres
def test_replicas_share_the_sending_and_one_takes_over_the_scheduler_when_its_leader_dies(
        tmp_path, pg_database, slack):
    database_url = pg_database()
    members = 300
    users = expected_users(members)
    env = serve_env(tmp_path, slack, database_url, members=members, rate=RATE, lease=8)
    seed_experiment(database_url)
    replicas, leader, others = [], None, []
    try:
        for name in ("r1", "r2", "r3"):
            replicas.append(start_server(tmp_path, env, name))
        leaders = wait_until(lambda: [r for r in replicas if logged_at(r, TAKEOVER)], 10,
                             "a replica running the scheduler", replicas)
        assert len(leaders) == 1, logs(replicas)
        [leader] = leaders
        others = [r for r in replicas if r is not leader]

        started = time.monotonic()
        open_round(others[0], slack)  # through a replica that does not plan: the outbox is shared
        wait_until(lambda: len(invitations(slack)) >= len(users) // 2, 30, "half the invitations", replicas)
        killed_at = datetime.now()
        kill(leader)
        killed_after = len(invitations(slack))

        takers = wait_until(lambda: [r for r in others if logged_at(r, TAKEOVER)], 60,
                            "another replica to run the scheduler", replicas)
        takeover = (logged_at(takers[0], TAKEOVER) - killed_at).total_seconds()
        wait_until(lambda: users <= {str(c.args["channel"]) for c in invitations(slack)},
                   40, "an invitation for everyone", replicas)
        wait_until(lambda: all_sent(database_url, len(users)), 20, "every invite row marked sent", replicas)
        finished = time.monotonic()

        rows = outbox(database_url)
        tally = Tally.of(slack, rows, users)
        workers = Counter(r.claimed_by for r in invites(rows))
        print(f"\nreplicas[postgres]: {len(users)} invitations in {finished - started:.1f}s, leader killed after "
              f"{killed_after}; scheduler taken over in {takeover:.2f}s; sent per worker {sorted(workers.values())}; "
              f"interrupted={sum(r.interrupted_at is not None for r in invites(rows))} "
              f"429s={slack.rate_limited()} duplicates={tally.duplicates} lost={len(tally.missing)}")
        # 429s are printed, not asserted: each replica's part of the workspace budget (1 / live
        # workers) is only recomputed at its heartbeat, every 10 s, so a replica that started
        # within the last 10 s still sends at the rate it had alone (a product issue, reported).
        tally.check(users)
        assert len(takers) == 1, logs(replicas)
        assert 0 <= takeover < 60
        assert len(workers) == 3, workers  # every replica sent, the dead leader too before it died
        assert all(r.state == "sent" for r in invites(rows))
    finally:
        cleanup(replicas)
    for replica in others:
        assert replica.process.returncode == 0, logs([replica])
    assert_clean(*replicas)


def test_sigterm_mid_round_exits_cleanly_and_the_restart_sends_the_rest_once(
        tmp_path, backend, database_url, slack):
    members = 200
    users = expected_users(members)
    # The default lease: a graceful stop must not leave rows for a lease to release.
    env = serve_env(tmp_path, slack, database_url, members=members, rate=RATE, lease=120)
    seed_experiment(database_url)
    first = second = None
    try:
        first = start_server(tmp_path, env, "first")
        open_round(first, slack)
        wait_until(lambda: len(invitations(slack)) >= len(users) // 2, 30, "half the invitations", [first])
        stopping = terminate(first)
        stopped_after = len(invitations(slack))
        at_stop = invites(outbox(database_url))
        states = Counter(r.state for r in at_stop)
        assert first.process.returncode == 0, logs([first])
        assert "shutting down" in first.logs()
        # Sends in flight finished and were recorded; the rest waits in the outbox.
        assert set(states) <= {"sent", "queued"}, states
        assert states["sent"] == stopped_after

        second = start_server(tmp_path, env, "second")
        restarted = time.monotonic()
        wait_until(lambda: all_sent(database_url, len(users)), 30, "every invite row marked sent", [first, second])
        finished = time.monotonic()
        rows = outbox(database_url)
        tally = Tally.of(slack, rows, users)
        print(f"\nsigterm[{backend}]: stopped in {stopping:.2f}s after {stopped_after} invitations "
              f"(outbox then: {dict(states)}); restart sent the rest in {finished - restarted:.1f}s; "
              f"duplicates={tally.duplicates} lost={len(tally.missing)}")
        tally.check(users)
        assert not any(r.interrupted_at for r in invites(rows))  # nothing was left mid-send
        assert not slack.calls("conversations.history")
    finally:
        cleanup([first, second])
    assert second.process.returncode == 0, logs([second])
    # A tick queued just before SIGTERM used to run after Scheduling.stop() and be cancelled
    # by APScheduler's deferred shutdown, logging a traceback (about 1 run in 30).
    assert_clean(first, second)


def test_rows_waiting_for_the_rate_limit_longer_than_their_lease_are_still_sent_once(tmp_path, sqlite_url):
    # Time scaled down: at 20 sends a second a worker holds its last 2 s of sends (40 rows),
    # so the last of them waits about 2 s for its turn, with a 1.5 s lease: the worker renews
    # the leases of rows it still holds, so none is claimed and sent again. (The same wait
    # happens with the 2 min default when a replica's part of the workspace budget is under
    # 16 rows / 120 s, e.g. 600 a minute shared by 80 replicas.)
    rate, members = 20, 119
    users = expected_users(members)
    slack = throttled_slack(rate)
    env = serve_env(tmp_path, slack, sqlite_url, members=members, rate=rate, lease=1.5)
    seed_experiment(sqlite_url)
    server = None
    try:
        server = start_server(tmp_path, env, "one")
        open_round(server, slack)
        wait_until(lambda: all_sent(sqlite_url, len(users)), 30, "every invite row marked sent", [server])
        time.sleep(0.5)  # a second send of the same row may still be on its way
        tally = Tally.of(slack, outbox(sqlite_url), users)
        print(f"\nlease shorter than the limiter's queue: duplicates={tally.duplicates} lost={len(tally.missing)}")
        tally.check(users)
    finally:
        cleanup([server])
        slack.stop()
