"""Block Kit output: golden files for the shapes the flows produce, slack_sdk's own validators
on everything rendered, and Slack's limits checked directly (the SDK misses several).

What slack_sdk 3.x validates, read from `slack_sdk/models`: `validate_json()` runs only the
object's OWN validators (a block does not check its elements), while `to_dict()` validates
recursively. Unknown keys are only logged at debug level, and the SDK does not check:
blocks per message, section field / context text lengths, options per radio or checkbox
group, radio_buttons option texts (kept as raw dicts), plain_text_input max_length, or
anything about the text's escaping. So `check_blocks` does both, plus `own_limits`.

Regenerate the golden files with `UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/slack`.
"""

from __future__ import annotations
from tests.support import labels, texts

EN = texts("en")
SECTOR_LABELS, CONSENT_LABELS = labels("sector"), labels("consent")

import json
from pathlib import Path

import pytest
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from adapters.slack import render
from adapters.slack.render import form_errors, home, message, modal, parse_answer_value, view_values
from bot.answers import parse
from bot.types import ActionRef
from bot.ui import Ask, Button, Buttons, Context, Divider, Field, Kind, Question, Reply, Section, Text
from flows.common import choice, long_text, multi, scale, text, yes_no
from tests.golden import golden_json

GOLDEN = Path(__file__).parent / "golden"
ACTION = ActionRef("story", "write", 3)
PRINCIPLES = {str(n): f"#{n} {title}" for n, title in enumerate(
    ["Start from the challenge", "Everyone at the table", "Share power", "Outside-in",
     "Experiment small", "Learn in the open", "Be an ambassador", "Keep going"], 1)}
MANY = {f"o{n}": f"Option number {n}" for n in range(1, 13)}  # more than radio buttons take


def ask(*fields: Field, title: str = "Share an ambassador story", intro=(), errors=None, submit="Share") -> Ask:
    return Ask(Question(title, fields, intro, submit), ACTION, errors or {})


STORY = ask(
    text("title", "Give your story a title", max_length=150),
    long_text("body", "What happened?"),
    multi("principles", "Which principles does it show?", PRINCIPLES),
    choice("consent", "Who may see it?", CONSENT_LABELS),
    intro=(Text("Be an *ambassador* for co-creation: tell what changed & for whom."),),
)

EVERY_KIND = ask(
    text("title", "Give it a title", max_length=150, initial="Library late hours",
         hint="A few words people will recognise"),
    long_text("body", "What happened?", required=False, max_length=10_000),
    choice("consent", "Who may see it?", CONSENT_LABELS, initial="coalition"),
    choice("many", "Pick one of many", MANY, required=False),
    multi("sectors", "Which sectors were involved?", SECTOR_LABELS, initial="public,business"),
    multi("lots", "Pick some of many", MANY, required=False, initial="o2, o11"),
    scale(None, "effect", "How big was the effect?", "no effect", "large effect", initial="4"),
    Field("starts_on", "When does it start?", Kind.DATE, initial="2026-03-02"),
    Field("ends_on", "When does it end?", Kind.DATE, required=False, initial="next spring"),
    title="Plan an experiment in the open",  # 30 characters: the modal title is cut
    intro=(Text("Small, safe-to-fail, with a date to look back."), Divider()),
    submit="Start the experiment now please",
)


# -- validation helpers ----------------------------------------------------------------


def check_blocks(blocks: list[dict]) -> None:
    parsed = Block.parse_all(blocks)
    assert None not in parsed, "slack_sdk did not recognise a block type"
    for block in parsed:
        block.validate_json()
    # to_dict() validates nested elements too, and a key the SDK does not know is dropped.
    assert [block.to_dict() for block in parsed] == blocks
    own_limits(blocks)


def check_view(view: dict) -> None:
    check_blocks(view["blocks"])
    parsed = View(**view)
    parsed.validate_json()
    assert parsed.to_dict() == view
    assert len(view["blocks"]) <= 100


def check_message(body: dict) -> None:
    assert set(body) == {"text", "blocks"}
    assert 0 < len(body["text"]) <= 3000
    assert 0 < len(body["blocks"]) <= 50
    check_blocks(body["blocks"])


