"""How many Teams turns a second does Cocreate answer when the Bot Connector is 150 ms away?

Issue "Throughput", Teams: botbuilder's connector client (msrest) sent every Bot Connector
call with `requests` in the default thread pool (min(32, cores + 4) threads), so with real
network latency a process could not answer more than about 40 activities a second, whatever its
CPU. This posts unique message activities (`status` by default) from 2,000 members, each in a
conversation of its own, at concurrency 50, to two servers (each its own process) whose every
reply goes to a fake Bot Connector (`tests.fakes.teams.FakeConnector`, a third process) that
answers after `--latency-ms` (150):

- bare: this script with `--serve-bare`, botbuilder's `CloudAdapter` on aiohttp with an echo
  bot (one reply per message), authentication off;
- cocreate: the real `cocreate serve`, Teams on with authentication off (TEAMS_LOCAL_TESTING),
  on a fresh SQLite file migrated with `cocreate db upgrade`, config tests/data/app.yaml with
  one member per activity of a burst added to its harbour coalition (so each writer is known).

    .venv/bin/python bench/teams_turns.py                   # 2,000 activities per server, 2 rounds
    .venv/bin/python bench/teams_turns.py --quick           # smoke run: 300 activities, 1 round
    .venv/bin/python bench/teams_turns.py --latency-ms 0    # the connector next door

Printed per server: errors, req/s (activities the endpoint answered per second), p50/p99 of
POST /api/messages, done in (first request to the last reply at the fake), replies/s, and the
server's CPU per activity; then the ratio Cocreate / bare and the goal (Cocreate's req/s at
least 4x bare's). Exit status: 0 when every activity was answered (200, or botbuilder's 201)
and replied to, 1 when some were not, 2 when a server could not be set up, 130 when
interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `tests.fakes` lives in the repository, not in the installed package

from bench.common import SetupError, Timed, interrupted_on_sigterm  # noqa: E402
from bench.processes import Child, print_failures, start_child, stop_children, serve_until_signalled  # noqa: E402
from bench.slack_ack import APP_YAML, log_summary, send_all  # noqa: E402

GOAL = 4.0  # Cocreate's req/s against bare's
REPLIES = ("reply", "send")  # the connector calls that carry an answer
ROUTINE = ("Slack: off", "Teams: on", "authentication is OFF", "runs the scheduler")  # start-up lines


# ====================================================================== servers

async def serve_fake(latency_ms: float) -> None:
    """The fake Bot Connector, plus /stats: how many replies reached it in conversations whose
    id starts with ?prefix=, and when the last of them arrived (time.monotonic(), which on
    Linux is one clock for every process)."""
    from aiohttp import web

    from tests.fakes.teams import FakeConnector

    fake = await FakeConnector(latency_ms=latency_ms).start()

    async def stats(request: web.Request) -> web.Response:
        prefix = request.query.get("prefix", "")
        arrived = [c.at for c in fake.calls() if c.kind in REPLIES and c.ok
                   and (c.conversation_id or "").startswith(prefix)]
        return web.json_response({"replies": len(arrived), "last": max(arrived, default=None)})

    app = web.Application()
    app.router.add_get("/stats", stats)
    await serve_until_signalled(app, lambda port: f"fake: listening on port {fake.root.rsplit(':', 1)[1]} {port}",
                                fake.close)


async def serve_bare() -> None:
    """The baseline: botbuilder's CloudAdapter and an echo bot, nothing of ours."""
    from types import SimpleNamespace

    from aiohttp import web
    from botbuilder.core import ActivityHandler, TurnContext
    from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(SimpleNamespace()))  # no APP_ID: auth off

    class Echo(ActivityHandler):
        async def on_turn(self, turn: TurnContext) -> None:
            try:
                await super().on_turn(turn)
            finally:
                # CloudAdapter builds a ConnectorClient per turn and never closes it: without
                # this, every turn leaves a requests session and its socket to the collector.
                client = turn.turn_state.get(CloudAdapter.BOT_CONNECTOR_CLIENT_KEY)
                if client is not None:
                    await client.__aexit__(None, None, None)

        async def on_message_activity(self, turn: TurnContext) -> None:
            await turn.send_activity(f"echo: {turn.activity.text}")

    bot = Echo()

    async def handle(request: web.Request) -> web.Response:
        return await adapter.process(request, bot)

    app = web.Application()
    app.router.add_post("/api/messages", handle)
    await serve_until_signalled(app, lambda port: f"bare: listening on port {port}")


# ====================================================================== the load


def member(i: int) -> str:
    return f"t{i:05d}"


