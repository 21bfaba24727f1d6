"""How close does the outbox get to the rate limit when one prompt goes to a whole workspace?

Queues one scheduled story invitation (`kind="prompt"`, as the scheduler does) for each of
2,000 Slack members of one workspace, and, in a run of its own, for 2,000 Teams members of
one tenant, then lets the real delivery loop (`bot.delivery.Delivery.run`) send them through
the real senders (`SlackSender`, `TeamsSender` through botbuilder's CloudAdapter) to the fake
servers of `tests.fakes`, which enforce the limits configured in app.yaml with 429s:

- Slack: chat.postMessage, one workspace-wide token bucket of `--slack-rate`/s (burst one
  second's worth) and 1/s per channel;
- Teams: `--teams-rate` calls/s over the tenant (sliding 1 s window) and Teams' documented
  per-conversation windows.

The baseline, in the same run: the floor the rate limit allows, members / rate. The ratio
wall / floor says how much the delivery loop adds on top of the limit (aim: at most 1.05, also
with `--latency-ms 150`, the fakes answering 150 ms late like a real network).
Each run also counts messages lost (members without a message at the fake) and duplicates
(extra messages to one member, rows sent twice), the 429s the fake answered (limits are
kept, not discovered: should be 0) and peak memory.

    .venv/bin/python bench/fanout.py                      # both platforms, 2,000 members each, 2 rounds
    .venv/bin/python bench/fanout.py --quick              # smoke run: 400 members, 1 round
    .venv/bin/python bench/fanout.py --latency-ms 150     # every platform call answered 150 ms late
    .venv/bin/python bench/fanout.py --platform slack --slack-rate 50
    .venv/bin/python bench/fanout.py --db postgres        # a fresh PostgreSQL database per run

See bench/README.md for how to read the output. Exit status: 0 when every member got exactly
one message, 1 when a message was lost or duplicated, 2 on a setup error, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.metadata
import logging
import math
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `tests.fakes` lives in the repository, not in the installed package

from sqlalchemy.engine import make_url  # noqa: E402

from adapters.ratelimit import Limiter  # noqa: E402
from bench.common import (  # noqa: E402
    DEFAULT_PG_ADMIN_URL, PG_URL_ENV, SetupError, interrupted_on_sigterm, pg_admin_url, run_admin, reset_peak_rss,
    status_mb,
)
from adapters.slack.app import SlackBot  # noqa: E402
from bot.serve import settle_collector  # noqa: E402
from adapters.slack.sender import EVENT_TYPE, SlackSender  # noqa: E402
from adapters.slack.settings import SlackSettings  # noqa: E402
from adapters.teams.app import TeamsBot  # noqa: E402
from adapters.teams.sender import TeamsSender  # noqa: E402
from adapters.teams.settings import TeamsSettings  # noqa: E402
from bot.config import TeamsLimits, load_config  # noqa: E402
from bot.delivery import Delivery  # noqa: E402
from bot.engine import Engine  # noqa: E402
from bot.ports import Outgoing  # noqa: E402
from bot.types import ConversationRef  # noqa: E402
from flows.prompts import PRINCIPLES, PROMPTS, flat  # noqa: E402
from flows.registry import all_flows  # noqa: E402
from storage import migrate  # noqa: E402
from storage.repository import SqlStore, open_store  # noqa: E402
from tests.fakes.slack import FakeSlack  # noqa: E402
from tests.fakes.teams import FakeConnector  # noqa: E402

PLATFORMS = ("slack", "teams")
DATABASES = ("sqlite", "postgres")
AIM = 1.05  # wall / floor (issue #15)
COALITION = "fanout"
LEADER = "lead"  # the coalition's leader: in app.yaml, not messaged
TENANT = "t-bench"
SOURCE = "schedule:fanout-bench"  # as the scheduler names a schedule's rows
TEAMS_WINDOWS = TeamsLimits().per_conversation  # Teams' documented limits per conversation (7/1 s, ...)


# ====================================================================== the movement


def member_ids(platform: str, n: int) -> list[str]:
    return [f"{platform[0]}{i:05d}" for i in range(1, n + 1)]


def slack_user(member: str) -> str:
    return f"U_{member.upper()}"  # FakeSlack keeps a post to U... under the DM "DU_..."


def teams_user(member: str) -> str:
    return f"29:{member}"


def teams_conversation(member: str) -> str:
    return f"a:{member}"  # the member's stored 1:1 chat with the bot


def write_config(path: Path, n: int, slack_rate: float, teams_rate: float) -> Path:
    """One coalition, `n` Slack-only and `n` Teams-only members, no quiet hours or days off,
    and the delivery limits the fakes enforce."""
    lines = [
        "movement: {name: Fanout Bench, timezone: Europe/Copenhagen, coordinators: [lead]}",
        "delivery:",
        '  quiet_hours: "off"',
        "  work_days: [mon, tue, wed, thu, fri, sat, sun]",
        f"  slack: {{per_workspace_per_minute: {slack_rate * 60:g}, per_channel_per_second: 1}}",
        f"  teams: {{per_tenant_per_second: {teams_rate:g}}}",
        "members:",
        f"  - {{id: {LEADER}, name: Lea Leader, platforms: {{console: {LEADER}}}}}",
    ]
    for m in member_ids("slack", n):
        lines.append(f"  - {{id: {m}, name: Member {m}, platforms: {{slack: {slack_user(m)}}}}}")
    for m in member_ids("teams", n):
        lines.append(f'  - {{id: {m}, name: Member {m}, platforms: {{teams: "{teams_user(m)}"}}}}')
    everyone = ", ".join(member_ids("slack", n) + member_ids("teams", n))
    lines += [
        "coalitions:",
        f"  - {{id: {COALITION}, name: Fanout, challenge: Everyone at once, leaders: [{LEADER}], members: [{everyone}]}}",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


# ====================================================================== databases


@dataclass
class Databases:
    """A fresh migrated database per run: SQLite files copied from one migrated template,
    PostgreSQL databases created and migrated one by one (all dropped at the end)."""

    kind: str
    workdir: Path
    admin: str | None = None
    created: list[str] = field(default_factory=list)  # PostgreSQL database names
    template: Path | None = None
    seconds: float = 0.0  # spent creating and migrating

    async def fresh(self, name: str) -> str:
        started = time.monotonic()
        try:
            if self.kind == "sqlite":
                if self.template is None:
                    self.template = self.workdir / "template.db"
                    await migrate.upgrade(_sqlite_url(self.template))
                target = self.workdir / f"{name}.db"
                with closing(sqlite3.connect(self.template)) as src, closing(sqlite3.connect(target)) as dst:
                    src.backup(dst)
                return _sqlite_url(target)
            database = f"cocreate_bench_fanout_{secrets.token_hex(4)}_{name}"
            await run_admin(self.admin, f'CREATE DATABASE "{database}"')
            self.created.append(database)
            url = make_url(self.admin).set(database=database).render_as_string(hide_password=False)
            await migrate.upgrade(url)
            return url
        except Exception as error:
            raise SetupError(f"creating the {self.kind} database failed: {error!r}") from error
        finally:
            self.seconds += time.monotonic() - started

    def drop_all(self) -> None:
        for database in self.created:
            try:
                asyncio.run(run_admin(self.admin, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            except Exception as error:  # noqa: BLE001 - report, and go on removing the rest
                print(f"bench: could not drop PostgreSQL database {database}: {error!r}", file=sys.stderr)
        self.created.clear()


def _sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path.as_posix()}"


# ====================================================================== measuring


def thread_cpu(native_id: int | None) -> float:
    """CPU seconds of one thread of this process (Linux /proc; 0 elsewhere)."""
    if native_id is None:
        return 0.0
    try:
        fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class TimedLock(asyncio.Lock):
    """The SQLite store's write queue (`storage.sqlite.Writer`'s lock), timed: how long units held it."""

    def __init__(self) -> None:
        super().__init__()
        self.held = 0.0
        self.count = 0
        self._since = 0.0

    async def acquire(self) -> bool:
        await super().acquire()
        self._since = time.monotonic()
        return True

    def release(self) -> None:
        self.held += time.monotonic() - self._since
        self.count += 1
        super().release()


@dataclass
class SqliteTurns:
    """What the SQLite store's writer for this loop did during the run."""

    writer: Any
    lock: TimedLock
    units: int
    groups: int

    def figures(self) -> tuple[float, int, int]:
        """(seconds the write queue was held, units, transactions they shared)"""
        return self.lock.held, self.writer.units - self.units, self.writer.groups - self.groups


