"""How long do the dashboard's pages take over a large movement, on SQLite and PostgreSQL?

On the digest benchmark's data (bench/digest.py: 50 coalitions, 100,000 stories, 200,000
check-ins, 300,000 reflections over the last 365 days, generated in a fresh SQLite file and a
fresh PostgreSQL database), this serves the real web app (`adapters.web.app.WebBot` on
`adapters.server.web_app`, the dashboard included) in this process on a free port, signs a
coordinator in through the dashboard's own one-time link, and times over real HTTP, one
request at a time, with the default period (the last 30 days):

- the movement overview, GET /dashboard;
- the busiest coalition's page, GET /dashboard/coalition/<id>;

each as the server's time (an aiohttp middleware around the handler: session, queries,
charts, rendering) and the client's (sending the request to having read the last byte), side
by side, in the same runs on the same database and connection pool, with the queries alone:

- overview: `unit.overview` (the page's one query) and `store.digest` of the movement
  (`Audience.MOVEMENT`, the 50 coalitions), the digest run alone;
- coalition: the page's `store.unit()` block alone (digest, treasures, perspectives, frame,
  round) and `store.digest` of the one coalition (`Audience.MOVEMENT`, as a coordinator sees it).

The aim: each page's server time under 300 ms at the median and 1 s at p99, on either
database. Then, per page, where its server time goes (session, speaker, queries, charts,
rendering) and its statements, slowest first.

    .venv/bin/python bench/dashboard.py                 # defaults: both databases, full size, 20 timed runs
    .venv/bin/python bench/dashboard.py --quick         # smoke run: 10x fewer stories, check-ins, reflections
    .venv/bin/python bench/dashboard.py --only sqlite   # one database (or --only postgres)
    .venv/bin/python bench/dashboard.py --keep          # keep the data (and app.yaml) and print where

See bench/README.md for how to read the output. Exit status: 0 when every measurement ran
(whether or not the aim was met), 2 on a setup error (PostgreSQL unreachable, migration
failed, a page not answered 200), 130 when interrupted.
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
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run from a checkout: the working tree, not an installed copy

import aiohttp  # noqa: E402
import yaml  # noqa: E402
from aiohttp import web  # noqa: E402

from adapters.server import web_app  # noqa: E402
from adapters.web import charts  # noqa: E402
from adapters.web.app import CSRF, SESSION, WebBot  # noqa: E402
from adapters.web.dashboard import LISTED  # noqa: E402
from adapters.web.settings import WebSettings  # noqa: E402
from bench.common import SetupError, interrupted_on_sigterm  # noqa: E402
from bench.digest import (  # noqa: E402
    DATABASES, MOVEMENT_NAME, PG_GENERIC_AFTER, SEED, YEAR, Created, Movement, check_postgres, clean_up,
    create_database, dataset_options, generate, new_movement, server_facts, where_time_goes,
)
from bench.web import revision  # noqa: E402
from bot.config import Config, load_config  # noqa: E402
from bot.digest import Audience, Scope  # noqa: E402
from bot.engine import Engine  # noqa: E402
from bot.types import Capabilities, ConversationRef, Message  # noqa: E402
from flows.prompts import PRINCIPLES, PROMPTS, flat  # noqa: E402
from flows.registry import all_flows  # noqa: E402
from storage.db import create_engine  # noqa: E402
from storage.repository import SqlStore  # noqa: E402
from storage.web import SqlWeb  # noqa: E402

MEDIAN_AIM_MS = 300.0  # each page's server time, on either database
P99_AIM_MS = 1000.0
COORDINATOR = "bench-coordinator"  # app.yaml's coordinator: the one signed in
LINK = re.compile(r"/dashboard/signin/([\w-]+)")
PARTS = ("session", "speaker", "queries", "charts", "render")


# ====================================================================== app.yaml


def app_config(movement: Movement, workdir: Path) -> Config:
    """app.yaml for the generated movement, written and loaded as `cocreate serve` loads it
    (`load_config` with the flows' prompts and the default principles): the 50 coalitions with
    the generated ids, names and wanted sectors; every generated member (the first of each
    coalition its leader), and a coordinator who belongs to no coalition."""
    members: list[dict[str, Any]] = [{"id": COORDINATOR, "name": "Bench Coordinator",
                                      "platforms": {"console": COORDINATOR}}]
    coalitions = []
    for cid in movement.coalitions:
        ids = movement.members[cid]
        members += [{"id": m, "name": f"Member {m}"} for m in ids]  # the generated members' names
        coalitions.append({"id": cid, "name": movement.names[cid], "challenge": f"The challenge of {movement.names[cid]}",
                           "wanted_sectors": list(movement.wanted[cid]), "leaders": ids[:1], "members": ids[1:]})
    raw = {"movement": {"name": MOVEMENT_NAME, "coordinators": [COORDINATOR]},
           "members": members, "coalitions": coalitions}
    path = workdir / "app.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return load_config(path, flat(PROMPTS), PRINCIPLES)


# ====================================================================== the server


@dataclass
class Handled:
    path: str
    status: int
    seconds: float


class Site:
    """The web app as `cocreate serve` builds it (`web_app`, `WebBot` with the dashboard; no
    Slack, Teams, email, delivery loop or scheduler), served in this process on a free port,
    with a middleware that times each request's handler."""

    def __init__(self, store: SqlStore, config: Config, movement: Movement) -> None:
        clock = lambda: movement.now  # noqa: E731 - the data's "now": every run sees the same period
        self.store = store
        self.engine = Engine(store, config, all_flows(), clock=clock)
        self.web = WebBot(self.engine, WebSettings(public_url=None), SqlWeb.of(store), clock=clock)
        self.dashboard = self.web.dashboard
        self.handled: list[Handled] = []
        self.app = web_app(store.ping)

        @web.middleware
        async def timed(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
            started, status = time.perf_counter(), 500
            try:
                response = await handler(request)
                status = response.status
                return response
            except web.HTTPException as answer:
                status = answer.status
                raise
            finally:
                self.handled.append(Handled(request.path, status, time.perf_counter() - started))

        self.app.middlewares.append(timed)  # before the app is frozen (runner.setup)
        self.web.mount(self.app)
        self.runner = web.AppRunner(self.app, access_log=None)
        self.base = ""
        self.http: aiohttp.ClientSession | None = None
        self.cookie = ""

    async def __aenter__(self) -> Site:
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.base = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        self.engine.public_url = self.base
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(),
                                          timeout=aiohttp.ClientTimeout(total=120))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.http:
            await self.http.close()
        await self.runner.cleanup()

    async def sign_in(self) -> None:
        """As a coordinator does: `dashboard` in chat hands out a one-time link; its page, then
        its button (with the page's CSRF cookie) open a session."""
        ref = ConversationRef("console", "local", f"console:{COORDINATOR}", COORDINATOR)
        replies = await self.engine.handle(Message(ref, "bench-dashboard-link", "dashboard", command=True),
                                           Capabilities())
        found = LINK.search(repr(replies))
        if not found:
            raise SetupError(f"`dashboard` in chat gave no link: {replies!r}"[:1000])
        path = f"/dashboard/signin/{found.group(1)}"
        async with self.http.get(self.base + path) as response:
            await response.read()
            csrf = response.cookies.get(CSRF)
            if response.status != 200 or csrf is None:
                raise SetupError(f"GET /dashboard/signin/... answered {response.status} without cookie {CSRF}")
        async with self.http.post(self.base + path, data={"csrf": csrf.value}, allow_redirects=False,
                                  headers={"Cookie": f"{CSRF}={csrf.value}"}) as response:
            await response.read()
            session = response.cookies.get(SESSION)
            if response.status != 303 or session is None or response.headers.get("Location") != "/dashboard":
                raise SetupError(f"POST /dashboard/signin/... answered {response.status} "
                                 f"(Location {response.headers.get('Location')}), no session")
        self.cookie = f"{SESSION}={session.value}"

    async def get(self, path: str) -> tuple[float, float, bytes]:
        """GET `path` as the coordinator: (server seconds, client seconds, body)."""
        started = time.perf_counter()
        async with self.http.get(self.base + path, headers={"Cookie": self.cookie}, allow_redirects=False) as response:
            body = await response.read()
        client = time.perf_counter() - started
        handled = self.handled[-1] if self.handled else None
        if response.status != 200 or handled is None or handled.path != path:
            raise SetupError(f"GET {path} answered {response.status}: "
                             f"{body.decode('utf-8', 'replace')[:500]}")
        return handled.seconds, client, body


# ====================================================================== measuring


@dataclass
class Series:
    label: str
    times: list[float] = field(default_factory=list)  # seconds

    @property
    def median_ms(self) -> float:
        return 1000 * statistics.median(self.times)

    @property
    def p99_ms(self) -> float:
        return 1000 * nearest_rank(self.times, 99)

    @property
    def max_ms(self) -> float:
        return 1000 * max(self.times)


def nearest_rank(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class PageResult:
    name: str  # "overview", "coalition"
    path: str
    header: str
    server: Series
    client: Series
    queries: Series  # the page's own queries, alone
    digest: Series  # the same digest, alone
    size: int = 0  # bytes of the page
    parts: dict[str, list[float]] = field(default_factory=dict)  # seconds per instrumented run
    notes: list[str] = field(default_factory=list)


class Step:
    """One measurement of a round: a page (server and client times) or a query alone."""

    def __init__(self, page: PageResult, kind: str, run: Callable[[], Awaitable[Any]]) -> None:
        self.page, self.kind, self.run = page, kind, run

    async def once(self, timed: bool) -> None:
        if self.kind == "page":
            server, client, body = await self.run()
            if timed:
                self.page.server.times.append(server)
                self.page.client.times.append(client)
                self.page.size = len(body)
            return
        started = time.perf_counter()
        await self.run()
        seconds = time.perf_counter() - started
        if timed:
            getattr(self.page, self.kind).times.append(seconds)


class Parts:
    """Where a page's server time goes: the handler's parts timed by wrapping this run's own
    objects (the WebBot's session lookup, the engine's speaker, the store's units, the chart
    functions, the dashboard's `_page`), one instrumented request at a time. A part called
    inside another counts for the outer one (the speaker's unit is the speaker's)."""

    def __init__(self, site: Site) -> None:
        self.site, self.current, self.spent = site, None, dict.fromkeys(PARTS, 0.0)
        self.undo: list[Callable[[], None]] = []

    def _add(self, part: str, started: float) -> None:
        self.spent[part] += time.perf_counter() - started
        self.current = None

    def _async(self, part: str, fn: Callable[..., Awaitable[Any]]):
        async def timed(*args: Any, **kwargs: Any) -> Any:
            if self.current:
                return await fn(*args, **kwargs)
            self.current, started = part, time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                self._add(part, started)
        return timed

    def _sync(self, part: str, fn: Callable[..., Any]):
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self.current:
                return fn(*args, **kwargs)
            self.current, started = part, time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._add(part, started)
        return timed

    def _unit(self, part: str, unit: Callable[[], Any]):
        @asynccontextmanager
        async def timed() -> AsyncIterator[Any]:
            if self.current:
                async with unit() as u:
                    yield u
                return
            self.current, started = part, time.perf_counter()
            try:
                async with unit() as u:
                    yield u
            finally:
                self._add(part, started)
        return timed

    def _patch(self, owner: Any, name: str, wrapped: Any) -> None:
        had = name in vars(owner)
        old = vars(owner).get(name)
        setattr(owner, name, wrapped)
        self.undo.append(lambda: setattr(owner, name, old) if had else delattr(owner, name))

    def __enter__(self) -> Parts:
        site = self.site
        self._patch(site.web, "_session", self._async("session", site.web._session))
        self._patch(site.engine, "speaker", self._async("speaker", site.engine.speaker))
        self._patch(site.store, "unit", self._unit("queries", site.store.unit))
        for name in ("heatmap", "sector_balance", "participation", "timeline", "impact_trend"):
            self._patch(charts, name, self._sync("charts", getattr(charts, name)))
        self._patch(site.dashboard, "_page", self._sync("render", site.dashboard._page))
        return self

    def __exit__(self, *exc: object) -> None:
        for undo in reversed(self.undo):
            undo()

    async def measure(self, page: PageResult, runs: int) -> None:
        page.parts = {part: [] for part in (*PARTS, "other", "server")}
        for _ in range(runs):
            self.spent = dict.fromkeys(PARTS, 0.0)
            server, _, _ = await self.site.get(page.path)
            for part in PARTS:
                page.parts[part].append(self.spent[part])
            page.parts["other"].append(server - sum(self.spent.values()))
            page.parts["server"].append(server)


@dataclass
class DatabaseResult:
    db: str
    facts: str
    generation: list[str]
    pages: list[PageResult]


async def run_database(db: str, args: argparse.Namespace, movement: Movement, config: Config,
                       created: Created) -> DatabaseResult:
    print(f"\n{db}: creating and migrating a fresh database...", flush=True)
    url = await create_database(db, args, created)
    store = SqlStore(create_engine(url))
    try:
        print(f"{db}: generating the movement (not measured):", flush=True)
        generation = await generate(store.engine, movement, db, use_copy=not args.no_copy)
        facts = await server_facts(store.engine)
        async with Site(store, config, movement) as site:
            await site.sign_in()
            pages = await measure_pages(site, movement, args, db)
        return DatabaseResult(db, facts, generation, pages)
    finally:
        gc.unfreeze()
        await store.close()


async def measure_pages(site: Site, movement: Movement, args: argparse.Namespace, db: str) -> list[PageResult]:
    board = site.dashboard
    period = board._parse_period({})  # the page's own default period (the last 30 days to "now")
    principles, wanted, today = board._principles(), board._wanted(), board._today()
    ids = tuple(c.id for c in site.engine.config.coalitions)
    movement_scope = Scope(Audience.MOVEMENT, ids, period.since, period.until)
    busiest = movement.busiest
    # A coordinator leads no coalition: the coalition page shows what was shared with the movement.
    coalition_scope = Scope(Audience.MOVEMENT, (busiest,), period.since, period.until)
    span = f"{period.first:%Y-%m-%d} .. {period.last:%Y-%m-%d}"

    overview = PageResult(
        "overview", "/dashboard", f"GET /dashboard as a coordinator, {span}, the {len(ids)} coalitions",
        Series("page: server time (the handler)"), Series("page: client time (request to last byte)"),
        Series("unit.overview alone (the page's query)"),
        Series(f"store.digest alone (Audience.MOVEMENT, the {len(ids)} coalitions)"))
    coalition = PageResult(
        "coalition", f"/dashboard/coalition/{busiest}",
        f"GET /dashboard/coalition/{busiest} as a coordinator, {span}, {movement.names[busiest]}, the busiest",
        Series("page: server time (the handler)"), Series("page: client time (request to last byte)"),
        Series("the page's unit alone (digest, treasures, perspectives, ...)"),
        Series("store.digest alone (Audience.MOVEMENT, the one coalition)"))

    async def overview_alone():
        async with site.store.unit() as unit:
            return await unit.overview(movement_scope, principles, wanted, today)

    async def coalition_alone():
        # The coalition page's store.unit() block (adapters/web/dashboard.py, Dashboard.coalition).
        async with site.store.unit() as unit:
            digest = await unit.digest(coalition_scope, principles, wanted, today)
            treasures = await unit.treasures(busiest, period.since, period.until, LISTED)
            perspectives = await unit.perspectives(busiest, period.since, period.until, LISTED)
            frame = await unit.current_frame(busiest)
            round = await unit.open_round(busiest)
            answered = await unit.answered(round.id) if round else frozenset()
            experiment = await unit.experiment(round.experiment_id) if round else None
            return digest, treasures, perspectives, frame, round, answered, experiment

    steps = [
        Step(overview, "page", lambda: site.get(overview.path)),
        Step(overview, "queries", overview_alone),
        Step(overview, "digest", lambda: site.store.digest(movement_scope, principles, wanted, today)),
        Step(coalition, "page", lambda: site.get(coalition.path)),
        Step(coalition, "queries", coalition_alone),
        Step(coalition, "digest", lambda: site.store.digest(coalition_scope, principles, wanted, today)),
    ]
    # What `cocreate serve` does once started (bot/serve.py): start-up objects out of every
    # collection, young objects collected less often. The same for the pages and the queries alone.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    print(f"  {db}: {args.warmup} warm-up and {args.runs} timed rounds of both pages and their queries alone...",
          flush=True)
    started = time.perf_counter()
    for n in range(args.warmup + args.runs):
        for step in steps:
            await step.once(timed=n >= args.warmup)
    print(f"  {db}: measured in {time.perf_counter() - started:.0f} s", flush=True)
    await check_pages(site, movement, overview, coalition)

    print(f"  {db}: where the time goes...", flush=True)
    with Parts(site) as parts:
        for page in (overview, coalition):
            await parts.measure(page, args.profile_runs)
    for page in (overview, coalition):
        page.notes += await where_time_goes(site.store.engine, f"{page.name} page (GET {page.path})",
                                            lambda page=page: site.get(page.path))
    return [overview, coalition]


async def check_pages(site: Site, movement: Movement, overview: PageResult, coalition: PageResult) -> None:
    """The pages show what they should: every coalition on the overview, the coalition's name on its page."""
    _, _, body = await site.get(overview.path)
    text = body.decode("utf-8")
    missing = [cid for cid in movement.coalitions if f"/dashboard/coalition/{cid}" not in text]
    if missing:
        raise SetupError(f"the overview does not link {len(missing)} coalitions: {missing[:5]}")
    _, _, body = await site.get(coalition.path)
    if movement.names[movement.busiest] not in body.decode("utf-8"):
        raise SetupError(f"the page {coalition.path} does not name its coalition")


# ====================================================================== report


def print_report(args: argparse.Namespace, movement: Movement, results: list[DatabaseResult]) -> None:
    s = movement.size
    print()
    print(f"Dashboard: the overview and the busiest coalition's page, last 30 days, over a movement of "
          f"{s.coalitions} coalitions")
    print(f"  ({sum(map(len, movement.members.values())):,} members, {s.coalitions * s.experiments} experiments, "
          f"{s.stories:,} stories, {s.checkins:,} check-ins, {s.reflections:,} reflections over {YEAR} days)")
    print(f"  machine: nproc={os.cpu_count()} (usable {len(os.sched_getaffinity(0))}), "
          f"Python {platform.python_version()}, {platform.platform()}, "
          f"load avg before report {os.getloadavg()[0]:.2f}")
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}"
                         for p in ("aiohttp", "Jinja2", "SQLAlchemy", "aiosqlite", "asyncpg"))
    print(f"  {versions}; cocreate at {revision()}")
    print(f"  {args.runs} timed rounds after {args.warmup} warm-up rounds, seed {SEED}"
          f"{'; --quick' if args.quick else ''}; a round: each page and each query alone once, one at a time")
    print("  server time: an aiohttp middleware around the page's handler (session, speaker, queries, charts,")
    print("  rendering); client time: sending the request to having read the last byte (same process and event")
    print(f"  loop as the server). p99: nearest rank ({'the slowest of ' + str(args.runs) + ' runs' if args.runs < 100 else 'of the runs'}).")
    print("  NOTE: one noisy 2-core machine, PostgreSQL on the same CPUs, caches warm: compare each page with")
    print("        its queries alone in the same run, not these numbers with other machines'.")
    if args.warmup >= PG_GENERIC_AFTER:
        print(f"  PostgreSQL may run a prepared statement with a generic plan from its {PG_GENERIC_AFTER + 1}th "
              "execution on: the timed runs are a long-running server's steady state.")

    for r in results:
        print(f"\n{r.db}: {r.facts}")
        print("  generated in (not measured):")
        print("\n".join(r.generation))
        for page in r.pages:
            print(f"\n{r.db}, {page.name}: {page.header}; page {page.size / 1024:,.0f} KB")
            head = f"  {'measurement':<62} {'median ms':>10} {'p99 ms':>9} {'max ms':>9} {'x digest':>9}"
            print(head)
            print("  " + "-" * (len(head) - 2))
            digest = page.digest.median_ms
            for series in (page.server, page.client, page.queries, page.digest):
                print(f"  {series.label:<62} {series.median_ms:>10.1f} {series.p99_ms:>9.1f} {series.max_ms:>9.1f} "
                      f"{series.median_ms / digest:>9.2f}")
            if page.parts:
                n = len(page.parts["server"])
                spent = ", ".join(f"{part} {1000 * statistics.median(page.parts[part]):.1f}"
                                  for part in (*PARTS, "other"))
                print(f"  where the server time goes, medians of {n} instrumented requests (ms): {spent}; "
                      f"server {1000 * statistics.median(page.parts['server']):.1f}")
            for note in page.notes:
                print(f"  {note}")

    if len(results) > 1:
        print("\nSide by side (median / p99 ms)")
        print(f"  {'':<48}" + "".join(f"{r.db:>20}" for r in results))
        for i, page in enumerate(results[0].pages):
            for kind in ("server", "client", "queries", "digest"):
                row = [getattr(r.pages[i], kind) for r in results]
                print(f"  {page.name + ': ' + _short(kind):<48}"
                      + "".join(f"{f'{s.median_ms:,.1f} / {s.p99_ms:,.1f}':>20}" for s in row))
            print(f"  {page.name + ': page server time / digest alone':<48}"
                  + "".join(f"{f'x{r.pages[i].server.median_ms / r.pages[i].digest.median_ms:.2f}':>20}"
                            for r in results))

    print(f"\nAim: each page's server time, median < {MEDIAN_AIM_MS:.0f} ms and p99 < {P99_AIM_MS:,.0f} ms, "
          "on either database")
    for r in results:
        for page in r.pages:
            s = page.server
            met = s.median_ms < MEDIAN_AIM_MS and s.p99_ms < P99_AIM_MS
            print(f"  {r.db:<8} {page.name:<9} {'MET' if met else 'MISSED'}: median {s.median_ms:,.1f} ms, "
                  f"p99 {s.p99_ms:,.1f} ms (x{s.median_ms / page.digest.median_ms:.2f} the digest alone, "
                  f"{page.size / 1024:,.0f} KB)")


