"""No English in a Danish conversation: every flow, step and reply kind, walked in Danish
through the real engine and rendered by every renderer (terminal, Slack Block Kit, Teams
Adaptive Cards), plus what the outbox sends and the reports.

Two nets catch a leak. Every English text of the library is marked before the catalogs
are laid over it, so a key the Danish catalog lacks shows the mark; and a list of words
only English uses catches a Python literal that never went through the library.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable

import pytest

from adapters.console.render import render as console
from adapters.slack import render as slack
from adapters.teams import render as teams
from bot.config import Config, load_config
from bot.engine import Engine, dress
from bot.messages import Messages
from bot.ports import Outgoing
from bot.types import Capabilities
from bot.ui import Reply
from flows.prompts import PRINCIPLES, PROMPTS, flat
from flows.registry import all_flows
from tests.support import FORMS, Chat, Clock

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "app.da.yaml"
MARK = "‹EN›"
# Words a Danish text never has (and user input in this test never has either).
ENGLISH = set("""
the you your please type what which this that there have has will would could should about
yes nothing thank thanks answer answers story stories members member check round open closed sent
until digest schedule principle week share shared saved submit cancel choose reply here where who
why how when with from into only more none skip leaders coalition movement people voice impact
join welcome table still missing mapped experiment small register frame perspective statement
outside reflect reflection status next days ago new our their they them because not no one
""".split()) - {"status", "eksperiment"}


def marked(config: Config) -> Config:
    """The same configuration with every English source text marked."""
    fields = {name: getattr(config, name) for name in Config.model_fields}
    return Config(**fields | {"library": {k: MARK + v for k, v in config.library.items()}})


@pytest.fixture
def danish(sqlite_url) -> Config:
    return marked(load_config(SAMPLE, flat(PROMPTS), PRINCIPLES))


@pytest.fixture
async def da_store(sqlite_url):
    from storage.repository import open_store

    store = open_store(sqlite_url)
    yield store
    await store.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc))


@pytest.fixture
def da_engine(da_store, danish, clock) -> Engine:
    return Engine(da_store, danish, all_flows(), clock)


def visible(payload: Any) -> Iterable[str]:
    """The strings a person sees in a Block Kit or Adaptive Card payload."""
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key in ("text", "title", "label", "placeholder", "errorMessage") and isinstance(value, str):
                yield value
            elif key == "facts":
                for fact in value:
                    yield fact["title"]
                    yield fact["value"]
            else:
                yield from visible(value)
    elif isinstance(payload, list):
        for item in payload:
            yield from visible(item)


class Seen:
    """Everything shown, rendered by every renderer."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []  # (where, text)

    def replies(self, replies: list[Reply], where: str) -> None:
        for reply in replies:
            self.texts.append((f"{where} console", console(reply)))
            self.texts += [(f"{where} slack", t) for t in visible(slack.message(reply))]
            self.texts += [(f"{where} teams", t) for t in visible(teams.card(reply))]
            if reply.ask:
                self.texts += [(f"{where} modal", t) for t in visible(slack.modal(reply.ask, {}))]
                values = {f.id: None for f in reply.ask.question.fields}
                self.texts += [(f"{where} answered", t) for t in visible(teams.submitted(reply.ask, values))]
        self.texts += [(f"{where} home", t) for reply in replies for t in visible(slack.home(reply))]

    def leaks(self) -> list[str]:
        found = []
        for where, text in self.texts:
            if MARK in text:
                found.append(f"{where}: untranslated: {text[:160]!r}")
            prose = re.sub(r"`cocreate [^`]*`", "", text)  # a shell command line is not prose
            prose = re.sub(r"https?://\S+", "", prose)  # nor is a link
            english = sorted({w for w in re.findall(r"[A-Za-z]+", prose) if w.lower() in ENGLISH})
            if english:
                found.append(f"{where}: English {english}: {text[:160]!r}")
        return found