def time_sqlite_turns(store: SqlStore) -> SqliteTurns | None:
    """Put a TimedLock in as the queue of the store's writer on this loop (SQLite only; None
    if the store has no such writer: then the line is left out)."""
    make = getattr(store, "_writer", None)
    if not getattr(store, "_serial", False) or make is None:
        return None
    writer = make()
    writer._lock = lock = TimedLock()
    return SqliteTurns(writer, lock, writer.units, writer.groups)


class Watch:
    """Wraps the store's outbox calls (on this store object only) to see the run as the
    delivery loop lives it: when it first claimed, each row marked sent, and anything else.
    `done` is set once every row is final: sent, or failed or skipped (then it is lost)."""

    def __init__(self, store: SqlStore, rows: list[int]) -> None:
        self.rows = set(rows)  # the fanout's rows (a failure also queues notices to leaders)
        self.first_claim: float | None = None
        self.claims: list[int] = []  # rows per claim() call
        self.claim_seconds = 0.0
        self.sent_at: dict[int, float] = {}
        self.sent_twice: Counter[int] = Counter()  # rows store.sent() accepted more than once
        self.finished: Counter[str] = Counter()  # retry / failed / skipped calls
        self.finish_seconds = 0.0  # time inside store.sent (one transaction per row)
        self.done = asyncio.Event()
        self.given_up: set[int] = set()  # rows marked failed or skipped
        self.last_sent: float | None = None  # the last row marked sent (or given up on)
        claim, sent = store.claim, store.sent

        async def claiming(*args: Any, **kwargs: Any):
            started = time.monotonic()
            if self.first_claim is None:
                self.first_claim = started
            rows = await claim(*args, **kwargs)
            self.claim_seconds += time.monotonic() - started
            self.claims.append(len(rows))
            return rows

        async def sending(id: int, *args: Any, **kwargs: Any) -> bool:
            started = time.monotonic()
            ok = await sent(id, *args, **kwargs)
            now = time.monotonic()
            self.finish_seconds += now - started
            if ok:
                if id in self.sent_at:
                    self.sent_twice[id] += 1
                self.sent_at[id] = self.last_sent = now
                self._check()
            return ok

        store.claim, store.sent = claiming, sending
        for name in ("retry", "failed", "skipped"):
            setattr(store, name, self._counting(name, getattr(store, name)))

    def _counting(self, name: str, method):
        async def counted(id: int, *args: Any, **kwargs: Any):
            self.finished[name] += 1
            ok = await method(id, *args, **kwargs)
            if ok and name != "retry" and id in self.rows:
                self.given_up.add(id)
                self.last_sent = time.monotonic()
                self._check()
            return ok
        return counted

    def _check(self) -> None:
        if self.rows <= self.sent_at.keys() | self.given_up:
            self.done.set()


