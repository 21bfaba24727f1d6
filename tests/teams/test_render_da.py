"""Danish Adaptive Cards: golden files (`golden/da_*.json`) for the shapes the English goldens
cover, with Danish chrome (the `ui` words: submit button, placeholder, Teams' required-input
message, scale legend, "Saved.") and Danish texts, each validated against the Adaptive Cards
1.5 schema exactly as the English ones (`test_render.check`).

Two sources: Asks built here whose `chrome` is the Danish `ui` group, with errors produced by
the real answer parser in Danish; and replies the real engine produced for a Danish Teams
member (a Teams client with `locale: da-DK`), rendered as `adapters/teams/app.py` renders them.

Regenerate with `UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/teams`, then read the diff.
"""

from __future__ import annotations

import pytest

from adapters.teams.render import card, submitted, values
from bot.answers import AnswerError, parse
from bot.types import ActionRef, ConversationRef
from bot.ui import ENGLISH_CHROME, Ask, Divider, Field, Kind, Question, Reply, Text
from flows.common import choice, long_text, multi, scale, text
from tests.golden import golden_json
from tests.support import FORMS, Chat, Clock, labels, texts
from tests.teams.test_render import GOLDEN, check, walk

DA = texts("da")
UI = DA.group("ui")
ACTION = ActionRef("story", "write", 3)
SECTORS, CONSENT = labels("sector", "da"), labels("consent", "da")
PRINCIPLES = {str(n): DA.t("reflect.option", number=n, title=DA[f"principles.{n}.title"]) for n in range(1, 8)}
MANY = {f"o{n}": f"Mulighed nummer {n}" for n in range(1, 13)}


def ask(*fields: Field, title: str, intro=(), errors=None, submit: str | None = None) -> Ask:
    return Ask(Question(title, fields, intro, submit), ACTION, errors or {}, chrome=UI)


def reply(*blocks, ask: Ask | None = None) -> Reply:
    return Reply(blocks=tuple(blocks), ask=ask, chrome=UI)


def error(field: Field, raw: object, limit: int = 2000) -> str:
    """What the real answer parser says, in Danish, of an answer it cannot accept."""
    with pytest.raises(AnswerError) as caught:
        parse(field, raw, limit, DA)
    return str(caught.value)


# Every kind of field; no submit word of its own, so the button is the chrome's "Send".
EVERY_KIND = ask(
    text("title", DA["experiment.name"], max_length=150, initial="Åbent bibliotek om aftenen",
         hint="Et par ord, folk vil genkende"),
    long_text("body", DA["story.body"], required=False, max_length=10_000),
    choice("consent", DA["story.consent"], CONSENT, initial="coalition"),
    choice("many", "Vælg én af mange", MANY, required=False),
    multi("sectors", DA["story.sectors"], SECTORS, initial="public,business"),
    multi("lots", "Vælg nogle af mange", MANY, required=False, initial="o2, o11"),
    scale(None, "effect", "Hvor stor var effekten?", "ingen effekt", "stor effekt", initial="4"),
    Field("starts_on", DA["experiment.starts_on"], Kind.DATE, initial="2026-03-02"),
    Field("ends_on", DA["experiment.ends_on"], Kind.DATE, required=False, initial="til foråret"),
    title=DA["experiment.title"],
    intro=(Text(DA["experiment.intro"]), Divider()),
)
STORY_TITLE = text("title", DA["story.name"], max_length=150)
STORY_CONSENT = choice("consent", DA["story.consent"], CONSENT)
STORY = ask(STORY_TITLE, long_text("body", DA["story.body"]), multi("principles", DA["story.principles"], PRINCIPLES),
            STORY_CONSENT, title=DA["story.title"], intro=(Text(DA["story.intro"]),), submit=DA["story.submit"])
IMPACT = scale(None, "citizen_impact", DA["checkin.citizen_impact"], DA["checkin.impact_low"],
               DA["checkin.impact_high"])