class Walker:
    def __init__(self, engine: Engine, seen: Seen, user: str, caps: Capabilities) -> None:
        self.chat, self.seen, self.user = Chat(engine, user, caps), seen, user

    async def say(self, *lines: str) -> str:
        out = ""
        for line in lines:
            out = await self.chat.say(line)
            self.seen.replies(self.chat.replies, f"{self.user} '{line}'")
        return out

    async def submit(self, values: dict, action=None) -> str:
        out = await self.chat.submit(values, action=action)
        self.seen.replies(self.chat.replies, f"{self.user} submit")
        return out


async def walk(engine: Engine, caps: Capabilities, seen: Seen) -> None:
    demo = Walker(engine, seen, "demo", caps)  # leader of unge-i-job
    jonas = Walker(engine, seen, "jonas", caps)  # member there
    await demo.say("hjælp", "", "noget-andet", "afbryd")
    # join, with bad answers, then a hidden treasure
    await demo.say("deltag", "banan", "9", "2", "", "Fjordby Bageri", "Lærepladser og et køkken", "1")
    await demo.say("Det gamle bibliotek", "1", "offentlig sektor", "Lokaler om aftenen", "2")
    await demo.say("kortlæg", "Havnens Idrætsforening", "4", "3", "Baner og trænere", "nej")
    await demo.say("styrker", "Et fælles sommerjob", "Vi lyttede til de unge", "Flere sommerjob", "spring over")
    # framing: perspective, statement, interruptions, close
    await demo.say("ramme", "1", "1", "Jeg ved ikke, hvem jeg skal spørge", "Ingen samlet indgang", "2")
    await demo.say("Unge finder ikke vej til job", "9", "4", "5", "4")
    await demo.say("hjælp", "status", "ramme")
    await demo.say("3", "3", "1")
    # an experiment, with every refusal of a timebox
    await demo.say("eksperiment", "Sommerjob-café", "En café hver fredag", "Flere unge i job",
                   "unge, forældre, arbejdsgivere, lærere, naboer, frivillige, klubber", "Bageriet",
                   "i morgen", "2026-12-07", "2026-12-01", "Antal samtaler", "")  # ends before it starts
    await demo.say("2028-12-01", "Antal samtaler", "")  # too long
    await demo.say("2027-01-15", "Antal samtaler", "")  # too many groups
    await demo.say("unge, arbejdsgivere", "Bageriet", "2026-11-30", "2027-01-15", "Antal samtaler", "spring over")
    # a check-in round, a member's answer, and closing it
    await jonas.say("indtjek")  # a member may not
    await demo.say("indtjek", "indtjek")
    await jonas.say("effekt", "4", "3", "4", "Flere unge kom", "Naboerne klagede over støj",
                    "Billeder fra caféen", "1")
    await jonas.say("effekt")
    await demo.say("indtjek luk", "indtjek luk")
    # principles, stories, status, digest, schedules, coordinators, language
    await demo.say("refleksion 99", "refleksion 3", "Vi hørte de unges egne idéer")
    await demo.say("refleksion", "2", "Vi brød med vanen")
    await demo.say("historie", "Caféen på havnen", "Det startede med et spørgsmål", "1, 7",
                   "Erhvervsliv; Borger / bruger", "2", "nej")
    await demo.say("historie tilbagetræk", "1", "2", "historie tilbagetræk", "1", "1", "historie tilbagetræk")
    await demo.say("status", "overblik", "overblik 7d", "overblik alle", "overblik 400d", "overblik hmm hmm")
    await demo.say("tidsplan", "tidsplan pause ugens-princip", "tidsplan genoptag ugens-princip",
                   "tidsplan tid ugens-princip 25:00", "tidsplan tid ugens-princip 08:30", "tidsplan hmm",
                   "tidsplan pause findes-ikke")
    await demo.say("koordinator liste", "koordinator tilføj jonas")
    mette = Walker(engine, seen, "mette", caps)  # a coordinator
    await mette.say("koordinator liste", "koordinator tilføj jonas", "koordinator liste", "koordinator fjern jonas",
                    "koordinator hmm", "overblik alle", "overblik unge-i-job 30d")
    await jonas.say("ramme luk", "overblik", "koordinator liste", "overblik alle")
    await demo.say("sprog", "sprog fr", "sprog da", "sprog auto")
    await demo.say("deltag", "status", "afbryd", "afbryd")


