"""The web platform: a chat in the browser for people without a Slack or Teams seat, on the
same engine. Pages are rendered on the server (Jinja2) and work without JavaScript: a
question is a form, a button is a post, and every post is answered with a redirect to the
conversation (so a reload never sends anything twice).

People come in through a leader's invite link (`/join/<token>`: a name, optionally an email,
and they are members) or a personal one-time link (`/signin/<token>`, from `web` in any chat
or by email). A session cookie keeps them signed in on that device. Sessions, links and the
conversation live in the database (`bot.ports.WebAccess`), so any replica serves anyone and a
restart signs nobody out.

Security: tokens are 256 random bits, stored as digests; the session id is new at every
sign-in; cookies are HttpOnly and SameSite=Lax (Secure on https); every form posts a CSRF
token (the session's, or a cookie's before sign-in); pages send a Content-Security-Policy
without inline scripts and no Referer, so a token in a link never leaks to another site.
"""

from __future__ import annotations

import asyncio
import hmac
import io
import logging
import re
import secrets
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable

import segno
from aiohttp import web

from adapters.web import codec, render
from adapters.web.dashboard import Dashboard
from adapters.web.mail import Mailer
from adapters.web.sender import PLATFORM, WebSender
from adapters.web.settings import WebSettings
from bot import mydata
from bot.answers import clean
from bot.engine import Engine, chrome
from bot.i18n import Texts, language_code
from bot.people import EMAIL
from bot.ports import DeliveryError, StorageUnavailable, WebAccess, WebPerson
from bot.tokens import digest, new_token
from bot.types import ActionRef, Capabilities, ConversationRef, Interaction, Message
from bot.ui import Reply, Text

log = logging.getLogger(__name__)

