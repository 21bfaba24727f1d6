"""How long does `cocreate serve` take to start, and how much memory does it hold, with
10,000 members in app.yaml and in the database?

The aim (issue): with 10,000 members in app.yaml and the database, start to healthy under
2 s and resident memory under 200 MB.

Generates, in a temporary directory, an app.yaml of --members members (50 coalitions, each
member with a Slack and a Teams id, a few schedules) and a migrated database holding the
same members: their profiles (the `members` table), a Slack and a Teams conversation
reference each, their time zones and locales, the schedules' marks and a few leaders'
schedule changes. Then starts the real `cocreate serve --host 127.0.0.1 --port 0` --runs
times per case and measures, from the spawn:

- start -> healthy: until `GET /healthz` answers 200; start -> ready: `GET /readyz` 200;
- the server's CPU time until healthy, and during the idle seconds that follow;
- resident memory (VmRSS of /proc/<pid>/status) at healthy and after --idle seconds (the
  scheduler's first tick and the delivery loop having run), and the peak (VmHWM).

Side by side in the same run, the baselines: the same server on the small
tests/data/app.yaml movement and an empty migrated database (the ratio shows what the
members add), and a bare interpreter importing the modules the server imports (what no
configuration or database costs). Each case runs with only the web chat on, and with Slack
and Teams on as well (settings that point at nothing: neither connects at start). The
runs are interleaved, so the cases share the machine's moments.

Then (unless --no-where) where the time and memory go: one more start in-process with its
phases timed (imports, load_config, open_engine, the server), load_config alone (cold and warm
parse cache; what the Config holds), the imports stage by stage (time and RSS each), and
one start under tracemalloc (what the server holds beyond its imports and config).

    .venv/bin/python bench/startup.py            # 10,000 members, 5 starts per case (~3 minutes)
    .venv/bin/python bench/startup.py --quick    # smoke run: 1,000 members, 2 starts per case (~1 minute)
    .venv/bin/python bench/startup.py --db postgres --platforms web   # PostgreSQL; only the web chat on
    .venv/bin/python bench/startup.py --cold-cache   # every start parses app.yaml (its parse cache emptied first)

See bench/README.md for how to read the output. Exit status: 0 when every start was
measured (whether or not the aim was met), 2 on a setup error (a server did not start or
become healthy, a migration failed, PostgreSQL unreachable), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import importlib.metadata
import json
import os
import platform
import random
import shutil
import signal
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import SetupError, interrupted_on_sigterm  # noqa: E402
from bench.processes import Child, die_with_parent, start_child, stop_children  # noqa: E402

SMALL_APP_YAML = ROOT / "tests" / "data" / "app.yaml"
HEALTHY_AIM_S = 2.0
RSS_AIM_MB = 200.0
READY_LINE = "cocreate: listening on port"
SEED = 20261202

# What `cocreate serve` imports (bot/cli.py, bot/serve.py and what they import when serving; Slack's
# and Teams' adapters too, with or without them: bot/serve.py `_senders`), for the bare
# interpreter's case; the analysis checks the list against the server's own modules.
IMPORTS = ("bot.cli", "bot.serve", "flows.registry", "flows.prompts", "storage.repository", "storage.migrate",
           "storage.web", "storage.leader", "adapters.server", "adapters.web.app", "adapters.slack.app",
           "adapters.slack.sender", "adapters.teams.app", "adapters.teams.sender", "apscheduler.executors.asyncio")
IMPORTS_DB = {"sqlite": ("sqlalchemy.dialects.sqlite.aiosqlite", "aiosqlite"),
              "postgres": ("sqlalchemy.dialects.postgresql.asyncpg", "asyncpg")}

# Slack and Teams on, pointing at nothing: single-workspace Slack (its Web API at a port nobody
# listens on) and authenticated Teams. Neither calls out at start (checked by hand with
# `strace -f -e trace=connect`: no connect() until shut down; and the servers log no error);
# the first call would come with the first message to send.
PLATFORM_ENV = {"SLACK_BOT_TOKEN": "xoxb-bench-startup", "SLACK_SIGNING_SECRET": "bench-startup-secret",
                "MICROSOFT_APP_ID": "00000000-0000-4000-8000-00000000b0b0",
                "MICROSOFT_APP_PASSWORD": "bench-startup-password"}

STATUS_KEYS = ("VmRSS", "VmHWM", "RssAnon", "RssFile")


# ====================================================================== the movement


@dataclass
class Movement:
    """The generated movement: app.yaml's text and the rows the database gets."""

    members: int
    coalitions: int
    yaml: str
    memberships: list[tuple[str, str]]  # (coalition id, member id)
    people: dict[str, dict[str, str]]  # member id -> name, slack, teams, dm, chat, zone, locale, ...
    channels: dict[str, tuple[str, str]]  # coalition id -> (slack channel, teams channel)
    schedules: list[str]
    overrides: list[tuple[str, str, bool | None, str | None]]  # (schedule, coalition, paused, time)


FIRST = ("Anna", "Mads", "Sofie", "Jonas", "Amina", "Lars", "Ida", "Omar", "Freja", "Erik", "Nora", "Ali",
         "Maja", "Emil", "Laura", "Kasper", "Sara", "Noah", "Clara", "Victor")
LAST = ("Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen", "Rasmussen",
        "Hassan", "Holm", "Birk", "Dahl", "Lund", "Winther", "Kaya", "Møller", "Kristensen", "Madsen", "Olsen")
SECTORS = ("public", "business", "civil_society", "education", "citizen")
TOPICS = ("Young people on their way in", "Less lonely", "Healthy everyday life", "Green neighbourhoods",
          "Safe streets", "Jobs for newcomers", "Housing for all", "Families that thrive", "Learning outside school",
          "Culture for everyone")
ZONES = (("Europe/Copenhagen", 85), ("Europe/London", 5), ("Europe/Berlin", 5), ("America/New_York", 3),
         ("Asia/Kolkata", 2))
SCHEDULE_KINDS = (("principle-of-the-week", "principle", "09:00", None), ("story-invitation", "story", "10:00", "month"),
                  ("impact-checkin", "checkin", "10:00", "2 weeks"), ("leaders-digest", "digest", "14:00", None))


