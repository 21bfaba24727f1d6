"""A real `cocreate serve` with Teams on, authenticated against a fake Bot Framework:
inbound tokens signed by the fake's keys, outbound tokens from its (TLS) token endpoint."""

from __future__ import annotations

import os

import pytest

from tests.fakes.teams import FakeConnector
from tests.fakes.teams_client import APP_ID
from tests.support import APP_YAML, start_server, stop_server

PASSWORD = "test-app-password"


@pytest.fixture
def connector():
    fake = FakeConnector(tls=True).start_in_thread()
    yield fake
    fake.stop()


@pytest.fixture
def teams_env(connector, sqlite_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "BOTFRAMEWORK_"))}
    env.update(DATABASE_URL=sqlite_url, COCREATE_CONFIG=str(APP_YAML),
               MICROSOFT_APP_ID=APP_ID, MICROSOFT_APP_PASSWORD=PASSWORD,
               COCREATE_POLL_SECONDS="0.1",  # the outbox is polled quickly, so tests need not wait
               COCREATE_PROGRESS_SECONDS="0.3",  # a round's live progress message, updated in place
               COCREATE_TICK_SECONDS="0.3")  # the planner: a closed round's summary is queued at once
    # The fake's OpenID metadata, issuer and login URL, through our BOTFRAMEWORK_* pass-through.
    for key, value in connector.bot_config(APP_ID, PASSWORD).items():
        if key not in ("APP_ID", "APP_PASSWORD"):
            env[f"BOTFRAMEWORK_{key}"] = value
    env.update(connector.env())  # trust the fake's TLS certificate
    return env


@pytest.fixture
def teams_server(tmp_path, teams_env):
    server = start_server(tmp_path, teams_env)
    yield server
    stop_server(server)
    assert "Traceback" not in server.logs(), server.logs()
