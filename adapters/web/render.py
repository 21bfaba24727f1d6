"""Neutral replies as HTML, server-side with Jinja2 (autoescaping on), and HTML form posts back
into answers. Works without JavaScript: every question is a plain form, every button a post.

Pure: a reply and the page's words in, markup out. The routes are in `app.py`.
"""

from __future__ import annotations

import os
import random
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from adapters.web import codec
from bot.ui import Ask, Buttons, Context, Divider, Field, Kind, Reply, Section, Text

HERE = Path(__file__).resolve().parent
PREFIX = "f-"  # form field names: "f-<field id>", apart from csrf, event and action

_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_CODE = re.compile(r"`([^`\n]+)`")
_QR = re.compile(r"/join/[\w-]{20,100}/qr\.svg")
_LINK = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")
_STYLED = re.compile(r"[*_`:]")  # what a line needs for any of the above
# Event ids for forms, not secrets (the CSRF token guards the post): they only tell one form
# sent twice from two forms. A page draws dozens, and uuid4 reads the OS's randomness each time.
_NONCES = random.Random(os.urandom(32))


def nonce() -> str:
    """A fresh event id for a form: 32 hex digits, unique across pages, servers and restarts."""
    return f"{_NONCES.getrandbits(128):032x}"


# Where kept HTML gets a fresh event id on every page: escaped text never holds a "<".
EVENT = Markup("<!--event-->")


def environment(event: Callable[[], str] = nonce) -> Environment:
    """`event`: what a form's event id is (`Kept` draws its HTML with `EVENT` instead)."""
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["markup"] = markup
    env.tests["instanceof"] = isinstance
    env.globals.update(Text=Text, Section=Section, Context=Context, Divider=Divider, Buttons=Buttons, Kind=Kind,
                       PREFIX=PREFIX, field_name=field_name, nonce=event)
    return env


def markup(text: str, qr: str | None = None) -> Markup:
    """The chat's Markdown subset (*bold*, _italic_, `code`, lines starting with "- ", links)
    as HTML. Escaped first: whatever a member typed is shown as text, never as markup.
    `qr`: the alt text of an invite's QR code, drawn under its link (this server's own SVG)."""
    if type(text) is str and type(qr) in (str, type(None)):  # not Markup, which equals its str
        return _markup_text(text, qr)
    return _markup(text, qr)


@lru_cache(maxsize=8192)  # a page draws the same recorded texts on every visit
def _markup_text(text: str, qr: str | None) -> Markup:
    return _markup(text, qr)


def _markup(text: str, qr: str | None) -> Markup:
    lines, out, bullets = str(escape(text)).split("\n"), [], []

    def flush() -> None:
        if bullets:
            out.append("<ul>" + "".join(f"<li>{b}</li>" for b in bullets) + "</ul>")
            bullets.clear()

    for line in lines:
        styled = _inline(line, qr)
        if line.startswith("- "):
            bullets.append(_inline(line[2:], qr))
            continue
        flush()
        out.append(styled + "<br>")
    flush()
    html = "".join(out)
    return Markup(html[:-4] if html.endswith("<br>") else html)


def _inline(line: str, qr: str | None = None) -> str:
    if not _STYLED.search(line):
        return line
    # Code first, so nothing inside `…` is styled; links last, on text that is already escaped.
    parts = re.split(r"(`[^`\n]+`)", line)
    done = []
    for part in parts:
        if _CODE.fullmatch(part):
            done.append(f"<code>{part[1:-1]}</code>")
            continue
        part = _BOLD.sub(r"<strong>\1</strong>", part)
        part = _ITALIC.sub(r"<em>\1</em>", part)
        part = _LINK.sub(lambda m: _link(m.group(0), qr), part)
        done.append(part)
    return "".join(done)


def _link(url: str, qr: str | None) -> str:
    html = f'<a href="{url}" rel="noopener noreferrer">{url}</a>'
    path = urlsplit(url).path
    if qr and _QR.fullmatch(path):  # by path: the page's own origin, whatever name the link uses
        html += f'<br><img class="qr" src="{path}" alt="{escape(qr)}" width="192" height="192">'
    return html


@dataclass(eq=False)
class Item:
    """A recorded message of the chat as the page draws it, decoded once."""

    who: str  # "bot" or "member"
    body: Mapping[str, Any]  # as stored: a message changed in place no longer equals it
    reply: Reply | None = None  # the bot's
    given: Mapping[str, Any] | None = None  # what the member had typed into its question
    text: str = ""  # the member's
    answers: list | None = None
    drawn: dict[tuple[bool, str], tuple[str, ...]] = field(default_factory=dict)


