"""The web chat's security, over HTTP against a real `cocreate serve`: cookies, sessions that
change at sign-in and end at sign-out, CSRF on every form, headers on every page, one-time
links, rate-limited joins, invites that stop working, and what people type kept exactly but
never run as markup."""

from __future__ import annotations

import json
import secrets
import socket
from pathlib import Path

import pytest

from bot.tokens import digest, new_token
from storage.repository import open_store
from tests.conftest import _copy_sqlite, run_async
from tests.support import start_server, stop_server
from tests.web.http import (
    CSRF,
    SESSION,
    Browser,
    Page,
    add_invite,
    add_sign_in,
    attributes,
    chat,
    count,
    link_path,
    revoke_invite,
    sql,
    token_of,
    web_env,
)

# What people type: markup, a script, emoji, Arabic and Hebrew with a right-to-left mark.
WEIRD = "<b>bold</b> & <script>alert('x')</script> 🌊🏳️‍🌈 مرحبا بكم \u200fשלום"


def serve(tmp_path: Path, template: Path, **env: str):
    return start_server(tmp_path, web_env(_copy_sqlite(template, tmp_path / "cocreate.db"), **env))


def stop(server) -> None:
    stop_server(server)
    assert "Traceback" not in server.logs(), server.logs()


@pytest.fixture(scope="module")
def server(tmp_path_factory, _sqlite_template):
    """One server for the tests that need no settings of their own (each makes its own
    invites and people). Joins per address are not limited here (every test joins from
    127.0.0.1); joins per invite are, to two an hour (no other test joins one invite more)."""
    running = serve(tmp_path_factory.mktemp("web"), _sqlite_template, COCREATE_JOINS_PER_HOUR="1000",
                    COCREATE_JOINS_PER_INVITE_HOUR="2")
    yield running
    stop(running)


@pytest.fixture
def own_server(tmp_path, _sqlite_template):
    """A server of the test's own, with the settings it passes."""
    started = []

    def start(**env: str):
        started.append(serve(tmp_path, _sqlite_template, **env))
        return started[-1]

    yield start
    for running in started:
        stop(running)


def join(server, invite: str | None = None, name: str = "Ada Lovelace", email: str = "",
         browser: Browser | None = None) -> tuple[Browser, Page]:
    """Open an invite link and join: (the browser, the answer to the post)."""
    browser = browser or Browser(server.url)
    invite = invite or add_invite(server.database_url)
    page = browser.get(invite)
    assert page.status == 200, page.text
    return browser, browser.submit(page, invite, name=name, email=email)


def joined(server, invite: str | None = None, **kw) -> Browser:
    browser, answer = join(server, invite, **kw)
    assert (answer.status, answer.location) == (303, "/chat"), answer.text
    return browser


def csrf_of(browser: Browser) -> str:
    return browser.get("/chat").form("/signout").fields["csrf"]


def say(browser: Browser, text: str, csrf: str | None = None, event: str | None = None) -> Page:
    data = {"csrf": csrf_of(browser) if csrf is None else csrf, "event": event or secrets.token_hex(16), "text": text}
    return browser.post("/chat", data)


def people(server) -> int:
    return count(server.database_url, "web_people")


def member_of(server, browser: Browser) -> str:
    [(member,)] = sql(server.database_url, "SELECT member_id FROM web_sessions WHERE token_hash = :h",
                      h=digest(browser.cookies[SESSION]))
    return member


def said_by(server, member: str) -> list[str]:
    rows = sql(server.database_url, "SELECT body FROM web_entries WHERE member_id = :m AND who = 'member' ORDER BY id",
               m=member)
    return [(json.loads(b) if isinstance(b, str) else b).get("text") for (b,) in rows]


def joins_through(server, invite: str) -> int:
    [(joins,)] = sql(server.database_url, "SELECT joins FROM web_invites WHERE token_hash = :h",
                     h=digest(token_of(invite)))
    return joins


# -- cookies -----------------------------------------------------------------------------------


def test_cookies_are_httponly_and_samesite_lax_and_not_secure_on_http(server):
    browser = Browser(server.url)
    invite = add_invite(server.database_url)
    page = browser.get(invite)
    csrf = attributes(page.cookie(CSRF))
    assert "httponly" in csrf and csrf["samesite"] == "Lax" and csrf["path"] == "/"
    assert "secure" not in csrf

    answer = browser.submit(page, invite, name="Ada")
    session = attributes(answer.cookie(SESSION))
    assert "httponly" in session and session["samesite"] == "Lax" and session["path"] == "/"
    assert "secure" not in session
    assert int(session["max-age"]) == 30 * 86400
    assert len(browser.cookies[SESSION]) == 43  # 256 random bits


