"""How a typed, clicked or submitted answer becomes a field's value, or a polite refusal."""

from __future__ import annotations
from tests.support import texts

EN = texts("en")

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.answers import AnswerError, parse
from bot.ui import Field, Kind, Option

LIMIT = 200
NEEDS_ANSWER = "This one needs an answer."
BAD_SCALE = "Please answer with a whole number from 1 to 5."
BAD_DATE = "Please give a date like 2026-12-01 (year-month-day)."

SECTORS = (
    Option("public", "Public sector"),
    Option("business", "Business"),
    Option("civil_society", "Civil society / association"),
    Option("education", "Education / research"),
    Option("citizen", "Citizen / user"),
    Option("other", "Other"),
)


def field(kind: Kind = Kind.TEXT, required: bool = True, **kw) -> Field:
    options = SECTORS if kind in (Kind.CHOICE, Kind.MULTI_CHOICE) else ()
    return Field("answer", "Your answer", kind, required=required, options=options, **kw)


def refused(f: Field, raw, limit: int = LIMIT) -> str:
    with pytest.raises(AnswerError) as caught:
        parse(f, raw, limit, EN)
    return str(caught.value)


def unrecognised(text: str) -> str:
    return (f"I didn't recognise '{text}'. Please answer with a number from 1 to 6 "
            "or the name of an option.")


# -- text ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [Kind.TEXT, Kind.LONG_TEXT])
def test_text_is_trimmed(kind):
    assert parse(field(kind), "  Harbour Bakery \t\n", LIMIT, EN) == "Harbour Bakery"
    assert parse(field(kind), "two  inner   spaces stay", LIMIT, EN) == "two  inner   spaces stay"


@pytest.mark.parametrize("kind", [Kind.TEXT, Kind.LONG_TEXT])
def test_text_length_limit_counts_the_trimmed_answer(kind):
    assert parse(field(kind), "x" * LIMIT, LIMIT, EN) == "x" * LIMIT
    assert parse(field(kind), "   " + "x" * LIMIT + "   ", LIMIT, EN) == "x" * LIMIT
    assert refused(field(kind), "x" * (LIMIT + 1)) == (
        "That is 201 characters; please keep it to 200 or fewer.")


def test_a_fields_own_max_length_overrides_the_passed_limit():
    roomy = field(Kind.TEXT, max_length=300)
    assert parse(roomy, "y" * 300, 60, EN) == "y" * 300
    assert refused(roomy, "y" * 301, 60) == "That is 301 characters; please keep it to 300 or fewer."
    tight = field(Kind.LONG_TEXT, max_length=10)
    assert parse(tight, "0123456789", LIMIT, EN) == "0123456789"
    assert refused(tight, "0123456789A") == "That is 11 characters; please keep it to 10 or fewer."


# NUL and lone surrogates (undecodable bytes) cannot be stored: `clean` replaces them (below).
@given(st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=LIMIT)
       .filter(lambda s: s.strip()))
def test_any_non_blank_text_within_the_limit_round_trips_stripped(text):
    assert parse(field(Kind.TEXT), text, LIMIT, EN) == text.strip()


def test_a_nul_byte_or_a_lone_surrogate_is_replaced_so_the_text_can_be_stored():
    assert parse(field(Kind.TEXT), "a\x00b\ud800c", LIMIT, EN) == "a\ufffdb\ufffdc"


# -- required and optional ---------------------------------------------------------------


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("raw", ["", "   ", "\n", None])
def test_a_required_field_needs_an_answer(kind, raw):
    assert refused(field(kind), raw) == NEEDS_ANSWER


@pytest.mark.parametrize(("kind", "nothing"), [
    (Kind.TEXT, ""), (Kind.LONG_TEXT, ""), (Kind.CHOICE, None), (Kind.MULTI_CHOICE, []),
    (Kind.SCALE, None), (Kind.DATE, None),
])
@pytest.mark.parametrize("raw", ["skip", "SKIP", " Skip ", "-", "", "  ", None])
def test_an_optional_field_can_be_skipped(kind, nothing, raw):
    assert parse(field(kind, required=False), raw, LIMIT, EN) == nothing


def test_an_optional_multi_choice_form_with_nothing_ticked_is_empty():
    assert parse(field(Kind.MULTI_CHOICE, required=False), [], LIMIT, EN) == []


def test_skip_does_not_skip_a_required_question():
    assert refused(field(Kind.CHOICE), "skip") == unrecognised("skip")
    assert refused(field(Kind.SCALE), "-") == BAD_SCALE
    assert refused(field(Kind.DATE), "skip") == BAD_DATE


def test_an_optional_field_still_checks_a_real_answer():
    assert parse(field(Kind.SCALE, required=False), "4", LIMIT, EN) == 4
    assert refused(field(Kind.SCALE, required=False), "9") == BAD_SCALE