async def outbox(engine: Engine, seen: Seen) -> None:
    """What the outbox composes for a Danish member: scheduled prompts, invitations,
    reminders, the leader's progress, the channel's summary, an unreachable notice."""
    messages = Messages(engine.store, engine.config)
    texts = await messages.texts("jonas", "unge-i-job")
    [round] = await engine.store.rounds()
    replies = [await messages.prompt({"kind": "principle", "number": 4}, texts),
               await messages.prompt({"kind": "story"}, texts),
               await messages.prompt({"kind": "strengths"}, texts),
               await messages.invite(round, texts),
               await messages.invite(round, texts, reminder=True),
               await messages.progress(round, texts),
               await messages.summary(round, texts),
               await messages.notice({"member": "jonas", "platform": "slack", "reason": "account_inactive"},
                                     "unge-i-job", "demo", texts),
               await messages.notice({"since": await _two_failed(engine)}, "unge-i-job", None, texts)]
    seen.replies([dress(r, texts) for r in replies], "outbox")


async def _two_failed(engine: Engine) -> str:
    """Two members' messages refused for good this hour: what a leaders' summary lists."""
    now = datetime.now(timezone.utc)
    store = engine.store
    await store.enqueue([Outgoing("test", "1", f"member:{m}", "unge-i-job", "prompt", {}, now) for m in ("jonas", "demo")],
                        now)
    for row in await store.claim("w", now, 10, timedelta(minutes=1)):
        await store.failed(row.id, "w", "account_inactive", now, "slack")
    return now.replace(minute=0, second=0, microsecond=0).isoformat()


async def test_a_danish_conversation_has_no_english(da_engine):
    """Asked one field at a time (the terminal), and every question also drawn as a Slack
    modal and a Teams form."""
    seen = Seen()
    await walk(da_engine, Capabilities(), seen)
    await outbox(da_engine, seen)
    assert len(seen.texts) > 500  # the walk really went through the flows
    assert seen.leaks() == []


async def test_the_nets_catch_a_leak(da_engine):
    """The test above would fail on a missing translation and on an English literal."""
    seen = Seen()
    seen.replies([Reply.text(MARK + "Anything")], "untranslated")
    seen.replies([Reply.text("Vi takker. Please try again.")], "literal")
    leaks = seen.leaks()
    assert any(leak.startswith("untranslated console: untranslated") for leak in leaks)
    assert any(leak.startswith("literal console: English ['Please']") for leak in leaks)


async def test_forms_refusals_and_a_stale_click_are_danish(da_engine):
    seen = Seen()
    demo = Walker(da_engine, seen, "demo", FORMS)
    await demo.say("historie")
    old = demo.chat.ask.action
    await demo.say("et svar skrevet i chatten")  # a form is open: answer it there
    await demo.submit({"title": "", "body": "x" * 5000, "principles": ["99"], "sectors": [],
                       "consent": "alle", "anonymous": "yes"})
    assert len(demo.chat.ask.errors) >= 4
    await demo.say("afbryd")
    await demo.submit({"title": "x"}, action=old)
    assert "kommet videre" in console(demo.chat.replies[0])
    await demo.say("eksperiment")
    await demo.submit({"title": "Café", "action": "Kaffe", "effect": "Job", "stakeholders": "unge",
                       "partners": "", "starts_on": "2026-12-07", "ends_on": "2026-12-01",
                       "measures": "Samtaler", "owner": ""})
    assert seen.leaks() == []
