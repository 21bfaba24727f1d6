"""A conversation driver for tests: type, click and submit as a member would."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from adapters.console.render import render
from bot.engine import Engine
from bot.i18n import Languages
from bot.types import Capabilities, ConversationRef, Interaction, Message
from bot.ui import Reply

_ids = itertools.count(1)


def library() -> dict[str, str]:
    """The whole English library, as the composition root builds it."""
    from bot.cli import library as built

    return built()


def labels(group: str, code: str = "en") -> dict[str, str]:
    """{value: label} of one group of option labels, e.g. labels("sector")."""
    return dict(texts(code).group(f"labels.{group}"))


def texts(code: str = "en"):
    """One language's texts over the whole library (English source plus its catalog)."""
    return Languages(library())[code]


FORMS = Capabilities(can_open_forms=True, can_show_buttons=True, can_update_messages=True)


class Clock:
    def __init__(self, now: datetime = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Chat:
    """One member in one conversation. `say` types; `submit` answers the open question."""

    def __init__(self, engine: Engine, user: str, caps: Capabilities = Capabilities(),
                 platform: str = "console", coalition: str | None = None):
        self.engine, self.caps = engine, caps
        extra = {"coalition": coalition} if coalition else {}
        self.ref = ConversationRef(platform, "local", f"{platform}:{user}", user, extra=extra)
        self.replies: list[Reply] = []

    async def say(self, text: str, event_id: str | None = None) -> str:
        event = Message(self.ref, event_id or f"e{next(_ids)}", text)
        return self._keep(await self.engine.handle(event, self.caps))

    async def answer(self, *lines: str) -> str:
        """Type several answers in a row; returns what the bot said after the last one."""
        out = ""
        for line in lines:
            out = await self.say(line)
        return out

    async def submit(self, values: dict, event_id: str | None = None, action=None) -> str:
        """Click or submit a form for the open question (or for an older `action`)."""
        action = action or self.ask.action
        event = Interaction(self.ref, event_id or f"e{next(_ids)}", action, values)
        return self._keep(await self.engine.handle(event, self.caps))

    @property
    def ask(self):
        asks = [r.ask for r in self.replies if r.ask]
        return asks[-1] if asks else None

    def _keep(self, replies: list[Reply]) -> str:
        self.replies = replies
        return "\n".join(render(r) for r in replies)


# -- a real `cocreate serve` process ------------------------------------------------------

COCREATE = Path(sys.executable).parent / "cocreate"
APP_YAML = Path(__file__).resolve().parent / "data" / "app.yaml"


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path
    database_url: str
    secrets: tuple[str, ...] = ()  # values from its environment that no log line may hold

    def logs(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


_SECRET = re.compile(r"TOKEN|SECRET|PASSWORD|SMTP_URL")


def secrets_in(env: dict[str, str]) -> tuple[str, ...]:
    """The tokens, secrets and passwords a server is given (and SMTP_URL's password)."""
    found = [v for k, v in env.items() if _SECRET.search(k) and len(v) >= 6]
    smtp = urlsplit(env.get("SMTP_URL") or "")
    return tuple(found + ([smtp.password] if smtp.password else []))


def start_server(tmp_path: Path, env: dict[str, str], name: str = "serve") -> Server:
    log = tmp_path / f"{name}.log"
    with log.open("w") as stderr:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            # At INFO, so the check in `stop_server` sees every line an operator could turn on.
            [str(COCREATE), "--verbose", "serve", "--host", "127.0.0.1", "--port", "0"],
            stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=tmp_path, env=env,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("cocreate: listening on port"):
            port = int(line.rsplit(" ", 1)[1])
            return Server(f"http://127.0.0.1:{port}", process, log, env["DATABASE_URL"], secrets_in(env))
        if not line and process.poll() is not None:
            break
    process.kill()
    raise RuntimeError(f"cocreate serve did not start:\n{log.read_text()}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    server.process.stdout.close()
    check_log(server)


def check_log(server: Server) -> None:
    """What no log line of a server may hold, at INFO too: a secret from its environment, an
    email address, or anything members wrote (as its database holds it)."""
    logs = server.logs()
    leaked = [f"{secret[:4]}…" for secret in server.secrets if secret in logs]
    assert not leaked, f"a secret given to the server is in its log: {leaked}"
    emails = sorted(set(EMAIL_IN_LOG.findall(logs)))
    assert not emails, f"an email address is in the server's log: {emails}"
    said = [text for text in _members_words(server.database_url) if text in logs]
    assert not said, f"what members wrote is in the server's log: {said[:3]}"


# Not Teams conversation ids ("19:…@thread.tacv2", "19:…@unq.gbl.spaces"), which look alike.
EMAIL_IN_LOG = re.compile(r"[\w.+-]+@(?!thread\.|unq\.gbl\.)[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)
# A member's words, long enough not to be a common word of a log line.
WORDS_SHOWN = 8


def _members_words(database_url: str) -> list[str]:
    """Everything members wrote that the server's database holds: their answers' and stories'
    text, what they bring and their organisation (no log line may quote any of it)."""
    from sqlalchemy import select

    from storage.models import Member
    from storage.privacy import CONTRIBUTIONS
    from storage.repository import open_store
    from tests.conftest import run_async

    async def read() -> list[str]:
        store = open_store(database_url)
        try:
            async with store.engine.connect() as db:
                found: list[str] = []
                for model, texts in CONTRIBUTIONS.values():
                    for field in texts:
                        found += await db.scalars(select(getattr(model, field)))
                found += await db.scalars(select(Member.brings))
                return [t.strip() for t in found if t and len(t.strip()) >= WORDS_SHOWN]
        except Exception:  # a test that dropped or never migrated its database
            return []
        finally:
            await store.close()

    return run_async(read())