def own_limits(blocks: list[dict]) -> None:
    """Slack's documented limits, including those slack_sdk does not check."""

    def text(obj: dict, limit: int) -> None:
        assert obj["type"] in ("plain_text", "mrkdwn") and 0 < len(obj["text"]) <= limit, obj
        if obj["type"] == "plain_text":
            assert obj.get("emoji") is True

    def option(o: dict) -> None:
        text(o["text"], 75)
        assert o["text"]["type"] == "plain_text" and len(o["value"]) <= 150

    def element(e: dict) -> None:
        assert len(e.get("action_id", "")) <= 255
        if e["type"] == "button":
            text(e["text"], 75)
            assert len(e["value"]) <= 2000
        if e["type"] in ("radio_buttons", "checkboxes"):
            assert len(e["options"]) <= 10
        if e["type"] in ("static_select", "multi_static_select"):
            assert len(e["options"]) <= 100
        chosen = e.get("initial_options", []) + ([e["initial_option"]] if "initial_option" in e else [])
        for o in e.get("options", []) + chosen:
            option(o)
        if e["type"] == "plain_text_input":
            assert e.get("max_length", 3000) <= 3000 and len(e.get("initial_value", "")) <= e.get("max_length", 3000)

    for block in blocks:
        assert len(block.get("block_id", "")) <= 255
        if block["type"] == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                text(block["text"], 3000)
            assert len(block.get("fields", [])) <= 10
            for f in block.get("fields", []):
                text(f, 2000)
        elif block["type"] == "context":
            assert 0 < len(block["elements"]) <= 10
            for e in block["elements"]:
                text(e, 2000)
        elif block["type"] == "actions":
            assert 0 < len(block["elements"]) <= 25
            for e in block["elements"]:
                element(e)
        elif block["type"] == "input":
            text(block["label"], 2000)
            if "hint" in block:
                text(block["hint"], 2000)
            element(block["element"])
        else:
            assert block == {"type": "divider"}


# -- golden files ----------------------------------------------------------------------

MESSAGES = {
    "plain_text": Reply.text(
        "Saved *Library late hours*. Thank you!\n- shared with: _my coalition_\n- principles: `#4`, `#7`"
    ),
    "section_fields": Reply((
        Section("Who is at the table in Aarhus", tuple((f"Sector {n}", f"{n} member(s)") for n in range(1, 13))),
        Context("Counted at 09:00"),
    )),
    "command_buttons": Reply((
        Text("What would you like to do?"),
        Buttons((Button("Share a story", "story", primary=True), Button("Check in", "checkin 3"),
                 Button("Status", "status", primary=True))),  # only the first primary is styled
    )),
    "choice_3": Reply(
        (Text("Perspective saved."),),
        ask(choice("next", "What next?", {"perspective": "Add another perspective",
                                          "statement": "Write the problem statement", "done": "Stop for now"}),
            title="Frame the problem"),
    ),
    "choice_8": Reply(ask=ask(choice("principle", "Which principle do you want to reflect on?", PRINCIPLES),
                          title="Reflect")),
    "scale_error": Reply(ask=ask(
        scale(None, "citizen_impact", "How much did citizens notice?", "none", "a lot"),
        title="Impact check-in", intro=(Text("Week 3 of *Library late hours*."),),
        errors={"citizen_impact": "Please answer with a whole number from 1 to 5."},
    )),
    "form_message": Reply((Text("You can share a story in one go."),), STORY),
}


@pytest.mark.parametrize("name", MESSAGES)
def test_message_golden(name):
    body = message(MESSAGES[name])
    check_message(body)
    golden_json(GOLDEN / f"{name}.json", body)


def test_modal_golden_for_every_field_kind():
    view = modal(EVERY_KIND, {"c": "D0123", "t": "T9"})
    check_view(view)
    golden_json(GOLDEN / "modal_every_kind.json", view)
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    kinds = {fid: b["element"]["type"] for fid, b in inputs.items()}
    assert kinds == {
        "title": "plain_text_input", "body": "plain_text_input", "consent": "radio_buttons",
        "many": "static_select", "sectors": "checkboxes", "lots": "multi_static_select",
        "effect": "radio_buttons", "starts_on": "datepicker", "ends_on": "datepicker",
    }
    assert inputs["body"]["optional"] and not inputs["title"]["optional"]
    assert inputs["body"]["element"]["max_length"] == 3000 and inputs["body"]["element"]["multiline"]
    assert inputs["consent"]["element"]["initial_option"]["value"] == "coalition"
    assert [o["value"] for o in inputs["lots"]["element"]["initial_options"]] == ["o2", "o11"]
    assert inputs["effect"]["element"]["initial_option"]["text"]["text"] == "4"
    assert [o["text"]["text"] for o in inputs["effect"]["element"]["options"]][::4] == ["1 (no effect)", "5 (large effect)"]
    assert inputs["starts_on"]["element"]["initial_date"] == "2026-03-02"
    assert "initial_date" not in inputs["ends_on"]["element"]  # "next spring" is no ISO date
    assert view["submit"]["text"] == "Start the experiment no…"


