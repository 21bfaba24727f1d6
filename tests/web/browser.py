"""The web chat's tests' tools: a real browser (Debian's Chromium driven by Playwright's sync
API) and the terminal side around a real `cocreate serve`.

`chromium_path()` finds the browser (CHROMIUM_PATH, else /usr/bin/chromium, else `chromium` on
the PATH); `launch()` starts it headless with the flags this closed network needs. `Person` is
one visitor in a browser context of their own (cookies and all), at a phone's viewport, with
helpers to type, answer the open question and wait for the outbox, as a person would.

`chat`, `invite`, `export` run the `cocreate` command next to the server; `new_invite`,
`records`, `query` and `counts` go straight to its database, which is quicker.

The fixtures are in tests/web/conftest.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select

from bot.tokens import digest, new_token
from storage.db import create_engine
from storage.models import WebInvite, WebPersonRow, WebSessionRow
from storage.repository import open_store
from tests.conftest import run_async
from tests.support import APP_YAML, COCREATE, Server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright

DEFAULT_CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000  # for every action and navigation: a local server answers in milliseconds
AXE = Path(__file__).resolve().parent.parent / "data" / "axe" / "axe.min.js"
LINK = re.compile(r"^(https?://\S+/join/[A-Za-z0-9_-]{43})$", re.MULTILINE)
SIGN_IN = re.compile(r"(https?://\S+/signin/[A-Za-z0-9_-]{43})")


def chromium_path() -> tuple[str | None, str]:
    """(the browser's path or None, where it was looked for)."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        found = configured if os.access(configured, os.X_OK) else shutil.which(configured)
        return found, f"CHROMIUM_PATH={configured!r}"
    if os.access(DEFAULT_CHROMIUM, os.X_OK):
        return DEFAULT_CHROMIUM, DEFAULT_CHROMIUM
    return shutil.which("chromium"), f"{DEFAULT_CHROMIUM} or `chromium` on the PATH"


def launch(playwright: Playwright, path: str) -> Browser:
    return playwright.chromium.launch(executable_path=path, headless=True, args=ARGS, timeout=30_000)


class Person:
    """Someone at a phone, in a browser context of their own.

    Records every JavaScript dialog (none may ever open: the pages have no scripts, and what
    people type is text), uncaught page errors and refusals by the Content-Security-Policy.
    """

    def __init__(self, context: BrowserContext):
        self.context = context
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page: Page = context.new_page()
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.page.on("console", self._console)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _console(self, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.errors.append(f"CSP: {message.text}")

    def open(self, url: str):
        return self.page.goto(url, wait_until="load")

    @property
    def main(self):
        return self.page.locator("main")

    def text(self) -> str:
        """What the page says (its main part), as a reader sees it."""
        return self.main.inner_text()

    # -- the chat ---------------------------------------------------------------------------

    def say(self, text: str) -> None:
        """Type into the chat's box and send it (Enter, as on a phone's keyboard)."""
        self.page.fill("#say", text)
        with self.page.expect_navigation(wait_until="load"):
            self.page.press("#say", "Enter")

    @property
    def ask(self):
        """The open question: the form drawn last on the chat page."""
        return self.page.locator("form.ask")

    def title_of_ask(self) -> str:
        return self.ask.locator("h2").inner_text()

    def fill(self, label: str | re.Pattern, value: str) -> None:
        """Type an answer into the open question's text field with this label."""
        self.ask.get_by_label(label).fill(value)

    def pick(self, question: str | re.Pattern, *options: str) -> None:
        """Tick options (radio buttons, check boxes, 1–5 chips) in the fieldset with this legend."""
        group = self.ask.locator("fieldset").filter(has=self.page.locator("legend", has_text=question))
        for option in options:
            group.get_by_label(option, exact=True).check()

    def submit(self) -> None:
        """Press the open question's main button (the browser checks required fields first)."""
        invalid = self.ask.locator("input:invalid, textarea:invalid")
        if invalid.count():
            names = sorted({invalid.nth(n).get_attribute("name") for n in range(invalid.count())})
            raise AssertionError(f"the browser would not send the form: {names} need an answer")
        with self.page.expect_navigation(wait_until="load"):
            self.ask.locator("button.primary").click()

    def press(self, name: str) -> None:
        """Press a button (in the conversation, or one of a one-click question's answers)."""
        with self.page.expect_navigation(wait_until="load"):
            self.main.get_by_role("button", name=name, exact=True).last.click()

    def reload_until(self, text: str, timeout: float = 10.0) -> None:
        """Reload the chat until it shows `text` (a message the outbox brings)."""
        deadline = time.monotonic() + timeout
        while text not in self.text():
            if time.monotonic() > deadline:
                raise AssertionError(f"never shown: {text!r}; the page says:\n{self.text()}")
            time.sleep(0.2)
            self.page.reload(wait_until="load")

    def check_clean(self) -> None:
        assert self.dialogs == [], f"a dialog opened (a script ran): {self.dialogs}"
        assert self.errors == [], self.errors


# -- the terminal side: the leader's chat, the export, the database --------------------------

def serve_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a `cocreate serve` with only the web on (no Slack, Teams or email), the
    test movement (tests/data/app.yaml), a quickly polled outbox and a quick scheduler."""
    drop = ("SLACK_", "MICROSOFT_", "BOTFRAMEWORK_", "SMTP_", "COCREATE_")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(drop) or k == "COCREATE_CACHE_DIR"}  # the suite's parse cache (tests/conftest.py)
    env.update(DATABASE_URL=database_url, COCREATE_CONFIG=str(APP_YAML),
               COCREATE_POLL_SECONDS="0.2",  # the outbox is polled quickly, so tests need not wait
               COCREATE_PROGRESS_SECONDS="0.3",  # a round's live progress message
               COCREATE_TICK_SECONDS="0.3")  # the planner: a round's invitations are queued at once
    env.update(extra)
    return env


def cocreate(server: Server, *args: str, typed: tuple[str, ...] = ()) -> str:
    """Run the `cocreate` command on the server's database; its links point at the server."""
    env = serve_env(server.database_url, COCREATE_PUBLIC_URL=server.url)
    result = subprocess.run([str(COCREATE), *args], input="".join(f"{line}\n" for line in typed),
                            capture_output=True, text=True, encoding="utf-8", timeout=60, env=env,
                            cwd=server.log.parent)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return result.stdout


def chat(server: Server, user: str, *typed: str) -> str:
    """`cocreate chat --user <user>`, with `typed` piped in as lines."""
    return cocreate(server, "chat", "--user", user, typed=typed)


def invite(server: Server) -> str:
    """A new invite link for Harbour Youth, as its leader `lea` gets it by typing `invite`."""
    out = chat(server, "lea", "invite")
    [link] = LINK.findall(out)
    assert link.startswith(f"{server.url}/join/"), out
    assert f"A QR code for a poster: {link}/qr.svg" in out
    return link


def export(server: Server) -> dict:
    """`cocreate export --coalition harbour`, as JSON."""
    return json.loads(cocreate(server, "export", "--coalition", "harbour"))


def records(server: Server) -> dict:
    """The same export, in this process (quicker than starting `cocreate`)."""
    async def read():
        store = open_store(server.database_url)
        try:
            return await store.export("harbour")
        finally:
            await store.close()

    return run_async(read())


def new_invite(server: Server, days: float = 14) -> str:
    """An invite link for Harbour Youth made straight in the database (quicker than the chat)."""
    token, now = new_token(), datetime.now(timezone.utc)
    query(server, insert(WebInvite).values(token_hash=digest(token), coalition_id="harbour", created_by="lea",
                                           created_at=now, expires_at=now + timedelta(days=days), joins=0))
    return f"{server.url}/join/{token}"


def query(server: Server, statement):
    """Run one SQLAlchemy statement on the server's database: its rows, or the rows it changed."""
    async def run():
        engine = create_engine(server.database_url)
        try:
            async with engine.begin() as db:
                result = await db.execute(statement)
                return result.all() if result.returns_rows else result.rowcount
        finally:
            await engine.dispose()

    return run_async(run())


def joined_through(server: Server, link: str) -> list[str]:
    """The member ids of the people who joined through this invite link, in order."""
    rows = query(server, select(WebPersonRow.member_id).join(WebInvite, WebInvite.id == WebPersonRow.invite_id)
                 .where(WebInvite.token_hash == digest(link.rsplit("/", 1)[1])).order_by(WebPersonRow.created_at))
    return [member_id for (member_id,) in rows]


def counts(server: Server) -> tuple[int, int]:
    """(people on the web, open web sessions)."""
    [(people,)] = query(server, select(func.count()).select_from(WebPersonRow))
    [(sessions,)] = query(server, select(func.count()).select_from(WebSessionRow))
    return people, sessions


# -- the browser side -------------------------------------------------------------------------

def join(someone: Person, link: str, name: str) -> None:
    """Open the invite link, give a name, press Join: the chat opens on the join form."""
    response = someone.open(link)
    assert response.status == 200
    assert someone.page.title() == "Join Harbour Youth · Test Movement"
    assert someone.page.locator("blockquote.challenge").inner_text() == "Young people outside education and work"
    someone.page.fill("#name", name)
    with someone.page.expect_navigation(wait_until="load"):
        someone.page.get_by_role("button", name="Join").click()
    assert someone.page.url.endswith("/chat")
    assert someone.title_of_ask() == "Join Harbour Youth"


def take_a_seat(someone: Person, sector: str, organisation: str, brings: str) -> None:
    """Answer the join form, then decline to map a hidden treasure."""
    someone.pick("Which sector do you come from?", sector)
    someone.fill(re.compile("^Which organisation"), organisation)
    someone.fill(re.compile("^What do you bring to the table"), brings)
    someone.submit()
    assert someone.title_of_ask() == "Map a hidden treasure"
    someone.press("Not right now")
    assert someone.ask.count() == 0
    assert "Who is at the table in Harbour Youth" in someone.text()


def has_session(someone: Person) -> bool:
    return any(c["name"] == "cocreate_session" for c in someone.context.cookies())