@dataclass
class Result:
    platform: str
    round: int
    members: int
    rate: float  # allowed calls per second (workspace / tenant)
    windows: list[tuple[int, float]]  # the sender's windows for that budget
    calls_per_member: int  # platform calls that count against that rate, per member
    wall: float | None  # first claim -> last row sent (None: not all were sent)
    timed_out: bool
    lost: int  # members without a message at the fake
    duplicates: int  # extra messages at the fake + rows marked sent twice
    rate_limited: int  # 429s the fake answered
    states: Counter  # outbox rows by state at the end
    retried: int  # rows claimed more than once
    finished: Counter  # retry / failed / skipped calls seen
    first_post: float | None  # seconds from the first claim
    last_post: float | None
    max_in_window: int  # most calls the fake accepted within any 1 s (the limited calls)
    lag: list[float]  # seconds from the limiter counting a post to its arrival at the fake
    claims: list[int]
    claim_seconds: float
    finish_seconds: float
    lock: tuple[float, int, int] | None  # SQLite: seconds its write queue was held, units, transactions
    cpu: float  # process CPU seconds during the run (fake thread included)
    fake_cpu: float  # of which the fake server's thread
    rss_start: float | None  # MB
    rss_peak: float | None  # MB (VmHWM, reset at the start of the run)
    py_peak: float | None  # MB above the start (tracemalloc), None when not traced
    py_fake: float | None  # MB of it the fake servers still hold at the end (their records)
    traced: bool  # under tracemalloc: memory figures only, the timing is not comparable
    setup: float  # seconds: fresh database, queued rows, references, fake server
    load: float  # 1-minute load average at the end
    logs: Counter = field(default_factory=Counter)

    @property
    def floor(self) -> float:
        return self.members * self.calls_per_member / self.rate

    @property
    def ratio(self) -> float | None:
        return None if self.wall is None else self.wall / self.floor

    @property
    def schedule(self) -> list[float]:
        """When the sender's own budget windows let each limited call go, the first at 0,
        with nothing else in the way: the floor as the sender stretches it (headroom, bursts)."""
        t = 0.0
        limiter = Limiter(self.windows, clock=lambda: t)
        out = []
        for _ in range(self.members * self.calls_per_member):
            t += limiter.delay("")
            limiter.begin("")
            limiter.end("")  # answered at once: the sender's best case
            out.append(t)
        return out

    @property
    def margin(self) -> float:
        """Teams: how much later than counted a call may arrive before the fake's sliding
        window (rate calls in any 1 s) is exceeded by that schedule: the shortest span of
        rate + 1 consecutive calls, minus 1 s."""
        times, n = self.schedule, int(self.rate)
        return min((times[i + n] - times[i] for i in range(len(times) - n)), default=math.inf) - 1.0


class LogCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.WARNING and "retry" not in record.getMessage():
            return  # INFO only for the outbox's retries
        message = re.sub(r"\d+(\.\d+)?", "N", record.getMessage())[:140]
        self.counts[f"{record.levelname} {record.name}: {message}"] += 1

    def take(self) -> Counter[str]:
        counts, self.counts = self.counts, Counter()
        return counts


def count_sends(limiter: Any) -> dict[str, float]:
    """When the sender's per-channel (per-conversation) limiter let each post go, by key:
    the moment `hold` starts the call (this wraps `begin` on that limiter object only)."""
    counted: dict[str, float] = {}
    begin = limiter.begin

    def beginning(key: str) -> float:
        counted[key] = time.monotonic()
        return begin(key)

    limiter.begin = beginning
    return counted


def send_lag(platform: str, fake: Any, counted: dict[str, float]) -> list[float]:
    """Per accepted post: its arrival at the fake minus when the limiter counted it (each
    member's chat gets one post, so its key names it). What the limiter's headroom covers."""
    if platform == "slack":
        arrivals = {f"/{c.args.get('channel')}": c.at for c in fake.calls("chat.postMessage") if c.ok}
    else:
        arrivals = {c.conversation_id: c.at for c in fake.calls() if c.kind in ("reply", "send") and c.ok}
    return sorted(at - counted[key] for key, at in arrivals.items() if key in counted)


def pct(values: list[float], p: float) -> float:
    return values[max(0, math.ceil(p / 100 * len(values)) - 1)] if values else float("nan")


def max_in_window(stamps: list[float], seconds: float = 1.0) -> int:
    stamps = sorted(stamps)
    best, lo = 0, 0
    for hi, t in enumerate(stamps):
        while stamps[lo] <= t - seconds:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


# ====================================================================== one run


async def enqueue(store: SqlStore, members: list[str], now: datetime) -> list[int]:
    rows = [Outgoing(SOURCE, now.date().isoformat(), f"member:{m}", COALITION, "prompt", {"kind": "story"}, now)
            for m in members]
    new = await store.enqueue(rows, now)
    if new != len(rows):
        raise SetupError(f"queued {new} rows, expected {len(rows)}")
    return [r.id for r in await store.outbox(source=SOURCE)]


