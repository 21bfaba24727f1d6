"""Languages: the text library in each supported language, and Babel's formatting for it.

English is the source: the library's texts are written in Python (`flows/prompts.py`,
`bot/texts.py`, `bot/report_texts.py`), keyed "group.key". Every other language is a
standard gettext catalog, `bot/locale/<code>/LC_MESSAGES/cocreate.po`, whose entries carry
the key as `msgctxt` and the English text as `msgid`, so translators work in Poedit,
Weblate or Crowdin and never touch Python. Catalogs are compiled when they are loaded.

A key a catalog lacks (or marks fuzzy) falls back to English, logged once: a catalog
missing a key fails the tests, never the running bot.
"""

from __future__ import annotations

import logging
import string
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time, get_day_names
from babel.lists import format_list
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po
from babel.numbers import format_decimal, format_percent

log = logging.getLogger(__name__)

SOURCE = "en"
SUPPORTED: Mapping[str, str] = {"en": "English", "da": "Dansk"}  # code -> its own name
DOMAIN = "cocreate"
LOCALE_DIR = Path(__file__).parent / "locale"


def catalog_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def template_path() -> Path:
    return LOCALE_DIR / f"{DOMAIN}.pot"


def language_code(value: str | None) -> str | None:
    """A supported code for 'da', 'da-DK', 'da_DK' or 'DA'; None for anything else."""
    if not value:
        return None
    code = str(value).strip().replace("_", "-").split("-")[0].lower()
    return code if code in SUPPORTED else None


def placeholders(text: str) -> set[str] | None:
    """The {names} a text uses; None if its braces do not parse."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return None


# --- catalogs ------------------------------------------------------------------------------


def read_catalog(path: Path) -> Catalog:
    with open(path, "rb") as f:
        return read_po(f)


@lru_cache(maxsize=None)
def translations(code: str) -> Mapping[str, str]:
    """key -> text from a language's catalog: translated, non-fuzzy entries only."""
    if code == SOURCE:
        return {}
    path = catalog_path(code)
    if not path.exists():
        log.warning("no catalog for language %r at %s; using English", code, path)
        return {}
    return {m.context: m.string for m in read_catalog(path)
            if m.id and m.context and isinstance(m.string, str) and m.string and not m.fuzzy}


def template(english: Mapping[str, str]) -> Catalog:
    """The .pot a translator starts from: one entry per key, the English text as msgid."""
    catalog = Catalog(domain=DOMAIN, project="Cocreate", copyright_holder="Cocreate contributors",
                      charset="utf-8", fuzzy=False)
    for key, text in english.items():
        flags = ("python-brace-format",) if placeholders(text) else ()
        catalog.add(text, context=key, flags=flags)
    return catalog


