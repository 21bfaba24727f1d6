from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config
from bot.engine import Engine
from flows.prompts import PRINCIPLES, PROMPTS, flat
from flows.registry import all_flows

from tests.support import Clock

DATA = Path(__file__).parent.parent / "data"


@pytest.fixture
def config():
    return load_config(DATA / "app.yaml", flat(PROMPTS), PRINCIPLES)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def engine(store, config, clock):
    return Engine(store, config, all_flows(), clock)