async def run_one(platform: str, round_no: int, args: argparse.Namespace, config_path: Path,
                  databases: Databases, logs: LogCounter, traced: bool = False) -> Result:
    """One fanout on a fresh database and fresh fake; `traced`: under tracemalloc (slower:
    for the memory figures only, not timed against the aim)."""
    setup_started = time.monotonic()
    members = member_ids(platform, args.members)
    url = await databases.fresh(f"{platform}{round_no}")
    store = open_store(url)
    config = load_config(config_path, flat(PROMPTS), PRINCIPLES)
    engine = Engine(store, config, all_flows())
    now = datetime.now(timezone.utc)
    fake: FakeSlack | FakeConnector | None = None
    bot: SlackBot | TeamsBot | None = None
    try:
        if platform == "slack":
            rate, per_member = args.slack_rate, 1
            fake = FakeSlack(latency_ms=args.latency_ms).start_in_thread()
            fake.limit("chat.postMessage", per_second=rate, key=None, burst=rate)  # the workspace
            fake.limit("chat.postMessage", per_second=1, key="channel")  # each channel (a DM)
            bot = SlackBot(engine, SlackSettings(bot_token="xoxb-bench", signing_secret="bench-secret",
                                                 api_url=fake.url))
            sender = SlackSender(bot)  # the limits of app.yaml
        else:
            rate, per_member = args.teams_rate, (2 if args.teams_address == "roster" else 1)
            fake = FakeConnector(tenant_id=TENANT, latency_ms=args.latency_ms).start_in_thread()
            fake.limit_tenant((int(rate), 1.0))  # writes and creates, over every conversation
            fake.limit([(int(n), float(w)) for n, w in TEAMS_WINDOWS])
            bot = TeamsBot(engine, TeamsSettings())  # authentication off: the fake issues no tokens
            sender = TeamsSender(bot)
            extra = {"service_url": fake.url, "bot_id": "28:bench", "bot_name": "Cocreate"}
            async with store.unit() as unit:  # one transaction: setup, not measured
                for m in members:
                    if args.teams_address == "roster":  # in a team's roster, never wrote: a chat is created
                        ref = ConversationRef("teams", TENANT, "19:bench@thread.tacv2", teams_user(m),
                                              extra={**extra, "kind": "roster", "channel": "19:bench@thread.tacv2"})
                        await unit.save_reference(ref, m, "roster", now)
                    else:
                        ref = ConversationRef("teams", TENANT, teams_conversation(m), teams_user(m),
                                              extra={**extra, "kind": "personal"})
                        await unit.save_reference(ref, m, "personal", now)
        budget = list(sender.workspace.windows if platform == "slack" else sender.tenants.windows)
        counted = count_sends(sender.channels if platform == "slack" else sender.conversations)
        row_ids = await enqueue(store, members, now)
        delivery = Delivery(store, config, {platform: sender}, concurrency=args.concurrency)
        watch = Watch(store, row_ids)
        turns = time_sqlite_turns(store)
        deadline = max(60.0, 3 * len(members) * per_member / rate + 30)
        logs.take()

        # ---- measured from here
        setup = time.monotonic() - setup_started
        settle_collector()  # as `cocreate serve` runs: this run's setup frozen, young objects collected less often
        if traced:
            tracemalloc.start()
            py_start = tracemalloc.get_traced_memory()[0]
        rss_start = status_mb("VmRSS")
        reset_peak_rss()
        cpu_start, fake_start = process_cpu(), thread_cpu(fake._thread.native_id)
        stop = asyncio.Event()
        running = asyncio.create_task(delivery.run(stop))
        timed_out = False
        try:
            await asyncio.wait_for(watch.done.wait(), deadline)
        except TimeoutError:
            timed_out = True
        end = time.monotonic()
        stop.set()
        await running  # lets sends in flight finish (up to 20 s)
        cpu, fake_cpu = process_cpu() - cpu_start, thread_cpu(fake._thread.native_id) - fake_start
        lock = turns.figures() if turns is not None else None
        rss_peak = status_mb("VmHWM")
        py_peak = py_fake = None
        if traced:
            py_peak = (tracemalloc.get_traced_memory()[1] - py_start) / 2**20
        # ---- measured until here
        gc.unfreeze()

        rows = await store.outbox(source=SOURCE)
        states = Counter(r.state for r in rows)
        retried = sum(1 for r in rows if r.attempts > 1)
        sent_rows = {r.id for r in rows if r.state == "sent"}
        lost, extra_messages, stamps = check_fake(platform, fake, members, row_ids, sent_rows)
        lag = send_lag(platform, fake, counted)
        refused = fake.rate_limited() if platform == "slack" else fake.throttled()
        if traced:  # what the fake's records (calls, messages) take: traced memory they free
            held = tracemalloc.get_traced_memory()[0]
            fake.clear()
            gc.collect()
            py_fake = (held - tracemalloc.get_traced_memory()[0]) / 2**20
            tracemalloc.stop()
        t0 = watch.first_claim or end
        return Result(
            platform=platform, round=round_no, members=len(members), rate=rate, windows=budget,
            calls_per_member=per_member,
            wall=None if timed_out else (watch.last_sent or end) - t0, timed_out=timed_out,
            lost=lost, duplicates=extra_messages + sum(watch.sent_twice.values()),
            rate_limited=refused,
            states=states, retried=retried, finished=watch.finished,
            first_post=(min(stamps) - t0) if stamps else None,
            last_post=(max(stamps) - t0) if stamps else None,
            max_in_window=max_in_window(stamps), lag=lag, claims=watch.claims, claim_seconds=watch.claim_seconds,
            finish_seconds=watch.finish_seconds, lock=lock, cpu=cpu, fake_cpu=fake_cpu, rss_start=rss_start,
            rss_peak=rss_peak, py_peak=py_peak, py_fake=py_fake, traced=traced, setup=setup,
            load=os.getloadavg()[0], logs=logs.take(),
        )
    finally:
        if bot is not None:
            await bot.aclose()
        await store.close()
        if fake is not None:
            fake.stop()


