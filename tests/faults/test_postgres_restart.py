"""PostgreSQL restarted in the middle of a check-in round's fan-out (fault suite): a real
`cocreate serve` on a PostgreSQL server of this test's own (initdb in a temporary folder, so
the restart touches no other test), a 200-member round through a throttled fake Slack, and
`pg_ctl restart` when half the invitations are out. Every member gets exactly one invitation;
commands sent while the database is away are answered (with what they asked, or with "nothing
was recorded, send it again"), never dropped; the log says so in a line or two, no traceback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from storage import migrate
from tests.conftest import run_async
from tests.delivery.processes import (
    SECRET,
    Tally,
    all_sent,
    cleanup,
    expected_users,
    invitations,
    logs,
    open_round,
    outbox,
    seed_experiment,
    serve_env,
    slack_id,
    throttled_slack,
    wait_until,
)
from tests.fakes.slack_client import SlackSender, slash_command
from tests.support import start_server

RATE = 60
MEMBERS = 200


def _bin() -> Path | None:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return versions[-1].parent if versions else None


class Cluster:
    """A PostgreSQL server of its own, run as the postgres user on a free port."""

    def __init__(self) -> None:
        self.bin = _bin()
        self.dir = Path(tempfile.mkdtemp(prefix="cocreate-pg-", dir="/tmp"))
        self.data = self.dir / "data"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=60)

    def pg_ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w", *args)

    def start(self) -> Cluster:
        shutil.chown(self.dir, "postgres")
        self.run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self.pg_ctl("start")
        return self

    def stop(self) -> None:
        try:
            self.pg_ctl("-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster():
    if _bin() is None or shutil.which("runuser") is None:
        pytest.skip("needs Debian's PostgreSQL binaries (/usr/lib/postgresql/*/bin) and runuser")
    try:
        cluster = Cluster().start()
    except (subprocess.CalledProcessError, LookupError, PermissionError) as error:
        pytest.skip(f"cannot run a PostgreSQL server of our own here: {error}")
    run_async(migrate.upgrade(cluster.url))
    yield cluster
    cluster.stop()


@pytest.mark.postgres
def test_a_restart_mid_fan_out_loses_and_doubles_nothing(tmp_path, cluster):
    slack = throttled_slack(RATE)
    users = expected_users(MEMBERS)
    env = serve_env(tmp_path, slack, cluster.url, members=MEMBERS, rate=RATE, lease=5)
    seed_experiment(cluster.url)
    server = None
    try:
        server = start_server(tmp_path, env)
        open_round(server, slack)
        wait_until(lambda: len(invitations(slack)) >= len(users) // 2, 30, "half the invitations", [server])

        restarting = threading.Thread(target=cluster.pg_ctl, args=("-m", "fast", "restart"))
        restarting.start()
        asked, sender = [], SlackSender(secret=SECRET)
        for n in range(1, 16):  # members asking for their status while it restarts
            rid = f"during-{n}"
            request = slash_command("status", user=slack_id(n), channel="C_BIG", response_url=slack.response_url(rid))
            status, _ = sender.post_sync(server.url, request)
            assert status == 200  # acknowledged at once, whatever the database does
            asked.append(rid)
            time.sleep(0.1)
        restarting.join(timeout=60)

        wait_until(lambda: users <= {str(c.args["channel"]) for c in invitations(slack)}, 60,
                   "an invitation for everyone", [server])
        wait_until(lambda: all_sent(cluster.url, len(users)), 30, "every invite row marked sent", [server])

        def answered():
            return {c.path.rsplit("/", 1)[1] for c in slack.calls("response_url")}

        wait_until(lambda: set(asked) <= answered(), 20, "an answer to every command", [server])
        said = [str(c.args) for c in slack.calls("response_url") if c.path.rsplit("/", 1)[1] in asked]
        odd = [s for s in said if "Your status" not in s and "Nothing was recorded" not in s]
        assert not odd, odd
        tally = Tally.of(slack, outbox(cluster.url), users)
        print(f"\npostgres restart: {len(users)} invitations, duplicates={tally.duplicates} lost={len(tally.missing)}, "
              f"{sum('Nothing was recorded' in s for s in said)} of {len(asked)} commands asked to send again")
        tally.check(users)
    finally:
        cleanup([server])
        slack.stop()
    assert "Traceback" not in server.logs(), logs([server])