CARDS = {
    # A form of every field kind.
    "da_form_every_kind": reply(Text("Lad os planlægge det."), ask=EVERY_KIND),
    # Inline answers: three buttons; a scale's five with its Danish legend and an error above them;
    # more than six options become a dropdown ("Vælg …") and the chrome's "Send".
    "da_choice_3": reply(Text("Perspektivet er gemt."), ask=ask(
        choice("next", "Hvad nu?", {"perspective": "Tilføj et perspektiv", "statement": "Skriv problemformuleringen",
                                   "done": "Stop for nu"}), title="Rammesæt problemet")),
    "da_scale_error": reply(ask=ask(IMPACT, title=DA.t("checkin.title", experiment="Åbent bibliotek"),
                                    intro=(Text("Uge 3 af *Åbent bibliotek*."),),
                                    errors={"citizen_impact": error(IMPACT, "9")})),
    "da_choice_8": reply(ask=ask(choice("principle", DA["reflect.pick"], PRINCIPLES), title="Refleksion")),
    # A form whose answers were refused: the parser's Danish reasons above their inputs.
    "da_form_errors": reply(ask=Ask(STORY.question, ACTION, {"title": error(STORY_TITLE, "x" * 180, 150),
                                                             "consent": error(STORY_CONSENT, "coalition,public")},
                                    chrome=UI)),
}

# What a member answered on the every-kind form, as Teams posts it, read as app.py reads it.
TEAMS_VALUE = {"cocreate": "story:write:3", "title": "Åbent bibliotek om aftenen", "body": "", "consent": "coalition",
               "many": "", "sectors": "public,citizen", "lots": "", "effect": "4", "starts_on": "2026-03-09",
               "ends_on": ""}


def english_chrome(data: dict) -> list[str]:
    """The English chrome words (Submit, Saved., Choose…, …) a Danish card shows."""
    english = {ENGLISH_CHROME[k] for k in ("submit", "saved", "choose", "required", "answer", "cancel")}
    shown = [v for e in walk(data) for k, v in e.items()
             if k in ("text", "title", "label", "placeholder", "errorMessage") and isinstance(v, str)]
    return [s for s in shown if s in english or s.startswith("1 = ") and " … 5 = " in s and "none" in s]


@pytest.mark.parametrize("name", CARDS)
def test_danish_card_golden(name):
    data = card(CARDS[name])
    check(data)
    golden_json(GOLDEN / f"{name}.json", data)
    assert english_chrome(data) == []


def test_the_danish_chrome_is_on_the_cards():
    form = card(CARDS["da_form_every_kind"])
    inputs = {e["id"]: e for e in form["body"] if e["type"].startswith("Input.")}
    assert {e["errorMessage"] for e in inputs.values() if e["isRequired"]} == {"Her skal du svare."}
    assert inputs["many"]["placeholder"] == "Vælg …" and inputs["many"]["style"] == "compact"
    assert [c["title"] for c in inputs["effect"]["choices"]] == ["1 (ingen effekt)", "2", "3", "4", "5 (stor effekt)"]
    assert [c["title"] for c in inputs["sectors"]["choices"]][:2] == ["Offentlig sektor", "Erhvervsliv"]
    assert form["body"][-1]["actions"][0]["title"] == "Send"

    scale_card = card(CARDS["da_scale_error"])["body"]
    assert scale_card[2]["text"] == "Svar med et helt tal fra 1 til 5." and scale_card[2]["color"] == "Attention"
    assert scale_card[-1]["text"] == f"1 = {DA['checkin.impact_low']} … 5 = {DA['checkin.impact_high']}"

    menu = card(CARDS["da_choice_8"])["body"]
    assert menu[0]["placeholder"] == "Vælg …" and menu[1]["actions"][0]["title"] == "Send"

    errors = [e["text"] for e in card(CARDS["da_form_errors"])["body"] if e.get("color") == "Attention"]
    assert errors == ["Det er 180 tegn; hold det på højst 150.",
                      "Jeg forstod ikke 'coalition,public'. Svar med et tal fra 1 til 4 eller navnet på en mulighed."]