def update_catalogs(english: Mapping[str, str]) -> list[Path]:
    """Write the .pot and bring every catalog up to date with it (new keys empty, changed
    English texts marked fuzzy): what `cocreate prompts --update-catalogs` does."""
    pot = template(english)
    written = [template_path()]
    written[0].parent.mkdir(parents=True, exist_ok=True)
    with open(written[0], "wb") as f:
        write_po(f, pot, omit_header=False, width=100, sort_output=False)
    for code in SUPPORTED:
        if code == SOURCE:
            continue
        path = catalog_path(code)
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = read_catalog(path) if path.exists() else Catalog(
            locale=code, domain=DOMAIN, project="Cocreate", copyright_holder="Cocreate contributors",
            fuzzy=False)
        catalog.update(pot, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        with open(path, "wb") as f:
            write_po(f, catalog, width=100, sort_output=False, ignore_obsolete=True)
        written.append(path)
    translations.cache_clear()
    return written


# --- one language's texts -------------------------------------------------------------------


class Texts:
    """The library in one language, plus Babel's formatting of dates, times and numbers."""

    def __init__(self, code: str, library: Mapping[str, str]):
        self.code = code
        self.locale = Locale.parse(code)
        self.library = library
        self._groups: dict[str, Mapping[str, str]] = {}

    def t(self, key: str, **values: Any) -> str:
        return self.library[key].format(**values)

    __call__ = t

    def __getitem__(self, key: str) -> str:
        return self.library[key]

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.library.get(key, default)

    def group(self, name: str) -> Mapping[str, str]:
        """`group.key` texts as {key: text}, e.g. the `ui` words adapters draw."""
        if name not in self._groups:
            prefix = name + "."
            self._groups[name] = {k[len(prefix):]: v for k, v in self.library.items() if k.startswith(prefix)}
        return self._groups[name]

    def command(self, command: str) -> str:
        """A command in this language's words: 'checkin close' -> 'indtjek luk' (the engine
        understands both)."""
        word, _, rest = command.partition(" ")
        first, _, more = rest.partition(" ")
        said = [_first(self.library.get(f"commands.{word}") or word)]
        if first:
            said.append(_first(self.library.get(f"words.{first}") or first))
        return " ".join(said + ([more] if more else []))

    # Formatting, always through Babel: '2. dec. 2026', '09.00', '12,5 %'.
    def date(self, value: date | datetime, format: str = "medium") -> str:
        return format_date(value, format, locale=self.locale)

    def day(self, value: date | datetime) -> str:
        """A weekday and date, short: 'ons. 2. dec.' / 'Wed, Dec 2'."""
        return format_skeleton("MMMEd", value, locale=self.locale)

    def time(self, value: time | datetime) -> str:
        return format_time(value, "short", locale=self.locale)

    def when(self, at: datetime, zone: str | ZoneInfo | None = None) -> str:
        """A moment in `zone`: 'ons. 2. dec. kl. 09.00' / 'Wed, Dec 2 at 9:00 AM'."""
        local = at.astimezone(ZoneInfo(zone) if isinstance(zone, str) else zone) if zone else at
        return self.t("format.when", day=self.day(local), time=self.time(local))

    def weekday(self, index: int) -> str:
        """0 = Monday."""
        return get_day_names("wide", locale=self.locale)[index]

    def number(self, value: float, digits: int = 1) -> str:
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, pattern, locale=self.locale)

    def percent(self, share: float) -> str:
        """0.125 -> '12,5 %' / '12.5%' (one decimal at most)."""
        return format_percent(share, locale=self.locale, format=self._percent_pattern())

    def listing(self, items: Iterable[str]) -> str:
        """'a, b og c' / 'a, b, and c'."""
        items = list(items)
        return format_list(items, locale=self.locale) if items else ""

    def _percent_pattern(self) -> str:
        pattern = self.locale.percent_formats[None].pattern  # '#,##0 %' in Danish
        return pattern.replace("#,##0", "#,##0.#", 1)


def _first(words: str) -> str:
    """The word shown of a catalog's 'word|other spelling'."""
    return words.split("|")[0].strip()


class Languages:
    """Every supported language's texts: English source, catalog, then app.yaml's rewordings."""

    def __init__(self, english: Mapping[str, str],
                 rewordings: Mapping[str, Mapping[str, str]] | None = None):
        self.english = dict(english)
        self._texts: dict[str, Texts] = {}
        for code in SUPPORTED:
            library = dict(self.english)
            if code != SOURCE:
                catalog = translations(code)
                _log_missing(code, [k for k in self.english if k not in catalog])
                library.update({k: v for k, v in catalog.items() if k in self.english})
            library.update((rewordings or {}).get(code, {}))
            self._texts[code] = Texts(code, library)

    def __getitem__(self, code: str) -> Texts:
        return self._texts[language_code(code) or SOURCE]

    def first(self, *candidates: str | None) -> Texts:
        """The texts of the first candidate that names a supported language."""
        for candidate in candidates:
            if code := language_code(candidate):
                return self._texts[code]
        return self._texts[SOURCE]

    def all(self) -> Sequence[Texts]:
        return list(self._texts.values())


_logged: set[tuple[str, str]] = set()


def _log_missing(code: str, keys: list[str]) -> None:
    fresh = [k for k in keys if (code, k) not in _logged]
    if fresh:
        _logged.update((code, k) for k in fresh)
        log.warning("catalog %r has no text for %d key(s), using English: %s",
                    code, len(fresh), ", ".join(fresh[:20]) + (" …" if len(fresh) > 20 else ""))
