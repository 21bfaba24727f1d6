"""A real `cocreate serve` process talking to a fake Slack Web API, both on random ports."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fakes.slack import FakeSlack
from tests.support import COCREATE, Server, start_server, stop_server  # noqa: F401 (used by Slack tests)

SECRET = "test-signing-secret"
APP_YAML = Path(__file__).resolve().parent.parent / "data" / "app.yaml"


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
        "COCREATE_POLL_SECONDS": "0.1",  # the outbox is polled quickly, so tests need not wait
        "COCREATE_PROGRESS_SECONDS": "0.3",  # a round's live progress message, updated in place
        "COCREATE_TICK_SECONDS": "0.3",  # the planner: a closed round's summary is queued at once
    }


@pytest.fixture
def server(tmp_path, slack_env):
    server = start_server(tmp_path, slack_env)
    yield server
    stop_server(server)
    assert "Traceback" not in server.logs(), server.logs()
