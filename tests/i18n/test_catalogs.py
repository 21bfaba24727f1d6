"""The catalogs a translator edits: complete, in step with the English source, and safe to
fill in at run time (same placeholders), so no language ever shows a KeyError or English."""

from __future__ import annotations

import io
import logging

import pytest
from babel.messages.pofile import read_po

from bot.i18n import SOURCE, SUPPORTED, Languages, catalog_path, placeholders, read_catalog, template, template_path
from tests.support import library

TRANSLATED = [code for code in SUPPORTED if code != SOURCE]


@pytest.fixture(scope="module")
def english() -> dict[str, str]:
    return library()


def entries(code: str) -> dict[str, object]:
    return {m.context: m for m in read_catalog(catalog_path(code)) if m.id}


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_key_is_translated_and_none_is_fuzzy(english, code):
    found = entries(code)
    missing = sorted(k for k in english if k not in found or not found[k].string)
    fuzzy = sorted(k for k, m in found.items() if m.fuzzy)
    unknown = sorted(k for k in found if k not in english)
    assert (missing, fuzzy, unknown) == ([], [], [])


@pytest.mark.parametrize("code", TRANSLATED)
def test_placeholders_are_identical(english, code):
    found = entries(code)  # the catalog, read once
    wrong = {k: (placeholders(text), placeholders(found[k].string))
             for k, text in english.items() if placeholders(text) != placeholders(found[k].string)}
    assert wrong == {}


@pytest.mark.parametrize("code", TRANSLATED)
def test_each_translation_is_of_the_current_english_text(english, code):
    """A changed English text must be looked at again (`cocreate prompts --update-catalogs`
    marks it fuzzy); a msgid that is not today's English means the translation is stale."""
    stale = sorted(k for k, m in entries(code).items() if k in english and m.id != english[k])
    assert stale == []


def test_the_template_is_in_step_with_the_english_source(english):
    """bot/locale/cocreate.pot is what a translator starts a new language from."""
    with open(template_path(), "rb") as f:
        written = {m.context: m.id for m in read_po(f) if m.id}
    assert written == english


def test_the_template_round_trips_through_the_po_format(english):
    out = io.BytesIO()
    from babel.messages.pofile import write_po

    write_po(out, template(english))
    again = {m.context: m.id for m in read_po(io.BytesIO(out.getvalue())) if m.id}
    assert again == english


@pytest.mark.parametrize("code", list(SUPPORTED))
def test_command_words_do_not_collide_across_languages(english, code):
    """Every word of every language means one command (they all work everywhere)."""
    meaning: dict[str, str] = {}
    for lang in SUPPORTED:
        texts = Languages(english)[lang]
        for group in ("commands", "words"):
            for key, words in texts.group(group).items():
                for word in words.split("|"):
                    owner = meaning.setdefault(f"{group}:{word.strip().lower()}", key)
                    assert owner == key, f"{lang}: '{word}' means both {owner} and {key}"


def test_a_key_missing_from_a_catalog_falls_back_to_english_and_is_logged_once(english, caplog):
    extra = dict(english) | {"test.only_in_english": "Only in English"}
    with caplog.at_level(logging.WARNING, logger="bot.i18n"):
        first = Languages(extra)["da"]
        Languages(extra)["da"]
    assert first.t("test.only_in_english") == "Only in English"
    said = [r.getMessage() for r in caplog.records if "test.only_in_english" in r.getMessage()]
    assert len(said) == 1 and "'da'" in said[0]