def test_cookies_are_secure_when_the_public_url_is_https(own_server):
    server = own_server(COCREATE_PUBLIC_URL="https://cocreate.example.org")
    browser = Browser(server.url)  # as behind a TLS proxy
    invite = add_invite(server.database_url)
    page = browser.get(invite)
    csrf = attributes(page.cookie(CSRF))
    assert "secure" in csrf and "httponly" in csrf and csrf["samesite"] == "Lax"
    answer = browser.submit(page, invite, name="Ada")
    assert answer.status == 303
    session = attributes(answer.cookie(SESSION))
    assert "secure" in session and "httponly" in session and session["samesite"] == "Lax"
    # The links the server hands out point at the public address.
    assert "https://cocreate.example.org/signin/" in say_and_read(browser, "/web")


def say_and_read(browser: Browser, text: str) -> str:
    assert say(browser, text).status == 303
    return browser.get("/chat").text


# -- sessions ----------------------------------------------------------------------------------


def test_the_session_id_changes_at_sign_in_and_the_old_one_is_gone(server):
    browser = joined(server)
    before = browser.cookies[SESSION]
    assert browser.get("/chat").status == 200
    link = link_path(say_and_read(browser, "/web"), "signin", server.url)

    page = browser.get(link)  # a page with a button: opening the link signs nobody in
    assert page.status == 200 and not page.cookie(SESSION)
    answer = browser.submit(page, link)
    assert (answer.status, answer.location) == (303, "/chat")
    after = browser.cookies[SESSION]
    assert after != before
    assert browser.get("/chat").status == 200
    assert sql(server.database_url, "SELECT count(*) FROM web_sessions WHERE token_hash = :h",
               h=digest(before)) == [(0,)]

    old = Browser(server.url)
    old.cookies[SESSION] = before
    assert (old.get("/chat").status, old.get("/chat").location) == (303, "/")


def test_a_session_cookie_chosen_before_sign_in_is_not_used_after(server):
    """Session fixation: whatever cookie was planted, signing in gives a new one."""
    planted = new_token()
    browser = Browser(server.url)
    browser.cookies[SESSION] = planted
    link = add_sign_in(server.database_url)
    answer = browser.submit(browser.get(link), link)
    assert (answer.status, answer.location) == (303, "/chat")
    assert browser.cookies[SESSION] != planted
    attacker = Browser(server.url)
    attacker.cookies[SESSION] = planted
    assert attacker.get("/chat").status == 303


def test_the_stored_digest_does_not_open_a_session(server):
    browser = joined(server)
    [(stored,)] = sql(server.database_url, "SELECT token_hash FROM web_sessions WHERE token_hash = :h",
                      h=digest(browser.cookies[SESSION]))
    assert stored != browser.cookies[SESSION]
    thief = Browser(server.url)  # someone who read the database or a backup
    thief.cookies[SESSION] = stored
    assert (thief.get("/chat").status, thief.get("/chat").location) == (303, "/")


def test_signing_out_ends_the_session(server):
    browser = joined(server)
    session = browser.cookies[SESSION]
    csrf = csrf_of(browser)

    refused = browser.post("/signout", {"csrf": "0" * 32})
    assert refused.status == 403 and browser.get("/chat").status == 200  # still signed in

    answer = browser.post("/signout", {"csrf": csrf})
    assert (answer.status, answer.location) == (303, "/")
    assert SESSION not in browser.cookies  # the cookie is removed
    assert browser.get("/chat").status == 303
    old = Browser(server.url)  # the cookie kept elsewhere no longer works either
    old.cookies[SESSION] = session
    assert (old.get("/chat").status, old.get("/chat").location) == (303, "/")
    assert old.post("/chat", {"csrf": csrf, "event": secrets.token_hex(16), "text": "status"}).location == "/"
    assert sql(server.database_url, "SELECT count(*) FROM web_sessions WHERE token_hash = :h",
               h=digest(session)) == [(0,)]