def _short(kind: str) -> str:
    return {"server": "page, server time", "client": "page, client time", "queries": "its queries alone",
            "digest": "the digest alone"}[kind]


# ====================================================================== main


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    dataset_options(parser, runs=20, what="rounds", keep="the generated databases and app.yaml (and print where)")
    parser.add_argument("--profile-runs", type=int, default=5,
                        help="instrumented requests per page for where the time goes (default 5)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 1 or args.profile_runs < 1:
        parser.error("--runs, --warmup and --profile-runs must be positive")
    return args



async def run(args: argparse.Namespace, created: Created) -> tuple[Movement, list[DatabaseResult]]:
    databases = [args.only] if args.only else list(DATABASES)
    if "postgres" in databases:
        await check_postgres(args)
    movement = new_movement(args.quick)
    config = app_config(movement, created.workdir)
    results = []
    for db in databases:
        results.append(await run_database(db, args, movement, config, created))
    return movement, results


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    signal.signal(signal.SIGTERM, interrupted_on_sigterm)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # app.yaml, and SQLite's file (create_database puts it here too); removed by clean_up.
    created = Created(workdir=Path(tempfile.mkdtemp(prefix="cocreate-bench-dashboard-")))
    started = time.monotonic()
    try:
        movement, results = asyncio.run(run(args, created))
        print(f"\nfinished in {time.monotonic() - started:.0f} s", flush=True)
        print_report(args, movement, results)
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
        if args.keep:
            print(f"kept app.yaml: {created.workdir / 'app.yaml'}")
        clean_up(created, args.keep)


if __name__ == "__main__":
    sys.exit(main())