CAPABILITIES = Capabilities(can_open_forms=True, can_show_buttons=True, can_update_messages=True)
SESSION, CSRF = "cocreate_session", "cocreate_csrf"
SESSION_DAYS = 30
LINK_MINUTES = 15
TRANSCRIPT = 40  # entries drawn on the chat page (older ones stay in the database)
NAME_LIMIT = 80
NONCE = re.compile(r"^[0-9a-f]{32}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
STATIC = render.HERE / "static"
STYLESHEETS = {"cocreate", "charts", "dashboard"}
HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                                "base-uri 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

Announce = Callable[[Reply], Awaitable[None]]


class Answer(Exception):
    """A page to answer with, from deep inside a handler (e.g. "sign in first")."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


class WebBot:
    def __init__(self, engine: Engine, settings: WebSettings, access: WebAccess,
                 announcers: list[Announce] | None = None, clock: Callable[[], datetime] | None = None):
        self.engine, self.settings, self.access = engine, settings, access
        self.announcers = announcers or []  # coalition news goes to its Slack or Teams channel
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.mailer = Mailer(settings.smtp) if settings.smtp else None
        self.sender = WebSender(access, self.mailer, lambda: self.base, engine.config.movement.name, self.clock)
        self.env = render.environment()
        self.kept = render.Kept()
        self.capabilities = CAPABILITIES
        self._tasks: set[asyncio.Task] = set()
        self.dashboard = Dashboard(self)

    def mount(self, app: web.Application) -> None:
        for method, path, handler in [
            ("GET", "/", self.home),
            ("GET", "/join/{token}", self.join_page), ("POST", "/join/{token}", self.join),
            ("GET", "/join/{token}/qr.svg", self.qr),
            ("GET", "/signin", self.signin_page), ("POST", "/signin", self.signin_email),
            ("GET", "/signin/{token}", self.signin_link), ("POST", "/signin/{token}", self.signin),
            ("GET", "/chat", self.chat), ("POST", "/chat", self.post),
            ("POST", "/signout", self.signout),
            ("GET", "/unsubscribe/{token}", self.unsubscribe_page), ("POST", "/unsubscribe/{token}", self.unsubscribe),
            ("GET", "/mydata/{token}", self.mydata_page), ("POST", "/mydata/{token}", self.mydata),
            ("GET", "/static/{name}.css", self.stylesheet), ("GET", "/favicon.ico", self.no_icon),
        ]:
            app.router.add_route(method, path, self._guarded(handler))
        self.dashboard.mount(app)

    def _guarded(self, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
        """A page that says what happened instead of a bare 500 (the transaction was rolled back)."""
        async def guarded(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except web.HTTPException as moved:
                # Answered, not raised on: aiohttp keeps a raised answer in a local beside its
                # traceback, a reference cycle per request that only a collection frees.
                answer = web.Response(status=moved.status, reason=moved.reason, headers=moved.headers, body=moved.body)
                answer.cookies.update(moved.cookies)
                return answer
            except Answer as answer:
                return answer.response
            except StorageUnavailable as error:  # nothing was saved: say so, and to try again
                log.warning("web: %s %s not handled: %s", request.method, request.path, error)
                texts = self._texts(request)
                return self._notice(request, texts, texts.t("web.form_expired_title"),
                                    [texts.t("engine.unavailable")], status=503, home=True)
            except Exception:
                log.exception("web: %s %s failed", request.method, request.path)
                texts = self._texts(request)
                return self._notice(request, texts, texts.t("web.form_expired_title"), [texts.t("ui.error")],
                                    status=500, home=True)
        return guarded

    @property
    def base(self) -> str:
        return self.engine.public_url

    # -- pages without a session ------------------------------------------------------------

    async def home(self, request: web.Request) -> web.Response:
        if await self._session(request):
            raise web.HTTPSeeOther("/chat")
        texts = self._texts(request)
        form = None
        if self.mailer:
            form = {"action": "/signin", "button": texts.t("web.signin_email_button"), "email": True}
        heading = texts.t("web.home_title", movement=self.engine.config.movement.name)
        return self._page(request, "notice.html", texts, title=heading, heading=heading,
                          lines=[texts.t("web.home_intro")], form=form)

    async def join_page(self, request: web.Request) -> web.Response:
        invite, coalition, refusal = await self._invite(request)
        texts = self._texts(request, coalition and coalition.id)
        if refusal:
            return self._notice(request, texts, refusal[0], [texts.t(f"web.invite_{refusal[1]}")], status=refusal[0])
        session = await self._session(request)
        if session and session.person.coalition_id == coalition.id:
            raise web.HTTPSeeOther("/chat")  # a member again at the poster: their own chat, not a second seat
        return self._join_form(request, texts, coalition, {}, {})

    async def join(self, request: web.Request) -> web.Response:
        invite, coalition, refusal = await self._invite(request)
        texts = self._texts(request, coalition and coalition.id)
        if refusal:
            return self._notice(request, texts, refusal[0], [texts.t(f"web.invite_{refusal[1]}")], status=refusal[0])
        form = await request.post()
        if not self._anonymous_csrf_ok(request, form):
            return self._expired_form(request, texts)
        name = CONTROL.sub(" ", clean(str(form.get("name", "")))).strip()  # otherwise exactly as typed
        email = str(form.get("email", "")).strip().lower()
        errors = {}
        if not name:
            errors["name"] = texts.t("web.name_required")
        elif len(name) > NAME_LIMIT:
            errors["name"] = texts.t("web.name_too_long", limit=NAME_LIMIT)
        if email and (len(email) > 254 or not EMAIL.match(email)):
            errors["email"] = texts.t("web.email_invalid")
        if errors:
            return self._join_form(request, texts, coalition, {"name": name, "email": email}, errors, status=400)
        now = self.clock()
        hour = timedelta(hours=1)
        if not (await self.access.allow("join-address", _address(request, self.settings.behind_proxy), now, hour, self.settings.joins_per_address)
                and await self.access.allow("join-invite", str(invite.id), now, hour, self.settings.joins_per_invite)):
            log.warning("web: joins through invite %s refused: too many in an hour", invite.id)
            return self._notice(request, texts, texts.t("web.too_many_title"), [texts.t("web.too_many")], status=429)
        person = WebPerson(f"{PLATFORM}:{secrets.token_hex(8)}", name, coalition.id, email or None)
        session, csrf = new_token(), secrets.token_hex(16)
        if not await self.access.join(invite.id, person, digest(session), csrf, now, now + timedelta(days=SESSION_DAYS)):
            # It expired or was revoked between the page and the post: nothing was created.
            return self._notice(request, texts, 410, [texts.t("web.invite_expired")], status=410)
        log.info("web: %s joined %s through invite %s", person.member_id, coalition.id, invite.id)
        await self._end_session(request)
        await self._signed_in(request, person.member_id, now)
        ref = self._ref(request, person)
        welcome = Reply.text(texts.t("web.welcome", coalition=coalition.name, name=name))
        replies = await self.engine.handle(Message(ref, f"web-join-{person.member_id}", texts.command("join"),
                                                   command=True), CAPABILITIES)
        await self._keep(person.member_id, None, [welcome, *replies])
        response = web.HTTPSeeOther("/chat")
        self._sign_in_cookie(response, session)
        raise response

    async def qr(self, request: web.Request) -> web.Response:
        invite, _, refusal = await self._invite(request)
        if refusal:
            raise web.HTTPNotFound()
        code = segno.make(f"{self.base}/join/{request.match_info['token']}", error="m")
        out = io.BytesIO()
        code.save(out, kind="svg", scale=8, border=4, xmldecl=False, svgns=True, title="QR code", nl=False)
        return web.Response(body=out.getvalue(), content_type="image/svg+xml", headers=HEADERS)

    async def signin_page(self, request: web.Request) -> web.Response:
        texts = self._texts(request)
        if not self.mailer:
            return self._notice(request, texts, texts.t("web.signin_title"), [texts.t("web.signin_no_email")], home=True)
        form = {"action": "/signin", "button": texts.t("web.signin_email_button"), "email": True}
        return self._page(request, "notice.html", texts, title=texts.t("web.signin_title"),
                          heading=texts.t("web.signin_title"), lines=[texts.t("web.signin_email_intro")], form=form)

    async def signin_email(self, request: web.Request) -> web.Response:
        """An email with a one-time link, if the address belongs to someone. The answer is the
        same either way, so nobody can find out who is a member."""
        texts = self._texts(request)
        form = await request.post()
        if not self._anonymous_csrf_ok(request, form):
            return self._expired_form(request, texts)
        if not self.mailer:
            return self._notice(request, texts, texts.t("web.signin_title"), [texts.t("web.signin_no_email")], home=True)
        email = str(form.get("email", "")).strip().lower()
        now, hour = self.clock(), timedelta(hours=1)
        if (EMAIL.match(email) and await self.access.allow("signin-address", _address(request, self.settings.behind_proxy), now, hour, 10)
                and await self.access.allow("signin-email", digest(email), now, hour, 3)):
            person = await self.access.person_by_email(email)
            if person is not None:
                # Sent after answering: how long the mail server takes must not tell who is a member.
                self._background(self._email_link(person, now))
        return self._notice(request, texts, texts.t("web.signin_title"), [texts.t("web.signin_sent", minutes=LINK_MINUTES)], home=True)

    def _background(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Let emails being sent finish (on shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=20)

    async def _email_link(self, person: WebPerson, now: datetime) -> None:
        try:
            await self._send_link(person, now)
        except Exception:  # in the background: nobody else would hear of it
            log.exception("web: sign-in email for %s failed", person.member_id)

    async def _send_link(self, person: WebPerson, now: datetime) -> None:
        token = new_token()
        await self.access.issue_link(digest(token), "signin", person.member_id, now, now + timedelta(minutes=LINK_MINUTES))
        texts = self.engine.config.texts(*(await self._language(person)))
        movement = self.engine.config.movement.name
        body = texts.t("web.signin_email_body", name=person.name, minutes=LINK_MINUTES, link=f"{self.base}/signin/{token}")
        try:
            await self.mailer.send(person.email, texts.t("web.signin_email_subject", movement=movement), body,
                                   sender_name=movement)
        except DeliveryError as error:
            log.warning("web: sign-in email for %s not sent: %s", person.member_id, error.reason)

    async def signin_link(self, request: web.Request) -> web.Response:
        # A page with a button, not a sign-in on GET: mail scanners open links before people do.
        return self._confirm(request, "signin_title", "signin_intro", "signin_button")

    async def signin(self, request: web.Request) -> web.Response:
        return await self._spend_link(request, "signin", "/chat")

    async def _spend_link(self, request: web.Request, purpose: str, landing: str) -> web.Response:
        """Sign in with a one-time link of `purpose` and go to `landing`."""
        texts = self._texts(request)
        form = await request.post()
        if not self._anonymous_csrf_ok(request, form):
            return self._expired_form(request, texts)
        now = self.clock()
        session, csrf = new_token(), secrets.token_hex(16)
        person = await self.access.use_sign_in(digest(request.match_info["token"]), digest(session), csrf, now,
                                               now + timedelta(days=SESSION_DAYS), purpose=purpose)
        if person is None:
            return self._notice(request, texts, texts.t("web.signin_title"), [texts.t("web.signin_bad")],
                                status=410, home=True)
        await self._end_session(request)
        await self._signed_in(request, person.member_id, now)
        response = web.HTTPSeeOther(landing)
        self._sign_in_cookie(response, session)
        raise response

    async def mydata_page(self, request: web.Request) -> web.Response:
        return self._confirm(request, "mydata_title", "mydata_intro", "mydata_button")

    async def mydata(self, request: web.Request) -> web.StreamResponse:
        """A member's data (chat's `mydata`), read when the one-time link is used: no copy of it
        waits anywhere in between."""
        texts = self._texts(request)
        if not self._anonymous_csrf_ok(request, await request.post()):
            return self._expired_form(request, texts)
        now = self.clock()
        member_id = await self.access.spend_link(digest(request.match_info["token"]), mydata.PURPOSE, now)
        if member_id is None:
            return self._notice(request, texts, texts.t("web.mydata_title"), [texts.t("web.mydata_bad")],
                                status=410, home=True)
        doc = await mydata.of(self.engine.store, self.engine.config, member_id, now)
        return web.Response(body=mydata.encoded(doc), content_type="application/json", charset="utf-8", headers={
            **HEADERS, "Content-Disposition": f'attachment; filename="{mydata.filename(member_id, now)}"'})

    async def unsubscribe_page(self, request: web.Request) -> web.Response:
        return self._confirm(request, "unsubscribe_title", "unsubscribe_ask", "unsubscribe_button")

    async def unsubscribe(self, request: web.Request) -> web.Response:
        # No CSRF check: the token is the authority, and mail clients' one-click unsubscribe
        # (RFC 8058) posts here without a page.
        texts = self._texts(request)
        person = await self.access.unsubscribe(digest(request.match_info["token"]), self.clock())
        key = "web.unsubscribed" if person else "web.unsubscribe_bad"
        return self._notice(request, texts, texts.t("web.unsubscribe_title"), [texts.t(key)],
                            status=200 if person else 404, home=True)

    async def no_icon(self, request: web.Request) -> web.Response:
        return web.Response(status=204, headers={"Cache-Control": "public, max-age=86400"})

    async def stylesheet(self, request: web.Request) -> web.FileResponse:
        name = request.match_info["name"]
        if name not in STYLESHEETS:
            raise web.HTTPNotFound()
        return web.FileResponse(STATIC / f"{name}.css", headers={"Cache-Control": "public, max-age=3600"})

    # -- the chat -------------------------------------------------------------------------------

    async def chat(self, request: web.Request) -> web.Response:
        token = request.cookies.get(SESSION)
        session, entries, seen = None, [], None
        if token:  # one transaction: the session, the conversation, and who is asked what
            session, entries, seen = await self.access.page(
                digest(token), self.clock(), TRANSCRIPT,
                then=lambda unit, found: self.engine.view(self._ref(request, found.person), CAPABILITIES, unit))
        if session is None:
            raise web.HTTPSeeOther("/")
        person = session.person
        actor, current = seen
        texts = self.engine.texts(actor)
        live, given, shown, words = None, {}, None, chrome(texts)
        items = [self.kept.item(e.id, e.who, e.body, texts.code, words) for e in entries]
        # The open question is a form: as it was last asked (with its errors and what the member
        # typed), or as the engine asks it now when the conversation does not show it.
        last = next((i for i in reversed(items) if i.reply is not None and i.reply.ask is not None), None)
        if current is not None and last is not None and last.reply.ask.action == current.action:
            live, given, shown = last.reply.ask, last.given or {}, last
            if not last.reply.blocks:
                items.remove(last)  # nothing but the question, which is drawn below as the form
        live = live or current
        t = self._words(texts)
        return self._page(
            request, "chat.html", texts, title=texts.t("web.chat_title"), csrf=session.csrf, name=person.name,
            coalition=self.engine.config.coalition(actor.coalition_id).name, live=live, given=given,
            items=[(i.who, self.kept.entry(i, i is shown, session.csrf, t)) for i in items],
            menu=self.kept.menu(self.engine.menu(actor), session.csrf),
            click=render.one_click(live) if live else None,
            max_length=self.engine.config.limits.max_answer_length)

    async def post(self, request: web.Request) -> web.Response:
        session = await self._session(request)
        if session is None:
            raise web.HTTPSeeOther("/")
        form = await request.post()
        if not hmac.compare_digest(str(form.get("csrf", "")), session.csrf):
            log.info("web: a chat post without its CSRF token refused")
            return self._expired_form(request, self._texts(request))
        person = session.person
        ref = self._ref(request, person)
        nonce = str(form.get("event", ""))
        event_id = f"web-{nonce if NONCE.match(nonce) else uuid.uuid4().hex}"
        said: dict[str, Any]
        given: dict[str, Any] = {}
        if form.get("action"):
            try:
                action = ActionRef.decode(str(form["action"]))
            except ValueError:  # not a form this server drew
                texts = self._texts(request)
                return self._notice(request, texts, texts.t("web.form_expired_title"), [texts.t("web.form_expired")],
                                    status=400, home=True)
            asked = next((r.ask for r in await self.engine.current(ref, CAPABILITIES) if r.ask and r.ask.action == action), None)
            given = render.values(asked, form)
            said = {"answers": render.answered(asked, given) if asked else []}
            event = Interaction(ref, event_id, action, given)
        else:
            text = render.lines(clean(str(form.get("text", "")))).strip()[: self.engine.config.limits.max_answer_length * 2]
            if not text:
                raise web.HTTPSeeOther("/chat#latest")
            said = {"text": text}
            # Questions have their own form on the page, so a command word typed in the box below
            # is a command (as a slash command is in Slack), also while a question is open.
            word = text.lstrip("/").split(maxsplit=1)[0].lower() if text.lstrip("/") else ""
            event = Message(ref, event_id, text, command=word in self.engine.aliases)
        replies = await self.engine.handle(event, CAPABILITIES)
        if self.engine.forgets(ref):  # erased, with their web person and sessions: say so once, keep nothing
            texts = self._texts(request)
            response = self._notice(request, texts, texts.t("web.forgotten_title"),
                                    [b.text for r in replies for b in r.blocks if isinstance(b, Text)], home=True)
            response.del_cookie(SESSION, path="/")
            return response
        await self._keep(person.member_id, said, replies, tag=event_id, given=given)
        raise web.HTTPSeeOther("/chat#latest")

    async def signout(self, request: web.Request) -> web.Response:
        session = await self._session(request)
        form = await request.post()
        if session is not None:
            if not hmac.compare_digest(str(form.get("csrf", "")), session.csrf):
                return self._expired_form(request, self._texts(request))
            await self.access.close_session(digest(request.cookies[SESSION]))
        response = web.HTTPSeeOther("/")
        response.del_cookie(SESSION, path="/")
        raise response

    # -- helpers --------------------------------------------------------------------------------

    async def _keep(self, member_id: str, said: dict | None, replies: list[Reply], tag: str | None = None,
                    given: dict | None = None) -> None:
        """What the member said and what the bot answered, in their conversation (news for the
        coalition goes to its channels instead). `tag`: a post handled twice is kept once."""
        entries: list[tuple[str, dict]] = [("member", said)] if said else []
        for reply in replies:
            if reply.to_coalition:
                for announce in self.announcers:
                    try:
                        await announce(reply)
                    except Exception:
                        log.exception("web: coalition news not posted")
                continue
            body = codec.dump(reply)
            if reply.ask is not None and reply.ask.errors and given:
                body["given"] = given  # drawn back into the form, so nothing typed is lost
            entries.append(("bot", body))
        if entries:
            await self.access.record(member_id, entries, self.clock(), tag=tag if said else None)

    def _ref(self, request: web.Request, person: WebPerson) -> ConversationRef:
        extra: dict[str, Any] = {"member": person.member_id, "name": person.name, "kind": "personal"}
        if person.coalition_id:
            extra["coalition"] = person.coalition_id
        locale = _locale(request)
        if locale:
            extra["locale"] = locale
        return ConversationRef(PLATFORM, PLATFORM, person.member_id, person.member_id, extra=extra)

    async def _session(self, request: web.Request):
        token = request.cookies.get(SESSION)
        return await self.access.session(digest(token), self.clock()) if token else None

    async def _invite(self, request: web.Request):
        """(invite, coalition, None) for an open invite, else (…, (status, reason))."""
        invite = await self.access.invite(digest(request.match_info["token"]))
        coalition = self.engine.config.coalition(invite.coalition_id) if invite else None
        if invite is None or coalition is None:
            return None, None, (404, "unknown")
        state = invite.state(self.clock())
        return invite, coalition, (None if state == "open" else (410, state))

    async def _language(self, person: WebPerson) -> tuple[str | None, ...]:
        async with self.engine.store.unit() as unit:
            chosen, locale = await unit.language_of(person.member_id)
        return chosen, locale, self.engine.config.language_of(person.coalition_id)

    def _texts(self, request: web.Request, coalition_id: str | None = None) -> Texts:
        """Before sign-in: the browser's language if we speak it, else the coalition's."""
        return self.engine.config.texts(_locale(request), self.engine.config.language_of(coalition_id))

    async def _end_session(self, request: web.Request) -> None:
        """At sign-in, the browser's old session id is never used again."""
        old = request.cookies.get(SESSION)
        if old:
            await self.access.close_session(digest(old))

    async def _signed_in(self, request: web.Request, member_id: str, now: datetime) -> None:
        """The outbox reaches them here from now on (other replicas learn it from the database),
        in their browser's language when they choose none."""
        self.sender.people = self.sender.people | {member_id}
        locale = _locale(request)
        if locale and member_id.startswith(f"{PLATFORM}:"):  # a chat member's platform keeps its say
            await self.engine.store.save_locale(member_id, locale, now)

    def _join_form(self, request, texts: Texts, coalition, values: dict, errors: dict, status: int = 200):
        return self._page(request, "join.html", texts, title=texts.t("web.join_title", coalition=coalition.name),
                          coalition=coalition, values=values, errors=errors, action=request.path,
                          name_limit=NAME_LIMIT, status=status)

    def _notice(self, request, texts: Texts, heading: Any, lines: list[str], status: int = 200, home: bool = False):
        if isinstance(heading, int):
            heading = texts.t("web.link_problem")
        return self._page(request, "notice.html", texts, title=heading, heading=heading, lines=lines,
                          form=None, home=home, status=status)

    def _confirm(self, request: web.Request, title: str, line: str, button: str) -> web.Response:
        """A page whose one button posts back to the same link (what a link does, it does on POST)."""
        texts = self._texts(request)
        heading = texts.t(f"web.{title}")
        return self._page(request, "notice.html", texts, title=heading, heading=heading,
                          lines=[texts.t(f"web.{line}")], form={"action": request.path, "button": texts.t(f"web.{button}")})

    def _refusal(self, request, texts: Texts, heading: str, lines: list[str], status: int) -> Answer:
        return Answer(self._notice(request, texts, heading, lines, status=status, home=True))

    def headers(self) -> dict[str, str]:
        return dict(HEADERS)

    def _expired_form(self, request, texts: Texts) -> web.Response:
        return self._notice(request, texts, texts.t("web.form_expired_title"), [texts.t("web.form_expired")],
                            status=403, home=True)

    def _anonymous_csrf_ok(self, request: web.Request, form) -> bool:
        cookie = request.cookies.get(CSRF, "")
        return bool(cookie) and hmac.compare_digest(str(form.get("csrf", "")), cookie)

    def _page(self, request: web.Request, template: str, texts: Texts, status: int = 200, **context: Any) -> web.Response:
        csrf = context.pop("csrf", None)
        fresh = None
        if csrf is None:  # before sign-in: the double-submit cookie
            csrf = request.cookies.get(CSRF) or None
            if csrf is None or not NONCE.match(csrf):
                csrf = fresh = secrets.token_hex(16)
        html = render.page(self.env, template, lang=texts.code, movement=self.engine.config.movement.name,
                           t=self._words(texts), csrf=csrf, **context)
        response = web.Response(text=html, content_type="text/html", status=status, headers=HEADERS)
        if fresh:
            response.set_cookie(CSRF, fresh, httponly=True, samesite="Lax", secure=self.settings.secure, path="/")
        return response

    @staticmethod
    def _words(texts: Texts) -> Callable[..., str]:
        return lambda key, **values: texts.t(f"web.{key}", **values)

    def _sign_in_cookie(self, response: web.StreamResponse, session: str) -> None:
        response.set_cookie(SESSION, session, max_age=SESSION_DAYS * 86400, httponly=True, samesite="Lax",
                            secure=self.settings.secure, path="/")


def _address(request: web.Request, behind_proxy: bool) -> str:
    """Who is asking, for the rate limits: behind a proxy, the address it saw (the last one
    it added to X-Forwarded-For); a client's own X-Forwarded-For is never trusted otherwise."""
    if behind_proxy:
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
        if forwarded:
            return forwarded[:64]
    return request.remote or "unknown"


def _locale(request: web.Request) -> str | None:
    """The first language of the browser's Accept-Language that we speak (e.g. "da-DK")."""
    ranked = []
    for n, part in enumerate(request.headers.get("Accept-Language", "").split(",")[:12]):
        tag, _, params = part.strip().partition(";")
        try:
            q = float(params.strip()[2:]) if params.strip().startswith("q=") else 1.0
        except ValueError:
            q = 0.0
        if tag and q > 0:
            ranked.append((-q, n, tag.strip()))
    return next((tag for _, _, tag in sorted(ranked) if language_code(tag)), None)
