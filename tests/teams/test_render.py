"""Adaptive Card output: golden files for the shapes the flows produce, the published Adaptive
Cards 1.5 schema on everything rendered, and the checks that schema cannot make.

What the published 1.5 schema (draft-06) does and does not check, read from the file:
- it has teeth: every element and action must match one known `type` (`anyOf`), and each
  definition has `additionalProperties: false` with typed properties;
- but the card's own `additionalProperties: false` also rejects `msteams`, the Teams host
  extension Teams documents for full-width cards, so `check` validates the card without it
  and checks `msteams` itself;
- its enum patterns are unanchored alternations (`^(default)|(dark)|...|(attention)$`), so
  `"color": "goodbye"` passes: `check` compares enum-like values itself;
- `version` is any string; and the schema cannot see Teams' size limit.

Regenerate the golden files with `UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/teams`.
"""

from __future__ import annotations
from tests.support import labels, texts

EN = texts("en")
SECTOR_LABELS, CONSENT_LABELS = labels("sector"), labels("consent")

import json
from pathlib import Path

import pytest
from jsonschema import Draft6Validator

from adapters.teams import render
from adapters.teams.render import action_of, card, submitted, values
from bot.answers import parse
from bot.types import ActionRef
from bot.ui import Ask, Button, Buttons, Context, Divider, Field, Kind, Question, Reply, Section, Text
from flows.common import choice, long_text, multi, scale, text, yes_no
from tests.golden import golden_json

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = json.loads((Path(__file__).parent.parent / "data" / "schemas" / "adaptive-card-1.5.json").read_text())
VALIDATOR = Draft6Validator(SCHEMA)
ACTION = ActionRef("story", "write", 3)
PRINCIPLES = {str(n): f"#{n} {title}" for n, title in enumerate(
    ["Start from the challenge", "Everyone at the table", "Share power", "Outside-in",
     "Experiment small", "Learn in the open", "Be an ambassador", "Keep going"], 1)}
MANY = {f"o{n}": f"Option number {n}" for n in range(1, 13)}


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
    title="Plan an experiment in the open",
    intro=(Text("Small, safe-to-fail, with a date to look back."), Divider()),
    submit="Start the experiment now please",
)


# -- validation helpers ----------------------------------------------------------------

# Exact values for the enum-like properties we use (the schema's patterns let anything through).
ENUMS = {
    "color": {"default", "dark", "light", "accent", "good", "warning", "attention"},
    "size": {"default", "small", "medium", "large", "extralarge"},
    "weight": {"default", "lighter", "bolder"},
    "spacing": {"default", "none", "small", "medium", "large", "extralarge", "padding"},
    "associatedInputs": {"auto", "none"},
}
STYLES = {"Input.ChoiceSet": {"compact", "expanded"}, "Action.Submit": {"default", "positive", "destructive"}}


def schema_errors(data: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(data)]


