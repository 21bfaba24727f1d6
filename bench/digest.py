"""How long does a digest take over a large movement's year of data, on SQLite and PostgreSQL?

Generates a movement of 50 coalitions with 100,000 stories, 200,000 check-ins (each with 1-3
effect ratings) and 300,000 reflections spread over the last 365 days, once in a fresh SQLite
file and once in a fresh PostgreSQL database (both migrated with `storage.migrate.upgrade`),
then times, on each database, a 30-day digest of the whole movement and of one coalition:

- the digest computation alone (`SqlStore.digest`, SQL aggregation), and each report format
  rendered from it (Markdown, HTML, JSON, CSV);
- "in-chat": what the chat command does, `unit.digest` (new items only) plus Markdown;
- the floor it is compared with, in the same run on the same database: a plain COUNT(*) of
  the period's stories, check-ins and reflections (the cost of touching the period's rows).

Peak memory: the tracemalloc peak of one extra (untimed) run of each measurement, and the
process's peak RSS. Generation is timed and printed apart; it is not the measurement.

    .venv/bin/python bench/digest.py                 # defaults: both databases, full size
    .venv/bin/python bench/digest.py --quick         # smoke run: 10x fewer stories, check-ins, reflections
    .venv/bin/python bench/digest.py --only sqlite   # one database
    .venv/bin/python bench/digest.py --keep          # keep the data and print the URLs

See bench/README.md for how to read the output. Exit status: 0 when every measurement ran
(whether or not the aim was met), 2 on a setup error (PostgreSQL unreachable, migration
failed, digest API missing), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import gc
import importlib
import importlib.metadata
import inspect
import itertools
import os
import platform
import random
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
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run from a checkout: the working tree, not an installed copy

from sqlalchemy import event, func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine  # noqa: E402

from bot.digest import Audience, Scope  # noqa: E402
from bot.types import Consent, Decision, Sector, Voice  # noqa: E402
from bot.config import english  # noqa: E402
from bot.i18n import Languages  # noqa: E402
from flows.prompts import PRINCIPLES, PROMPTS, flat  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import create_engine  # noqa: E402
from storage.models import (  # noqa: E402
    CheckInEffect,
    CheckInRow,
    ExperimentRow,
    Member,
    PerspectiveRow,
    ProblemStatementRow,
    ReflectionRow,
    ResourceRow,
    StoryPrinciple,
    StoryRow,
    StorySector,
    StrengthRow,
)
from storage.repository import SqlStore  # noqa: E402
from bench.common import (  # noqa: E402
    DEFAULT_PG_ADMIN_URL, PG_URL_ENV, SetupError, interrupted_on_sigterm, pg_admin_url, reset_peak_rss, run_admin,
    status_mb,
)

SEED = 20_240_601
DAYS = 30  # the digest's period
YEAR = 365  # the data's spread
BATCH = 5_000  # rows per executemany / COPY
AIM_MS = 1000.0  # the in-chat digest, on either database
# asyncpg prepares every statement; PostgreSQL's plan cache (plan_cache_mode=auto) plans the
# first 5 executions of a prepared statement with their parameters, then may use a generic plan.
PG_GENERIC_AFTER = 5
MOVEMENT_NAME = "Bench Movement"
TEXTS = Languages(english(flat(PROMPTS)))["en"]  # the reports' words
FORMATS = ("md", "html", "json", "csv")
DATABASES = ("sqlite", "postgres")
# Tables loaded with explicit ids (PostgreSQL's sequences are moved past them afterwards).
ID_TABLES = ("members", "resources", "strengths", "perspectives", "problem_statements",
             "experiments", "checkins", "checkin_effects", "reflections", "stories")
BIG_TABLES = (StoryRow, CheckInRow, ReflectionRow)  # the floor counts these


class DigestMissing(SetupError):
    pass


# ====================================================================== data


@dataclass(frozen=True)
class Size:
    coalitions: int = 50
    members: int = 40  # per coalition, on average (30-50)
    experiments: int = 10  # per coalition
    stories: int = 100_000
    checkins: int = 200_000
    reflections: int = 300_000

    def quick(self) -> Size:
        """10x fewer of the big three; the movement's shape (coalitions, members) stays."""
        return replace(self, stories=self.stories // 10, checkins=self.checkins // 10,
                       reflections=self.reflections // 10)


WORDS = (
    "neighbourhood library youth mentors school garden citizens families council volunteers "
    "employers trust bus route meeting cafe elders loneliness kitchen apprenticeship housing "
    "health nurse association sports club parents teachers jobs skills network walk together "
    "listened learned tried invited shared changed opened started asked helped met built "
    "first new small real local weekly open honest shared public quiet brave careful young "
    "older digital street square market harbour bridge workshop map idea plan test week month"
).split()
THEMES = ("Harbour", "Elders", "Green", "Youth", "Health", "Housing", "Jobs", "Culture", "Food", "Mobility")
STAKEHOLDERS = ("citizens", "families", "schools", "employers", "social workers", "volunteers",
                "the municipality", "shop owners", "young people", "older residents")
RESOURCE_KINDS = ("place", "association", "business", "institution", "person", "knowledge", "other")
SECTORS = tuple(s.value for s in Sector)
VOICES = tuple(v.value for v in Voice)
CONSENTS = (Consent.PRIVATE.value, Consent.COALITION.value, Consent.MOVEMENT.value, Consent.PUBLIC.value)
CONSENT_WEIGHTS = (15, 35, 30, 20)
DECISIONS = (Decision.CONTINUE.value, Decision.ADJUST.value, Decision.SCALE_UP.value, Decision.STOP.value)
DECISION_WEIGHTS = (60, 25, 8, 7)


class Texts:
    """Pools of generated text, picked from: cheap, deterministic and of realistic length."""

    def __init__(self, rng: random.Random) -> None:
        def sentence(lo: int, hi: int) -> str:
            return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi))).capitalize()

        sentences = [sentence(8, 20) + "." for _ in range(3_000)]
        self.titles = [sentence(3, 8) for _ in range(2_000)]
        self.bodies = [" ".join(rng.sample(sentences, rng.randint(2, 6))) for _ in range(3_000)]  # ~200-700 chars
        self.answers = [" ".join(rng.sample(sentences, rng.randint(1, 2))) for _ in range(3_000)]
        self.rng = rng

    def title(self) -> str:
        return self.rng.choice(self.titles)

    def body(self) -> str:
        return self.rng.choice(self.bodies)

    def answer(self) -> str:
        return self.rng.choice(self.answers)


