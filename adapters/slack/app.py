"""The Slack adapter: slack-bolt listeners that ack first, hand neutral events to the
engine, and render its replies as Block Kit messages, modals and the App Home tab.

Every command and click is acknowledged before any database or Web API work; the work
runs right after in a tracked task (so shutdown can let it finish). A modal submission is
the exception: Slack wants its validation errors or next view in the ack itself, so the
engine step (a few milliseconds of database work) runs before that ack.

The same task keeps what the outbox needs to reach a member later, in their turn's own
transaction: their conversation reference (which workspace they are in; at most once an
hour per member) and their time zone and locale from their Slack profile (users.info, at
most once a day per member). Neither ever delays an ack or a reply, and their errors are
only logged (they undo only themselves).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from yarl import URL

from adapters.backlog import WAITING, Backlog
from adapters.slack import events, render
from adapters.slack.events import Origin
from adapters.slack.settings import SlackSettings, SlackSettingsError
from bot.engine import Engine, Keep
from bot.faults import logged
from bot.i18n import language_code
from bot.ports import Unit
from bot.types import ActionRef, Capabilities, ConversationRef, Event
from bot.ui import Ask, File, Kind, Reply, Text

log = logging.getLogger(__name__)

CAPABILITIES = Capabilities(can_open_forms=True, can_show_buttons=True, can_update_messages=True,
                            can_take_files=True)
# Errors that retrying cannot fix: log them once, clearly, and move on.
PERMANENT = {"invalid_auth", "account_inactive", "channel_not_found", "not_in_channel",
             "token_revoked", "missing_scope", "is_archived", "user_not_found",
             "cannot_dm_bot", "user_disabled", "team_access_not_granted", "not_authed",
             "no_permission", "restricted_action", "ekm_access_denied", "messages_tab_disabled",
             "not_allowed_token_type", "msg_too_long", "invalid_blocks", "invalid_metadata_format",
             "invalid_metadata_schema", "metadata_too_large", "message_not_found",
             "cant_update_message", "edit_window_closed", "org_login_required"}
SUBMIT_BUDGET = 2.5  # seconds: Slack drops a view_submission response after 3
REFERENCE_EVERY = 3600.0  # seconds: a member's conversation reference is saved at most this often
PROFILE_EVERY = 24 * 3600.0  # seconds: a member's profile (time zone) is looked up at most this often


class _NoTokenNotice(logging.Filter):
    """bolt reads SLACK_BOT_TOKEN from the environment itself and then warns that the token
    "will be unused" because we hand it a client (which holds the same token): noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "will be unused" not in record.getMessage()


logging.getLogger("slack_bolt.AsyncApp").addFilter(_NoTokenNotice())


def inline(ask: Ask) -> bool:
    """A single choice or rating can be answered with buttons in the message itself."""
    fields = ask.question.fields
    return len(fields) == 1 and fields[0].kind in (Kind.CHOICE, Kind.SCALE)


