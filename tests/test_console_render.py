"""What the terminal shows for each reply: plain text in a transcript, bold on a terminal."""

from __future__ import annotations

from adapters.console.render import render, render_ask
from bot.types import ActionRef
from bot.ui import (
    Ask, Button, Buttons, Context, Divider, Field, Kind, Option, Question, Reply, Section, Text,
)

BOLD, RESET = "\033[1m", "\033[0m"
ACTION = ActionRef("story", "write", 1)
YES_NO = (Option("yes", "Yes, show my name"), Option("no", "No, keep me anonymous"))
SECTORS = (Option("public", "Public sector"), Option("business", "Business"), Option("citizen", "Citizen / user"))

STORY = Question(
    title="Share an ambassador story",
    intro=(Text("Be an *ambassador* for co-creation."),),
    fields=(
        Field("title", "Give your story a title"),
        Field("sectors", "Which sectors were involved?", Kind.MULTI_CHOICE, options=SECTORS),
        Field("effect", "How big was the effect?", Kind.SCALE, scale_labels=("no effect", "large effect")),
        Field("note", "Anything else?", Kind.LONG_TEXT, required=False),
    ),
)


def ask(question: Question = STORY, index: int | None = None, errors: dict | None = None) -> Ask:
    return Ask(question, ACTION, errors or {}, index)


# -- blocks ----------------------------------------------------------------------------


def test_text_block_is_shown_as_written():
    text = "First line\n- a bullet\n- another one 🍎"
    assert render(Reply((Text(text),))) == text


def test_section_shows_its_fields_indented_under_the_heading():
    section = Section("*Who is at the table*", (("Business", "1"), ("Public sector", "2")))
    assert render(Reply((section,))) == "Who is at the table\n  Business: 1\n  Public sector: 2"
    assert render(Reply((Section("Just a heading"),))) == "Just a heading"


def test_context_is_a_small_indented_aside():
    assert render(Reply((Context("saved at *09:00*"),))) == "  (saved at 09:00)"


def test_divider_is_a_line():
    assert render(Reply((Divider(),))) == "-" * 40


def test_buttons_say_what_to_type():
    buttons = Buttons((Button("Share a story", "story", primary=True), Button("Check in", "checkin 3")))
    assert render(Reply((buttons,))) == "[Share a story: type 'story']  [Check in: type 'checkin 3']"


def test_blocks_are_shown_in_order_one_per_line_and_empty_ones_left_out():
    reply = Reply((Text("one"), Text(""), Divider(), Context("three")))
    assert render(reply) == "one\n" + "-" * 40 + "\n  (three)"


def test_blocks_come_before_the_question():
    one = Question("Map a hidden treasure", (Field("again", "Map another?", Kind.CHOICE, options=YES_NO),))
    out = render(Reply((Text("Mapped *Café Hav*. Thank you!"),), ask(one)))
    assert out == "Mapped Café Hav. Thank you!\nMap another?\n  1) Yes, show my name\n  2) No, keep me anonymous"


# -- bold ------------------------------------------------------------------------------


def test_bold_is_plain_text_in_a_transcript():
    out = render(Reply.text("Write *join* to take *your seat*."))
    assert out == "Write join to take your seat."
    assert "\033" not in out


def test_bold_is_ansi_bold_on_a_terminal():
    out = render(Reply.text("Write *join* to take *your seat*."), color=True)
    assert out == f"Write {BOLD}join{RESET} to take {BOLD}your seat{RESET}."


def test_asterisks_that_are_not_emphasis_are_left_alone():
    for text in ("5*4*3 = 60", "a * b * c", "**", "note*s* and *notes*x"):
        assert render(Reply.text(text), color=True) == text


# -- questions -------------------------------------------------------------------------


def test_a_choice_question_shows_numbered_options():
    one = Question("Withdraw a story", (Field("sure", "Show your name with it?", Kind.CHOICE, options=YES_NO),))
    # A single question without intro is asked plainly, without a title line.
    assert render_ask(ask(one)) == "Show your name with it?\n  1) Yes, show my name\n  2) No, keep me anonymous"


def test_a_single_question_with_an_intro_shows_title_and_intro():
    one = Question("Principle #3", (Field("text", "Whose voice have we not heard?", Kind.LONG_TEXT),),
                   intro=(Text("Reflect *together*."),))
    assert render_ask(ask(one)) == "Principle #3\nReflect together.\nWhose voice have we not heard?"


def test_first_field_of_a_form_shows_title_intro_and_position():
    out = render_ask(ask(index=0))
    assert out == ("Share an ambassador story\n"
                   "Be an ambassador for co-creation.\n"
                   "(1/4)\n"
                   "Give your story a title")


def test_later_fields_show_only_their_position_and_label():
    out = render_ask(ask(index=1))
    assert out == ("(2/4)\n"
                   "Which sectors were involved? (one or more, e.g. 1,3)\n"
                   "  1) Public sector\n  2) Business\n  3) Citizen / user")
    assert "Share an ambassador story" not in out and "ambassador for co-creation" not in out
    assert "Give your story a title" not in out and "How big" not in out


def test_an_ask_without_index_shows_the_first_field():
    assert render_ask(ask()) == render_ask(ask(index=0))


def test_a_refused_answer_shows_the_error_above_the_label():
    errors = {"effect": "Please answer with a whole number from 1 to 5."}
    out = render_ask(ask(index=2, errors=errors))
    assert out == ("(3/4)\n"
                   "! Please answer with a whole number from 1 to 5.\n"
                   "How big was the effect? (1 = no effect … 5 = large effect)")


def test_a_refused_first_answer_is_re_asked_without_the_intro_again():
    out = render_ask(ask(index=0, errors={"title": "This one needs an answer."}))
    assert out == "(1/4)\n! This one needs an answer.\nGive your story a title"


def test_an_error_for_another_field_is_not_shown():
    out = render_ask(ask(index=1, errors={"title": "This one needs an answer."}))
    assert "!" not in out and "needs an answer" not in out


def test_optional_fields_say_how_to_skip():
    assert render_ask(ask(index=3)).endswith("Anything else? (optional: type skip)")
    optional_multi = Question("T", (Field("s", "Sectors?", Kind.MULTI_CHOICE, required=False, options=SECTORS),))
    assert render_ask(ask(optional_multi)).startswith("Sectors? (one or more, e.g. 1,3; optional: type skip)\n")


def test_required_fields_do_not_mention_skip():
    for index in range(3):
        assert "skip" not in render_ask(ask(index=index))


def test_date_hint_suggests_the_initial_value_or_an_example():
    dated = Question("T", (Field("d", "Start date", Kind.DATE, initial="2026-03-02"),
                           Field("e", "End date", Kind.DATE)))
    assert render_ask(ask(dated, 0)).endswith("Start date (a date like 2026-03-02)")
    assert render_ask(ask(dated, 1)).endswith("End date (a date like 2026-12-01)")


def test_the_title_is_bold_on_a_terminal_only():
    assert render_ask(ask(index=0), color=True).startswith(f"{BOLD}Share an ambassador story{RESET}\n")
    assert render_ask(ask(index=0), color=True).count(BOLD) == 2  # the title and *ambassador*
    assert "\033" not in render_ask(ask(index=0))
