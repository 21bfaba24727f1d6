"""A real `cocreate serve` whose app.yaml names people by email, with the fake Slack Web API
and the fake Bot Framework connector (each test picks which platforms are on)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.slack.conftest import fake_slack, slack_env  # noqa: F401 (fixtures)
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
def log_checks():
    def no_email(logs: str) -> None:  # emails are personal data: never in the log
        assert "@example." not in logs.lower(), logs

    return (no_email,)