# -- choice ----------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "value"), [
    ("1", "public"), ("6", "other"), (" 3 ", "civil_society"),      # by number
    ("business", "business"), ("civil_society", "civil_society"),   # by value
    ("Civil society / association", "civil_society"),              # by label
    ("CITIZEN / USER", "citizen"), ("education / Research", "education"),
    ("edu", "education"), ("Civ", "civil_society"), ("pub", "public"),  # unique start of a label
])
def test_choice_accepts_number_value_label_or_unique_prefix(typed, value):
    assert parse(field(Kind.CHOICE), typed, LIMIT, EN) == value


@pytest.mark.parametrize("typed", ["ci", "C"])  # Civil society / Citizen
def test_an_ambiguous_prefix_is_refused(typed):
    assert refused(field(Kind.CHOICE), typed) == unrecognised(typed)


@pytest.mark.parametrize("typed", ["0", "7", "42", "-1"])
def test_a_number_outside_the_options_is_refused_naming_the_range(typed):
    assert refused(field(Kind.CHOICE), typed) == unrecognised(typed)


def test_an_unknown_choice_is_refused_with_what_was_typed():
    assert refused(field(Kind.CHOICE), "banana") == unrecognised("banana")


def test_a_single_choice_refuses_several_picks():
    assert refused(field(Kind.CHOICE), ["1", "2"]) == "Please pick just one option."


@pytest.mark.parametrize("kind", [Kind.CHOICE, Kind.MULTI_CHOICE])
@pytest.mark.parametrize("typed", ["²", "①"])  # str.isdigit() is true for these, int() fails
def test_a_digit_like_symbol_is_refused_politely(kind, typed):
    assert refused(field(kind), typed) == unrecognised(typed)


# -- multi-choice ----------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "values"), [
    ("1,3", ["public", "civil_society"]),
    ("1, 3", ["public", "civil_society"]),
    ("1 3", ["public", "civil_society"]),
    ("1   3  5", ["public", "civil_society", "citizen"]),
    ("Business; Citizen / user", ["business", "citizen"]),
    ("education\npublic", ["education", "public"]),
    ("5, 2", ["citizen", "business"]),                   # the order typed is kept
    ("edu, citizen / USER, 1", ["education", "citizen", "public"]),
    ("4", ["education"]),
    (["2", "5"], ["business", "citizen"]),               # as a form sends it
    (("citizen",), ["citizen"]),
])
def test_multi_choice_reads_lists_in_every_shape(raw, values):
    assert parse(field(Kind.MULTI_CHOICE), raw, LIMIT, EN) == values


@pytest.mark.parametrize("raw", ["2, business, 2, Business", ["2", "business", "2"]])
def test_multi_choice_collapses_duplicates(raw):
    assert parse(field(Kind.MULTI_CHOICE), raw, LIMIT, EN) == ["business"]


def test_multi_choice_keeps_first_mention_order_when_collapsing():
    assert parse(field(Kind.MULTI_CHOICE), "5, 1, citizen, 2, public", LIMIT, EN) == [
        "citizen", "public", "business"]


@pytest.mark.parametrize(("raw", "bad"), [
    ("2, banana", "banana"), (["1", "9"], "9"), ("1 3 x", "1 3 x"), ("Business Citizen", "Business Citizen"),
])
def test_multi_choice_refuses_an_unknown_entry(raw, bad):
    assert refused(field(Kind.MULTI_CHOICE), raw) == unrecognised(bad)


@pytest.mark.parametrize("raw", [[], ",", " ; , "])
def test_a_required_multi_choice_needs_at_least_one_pick(raw):
    assert refused(field(Kind.MULTI_CHOICE), raw) == "Please pick at least one option."


# -- scale -----------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["1", "2", "3", "4", "5", " 5 "])
def test_scale_accepts_whole_numbers_one_to_five(typed):
    assert parse(field(Kind.SCALE), typed, LIMIT, EN) == int(typed)


@pytest.mark.parametrize("typed", ["0", "6", "3.5", "three", "10", "-1", "1 2"])
def test_scale_refuses_anything_else(typed):
    assert refused(field(Kind.SCALE), typed) == BAD_SCALE


# -- dates -----------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["2026-12-01", "01.12.2026", "01-12-2026", "01/12/2026", " 1.12.2026 "])
def test_dates_in_the_accepted_formats(typed):
    assert parse(field(Kind.DATE), typed, LIMIT, EN) == "2026-12-01"


def test_a_slashed_date_is_read_day_first():
    assert parse(field(Kind.DATE), "12/01/2026", LIMIT, EN) == "2026-01-12"


@pytest.mark.parametrize("typed", ["31.02.2026", "2026-02-30", "next tuesday", "2026-13-01", "1 December 2026",
                                   "12/31/2026", "2026/12/01"])
def test_impossible_or_unreadable_dates_are_refused(typed):
    assert refused(field(Kind.DATE), typed) == BAD_DATE