def test_danish_submitted_golden_is_a_read_only_record():
    raw = values(EVERY_KIND, TEAMS_VALUE)
    data = submitted(EVERY_KIND, raw)
    check(data)
    golden_json(GOLDEN / "da_submitted.json", data)
    assert not [e for e in walk(data) if str(e.get("type", "")).startswith(("Input.", "Action"))]
    facts = {f["title"]: f["value"] for f in data["body"][1]["facts"]}
    assert facts[DA["story.consent"]] == "Min koalition"
    assert facts[DA["story.sectors"]] == "Offentlig sektor, Borger / bruger"
    assert facts[DA["experiment.ends_on"]] == facts["Vælg nogle af mange"] == "—"
    assert data["body"][-1]["text"] == "Gemt." and data["body"][-1]["isSubtle"] is True
    assert english_chrome(data) == []


# -- what the real engine sends a Danish Teams member ------------------------------------


@pytest.fixture
async def danish_member(sqlite_url):
    """Mo on Teams, their client in Danish, talking to the real engine (clock held still)."""
    from bot.config import load_config
    from bot.engine import Engine
    from flows.prompts import PRINCIPLES as LIBRARY_PRINCIPLES, PROMPTS, flat
    from flows.registry import all_flows
    from storage.repository import open_store
    from tests.flows.conftest import DATA

    store = open_store(sqlite_url)
    engine = Engine(store, load_config(DATA / "app.yaml", flat(PROMPTS), LIBRARY_PRINCIPLES), all_flows(), Clock())
    chat = Chat(engine, "29:mo", FORMS, platform="teams")
    chat.ref = ConversationRef("teams", "t-1", "a:mo", "29:mo", extra={"kind": "personal", "locale": "da-DK"})
    yield chat
    await store.close()


async def test_the_engines_danish_story_card_its_errors_and_its_record(danish_member):
    chat = danish_member
    await chat.say("historie")
    [asked] = chat.replies
    form = card(asked)
    check(form)
    golden_json(GOLDEN / "da_engine_story.json", form)
    assert english_chrome(form) == []
    assert form["body"][1]["text"] == "Del en ambassadørhistorie"

    # Submitted with a title missing: the card the bot puts in place of the form.
    answer = {"cocreate": asked.ask.action.encode(), "title": "", "body": "Det startede med et spørgsmål",
              "principles": "1,7", "sectors": "citizen", "consent": "coalition", "named": "no"}
    await chat.submit(values(asked.ask, answer))
    [rejected] = chat.replies
    errors = card(rejected)
    check(errors)
    golden_json(GOLDEN / "da_engine_story_errors.json", errors)
    assert [e["text"] for e in errors["body"] if e.get("color") == "Attention"] == ["Her skal du svare."]
    assert english_chrome(errors) == []

    # Accepted: the form becomes a read-only record of the answers (as app.py draws it).
    answer["title"] = "Caféen på havnen"
    raw = values(rejected.ask, answer)
    await chat.submit(raw)
    assert "Din historie *Caféen på havnen* er gemt." in chat.replies[0].blocks[0].text
    record = submitted(rejected.ask, raw)
    check(record)
    golden_json(GOLDEN / "da_engine_story_submitted.json", record)
    assert record["body"][-1]["text"] == "Gemt." and english_chrome(record) == []


async def test_the_engines_danish_principle_menu(danish_member):
    await danish_member.say("refleksion")
    [asked] = danish_member.replies
    menu = card(asked)
    check(menu)
    golden_json(GOLDEN / "da_engine_reflect.json", menu)
    [dropdown] = [e for e in menu["body"] if e["type"] == "Input.ChoiceSet"]
    assert dropdown["placeholder"] == "Vælg …" and len(dropdown["choices"]) == 7
    assert english_chrome(menu) == [] and menu["body"][-1]["actions"][0]["title"] == "Send"