def test_joining_while_signed_in_ends_the_previous_session(server):
    """Joining is a sign-in too: the session the browser had before is never used again."""
    browser = joined(server, name="First")
    before = browser.cookies[SESSION]
    # (An invite to the same coalition takes a member to their chat; another coalition's does not.)
    joined(server, add_invite(server.database_url, coalition="elders"), name="Second", browser=browser)
    assert browser.cookies[SESSION] != before
    assert "Signed in as Second · Together Not Alone" in browser.get("/chat").text
    assert sql(server.database_url, "SELECT count(*) FROM web_sessions WHERE token_hash = :h",
               h=digest(before)) == [(0,)]
    old = Browser(server.url)
    old.cookies[SESSION] = before
    assert (old.get("/chat").status, old.get("/chat").location) == (303, "/")


def test_a_sign_in_link_works_once(server):
    link = link_path(chat(server, "lea", "web"), "signin", server.url)
    first = Browser(server.url)
    page = first.get(link)
    assert page.status == 200 and "Sign in" in page.text
    answer = first.submit(page, link)
    assert (answer.status, answer.location) == (303, "/chat")
    assert token_of(link) not in answer.location
    assert "Signed in as Lea Leader · Harbour Youth" in first.get("/chat").text

    second = Browser(server.url)
    again = second.submit(second.get(link), link)
    assert again.status == 410 and not again.cookie(SESSION)
    assert "This sign-in link has expired or was used already." in again.text
    assert second.get("/chat").status == 303
    assert "Signed in as Lea Leader" in first.get("/chat").text  # the first stays signed in


def test_an_expired_sign_in_link_does_not_work(server):
    link = add_sign_in(server.database_url, minutes=-1)
    browser = Browser(server.url)
    answer = browser.submit(browser.get(link), link)
    assert answer.status == 410 and "expired or was used already" in answer.text
    assert not answer.cookie(SESSION)


# -- CSRF ----------------------------------------------------------------------------------------


def test_chat_posts_without_the_sessions_csrf_token_are_refused(server):
    browser = joined(server)
    member = member_of(server, browser)
    other = joined(server, name="Someone else")
    entries = count(server.database_url, "web_entries")
    for csrf in (None, "", "0" * 32, csrf_of(other)):
        data = {"event": secrets.token_hex(16), "text": "cancel"}
        if csrf is not None:
            data["csrf"] = csrf
        answer = browser.post("/chat", data)
        assert answer.status == 403, csrf
        assert "This form has expired." in answer.text
    assert count(server.database_url, "web_entries") == entries
    assert said_by(server, member) == []
    assert "Join Harbour Youth" in browser.get("/chat").text  # the join was not cancelled

    assert say(browser, "cancel").status == 303  # with its own token it goes through
    assert said_by(server, member) == ["cancel"]


def test_join_posts_without_the_csrf_cookie_token_are_refused(server):
    invite = add_invite(server.database_url)
    browser = Browser(server.url)
    page = browser.get(invite)
    token = page.form(invite).fields["csrf"]
    assert token == browser.cookies[CSRF]
    before = people(server)

    assert browser.post(invite, {"name": "No token"}).status == 403
    assert browser.post(invite, {"name": "Wrong token", "csrf": "f" * 32}).status == 403
    stranger = Browser(server.url)  # another site's form: the token, but not the cookie
    refused = stranger.post(invite, {"name": "Forged", "csrf": token})
    assert refused.status == 403 and "This form has expired." in refused.text
    assert people(server) == before and joins_through(server, invite) == 0
    assert SESSION not in browser.cookies and SESSION not in stranger.cookies

    answer = browser.post(invite, {"name": "With token", "csrf": token})
    assert (answer.status, answer.location) == (303, "/chat")
    assert people(server) == before + 1 and joins_through(server, invite) == 1


def test_a_form_sent_twice_is_handled_once(server):
    browser = joined(server)
    member = member_of(server, browser)
    say(browser, "cancel")
    csrf, event = csrf_of(browser), secrets.token_hex(16)
    assert say(browser, "status", csrf, event).status == 303
    assert say(browser, "status", csrf, event).status == 303  # a double click, or a reload
    assert said_by(server, member) == ["cancel", "status"]