def check_fake(platform: str, fake: Any, members: list[str], row_ids: list[int],
               sent_rows: set[int]) -> tuple[int, int, list[float]]:
    """(members without a message or rows not marked sent, whichever is more; extra messages;
    arrival times of the calls the fake accepted that count against the rate)."""
    lost = extra = 0
    if platform == "slack":
        tags: Counter[str] = Counter()
        for m in members:
            messages = fake.messages(slack_user(m))
            lost += not messages
            extra += max(0, len(messages) - 1)
            for message in messages:
                meta = message.get("metadata") or {}
                if meta.get("event_type") == EVENT_TYPE:
                    tags[str((meta.get("event_payload") or {}).get("tag"))] += 1
        # Every row's tag once: a row sent twice (to the same member) is a duplicate too.
        extra = max(extra, sum(c - 1 for c in tags.values() if c > 1))
        lost = max(lost, sum(1 for i in row_ids if str(i) not in tags or i not in sent_rows))
        stamps = [c.at for c in fake.calls("chat.postMessage") if c.ok]
    else:
        calls = fake.calls()
        stamps = [c.at for c in calls if c.kind in ("reply", "send", "create") and c.answered in (200, 201)]
        # Whose chat each conversation is: the stored personal chats "a:<member>", or the
        # roster the fake gave a chat it created (a:new-N).
        user_of = {teams_conversation(m): teams_user(m) for m in members}
        user_of |= {conversation: roster[0]["id"] for conversation, roster in fake.members.items() if roster}
        by_user: Counter[str] = Counter()
        for conversation in {c.conversation_id for c in calls if c.kind in ("reply", "send", "create")}:
            if conversation is not None:
                by_user[user_of.get(conversation, conversation)] += len(fake.messages(conversation))
        for m in members:
            count = by_user.get(teams_user(m), 0)
            lost += count == 0
            extra += max(0, count - 1)
        lost = max(lost, sum(1 for i in row_ids if i not in sent_rows))
    return lost, extra, stamps


# ====================================================================== report