def test_home_golden():
    blocks = (
        Section("Aarhus Library Coalition", (("At the table for", "12 weeks"), ("Stories", "4"))),
        Text("Your next step: check in on *Library late hours*."),
        Buttons((Button("Check in", "checkin", primary=True), Button("Help", "help"))),
    )
    view = home(Reply(blocks, ask(yes_no(None, "again", "Map another hidden treasure?", "Yes", "No"), title="Map a treasure")))
    check_view(view)
    golden_json(GOLDEN / "home.json", view)
    assert home(Reply())["blocks"] == [{"type": "context", "elements": [
        {"type": "mrkdwn", "text": "Nothing to show yet.", "verbatim": True}]}]


# -- messages: the question ------------------------------------------------------------


def test_a_choice_is_answered_with_buttons_whose_values_parse_back():
    field = choice("next", "What next?", {"go": "Go on", "a|b": "A value with a bar"})
    body = message(Reply(ask=ask(field)))
    check_message(body)
    buttons = body["blocks"][-1]["elements"]
    assert [b["action_id"] for b in buttons] == ["answer_0", "answer_1"]
    assert [parse_answer_value(b["value"]) for b in buttons] == [(ACTION, "next", "go"), (ACTION, "next", "a|b")]


def test_more_than_five_choices_become_a_select_with_the_same_values():
    body = message(MESSAGES["choice_8"])
    menu = body["blocks"][-1]["elements"][0]
    assert menu["type"] == "static_select" and menu["action_id"] == "answer_select"
    assert [parse_answer_value(o["value"])[2] for o in menu["options"]] == list(PRINCIPLES)


def test_a_scale_has_five_buttons_the_error_above_them_and_a_legend():
    blocks = message(MESSAGES["scale_error"])["blocks"]
    assert [b["type"] for b in blocks] == ["section", "section", "context", "actions", "context"]
    assert blocks[2]["elements"][0]["text"] == ":warning: Please answer with a whole number from 1 to 5."
    assert [b["text"]["text"] for b in blocks[3]["elements"]] == ["1", "2", "3", "4", "5"]
    assert parse_answer_value(blocks[3]["elements"][2]["value"]) == (ACTION, "citizen_impact", "3")
    assert blocks[4]["elements"][0]["text"] == "1 = none … 5 = a lot"


def test_a_single_text_field_offers_the_form_or_a_typed_reply():
    blocks = message(Reply(ask=ask(long_text("body", "What happened?"))))["blocks"]
    assert blocks[0]["text"]["text"] == "*Share an ambassador story*\nWhat happened?"
    assert blocks[1]["elements"] == [{"type": "button", "action_id": "open_form", "style": "primary",
                                      "text": {"type": "plain_text", "text": "Answer", "emoji": True},
                                      "value": "story:write:3"}]
    assert blocks[2]["elements"][0]["text"] == "Or reply here in this chat."


def test_a_form_shows_errors_per_field_and_no_typed_reply_hint():
    body = message(Reply(ask=Ask(STORY.question, ACTION, {"title": "Too long.", "consent": "Pick one."})))
    check_message(body)
    types = [b["type"] for b in body["blocks"]]
    assert types == ["section", "section", "context", "actions"]
    assert body["blocks"][2]["elements"][0]["text"] == (
        ":warning: Give your story a title: Too long.\n:warning: Who may see it?: Pick one.")


def test_answer_values_too_long_for_a_select_fall_back_to_the_form():
    long_values = {f"{'v' * 140}{n}": f"Option {n}" for n in range(8)}
    body = message(Reply(ask=ask(choice("pick", "Pick one", long_values))))
    check_message(body)
    assert body["blocks"][-1]["elements"][0]["action_id"] == "open_form"


# -- limits ----------------------------------------------------------------------------


def test_a_long_text_splits_at_paragraphs_lines_and_words_and_loses_nothing():
    words = [("word" * (n % 7 + 1))[: n % 11 + 1] for n in range(2200)]
    seps = ["\n\n" if n % 97 == 0 else "\n" if n % 13 == 0 else " " for n in range(len(words))]
    long = "".join(w + s for w, s in zip(words, seps))[:10_000].rstrip()
    assert 9_990 < len(long) <= 10_000
    blocks = message(Reply.text(long))["blocks"]
    chunks = [b["text"]["text"] for b in blocks]
    assert len(chunks) == 4 and all(len(c) <= 3000 for c in chunks)
    assert " ".join(chunks).split() == long.split()  # no word cut in half, nothing lost
    assert long.startswith(chunks[0]) and long[len(chunks[0]):].startswith("\n\n")  # at a paragraph