class SlackBot:
    def __init__(self, engine: Engine, settings: SlackSettings, installation_store=None, oauth_settings=None,
                 waiting: int = WAITING):
        self.engine = engine
        self.settings = settings
        self.backlog = Backlog("slack", waiting=waiting)  # acknowledged events not yet handled
        self._notes: dict[str, dict] = {}  # a refusal's text -> its Slack message
        self._http: aiohttp.ClientSession | None = None  # one pool: response_url posts, outbox sends
        # What this process last did per member (time.monotonic()), so a busy member costs no
        # extra writes or Web API calls: (member id, team) -> reference saved; member id ->
        # profile looked up; and the zone it last saved per member.
        self._referenced: dict[tuple[str, str], float] = {}
        self._profiled: dict[str, float] = {}
        self._asked: dict[str, float] = {}  # Slack user id or email -> when we last asked who it is
        # Team -> (why, members reached only there) where the app was uninstalled; read at the
        # first event, kept by the outbox's sender (refresh) for other replicas' news.
        self.departures: dict[str, tuple[str, tuple[str, ...]]] | None = None
        self._no_email_scope = False
        self._zones: dict[str, str] = {}
        self._locales: dict[str, str | None] = {}
        self.verifier = SignatureVerifier(settings.signing_secret) if settings.signing_secret else None
        client = AsyncWebClient(
            token=settings.bot_token if settings.mode != "oauth" else None,
            base_url=settings.api_url or AsyncWebClient.BASE_URL,
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=3),
                            AsyncConnectionErrorRetryHandler(max_retry_count=2)],
        )
        kwargs: dict[str, Any] = {}
        if settings.mode == "oauth":
            kwargs.update(installation_store=installation_store, oauth_settings=oauth_settings)
        self.app = AsyncApp(
            client=client,
            signing_secret=settings.signing_secret or "socket-mode",
            # `handle_http` checks every request's signature before bolt sees it (bolt's own check
            # would be a second HMAC of each body); Socket Mode frames are authenticated by the
            # connection, not by a signature.
            request_verification_enabled=False,
            raise_error_for_unhandled_request=False,
            **kwargs,
        )
        self._listen()

    # -- HTTP --------------------------------------------------------------------------

    def mount(self, web_app: web.Application) -> None:
        if self.settings.mode == "socket":
            return  # events arrive over the Socket Mode connection instead
        web_app.router.add_post("/slack/events", self.handle_http)
        if self.settings.mode == "oauth":
            web_app.router.add_get("/slack/install", self.handle_http)
            web_app.router.add_get("/slack/oauth_redirect", self.handle_http)

    async def handle_http(self, request: web.Request) -> web.Response:
        """Verify, then parse, then let bolt dispatch. Forged or stale -> 401, garbage -> 400."""
        raw = await request.read()  # aiohttp refuses bodies over client_max_size with 413
        self.http()  # the pool, before bolt builds this request's Web API client
        if request.method == "POST":
            if not self.verifier.is_valid_request(raw, dict(request.headers)):
                return web.json_response({"error": "invalid signature or stale timestamp"}, status=401)
            body = raw.decode("utf-8", errors="replace")
            fields = _fields(body, request.content_type)
            if fields is None:
                return web.json_response({"error": "malformed request body"}, status=400)
            # Parsed here, once, and handed to bolt: its own parser takes any form body with
            # "payload" in it (a command's text, a channel's name) for an interaction's.
            bolt_request = AsyncBoltRequest(body="", query=request.query_string, headers=dict(request.headers))
            bolt_request.raw_body, bolt_request.body = body, fields  # raw: bolt checks the signature too
            bolt_request.context = build_async_context(AsyncBoltContext({}), fields)
            return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))
        # GET: the OAuth install page and Slack's redirect back to us (multi-workspace mode).
        bolt_request = AsyncBoltRequest(body="", query=request.query_string, headers=dict(request.headers))
        flow = self.app.oauth_flow
        if request.path.endswith("/oauth_redirect"):
            return await to_aiohttp_response(await flow.handle_callback(bolt_request))
        return await to_aiohttp_response(await flow.handle_installation(bolt_request))

    def socket_mode_handler(self):
        """In Socket Mode, the connection that replaces the HTTP endpoint (None otherwise)."""
        if self.settings.mode != "socket":
            return None
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        return AsyncSocketModeHandler(self.app, self.settings.app_token)

    async def check_app_token(self) -> None:
        """Socket Mode: fail fast with a clear message if Slack refuses the app-level token."""
        try:
            await self.app.client.apps_connections_open(app_token=self.settings.app_token)
        except SlackApiError as error:
            raise SlackSettingsError(
                f"Slack refused SLACK_APP_TOKEN: {error.response.get('error')}") from None

    async def aclose(self, timeout: float = 10.0) -> None:
        """Let work already acknowledged finish (replies, records) before the process exits."""
        await self.backlog.drain(timeout)
        if self._http is not None:
            await self._http.close()

    def http(self) -> aiohttp.ClientSession:
        """The bot's connection pool (response_url posts, the outbox's Web API calls);
        closed by `aclose`."""
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
            # bolt's Web API client too (each request's client takes it from there): without
            # one, slack_sdk opens a session and a TCP connection for every call.
            self.app.client.session = self._http
        return self._http

    def _spawn(self, work: Awaitable[None]) -> asyncio.Task:
        return self.backlog.spawn(work)

    def _rendered(self, note: Reply) -> dict:
        """A refusal's message, drawn once per language: refusals come by the thousand."""
        text = note.blocks[0].text
        if text not in self._notes:
            self._notes[text] = render.message(note)
        return self._notes[text]

    async def _tell(self, client: AsyncWebClient, note: Reply, origin: Origin) -> None:
        """A refusal where the member is: under the click (response_url, posted directly: there
        may be thousands a second) or in the DM."""
        payload = self._rendered(note)
        if not origin.response_url:
            await self._call(client.chat_postMessage, channel=origin.channel, **payload)
            return
        await self._respond(origin.response_url, {**payload, "response_type": "ephemeral", "replace_original": False})

    async def _respond(self, url: str, payload: dict) -> None:
        """Post to a response_url with the bot's pool (slack_sdk's webhook client, built per
        reply, cost more CPU than the post itself: bench/engine.py). A connection that fails
        before an answer is tried once more, as that client did; an error is logged."""
        for attempt in (1, 2):
            try:
                async with self.http().post(url, json=payload) as answer:
                    if answer.status >= 400:
                        log.warning("slack: response_url answered %s", answer.status)
                    return
            except aiohttp.ClientConnectionError as error:
                if attempt == 1 and not isinstance(error, aiohttp.ServerTimeoutError):
                    continue
                log.warning("slack: response_url not reached: %s", type(error).__name__)
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                log.warning("slack: response_url not reached: %s", type(error).__name__)
            return

    def _refused(self, ref: ConversationRef) -> Reply | None:
        """Too much acknowledged and not yet handled: the note telling the member to send it
        again (nothing of the event is recorded), else None."""
        return self.engine.refusal(ref) if self.backlog.full else None

    # -- listeners -----------------------------------------------------------------------

    def _listen(self) -> None:
        app = self.app
        app.middleware(self.well_formed)
        app.command("/cocreate")(self.on_command)
        app.action(re.compile(r"^answer"))(self.on_answer)
        app.action("open_form")(self.on_open_form)
        app.action(re.compile(r"^command_"))(self.on_button)
        app.view(events.FORM_CALLBACK)(self.on_submit)
        app.view_closed(events.FORM_CALLBACK)(self.on_closed)
        app.event("message")(self.on_message)
        app.event("app_home_opened")(self.on_home)
        app.event("app_uninstalled")(self.on_uninstalled)
        app.event("tokens_revoked")(self.on_uninstalled)
        app.error(self.on_error)

    async def well_formed(self, body, next) -> BoltResponse | None:
        """A signed request without who sent it gets 400 and one log line (not a traceback)."""
        lacking = events.missing(body)
        if lacking is None:
            return await next()
        log.warning("slack: refused a %s from team %s without %s", body.get("command") or body.get("type"),
                    events.team_of(body), lacking)
        return BoltResponse(status=400, body=f"missing {lacking}")

    async def on_command(self, ack, body, client) -> None:
        refused = self._refused(events.from_command(body)[0].ref)
        if refused:
            await ack(**self._rendered(refused))  # shown to the member alone
            return
        await ack()

        async def work() -> None:
            # People mentioned (`add @Anna`): who they are, before the text names them by member id.
            team = events.team_of(body)
            for user in events.mentioned(body.get("text") or ""):
                if found := await self._recognise(client, events.conversation(team, user, None)):
                    await self._profile_kept(*found)
            message, origin = events.from_command(body, lambda user, _: self.engine.member_of(events.PLATFORM, user))
            await self._run(client, message, origin)

        await self._spawn(work())

    async def on_answer(self, ack, body, action, client) -> None:
        await ack()
        raw = action.get("value") or (action.get("selected_option") or {}).get("value", "")
        try:
            ref_action, field_id, value = render.parse_answer_value(raw)
        except ValueError:
            log.warning("slack: ignored a click with an unreadable value %r", raw[:80])
            return
        interaction, origin = events.from_answer(body, action, ref_action, field_id, value)
        if refused := self._refused(interaction.ref):
            await self._tell(client, refused, origin)
            return
        await self._spawn(self._run(client, interaction, origin))

    async def on_button(self, ack, body, action, client) -> None:
        await ack()
        message, origin = events.from_button_command(body, action.get("value") or "help")
        origin.replace = False  # a shortcut button starts something new; keep the message
        if refused := self._refused(message.ref):
            await self._tell(client, refused, origin)
            return
        await self._spawn(self._run(client, message, origin))

    async def on_open_form(self, ack, body, action, client) -> None:
        """'Answer' was clicked: open the open question as a modal while the trigger is fresh."""
        await ack()
        origin = events.action_origin(body)
        ref = events._interaction_ref(body, origin.meta.get("c"))
        if refused := self._refused(ref):
            await self._tell(client, refused, origin)
            return

        async def work() -> None:
            [reply] = await self.engine.current(ref, CAPABILITIES) or [None]
            if reply is None or reply.ask.action != ActionRef.decode(action.get("value", "::0")):
                note = await self.engine.say(ref, "ui.moved_on")
                await self._say(client, note, replace(origin, replace=False))
                return
            view = render.modal(reply.ask, origin.meta)
            await self._call(client.views_open, trigger_id=origin.trigger_id, view=view)

        await self._spawn(work())

    async def on_submit(self, ack, body, view, client) -> None:
        values = render.view_values(view["state"]["values"])
        interaction, origin = events.from_submission(body, values)
        refused = self._refused(interaction.ref)
        if refused and view["state"]["values"]:
            # The modal stays open with what was typed in it, the note under its first field.
            first = next(iter(view["state"]["values"]))
            await ack(response_action="errors", errors={first: self._rendered(refused)["text"]})
            return
        try:
            replies = await asyncio.wait_for(self.engine.handle(interaction, CAPABILITIES), SUBMIT_BUDGET)
        except asyncio.TimeoutError:
            # Too slow to answer inside the ack: close the modal and tell the member.
            await ack()
            await self._say(client, await self.engine.say(interaction.ref, "ui.too_slow"), origin)
            return
        asks = [r for r in replies if r.ask]
        if asks and asks[-1].ask.errors and asks[-1].ask.action == interaction.action:
            await ack(response_action="errors", errors=render.form_errors(asks[-1].ask)["errors"])
            return
        if asks:
            # The next question continues in the same modal; what was said above it leads in.
            reply = asks[-1]
            said = tuple(b for r in replies for b in r.blocks)
            question = replace(reply.ask.question, intro=said + reply.ask.question.intro)
            await ack(response_action="update", view=render.modal(replace(reply.ask, question=question), origin.meta))
            return
        await ack()  # closes the modal; the confirmation goes to the member's DM
        await self._spawn(self._deliver(client, replies, origin))

    async def on_closed(self, ack) -> None:
        await ack()  # the flow stays open: `status` shows it, `cancel` ends it

    async def on_message(self, body, event, client) -> None:
        parsed = events.from_dm(body, event)
        if not parsed:
            return
        if refused := self._refused(parsed[0].ref):
            await self._tell(client, refused, parsed[1])
            return
        await self._spawn(self._run(client, *parsed))

    async def on_home(self, event, body, client) -> None:
        if event.get("tab", "home") != "home":
            return
        ref = events.conversation(events.team_of(body), event["user"], event.get("channel"))
        if self.backlog.full:
            return  # the Home tab keeps what it showed; the next visit refreshes it

        async def work() -> None:
            reply = await self.engine.overview(ref, CAPABILITIES)
            await self._call(client.views_publish, user_id=event["user"], view=render.home(reply))

        await self._spawn(work())

    async def on_uninstalled(self, event, body, context) -> None:
        store = self.app.installation_store
        enterprise = body.get("enterprise_id")
        # An org-wide install is stored without a team id.
        team = None if context.get("is_enterprise_install") else events.team_of(body)
        kind = event.get("type")
        bot_gone = kind == "app_uninstalled" or bool((event.get("tokens") or {}).get("bot"))
        if store is None:
            log.warning("slack: %s for team %s; remove SLACK_BOT_TOKEN to stop", kind, team)
        elif kind == "tokens_revoked":
            if bot_gone:
                await store.async_delete_bot(enterprise_id=enterprise, team_id=team)
            for user in (event.get("tokens") or {}).get("oauth") or []:
                await store.async_delete_installation(enterprise_id=enterprise, team_id=team, user_id=user)
            log.info("slack: removed the tokens of team %s (%s)", team, kind)
        else:
            await store.async_delete_all(enterprise_id=enterprise, team_id=team)
            log.info("slack: removed the tokens of team %s (%s)", team, kind)
        if bot_gone and team:
            # Its addresses go, and what the outbox still had for members reached only there is
            # skipped with the reason: leaders are not told about each of them.
            gone = await self.engine.store.depart(events.PLATFORM, team, kind, datetime.now(timezone.utc), tenant=team)
            self.departures = await self.engine.store.departures(events.PLATFORM)
            log.warning("slack: the app left team %s (%s): %d member(s) reached only there", team, kind, len(gone))

    async def _arrived(self, team: str) -> None:
        """An event from a team the app had left: it is back (reinstalled)."""
        if self.departures is None:
            self.departures = await self.engine.store.departures(events.PLATFORM)
        if team in self.departures:
            await self.engine.store.back(events.PLATFORM, team)
            self.departures = await self.engine.store.departures(events.PLATFORM)
            log.warning("slack: the app is back in team %s", team)

    async def on_error(self, error, body) -> None:
        log.error("slack: listener failed: %s", error, exc_info=error)

    # -- delivery ------------------------------------------------------------------------

    async def _run(self, client: AsyncWebClient, event: Event, origin: Origin) -> None:
        self.http()  # (Socket Mode has no handle_http)
        await self._arrived(event.ref.tenant)
        found = await self._recognise(client, event.ref)
        try:
            replies = await self.engine.handle(event, CAPABILITIES, keep=self._keeping(event.ref, found))
        except Exception:
            log.exception("slack: handling %s failed", event.event_id)
            replies = [await self.engine.say(event.ref, "ui.error")]
        await self._deliver(client, replies, origin)
        await self._learn(client, event.ref)

    # -- who is writing ------------------------------------------------------------------

    async def _recognise(self, client: AsyncWebClient, ref: ConversationRef) -> tuple[dict, str] | None:
        """Someone the bot has no identity for: who their profile's email says they are
        (users.info, once per account; with users:read.email Slack includes the email).
        Returns (their profile, member id) when it was looked up, for its zone and locale."""
        if self.engine.config.people.known(events.PLATFORM, ref.user):
            return None
        now = time.monotonic()
        if now - self._asked.get(ref.user, -PROFILE_EVERY) < PROFILE_EVERY:
            return None  # asked today already, and it failed: the member id stays "slack:<id>"
        self._asked[ref.user] = now
        profile = await self._profile(client, ref.user)
        if profile is None:
            return None
        email = (profile.get("profile") or {}).get("email")
        try:
            member_id = await self.engine.recognise(events.PLATFORM, ref.user, email, "users.info", ref.tenant)
        except Exception:
            logged(log, "slack: could not store who %s is", ref.user)
            return None
        self._profiled[member_id] = now
        return profile, member_id

    async def find_listed(self, pace: float | None = None) -> int:
        """Find app.yaml's members given by email on Slack (users.lookupByEmail, Tier 3: paced
        at the conversations.open budget). With several workspaces (OAuth) each member is
        found when they first write instead. Returns how many were found."""
        if self.settings.mode == "oauth" or self._no_email_scope:
            return 0
        config = self.engine.config
        pace = 60.0 / config.delivery.slack.opens_per_minute if pace is None else pace
        now = time.monotonic()
        wanted = [m for m in config.members if m.email and not config.people.address(m.id, events.PLATFORM)
                  and now - self._asked.get(m.email, -PROFILE_EVERY) >= PROFILE_EVERY]  # once a day each
        found = 0
        for i, member in enumerate(wanted):
            if i:
                await asyncio.sleep(pace)
            self._asked[member.email] = time.monotonic()
            try:
                user = (await self.app.client.users_lookupByEmail(email=member.email)).data.get("user") or {}
            except SlackApiError as error:
                code = error.response.get("error", "unknown_error")
                if code == "missing_scope":
                    self._no_email_scope = True  # said once; a reinstall needs a restart anyway
                    log.warning("slack: cannot find members by email: add the users:read.email scope and reinstall "
                                "the app (members with a Slack id in app.yaml are not affected)")
                    return found
                log.warning("slack: users.lookupByEmail for member %s: %s", member.id,
                            "no Slack account has their email" if code == "users_not_found" else code)
                continue
            except Exception as error:
                log.warning("slack: users.lookupByEmail for member %s failed: %r", member.id, error)
                continue
            if user.get("id"):
                got = await self.engine.recognise(events.PLATFORM, user["id"], member.email, "users.lookupByEmail",
                                                  user.get("team_id") or "")
                found += got == member.id
        if wanted:
            log.info("slack: found %d of %d members listed by email", found, len(wanted))
        return found

    # -- what the outbox needs later -----------------------------------------------------

    def _keeping(self, ref: ConversationRef, found: tuple[dict, str] | None) -> Keep | None:
        """What the turn's transaction also keeps (None: nothing due): where the member writes
        from (at most hourly; in OAuth mode the outbox finds their workspace by it) and, for
        someone just recognised, their profile's locale and time zone."""
        member_id = self.engine.member_id(ref)
        now = time.monotonic()
        due = now - self._referenced.get((member_id, ref.tenant), -REFERENCE_EVERY) >= REFERENCE_EVERY
        if not due and found is None:
            return None

        async def keep(unit: Unit, member_id: str) -> Callable[[], None]:
            if due:
                await unit.save_reference(ref, member_id, "personal", datetime.now(timezone.utc))
            stored = await self._keep_profile(found[0], member_id, unit) if found is not None else None

            def kept() -> None:  # the turn committed: not again within the hour
                if due:
                    self._referenced[(member_id, ref.tenant)] = now
                if stored is not None:
                    stored()

            return kept

        return keep

    async def _learn(self, client: AsyncWebClient, ref: ConversationRef) -> None:
        """After answering a member: forget them if the turn erased them, else look at their
        profile again (daily) for a new time zone or locale."""
        erased = self.engine.forgets(ref)
        if erased:  # they were just erased: keep nothing, and start afresh
            self._asked.pop(ref.user, None)
            self._profiled.pop(erased, None)
            self._zones.pop(erased, None)
            self._referenced = {k: v for k, v in self._referenced.items() if k[0] != erased}
            return
        member_id = self.engine.member_id(ref)
        now = time.monotonic()
        # Everyone who writes may get messages from the outbox later (their zone and language).
        # Asked who they are today (maybe by a request still in flight): that was their profile.
        last = max(self._profiled.get(member_id, -PROFILE_EVERY), self._asked.get(ref.user, -PROFILE_EVERY))
        if now - last >= PROFILE_EVERY:
            self._profiled[member_id] = now  # before the call: one look-up a day, even if it fails
            profile = await self._profile(client, ref.user)
            if profile is not None:
                await self._profile_kept(profile, member_id)

    async def _profile(self, client: AsyncWebClient, user: str) -> dict | None:
        """A member's Slack profile (users.info), or None with one log line."""
        try:
            return (await client.users_info(user=user, include_locale=True)).data.get("user") or {}
        except SlackApiError as error:
            code = error.response.get("error", "unknown_error")
            hint = " (reinstall the app to grant users:read)" if code == "missing_scope" else ""
            log.warning("slack: users.info for %s failed: %s%s", user, code, hint)
        except Exception as error:
            log.warning("slack: users.info for %s failed: %r", user, error)
        return None

    async def _profile_kept(self, profile: dict, member_id: str) -> None:
        """`_keep_profile` outside a turn: in a unit of its own, its failure logged."""
        try:
            async with self.engine.store.unit() as unit:
                stored = await self._keep_profile(profile, member_id, unit)
            stored()
        except Exception:
            logged(log, "slack: could not save the time zone or locale of %s", member_id)

    async def _keep_profile(self, profile: dict, member_id: str, unit: Unit) -> Callable[[], None]:
        """Store the locale and time zone a profile tells, when they changed (in `unit`: what
        it raises is the caller's to log). Returns what to remember once `unit` committed."""
        now = datetime.now(timezone.utc)
        locale, zone = _locale(profile.get("locale")), _zone(profile.get("tz"))
        new_locale = self._locales.get(member_id) != locale  # None first: nothing to store
        new_zone = zone is not None and self._zones.get(member_id) != zone
        if new_locale:
            await unit.save_locale(member_id, locale, now)
        if new_zone:
            await unit.save_zone(member_id, zone, events.PLATFORM, now)

        def stored() -> None:
            if new_locale:
                self._locales[member_id] = locale
            if new_zone:
                self._zones[member_id] = zone

        return stored

    async def _deliver(self, client: AsyncWebClient, replies: list[Reply], origin: Origin) -> None:
        files = [b for r in replies for b in r.blocks if isinstance(b, File)]
        if files:
            replies = [replace(r, blocks=tuple(b for b in r.blocks if not isinstance(b, File))) for r in replies]
        await self._deliver_replies(client, replies, origin)
        for file in files:
            await self._upload(client, file, origin, replies[0])

    async def _upload(self, client: AsyncWebClient, file: File, origin: Origin, reply: Reply) -> None:
        """A file for the member alone: into their DM with the app (files.uploadV2), wherever
        they asked; if that fails they are told, never shown the file elsewhere."""
        opened = await self._call(client.conversations_open, users=origin.user)
        channel = opened and opened["channel"]["id"]
        if channel and await self._call(client.files_upload_v2, channel=channel, filename=file.name,
                                        content=file.data.decode("utf-8"), title=file.title or file.name):
            return
        await self._say(client, Reply(blocks=(Text(reply.word("file_failed")),), chrome=reply.chrome), origin)

    async def _deliver_replies(self, client: AsyncWebClient, replies: list[Reply], origin: Origin) -> None:
        if any(r.detail for r in replies):
            await self._threaded(client, replies, origin)
            return
        for reply in replies:
            if reply.to_coalition:
                await self._announce(client, reply)
                continue
            ask = reply.ask
            if ask is not None and not inline(ask) and origin.trigger_id:
                # A form, and a fresh trigger to open it with (it expires 3 s after the click).
                trigger, origin.trigger_id = origin.trigger_id, None
                if reply.blocks:
                    await self._say(client, replace(reply, ask=None), origin)
                if await self._call(client.views_open, trigger_id=trigger, view=render.modal(ask, origin.meta)):
                    continue
                reply = replace(reply, blocks=(), ask=ask)  # the modal failed to open: offer the Answer button
            await self._say(client, reply, origin)

    async def _threaded(self, client: AsyncWebClient, replies: list[Reply], origin: Origin) -> None:
        """A message with its detail in a thread. Ephemeral answers have no threads, so this
        goes to the member's DM with the app, with a pointer where they asked."""
        if origin.response_url:
            note = Reply(blocks=(Text(replies[0].word("sent_to_dm")),), chrome=replies[0].chrome)
            await self._say(client, note, origin)
        parent = None
        for reply in replies:
            if reply.to_coalition:
                await self._announce(client, reply)
                continue
            thread = {"thread_ts": parent} if reply.detail and parent else {}
            posted = await self._call(client.chat_postMessage, channel=origin.user, **thread, **render.message(reply))
            if posted and not reply.detail:
                parent = posted.get("ts")

    async def _announce(self, client: AsyncWebClient, reply: Reply) -> None:
        """Coalition news: the headline in its channel, the details in that message's thread."""
        coalition = self.engine.config.coalition(reply.to_coalition)
        channel = coalition.channels.get("slack") if coalition else None
        if not channel:
            return  # the coalition has no Slack channel in app.yaml
        headline, details = reply.blocks[:1], reply.blocks[1:]
        posted = await self._call(client.chat_postMessage, channel=channel,
                                  **render.message(Reply(blocks=headline, chrome=reply.chrome)))
        if posted and details:
            await self._call(client.chat_postMessage, channel=channel, thread_ts=posted["ts"],
                             **render.message(Reply(blocks=details, chrome=reply.chrome)))

    async def _say(self, client: AsyncWebClient, reply: Reply, origin: Origin) -> None:
        payload = render.message(reply)
        if origin.response_url:
            replacing, origin.replace = origin.replace, False  # later replies follow the replaced message
            await self._respond(origin.response_url, {**payload, "response_type": "ephemeral",
                                                      "replace_original": replacing})
            return
        await self._call(client.chat_postMessage, channel=origin.channel, **payload)

    async def _call(self, method, **kwargs) -> dict | None:
        """Call the Web API; 429s are retried by the client, permanent errors logged once."""
        try:
            return (await method(**kwargs)).data
        except SlackApiError as error:
            code = error.response.get("error", "unknown_error")
            hint = " (not retried)" if code in PERMANENT else ""
            log.error("slack: %s failed: %s%s", method.__name__, code, hint)
            return None