def write_config(path: Path, n: int) -> Path:
    """tests/data/app.yaml with `n` more members in the harbour coalition, each with a Teams
    account: the load's writers are known (no roster look-up), one conversation each."""
    text = APP_YAML.read_text(encoding="utf-8")
    extra = "".join(f'  - {{id: {member(i)}, name: Member {i}, platforms: {{teams: "29:{member(i)}"}}}}\n'
                    for i in range(n))
    text = text.replace("coalitions:\n", extra + "coalitions:\n", 1)
    everyone = ", ".join(member(i) for i in range(n))
    text = text.replace("    members: [mo]\n", f"    members: [mo, {everyone}]\n", 1)
    path.write_text(text, encoding="utf-8")
    return path


def build(n: int, text: str, service_url: str, prefix: str) -> list[tuple[bytes, dict]]:
    """`n` message activities from `n` members, each in a personal conversation of its own
    (`<prefix><i>`, new in every burst); serialised before the clock starts."""
    from tests.fakes.teams_client import message

    headers = {"Content-Type": "application/json"}
    return [(json.dumps(message(text, user_id=f"29:{member(i)}", conversation_id=f"{prefix}{i}",
                                service_url=service_url)).encode(), headers)
            for i in range(n)]


@dataclass
class Burst(Timed):
    """One server's burst; `wall` is from the first request to the last answer."""

    done: float | None = None  # from the first request to the last reply at the fake (None: some never came)
    replies: int = 0
    cpu: float = 0.0  # server CPU seconds over the burst


async def fake_stats(session, stats_url: str, prefix: str) -> dict:
    async with session.get(stats_url, params={"prefix": prefix}) as response:
        return await response.json()


async def burst(session, args, server: str, url: str, child: Child, fake: Child, tag: str, n: int,
                timeout: float = 60.0) -> Burst:
    service_url = f"http://127.0.0.1:{fake.ports[0]}/"
    stats_url = f"http://127.0.0.1:{fake.ports[1]}/stats"
    prefix = f"a:bench-{tag}-"
    requests = build(n, args.text, service_url, prefix)
    cpu = child.cpu_seconds()
    started = time.monotonic()
    latencies, errors, wall, _ = await send_all(session, url, requests, args.concurrency, ok=(200, 201))
    cpu = child.cpu_seconds() - cpu
    deadline = time.monotonic() + timeout
    while (seen := await fake_stats(session, stats_url, prefix))["replies"] < n and time.monotonic() < deadline:
        await asyncio.sleep(0.1)  # a reply still on its way (not expected: each turn sends its own)
    done = seen["last"] - started if seen["replies"] >= n else None
    return Burst("message", server, latencies, errors, wall, done, seen["replies"], cpu)


async def measure(args, servers: dict[str, tuple[str, Child]], fake: Child) -> tuple[dict[str, list[Burst]], Counter]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=args.concurrency, limit_per_host=args.concurrency)
    results: dict[str, list[Burst]] = {name: [] for name in servers}
    warmup_errors: Counter = Counter()
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60),
                                     cookie_jar=aiohttp.DummyCookieJar()) as session:
        if args.warmup:
            # A member's first message to a process also stores their time zone and locale:
            # every member writes to Cocreate once first, so each round measures the same turns.
            print(f"warming up: every member writes to cocreate once, {args.warmup} activities to bare...", flush=True)
            for name, (url, child) in servers.items():
                n = max(args.warmup, args.requests) if name == "cocreate" else args.warmup
                warm = await burst(session, args, name, url, child, fake, f"w{name[0]}", n)
                warmup_errors.update(warm.errors)
                warmup_errors["never replied to"] += warm.n - warm.replies
        for r in range(args.rounds):
            print(f"round {r + 1} of {args.rounds}...", flush=True)
            names = list(servers) if r % 2 == 0 else list(servers)[::-1]  # alternate who goes first
            for name in names:
                url, child = servers[name]
                results[name].append(await burst(session, args, name, url, child, fake, f"{r}{name[0]}",
                                                 args.requests))
    return results, +warmup_errors


# ====================================================================== report


