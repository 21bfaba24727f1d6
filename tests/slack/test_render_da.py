"""Danish Block Kit: golden files for a message with a question, modals (every field kind, and
the story form) and the App Home, validated exactly like the English ones in test_render.py
(slack_sdk's models plus Slack's limits the SDK does not check).

Two sources: replies the real engine produced for a member who chose Danish (`sprog da`,
over a real store), and an `Ask` built from the library's Danish texts whose `chrome` is the
Danish `ui` group. Either way, none of the English chrome may show.

Regenerate the golden files with `UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/slack`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.slack.render import home, message, modal
from bot.cli import load
from bot.engine import Engine
from bot.types import ActionRef
from bot.ui import ENGLISH_CHROME, Ask, Divider, Field, Kind, Question, Reply, Text
from flows.common import choice, long_text, multi, scale, text
from flows.registry import all_flows
from storage.repository import open_store
from tests.golden import golden_json
from tests.slack.test_render import check_message, check_view
from tests.support import APP_YAML, FORMS, Chat, Clock, labels, texts

GOLDEN = Path(__file__).parent / "golden"
DA = texts("da")
CHROME = DA.group("ui")
ACTION = ActionRef("experiment", "form", 2)
MANY = {f"o{n}": f"Mulighed nummer {n}" for n in range(1, 13)}  # more than radio buttons take
# The English chrome words that differ from their Danish: none may reach a Danish member.
ENGLISH = {key: word for key, word in ENGLISH_CHROME.items() if CHROME.get(key) != word and "{" not in word}


def danish(*fields: Field, title: str, intro=(), errors=None, submit=None) -> Ask:
    return Ask(Question(title, fields, intro, submit), ACTION, errors or {}, chrome=CHROME)


EVERY_KIND = danish(
    text("title", DA["experiment.name"], max_length=150, initial="Biblioteket om aftenen",
         hint="Et par ord, som folk kan genkende"),
    long_text("body", DA["experiment.action"], required=False, max_length=10_000),
    choice("consent", DA["story.consent"], labels("consent", "da"), initial="coalition"),
    choice("many", DA["map.kind"], MANY, required=False),
    multi("sectors", DA["story.sectors"], labels("sector", "da"), initial="public,business"),
    multi("lots", DA["experiment.partners"], MANY, required=False, initial="o2, o11"),
    scale(None, "effect", DA.t("checkin.effect", group="unge"), DA["checkin.effect_low"], DA["checkin.effect_high"],
          initial="4"),
    Field("starts_on", DA["experiment.starts_on"], Kind.DATE, initial="2026-03-02"),
    Field("ends_on", DA["experiment.ends_on"], Kind.DATE, required=False, initial="til foråret"),
    title=DA["experiment.title"],
    intro=(Text(DA["experiment.intro"]), Divider()),
)  # no submit of its own: the language's "Send"

SCALE_ERROR = Reply(ask=danish(
    scale(None, "citizen_impact", DA["checkin.citizen_impact"], DA["checkin.impact_low"], DA["checkin.impact_high"]),
    title=DA.t("checkin.title", experiment="Biblioteket om aftenen"),
    errors={"citizen_impact": DA["answers.scale"]},
), chrome=CHROME)


def no_english(rendered: dict) -> str:
    """The rendered JSON, checked for English chrome; returned for further assertions."""
    said = json.dumps(rendered, ensure_ascii=False)
    leaked = {key: word for key, word in ENGLISH.items() if word in said}
    assert not leaked, f"English chrome in a Danish view: {leaked}"
    return said


def test_the_danish_chrome_differs_from_the_english():
    assert (CHROME["submit"], CHROME["cancel"], CHROME["answer"], CHROME["choose"]) == ("Send", "Annullér", "Svar", "Vælg …")
    assert {"submit", "cancel", "answer", "choose", "reply_here", "empty_home"} <= set(ENGLISH)


# -- built from the library's Danish texts -------------------------------------------------


def test_danish_modal_golden_for_every_field_kind():
    view = modal(EVERY_KIND, {"c": "D0123", "t": "T9"})
    check_view(view)
    golden_json(GOLDEN / "da_modal_every_kind.json", view)
    no_english(view)
    assert (view["title"]["text"], view["submit"]["text"], view["close"]["text"]) == ("Start i det små", "Send", "Annullér")
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    kinds = {fid: b["element"]["type"] for fid, b in inputs.items()}
    assert kinds == {
        "title": "plain_text_input", "body": "plain_text_input", "consent": "radio_buttons",
        "many": "static_select", "sectors": "checkboxes", "lots": "multi_static_select",
        "effect": "radio_buttons", "starts_on": "datepicker", "ends_on": "datepicker",
    }
    assert inputs["many"]["element"]["placeholder"]["text"] == "Vælg …"
    assert inputs["lots"]["element"]["placeholder"]["text"] == "Vælg …"
    assert inputs["consent"]["element"]["initial_option"]["text"]["text"] == "Min koalition"
    assert [o["text"]["text"] for o in inputs["sectors"]["element"]["initial_options"]] == ["Offentlig sektor", "Erhvervsliv"]
    assert [o["text"]["text"] for o in inputs["effect"]["element"]["options"]][::4] == ["1 (ingen effekt)", "5 (stor effekt)"]
    assert "initial_date" not in inputs["ends_on"]["element"]  # "til foråret" is no ISO date


def test_danish_message_golden_for_a_rating_with_an_error():
    body = message(SCALE_ERROR)
    check_message(body)
    golden_json(GOLDEN / "da_scale_error.json", body)
    no_english(body)
    blocks = body["blocks"]
    assert [b["type"] for b in blocks] == ["section", "context", "actions", "context"]
    assert blocks[1]["elements"][0]["text"] == ":warning: Svar med et helt tal fra 1 til 5."
    assert blocks[3]["elements"][0]["text"] == "1 = ingen … 5 = meget"


def test_a_danish_app_home_without_anything_to_show():
    view = home(Reply(chrome=CHROME))
    check_view(view)
    assert view["blocks"] == [{"type": "context", "elements": [
        {"type": "mrkdwn", "text": "Her er ikke noget endnu.", "verbatim": True}]}]


def test_a_danish_message_cut_at_fifty_blocks_points_to_the_rest_in_danish():
    body = message(Reply(tuple(Text(f"Linje {n}") for n in range(80)), chrome=CHROME))
    check_message(body)
    assert body["blocks"][-1]["elements"][0]["text"] == (
        "… 31 mere vises ikke. Brug `/cocreate status` eller et udtræk for resten.")


# -- what the engine says to a member who chose Danish ---------------------------------------


@pytest.fixture
async def chat(sqlite_url):
    """Mo in Slack, writing Danish by choice, against the real engine and a real store."""
    store = open_store(sqlite_url)
    try:
        chat = Chat(Engine(store, load(str(APP_YAML)), all_flows(), clock=Clock()), "U_MO", FORMS, platform="slack")
        assert await chat.say("sprog da") == "Fra nu af skriver jeg til dig på dansk."
        yield chat
    finally:
        await store.close()


async def test_danish_message_golden_for_a_choice_from_the_engine(chat):
    await chat.say("refleksion")
    [reply] = chat.replies
    body = message(reply)
    check_message(body)
    golden_json(GOLDEN / "da_reflect_choice.json", body)
    said = no_english(body)
    assert "Hvilket princip vil du reflektere over?" in said
    menu = body["blocks"][-1]["elements"][0]
    assert menu["type"] == "static_select" and menu["placeholder"]["text"] == "Vælg …"


async def test_danish_message_golden_for_a_typed_question_from_the_engine(chat):
    await chat.say("refleksion 3")
    [reply] = chat.replies
    body = message(reply)
    check_message(body)
    golden_json(GOLDEN / "da_reflect_text.json", body)
    no_english(body)
    assert body["blocks"][0]["elements"][0]["text"].startswith("Princip nr. 3:")  # the intro
    assert body["blocks"][1]["text"]["text"].startswith("*Princip nr. 3:")
    [button] = body["blocks"][-2]["elements"]
    assert (button["action_id"], button["text"]["text"]) == ("open_form", "Svar")
    assert body["blocks"][-1]["elements"][0]["text"] == "Eller svar her i chatten."


async def test_danish_modal_golden_for_the_story_form_from_the_engine(chat):
    await chat.say("historie")
    view = modal(chat.ask, {"c": "D_MO", "t": "T_TEST"})
    check_view(view)
    golden_json(GOLDEN / "da_story_modal.json", view)
    no_english(view)
    assert (view["submit"]["text"], view["close"]["text"]) == ("Del", "Annullér")
    assert view["title"]["text"] == "Del en ambassadørhistor…"  # Slack's 24 characters


async def test_danish_home_golden_from_the_engine(chat):
    await chat.say("historie")  # a form left open: the App Home shows it, waiting
    view = home(await chat.engine.overview(chat.ref, FORMS))
    check_view(view)
    golden_json(GOLDEN / "da_home.json", view)
    said = no_english(view)
    assert "*Din status i Harbour Youth*" in said and "*Venter på dit svar:* dele en ambassadørhistorie" in said
    [button] = view["blocks"][-1]["elements"]
    assert (button["action_id"], button["text"]["text"], button["style"]) == ("open_form", "Svar", "primary")
