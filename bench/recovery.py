"""How long does a check-in round take when its server is killed half-way?

A leader opens an impact check-in round for a coalition of `--members` Slack members (plus
the leader: one invitation each) on a real `cocreate serve` process; the fake Slack enforces
a workspace budget of `--rate` chat.postMessage a second and Slack's Tier 3 pace (about 50 a
minute) for conversations.open and conversations.history. After `--kill-after` invitations
reached Slack the server gets SIGKILL (no shutdown code runs) and a successor starts at once
on the same database. The rows the dead server had claimed wait for their lease to run out;
then each one is first looked up in the member's DM (conversations.open, conversations.history,
both Tier 3) before it may be sent again, so that nobody gets an invitation twice.

The baseline, in the same run: the floor, invitations / rate, the time the budget alone needs.
The aim (issue "Throughput"): the whole round, from the leader's command until every invite
row is marked sent, within 1.5 x floor + the lease, with every member invited exactly once
and no 429.

    .venv/bin/python bench/recovery.py                    # 300 members, 10/s, killed after 104, lease 8 s
    .venv/bin/python bench/recovery.py --runs 3
    .venv/bin/python bench/recovery.py --quick            # 100 members, killed after 35
    .venv/bin/python bench/recovery.py --db postgres

See bench/README.md. Exit status: 0 when every member got exactly one invitation (whether or
not the aim was met), 1 when one was lost or duplicated, 2 on a setup error, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `tests` lives in the repository, not in the installed package

from sqlalchemy.engine import make_url  # noqa: E402

from bench.common import (  # noqa: E402
    DEFAULT_PG_ADMIN_URL, PG_URL_ENV, SetupError, interrupted_on_sigterm, pg_admin_url, run_admin,
)
from storage import migrate  # noqa: E402
from tests.delivery.processes import (  # noqa: E402
    Tally, all_sent, cleanup, expected_users, invitations, invites, kill, open_round, outbox, seed_experiment,
    serve_env, tag, throttled_slack, wait_until,
)
from tests.support import start_server  # noqa: E402

TIER3_PER_MINUTE = 50  # conversations.open / conversations.history: Slack's Tier 3


@dataclass
class Run:
    number: int
    invitations: int
    rate: float
    lease: float
    killed_after: int  # invitations at Slack when the server was killed
    held: int  # invite rows the dead server held (state sending)
    posted_unacknowledged: int  # of which Slack had the message already
    wall: float  # the leader's command -> every invite row marked sent
    last_arrival: float  # the leader's command -> the last invitation reached Slack
    killed_at: float  # the leader's command -> SIGKILL
    history: int  # conversations.history calls
    history_span: tuple[float, float] | None  # the leader's command -> the first and the last of them
    opens: int  # conversations.open calls
    rate_limited: int
    duplicates: int
    lost: int
    load: float

    @property
    def floor(self) -> float:
        return self.invitations / self.rate

    @property
    def aim(self) -> float:
        return 1.5 * self.floor + self.lease

    @property
    def ratio(self) -> float:
        return self.wall / self.aim


async def fresh_database(args: argparse.Namespace, workdir: Path, name: str, created: list[str]) -> str:
    try:
        if args.db == "sqlite":
            url = f"sqlite+aiosqlite:///{(workdir / f'{name}.db').as_posix()}"
        else:
            admin = pg_admin_url(args)
            database = f"cocreate_bench_recovery_{secrets.token_hex(4)}_{name}"
            await run_admin(admin, f'CREATE DATABASE "{database}"')
            created.append(database)
            url = make_url(admin).set(database=database).render_as_string(hide_password=False)
        await migrate.upgrade(url)
        return url
    except Exception as error:
        raise SetupError(f"creating the {args.db} database failed: {error!r}") from error


def run_one(number: int, args: argparse.Namespace, workdir: Path, database_url: str) -> Run:
    users = expected_users(args.members)
    slack = throttled_slack(args.rate)
    for method in ("conversations.open", "conversations.history"):
        slack.limit(method, per_second=TIER3_PER_MINUTE / 60, key=None)
    here = workdir / f"run{number}"
    here.mkdir()
    env = serve_env(here, slack, database_url, members=args.members, rate=args.rate, lease=args.lease,
                    opens_per_minute=TIER3_PER_MINUTE)
    env["PYTHONPATH"] = str(ROOT)  # the servers run this checkout's code
    seed_experiment(database_url)
    first = second = None
    try:
        first = start_server(here, env, "first")
        started = time.monotonic()
        open_round(first, slack)
        wait_until(lambda: len(invitations(slack)) >= args.kill_after, 120, f"{args.kill_after} invitations", [first])
        kill(first)
        killed_at = time.monotonic()
        killed_after = len(invitations(slack))
        time.sleep(0.5)  # a COMMIT the dead server had written to its socket may still land
        held = [r for r in invites(outbox(database_url)) if r.state == "sending"]
        posted = {tag(c) for c in invitations(slack)}
        second = start_server(here, env, "second")
        wait_until(lambda: all_sent(database_url, len(users)), args.timeout, "every invite row marked sent",
                   [first, second], every=0.2)
        wall = time.monotonic() - started
        rows = outbox(database_url)
        tally = Tally.of(slack, rows, users)
        calls = invitations(slack)
        # Call.at is the fake's time.monotonic(): the same clock, one process.
        looked = sorted(c.at for c in slack.calls("conversations.history"))
        return Run(
            number=number, invitations=len(users), rate=args.rate, lease=args.lease, killed_after=killed_after,
            held=len(held), posted_unacknowledged=sum(1 for r in held if str(r.id) in posted),
            wall=wall, last_arrival=max(c.at for c in calls) - started, killed_at=killed_at - started,
            history=len(looked), history_span=(looked[0] - started, looked[-1] - started) if looked else None,
            opens=len(slack.calls("conversations.open")),
            rate_limited=slack.rate_limited(), duplicates=tally.duplicates, lost=len(tally.missing),
            load=os.getloadavg()[0],
        )
    finally:
        cleanup([first, second])
        slack.stop()


def report(args: argparse.Namespace, runs: list[Run]) -> None:
    print()
    print(f"Recovery: a {args.members}-member Slack check-in round ({args.members + 1} invitations with the "
          f"leader's), its server SIGKILLed after {args.kill_after} invitations, a successor started at once")
    print(f"  database {args.db}; chat.postMessage {args.rate:g}/s per workspace; conversations.open and "
          f".history {TIER3_PER_MINUTE}/min (Tier 3), app.yaml and the fake alike; lease {args.lease:g} s")
    print("  floor = invitations / rate; aim = 1.5 x floor + lease; wall = the leader's command -> every invite "
          "row marked sent")
    print()
    head = (f"  {'run':>3} {'floor s':>7} {'aim s':>6} {'wall s':>7} {'ratio':>6} {'killed at':>9} {'held':>5} "
            f"{'posted':>6} {'history':>7} {'opens':>5} {'last post':>9} {'lost':>4} {'dupes':>5} {'429s':>4} "
            f"{'load':>5}")
    print(head)
    print("  " + "-" * (len(head) - 2))
    for r in runs:
        print(f"  {r.number:>3} {r.floor:>7.1f} {r.aim:>6.1f} {r.wall:>7.1f} {'x' + format(r.ratio, '.2f'):>6} "
              f"{r.killed_at:>8.1f}s {r.held:>5} {r.posted_unacknowledged:>6} {r.history:>7} {r.opens:>5} "
              f"{r.last_arrival:>8.1f}s {r.lost:>4} {r.duplicates:>5} {r.rate_limited:>4} {r.load:>5.2f}")
    print("  held: invite rows the dead server had claimed (state sending at the kill); posted: of which Slack had "
          "the message already (its answer never came back)")
    for r in runs:
        if r.history_span:
            print(f"  run {r.number}: the look-ups (conversations.history) ran from {r.history_span[0]:.1f} s to "
                  f"{r.history_span[1]:.1f} s; the dead server's leases ran out at {r.killed_at + r.lease:.1f} s at "
                  f"the latest")
    worst = max(r.ratio for r in runs)
    verdict = "MET" if worst <= 1 else "MISSED"
    print(f"\nAim: wall <= 1.5 x floor + lease, every member invited exactly once: {verdict} "
          f"(worst x{worst:.2f} of the aim; lost {sum(r.lost for r in runs)}, duplicates "
          f"{sum(r.duplicates for r in runs)}, 429s {sum(r.rate_limited for r in runs)})")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=None, help="members besides the leader (default 300)")
    parser.add_argument("--rate", type=float, default=10.0,
                        help="chat.postMessage a second per workspace (default 10: floor 30 s for 300)")
    parser.add_argument("--kill-after", type=int, default=None,
                        help="SIGKILL once this many invitations reached Slack (default 104: about a third)")
    parser.add_argument("--lease", type=float, default=8.0, help="COCREATE_LEASE_SECONDS (default 8)")
    parser.add_argument("--runs", type=int, default=1, help="default 1")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite", help="default sqlite")
    parser.add_argument("--postgres-url", metavar="URL",
                        help="a PostgreSQL database with rights to create databases (default: "
                             f"${PG_URL_ENV[0]}, ${PG_URL_ENV[1]} or {DEFAULT_PG_ADMIN_URL})")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds after the kill to wait for every row (default 300)")
    parser.add_argument("--quick", action="store_true", help="100 members, killed after 35")
    args = parser.parse_args(argv)
    if args.members is None:
        args.members = 100 if args.quick else 300
    if args.kill_after is None:
        args.kill_after = 35 if args.quick else 104
    if args.members < 1 or args.rate <= 0 or args.runs < 1 or args.lease <= 0:
        parser.error("--members, --rate, --runs and --lease must be positive")
    if not 0 < args.kill_after <= args.members:
        parser.error("--kill-after must be between 1 and --members")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupted_on_sigterm)
    workdir = Path(tempfile.mkdtemp(prefix="cocreate-bench-recovery-"))
    created: list[str] = []
    runs: list[Run] = []
    try:
        for number in range(1, args.runs + 1):
            url = asyncio.run(fresh_database(args, workdir, f"run{number}", created))
            print(f"run {number}: {args.members} members, killed after {args.kill_after}...", flush=True)
            run = run_one(number, args, workdir, url)
            print(f"  wall {run.wall:.1f} s (aim {run.aim:.1f} s, x{run.ratio:.2f}); held {run.held}, history "
                  f"{run.history}, lost {run.lost}, duplicates {run.duplicates}, 429s {run.rate_limited}", flush=True)
            runs.append(run)
        report(args, runs)
        if any(r.lost or r.duplicates for r in runs):
            print("\nFAILED: an invitation was lost or sent twice")
            return 1
        return 0
    except SetupError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    except AssertionError as error:  # a wait timed out: the servers' logs are in the message
        print(f"bench: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nbench: interrupted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        admin = pg_admin_url(args) if created else None
        for database in created:
            try:
                asyncio.run(run_admin(admin, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            except Exception as error:  # noqa: BLE001 - report, and go on removing the rest
                print(f"bench: could not drop PostgreSQL database {database}: {error!r}", file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