def _code(rng: random.Random, n: int, alphabet: str = string.ascii_uppercase + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def generate_movement(members: int, coalitions: int, seed: int = SEED) -> Movement:
    """`members` members over `coalitions` coalitions (two leaders each; every 20th member is
    in the next coalition too), each with a Slack and a Teams id; two coordinators; four
    schedules on the weekday three days from today (so no occurrence falls during the runs:
    each start plans, and finds nothing due)."""
    rng = random.Random(seed)
    b64 = string.ascii_letters + string.digits + "-_"
    ids = [f"m{i:05d}" for i in range(1, members + 1)]
    people: dict[str, dict[str, str]] = {}
    zones, weights = zip(*ZONES)
    for i, member in enumerate(ids):
        people[member] = {
            "name": f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]} {i + 1}",
            "slack": "U" + _code(rng, 10), "dm": "D" + _code(rng, 10),
            "teams": "29:1" + _code(rng, 42, b64), "chat": "a:1" + _code(rng, 84, b64),
            "aad": f"{_code(rng, 8, '0123456789abcdef')}-0000-4000-8000-{_code(rng, 12, '0123456789abcdef')}",
            "zone": rng.choices(zones, weights)[0], "locale": rng.choice(("da-DK", "da-DK", "en-GB", "en-US")),
            "sector": rng.choice(SECTORS), "platform": rng.choice(("slack", "teams")),
        }
    per = max(1, members // coalitions)
    coalition_ids = [f"c{c + 1:02d}" for c in range(coalitions)]
    lists: dict[str, list[str]] = {c: [] for c in coalition_ids}
    for i, member in enumerate(ids):
        lists[coalition_ids[min(i // per, coalitions - 1)]].append(member)
    for i, member in enumerate(ids):
        if i % 20 == 7 and coalitions > 1:  # some people are in two coalitions
            home = min(i // per, coalitions - 1)
            lists[coalition_ids[(home + 1) % coalitions]].append(member)
    memberships = [(c, m) for c in coalition_ids for m in lists[c]]
    channels = {c: ("C" + _code(rng, 10), f"19:{_code(rng, 32, '0123456789abcdef')}@thread.tacv2")
                for c in coalition_ids}

    today = datetime.now(ZoneInfo("Europe/Copenhagen")).date()
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[(today.weekday() + 3) % 7]
    out = ["# Generated by bench/startup.py: a large movement for the start-up benchmark.",
           "movement:", "  name: Bench Startup Movement", "  language: en", "  timezone: Europe/Copenhagen",
           f"  coordinators: [{ids[0]}, {ids[min(1, len(ids) - 1)]}]", "members:"]
    for member in ids:
        p = people[member]
        out += [f"  - id: {member}", f"    name: {p['name']}",
                f"    platforms: {{slack: {p['slack']}, teams: \"{p['teams']}\"}}"]
    out.append("coalitions:")
    for n, c in enumerate(coalition_ids):
        leaders, rest = lists[c][:2], lists[c][2:]
        out += [f"  - id: {c}", f"    name: {TOPICS[n % len(TOPICS)]} {n + 1}",
                f"    challenge: >", f"      How can the {len(lists[c])} of us, across sectors, make "
                f"'{TOPICS[n % len(TOPICS)].lower()}' real in district {n + 1}?",
                f"    wanted_sectors: [{', '.join(SECTORS)}]", f"    leaders: [{', '.join(leaders)}]"]
        if rest:
            out.append("    members: [")
            for start in range(0, len(rest), 12):
                out.append("      " + ", ".join(rest[start:start + 12]) + ",")
            out[-1] = out[-1].rstrip(",")
            out.append("    ]")
        out.append(f"    channels: {{slack: {channels[c][0]}, teams: \"{channels[c][1]}\"}}")
    out.append("schedules:")
    for sid, kind, at, every in SCHEDULE_KINDS:
        out += [f"  - id: {sid}", f"    kind: {kind}", f"    days: [{day}]", f"    time: \"{at}\""]
        if every:
            out.append(f"    every: {every}")
    overrides = [("principle-of-the-week", coalition_ids[0], True, None),
                 ("story-invitation", coalition_ids[min(1, coalitions - 1)], None, "11:30"),
                 ("leaders-digest", coalition_ids[min(2, coalitions - 1)], None, "15:00")]
    return Movement(members, coalitions, "\n".join(out) + "\n", memberships, people, channels,
                    [s[0] for s in SCHEDULE_KINDS], overrides)


SLACK_TEAM = "T0BENCH001"
TEAMS_TENANT = "7b1c2d3e-0000-4000-8000-00000000beef"
SERVICE_URL = "https://smba.trafficmanager.net/emea/"
BOT_ID = "28:00000000-0000-4000-8000-00000000b0b0"


def reference_rows(movement: Movement, now: datetime) -> list[dict[str, Any]]:
    """Each member's Slack DM and Teams 1:1 chat, as `SqlUnit.save_reference` writes them
    (the address, then `fresh`), with the `extra` the adapters keep (adapters/slack/events.py
    `conversation`, adapters/teams/events.py `reference`)."""
    rows = []
    for member, p in movement.people.items():
        fresh = {"member_id": member, "thread": None, "kind": "personal", "updated_at": now,
                 "unreachable_reason": None, "unreachable_at": None}
        rows.append({"platform": "slack", "tenant": SLACK_TEAM, "conversation": p["slack"], "user": p["slack"],
                     **fresh, "data": {"channel": p["dm"], "name": p["name"]}})
        rows.append({"platform": "teams", "tenant": TEAMS_TENANT, "conversation": p["chat"], "user": p["teams"],
                     **fresh, "data": {"service_url": SERVICE_URL, "bot_id": BOT_ID, "bot_name": "Cocreate",
                                       "kind": "personal", "name": p["name"], "locale": p["locale"],
                                       "aad_id": p["aad"]}})
    return rows


async def fill_database(url: str, movement: Movement) -> dict[str, Any]:
    """The movement's rows in the (migrated) database at `url`. The bulk goes in with SQLAlchemy
    Core executemany in batches of 5,000: the rows the store's own methods write, about 1 s for
    10,000 members, where the store's methods took ~30 s in one unit (`unit.add` of the profiles
    0.7 ms each, `unit.save_reference` 1.2 ms each; ~50 s as a transaction each). The leaders'
    schedule changes go through the store (`unit.add`). Then a few rows are read back through
    the store, to check it reads what was written. Returns counts and timings."""
    from storage.db import create_engine
    from storage.models import ConversationRefRow, Member, MemberLanguage, MemberZone, ScheduleMark
    from storage.repository import SqlStore
    from bot.records import ScheduleChanged

    now = datetime.now(timezone.utc)
    joined = now - timedelta(days=90)
    engine = create_engine(url)
    store = SqlStore(engine)
    counts: dict[str, int] = {}
    started = time.perf_counter()
    try:
        tables = {
            Member: [{"coalition_id": c, "member_id": m, "name": movement.people[m]["name"],
                      "sector": movement.people[m]["sector"], "organisation": f"Organisation {m[1:]}",
                      "brings": "Time, a meeting room and contacts in the neighbourhood.",
                      "platform": movement.people[m]["platform"], "joined_at": joined, "updated_at": joined}
                     for c, m in movement.memberships],
            ConversationRefRow: reference_rows(movement, now),
            MemberZone: [{"member_id": m, "timezone": p["zone"], "source": p["platform"], "updated_at": now}
                         for m, p in movement.people.items()],
            MemberLanguage: [{"member_id": m, "chosen": "da" if i % 10 == 3 else None, "locale": p["locale"],
                              "updated_at": now} for i, (m, p) in enumerate(movement.people.items())],
            # Planned up to now: each start plans from here (a restart), not from scratch.
            ScheduleMark: [{"name": f"schedule:{s}", "planned_until": now} for s in movement.schedules],
        }
        async with engine.begin() as connection:
            for model, rows in tables.items():
                for start in range(0, len(rows), 5000):
                    await connection.execute(model.__table__.insert(), rows[start:start + 5000])
                counts[model.__tablename__] = len(rows)
        async with store.unit() as unit:
            leader = {c: m for c, m in reversed(movement.memberships)}  # each coalition's first: a leader
            await unit.add([ScheduleChanged(s, c, leader[c], paused, at) for s, c, paused, at in movement.overrides],
                           now)
            counts["schedule_overrides"] = len(await unit.overrides())
        # Read back through the store: the rows are what its own methods would have written.
        first = next(iter(movement.people))
        slack = await store.reference_for("slack", first)
        teams = await store.reference_for("teams", first)
        if slack is None or slack.extra.get("channel") != movement.people[first]["dm"] or teams is None:
            raise SetupError(f"the store does not read back the references written for {first}")
        async with store.unit() as unit:
            if len(await unit.joined(movement.memberships[0][0])) != sum(
                    1 for c, _ in movement.memberships if c == movement.memberships[0][0]):
                raise SetupError("the store does not read back the members written")
        if len(await store.zones()) != movement.members:
            raise SetupError("the store does not read back the members' time zones")
        # SQLite: no ANALYZE (the product never runs it); its WAL is checkpointed when the last
        # connection closes. PostgreSQL: VACUUM (ANALYZE), as autovacuum would have by then.
        if engine.dialect.name == "postgresql":
            async with engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.exec_driver_sql("VACUUM (ANALYZE)")
    finally:
        await engine.dispose()
    return {"counts": counts, "seconds": time.perf_counter() - started}


# ====================================================================== measuring a start


@dataclass
class Case:
    key: str
    label: str
    kind: str  # "import" or "serve"
    platforms: bool  # Slack and Teams on
    config: Path | None = None
    url: str | None = None
    workdir: Path | None = None
    about: str = ""


@dataclass
class Start:
    healthy: float  # seconds from the spawn (the import case: until imported)
    ready: float | None
    cpu_healthy: float  # CPU seconds of the server until healthy
    cpu_idle: float | None  # CPU seconds during the idle time after healthy
    at_healthy: dict[str, float]  # STATUS_KEYS in MB
    after_idle: dict[str, float] | None


def proc_status(pid: int) -> dict[str, float]:
    """Memory figures of /proc/<pid>/status in MB (VmRSS, VmHWM = its peak, RssAnon, RssFile)."""
    found: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in STATUS_KEYS:
                found[key] = int(value.split()[0]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return found


def wait_for(port: int, path: str, deadline: float, process: subprocess.Popen) -> float:
    """Poll GET `path` every 2 ms until it answers 200; the moment it did (perf_counter)."""
    last = "no answer"
    while True:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=max(0.1, deadline - time.perf_counter()))
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                return time.perf_counter()
            last = f"HTTP {response.status}"
        except OSError as error:
            last = type(error).__name__
        finally:
            connection.close()
        if process.poll() is not None or time.perf_counter() > deadline:
            raise SetupError(f"GET {path} never answered 200 (last: {last}; server exit {process.poll()})")
        time.sleep(0.002)


def clear_cache(env: dict[str, str]) -> None:
    """Empty app.yaml's parse cache (bot/yaml_cache.py): the next start parses the YAML, as the
    first start after app.yaml was edited does."""
    shutil.rmtree(env["COCREATE_CACHE_DIR"], ignore_errors=True)


def prime_cache(env: dict[str, str], config: Path) -> None:
    """Load `config` once, so that app.yaml's parse cache holds it (what any start after the
    first, with app.yaml unchanged, finds)."""
    done = subprocess.run([sys.executable, "-c", "import sys; from bot.cli import read_config; read_config(sys.argv[1])",
                           str(config)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode:
        raise SetupError(f"loading {config} failed:\n{done.stderr[-2000:]}")


def serve_once(case: Case, n: int, cocreate: Path, env: dict[str, str], idle: float,
               children: list[Child], cold: bool = False) -> Start:
    argv = [str(cocreate), "serve", "--host", "127.0.0.1", "--port", "0"]
    if cold:
        clear_cache(env)
    began = time.perf_counter()
    child = start_child(f"{case.key}-{n}", argv, READY_LINE, env, case.workdir, children, timeout=180)
    try:
        pid, port = child.process.pid, child.ports[0]
        deadline = time.perf_counter() + 60
        healthy = wait_for(port, "/healthz", deadline, child.process)
        at_healthy, cpu_healthy = proc_status(pid), child.cpu_seconds()
        ready = wait_for(port, "/readyz", deadline, child.process)
        time.sleep(max(0.0, healthy + idle - time.perf_counter()))
        after_idle, cpu_after = proc_status(pid), child.cpu_seconds()
        if child.process.poll() is not None:
            raise SetupError(f"{case.label}: the server stopped by itself:\n{child.logs()[-2000:]}")
        return Start(healthy - began, ready - began, cpu_healthy, cpu_after - cpu_healthy,
                     at_healthy, after_idle)
    finally:
        stop_children([child])


IMPORT_PROBE = """\
import os, sys, time
for name in sys.argv[1:]:
    __import__(name)
done = time.clock_gettime(time.CLOCK_MONOTONIC)
times = open("/proc/self/stat").read().rsplit(")", 1)[1].split()
print("done", done)
print("cpu", (int(times[11]) + int(times[12])))
print(open("/proc/self/status").read(), flush=True)
os._exit(0)  # the time to exit (finalising ~1,700 modules) is not the server's
"""


def import_once(case: Case, modules: tuple[str, ...], env: dict[str, str]) -> Start:
    """The bare interpreter: spawned, imports `modules`, reports when it was done (the same
    monotonic clock as ours), its CPU time and memory then, and exits."""
    began = time.clock_gettime(time.CLOCK_MONOTONIC)
    done = subprocess.run([sys.executable, "-c", IMPORT_PROBE, *modules], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    if done.returncode:
        raise SetupError(f"importing {' '.join(modules)} failed:\n{done.stderr[-2000:]}")
    figures: dict[str, float] = {}
    cpu = took = 0.0
    for line in done.stdout.splitlines():
        key, _, value = line.partition(":")
        if key in STATUS_KEYS:
            figures[key] = int(value.split()[0]) / 1024
        elif line.startswith("cpu "):
            cpu = int(line.split()[1]) / os.sysconf("SC_CLK_TCK")
        elif line.startswith("done "):
            took = float(line.split()[1]) - began
    return Start(took, None, cpu, None, figures, None)


# ====================================================================== where it goes


CONFIG_PROBE = """\
import json, os, shutil, sys, time, tracemalloc
path, cache = sys.argv[1], sys.argv[2]
os.environ["COCREATE_CACHE_DIR"] = cache  # a directory of its own: cold and warm on purpose
began = time.perf_counter()
import yaml
import bot.config
from bot.config import load_config
from flows.prompts import PRINCIPLES, PROMPTS, flat
imports = time.perf_counter() - began
read_yaml, reads = bot.config._read_yaml, []
def timed_read(shown):
    t = time.perf_counter()
    try:
        return read_yaml(shown)
    finally:
        reads.append(time.perf_counter() - t)
bot.config._read_yaml = timed_read  # the split of one load_config call: reading (+ parsing), the rest
def best_of(n, cold):
    loads = []
    for _ in range(n):
        if cold:
            shutil.rmtree(cache, ignore_errors=True)
        t = time.perf_counter()
        config = load_config(path, flat(PROMPTS), PRINCIPLES)
        loads.append((time.perf_counter() - t, reads[-1]))
        del config
    return min(loads)
cold = best_of(2, True)  # an empty cache: read, parse, write the cache
warm = best_of(2, False)  # the same bytes again: read, the data from the cache
text = open(path, encoding="utf-8").read()
cparse = None
if yaml.__with_libyaml__:
    t = time.perf_counter()
    yaml.load(text, Loader=yaml.CSafeLoader)
    cparse = time.perf_counter() - t
bot.config._read_yaml = read_yaml
peaks = {}
for kind in ("cold", "warm"):
    if kind == "cold":
        shutil.rmtree(cache, ignore_errors=True)
    tracemalloc.start()
    config = load_config(path, flat(PROMPTS), PRINCIPLES)
    held, peaks[kind] = tracemalloc.get_traced_memory()
    tracemalloc.stop()
print(json.dumps({"imports": imports, "cold": cold, "warm": warm, "cparse": cparse, "held": held,
                  "peaks": peaks, "bytes": len(text.encode()), "members": len(config.members)}))
"""

# One start in-process, untraced, its phases timed by wrapping the server's own functions
# (nothing in the code changes): the imports up front, load_config (bot.cli.load), open_engine,
# the rest until /healthz answers; and the scheduler's first tick (Planner.tick), after it.
PHASE_PROBE = """\
import http.client, json, os, signal, sys, threading, time
clock = lambda: time.clock_gettime(time.CLOCK_MONOTONIC)
marks = {"python": clock()}
port, out, idle, modules = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4:]
for name in modules:
    __import__(name)
marks["imported"] = clock()
import bot.cli
from bot.scheduler import Planner
load, open_engine, tick = bot.cli.load, bot.cli.open_engine, Planner.tick
def timed_load(config_file):
    marks["load"] = clock()
    try:
        return load(config_file)
    finally:
        marks["loaded"] = clock()
async def timed_open(config):
    marks["open"] = clock()
    try:
        return await open_engine(config)
    finally:
        marks["opened"] = clock()
async def timed_tick(self):
    began = clock()
    try:
        return await tick(self)
    finally:
        marks.setdefault("tick", [began, clock()])
bot.cli.load, bot.cli.open_engine, Planner.tick = timed_load, timed_open, timed_tick
def watch():
    try:
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.002)
        marks["healthy"] = clock()
        deadline = clock() + idle
        while "tick" not in marks and clock() < deadline:
            time.sleep(0.01)
    finally:
        with open(out, "w") as f:
            json.dump(marks, f)
        os.kill(os.getpid(), signal.SIGTERM)
threading.Thread(target=watch, daemon=True).start()
sys.argv = ["cocreate", "serve", "--host", "127.0.0.1", "--port", str(port)]
try:
    bot.cli.main()
except SystemExit:
    pass
"""


# The packages a server imports, one stage at a time in a fresh interpreter: each stage's time and
# the RSS it adds (a package's share depends on what came before: shared dependencies count once).
IMPORT_STAGES = (
    ("python itself", ()),
    ("yaml, pydantic", ("yaml", "pydantic")),
    ("sqlalchemy (+ its asyncio extension)", ("sqlalchemy", "sqlalchemy.ext.asyncio")),
    ("aiohttp", ("aiohttp", "aiohttp.web")),
    ("jinja2, markupsafe", ("jinja2",)),
    ("apscheduler", ("apscheduler.schedulers.asyncio", "apscheduler.triggers.interval")),
    ("click, dotenv", ("click", "dotenv")),
    ("slack_bolt, slack_sdk", ("slack_bolt.async_app", "slack_sdk.web.async_client")),
    ("botbuilder (+msrest, msal, requests, ...)", ("botbuilder.core", "botbuilder.integration.aiohttp",
                                                    "botbuilder.schema")),
    ("the project (bot, flows, storage, adapters; the database's driver)", None),  # the import case's list
)

STAGE_PROBE = """\
import json, sys, time
stages = json.loads(sys.argv[1])
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
out = []
for label, modules in stages:
    t = time.perf_counter()
    for name in modules:
        __import__(name)
    out.append([label, time.perf_counter() - t, rss(), len(sys.modules)])
print(json.dumps(out))
"""


TRACE_TOP = 12
TRACE_DEPTH = 25  # frames per allocation: enough to reach the project's code from a library's


def trace_serve(result: Path, port: int, idle: float) -> None:
    """Child mode: `cocreate serve` in this process under tracemalloc; a thread waits until it
    is healthy and idle, writes the memory summary to `result` and stops the server."""
    import tracemalloc

    began = time.perf_counter()
    for name in json.loads(os.environ["BENCH_STARTUP_IMPORTS"]):  # untraced: tracing them is slow and says
        __import__(name)                                            # less than the import stages do
    imported_status = proc_status(os.getpid())
    import bot.cli

    # Tracing from the config loaded on: load_config under tracemalloc takes minutes for
    # 10,000 members, and the config probe measures what it holds and its peak on its own.
    load, before = bot.cli.load, []

    def traced_load(config_file):
        config = load(config_file)
        tracemalloc.start(TRACE_DEPTH)
        before.append(tracemalloc.take_snapshot())
        return config

    bot.cli.load = traced_load

    def watch() -> None:
        try:
            deadline = time.perf_counter() + 300
            while True:
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    connection.request("GET", "/healthz")
                    if connection.getresponse().status == 200:
                        break
                except OSError:
                    pass
                if time.perf_counter() > deadline:
                    raise RuntimeError("never healthy")
                time.sleep(0.01)
            healthy_s = time.perf_counter() - began
            time.sleep(idle)
            snapshot = tracemalloc.take_snapshot()
            summary = summarise(before[0], snapshot)
            summary |= {"healthy_s": healthy_s, "status": proc_status(os.getpid()),
                        "imported_status": imported_status, "traced_peak": tracemalloc.get_traced_memory()[1],
                        "project_modules": sorted(m for m in sys.modules
                                                  if m.split(".")[0] in ("bot", "flows", "storage", "adapters"))}
            result.write_text(json.dumps(summary))
        except Exception as error:  # noqa: BLE001 - the parent reports it
            result.write_text(json.dumps({"error": repr(error)}))
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()
    from bot.cli import main

    sys.argv = ["cocreate", "serve", "--host", "127.0.0.1", "--port", str(port)]
    try:
        main()
    except SystemExit:
        pass


PROJECT = ("bot/", "flows/", "storage/", "adapters/")


def _where(filename: str) -> str:
    """A frame's file as a short name: a package's name, the project's path, or the stdlib module."""
    path = filename.replace("\\", "/")
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/")[0].removesuffix(".py")
    root = str(ROOT).replace("\\", "/") + "/"
    if path.startswith(root):
        return path[len(root):]
    if path.startswith("<"):
        return path
    return "stdlib:" + Path(path).stem


def summarise(before, after) -> dict[str, Any]:
    """What the server holds at the end beyond its imports (traced Python allocations), by the
    innermost frame of the project (file:line) and by the package that allocated."""
    import tracemalloc  # noqa: F401 - the snapshots' module

    stats = after.compare_to(before, "traceback")
    by_site: dict[str, int] = {}
    by_package: dict[str, int] = {}
    for stat in stats:
        size = stat.size_diff
        if size <= 0:
            continue
        frames = list(stat.traceback)  # oldest first
        package = _where(frames[-1].filename)
        by_package[package] = by_package.get(package, 0) + size
        site = next((f"{_where(f.filename)}:{f.lineno}" for f in reversed(frames)
                     if _where(f.filename).startswith(PROJECT)), f"(no project frame) {package}")
        by_site[site] = by_site.get(site, 0) + size
    traced_after = sum(s.size for s in after.statistics("filename")) - sum(s.size for s in before.statistics("filename"))
    top = lambda d: sorted(d.items(), key=lambda kv: -kv[1])[:TRACE_TOP]  # noqa: E731
    return {"traced_after": traced_after, "by_site": top(by_site),
            "by_package": top(by_package)}


def _source_line(site: str) -> str:
    path, _, line = site.rpartition(":")
    try:
        return (ROOT / path).read_text(encoding="utf-8").splitlines()[int(line) - 1].strip()[:70]
    except (OSError, ValueError, IndexError):
        return ""


def where(args, big: Case, env: dict[str, str], modules: tuple[str, ...], children: list[Child]) -> list[str]:
    """The analysis printed after the measurements: the config's load, the imports stage by
    stage, `-X importtime`'s slowest, and tracemalloc over one traced start of the big case."""
    lines = []
    # 0. One start's phases.
    phases = big.workdir / "phases.json"
    if args.cold_cache:
        clear_cache(env)
    began = time.clock_gettime(time.CLOCK_MONOTONIC)
    done = subprocess.run([sys.executable, "-c", PHASE_PROBE, str(_closed_port()), str(phases), str(max(args.idle, 10.0)),
                           *modules], cwd=big.workdir, env=env, capture_output=True, text=True, timeout=600)
    if not phases.exists():
        raise SetupError(f"timing the phases of a start failed:\n{done.stderr[-2000:]}")
    m = json.loads(phases.read_text())
    if "healthy" not in m:
        raise SetupError(f"timing the phases of a start failed:\n{done.stderr[-2000:]}")
    ms = lambda a, b: 1000 * (m[b] - m[a])  # noqa: E731
    tick = f"; the scheduler's first tick then took {1000 * (m['tick'][1] - m['tick'][0]):,.0f} ms" if "tick" in m else ""
    lines.append(f"  one more start, in-process with the imports up front, its phases (ms): interpreter "
                 f"{1000 * (m['python'] - began):,.0f}, imports {ms('python', 'imported'):,.0f}, "
                 f"click and the environment {ms('imported', 'load'):,.0f}, load_config {ms('load', 'loaded'):,.0f}, "
                 f"settings {ms('loaded', 'open'):,.0f}, open_engine (the database's revision, the engine) "
                 f"{ms('open', 'opened'):,.0f}, the server until /healthz answered {ms('opened', 'healthy'):,.0f}; "
                 f"start -> healthy {1000 * (m['healthy'] - began):,.0f}{tick}")
    # 1. load_config on the big file.
    done = subprocess.run([sys.executable, "-c", CONFIG_PROBE, str(big.config), str(big.workdir / "probe-cache")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise SetupError(f"timing load_config failed:\n{done.stderr[-2000:]}")
    c = json.loads(done.stdout)
    (cold, cold_read), (warm, warm_read) = c["cold"], c["warm"]
    cparse = f"; the same YAML through libyaml alone (yaml.load, yaml.CSafeLoader) parses in " \
             f"{1000 * c['cparse']:,.0f} ms" if c["cparse"] is not None else ""
    lines.append(f"  load_config on the generated app.yaml ({c['bytes'] / 2**20:.1f} MB, {c['members']:,} members), "
                 f"the faster of 2 each: cold (an empty parse cache) {1000 * cold:,.0f} ms, of which "
                 f"bot.config._read_yaml (read, parse with _Loader, write the cache) {1000 * cold_read:,.0f} ms; "
                 f"warm (the same bytes again) {1000 * warm:,.0f} ms, of which _read_yaml (read, hash, the data "
                 f"from the cache) {1000 * warm_read:,.0f} ms; the rest (pydantic, checks, texts) "
                 f"{1000 * (warm - warm_read):,.0f} ms{cparse}; the loaded Config holds {c['held'] / 2**20:.1f} MB "
                 f"of Python objects (peak while loading: cold {c['peaks']['cold'] / 2**20:.1f} MB, warm "
                 f"{c['peaks']['warm'] / 2**20:.1f} MB, tracemalloc)")
    # 2. imports, stage by stage.
    stages = [[label, list(mods) if mods is not None else list(modules)] for label, mods in IMPORT_STAGES]
    done = subprocess.run([sys.executable, "-c", STAGE_PROBE, json.dumps(stages)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    if done.returncode:
        raise SetupError(f"the staged imports failed:\n{done.stderr[-2000:]}")
    rss = 0.0
    total = 0.0
    parts = []
    for label, seconds, after, count in json.loads(done.stdout):
        parts.append(f"{label} {1000 * seconds:,.0f} ms +{after - rss:.1f} MB")
        rss, total = after, total + seconds
    lines.append(f"  imports, one stage after the other in a fresh interpreter ({1000 * total:,.0f} ms, RSS "
                 f"{rss:.0f} MB at the end; time and RSS added per stage):")
    for part in parts:
        lines.append(f"    {part}")
    # 3. -X importtime: the slowest top-level imports.
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {', '.join(modules)}"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    packages: dict[str, int] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = line[len("import time:"):].split("|")
        packages[name.strip().split(".")[0]] = packages.get(name.strip().split(".")[0], 0) + int(own)
    top = sorted(packages.items(), key=lambda kv: -kv[1])[:10]
    lines.append(f"  -X importtime, own time summed by top-level package ({sum(packages.values()) / 1000:,.0f} ms "
                 f"in all, {len(packages)} packages): " + ", ".join(f"{p} {us / 1000:,.0f}" for p, us in top))
    # 4. tracemalloc over one start of the big case.
    result = big.workdir / "trace.json"
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    traced_env = env | {"BENCH_STARTUP_IMPORTS": json.dumps(list(modules))}
    if args.cold_cache:
        clear_cache(env)
    log = big.workdir / "trace.log"
    with log.open("w") as stderr:
        process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--trace-serve", str(result),
                                    "--trace-port", str(port), "--idle", str(args.idle)],
                                   cwd=big.workdir, env=traced_env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=stderr, start_new_session=True, preexec_fn=die_with_parent)
    children.append(Child("traced", process, log))
    try:
        process.wait(timeout=600)
    except subprocess.TimeoutExpired:
        raise SetupError("the traced server did not finish within 10 minutes")
    if not result.exists():
        raise SetupError(f"the traced server wrote no summary:\n{log.read_text()[-2000:]}")
    t = json.loads(result.read_text())
    if "error" in t:
        raise SetupError(f"the traced server failed: {t['error']}\n{log.read_text()[-2000:]}")
    s, i = t["status"], t["imported_status"]
    lines.append(f"  one start in-process, tracemalloc on once the config is loaded (slower: healthy after "
                 f"{t['healthy_s']:.1f} s), {args.idle:g} s after healthy: RSS {s.get('VmRSS', 0):.0f} MB (anonymous "
                 f"{s.get('RssAnon', 0):.0f}, files {s.get('RssFile', 0):.0f}; after the imports {i.get('VmRSS', 0):.0f}); "
                 f"Python objects allocated since the config and still held {t['traced_after'] / 2**20:.1f} MB, "
                 f"their peak {t['traced_peak'] / 2**20:.1f} MB")
    lines.append(f"  what the server holds beyond its imports and config, by the innermost project frame (MB, traced):")
    for site, size in t["by_site"]:
        lines.append(f"    {size / 2**20:7.2f}  {site:<34} {_source_line(site) if site[0] != '(' else ''}")
    lines.append("  ...and by the package whose code allocated it (MB, traced): "
                 + ", ".join(f"{p} {size / 2**20:.1f}" for p, size in t["by_package"][:8]))
    missing = sorted(set(t["project_modules"]) - set(_imported_by(modules, env)))
    lines.append(f"  the import case's module list covers the server's project modules"
                 + (f" except: {', '.join(missing[:12])}{' ...' if len(missing) > 12 else ''}" if missing else
                    " (all of them)"))
    return lines


def _imported_by(modules: tuple[str, ...], env: dict[str, str]) -> list[str]:
    done = subprocess.run([sys.executable, "-c", f"import sys, {', '.join(modules)}; print('\\n'.join(sys.modules))"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    return done.stdout.split()


# ====================================================================== report


METRICS = (  # label, how to get it from a Start, unit format
    ("start -> healthy (ms)", lambda s: 1000 * s.healthy),
    ("start -> ready (ms)", lambda s: None if s.ready is None else 1000 * s.ready),
    ("CPU until healthy (ms)", lambda s: 1000 * s.cpu_healthy),
    ("RSS at healthy (MB)", lambda s: s.at_healthy.get("VmRSS")),
    ("RSS after idle (MB)", lambda s: None if s.after_idle is None else s.after_idle.get("VmRSS")),
    ("VmHWM, the peak (MB)", lambda s: (s.after_idle or s.at_healthy).get("VmHWM")),
    ("CPU during idle (ms)", lambda s: None if s.cpu_idle is None else 1000 * s.cpu_idle),
)


def _values(starts: list[Start], metric) -> list[float]:
    return [v for v in (metric(s) for s in starts) if v is not None]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def case_table(case: Case, starts: list[Start], idle: float) -> list[str]:
    lines = [f"{case.label}: {case.about}", f"  {'':<24} {'median':>8} {'max':>8}   each run"]
    for label, metric in METRICS:
        values = _values(starts, metric)
        if not values:
            continue
        label = label.replace("idle", f"{idle:g} s idle") if "idle" in label else label
        if case.kind == "import":
            label = (label.replace("start -> healthy", "start -> imported").replace("until healthy", "until imported")
                     .replace("at healthy", "when imported"))
        lines.append(f"  {label:<24} {_fmt(statistics.median(values)):>8} {_fmt(max(values)):>8}   "
                     + " ".join(f"{_fmt(v):>6}" for v in values))
    return lines


def median_of(starts: list[Start], metric) -> float | None:
    values = _values(starts, metric)
    return statistics.median(values) if values else None


def report(args, cases: list[Case], results: dict[str, list[Start]], movement: Movement, generated: dict,
           where_lines: list[str] | None) -> None:
    from bench.web import revision

    print()
    print(f"Start-up: `cocreate serve` with {movement.members:,} members in app.yaml and the database, "
          f"against the small test movement and a bare interpreter")
    print(f"  machine: nproc={os.cpu_count()} (usable {len(os.sched_getaffinity(0))}), Python "
          f"{platform.python_version()}, {platform.platform()}, load avg before report "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in
                         ("aiohttp", "pydantic", "PyYAML", "SQLAlchemy", "slack_bolt", "botbuilder-core"))
    print(f"  {versions}; {generated['facts']}; cocreate at {revision()}")
    c = generated["counts"]
    print(f"  database: {c['members']:,} member profiles, {c['conversation_refs']:,} conversation references, "
          f"{c['member_zones']:,} time zones, {c['member_languages']:,} locales, {c['schedule_marks']} schedule marks, "
          f"{c['schedule_overrides']} schedule changes (loaded in {generated['seconds']:.1f} s, not measured)")
    print(f"  {args.runs} start{'s' if args.runs > 1 else ''} per case, interleaved; a start: spawn `cocreate serve "
          f"--host 127.0.0.1 --port 0`, read its port, poll /healthz then /readyz every 2 ms, wait "
          f"{args.idle:g} s, SIGTERM")
    print("  app.yaml's parse cache: " + ("emptied before every start (--cold-cache: each start parses the YAML)"
                                          if args.cold_cache else "filled before the runs (each start reads it)"))
    print("  RSS: VmRSS of /proc/<pid>/status; VmHWM: its peak; CPU: user + system of the process")
    for case in cases:
        print()
        print("\n".join(case_table(case, results[case.key], args.idle)))

    print("\nSide by side (medians)")
    head = f"  {'':<24}" + "".join(f"{c.key:>13}" for c in cases)
    print(head)
    for label, metric in METRICS:
        row = [median_of(results[c.key], metric) for c in cases]
        if all(v is None for v in row):
            continue
        print(f"  {label:<24}" + "".join(f"{_fmt(v):>13}" for v in row))
    print("\nRatios (medians)")
    by_key = {c.key: c for c in cases}
    pairs = [(f"big-{v}", f"small-{v}") for v in ("web", "all") if f"big-{v}" in by_key]
    pairs += [(f"small-{v}", "import") for v in ("web", "all") if f"small-{v}" in by_key]
    for a, b in pairs:
        parts = []
        for label, metric in METRICS[:6]:
            x, y = median_of(results[a], metric), median_of(results[b], metric)
            if x is not None and y:
                parts.append(f"{label.split(' (')[0]} x{x / y:.2f}")
        print(f"  {a} / {b}: " + ", ".join(parts))
    print(f"\nAim: with {movement.members:,} members, start -> healthy < {HEALTHY_AIM_S:g} s (every start) and resident "
          f"memory < {RSS_AIM_MB:g} MB (the highest VmRSS seen, at healthy or after idle)")
    for case in cases:
        if not case.key.startswith("big"):
            continue
        starts = results[case.key]
        slowest = max(s.healthy for s in starts)
        rss = max(max(s.at_healthy.get("VmRSS", 0), (s.after_idle or {}).get("VmRSS", 0)) for s in starts)
        hwm = max((s.after_idle or s.at_healthy).get("VmHWM", 0) for s in starts)
        ok_t, ok_m = slowest < HEALTHY_AIM_S, rss < RSS_AIM_MB
        print(f"  {case.label:<34} start -> healthy {'MET' if ok_t else 'MISSED'}: max {1000 * slowest:,.0f} ms "
              f"(median {1000 * statistics.median(s.healthy for s in starts):,.0f}); RSS {'MET' if ok_m else 'MISSED'}: "
              f"max {rss:.0f} MB (peak VmHWM {hwm:.0f} MB)")
    if where_lines:
        big = [c for c in cases if c.key.startswith("big")][-1]  # the one `where` analysed
        print(f"\nWhere the start-up time and memory go ({big.label})")
        print("\n".join(where_lines))


# ====================================================================== main


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=None,
                        help="members in the big movement (default 10,000; --quick 1,000)")
    parser.add_argument("--coalitions", type=int, default=50, help="coalitions they are spread over (default 50)")
    parser.add_argument("--runs", type=int, default=None, help="starts per case (default 5; --quick 2)")
    parser.add_argument("--idle", type=float, default=3.0,
                        help="seconds after healthy before the second memory reading (default 3)")
    parser.add_argument("--platforms", choices=("web", "all", "both"), default="both",
                        help="web: only the web chat on; all: Slack and Teams on too; both (default): each "
                             "server case both ways")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite", help="the database (default sqlite)")
    parser.add_argument("--postgres-url", help="PostgreSQL to create the databases on (with --db postgres; default "
                                               "$COCREATE_BENCH_POSTGRES_URL, $COCREATE_TEST_POSTGRES_URL or "
                                               "postgres@127.0.0.1:5432/test)")
    parser.add_argument("--no-where", dest="where", action="store_false",
                        help="skip the analysis after the measurements (load_config, imports, tracemalloc)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1,000 members, 2 starts per case")
    parser.add_argument("--cold-cache", action="store_true",
                        help="empty app.yaml's parse cache before every start, so each parses the YAML (the "
                             "first start after an edit); default: filled once before the runs")
    parser.add_argument("--cocreate", metavar="PATH", type=Path,
                        help="the cocreate command to run (default: the one next to this Python)")
    parser.add_argument("--keep", action="store_true", help="keep the generated app.yaml, databases and logs; print where")
    parser.add_argument("--trace-serve", metavar="FILE", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--trace-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.members is None:
        args.members = 1000 if args.quick else 10_000
    if args.runs is None:
        args.runs = 2 if args.quick else 5
    if args.members < 2 or args.coalitions < 1 or args.coalitions > args.members or args.runs < 1 or args.idle < 0:
        parser.error("--members >= 2, 1 <= --coalitions <= --members, --runs >= 1, --idle >= 0")
    return args



def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.trace_serve:
        trace_serve(args.trace_serve, args.trace_port, args.idle)
        return 0

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from bench.digest import Created, clean_up, create_database

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupted_on_sigterm)
    children: list[Child] = []
    workdir = Path(tempfile.mkdtemp(prefix="cocreate-bench-startup-"))
    created: list[Created] = []
    cocreate = args.cocreate or Path(sys.executable).parent / "cocreate"
    begun = time.monotonic()
    try:
        base_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("SLACK_", "MICROSOFT_", "TEAMS_", "SMTP_", "COCREATE_", "DATABASE_URL"))}
        # app.yaml's parse cache in the temporary directory, never the user's ~/.cache
        base_env["COCREATE_CACHE_DIR"] = str(workdir / "cache")
        movement = generate_movement(args.members, args.coalitions)
        databases = {}
        try:
            for size in ("small", "big"):
                (workdir / size).mkdir()
                made = Created(workdir=workdir / size)
                created.append(made)
                databases[size] = asyncio.run(create_database(args.db, args, made))
            big_yaml = workdir / "big" / "app.yaml"
            big_yaml.write_text(movement.yaml, encoding="utf-8")
            print(f"generated app.yaml: {len(movement.yaml.encode()) / 2**20:.1f} MB, {args.members:,} members, "
                  f"{args.coalitions} coalitions, {len(movement.memberships):,} memberships", flush=True)
            generated = asyncio.run(fill_database(databases["big"], movement))
            if args.db == "sqlite":
                import sqlite3

                size = (workdir / "big" / "cocreate.db").stat().st_size / 2**20
                generated["facts"] = f"SQLite {sqlite3.sqlite_version}, the big file {size:.0f} MB"
            else:
                url = make_url(databases["big"])
                generated["facts"] = f"PostgreSQL at {url.host}:{url.port}"
        except (OSError, SQLAlchemyError) as error:  # PostgreSQL unreachable, a refused statement
            raise SetupError(f"setting up the {args.db} databases failed: {error!r}") from error
        print(f"loaded the database in {generated['seconds']:.1f} s", flush=True)

        variants = {"web": ["web"], "all": ["all"], "both": ["web", "all"]}[args.platforms]
        modules = IMPORTS + IMPORTS_DB[args.db]
        cases: list[Case] = [Case("import", "import", "import", False,
                                  about=f"a bare interpreter importing what the server imports ({len(modules)} "
                                        f"modules: {', '.join(modules[:4])}, ...), no config, no database")]
        for v in variants:
            on = v == "all"
            what = "Slack and Teams on too (pointing at nothing)" if on else "only the web chat on"
            tag = "+slack/teams" if on else "web"
            cases += [
                Case(f"small-{v}", f"small, {tag}", "serve", on, SMALL_APP_YAML, databases["small"], workdir / "small",
                     f"tests/data/app.yaml (3 members, 2 coalitions), an empty migrated database; {what}"),
                Case(f"big-{v}", f"{args.members:,} members, {tag}", "serve", on, big_yaml, databases["big"],
                     workdir / "big", f"the generated app.yaml and database ({args.members:,} members, "
                                      f"{args.coalitions} coalitions); {what}"),
            ]
        envs: dict[str, dict[str, str]] = {}
        for case in cases:
            env = dict(base_env)
            if case.platforms:
                env |= PLATFORM_ENV | {"SLACK_API_URL": f"http://127.0.0.1:{_closed_port()}/api/"}
            if case.kind == "serve":
                env |= {"DATABASE_URL": case.url, "COCREATE_CONFIG": str(case.config)}
            envs[case.key] = env

        if not args.cold_cache:
            for case in cases:
                if case.kind == "serve":
                    prime_cache(envs[case.key], case.config)
        results: dict[str, list[Start]] = {c.key: [] for c in cases}
        print(f"measuring: {len(cases)} cases x {args.runs} starts", flush=True)
        for run in range(args.runs):
            order = cases[run % len(cases):] + cases[:run % len(cases)]  # each run starts with another case
            for case in order:
                if case.kind == "import":
                    start = import_once(case, modules, envs[case.key])
                else:
                    start = serve_once(case, run, cocreate, envs[case.key], args.idle, children, args.cold_cache)
                results[case.key].append(start)
            print(f"  run {run + 1}/{args.runs}: " + ", ".join(
                f"{c.key} {1000 * results[c.key][-1].healthy:,.0f} ms" for c in cases), flush=True)
        logged = _unexpected_logs(cases)
        where_lines = None
        if args.where:
            big = [c for c in cases if c.key.startswith("big")][-1]
            print("where the time and memory go: a start's phases, load_config, the imports, one start under "
                  "tracemalloc ...", flush=True)
            where_lines = where(args, big, envs[big.key], modules, children)
        print(f"done in {time.monotonic() - begun:.0f} s", flush=True)
        report(args, cases, results, movement, generated, where_lines)
        if logged:
            print("\nThe servers logged (beyond their start-up lines):")
            print("\n".join(logged))
        return 0
    except SetupError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nbench: interrupted; stopping the servers", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_children(children)
        for made in created:
            clean_up(made, args.keep)
        if args.keep:
            print(f"kept {workdir} (app.yaml, logs)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _closed_port() -> int:
    """A port nobody listens on (bound and released)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


ROUTINE = ("Slack: off", "Teams: off", "Slack: on", "Teams: on", "serving on http", "shutting down",
           "now runs the scheduler")


def _unexpected_logs(cases: list[Case]) -> list[str]:
    """What the servers wrote to stderr beyond the routine lines, counted over all runs."""
    import re
    from collections import Counter

    seen: Counter = Counter()
    for case in cases:
        if case.workdir is None:
            continue
        for log in case.workdir.glob(f"{case.key}-*.log"):
            for line in log.read_text(errors="replace").splitlines():
                if line.strip() and not any(r in line for r in ROUTINE):
                    seen[f"{case.key}: {re.sub(r'^[0-9-]+ [0-9:,]+ ', '', line)[:140]}"] += 1
    return [f"  {n:>4} x {line}" for line, n in seen.most_common(10)]


if __name__ == "__main__":
    sys.exit(main())