def _s(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_report(args: argparse.Namespace, results: list[Result], databases: Databases, took: float) -> None:
    timed = [r for r in results if not r.traced]
    traced = [r for r in results if r.traced]
    print()
    print("Fanout: one prompt to every member of a workspace / tenant, through the outbox to the fake servers")
    print(f"  machine: nproc={os.cpu_count()} (usable {len(os.sched_getaffinity(0))}), Python "
          f"{platform.python_version()}, {platform.platform()}")
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in ("slack_sdk", "botbuilder-core", "aiohttp", "SQLAlchemy"))
    print(f"  {versions}; database {args.db} (a fresh one per run), delivery concurrency {args.concurrency}, "
          f"{args.rounds} round{'s' if args.rounds > 1 else ''}; the fakes answer {args.latency_ms:g} ms late; "
          f"Teams members known by "
          f"{'their personal chat' if args.teams_address == 'personal' else 'a team roster only (each send creates the chat first)'}")
    print("  limits (app.yaml = what the fakes enforce): Slack chat.postMessage "
          f"{args.slack_rate:g}/s per workspace (token bucket, burst {args.slack_rate:g}) and 1/s per channel; "
          f"Teams {args.teams_rate:g}/s per tenant (sliding 1 s window) and "
          f"{', '.join(f'{n}/{w:g} s' for n, w in TEAMS_WINDOWS)} per conversation")
    print("  floor = members x calls per member / allowed rate (the baseline); ratio = wall / floor; "
          "wall = first claim -> last row marked sent")
    print("  NOTE: one noisy 2-core machine; the fake servers run in threads of this process and share its")
    print("        CPUs and GIL. Compare wall with the floor of the same run, and the rounds with each other.")
    print()
    head = (f"  {'platform':<8} {'round':>5} {'members':>7} {'rate/s':>6} {'floor s':>8} {'wall s':>7} {'ratio':>6} "
            f"{'lost':>5} {'dupes':>5} {'429s':>5} {'peak RSS MB':>12} {'CPU s':>6} {'load':>5}")
    print(head)
    print("  " + "-" * (len(head) - 2))
    for r in timed:
        print(f"  {r.platform:<8} {r.round:>5} {r.members:>7} {r.rate:>6g} {r.floor:>8.1f} "
              f"{_s(r.wall):>7} {('x' + _s(r.ratio, 2)) if r.ratio else 'TIMEOUT':>6} {r.lost:>5} {r.duplicates:>5} "
              f"{r.rate_limited:>5} {_rss(r):>12} {r.cpu:>6.1f} {r.load:>5.2f}")
    if traced:
        print("\nMemory (one more run per platform under tracemalloc, untimed: tracing triples the CPU per send)")
        for r in traced:
            print(f"  {r.platform:<8} Python allocations peak +{_s(r.py_peak)} MB above the start, of which the fake "
                  f"server's records hold {_s(r.py_fake)} MB at the end; peak RSS {_rss(r)} MB (tracing included); "
                  f"lost {r.lost}, duplicates {r.duplicates}, 429s {r.rate_limited}")

    print("\nWhere the time goes (seconds from the first claim)")
    for r in timed:
        rows_sent = r.states.get("sent", 0)
        windows = ", ".join(f"{n} per {w:.3f} s" for n, w in r.windows)
        last = r.schedule[-1]
        print(f"  {r.platform} round {r.round}: first call at the fake {_s(r.first_post, 2)}, last {_s(r.last_post, 2)}, "
              f"last row marked sent {_s(r.wall, 2)}; the sender's budget ({windows}) lets the last call go at "
              f"{last:.2f} = floor x{last / r.floor:.3f}")
        per = max(1, r.members * r.calls_per_member)
        allowed = f"bucket {r.rate:g}/s, burst {r.rate:g}" if r.platform == "slack" else f"{r.rate:g} in any 1 s"
        print(f"    most calls the fake accepted in any 1 s: {r.max_in_window} ({allowed}); "
              f"CPU {1000 * r.cpu / per:.1f} ms per call ({1000 * r.fake_cpu / per:.1f} of it the fake's thread)")
        print(f"    {len(r.claims)} claims (median {statistics.median(r.claims) if r.claims else 0:g} rows, "
              f"{r.claim_seconds:.1f} s in all); store.sent {1000 * r.finish_seconds / max(1, rows_sent):.1f} ms "
              f"per row (waiting for the database included)"
              + (f"; SQLite write queue held {r.lock[0]:.1f} s by {r.lock[1]} units "
                 f"({1000 * r.lock[0] / max(1, r.lock[1]):.1f} ms each) in {r.lock[2]} transactions"
                 if r.lock else ""))
        if r.lag:
            margin = f" (the fake's window tolerates {1000 * r.margin:.0f} ms)" if r.platform == "teams" else ""
            print(f"    limiter counted -> arrived at the fake: p50 {1000 * pct(r.lag, 50):.0f} ms, "
                  f"p99 {1000 * pct(r.lag, 99):.0f} ms, max {1000 * r.lag[-1]:.0f} ms{margin}")
        if set(r.states) - {"sent"} or r.retried or r.finished:
            print(f"    outbox at the end: {dict(r.states)}; rows claimed more than once: {r.retried}; "
                  f"retry/failed/skipped calls: {dict(r.finished)}")
        for line, count in r.logs.most_common(6):
            print(f"    logged {count:>4} x {line}")

    print(f"\nAim: wall <= {AIM} x floor; 0 lost, 0 duplicates (and 0 429s: limits kept, not discovered)")
    for p in PLATFORMS:
        mine = [r for r in timed if r.platform == p]
        if not mine:
            continue
        ratios = [r.ratio for r in mine if r.ratio is not None]
        worst = max(ratios) if len(ratios) == len(mine) else None
        verdict = "MET" if worst is not None and worst <= AIM else "MISSED"
        refused = sum(r.rate_limited for r in mine)
        print(f"  {p:<6} {verdict}: ratio {', '.join('x' + _s(x, 3) for x in ratios) or '-'}"
              f"{' (a run timed out)' if worst is None else ''}; lost {sum(r.lost for r in mine)}, "
              f"duplicates {sum(r.duplicates for r in mine)}, 429s {refused}"
              + (" (limits discovered, not kept: see 'limiter counted -> arrived')" if refused else ""))
    print(f"\nfinished in {took:.0f} s ({databases.seconds:.0f} s of it creating and migrating databases; "
          f"setup per run {', '.join(f'{r.setup:.1f}' for r in results)} s)")


def _rss(r: Result) -> str:
    if r.rss_peak is None:
        return "-"
    return f"{r.rss_peak:.0f} (+{r.rss_peak - (r.rss_start or 0):.0f})"