def _locale(value: Any) -> str | None:
    """The language a Slack profile tells, if it tells one. Slack has no Danish interface, so a
    Danish member's Slack runs in English: an English locale says nothing about the member and
    must not outrank their coalition's language (nor does a language we do not speak)."""
    if not isinstance(value, str) or not 0 < len(value) <= 35:
        return None
    return value if language_code(value) not in (None, "en") else None


def _zone(name: Any) -> str | None:
    """An IANA time zone name we can use, else None."""
    if not isinstance(name, str) or not name or len(name) > 64:
        return None
    try:
        ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # not found (a KeyError), a malformed or odd name
        return None
    return name


def _fields(body: str, content_type: str) -> dict | None:
    """A request's fields as bolt reads them (JSON for events; a form's fields, or the JSON
    of its `payload` field for interactions), or None if they cannot be read."""
    try:
        if content_type == "application/json" or body.startswith("{"):
            fields = json.loads(body)
            return fields if isinstance(fields, dict) else None
        # yarl decodes in C: urllib's parse_qsl took ~40 us of a click's ~700 (bench/slack_ack.py).
        form = dict(URL.build(query_string=body, encoded=True).query)
        if "payload" in form:
            payload = json.loads(form["payload"])
            return payload if isinstance(payload, dict) else None
        return form if "command" in form or "ssl_check" in form else None
    except ValueError:
        return None
