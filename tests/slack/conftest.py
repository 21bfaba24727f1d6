"""A real `cocreate serve` process talking to a fake Slack Web API, both on random ports."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.slack import FakeSlack

SECRET = "test-signing-secret"
APP_YAML = Path(__file__).resolve().parent.parent / "data" / "app.yaml"
COCREATE = Path(sys.executable).parent / "cocreate"


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path
    database_url: str

    def logs(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def start_server(tmp_path: Path, env: dict[str, str], name: str = "serve") -> Server:
    log = tmp_path / f"{name}.log"
    with log.open("w") as stderr:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [str(COCREATE), "serve", "--host", "127.0.0.1", "--port", "0"],
            stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=tmp_path, env=env,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("cocreate: listening on port"):
            port = int(line.rsplit(" ", 1)[1])
            return Server(f"http://127.0.0.1:{port}", process, log, env["DATABASE_URL"])
        if not line and process.poll() is not None:
            break
    process.kill()
    raise RuntimeError(f"cocreate serve did not start:\n{log.read_text()}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    server.process.stdout.close()


@pytest.fixture
def fake_slack():
    slack = FakeSlack().start_in_thread()
    yield slack
    slack.stop()


@pytest.fixture
def slack_env(fake_slack, sqlite_url):
    return {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake_slack.url,
        "DATABASE_URL": sqlite_url,
        "COCREATE_CONFIG": str(APP_YAML),
    }


@pytest.fixture
def server(tmp_path, slack_env):
    server = start_server(tmp_path, slack_env)
    yield server
    stop_server(server)
    assert "Traceback" not in server.logs(), server.logs()