def test_the_same_button_on_a_page_drawn_again_is_a_new_press(server):
    """Recorded messages and the menu are drawn once and kept; every view still gives each of
    its forms an event id of its own, so a button pressed again after a reload is handled."""
    browser = joined(server)
    member = member_of(server, browser)
    say(browser, "cancel")
    say(browser, "status")  # a recorded reply with buttons of its own
    first, second = browser.get("/chat"), browser.get("/chat")
    assert first.words == second.words
    events = [f.fields["event"] for page in (first, second) for f in page.forms() if "event" in f.fields]
    assert len(events) > 20 and len(set(events)) == len(events)
    menu = [f for page in (first, second) for f in page.forms() if f.fields.get("text") == "status"]
    assert len(menu) == 2
    for form in menu:  # the first view's button, then the same button on the second view
        assert browser.post("/chat", form.fields).status == 303
    assert said_by(server, member) == ["cancel", "status", "status", "status"]


def test_a_command_typed_below_an_open_form_is_a_command(server):
    """The join form is open after joining; `status` typed in the box below answers and keeps
    the form, where a chat without forms would take the line as the answer."""
    browser = joined(server, name="Kim")
    say(browser, "status")
    page = browser.get("/chat")
    assert "Your status in Harbour Youth" in page.text and "Please answer with the form above" not in page.text
    assert 'class="ask"' in page.text  # the join question is still open
    say(browser, "story")  # another flow: first finish or cancel this one
    assert "You are in the middle of" in browser.get("/chat").text


# -- headers --------------------------------------------------------------------------------------


def directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def test_every_page_sends_a_strict_content_security_policy_and_no_referrer(server):
    invite = add_invite(server.database_url)
    revoked = add_invite(server.database_url)
    sql(server.database_url, "UPDATE web_invites SET revoked_at = created_at WHERE token_hash = :h",
        h=digest(token_of(revoked)))
    visitor = Browser(server.url)
    member = joined(server)
    pages = {
        "home": visitor.get("/"),
        "join": visitor.get(invite),
        "join, unknown": visitor.get(f"/join/{new_token()}"),
        "join, revoked": visitor.get(revoked),
        "join, no token": visitor.post(invite, {"name": "x"}),
        "join, no name": visitor.post(invite, {"name": "", "csrf": visitor.cookies[CSRF]}),
        "sign in": visitor.get("/signin"),
        "sign in link": visitor.get(f"/signin/{new_token()}"),
        "sign in link, unknown": visitor.submit(visitor.get(f"/signin/{new_token()}")),
        "unsubscribe": visitor.get(f"/unsubscribe/{new_token()}"),
        "unsubscribe, unknown": visitor.post(f"/unsubscribe/{new_token()}"),
        "chat": member.get("/chat"),
        "chat, no token": member.post("/chat", {"text": "help"}),
    }
    assert {name: page.status for name, page in pages.items()} == {
        "home": 200, "join": 200, "join, unknown": 404, "join, revoked": 410, "join, no token": 403,
        "join, no name": 400, "sign in": 200, "sign in link": 200, "sign in link, unknown": 410,
        "unsubscribe": 200, "unsubscribe, unknown": 404, "chat": 200, "chat, no token": 403,
    }
    for name, page in pages.items():
        assert page.header("Content-Type").startswith("text/html"), name
        assert page.header("Referrer-Policy") == "no-referrer", name
        policy = directives(page.header("Content-Security-Policy") or "")
        assert policy.get("default-src") == ["'none'"], name
        for directive in ("default-src", "script-src", "style-src"):
            assert "'unsafe-inline'" not in policy.get(directive, []), (name, directive)
            assert "'unsafe-eval'" not in policy.get(directive, []), (name, directive)
        assert policy.get("script-src", ["'none'"]) == ["'none'"], name  # no scripts at all
        assert policy.get("frame-ancestors") == ["'none'"], name
        assert page.header("X-Content-Type-Options") == "nosniff", name
        assert "<script" not in page.text.lower() and " style=" not in page.text, name  # nothing inline
        assert '<meta name="referrer" content="no-referrer">' in page.text, name


def test_after_join_and_sign_in_the_address_has_no_token(server):
    invite = add_invite(server.database_url)
    browser, answer = join(server, invite)
    assert (answer.status, answer.location) == (303, "/chat")
    link = link_path(say_and_read(browser, "/web"), "signin", server.url)
    other = Browser(server.url)
    signed = other.submit(other.get(link), link)
    assert (signed.status, signed.location) == (303, "/chat")
    for location in (answer.location, signed.location):
        assert token_of(invite) not in location and token_of(link) not in location