@dataclass(frozen=True)
class Experiment:
    id: int
    coalition_id: str
    starts_on: date
    ends_on: date
    stakeholders: tuple[str, ...]
    created_at: datetime


Rows = dict[str, list[dict[str, Any]]]  # table name -> rows of one batch


@dataclass
class Movement:
    """The generated movement. The small tables are built up front; the big ones are streamed
    in batches, each table from its own seeded generator, so both databases get the same rows
    and the benchmark never holds a whole big table in memory."""

    size: Size
    now: datetime
    coalitions: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    wanted: dict[str, tuple[str, ...]] = field(default_factory=dict)
    weights: list[float] = field(default_factory=list)  # how busy each coalition is
    members: dict[str, list[str]] = field(default_factory=dict)
    experiments: dict[str, list[Experiment]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        rng = random.Random(f"{SEED}:movement")
        for i in range(self.size.coalitions):
            cid = f"c{i + 1:02d}"
            self.coalitions.append(cid)
            self.names[cid] = f"{THEMES[i % len(THEMES)]} coalition {i + 1}"
            self.wanted[cid] = tuple(rng.sample(SECTORS[:5], rng.randint(3, 5)))
            self.weights.append(rng.uniform(0.5, 2.0))
            self.members[cid] = [f"{cid}-m{j:02d}" for j in range(rng.randint(self.size.members * 3 // 4,
                                                                              self.size.members * 5 // 4))]
        # Timeboxes of 3-12 weeks tiling the year: long ended, recently ended, running, planned;
        # each planned 1-14 days before it starts. Ids follow creation, as in real use.
        step = (YEAR + 35) // max(1, self.size.experiments - 1)
        planned = []
        for cid in self.coalitions:
            for k in range(self.size.experiments):
                start = self.today - timedelta(days=YEAR + 15 - k * step + rng.randint(-7, 7))
                created = datetime.combine(start - timedelta(days=rng.randint(1, 14)), datetime.min.time(),
                                           timezone.utc)
                planned.append((min(created, self.now), cid, start, start + timedelta(weeks=rng.randint(3, 12)),
                                tuple(rng.sample(STAKEHOLDERS, rng.randint(1, 3)))))
        planned.sort(key=lambda p: (p[0], p[1]))
        for cid in self.coalitions:
            self.experiments[cid] = []
        for i, (created, cid, start, end, stakeholders) in enumerate(planned, 1):
            self.experiments[cid].append(Experiment(i, cid, start, end, stakeholders, created))
        for experiments in self.experiments.values():
            experiments.sort(key=lambda e: e.starts_on)

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def busiest(self) -> str:
        """The one-coalition digest's coalition: the busiest, the worst case."""
        return self.coalitions[max(range(len(self.weights)), key=self.weights.__getitem__)]

    def share(self, cid: str) -> float:
        return self.weights[self.coalitions.index(cid)] / sum(self.weights)

    # -- streams ---------------------------------------------------------------------

    def groups(self) -> list[tuple[str, Callable[[], Iterator[Rows]]]]:
        """(label, batches) per transaction, parents before children."""
        return [
            ("members", self._members),
            ("resources, strengths, perspectives, problem statements", self._small),
            ("experiments", self._experiments),
            ("check-ins + effects", self._checkins),
            ("reflections", self._reflections),
            ("stories + principles + sectors", self._stories),
        ]

    def _rng(self, name: str) -> random.Random:
        return random.Random(f"{SEED}:{name}")

    def _times(self, rng: random.Random, n: int) -> list[datetime]:
        """n moments over the last year, oldest first (ids then follow time, as in real use)."""
        seconds = sorted(rng.random() * YEAR * 86_400 for _ in range(n))
        return [self.now - timedelta(seconds=x) for x in reversed(seconds)]

    def _picks(self, rng: random.Random, n: int) -> list[str]:
        return rng.choices(self.coalitions, weights=self.weights, k=n)

    def _members(self) -> Iterator[Rows]:
        rng = self._rng("members")
        rows = []
        for cid in self.coalitions:
            present = rng.sample(SECTORS, rng.randint(3, 6))  # some wanted sectors stay missing
            for member_id in self.members[cid]:
                joined = self.now - timedelta(seconds=rng.random() * (YEAR + 35) * 86_400)
                rows.append({"coalition_id": cid, "member_id": member_id,
                             "name": f"Member {member_id}", "sector": rng.choice(present),
                             "organisation": rng.choice(WORDS).capitalize() + " org",
                             "brings": rng.choice(WORDS), "platform": "slack",
                             "joined_at": joined, "updated_at": joined})
        rows.sort(key=lambda r: r["joined_at"])  # ids follow joining, as in real use
        yield from _chunks("members", [{"id": i} | row for i, row in enumerate(rows, 1)])

    def _small(self) -> Iterator[Rows]:
        rng, texts = self._rng("small"), Texts(self._rng("small-texts"))
        per = {"resources": 15, "strengths": 8, "perspectives": 25, "problem_statements": 4}
        for table, n in per.items():
            rows = []
            for i, (cid, at) in enumerate(zip(self._picks(rng, n * len(self.coalitions)),
                                              self._times(rng, n * len(self.coalitions))), 1):
                row = {"id": i, "coalition_id": cid, "member_id": rng.choice(self.members[cid]), "created_at": at}
                if table == "resources":
                    row |= {"name": texts.title(), "kind": rng.choice(RESOURCE_KINDS),
                            "sector": rng.choice(SECTORS), "offer": texts.answer()}
                elif table == "strengths":
                    row |= {"success": texts.answer(), "why": texts.answer(), "enlarge": texts.answer(),
                            "challenge": texts.answer() if rng.random() < 0.5 else ""}
                elif table == "perspectives":
                    row |= {"voice": rng.choice(VOICES), "said": texts.answer(), "shows": texts.answer(),
                            "frame_id": None}
                else:
                    row |= {"statement": texts.title(), "cross_sector": rng.randint(1, 5),
                            "complex": rng.randint(1, 5), "not_solved": rng.randint(1, 5), "frame_id": None}
                rows.append(row)
            yield from _chunks(table, rows)

    def _experiments(self) -> Iterator[Rows]:
        rng, texts = self._rng("experiments"), Texts(self._rng("experiment-texts"))
        rows = []
        for e in sorted((e for es in self.experiments.values() for e in es), key=lambda e: e.id):
            members = self.members[e.coalition_id]
            rows.append({"id": e.id, "coalition_id": e.coalition_id, "member_id": rng.choice(members),
                         "created_at": e.created_at, "title": texts.title(), "action": texts.answer(),
                         "intended_effect": texts.answer(), "stakeholders": list(e.stakeholders),
                         "partners": texts.title(), "starts_on": e.starts_on, "ends_on": e.ends_on,
                         "measures": texts.answer(), "owner": rng.choice(members)})
        yield from _chunks("experiments", rows)

    def _experiment_at(self, rng: random.Random, cid: str, day: date) -> Experiment:
        """One running that day (or in the two weeks after its end), else the latest started."""
        experiments = self.experiments[cid]
        running = [e for e in experiments if e.starts_on <= day <= e.ends_on + timedelta(days=14)]
        if running:
            return rng.choice(running)
        started = bisect.bisect_right([e.starts_on for e in experiments], day)
        return experiments[max(0, started - 1)]

    def _checkins(self) -> Iterator[Rows]:
        rng, texts = self._rng("checkins"), Texts(self._rng("checkin-texts"))
        n, effect_id = self.size.checkins, itertools.count(1)
        times, picks = self._times(rng, n), self._picks(rng, n)
        decisions = rng.choices(DECISIONS, weights=DECISION_WEIGHTS, k=n)
        for start in range(0, n, BATCH):
            checkins, effects = [], []
            for i in range(start, min(n, start + BATCH)):
                cid, at = picks[i], times[i]
                experiment = self._experiment_at(rng, cid, at.date())
                checkins.append({
                    "id": i + 1, "coalition_id": cid, "member_id": rng.choice(self.members[cid]),
                    "created_at": at, "experiment_id": experiment.id,
                    "citizen_impact": rng.choices((1, 2, 3, 4, 5), weights=(1, 2, 4, 4, 2))[0],
                    "intended_seen": texts.answer(),
                    "unintended": texts.answer() if rng.random() < 0.4 else "",
                    "evidence": texts.answer(), "decision": decisions[i], "round_id": None,
                })
                for k in range(rng.randint(1, 3)):
                    effects.append({"id": next(effect_id), "checkin_id": i + 1, "rating": rng.randint(1, 5),
                                    "stakeholder": experiment.stakeholders[k % len(experiment.stakeholders)]})
            yield {"checkins": checkins, "checkin_effects": effects}

    def _reflections(self) -> Iterator[Rows]:
        rng, texts = self._rng("reflections"), Texts(self._rng("reflection-texts"))
        n = self.size.reflections
        times, picks = self._times(rng, n), self._picks(rng, n)
        principles = rng.choices(range(1, 8), weights=(5, 4, 4, 4, 3, 3, 2), k=n)
        for start in range(0, n, BATCH):
            yield {"reflections": [
                {"id": i + 1, "coalition_id": picks[i], "member_id": rng.choice(self.members[picks[i]]),
                 "created_at": times[i], "principle": principles[i], "text": texts.answer()}
                for i in range(start, min(n, start + BATCH))
            ]}

    def _stories(self) -> Iterator[Rows]:
        rng, texts = self._rng("stories"), Texts(self._rng("story-texts"))
        n = self.size.stories
        times, picks = self._times(rng, n), self._picks(rng, n)
        consents = rng.choices(CONSENTS, weights=CONSENT_WEIGHTS, k=n)
        for start in range(0, n, BATCH):
            stories, principles, sectors = [], [], []
            for i in range(start, min(n, start + BATCH)):
                at = times[i]
                withdrawn = None
                if rng.random() < 0.05:
                    withdrawn = at + (self.now - at) * rng.random()
                stories.append({
                    "id": i + 1, "coalition_id": picks[i], "member_id": rng.choice(self.members[picks[i]]),
                    "created_at": at, "title": texts.title(), "body": texts.body(), "consent": consents[i],
                    "anonymous": rng.random() < 0.2, "withdrawn_at": withdrawn,
                })
                principles += [{"story_id": i + 1, "principle": p} for p in rng.sample(range(1, 8), rng.randint(1, 3))]
                sectors += [{"story_id": i + 1, "sector": s} for s in rng.sample(SECTORS, rng.randint(1, 3))]
            yield {"stories": stories, "story_principles": principles, "story_sectors": sectors}


def _chunks(table: str, rows: list[dict[str, Any]]) -> Iterator[Rows]:
    for start in range(0, len(rows), BATCH):
        yield {table: rows[start:start + BATCH]}


TABLES = {model.__tablename__: model.__table__ for model in (
    Member, ResourceRow, StrengthRow, PerspectiveRow, ProblemStatementRow, ExperimentRow,
    CheckInRow, CheckInEffect, ReflectionRow, StoryRow, StoryPrinciple, StorySector)}
COPIED = {"checkins", "checkin_effects", "reflections", "stories", "story_principles", "story_sectors"}


async def _insert(connection: AsyncConnection, table: str, rows: list[dict[str, Any]], copy: bool) -> None:
    if not rows:
        return
    if copy and table in COPIED:
        # PostgreSQL: binary COPY through asyncpg, inside the same transaction (begun by SQLAlchemy).
        raw = (await connection.get_raw_connection()).driver_connection
        columns = list(rows[0])
        await raw.copy_records_to_table(table, records=[tuple(r[c] for c in columns) for r in rows],
                                        columns=columns)
    else:
        await connection.execute(TABLES[table].insert(), rows)  # Core executemany


async def generate(engine: AsyncEngine, movement: Movement, db: str, use_copy: bool) -> list[str]:
    """Load the movement, one transaction per group; ANALYZE. Returns the report lines."""
    lines, total_started, totals = [], time.perf_counter(), {}
    for label, batches in movement.groups():
        started, counts = time.perf_counter(), {}
        async with engine.begin() as connection:
            await connection.exec_driver_sql("SELECT 1")  # begin the transaction before any COPY
            for batch in batches():
                for table, rows in batch.items():
                    await _insert(connection, table, rows, use_copy and db == "postgres")
                    counts[table] = counts.get(table, 0) + len(rows)
        seconds = time.perf_counter() - started
        totals |= counts
        rows = sum(counts.values())
        lines.append(f"    {label:<56} {rows:>9,} rows {seconds:>6.1f} s  {rows / seconds:>9,.0f} rows/s")
        print(lines[-1], flush=True)
    started = time.perf_counter()
    if db == "postgres":
        async with engine.begin() as connection:
            for table in ID_TABLES:  # explicit ids: move the sequences on, for later inserts (--keep)
                await connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        # VACUUM, not only ANALYZE: otherwise autovacuum processes the fresh tables at some
        # moment during the measurement, and a live database has its visibility map set.
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql("VACUUM (ANALYZE)")
        maintenance = "VACUUM (ANALYZE)"
    else:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("ANALYZE")
        async with engine.connect() as connection:  # outside a transaction: the driver's own
            raw = (await connection.get_raw_connection()).driver_connection.raw  # storage.sqlite.Inline's
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
        maintenance = "ANALYZE + WAL checkpoint"
    lines.append(f"    {maintenance:<56} {'':>14} {time.perf_counter() - started:>6.1f} s")
    print(lines[-1], flush=True)
    total = sum(totals.values())
    lines.append(f"    {'total':<56} {total:>9,} rows {time.perf_counter() - total_started:>6.1f} s")
    print(lines[-1], flush=True)
    return lines


# ====================================================================== databases


@dataclass
class Created:
    """What the run created, for the clean-up (or for --keep)."""

    workdir: Path | None = None
    pg_admin: str | None = None
    pg_database: str | None = None
    urls: dict[str, str] = field(default_factory=dict)


async def create_database(db: str, args: argparse.Namespace, created: Created) -> str:
    """A fresh, migrated database; SQLite's file goes in `created.workdir` (a new temporary
    directory unless the caller made one: bench/dashboard.py keeps its app.yaml there)."""
    if db == "sqlite":
        if created.workdir is None:
            created.workdir = Path(tempfile.mkdtemp(prefix="cocreate-bench-digest-"))
        url = f"sqlite+aiosqlite:///{(created.workdir / 'cocreate.db').as_posix()}"
    else:
        admin = pg_admin_url(args)
        name = f"cocreate_bench_{secrets.token_hex(6)}"
        await run_admin(admin, f'CREATE DATABASE "{name}"')
        created.pg_admin, created.pg_database = admin, name
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    created.urls[db] = url
    try:
        await migrate.upgrade(url)
    except Exception as error:
        raise SetupError(f"migrating the {db} database failed: {error!r}") from error
    return url


def clean_up(created: Created, keep: bool) -> None:
    if keep:
        for db, url in created.urls.items():
            print(f"kept {db}: {url}")
        return
    if created.pg_database:
        try:
            asyncio.run(run_admin(created.pg_admin, f'DROP DATABASE IF EXISTS "{created.pg_database}" WITH (FORCE)'))
        except Exception as error:  # noqa: BLE001 - report, and still remove the SQLite file
            print(f"bench: could not drop PostgreSQL database {created.pg_database}: {error!r}", file=sys.stderr)
    if created.workdir:
        shutil.rmtree(created.workdir, ignore_errors=True)


async def server_facts(engine: AsyncEngine) -> str:
    async with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            size = sum(p.stat().st_size for p in Path(engine.url.database).parent.glob("cocreate.db*"))
            return f"SQLite {sqlite3.sqlite_version}, file {size / 2**20:,.0f} MB"
        rows = (await connection.exec_driver_sql(
            "SELECT current_setting('server_version'), current_setting('shared_buffers'), "
            "current_setting('work_mem'), current_setting('jit'), "
            "current_setting('max_parallel_workers_per_gather'), "
            "pg_size_pretty(pg_database_size(current_database()))")).one()
        return (f"PostgreSQL {rows[0]} on {engine.url.host}:{engine.url.port}, shared_buffers {rows[1]}, "
                f"work_mem {rows[2]}, jit {rows[3]}, max_parallel_workers_per_gather {rows[4]}, "
                f"database {rows[5]}")


# ====================================================================== measuring


@dataclass
class Measured:
    label: str
    times: list[float]  # seconds
    peak: float  # bytes, tracemalloc peak of one extra run
    floor_ratio: bool = False  # print "x floor" for this row
    warned: Counter = field(default_factory=Counter)  # warnings raised while measuring, counted

    @property
    def median_ms(self) -> float:
        return 1000 * statistics.median(self.times)

    @property
    def max_ms(self) -> float:
        return 1000 * max(self.times)


async def _call(fn: Callable[[], Any]) -> Any:
    result = fn()
    return await result if inspect.isawaitable(result) else result


async def measure(label: str, fn: Callable[[], Any], runs: int, warmup: int,
                  floor_ratio: bool = False) -> tuple[Measured, Any]:
    """`warmup` untimed runs, `runs` timed runs, then one run under tracemalloc (slower, untimed).

    Warnings are collected and counted (reported under the table), not printed as they come."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(warmup):
            result = await _call(fn)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            result = await _call(fn)
            times.append(time.perf_counter() - started)
        gc.collect()
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            await _call(fn)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    warned = Counter(f"{w.category.__name__}: {w.message} ({Path(w.filename).name}:{w.lineno})" for w in caught)
    return Measured(label, times, peak, floor_ratio, warned), result


def renderers() -> dict[str, Callable[..., Any]]:
    """The report renderers of adapters/report, by format (json.py or jsonout.py, ...)."""
    modules = {"md": ("markdown",), "html": ("html",), "json": ("json", "jsonout"), "csv": ("csv", "csvout")}
    found, missing = {}, []
    for fmt, names in modules.items():
        for name in names:
            try:
                module = importlib.import_module(f"adapters.report.{name}")
            except ModuleNotFoundError as error:
                if error.name not in (f"adapters.report.{name}", "adapters.report"):
                    raise  # the renderer exists but one of its imports does not
                continue
            if callable(getattr(module, "render", None)):
                found[fmt] = module.render
                break
        else:
            missing.append(f"adapters/report/{'|'.join(n + '.py' for n in names)}")
    if missing:
        raise DigestMissing("report renderers not in the tree yet: " + ", ".join(missing))
    return found


def check_api() -> None:
    """A clear error while the feature being measured is not in the tree yet."""
    from storage.repository import SqlUnit

    missing = [f"storage.repository.{cls.__name__}.digest" for cls in (SqlStore, SqlUnit)
               if not callable(getattr(cls, "digest", None))]
    if missing:
        raise DigestMissing("the digest API is not in the tree yet: " + ", ".join(missing))
    renderers()


class QueryLog:
    """Every statement one digest run sends, with its time (cursor execute, rows fetched)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine, self.statements = engine.sync_engine, []

    def __enter__(self) -> QueryLog:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        started = conn.info["bench_started"].pop()
        self.statements.append((time.perf_counter() - started, statement, parameters))


async def where_time_goes(engine: AsyncEngine, label: str, fn: Callable[[], Awaitable[Any]]) -> list[str]:
    """One more run of `fn` with every statement timed: the slowest five, and the plan of the slowest."""
    with QueryLog(engine) as log:
        started = time.perf_counter()
        await fn()
        wall = time.perf_counter() - started
    in_sql = sum(s for s, _, _ in log.statements)
    notes = [f"where the time goes, one instrumented run of the {label}: {1000 * wall:.0f} ms, "
             f"{len(log.statements)} statements taking {1000 * in_sql:.0f} ms (execute + fetch), "
             f"{1000 * (wall - in_sql):.0f} ms in Python"]
    slowest = sorted(log.statements, key=lambda s: -s[0])
    for seconds, statement, _ in slowest[:5]:
        notes.append(f"  {1000 * seconds:>8.1f} ms  {_one_line(statement)}")
    if slowest and slowest[0][1].lstrip().upper().startswith(("SELECT", "WITH")):
        kind = "EXPLAIN (ANALYZE, BUFFERS)" if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN"
        try:
            plan = await explain(engine, slowest[0][1], slowest[0][2])
            notes.append(f"  the slowest, {kind}:")
            notes += [f"      {line}" for line in plan[:24]]
        except Exception as error:  # noqa: BLE001 - optional detail
            notes.append(f"  the slowest: no {kind} ({error!r})")
    return notes


def _one_line(statement: str, head: int = 100, tail: int = 50) -> str:
    """The statement on one line: its start and its end (GROUP BY / ORDER BY tell queries apart)."""
    text = re.sub(r"\s+", " ", statement).strip()
    text = re.sub(r"(\$\d+::\w+|\?)(, (\$\d+::\w+|\?))+", "...", text)  # long IN (...) lists
    return text if len(text) <= head + tail + 5 else f"{text[:head]} ... {text[-tail:]}"


async def explain(engine: AsyncEngine, statement: str, parameters: Any) -> list[str]:
    """PostgreSQL: EXPLAIN (ANALYZE, BUFFERS) summaries, with the plan made for these parameter
    values (custom) and the generic one; SQLite: EXPLAIN QUERY PLAN."""
    async with engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        if engine.dialect.name == "postgresql":
            # EXPLAIN of a parameterised statement always plans it for the values given (a
            # custom plan); EXPLAIN EXECUTE of a prepared one can show the generic plan too.
            # EXECUTE takes no bind parameters: the values go in as literals.
            name = f"bench_explain_{secrets.token_hex(4)}"
            values = ", ".join(_literal(v) for v in parameters or ())
            lines = []
            await raw.execute(f"PREPARE {name} AS {statement}")
            try:
                async with raw.transaction():  # SET LOCAL ends with it
                    for mode in ("custom", "generic"):
                        await raw.execute(f"SET LOCAL plan_cache_mode = force_{mode}_plan")
                        rows = await raw.fetch(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE {name}"
                                               + (f"({values})" if values else ""))
                        lines.append(f"{mode} plan:")
                        lines += [f"  {line}" for line in _plan_summary([r[0] for r in rows])]
            finally:
                await raw.execute(f"DEALLOCATE {name}")
            return lines
        # SQLite runs on the loop's thread (storage.sqlite.Inline): its sqlite3 connection, directly.
        rows = raw.raw.execute("EXPLAIN QUERY PLAN " + statement, tuple(parameters or ())).fetchall()
        depth = {0: -1}
        lines = []
        for node, parent, _, detail in rows:
            depth[node] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node] + detail)
        return lines


def _literal(value: Any) -> str:
    """A bind parameter as a PostgreSQL literal (the prepared statement's casts type it)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (datetime, date)):
        return f"'{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def _plan_summary(plan: list[str]) -> list[str]:
    """The top node, its buffers, planning and execution time, and the three costliest nodes."""
    def total(line: str) -> float:
        timing = re.search(r"actual time=[\d.]+\.\.([\d.]+)", line)
        loops = re.search(r"loops=(\d+)", line)
        return float(timing.group(1)) * int(loops.group(1)) if timing and loops else 0.0

    keep = [plan[0]] + [line.strip() for line in plan[1:] if "Buffers:" in line][:1]
    keep += [line.strip() for line in plan if line.lstrip().startswith(("Planning Time", "Execution Time"))]
    keep += [f"JIT {line.strip()}" for line in plan if line.lstrip().startswith("Timing: Generation")]
    slow = sorted((line for line in plan[1:] if "actual time=" in line), key=total, reverse=True)
    return keep + [f"  {line.strip()}" for line in slow[:3]]


@dataclass
class ScopeResult:
    name: str
    header: str
    rows: list[Measured]
    in_chat: Measured | None
    notes: list[str]


async def run_scope(store: SqlStore, movement: Movement, name: str, scope: Scope,
                    args: argparse.Namespace, api: bool) -> ScopeResult:
    runs, warmup = args.runs, args.warmup
    engine = store.engine
    principles = [(p["number"], p["title"]) for p in PRINCIPLES]

    async def floor() -> tuple[int, ...]:
        async with engine.connect() as connection:
            counts = []
            for model in BIG_TABLES:
                t: Any = model
                counts.append(await connection.scalar(
                    select(func.count()).select_from(t).where(
                        t.coalition_id.in_(scope.coalitions),
                        t.created_at >= scope.since, t.created_at < scope.until)))
            return tuple(counts)

    print(f"  {name}: floor...", flush=True)
    floor_m, counts = await measure("floor: COUNT(*) of the period's stories, check-ins, reflections", floor, runs, warmup)
    header = (f"{scope.since:%Y-%m-%d} .. {scope.until:%Y-%m-%d %H:%M} UTC: {counts[0]:,} stories, "
              f"{counts[1]:,} check-ins, {counts[2]:,} reflections in the period")
    rows, notes = [floor_m], []
    if not api:
        return ScopeResult(name, header, rows, None, notes)

    render = renderers()
    names = dict(movement.names)

    async def report_digest():
        return await store.digest(scope, principles, movement.wanted, movement.today)

    chat_scope = replace(scope, new_only=True)

    async def chat_digest():
        async with store.unit() as unit:
            return await unit.digest(chat_scope, principles, movement.wanted, movement.today)

    print(f"  {name}: digest...", flush=True)
    digest_m, digest = await measure("digest (store.digest, whole period)", report_digest, runs, warmup, True)
    rows.append(digest_m)
    sizes = {}
    for fmt in FORMATS:
        print(f"  {name}: render {fmt}...", flush=True)
        m, out = await measure(f"  render {fmt}", lambda fmt=fmt: render[fmt](digest, names, MOVEMENT_NAME, TEXTS), runs, warmup)
        rows.append(m)
        sizes[fmt] = _size(out)

    async def in_chat():
        d = await chat_digest()
        return d, await _call(lambda: render["md"](d, names, MOVEMENT_NAME, TEXTS))

    print(f"  {name}: in-chat...", flush=True)
    await mark_shown(store, chat_scope, movement.now)
    chat_m, (chat, chat_md) = await measure("in-chat: unit.digest (new since 30 days ago) + markdown", in_chat,
                                            runs, warmup, True)
    rows.append(chat_m)

    notes.append("digest holds: " + _contents(digest))
    notes.append("in-chat digest holds: " + _contents(chat) + f"; markdown {_size(chat_md)}")
    notes.append("output: " + ", ".join(f"{fmt} {text}" for fmt, text in sizes.items()))

    # Where the time goes: one more run of each digest with every statement timed.
    notes += await where_time_goes(engine, "digest (store.digest)", report_digest)
    notes += await where_time_goes(engine, "in-chat digest (unit.digest, new since 30 days ago)", chat_digest)
    return ScopeResult(name, header, rows, chat_m, notes)


# Record kinds an audience's digest marks cover, and when each row counts as new.
MARKED = {"members": (Member, "joined_at"), "resources": (ResourceRow, "created_at"),
          "strengths": (StrengthRow, "created_at"), "perspectives": (PerspectiveRow, "created_at"),
          "problem_statements": (ProblemStatementRow, "created_at"),
          "experiments": (ExperimentRow, "created_at"), "checkins": (CheckInRow, "created_at"),
          "reflections": (ReflectionRow, "created_at"), "stories": (StoryRow, "created_at")}


async def mark_shown(store: SqlStore, scope: Scope, now: datetime) -> None:
    """Save the audience's marks as a digest shown at the start of the period would have left
    them (the highest id of each kind created before it), as the chat flow saves them
    (`DigestShown`). A chat digest then shows the whole period, new since that digest: the
    usual monthly case, with the mark bounds the digest's queries carry once marks exist."""
    from bot.records import DigestShown

    marks = {}
    async with store.engine.connect() as connection:
        for kind, (model, column) in MARKED.items():
            t: Any = model
            marks[kind] = await connection.scalar(
                select(func.coalesce(func.max(t.id), 0)).where(
                    t.coalition_id.in_(scope.coalitions), getattr(t, column) < scope.since)) or 0
    async with store.unit() as unit:
        await unit.add([DigestShown(scope.key, marks)], now)


def _contents(d: Any) -> str:
    return ", ".join(f"{n:,} {what}" for n, what in (
        (len(d.stories), "stories"), (len(d.experiments), "experiments"),
        (len(d.mobilisation), "coalitions' mobilisation"), (len(d.strengths), "strengths"),
        (d.participation.answers, "answers"), (d.participation.active_members, "active members")))


def _size(out: Any) -> str:
    if isinstance(out, dict):  # CSV: file name -> text
        total = sum(len(v.encode() if isinstance(v, str) else v) for v in out.values())
        return f"{total / 1024:,.0f} kB in {len(out)} files"
    if isinstance(out, str):
        out = out.encode()
    if isinstance(out, (bytes, bytearray)):
        return f"{len(out) / 1024:,.0f} kB"
    return type(out).__name__


@dataclass
class DatabaseResult:
    db: str
    facts: str
    generation: list[str]
    scopes: list[ScopeResult]
    rss_generation: float | None  # MB, VmHWM while creating and loading the database
    rss_measurement: float | None  # MB, VmHWM during the measurements (reset in between)


async def run_database(db: str, args: argparse.Namespace, movement: Movement, created: Created,
                       api: bool) -> DatabaseResult:
    print(f"\n{db}: creating and migrating a fresh database...", flush=True)
    gc.collect()
    reset_peak_rss()  # the previous database's measurements are not this one's generation
    url = await create_database(db, args, created)
    engine = create_engine(url)
    store = SqlStore(engine)
    try:
        print(f"{db}: generating the movement (not measured):", flush=True)
        generation = await generate(engine, movement, db, use_copy=not args.no_copy)
        facts = await server_facts(engine)
        rss_generation = status_mb("VmHWM")
        gc.collect()
        reset = reset_peak_rss()
        until = movement.now
        since = until - timedelta(days=DAYS)
        scopes = [
            ("movement-wide", Scope(Audience.MOVEMENT, tuple(movement.coalitions), since, until)),
            ("one coalition", Scope(Audience.COALITION, (movement.busiest,), since, until)),
        ]
        results = []
        for name, scope in scopes:
            results.append(await run_scope(store, movement, name, scope, args, api))
        return DatabaseResult(db, facts, generation, results, rss_generation, status_mb("VmHWM") if reset else None)
    finally:
        await store.close()


# ====================================================================== report


def print_report(args: argparse.Namespace, movement: Movement, results: list[DatabaseResult],
                 api_error: str | None) -> None:
    s = movement.size
    print()
    print(f"Digest: {DAYS}-day digests over a movement of {s.coalitions} coalitions "
          f"({sum(map(len, movement.members.values())):,} members, {s.coalitions * s.experiments} experiments, "
          f"{s.stories:,} stories, {s.checkins:,} check-ins, {s.reflections:,} reflections over {YEAR} days)")
    print(f"  machine: nproc={os.cpu_count()} (usable {len(os.sched_getaffinity(0))}), "
          f"Python {platform.python_version()}, {platform.platform()}, "
          f"load avg before report {os.getloadavg()[0]:.2f}")
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in ("SQLAlchemy", "aiosqlite", "asyncpg"))
    print(f"  {versions}; {args.runs} timed runs after {args.warmup} warm-up runs per measurement; "
          f"seed {SEED}{'; --quick' if args.quick else ''}")
    if args.warmup >= PG_GENERIC_AFTER:
        print(f"  PostgreSQL may run a prepared statement with a generic plan from its {PG_GENERIC_AFTER + 1}th "
              "execution on: the timed runs are")
        print("  a long-running server's steady state (--warmup 1: a fresh connection's custom plans).")
    print("  NOTE: one noisy 2-core machine, PostgreSQL on the same CPUs as the benchmark, caches warm")
    print("        (the data was just written): compare each digest with its floor in the same run,")
    print("        not these numbers with other machines'.")
    print("  peak MB: tracemalloc peak (Python allocations) of one extra, untimed run of that measurement.")
    print(f"  one coalition = {movement.busiest} ({movement.names[movement.busiest]}), the busiest: "
          f"{100 * movement.share(movement.busiest):.1f}% of the movement's activity")

    verdicts = []
    for r in results:
        print(f"\n{r.db}: {r.facts}")
        print("  generated in (not measured):")
        print("\n".join(r.generation))
        for sr in r.scopes:
            print(f"\n{r.db}, {sr.name} ({sr.header})")
            floor = sr.rows[0].median_ms
            head = f"  {'measurement':<64} {'median ms':>10} {'max ms':>9} {'peak MB':>8} {'x floor':>8}"
            print(head)
            print("  " + "-" * (len(head) - 2))
            for m in sr.rows:
                ratio = f"{m.median_ms / floor:>8.1f}" if m.floor_ratio and floor > 0 else f"{'':>8}"
                print(f"  {m.label:<64} {m.median_ms:>10.1f} {m.max_ms:>9.1f} {m.peak / 2**20:>8.2f} {ratio}")
            for m in sr.rows:
                for text, n in m.warned.most_common():
                    print(f"  WARNING during {m.label.strip()}: {n} x {text}")
            for note in sr.notes:
                print(f"  {note}")
            if sr.in_chat:
                verdicts.append((r.db, sr.name, sr.in_chat))
        if r.rss_measurement is not None:
            print(f"\n  {r.db}: peak RSS {r.rss_measurement:,.0f} MB during the measurements, "
                  f"{r.rss_generation:,.0f} MB while generating (VmHWM, reset in between)")

    # ru_maxrss follows the resets above (Linux resets both high-water marks): take the max of all.
    peaks = [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]  # Linux: KiB
    peaks += [p for r in results for p in (r.rss_generation, r.rss_measurement) if p is not None]
    print(f"\nProcess max RSS over the whole run: {max(peaks):,.0f} MB (getrusage and VmHWM, "
          "data generation included)")
    print(f"\nAim: in-chat digest < {AIM_MS:.0f} ms on either database")
    if api_error:
        print(f"  NOT MEASURED: {api_error}")
    for db, scope, m in verdicts:
        verdict = "MET" if m.median_ms < AIM_MS else "MISSED"
        print(f"  {db:<8} {scope:<14} {verdict}: median {m.median_ms:,.1f} ms, max {m.max_ms:,.1f} ms "
              f"({'every run' if m.max_ms < AIM_MS else 'not every run'} under {AIM_MS:.0f} ms)")


# ====================================================================== main


def dataset_options(parser: argparse.ArgumentParser, *, runs: int, what: str, keep: str) -> None:
    """The options of every benchmark on this dataset (this one and bench/dashboard.py)."""
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 10x fewer stories, check-ins and reflections")
    parser.add_argument("--only", choices=DATABASES, help="one database (default: both)")
    parser.add_argument("--keep", action="store_true", help=f"keep {keep} instead of removing them")
    parser.add_argument("--runs", type=int, default=runs, help=f"timed {what} (default {runs})")
    parser.add_argument("--warmup", type=int, default=PG_GENERIC_AFTER,
                        help=f"untimed {what.split()[0]} before them (default {PG_GENERIC_AFTER}: after that many "
                             "executions PostgreSQL may switch a prepared statement to a generic plan)")
    parser.add_argument("--postgres-url", metavar="URL",
                        help="a PostgreSQL database with rights to create databases (default: "
                             f"${PG_URL_ENV[0]}, ${PG_URL_ENV[1]} or {DEFAULT_PG_ADMIN_URL})")
    parser.add_argument("--no-copy", action="store_true",
                        help="PostgreSQL: load with executemany like SQLite instead of COPY (slower)")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    dataset_options(parser, runs=5, what="runs per measurement",
                    keep="the generated databases (and print their URLs)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 1:
        parser.error("--runs and --warmup must be positive")
    return args



async def check_postgres(args: argparse.Namespace) -> None:
    """A SetupError unless the PostgreSQL server (`pg_admin_url(args)`) answers."""
    admin = pg_admin_url(args)
    try:
        await run_admin(admin, "SELECT 1")
    except Exception as error:  # noqa: BLE001 - refused, timeout, auth: all mean no server
        raise SetupError(f"PostgreSQL unreachable at {make_url(admin)!r}: {error!r} "
                         "(use --only sqlite, --postgres-url or $" + PG_URL_ENV[0] + ")") from error


def new_movement(quick: bool) -> Movement:
    """The movement to generate: full size, or --quick's."""
    size = Size().quick() if quick else Size()
    # Midnight UTC: the same rows, relative to it, whenever the benchmark runs.
    midnight = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return Movement(size, midnight)


async def run(args: argparse.Namespace, created: Created) -> tuple[Movement, list[DatabaseResult], str | None]:
    databases = [args.only] if args.only else list(DATABASES)
    if "postgres" in databases:
        await check_postgres(args)
    api_error = None
    try:
        check_api()
    except DigestMissing as error:
        api_error = str(error)
        print(f"bench: {api_error}; generating the data and measuring the floor only", file=sys.stderr)
    movement = new_movement(args.quick)
    results = []
    for db in databases:
        results.append(await run_database(db, args, movement, created, api_error is None))
    return movement, results, api_error


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    signal.signal(signal.SIGTERM, interrupted_on_sigterm)
    created = Created()
    started = time.monotonic()
    try:
        movement, results, api_error = asyncio.run(run(args, created))
        print(f"\nfinished in {time.monotonic() - started:.0f} s", flush=True)
        print_report(args, movement, results, api_error)
        if api_error:
            print(f"\nbench: {api_error}", file=sys.stderr)
            return 2
        return 0
    except SetupError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nbench: interrupted; removing the generated databases", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip the clean-up
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        clean_up(created, args.keep)


if __name__ == "__main__":
    sys.exit(main())
