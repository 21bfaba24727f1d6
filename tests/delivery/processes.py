"""Real `cocreate serve` processes delivering one big check-in round through a throttled fake
Slack, for the crash, replica and restart tests in test_processes.py.

    slack = throttled_slack(rate)                       # FakeSlack(real_ts=True), workspace budget
    env = serve_env(tmp_path, slack, database_url, members=200, rate=rate)
    seed_experiment(database_url)                       # the round needs a running experiment
    server = start_server(tmp_path, env, "a")
    open_round(server, slack)                           # /cocreate checkin as the leader
    wait_until(lambda: len(invitations(slack)) >= 100, 20, "half the invitations", [server])
    kill(server)
    ...
    tally = Tally.of(slack, outbox(database_url), expected_users(200))
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from bot.records import Experiment
from storage.db import create_engine
from storage.repository import open_store
from tests.conftest import run_async
from tests.fakes.slack import Call, FakeSlack
from tests.fakes.slack_client import SlackSender, slash_command
from tests.support import Server, check_log

SECRET = "test-signing-secret"
COALITION = "big"
CHANNEL = "C_BIG"
LEADER_SLACK = "U_LEA"
TITLE = "Job café"
INVITATION = "Impact check-in: "  # the invitation's headline ("Impact check-in: Job café")
TAKEOVER = "scheduler: this replica now runs the scheduler"


# -- set-up --------------------------------------------------------------------------------


def slack_id(n: int) -> str:
    return f"U{n:04d}"


def expected_users(members: int) -> set[str]:
    """Every Slack user who must get exactly one invitation: the members and the leader."""
    return {slack_id(n) for n in range(1, members + 1)} | {LEADER_SLACK}


def write_config(path: Path, members: int, rate: float, opens_per_minute: float = 3000) -> Path:
    """One coalition of `members` members and the leader `lea`; Slack's workspace budget is
    `rate` chat.postMessage calls a second (the fake enforces the same)."""
    people = [{"id": "lea", "name": "Lea Leader", "platforms": {"slack": LEADER_SLACK}}]
    people += [{"id": f"m{n:04d}", "name": f"Member {n}", "platforms": {"slack": slack_id(n)}}
               for n in range(1, members + 1)]
    config = {
        "movement": {"name": "Big Movement", "timezone": "Europe/Copenhagen"},
        "delivery": {
            "quiet_hours": "off",
            "work_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "slack": {
                "per_workspace_per_minute": rate * 60,
                "per_channel_per_second": 1,
                # Tier 3 (conversations.open/history, chat.update): fast by default, so
                # re-checking the rows a dead worker held takes a second, not Slack's ~50 a
                # minute (bench/recovery.py uses Slack's pace).
                "opens_per_minute": opens_per_minute,
            },
        },
        "members": people,
        "coalitions": [{
            "id": COALITION, "name": "Big Coalition", "challenge": "Many members at once",
            "leaders": ["lea"], "members": [p["id"] for p in people[1:]], "channels": {"slack": CHANNEL},
        }],
    }
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def throttled_slack(rate: float) -> FakeSlack:
    """A fake Slack with real timestamps (so `conversations.history(oldest=...)` filters like
    Slack's) and one workspace-wide chat.postMessage budget of `rate` a second."""
    slack = FakeSlack(real_ts=True).start_in_thread()
    slack.limit("chat.postMessage", per_second=rate, key=None, burst=rate)
    return slack


def serve_env(tmp_path: Path, slack: FakeSlack, database_url: str, *, members: int, rate: float,
              lease: float = 8.0, opens_per_minute: float = 3000) -> dict[str, str]:
    config = write_config(tmp_path / "app.yaml", members, rate, opens_per_minute)
    return {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.url,
        "DATABASE_URL": database_url,
        "COCREATE_CONFIG": str(config),
        "COCREATE_POLL_SECONDS": "0.2",
        "COCREATE_TICK_SECONDS": "1",
        "COCREATE_PROGRESS_SECONDS": "1",
        "COCREATE_LEASE_SECONDS": str(lease),
    }


def seed_experiment(database_url: str) -> None:
    """A running experiment in the coalition (a check-in round needs one)."""
    async def seed() -> None:
        store = open_store(database_url)
        try:
            today = date.today()
            async with store.unit() as unit:
                await unit.add([Experiment(
                    COALITION, "lea", TITLE, "A café run by young people", "Apprenticeships",
                    ("young people", "employers"), "Harbour Bakery", today - timedelta(days=1),
                    today + timedelta(days=30), "Contracts", "lea")], datetime.now(timezone.utc))
        finally:
            await store.close()

    run_async(seed())


def open_round(server: Server, slack: FakeSlack) -> None:
    """`/cocreate checkin` as the leader, signed like Slack signs it."""
    request = slash_command("checkin", user=LEADER_SLACK, channel=CHANNEL, response_url=slack.response_url("checkin"))
    status, body = SlackSender(secret=SECRET).post_sync(server.url, request)
    assert status == 200, (status, body)
    wait_until(lambda: any("is open" in _texts(c) for c in slack.calls("response_url")), 10,
               "the leader's 'round is open' answer", [server])


# -- processes ------------------------------------------------------------------------------


def kill(server: Server) -> None:
    """SIGKILL: no shutdown code runs, sends in flight and leases are left as they are."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)


def terminate(server: Server, timeout: float = 30.0) -> float:
    """SIGTERM and wait for a clean exit; returns how long it took."""
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    server.process.wait(timeout=timeout)
    return time.monotonic() - started


def cleanup(servers: Iterable[Server | None], timeout: float = 30.0) -> None:
    """For `finally`: SIGTERM what still runs, SIGKILL what has not exited after `timeout`
    (its returncode then says so), close the pipes, check the logs."""
    running = [s for s in servers if s is not None]
    for server in running:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for server in running:
        try:
            server.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)
        if server.process.stdout:
            server.process.stdout.close()
    for server in running:
        check_log(server)  # no secret, email or member's words, as for every server


def logs(servers: Iterable[Server | None]) -> str:
    return "\n".join(f"--- {s.log.name} ---\n{s.logs()}" for s in servers if s is not None)


def wait_until(condition: Callable[[], Any], timeout: float, what: str,
               servers: Sequence[Server | None] = (), every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{logs(servers)}")
        time.sleep(every)


def logged_at(server: Server, needle: str) -> datetime | None:
    """When `needle` was first logged (the log's local-time stamp), or None."""
    for line in server.logs().splitlines():
        if needle in line:
            return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
    return None


# -- what arrived ---------------------------------------------------------------------------


def _texts(call: Call) -> str:
    return json.dumps(call.args.get("blocks") or [], ensure_ascii=False) + str(call.args.get("text", ""))


def invitations(slack: FakeSlack) -> list[Call]:
    """Every invitation that reached the fake Slack (posted, answered ok)."""
    return [c for c in slack.calls("chat.postMessage") if c.ok and INVITATION in _texts(c)]


def tag(call: Call) -> str | None:
    return str(((call.args.get("metadata") or {}).get("event_payload") or {}).get("tag"))


@dataclass(frozen=True)
class OutboxRow:
    id: int
    occurrence: str
    target: str
    state: str
    attempts: int
    claimed_by: str | None
    interrupted_at: datetime | None
    message_id: str | None


def outbox(database_url: str) -> list[OutboxRow]:
    """The round's rows, read with SQL (claimed_by and interrupted_at are not in the port)."""
    async def read() -> list[OutboxRow]:
        engine = create_engine(database_url, poolclass=NullPool)
        try:
            async with engine.connect() as db:
                rows = await db.execute(text(
                    "SELECT id, occurrence, target, state, attempts, claimed_by, interrupted_at, message_id "
                    "FROM outbox WHERE source LIKE 'round:%' ORDER BY id"))
                return [OutboxRow(**row._asdict()) for row in rows]
        finally:
            await engine.dispose()

    return run_async(read())


def invites(rows: Sequence[OutboxRow]) -> list[OutboxRow]:
    return [r for r in rows if r.occurrence == "invite"]


def all_sent(database_url: str, expected: int) -> bool:
    rows = invites(outbox(database_url))
    return len(rows) == expected and all(r.state == "sent" for r in rows)


@dataclass
class Tally:
    """Invitations per Slack user, against the outbox's invite rows."""

    per_user: Counter
    per_tag: Counter
    missing: set[str]
    duplicated: dict[str, int]
    unknown_tags: set[str]

    @classmethod
    def of(cls, slack: FakeSlack, rows: Sequence[OutboxRow], users: set[str]) -> Tally:
        calls = invitations(slack)
        per_user = Counter(str(c.args.get("channel")) for c in calls)
        per_tag = Counter(tag(c) for c in calls)
        ids = {str(r.id) for r in invites(rows)}
        return cls(per_user, per_tag, missing=users - set(per_user),
                   duplicated={u: n for u, n in per_user.items() if n > 1},
                   unknown_tags=set(per_tag) - ids)

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.per_user.values() if n > 1)

    def check(self, users: set[str]) -> None:
        assert not self.missing, f"lost: {sorted(self.missing)[:20]} ({len(self.missing)})"
        assert not self.duplicated, f"duplicated: {dict(list(self.duplicated.items())[:20])} ({self.duplicates})"
        assert set(self.per_user) == users, set(self.per_user) ^ users
        assert not self.unknown_tags, self.unknown_tags
        assert all(n == 1 for n in self.per_tag.values()), {t: n for t, n in self.per_tag.items() if n > 1}
        assert len(self.per_tag) == len(users)
