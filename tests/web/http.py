"""Helpers for the web tests that talk HTTP to a real `cocreate serve`: a tiny browser that
keeps cookies and never follows redirects (so each answer can be checked), a parser for the
forms of a page, the server's environment, and invites and rows straight from its database.

Standard library only (http.client, html.parser): nothing here hides what goes over the wire.
"""

from __future__ import annotations

import html
import http.client
import os
import re
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import Message
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from sqlalchemy import text
from sqlalchemy.pool import NullPool

from bot.records import Invite, InviteRevoked, SignInLink
from bot.tokens import digest, new_token
from storage.db import create_engine
from storage.repository import open_store
from tests.conftest import run_async
from tests.support import APP_YAML, COCREATE

SESSION, CSRF = "cocreate_session", "cocreate_csrf"


# -- a browser ------------------------------------------------------------------------------


@dataclass
class Page:
    status: int
    headers: Message
    text: str
    cookies: list[str]  # raw Set-Cookie values

    @property
    def words(self) -> str:
        """The page's text without tags, entities decoded: the words a person reads."""
        return html.unescape(re.sub(r"<[^>]*>", "", self.text))

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def cookie(self, name: str) -> str | None:
        """The raw Set-Cookie line for `name`, if the answer set it."""
        return next((c for c in self.cookies if c.split("=", 1)[0].strip() == name), None)

    def forms(self) -> list[Form]:
        parser = _Forms()
        parser.feed(self.text)
        return parser.forms

    def form(self, action: str | None = None) -> Form:
        found = [f for f in self.forms() if action is None or f.action == action]
        assert found, f"no form posting to {action!r} on the page:\n{self.text}"
        return found[0]


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)  # hidden inputs (and their values)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._open: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._open = Form(a.get("action", ""))
            self.forms.append(self._open)
        elif tag == "input" and self._open is not None and a.get("type") == "hidden" and a.get("name"):
            self._open.fields[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


class Browser:
    """One device: keeps the cookies it is given (Secure ones too, so tests may look at them)
    and sends them back; `cookies` can be changed to play an attacker or an old device."""

    def __init__(self, base: str, accept_language: str = "en") -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.cookies: dict[str, str] = {}
        self.accept_language = accept_language
        self.headers: dict[str, str] = {}  # sent with every request (e.g. a proxy's X-Forwarded-For)

    def get(self, path: str) -> Page:
        return self._request("GET", path)

    def post(self, path: str, data: dict[str, Any] | None = None) -> Page:
        body = urlencode(data or {}, doseq=True)
        return self._request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})

    def submit(self, page: Page, action: str | None = None, **values: Any) -> Page:
        """Post a form of `page` with its hidden fields and `values` (as a browser would)."""
        form = page.form(action)
        return self.post(form.action, {**form.fields, **values})

    def _request(self, method: str, path: str, body: str | None = None, headers: dict | None = None) -> Page:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            sent = {"Accept-Language": self.accept_language, **self.headers, **(headers or {})}
            if self.cookies:
                sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            connection.request(method, path, body=body.encode() if body is not None else None, headers=sent)
            response = connection.getresponse()
            raw = response.read().decode("utf-8", "replace")
            set_cookies = response.msg.get_all("Set-Cookie") or []
            for line in set_cookies:
                self._keep(line)
            return Page(response.status, response.msg, raw, set_cookies)
        finally:
            connection.close()

    def _keep(self, line: str) -> None:
        jar = SimpleCookie()
        jar.load(line)
        for name, morsel in jar.items():
            expires = morsel["expires"]
            gone = morsel.value == "" or morsel["max-age"] == "0" or (expires and "1970" in expires)
            if gone:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value


def attributes(set_cookie: str) -> dict[str, str]:
    """A Set-Cookie line's attributes, lower-cased names: {"httponly": "", "samesite": "Lax", …}."""
    out = {}
    for part in set_cookie.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        out[name.lower()] = value
    return out


# -- the server -------------------------------------------------------------------------------


def web_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a `cocreate serve` with the web only (no Slack, no Teams), the test
    movement of tests/data/app.yaml, and a quickly polled outbox."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "MICROSOFT_", "BOTFRAMEWORK_", "SMTP_", "COCREATE_"))
           or k == "COCREATE_CACHE_DIR"}  # the suite's parse cache (tests/conftest.py)
    env.update(DATABASE_URL=database_url, COCREATE_CONFIG=str(APP_YAML), COCREATE_POLL_SECONDS="0.2",
               COCREATE_PROGRESS_SECONDS="0.3", COCREATE_TICK_SECONDS="0.3")
    env.update(extra)
    return env


def chat(server, user: str, *typed: str, cwd: Path | None = None) -> str:
    """`cocreate chat --user <user>` on the server's database, its links pointing at the server."""
    env = web_env(server.database_url, COCREATE_PUBLIC_URL=server.url)
    result = subprocess.run([str(COCREATE), "chat", "--user", user], input="".join(f"{t}\n" for t in typed),
                            capture_output=True, text=True, encoding="utf-8", timeout=60, env=env,
                            cwd=cwd or server.log.parent)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return result.stdout


def link_path(out: str, kind: str, base: str) -> str:
    """The path of the one `<base>/<kind>/<token>` link in `out`, e.g. "/join/abc…"."""
    found = set(re.findall(rf"{re.escape(base)}(/{kind}/[A-Za-z0-9_-]{{43}})(?![A-Za-z0-9_/-])", out))
    assert len(found) == 1, out
    return found.pop()


# -- the server's database ----------------------------------------------------------------------


def _add(database_url: str, record) -> None:
    async def add() -> None:
        store = open_store(database_url)
        try:
            async with store.unit() as unit:
                await unit.add([record], datetime.now(timezone.utc))
        finally:
            await store.close()

    run_async(add())


def add_invite(database_url: str, coalition: str = "harbour", days: float = 14) -> str:
    """A leader's invite made straight in the database (as `invite` would): its path."""
    token = new_token()
    _add(database_url, Invite(coalition, "lea", digest(token), datetime.now(timezone.utc) + timedelta(days=days)))
    return f"/join/{token}"


def revoke_invite(database_url: str, path: str, coalition: str = "harbour") -> None:
    """Revoke the invite at `path` as a leader's `invite revoke <n>` does (a record of the unit)."""
    [(number,)] = sql(database_url, "SELECT id FROM web_invites WHERE token_hash = :h", h=digest(token_of(path)))
    _add(database_url, InviteRevoked(coalition, number, "lea"))


def add_sign_in(database_url: str, member: str = "lea", name: str = "Lea Leader", coalition: str = "harbour",
                minutes: float = 15) -> str:
    """A one-time sign-in link made straight in the database (as `web` would): its path."""
    token = new_token()
    _add(database_url, SignInLink(member, name, coalition, digest(token),
                                  datetime.now(timezone.utc) + timedelta(minutes=minutes)))
    return f"/signin/{token}"


def sql(database_url: str, statement: str, **params: Any) -> list[tuple]:
    """Run one statement on the server's database; the rows it returns (if any)."""

    async def run() -> list[tuple]:
        engine = create_engine(database_url, poolclass=NullPool)
        try:
            async with engine.begin() as db:
                result = await db.execute(text(statement), params)
                return [tuple(row) for row in result] if result.returns_rows else []
        finally:
            await engine.dispose()

    return run_async(run())


def count(database_url: str, table: str) -> int:
    return sql(database_url, f"SELECT count(*) FROM {table}")[0][0]


def token_of(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[1]
