"""Golden Danish transcripts of the terminal chat: the real chat loop (`run_chat`) and the
outbox it delivers from, on the Danish sample movement, with the clock held still.

Run with UPDATE_GOLDEN=1 after an intended change of wording, and read the diff.
"""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path

import pytest

from adapters.console.chat import conversation, run_chat
from bot.cli import _console_outbox
from bot.config import load_config
from bot.engine import Engine
from flows.prompts import PRINCIPLES, PROMPTS, flat
from flows.registry import all_flows
from tests.golden import golden
from tests.support import Clock

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "app.da.yaml"
GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
async def engine(sqlite_url):
    from storage.repository import open_store

    store = open_store(sqlite_url)
    # Wednesday 2 December 2026, 10.00 in Fjordby: a working morning.
    clock = Clock(datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc))
    yield Engine(store, load_config(SAMPLE, flat(PROMPTS), PRINCIPLES), all_flows(), clock)
    await store.close()


async def session(engine: Engine, user: str, *typed: str) -> str:
    """One `cocreate chat --user USER` with the lines piped in; what the terminal shows."""
    ref = conversation(user, None)
    out = io.StringIO()
    stdin = io.StringIO("".join(f"{line}\n" for line in typed))
    await run_chat(engine, ref, stdin, out, interactive=False, outbox=_console_outbox(engine, ref))
    return out.getvalue()


async def test_joining_and_sharing_a_story(engine):
    said = await session(engine, "demo", "hjælp", "deltag", "banan", "2", "Fjordby Bageri",
                         "Lærepladser og et køkken", "ja", "Det gamle bibliotek", "et sted", "1",
                         "Lokaler om aftenen", "nej",
                         "historie", "Caféen på havnen", "Det startede med et spørgsmål", "1, 7",
                         "Erhvervsliv; Borger / bruger", "min koalition", "nej", "status")
    golden(GOLDEN / "join-and-story.txt", said)


async def test_framing_the_problem_from_the_outside_in(engine):
    said = await session(engine, "demo", "ramme", "1", "en borger", "Jeg ved ikke, hvem jeg skal spørge",
                         "Ingen samlet indgang til hjælp", "2", "Unge finder ikke vej til job", "4", "5", "4",
                         "ramme", "3", "1")
    golden(GOLDEN / "frame.txt", said)


async def test_an_experiment_and_its_check_in_round(engine):
    leader = await session(engine, "demo", "eksperiment", "Sommerjob-café", "En café hver fredag",
                           "Flere unge i job", "unge, arbejdsgivere", "Fjordby Bageri", "30.11.2026",
                           "15.1.2027", "Antal samtaler", "spring over", "indtjek")
    member = await session(engine, "jonas", "effekt 1", "4", "3", "4", "Flere unge kom",
                           "Naboerne klagede over støj", "spring over", "fortsæt")
    closing = await session(engine, "demo", "indtjek luk", "overblik")
    golden(GOLDEN / "experiment-and-check-in.txt",
           "\n".join(["# demo", leader, "# jonas", member, "# demo", closing]))
