"""The scheduler and the delivery loop on a real database, with a controllable clock and a
recording sender standing in for a platform (the platforms' own senders are tested against
the fake Slack and Teams servers in tests/slack and tests/teams)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.config import load_config
from bot.delivery import Delivery
from bot.engine import Engine
from bot.ports import Delivered, DeliveryError
from bot.scheduler import Planner
from flows.prompts import PRINCIPLES, PROMPTS, flat
from flows.registry import all_flows

from tests.support import APP_YAML, Clock

SCHEDULES = [
    {"id": "weekly-principle", "kind": "principle", "days": ["mon"], "time": "09:00"},
    {"id": "monthly-story", "kind": "story", "days": ["tue"], "time": "10:00", "every": "month"},
]


WORKING_WEEK = {"quiet_hours": "20:00-08:00", "work_days": ["mon", "tue", "wed", "thu", "fri"]}


def make_config(tmp_path: Path, schedules=SCHEDULES, delivery=WORKING_WEEK, source: Path = APP_YAML):
    data = yaml.safe_load(source.read_text())
    data["schedules"] = schedules
    data["delivery"] = delivery
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_config(path, flat(PROMPTS), PRINCIPLES)


class Recorder:
    """A platform that delivers instantly and remembers what it was given. `fail` maps a
    member id to the errors their next sends raise, in order."""

    can_check_sent = True

    def __init__(self, config, platform: str = "slack"):
        self.config, self.platform = config, platform
        self.sent: list[tuple[str, object, str]] = []
        self.channel_posts: list[tuple[str, object]] = []
        self.updates: list[tuple[Delivered, object]] = []
        self.fail: dict[str, list[DeliveryError]] = {}

    def reaches(self, member_id: str) -> bool:
        return bool(self.config.address(member_id, self.platform))

    async def to_member(self, member_id, reply, tag):
        if self.fail.get(member_id):
            raise self.fail[member_id].pop(0)
        self.sent.append((member_id, reply, tag))
        return Delivered(self.platform, f"D-{member_id}", f"m{len(self.sent)}")

    async def to_channel(self, coalition_id, reply, tag):
        if not self.config.coalition(coalition_id).channels.get(self.platform):
            return None
        self.channel_posts.append((coalition_id, reply))
        return Delivered(self.platform, f"C-{coalition_id}", f"c{len(self.channel_posts)}")

    async def update(self, where, reply):
        self.updates.append((where, reply))

    async def already_sent(self, member_id, tag, since):
        hit = next((s for s in self.sent if s[0] == member_id and s[2] == tag), None)
        return Delivered(self.platform, f"D-{member_id}", "found") if hit else None

    def texts(self, member_id: str | None = None) -> list[str]:
        return ["\n".join(getattr(b, "text", "") for b in reply.blocks)
                for m, reply, _ in self.sent if member_id in (None, m)]


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def config(tmp_path):
    return make_config(tmp_path)


@pytest.fixture
def engine(store, config, clock):
    return Engine(store, config, all_flows(), clock)


@pytest.fixture
def recorder(config):
    return Recorder(config)


@pytest.fixture
def planner(store, config, clock):
    return Planner(store, config, clock, platforms=frozenset({"slack"}))


@pytest.fixture
def delivery(store, config, clock, recorder, engine):
    return Delivery(store, engine.config, {"slack": recorder}, clock=clock, compose=engine.compose, worker="w1")  # as serve: the live config