def report(args, results: dict[str, list[Burst]], warmup_errors: Counter, children: list[Child]) -> int:
    med = statistics.median
    print(f"\n{args.requests} `{args.text}` messages from {args.requests} members, a conversation each, concurrency "
          f"{args.concurrency}, Bot Connector {args.latency_ms:g} ms away, {args.rounds} round(s); medians")
    print(f"  machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before this report")
    head = (f"  {'server':<10} {'errors':>6} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'done in':>8} "
            f"{'replies/s':>9} {'CPU/activity':>12}")
    print(head + "\n  " + "-" * (len(head) - 2))
    rates: dict[str, float] = {}
    failed = sum(warmup_errors.values())
    for name, bursts in results.items():
        errors = sum(b.error_count for b in bursts)
        missing = sum(b.n - b.replies for b in bursts)
        failed += errors + missing
        rates[name] = med(b.n / b.wall for b in bursts)
        complete = all(b.done is not None for b in bursts)
        done = f"{med(b.done for b in bursts):.2f}s" if complete else "never"
        replies = f"{med(b.n / b.done for b in bursts):.0f}" if complete else f"{missing} lost"
        print(f"  {name:<10} {errors:>6} {rates[name]:>7.0f} {med(b.pct(50) for b in bursts):>8.0f} "
              f"{med(b.pct(99) for b in bursts):>8.0f} {done:>8} {replies:>9} "
              f"{1000 * med(b.cpu / b.n for b in bursts):>10.2f}ms")
    ratio = rates["cocreate"] / rates["bare"]
    print(f"\nRatio cocreate / bare: req/s x{ratio:.2f}")
    print(f"Goal: cocreate's req/s at least {GOAL:g}x bare's: {'MET' if ratio >= GOAL else 'MISSED'} "
          f"({rates['cocreate']:.0f} against {GOAL:g} x {rates['bare']:.0f} = {GOAL * rates['bare']:.0f})")

    def summary(text: str) -> list[str]:
        return [line for line in log_summary(text) if not any(r in line for r in ROUTINE)]

    print_failures(zip(*results.values()), warmup_errors, children, summary)
    verdict = f"FAILED: {failed} activities not answered 200 or never replied to" if failed else \
        "every activity answered and replied to"
    print(f"\n{verdict}")
    return 1 if failed else 0


# ====================================================================== main


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=None, help="activities per server per round (default 2000)")
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight (default 50)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds, alternating who goes first (default 2; --quick 1)")
    parser.add_argument("--warmup", type=int, default=50,
                        help="activities to bare before the rounds (default 50; cocreate: one per member; 0: none)")
    parser.add_argument("--latency-ms", type=float, default=150.0, help="the fake connector's delay (default 150)")
    parser.add_argument("--text", default="status", help="what the members write (default status)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 300 activities, 1 round")
    parser.add_argument("--keep-logs", metavar="DIR", type=Path, help="copy the servers' stderr into DIR")
    parser.add_argument("--cocreate", metavar="PATH", type=Path,
                        help="the cocreate command to run (db upgrade, serve), e.g. a wrapper that tries a change "
                             "(default: the one next to this Python)")
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.requests = args.requests or (300 if args.quick else 2000)
    args.rounds = args.rounds or (1 if args.quick else 2)
    if args.requests < 1 or args.concurrency < 1 or args.rounds < 1 or args.warmup < 0 or args.latency_ms < 0:
        parser.error("--requests, --concurrency and --rounds must be positive, --warmup and --latency-ms not negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.serve_fake:
        asyncio.run(serve_fake(args.latency_ms))
        return 0
    if args.serve_bare:
        asyncio.run(serve_bare())
        return 0
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    signal.signal(signal.SIGTERM, interrupted_on_sigterm)
    children: list[Child] = []
    workdir = Path(tempfile.mkdtemp(prefix="cocreate-teams-bench-"))
    python, me = sys.executable, str(Path(__file__).resolve())
    cocreate = args.cocreate or Path(sys.executable).parent / "cocreate"
    try:
        fake = start_child("fake connector", [python, me, "--serve-fake", "--latency-ms", str(args.latency_ms)],
                           "fake: listening on port", dict(os.environ), workdir, children)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "BOTFRAMEWORK_"))}
        config = write_config(workdir / "app.yaml", max(args.requests, args.warmup))
        env |= {"TEAMS_LOCAL_TESTING": "true", "COCREATE_CONFIG": str(config),
                "DATABASE_URL": f"sqlite+aiosqlite:///{(workdir / 'cocreate.db').as_posix()}"}
        migrated = subprocess.run([str(cocreate), "db", "upgrade"], cwd=workdir, env=env,
                                  capture_output=True, text=True, timeout=120)
        if migrated.returncode:
            raise SetupError(f"cocreate db upgrade failed:\n{migrated.stdout}{migrated.stderr}")
        bare = start_child("bare", [python, me, "--serve-bare"], "bare: listening on port", env, workdir, children)
        ours = start_child("cocreate", [str(cocreate), "serve", "--host", "127.0.0.1", "--port", "0"],
                           "cocreate: listening on port", env, workdir, children)
        servers = {"bare": (f"http://127.0.0.1:{bare.ports[0]}/api/messages", bare),
                   "cocreate": (f"http://127.0.0.1:{ours.ports[0]}/api/messages", ours)}
        started = time.monotonic()
        results, warmup_errors = asyncio.run(measure(args, servers, fake))
        print(f"measured in {time.monotonic() - started:.0f} s", flush=True)
        return report(args, results, warmup_errors, [bare, ours])
    except SetupError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nbench: interrupted; stopping the servers", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip the clean-up
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_children(children)
        if args.keep_logs:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            for log in workdir.glob("*.log"):
                shutil.copy(log, args.keep_logs / log.name)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