# ====================================================================== main


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--platform", choices=(*PLATFORMS, "both"), default="both", help="default both")
    parser.add_argument("--members", type=int, default=None, help="members per platform (default 2000)")
    parser.add_argument("--slack-rate", type=float, default=100.0,
                        help="chat.postMessage calls a second per workspace (default 100: floor 20 s)")
    parser.add_argument("--teams-rate", type=int, default=50,
                        help="calls a second per tenant (default 50, Teams' documented budget: floor 40 s)")
    parser.add_argument("--teams-address", choices=("personal", "roster"), default="personal",
                        help="Teams members known by their personal chat (default), or only from a team's "
                             "roster: every send first creates the chat (two calls per member)")
    parser.add_argument("--rounds", type=int, default=None, help="runs per platform, alternating the order (default 2)")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="the fakes answer every call this many ms late, like a network (default 0)")
    parser.add_argument("--concurrency", type=int, default=64, help="the most rows the delivery loop holds at once (default 64, as serve)")
    parser.add_argument("--db", choices=DATABASES, default="sqlite", help="default sqlite")
    parser.add_argument("--postgres-url", metavar="URL",
                        help="a PostgreSQL database with rights to create databases (default: "
                             f"${PG_URL_ENV[0]}, ${PG_URL_ENV[1]} or {DEFAULT_PG_ADMIN_URL})")
    parser.add_argument("--memory", action=argparse.BooleanOptionalAction, default=None,
                        help="one more, untimed run per platform under tracemalloc for the Python memory peak "
                             "(default on; off with --quick)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 400 members, 1 round, no memory run")
    args = parser.parse_args(argv)
    if args.members is None:
        args.members = 400 if args.quick else 2000
    if args.rounds is None:
        args.rounds = 1 if args.quick else 2
    if args.memory is None:
        args.memory = not args.quick
    if args.members < 1 or args.rounds < 1 or args.concurrency < 1 or args.slack_rate <= 0 or args.teams_rate < 1:
        parser.error("--members, --rounds, --concurrency and the rates must be positive")
    if args.latency_ms < 0:
        parser.error("--latency-ms must not be negative")
    if args.slack_rate * 60 > 100_000:
        parser.error("--slack-rate: app.yaml allows at most 100,000 a minute")
    return args



async def run(args: argparse.Namespace, databases: Databases) -> list[Result]:
    if args.db == "postgres":
        databases.admin = pg_admin_url(args)
        try:
            await run_admin(databases.admin, "SELECT 1")
        except Exception as error:  # noqa: BLE001 - refused, timeout, auth: all mean no server
            raise SetupError(f"PostgreSQL unreachable at {make_url(databases.admin)!r}: {error!r} "
                             f"(use --postgres-url or ${PG_URL_ENV[0]})") from error
    config_path = write_config(databases.workdir / "app.yaml", args.members, args.slack_rate, args.teams_rate)
    logs = LogCounter()
    logging.getLogger().addHandler(logs)
    logging.getLogger().setLevel(logging.INFO)
    platforms = list(PLATFORMS) if args.platform == "both" else [args.platform]
    results = []
    for round_no in range(1, args.rounds + 1):
        order = platforms if round_no % 2 else platforms[::-1]  # alternate who goes first
        for p in order:
            print(f"round {round_no}: {p}, {args.members} members...", flush=True)
            result = await run_one(p, round_no, args, config_path, databases, logs)
            print(f"  wall {_s(result.wall)} s, floor {result.floor:.1f} s, ratio x{_s(result.ratio, 3)}, "
                  f"lost {result.lost}, duplicates {result.duplicates}, 429s {result.rate_limited}", flush=True)
            results.append(result)
    if args.memory:
        for p in platforms:
            print(f"memory: {p}, {args.members} members under tracemalloc (untimed)...", flush=True)
            started = time.monotonic()
            result = await run_one(p, 0, args, config_path, databases, logs, traced=True)
            print(f"  peak +{_s(result.py_peak)} MB ({time.monotonic() - started:.0f} s)", flush=True)
            results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    signal.signal(signal.SIGTERM, interrupted_on_sigterm)
    databases = Databases(args.db, Path(tempfile.mkdtemp(prefix="cocreate-bench-fanout-")))
    started = time.monotonic()
    try:
        results = asyncio.run(run(args, databases))
        print_report(args, results, databases, time.monotonic() - started)
        bad = [r for r in results if r.lost or r.duplicates]
        if bad:
            print(f"\nFAILED: messages lost or duplicated in {len(bad)} run(s)")
            return 1
        print("\nevery member got exactly one message")
        return 0
    except SetupError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nbench: interrupted; removing the databases", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip the clean-up
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        databases.drop_all()
        shutil.rmtree(databases.workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