def test_without_paragraphs_a_text_breaks_at_a_line_then_at_a_word():
    assert render.split_text("aaa bbb\nccc ddd", 9) == ["aaa bbb", "ccc ddd"]
    assert render.split_text("aaa bbb ccc", 8) == ["aaa bbb", "ccc"]
    assert render.split_text("  short  ", 8) == ["short"]


def test_a_word_longer_than_a_section_is_cut_but_an_escaped_character_is_not():
    assert "".join(render.split_text("x" * 7000, 3000)) == "x" * 7000
    chunks = render.split_text(render.escape("&" * 2000), 3000)
    assert all(len(c) <= 3000 and c.replace("&amp;", "") == "" for c in chunks)
    assert "".join(chunks) == "&amp;" * 2000


def test_more_than_fifty_blocks_end_with_a_pointer_to_the_rest():
    body = message(Reply(tuple(Text(f"Line {n}") for n in range(80))))
    check_message(body)
    blocks = body["blocks"]
    assert len(blocks) == 50 and blocks[48]["text"]["text"] == "Line 48"
    assert blocks[-1]["elements"][0]["text"] == (
        "… 31 more not shown. Use `/cocreate status` or an export for the rest.")


def test_a_question_stays_whole_below_the_pointer():
    reply = Reply(tuple(Text(f"Line {n}") for n in range(80)), ask(yes_no(None, "ok", "Carry on?", "Yes", "No")))
    blocks = message(reply)["blocks"]
    assert len(blocks) == 50
    assert blocks[-3]["elements"][0]["text"].startswith("… 33 more not shown.")  # 80 - 47 kept
    assert blocks[-1]["elements"][0]["action_id"] == "answer_0"


def test_a_section_with_many_fields_is_split_in_tens():
    blocks = message(MESSAGES["section_fields"])["blocks"]
    assert [len(b.get("fields", [])) for b in blocks[:2]] == [10, 2]
    assert blocks[0]["text"]["text"] == "*Who is at the table in Aarhus*" and "text" not in blocks[1]
    assert message(Reply((Section("*Bold already*"),)))["blocks"][0]["text"]["text"] == "*Bold already*"


def test_long_texts_are_cut_with_an_ellipsis_everywhere():
    title = "A question title that goes on for sixty characters, exactly."
    assert len(title) == 60
    huge = "y" * 5000
    view = modal(ask(choice("c", huge, {"a": huge}), text("t", "T", hint=huge, initial=huge), title=title, submit=huge), {})
    check_view(view)
    assert len(view["title"]["text"]) <= 24 and view["title"]["text"].endswith("…")
    assert view["title"]["text"] == "A question title that g…"
    label = view["blocks"][0]["label"]["text"]
    assert len(label) == 2000 and label.endswith("…")
    assert view["blocks"][0]["element"]["options"][0]["text"]["text"] == "y" * 74 + "…"
    body = message(Reply((Context(huge), Section(huge, (("k", huge),)),
                          Buttons((Button(huge, "status"),))), ask(choice("c", "C", {"a": huge}))))
    check_message(body)
    assert len(body["text"]) == 3000 and body["text"].endswith("…")


def test_huge_metadata_is_dropped_but_the_action_is_kept():
    small = modal(STORY, {"c": "D0123", "a": "forged"})
    assert json.loads(small["private_metadata"]) == {"a": "story:write:3", "c": "D0123"}
    assert small["private_metadata"] == '{"a":"story:write:3","c":"D0123"}'  # compact
    huge = modal(STORY, {"c": "D0123", "draft": "z" * 5000})
    check_view(huge)
    assert json.loads(huge["private_metadata"]) == {"a": "story:write:3"}


def test_ids_are_never_cut_but_refused():
    with pytest.raises(ValueError, match="255"):
        modal(ask(text("i" * 256, "Too long an id")), {})


def test_blocks_of_a_modal_stay_within_a_hundred_inputs_first():
    many = ask(text("t", "T"), intro=tuple(Text(f"Intro {n}") for n in range(150)))
    view = modal(many, {})
    check_view(view)
    assert len(view["blocks"]) == 100 and view["blocks"][-1]["type"] == "input"


# -- escaping --------------------------------------------------------------------------

HOSTILE = "<@U123> & <https://evil|x>"
ESCAPED = "&lt;@U123&gt; &amp; &lt;https://evil|x&gt;"