# -- joins ------------------------------------------------------------------------------------------


def test_joins_are_limited_per_address(own_server):
    server = own_server(COCREATE_JOINS_PER_HOUR="2")
    invites = [add_invite(server.database_url) for _ in range(3)]
    joined(server, invites[0], name="One")
    joined(server, invites[1], name="Two")
    browser, refused = join(server, invites[2], name="Three")
    assert refused.status == 429
    assert "Many people joined from here in a short time. Please try again in an hour." in refused.text
    assert SESSION not in browser.cookies
    assert people(server) == 2 and joins_through(server, invites[2]) == 0


def test_behind_a_proxy_joins_are_limited_per_visitor_and_a_forged_address_helps_nobody(own_server):
    proxied = own_server(COCREATE_JOINS_PER_HOUR="1", COCREATE_BEHIND_PROXY="true")
    invite = add_invite(proxied.database_url)

    def via_proxy(visitor: str, name: str) -> Page:
        browser = Browser(proxied.url)
        browser.headers["X-Forwarded-For"] = f"10.0.0.9, {visitor}"  # the proxy adds the last one
        return join(proxied, invite, name=name, browser=browser)[1]

    assert via_proxy("198.51.100.1", "One").status == 303
    assert via_proxy("198.51.100.2", "Two").status == 303  # another visitor behind the same proxy
    assert via_proxy("198.51.100.1", "Three").status == 429
    # Without a proxy in front, X-Forwarded-For is the visitor's own word: not believed.
    direct = own_server(COCREATE_JOINS_PER_HOUR="1")
    invite = add_invite(direct.database_url)
    for n, claimed in enumerate(["203.0.113.1", "203.0.113.2"]):
        browser = Browser(direct.url)
        browser.headers["X-Forwarded-For"] = claimed
        assert join(direct, invite, name=f"Person {n}", browser=browser)[1].status == (303 if n == 0 else 429)


def test_joins_are_limited_per_invite(server):
    poster, other = add_invite(server.database_url), add_invite(server.database_url)
    before = people(server)
    joined(server, poster, name="One")
    joined(server, poster, name="Two")
    browser, refused = join(server, poster, name="Three")
    assert refused.status == 429 and "Please try again in an hour." in refused.text
    assert SESSION not in browser.cookies
    assert joins_through(server, poster) == 2 and people(server) == before + 2
    joined(server, other, name="Four")  # another invite is not limited by this one
    assert people(server) == before + 3


def test_a_revoked_invite_says_so_and_creates_nothing(server):
    invite = add_invite(server.database_url)
    browser = Browser(server.url)
    page = browser.get(invite)
    assert page.status == 200
    assert (browser.get(f"{invite}/qr.svg")).status == 200
    revoke_invite(server.database_url, invite)  # as `invite revoke <n>` does
    before = people(server)

    again = browser.get(invite)
    assert again.status == 410
    assert "This invite link was withdrawn by the coalition." in again.text
    assert "<form" not in again.text
    posted = browser.submit(page, invite, name="Too late")  # the form opened before it was revoked
    assert posted.status == 410 and "withdrawn by the coalition" in posted.text
    assert SESSION not in browser.cookies
    assert people(server) == before and joins_through(server, invite) == 0
    assert browser.get(f"{invite}/qr.svg").status == 404


def test_an_expired_invite_says_so_and_creates_nothing(server):
    invite = add_invite(server.database_url)
    browser = Browser(server.url)
    page = browser.get(invite)
    assert page.status == 200
    sql(server.database_url, "UPDATE web_invites SET expires_at = :past WHERE token_hash = :h",
        past="2020-01-01 00:00:00.000000", h=digest(token_of(invite)))
    before = people(server)

    again = browser.get(invite)
    assert again.status == 410 and "This invite link has expired." in again.text
    posted = browser.submit(page, invite, name="Too late")
    assert posted.status == 410 and "This invite link has expired." in posted.text
    assert SESSION not in browser.cookies
    assert people(server) == before and joins_through(server, invite) == 0
    assert browser.get(f"{invite}/qr.svg").status == 404


