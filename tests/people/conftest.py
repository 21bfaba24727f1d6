"""A real `cocreate serve` whose app.yaml names people by email, with the fake Slack Web API
and the fake Bot Framework connector (each test picks which platforms are on)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.slack.conftest import fake_slack, slack_env  # noqa: F401 (fixtures)
from tests.support import start_server, stop_server
from tests.teams.conftest import connector, teams_env  # noqa: F401 (fixtures)

PEOPLE_YAML = Path(__file__).resolve().parent.parent / "data" / "people.yaml"


@pytest.fixture
def people_env(slack_env):
    return {**slack_env, "COCREATE_CONFIG": str(PEOPLE_YAML)}


@pytest.fixture
def both_env(slack_env, teams_env):
    slack = {k: v for k, v in slack_env.items() if k.startswith("SLACK_")}
    return {**teams_env, **slack, "COCREATE_CONFIG": str(PEOPLE_YAML)}


@pytest.fixture
def serving(tmp_path):
    """Start servers with `serving(env)`; each is stopped (and its log checked) at the end.
    Ask for it after the fakes, so the servers stop before the fakes they talk to."""
    started = []

    def start(env, name="serve"):
        started.append(start_server(tmp_path, env, name))
        return started[-1]

    yield start
    for server in started:
        stop_server(server)
        logs = server.logs()
        assert "Traceback" not in logs, logs
        # Emails are personal data: never in the log, whatever the platforms answered.
        assert "@example." not in logs.lower(), logs