class Kept:
    """The chat's recorded messages and its menu, decoded and drawn once and kept (LRU, per
    language), so a page view renders only what is new and the open question. Kept HTML holds
    `EVENT` where a form's event id goes; every view gets fresh ones (a form's id must differ
    from any already sent, which would be handled once)."""

    def __init__(self, size: int = 4096):
        env = environment(event=lambda: EVENT)
        self._entry = env.from_string('{% from "_macros.html" import entry %}{{ entry(item, live, csrf, t) }}')
        self._menu = env.from_string('{% from "_macros.html" import menu %}{{ menu(commands, csrf) }}')
        self._items: OrderedDict[tuple[int, str], Item] = OrderedDict()
        self._menus: OrderedDict[tuple, tuple[str, ...]] = OrderedDict()
        self.size = size

    def item(self, entry_id: int, who: str, body: Mapping[str, Any], language: str, words: Mapping[str, str]) -> Item:
        key = (entry_id, language)
        item = self._items.get(key)
        if item is not None and (item.body is body or item.body == body):
            self._items.move_to_end(key)
            return item
        if who == "member":
            item = Item(who, body, text=body.get("text", ""), answers=body.get("answers"))
        else:
            item = Item(who, body, reply=codec.load(body, words), given=body.get("given"))
        self._keep(self._items, key, item)
        return item

    def entry(self, item: Item, live: bool, csrf: str, t: Any) -> Markup:
        parts = item.drawn.get((live, csrf))
        if parts is None:
            parts = _parts(self._entry.render(item=item, live=live, csrf=csrf, t=t))
            if len(item.drawn) >= 4:  # a member's sessions come and go
                item.drawn.clear()
            item.drawn[(live, csrf)] = parts
        return _fresh(parts)

    def menu(self, commands: list[tuple[str, str]], csrf: str) -> Markup:
        key = (tuple(commands), csrf)
        parts = self._menus.get(key)
        if parts is None:
            parts = _parts(self._menu.render(commands=commands, csrf=csrf))
            self._keep(self._menus, key, parts)
        return _fresh(parts)

    def _keep(self, kept: OrderedDict, key: Any, value: Any) -> None:
        kept[key] = value
        kept.move_to_end(key)
        if len(kept) > self.size:
            kept.popitem(last=False)


def _parts(html: str) -> tuple[str, ...]:
    return tuple(html.split(EVENT))


def _fresh(parts: tuple[str, ...]) -> Markup:
    out = [parts[0]]
    for part in parts[1:]:
        out += (nonce(), part)
    return Markup("".join(out))


def field_name(field: Field) -> str:
    return PREFIX + field.id


def one_click(ask: Ask) -> Field | None:
    """A question with one choice or 1–5 rating is answered by one button press."""
    fields = ask.question.fields
    if len(fields) == 1 and fields[0].kind in (Kind.CHOICE, Kind.SCALE):
        return fields[0]
    return None


def values(ask: Ask | None, form: Mapping[str, Any]) -> dict[str, Any]:
    """What the member submitted for each of `ask`'s fields, as `bot.answers.parse` takes it:
    a list for several choices, else the text (validation is the engine's)."""
    if ask is None:
        return {}
    found: dict[str, Any] = {}
    for field in ask.question.fields:
        name = field_name(field)
        if field.kind is Kind.MULTI_CHOICE:
            found[field.id] = [str(v) for v in form.getall(name, [])] if hasattr(form, "getall") else form.get(name, [])
        else:
            found[field.id] = lines(str(form.get(name, "")))
    return found


def lines(text: str) -> str:
    """A browser sends a text area's line breaks as CRLF; every other platform as LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def answered(ask: Ask, given: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The member's answers as (question, answer) lines for their side of the conversation."""
    lines = []
    for field in ask.question.fields:
        value = given.get(field.id)
        if isinstance(value, list):
            shown = ", ".join(field.option_label(v) for v in value)
        else:
            shown = field.option_label(str(value)) if field.options else str(value or "")
        if shown:
            lines.append((field.label, shown))
    return lines


def page(env: Environment, template: str, **context: Any) -> str:
    return env.get_template(template).render(**context)


def text_of(reply: Reply) -> str:
    """A reply as plain text (an email's body)."""
    from adapters.console.render import render

    return render(reply)
