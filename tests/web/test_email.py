"""Email on the web platform, end to end: a real `cocreate serve` sending through a real
(local) SMTP server. Sign-in links by email, and messages for web members who are away, with
a link to the chat and one to stop the emails."""

from __future__ import annotations

import asyncio
import email
import re
import socket
import threading
import time
from datetime import date, timedelta
from email.message import EmailMessage
from email.policy import default as policy

import pytest
from aiosmtpd.controller import Controller

from bot.tokens import digest
from tests.conftest import _copy_sqlite
from tests.support import start_server, stop_server
from tests.web.http import SESSION, Browser, add_invite, chat, link_path, sql, token_of, web_env

SENDER = "cocreate@example.org"


class Inbox:
    """An SMTP server's handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.lock = threading.Lock()
        self.delay = 0.0  # seconds the server takes to accept a message
        self.refused: set[str] = set()  # addresses the server says it does not know

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.refused:
            return f"550 5.1.1 <{address}>: recipient unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for rcpt, m in self.messages if address in rcpt]

    def wait(self, address: str, n: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(found := self.to(address)) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"{n} email(s) to {address} never arrived; got {len(found)}")
            time.sleep(0.05)
        return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


def serve(tmp_path, template, inbox):
    url = _copy_sqlite(template, tmp_path / "cocreate.db")
    return start_server(tmp_path, web_env(url, SMTP_URL=f"smtp://127.0.0.1:{inbox.port}", SMTP_FROM=SENDER))


def stop(running) -> None:
    stop_server(running)
    assert "Traceback" not in running.logs(), running.logs()


@pytest.fixture(scope="module")
def server(tmp_path_factory, _sqlite_template, inbox):
    """One server for the sign-in tests (each uses addresses of its own)."""
    running = serve(tmp_path_factory.mktemp("email"), _sqlite_template, inbox)
    yield running
    stop(running)


@pytest.fixture
def own_server(tmp_path, _sqlite_template, inbox):
    running = serve(tmp_path, _sqlite_template, inbox)
    yield running
    stop(running)


def body(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def join(server, email: str, name: str = "Ada Lovelace", invite: str | None = None) -> Browser:
    invite = invite or add_invite(server.database_url)
    browser = Browser(server.url)
    answer = browser.submit(browser.get(invite), invite, name=name, email=email)
    assert (answer.status, answer.location) == (303, "/chat"), answer.text
    return browser


def ask_for_link(server, address: str, browser: Browser | None = None):
    browser = browser or Browser(server.url)
    page = browser.get("/signin")
    assert page.status == 200 and 'type="email"' in page.text
    return browser.submit(page, "/signin", email=address)


def member_of(server, browser: Browser) -> str:
    [(member,)] = sql(server.database_url, "SELECT member_id FROM web_sessions WHERE token_hash = :h",
                      h=digest(browser.cookies[SESSION]))
    return member


# -- sign-in links by email ------------------------------------------------------------------------


def test_a_sign_in_link_by_email_works_once(server, inbox):
    ada = "ada@example.org"
    join(server, "Ada@Example.ORG")
    answer = ask_for_link(server, "  ADA@example.org ")
    assert answer.status == 200
    assert "If this address belongs to a member, a sign-in link is on its way." in answer.words

    [message] = inbox.wait(ada)
    assert message["To"] == ada
    assert message["From"] == f"Test Movement <{SENDER}>"
    assert message["Subject"] == "Test Movement: your sign-in link"
    text = body(message)
    assert text.startswith("Hello Ada Lovelace,")
    assert "It works once, within 15 minutes" in text
    link = link_path(text, "signin", server.url)

    laptop = Browser(server.url)
    page = laptop.get(link)  # a mail scanner opening the link signs nobody in
    assert page.status == 200 and not page.cookie(SESSION)
    signed = laptop.submit(page, link)
    assert (signed.status, signed.location) == (303, "/chat")
    assert "Signed in as Ada Lovelace · Harbour Youth" in laptop.get("/chat").text

    again = Browser(server.url)
    refused = again.submit(again.get(link), link)
    assert refused.status == 410 and "expired or was used already" in refused.words
    assert not refused.cookie(SESSION) and again.get("/chat").status == 303
    assert len(inbox.to(ada)) == 1


def test_an_unknown_email_gets_the_same_answer_and_no_email(server, inbox):
    bea = "bea@example.org"
    join(server, bea, name="Bea")
    browser = Browser(server.url)
    before = len(inbox.messages)
    known = ask_for_link(server, bea, browser)
    unknown = ask_for_link(server, "nobody@example.org", browser)
    malformed = ask_for_link(server, "not an address", browser)
    assert known.status == unknown.status == malformed.status == 200
    assert known.text == unknown.text == malformed.text  # nothing tells who is a member
    inbox.wait(bea)
    time.sleep(0.3)
    assert [rcpt for rcpt, _ in inbox.messages[before:]] == [[bea]]


def test_asking_for_a_link_takes_as_long_for_a_member_as_for_anyone(server, inbox):
    """The answer must not wait for the mail server: if it did, the time it takes would tell
    whether an address belongs to a member."""
    cai = "cai@example.org"
    join(server, cai, name="Cai")
    browser = Browser(server.url)
    inbox.delay = 1.0  # a slow mail server (or one far away)
    try:
        started = time.monotonic()
        unknown = ask_for_link(server, "nobody@example.org", browser)
        for_nobody = time.monotonic() - started
        started = time.monotonic()
        known = ask_for_link(server, cai, browser)
        for_cai = time.monotonic() - started
        assert known.text == unknown.text
        assert for_cai < for_nobody + 0.5, f"{for_cai:.2f}s for a member, {for_nobody:.2f}s for a stranger"
        inbox.wait(cai)  # the email still goes
    finally:
        inbox.delay = 0


def test_without_a_csrf_token_no_email_is_sent(server, inbox):
    dan = "dan@example.org"
    join(server, dan, name="Dan")
    stranger = Browser(server.url)
    assert stranger.post("/signin", {"email": dan}).status == 403
    refused = stranger.post("/signin", {"email": dan, "csrf": "0" * 32})
    assert refused.status == 403 and "This form has expired." in refused.words
    time.sleep(0.3)
    assert inbox.to(dan) == []


# -- messages for web members who are away -----------------------------------------------------


def finish_joining(browser: Browser, name: str) -> None:
    """Answer the join question in the web chat, so they count as a member of the coalition."""
    [form] = [f for f in browser.get("/chat").forms() if f.fields.get("action", "").startswith("join:")]
    answer = browser.post("/chat", {**form.fields, "f-sector": "citizen", "f-organisation": "myself",
                                    "f-brings": "Time on Saturdays"})
    assert answer.status == 303
    assert f"Welcome aboard, {name}!" in browser.get("/chat").words


def open_round(server) -> None:
    today = date.today()
    out = chat(server, "lea", "experiment", "Job café", "A café run by young people", "Three jobs",
               "young people, employers", "Harbour Bakery", (today - timedelta(days=1)).isoformat(),
               (today + timedelta(days=20)).isoformat(), "Contracts signed", "", "checkin")
    assert "Check-in round on Job café is open: I am asking 4 members now" in out, out


def delivered(server, member: str, n: int, timeout: float = 10.0) -> None:
    """Wait until the outbox has sent `n` messages to `member` (emailed or not)."""
    deadline = time.monotonic() + timeout
    while True:
        [(sent,)] = sql(server.database_url, "SELECT count(*) FROM outbox WHERE target = :t AND state = 'sent'",
                        t=f"member:{member}")
        if sent >= n:
            return
        if time.monotonic() > deadline:
            rows = sql(server.database_url, "SELECT target, state, error FROM outbox")
            raise AssertionError(f"{sent} of {n} messages to {member} sent: {rows}\n{server.logs()}")
        time.sleep(0.05)


def test_a_message_for_a_web_member_is_emailed_until_they_unsubscribe(own_server, inbox):
    server = own_server
    eve = "eve@example.org"
    invite = link_path(chat(server, "lea", "invite"), "join", server.url)  # the leader's link, as typed
    browser = join(server, eve, name="Eve", invite=invite)
    member = member_of(server, browser)
    finish_joining(browser, "Eve")
    quiet = join(server, "", name="Finn", invite=invite)  # no email: the chat only
    finn = member_of(server, quiet)
    finish_joining(quiet, "Finn")
    before = len(inbox.messages)
    open_round(server)

    [message] = inbox.wait(eve)
    assert message["Subject"] == "Test Movement: a new message for you"
    assert message["From"] == f"Test Movement <{SENDER}>"
    text = body(message)
    assert "Impact check-in: Job café (Harbour Youth)" in text
    assert f"Read it and answer in the web chat: {server.url}/chat" in text
    stop = re.search(r"Stop these emails: (\S+)", text).group(1)
    assert stop.startswith(f"{server.url}/unsubscribe/") and len(token_of(stop)) == 43
    assert message["List-Unsubscribe"] == f"<{stop}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    delivered(server, member, 1)
    delivered(server, finn, 1)
    assert "Impact check-in: Job café (Harbour Youth)" in browser.get("/chat").words  # and in the chat
    assert "Impact check-in: Job café (Harbour Youth)" in quiet.get("/chat").words
    assert sql(server.database_url, "SELECT count(*) FROM web_entries WHERE member_id = :m "
                                     "AND emailed_at IS NOT NULL", m=member) == [(1,)]
    assert [rcpt for rcpt, _ in inbox.messages[before:]] == [[eve]]  # Finn gave no address

    # The link opens a page with a button; the mail client's one-click unsubscribe posts to it.
    path = stop.removeprefix(server.url)
    mail_client = Browser(server.url)
    page = mail_client.get(path)
    assert page.status == 200 and "Stop the emails about new messages?" in page.words
    assert sql(server.database_url, "SELECT unsubscribed_at FROM web_people WHERE member_id = :m",
               m=member) == [(None,)]
    done = mail_client.post(path, {"List-Unsubscribe": "One-Click"})
    assert done.status == 200 and "we will not email you about new messages any more" in done.words

    out = chat(server, "lea", "checkin close", "checkin")
    assert "Check-in round on Job café is open" in out.split("> checkin\n")[-1], out
    delivered(server, member, 2)
    time.sleep(0.3)
    assert len(inbox.to(eve)) == 1  # not emailed any more…
    assert browser.get("/chat").words.count("Impact check-in: Job café (Harbour Youth)") == 2  # …but in the chat


def test_an_unknown_unsubscribe_link_says_so(server):
    browser = Browser(server.url)
    answer = browser.post(f"/unsubscribe/{'x' * 43}")
    assert answer.status == 404 and "We don't know this unsubscribe link." in answer.words


def test_a_refused_address_is_logged_without_the_address(server, inbox):
    inbox.refused.add("gone.private@example.org")
    join(server, "gone.private@example.org", name="Gone Private")
    ask_for_link(server, "gone.private@example.org")
    deadline = time.monotonic() + 10
    while "not sent" not in server.logs() and time.monotonic() < deadline:
        time.sleep(0.05)
    [line] = [line for line in server.logs().splitlines() if "sign-in email" in line and "not sent" in line]
    assert "WARNING" in line and "SMTPRecipientsRefused" in line
    assert "gone.private@example.org" not in server.logs()