def test_an_unknown_invite_is_not_found(server):
    browser = Browser(server.url)
    unknown = f"/join/{new_token()}"
    page = browser.get(unknown)
    assert page.status == 404 and "We don't know this invite link." in page.words
    before = people(server)
    assert browser.post(unknown, {"name": "Ada", "csrf": browser.cookies[CSRF]}).status == 404
    assert people(server) == before
    assert browser.get(f"{unknown}/qr.svg").status == 404


def test_the_qr_code_of_an_open_invite(server):
    invite = add_invite(server.database_url)
    qr = Browser(server.url).get(f"{invite}/qr.svg")
    assert qr.status == 200 and qr.header("Content-Type").startswith("image/svg+xml")
    assert qr.text.startswith("<svg") and "<script" not in qr.text


# -- what people type ---------------------------------------------------------------------------------


def test_typed_text_is_stored_exactly_and_shown_escaped(server):
    browser = joined(server, name="<i>Ada</i> 🌊")
    member = member_of(server, browser)
    assert say(browser, "cancel").status == 303
    assert say(browser, WEIRD).status == 303
    assert said_by(server, member) == ["cancel", WEIRD]

    page = browser.get("/chat").text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "<script" not in page and "<b>bold" not in page and "<i>Ada" not in page
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; " in page
    assert "🌊🏳️‍🌈 مرحبا بكم \u200fשלום" in page
    assert "Signed in as &lt;i&gt;Ada&lt;/i&gt; 🌊" in page


def test_form_answers_are_stored_exactly_and_shown_escaped(server):
    browser = joined(server)
    member = member_of(server, browser)
    say(browser, "cancel")
    say(browser, "story")
    [form] = [f for f in browser.get("/chat").forms() if "action" in f.fields]  # the open question
    assert form.action == "/chat" and form.fields["action"].startswith("story:")
    title = "<i>Café</i> 🌊 مرحبا"
    answer = browser.post("/chat", {**form.fields, "f-title": title, "f-body": WEIRD, "f-principles": ["1", "7"],
                                    "f-sectors": "citizen", "f-consent": "coalition", "f-named": "no"})
    assert (answer.status, answer.location) == (303, "/chat#latest")

    async def stories():
        store = open_store(server.database_url)
        try:
            return (await store.export("harbour"))["stories"]
        finally:
            await store.close()

    [story] = [s for s in run_async(stories()) if s["member_id"] == member]
    assert (story["title"], story["body"], story["principles"]) == (title, WEIRD, [1, 7])
    shown = browser.get("/chat").text
    assert "&lt;i&gt;Café&lt;/i&gt; 🌊 مرحبا" in shown
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in shown
    assert "<script" not in shown and "<i>Café" not in shown


# -- PostgreSQL ---------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_a_nul_byte_in_a_form_is_no_server_error_on_postgresql(tmp_path, pg_database):
    """PostgreSQL text cannot hold U+0000: what anyone may post must not reach it as is."""
    with socket.socket() as unused:  # email on (sign-in by email looks people up), its server never reached
        unused.bind(("127.0.0.1", 0))
        smtp = f"smtp://127.0.0.1:{unused.getsockname()[1]}"
    server = start_server(tmp_path, web_env(pg_database(), COCREATE_JOINS_PER_HOUR="1000", SMTP_URL=smtp,
                                            SMTP_FROM="cocreate@example.org"))
    try:
        invite = add_invite(server.database_url)
        browser = Browser(server.url)
        answer = browser.submit(browser.get(invite), invite, name="Ada\x00 Lovelace", email="ada\x00@example.org")
        signin = Browser(server.url)
        asked = signin.submit(signin.get("/signin"), "/signin", email="bea\x00@example.org")
        names = [name for (name,) in sql(server.database_url, "SELECT name FROM web_people")]
        assert {"join": answer.status, "sign-in email": asked.status} in (
            {"join": 303, "sign-in email": 200},  # joined without the NUL, or…
            {"join": 400, "sign-in email": 200},  # …asked to check the address
        )
        assert all("\x00" not in name for name in names)
    finally:
        stop_server(server)
    assert "Traceback" not in server.logs(), server.logs()


def test_an_email_given_at_join_never_reaches_the_log(server):
    joined(server, name="Grace Private", email="grace.private@example.org")
    logs = server.logs()
    assert "INFO" in logs and "joined" in logs  # the join was logged, at INFO, by member id
    assert "grace.private@example.org" not in logs and "Grace Private" not in logs