def test_user_text_cannot_mention_or_link():
    reply = Reply((Text(HOSTILE), Section(HOSTILE, ((HOSTILE, HOSTILE),)), Context(HOSTILE)),
                  ask(choice("c", HOSTILE, {"a": HOSTILE})))
    body = message(reply)
    check_message(body)
    texts = [b["text"]["text"] for b in body["blocks"] if "text" in b]
    assert texts == [ESCAPED, f"*{ESCAPED}*", ESCAPED]
    assert body["blocks"][1]["fields"][0]["text"] == f"*{ESCAPED}*\n{ESCAPED}"
    assert body["blocks"][2]["elements"][0]["text"] == ESCAPED
    assert body["text"].startswith(ESCAPED)
    assert "<" not in json.dumps([b for b in body["blocks"] if b["type"] != "actions"])
    # plain_text is never interpreted by Slack, so it is left as typed
    assert body["blocks"][-1]["elements"][0]["text"]["text"] == HOSTILE
    assert all(o["type"] == "mrkdwn" and o["verbatim"] for b in body["blocks"] for o in b.get("fields", []))


# -- modal submissions -----------------------------------------------------------------


def _option(value: str, text: str) -> dict:
    return {"text": {"type": "plain_text", "text": text, "emoji": True}, "value": value}


# As Slack sends it in a view_submission payload's view.state.values.
STATE_VALUES = {
    "title": {"title": {"type": "plain_text_input", "value": "Library late hours"}},
    "body": {"body": {"type": "plain_text_input", "value": None}},
    "consent": {"consent": {"type": "radio_buttons", "selected_option": _option("coalition", "My coalition")}},
    "many": {"many": {"type": "static_select", "selected_option": None}},
    "sectors": {"sectors": {"type": "checkboxes", "selected_options": [
        _option("public", "Public sector"), _option("citizen", "Citizen / user")]}},
    "lots": {"lots": {"type": "multi_static_select", "selected_options": []}},
    "effect": {"effect": {"type": "radio_buttons", "selected_option": _option("4", "4")}},
    "starts_on": {"starts_on": {"type": "datepicker", "selected_date": "2026-03-09"}},
    "ends_on": {"ends_on": {"type": "datepicker", "selected_date": None}},
}


def test_view_values_reads_every_element_the_modal_renders():
    rendered = {b["block_id"]: b["element"]["type"] for b in modal(EVERY_KIND, {})["blocks"] if b["type"] == "input"}
    assert rendered == {fid: next(iter(s.values()))["type"] for fid, s in STATE_VALUES.items()}
    values = view_values(STATE_VALUES)
    assert values == {
        "title": "Library late hours", "body": None, "consent": "coalition", "many": None,
        "sectors": ["public", "citizen"], "lots": [], "effect": "4", "starts_on": "2026-03-09", "ends_on": None,
    }
    # ... in the shape the engine's answer parser accepts
    parsed = {f.id: parse(f, values[f.id], 2000, EN) for f in EVERY_KIND.question.fields}
    assert parsed["effect"] == 4 and parsed["body"] == "" and parsed["lots"] == [] and parsed["ends_on"] is None
    assert view_values({"x": {"y": {"type": "plain_text_input", "value": ""}}}) == {"x": None}


def test_form_errors_are_keyed_by_block_and_cut_to_slacks_limit():
    errors = {"title": "t" * 2500, "consent": "Pick one.", "_form": "Something else."}
    answer = form_errors(Ask(STORY.question, ACTION, errors))
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"title", "consent"}  # Slack refuses unknown block ids
    assert len(answer["errors"]["title"]) == 2000 and answer["errors"]["title"].endswith("…")


# -- what slack_sdk does and does not check --------------------------------------------


def test_slack_sdk_validate_json_is_shallow_so_check_blocks_also_calls_to_dict():
    button = {"type": "button", "action_id": "x", "text": {"type": "plain_text", "text": "b" * 80}, "value": "v"}
    (block,) = Block.parse_all([{"type": "actions", "elements": [button]}])
    block.validate_json()  # passes: the button's own validators are not run
    with pytest.raises(SlackObjectFormationError):
        block.to_dict()
    radio = {"type": "radio_buttons", "action_id": "r", "options": [_option("v", "o" * 80)] * 12}
    (unchecked,) = Block.parse_all([{"type": "input", "label": {"type": "plain_text", "text": "L", "emoji": True},
                                       "element": radio}])
    unchecked.to_dict()  # 12 options of 80 characters pass: hence own_limits
    with pytest.raises(AssertionError, match="o{80}"):
        own_limits([unchecked.to_dict()])