def check(data: dict) -> None:
    """The published schema, plus what it misses: msteams, exact enums, version, Teams limits."""
    assert data["msteams"] == {"width": "Full"}
    assert data["version"] == "1.5" and data["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    published = {k: v for k, v in data.items() if k != "msteams"}
    assert schema_errors(published) == []
    assert max(versions_used(published)) <= (1, 5)
    assert len(json.dumps(data)) <= render.BUDGET
    ids = []
    for element in walk(data):
        kind = element.get("type")
        for key, allowed in ENUMS.items():
            if key in element:
                assert element[key].lower() in allowed, element
        if kind in STYLES and "style" in element:
            assert element["style"].lower() in STYLES[kind], element
        if kind == "TextBlock":
            assert 0 < len(element["text"]) <= render.TEXT and element["wrap"] is True
        if kind == "Action.Submit":
            assert 0 < len(element["title"]) <= render.ACTION_TITLE
        if kind == "ActionSet":
            assert 0 < len(element["actions"]) <= 6
        if kind and kind.startswith("Input."):
            ids.append(element["id"])
    assert len(ids) == len(set(ids)) and "cocreate" not in ids


def walk(node):
    """Every element, action and fact dict of a card, not descending into Action.Submit data."""
    if isinstance(node, dict):
        yield node
        for key, value in node.items():
            if key != "data":
                yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def versions_used(data: dict) -> set[tuple[int, ...]]:
    """The schema's `version` annotation of every element type and property a card uses."""
    definitions = SCHEMA["definitions"]

    def annotated(name: str) -> dict[str, dict]:
        definition = definitions[name]
        props: dict[str, dict] = {}
        for part in definition.get("allOf", []):
            props.update(annotated(part["$ref"].rsplit("/", 1)[1]))
        props.update({k: v for k, v in definition.get("properties", {}).items() if v})  # {} defers to the base
        return props

    found = {(1, 0)}
    for element in walk(data):
        if element.get("type") in definitions:
            definition = definitions[element["type"]]
            found.add(tuple(map(int, definition.get("version", "1.0").split("."))))
            props = annotated(element["type"])
            for key in element:
                found.add(tuple(map(int, props.get(key, {}).get("version", "1.0").split("."))))
    return found


def body_types(data: dict) -> list[str]:
    return [element["type"] for element in data["body"]]


# -- golden files ----------------------------------------------------------------------

CARDS = {
    "plain_text": Reply.text(
        "Saved *Library late hours*. Thank you!\n- shared with: _my coalition_\n- principles: `#4`, `#7`"
    ),
    "section_fields": Reply((
        Section("Who is at the table in Aarhus", tuple((f"Sector {n}", f"{n} member(s)") for n in range(1, 13))),
        Divider(),
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
                          title="Reflect", submit="Reflect on it")),
    "scale_error": Reply(ask=ask(
        scale(None, "citizen_impact", "How much did citizens notice?", "none", "a lot"),
        title="Impact check-in", intro=(Text("Week 3 of *Library late hours*."),),
        errors={"citizen_impact": "Please answer with a whole number from 1 to 5."},
    )),
    "form_every_kind": Reply((Text("Let's plan it."),), EVERY_KIND),
    "form_errors": Reply(ask=Ask(STORY.question, ACTION, {"title": "That is 180 characters; please keep it to 150.",
                                                          "consent": "Please pick just one option."})),
}


@pytest.mark.parametrize("name", CARDS)
def test_card_golden(name):
    data = card(CARDS[name])
    check(data)
    golden_json(GOLDEN / f"{name}.json", data)


SUBMITTED = {"title": "Library late hours", "body": "", "consent": "coalition", "many": None,
             "sectors": ["public", "citizen"], "lots": [], "effect": 4, "starts_on": "2026-03-09", "ends_on": None}


def test_submitted_golden_is_read_only():
    data = submitted(EVERY_KIND, SUBMITTED)
    check(data)
    golden_json(GOLDEN / "submitted.json", data)
    assert not [e for e in walk(data) if str(e.get("type", "")).startswith(("Input.", "Action"))]
    facts = {f["title"]: f["value"] for f in data["body"][1]["facts"]}
    assert facts["Who may see it?"] == "My coalition"
    assert facts["Which sectors were involved?"] == "Public sector, Citizen / user"
    assert facts["What happened?"] == facts["When does it end?"] == facts["Pick some of many"] == "—"
    assert facts["How big was the effect?"] == "4"
    assert data["body"][-1]["text"] == "Saved." and data["body"][-1]["isSubtle"] is True


# -- the schema has teeth --------------------------------------------------------------


def test_the_published_schema_rejects_unknown_elements_and_misspelt_properties():
    good = {k: v for k, v in card(CARDS["form_every_kind"]).items() if k != "msteams"}
    assert schema_errors(good) == []
    choice_set = next(e for e in good["body"] if e.get("id") == "sectors")

    def broken(change) -> dict:
        data = json.loads(json.dumps(good))
        change(data, next(e for e in data["body"] if e.get("id") == "sectors"))
        return data

    assert choice_set["isMultiSelect"] is True
    assert schema_errors(broken(lambda d, e: e.update(isMultiSelect="yes")))
    assert schema_errors(broken(lambda d, e: e.update(isMultiselect=True)))  # misspelt
    assert schema_errors(broken(lambda d, e: e.update(type="Input.Slider")))  # unknown element
    assert schema_errors(broken(lambda d, e: e.pop("type")))
    assert schema_errors(broken(lambda d, e: d["body"].append({"type": "TextBlock", "txt": "x"})))
    assert schema_errors(broken(lambda d, e: d["body"][-1]["actions"].append({"type": "Action.Http"})))


def test_what_the_published_schema_lets_through_is_checked_here():
    data = card(Reply.text("Hello"))
    with_msteams = schema_errors(data)  # Teams' own extension is unknown to the schema
    assert len(with_msteams) == 1 and "msteams" in with_msteams[0]
    data["body"][0]["color"] = "goodbye"  # matches the unanchored `(good)` alternative
    assert schema_errors({k: v for k, v in data.items() if k != "msteams"}) == []
    with pytest.raises(AssertionError, match="goodbye"):
        check(data)
    data = card(Reply.text("Hello")) | {"version": "2.0"}
    with pytest.raises(AssertionError):
        check(data)


def test_inputs_use_properties_from_1_3_and_nothing_newer_than_1_5():
    data = {k: v for k, v in card(CARDS["form_errors"]).items() if k != "msteams"}
    assert versions_used(data) == {(1, 0), (1, 2), (1, 3)}  # ActionSet 1.2; label, isRequired, errorMessage 1.3
    assert versions_used({"type": "AdaptiveCard", "version": "1.5", "rtl": True}) == {(1, 0), (1, 5)}


# -- display blocks --------------------------------------------------------------------


def test_markdown_subset_becomes_teams_markdown():
    md = render.markdown
    assert md("Saved *Library late hours*.") == "Saved **Library late hours**."
    assert md("*a* and _it_ and `#4`") == "**a** and _it_ and `#4`"
    assert md("- one\n- two *x*") == "- one\n- two **x**"
    assert md("2 * 3 * 4, a*b*c, **done**, *open") == "2 * 3 * 4, a*b*c, **done**, *open"
    assert md("*bold\nacross lines*") == "*bold\nacross lines*"
    assert md("see [the form](https://evil.example)") == "see [the form] (https://evil.example)"


def test_a_section_is_a_bold_line_and_facts_and_a_divider_separates_the_next_element():
    body = card(CARDS["section_fields"])["body"]
    assert body_types(card(CARDS["section_fields"])) == ["TextBlock", "FactSet", "TextBlock"]
    assert body[0] == {"type": "TextBlock", "text": "Who is at the table in Aarhus", "wrap": True, "weight": "Bolder"}
    assert body[1]["facts"][0] == {"title": "Sector 1", "value": "1 member(s)"} and len(body[1]["facts"]) == 12
    assert body[2]["separator"] is True and body[2]["isSubtle"] is True and body[2]["size"] == "Small"
    assert card(Reply((Section("*Bold already*"),)))["body"][0]["text"] == "Bold already"
    assert card(Reply((Text("x"), Divider())))["body"] == card(Reply.text("x"))["body"]  # nothing to draw on


def test_command_buttons_type_the_command_and_ignore_inputs():
    actions = card(CARDS["command_buttons"])["body"][1]["actions"]
    assert actions[1] == {"type": "Action.Submit", "title": "Check in",
                          "data": {"msteams": {"type": "imBack", "value": "checkin 3"}}, "associatedInputs": "None"}
    assert [a.get("style") for a in actions] == ["positive", None, None]
    many = card(Reply((Buttons(tuple(Button(f"B{n}", f"b{n}") for n in range(8))),)))
    check(many)
    assert [len(s["actions"]) for s in many["body"]] == [6, 2]


# -- the question ----------------------------------------------------------------------


def test_a_single_choice_answers_with_one_click():
    data = card(CARDS["choice_3"])
    assert body_types(data) == ["TextBlock", "TextBlock", "ActionSet"]
    assert data["body"][1]["text"] == "What next?"
    first = data["body"][2]["actions"][0]
    assert first == {"type": "Action.Submit", "title": "Add another perspective",
                     "data": {"cocreate": "story:write:3", "next": "perspective"}}
    # What Teams sends back for that click is the button's data.
    assert values(CARDS["choice_3"].ask, first["data"]) == {"next": "perspective"}
    assert action_of(first["data"]) == ACTION


def test_more_than_six_choices_become_a_dropdown_and_one_button():
    data = card(CARDS["choice_8"])
    assert body_types(data) == ["Input.ChoiceSet", "ActionSet"]
    menu = data["body"][0]
    assert menu["style"] == "compact" and menu["label"] == "Which principle do you want to reflect on?"
    assert [c["value"] for c in menu["choices"]] == list(PRINCIPLES)
    assert data["body"][1]["actions"] == [{"type": "Action.Submit", "title": "Reflect on it",
                                           "data": {"cocreate": "story:write:3"}, "style": "positive"}]


def test_a_scale_has_five_buttons_the_error_above_them_and_a_legend():
    body = card(CARDS["scale_error"])["body"]
    assert [e["type"] for e in body] == ["TextBlock", "TextBlock", "TextBlock", "ActionSet", "TextBlock"]
    assert body[0]["text"] == "Week 3 of **Library late hours**."
    assert body[2] == {"type": "TextBlock", "text": "Please answer with a whole number from 1 to 5.", "wrap": True,
                       "color": "Attention"}
    assert [a["title"] for a in body[3]["actions"]] == ["1", "2", "3", "4", "5"]
    assert body[3]["actions"][2]["data"] == {"cocreate": "story:write:3", "citizen_impact": "3"}
    assert body[4]["text"] == "1 = none … 5 = a lot" and body[4]["isSubtle"] is True


def test_a_form_has_one_input_per_field_and_a_submit():
    data = card(CARDS["form_every_kind"])
    inputs = {e["id"]: e for e in data["body"] if e["type"].startswith("Input.")}
    assert list(inputs) == [f.id for f in EVERY_KIND.question.fields]
    assert inputs["title"] == {"type": "Input.Text", "id": "title", "label": "Give it a title", "isRequired": True,
                               "errorMessage": "This one needs an answer.", "maxLength": 150,
                               "value": "Library late hours"}
    assert inputs["body"]["isMultiline"] is True and inputs["body"]["isRequired"] is False
    assert "errorMessage" not in inputs["body"]
    assert inputs["consent"]["style"] == "expanded" and inputs["consent"]["value"] == "coalition"
    assert inputs["many"]["style"] == "compact" and "value" not in inputs["many"]
    assert inputs["sectors"]["isMultiSelect"] is True and inputs["sectors"]["value"] == "public,business"
    assert inputs["lots"]["value"] == "o2,o11"
    assert [c["title"] for c in inputs["effect"]["choices"]] == [
        "1 (no effect)", "2", "3", "4", "5 (large effect)"]
    assert inputs["effect"]["value"] == "4" and inputs["effect"]["style"] == "expanded"
    assert inputs["starts_on"]["value"] == "2026-03-02" and "value" not in inputs["ends_on"]  # not a date
    hint = data["body"][data["body"].index(inputs["title"]) + 1]
    assert hint["text"] == "A few words people will recognise" and hint["isSubtle"] is True
    submit = data["body"][-1]["actions"]
    assert submit == [{"type": "Action.Submit", "title": "Start the experiment now please",
                       "data": {"cocreate": "story:write:3"}, "style": "positive"}]
    assert data["body"][2]["separator"] is True  # the intro's divider, drawn above the title
    assert data["body"][2]["text"] == "Plan an experiment in the open"


def test_errors_stand_directly_above_their_inputs():
    body = card(CARDS["form_errors"])["body"]
    ids = [e.get("id") or e.get("color") or e["type"] for e in body]
    assert ids == ["TextBlock", "TextBlock", "Attention", "title", "body", "principles", "Attention", "consent",
                   "ActionSet"]
    assert body[2]["text"] == "That is 180 characters; please keep it to 150."
    assert body[6]["text"] == "Please pick just one option."
    # an error that names no field goes above the first one
    other = card(Reply(ask=Ask(STORY.question, ACTION, {"_form": "Something else.", "title": "Too long."})))
    check(other)
    assert other["body"][2]["text"] == "Something else.\n\nToo long." and other["body"][3]["id"] == "title"


def test_a_single_text_field_is_a_one_input_form():
    data = card(Reply(ask=ask(long_text("body", "What happened?"))))
    check(data)
    assert body_types(data) == ["TextBlock", "Input.Text", "ActionSet"]


def test_ids_and_values_that_cannot_round_trip_are_refused():
    with pytest.raises(ValueError, match="cocreate"):
        card(Reply(ask=ask(text("cocreate", "Clashes with the action key"))))
    with pytest.raises(ValueError, match="','"):
        card(Reply(ask=ask(multi("m", "Pick", {"a,b": "A and B", "c": "C"}))))


# -- submits ---------------------------------------------------------------------------

# activity.value of a Teams submit of the every-kind form: the button's data plus every input.
TEAMS_VALUE = {
    "cocreate": "story:write:3",
    "title": "Library late hours",
    "body": "",
    "consent": "coalition",
    "many": "",
    "sectors": "public,citizen",
    "lots": "o2,o11",
    "effect": "4",
    "starts_on": "2026-03-09",
    "ends_on": "",
    "extra": "ignored",
}


def test_values_reads_every_input_the_form_renders_for_the_answer_parser():
    got = values(EVERY_KIND, TEAMS_VALUE)
    assert got == {"title": "Library late hours", "body": None, "consent": "coalition", "many": None,
                   "sectors": ["public", "citizen"], "lots": ["o2", "o11"], "effect": "4",
                   "starts_on": "2026-03-09", "ends_on": None}
    parsed = {f.id: parse(f, got.get(f.id), 2000, EN) for f in EVERY_KIND.question.fields}
    assert parsed == {"title": "Library late hours", "body": "", "consent": "coalition", "many": None,
                      "sectors": ["public", "citizen"], "lots": ["o2", "o11"], "effect": 4,
                      "starts_on": "2026-03-09", "ends_on": None}
    # what was parsed is what the read-only card shows
    assert submitted(EVERY_KIND, parsed)["body"][1]["facts"][4]["value"] == "Public sector, Citizen / user"
    # Teams may leave an untouched input out altogether: the engine's .get() sees None
    assert values(EVERY_KIND, {"cocreate": "story:write:3", "sectors": ""}) == {"sectors": None}


def test_action_of_accepts_only_a_well_formed_reference():
    assert action_of({"cocreate": "story:write:3", "x": "y"}) == ACTION
    assert action_of({"cocreate": "checkin:impact:12"}) == ActionRef("checkin", "impact", 12)
    for garbage in [{}, {"cocreate": None}, {"cocreate": 3}, {"cocreate": ""}, {"cocreate": "story:write"},
                    {"cocreate": "story:write:x"}, {"cocreate": "a:b:1:2"}, {"cocreate": "::1"},
                    {"cocreate": "a:b:٣"}, {"cocreate": "a:b:-1"}, {"cocreate": ["a:b:1"]},
                    {"msteams": {"type": "imBack", "value": "status"}}]:
        assert action_of(garbage) is None, garbage
    assert action_of(None) is None and action_of("story:write:3") is None


# -- limits and injection --------------------------------------------------------------


def test_a_huge_reply_stays_under_the_budget_and_keeps_the_question():
    long = "Lorem ipsum dolor sit amet, " * 18  # ~500 characters each
    reply = Reply(tuple(Text(f"{n}: {long}") for n in range(200)), ask(yes_no(None, "ok", "Carry on?", "Yes", "No")))
    data = card(reply)
    check(data)
    size = len(json.dumps(data))
    assert 20_000 < size <= 25_000
    body = data["body"]
    assert body[-2]["text"] == "Carry on?" and body[-1]["actions"][0]["data"] == {"cocreate": "story:write:3",
                                                                                   "ok": "yes"}
    kept = len(body) - 3
    assert body[kept - 1]["text"].startswith(f"{kept - 1}: Lorem")
    assert body[kept]["text"] == f"… {200 - kept} more not shown. Type status or export for the rest."
    # one more display block would not have fitted
    next_block = card(Reply.text(reply.blocks[kept].text))["body"][0]
    assert size + len(", " + json.dumps(next_block)) > 25_000


def test_non_ascii_text_is_budgeted_by_its_escaped_size():
    data = card(Reply(tuple(Text("ø🙂" * 1000) for _ in range(20))))
    check(data)
    assert len(json.dumps(data, ensure_ascii=False).encode()) <= len(json.dumps(data)) <= 25_000


def test_long_texts_and_titles_are_cut_with_an_ellipsis():
    data = card(Reply((Text("x" * 6000), Context("y" * 6000), Section("s", (("k", "v" * 6000),))),
                      ask(choice("c", "C", {"a": "A title that is longer than any button should ever be"}))))
    check(data)
    assert data["body"][0]["text"] == "x" * 4999 + "…"
    assert data["body"][1]["text"] == "y" * 4999 + "…"
    assert data["body"][3]["facts"][0]["value"] == "v" * 4999 + "…"
    assert data["body"][-1]["actions"][0]["title"] == "A title that is longer than any button…"  # 40, less a space


def test_user_text_cannot_inject_card_json():
    hostile = 'x"}]}, {"type": "Action.OpenUrl", "url": "https://evil"}, {"a": ["'
    data = card(Reply((Text(hostile), Section(hostile, ((hostile, hostile),))),
                      ask(choice("c", hostile, {"a": hostile}), title=hostile)))
    check(data)
    raw = json.dumps(data)
    assert json.loads(raw) == data
    assert data["body"][0]["text"] == hostile and data["body"][2]["facts"][0] == {"title": hostile, "value": hostile}
    assert data["body"][-1]["actions"][0]["title"] == hostile[:39] + "…"
    assert not [e for e in walk(data) if e.get("type") == "Action.OpenUrl"]
    shown = submitted(ask(text("t", hostile), title=hostile), {"t": hostile})
    check(shown)
    assert shown["body"][0]["text"] == hostile and shown["body"][1]["facts"] == [{"title": hostile, "value": hostile}]


def test_a_question_too_big_for_the_budget_is_still_sent_whole():
    huge = ask(choice("c", "Pick", {f"v{n}": f"Option {n} " + "z" * 100 for n in range(300)}))
    data = card(Reply((Text("Intro"),), huge))
    assert len(json.dumps(data)) > render.BUDGET
    assert data["body"][0]["text"] == "… 1 more not shown. Type status or export for the rest."
    assert len(data["body"][1]["choices"]) == 300
    assert card(Reply(ask=huge))["body"][0]["type"] == "Input.ChoiceSet"  # no pointer to nothing
