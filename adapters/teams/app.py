"""The Teams adapter: botbuilder's CloudAdapter on our aiohttp server, the engine behind it,
replies as Adaptive Cards, and proactive sends to stored conversation references.

A turn does little work (one engine step, a few milliseconds of database) and answers
well inside Teams' 15 s; a retried activity is recognised by its id and records nothing
twice. Every turn stores the conversation reference, so the bot can write to a member
later, also after a restart; a member's message also carries their time zone (Teams'
clientInfo), saved when it changes, so scheduled prompts arrive in their own day. Sends keep
to Teams' per-conversation limits; 412, 429, 502 and 504 are retried with backoff and jitter
(honouring Retry-After); 403 and 404 mean the member cannot be reached: they are marked so,
and their coalition's leaders are told.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, TypeVar

from aiohttp import ClientConnectionError, web
from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import Activity, ActivityTypes, ConversationParameters, ChannelAccount

from adapters.ratelimit import Limiter
from adapters.teams import events, render
from adapters.teams.auth import ReusingAuthentication
from adapters.teams.settings import TeamsSettings
from adapters.teams.turn import Adapter
from bot.engine import Engine, Keep, dress
from bot.faults import logged
from bot.ports import StorageUnavailable, Unit
from bot.messages import reason as said_reason, recipient_texts
from bot.types import Capabilities, ConversationRef
from bot.ui import Ask, Context, Reply, Text

log = logging.getLogger(__name__)

CAPABILITIES = Capabilities(can_open_forms=True, can_show_buttons=True, can_update_messages=True)
# Teams' documented limits per bot and conversation.
CONVERSATION_LIMITS = [(7, 1.0), (8, 2.0), (60, 30.0), (1800, 3600.0)]
TRANSIENT = {412, 429, 502, 504}
UNREACHABLE = {403, 404}
ATTEMPTS = 4
ASK_EVERY = 3600.0  # seconds: a failed roster look-up of an account is tried again after this
T = TypeVar("T")


class Unreachable(Exception):
    """Teams refused for good (blocked, not in the roster, gone): never retried."""


def status_of(error: Exception) -> tuple[int | None, str, float | None]:
    """(HTTP status, Teams error code, Retry-After seconds) of a Bot Connector error."""
    response = getattr(error, "response", None)  # aiohttp's answer (adapters/teams/transport.py)
    status = getattr(response, "status", None) or getattr(response, "status_code", None)
    code = ""
    body = getattr(getattr(error, "error", None), "error", None)
    if body is not None:
        code = getattr(body, "code", "") or ""
    retry_after = None
    try:
        retry_after = float(response.headers.get("Retry-After")) if response is not None else None
    except (TypeError, ValueError):
        retry_after = None
    return status, code, retry_after


def unreached(error: BaseException) -> str | None:
    """Why the Bot Connector could not be reached ("Connection refused", "timed out"), or None
    when `error` is something else. msrest wraps aiohttp's error (or MSAL's requests', which
    wraps urllib3's), which wraps the socket's: the innermost OS error says it best, by its
    errno where it has one (asyncio says "Connect call failed ('127.0.0.1', 80)")."""
    network, stack, seen = None, [error], set()
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(getattr(e, "errno", None), int) and e.errno > 0:
            return os.strerror(e.errno)
        if getattr(e, "strerror", None):
            return str(e.strerror)
        if isinstance(e, (OSError, asyncio.TimeoutError, ClientConnectionError)) or type(e).__name__ in _NETWORK:
            network = network or e
        stack += [n for n in (getattr(e, "inner_exception", None), getattr(e, "reason", None), e.__cause__,
                              e.__context__, *e.args) if isinstance(n, BaseException)]
    return (type(network).__name__ + (f": {network}"[:200] if str(network) else "")) if network else None


# msrest's wrapper, and requests' and urllib3's failures to connect or to hear back (MSAL's
# token calls); aiohttp's are ClientConnectionErrors.
_NETWORK = {"ClientRequestError", "ConnectionError", "NewConnectionError", "MaxRetryError", "ConnectTimeout",
            "ReadTimeout", "ProtocolError"}
# urllib3 logs a WARNING for each of its own retries: our one line per failed send says it.
logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)


class TeamsBot:
    def __init__(self, engine: Engine, settings: TeamsSettings):
        self.engine = engine
        self.settings = settings
        self.auth = ReusingAuthentication(settings.sdk_config())
        self.adapter = Adapter(self.auth)
        self.adapter.on_turn_error = self._on_turn_error
        self.limiter = Limiter(CONVERSATION_LIMITS)
        self._zones: dict[str, str] = {}  # member id -> the time zone this process last saved
        self._locales: dict[str, str] = {}  # member id -> the locale this process last saved
        self._asked: dict[str, float] = {}  # Teams user id -> when we last asked the roster who they are
        # "user:<id>" or "team:<id>" -> (why, members left with no address) where the app was
        # removed; read at the first event, kept by the outbox's sender (refresh).
        self.departures: dict[str, tuple[str, tuple[str, ...]]] | None = None
        if not settings.authenticated:
            log.warning("Teams: authentication is OFF (TEAMS_LOCAL_TESTING): only for a machine nobody else can reach")

    def mount(self, app: web.Application) -> None:
        app.router.add_post("/api/messages", self.handle_http)

    async def aclose(self) -> None:
        await self.auth.close()  # turns finish inside their request; only clients remain

    # -- inbound ------------------------------------------------------------------------

    async def handle_http(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
        except ValueError:
            return web.json_response({"error": "malformed JSON"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"error": "expected an activity object"}, status=400)
        activity = Activity().deserialize(body)
        if not activity.type or not activity.conversation or not activity.service_url:
            return web.json_response({"error": "not an activity (type, conversation, serviceUrl)"}, status=400)
        try:
            # Checked first and alone: the SDK raises several kinds of error for a bad token
            # (some would surface as 500); every one of them means "not from Teams".
            checked = await self.auth.authenticate_request(activity, request.headers.get("Authorization", ""))
        except Exception as error:
            log.info("teams: refused an activity: %s", error)
            return web.json_response({"error": "unauthorized"}, status=401)
        response = await self.adapter.process_activity(checked, activity, self.on_turn)
        if response:
            return web.json_response(response.body, status=response.status)
        return web.Response(status=200)

    async def on_turn(self, turn: TurnContext) -> None:
        activity = turn.activity
        ref = events.reference(activity)
        if activity.type == ActivityTypes.installation_update and (activity.action or "").startswith("remove"):
            await self._on_removed(ref)  # nothing of this turn is kept: the app is gone there
            return
        await self._arrived(ref)
        await self._recognise(turn, ref.user, ref.tenant)
        if activity.type == ActivityTypes.message:
            await self._on_message(turn, ref, self._keeping(activity, ref))
            erased = self.engine.forgets(ref)
            if erased:  # they were just erased (what the turn kept with them): start afresh
                self._asked.pop(ref.user, None)
                self._zones.pop(erased, None)
                self._locales.pop(erased, None)
            return
        await self._remember(ref)
        if activity.type in (ActivityTypes.conversation_update, ActivityTypes.installation_update):
            await self._on_install(turn, ref)

    async def _recognise(self, turn: TurnContext, user: str, tenant: str) -> None:
        """Someone the bot has no identity for: who their roster email (else their UPN) says
        they are (the conversation's or team's roster, once per account)."""
        if not user or self.engine.config.people.known(events.PLATFORM, user):
            return
        now = asyncio.get_running_loop().time()
        if now - self._asked.get(user, -ASK_EVERY) < ASK_EVERY:
            return  # asked lately, and it failed: the member id stays "teams:<id>"
        self._asked[user] = now
        try:
            account = await TeamsInfo.get_member(turn, user)
        except Exception as error:
            why = unreached(error) or _refusal(error) or repr(error)
            log.warning("teams: could not look %s up in the roster: %s", user, why)
            return
        await self._identify(account, tenant)

    async def _roster(self, turn: TurnContext, tenant: str) -> list[Any]:
        """The bot was added to a team: everyone on its roster (paged, 500 at a time), each
        identified by email, so app.yaml's members given by email can be written to before
        they ever write. An unreadable roster is one log line and an empty list."""
        accounts: list[Any] = []
        token = None
        try:
            while True:
                page = await TeamsInfo.get_paged_members(turn, token, 500)
                for account in page.members or []:
                    if account.id and not self.engine.config.people.known(events.PLATFORM, account.id):
                        await self._identify(account, tenant)
                    accounts.append(account)
                token = page.continuation_token
                if not token:
                    return accounts
        except Exception as error:
            why = unreached(error) or _refusal(error) or repr(error)
            log.warning("teams: could not read the roster of %s: %s", turn.activity.conversation.id, why)
            return accounts

    async def _identify(self, account: Any, tenant: str) -> None:
        email = getattr(account, "email", None) or getattr(account, "user_principal_name", None)
        try:
            await self.engine.recognise(events.PLATFORM, account.id, email, "roster", tenant)
        except Exception:
            logged(log, "teams: could not store who %s is", account.id)

    async def _remember(self, ref: ConversationRef) -> None:
        """Store the reference of a turn the engine does not see (an install, a roster): it is
        what lets us write to this member later."""
        member = self.engine.member_id(ref)
        try:
            await self.engine.store.save_reference(ref, member, ref.extra.get("kind", "personal"), _now())
        except StorageUnavailable as error:  # the turn goes on: the engine says what it can
            log.warning("teams: the address of %s not saved: %s", member, error)

    def _keeping(self, activity: Activity, ref: ConversationRef) -> Keep:
        """What a message's turn keeps in its own transaction: the reference, every turn (where
        the member last wrote from decides where their invitations go), and their Teams
        client's time zone and language when they changed (for what the bot sends later)."""
        member = self.engine.member_id(ref)
        zone, locale = events.timezone_of(activity), ref.extra.get("locale")
        new_zone = zone is not None and self._zones.get(member) != zone
        new_locale = bool(locale) and self._locales.get(member) != locale

        async def keep(unit: Unit, member_id: str) -> Callable[[], None]:
            now = _now()
            await unit.save_reference(ref, member_id, ref.extra.get("kind", "personal"), now)
            if new_zone:
                await unit.save_zone(member_id, zone, events.PLATFORM, now)
            if new_locale:
                await unit.save_locale(member_id, locale, now)

            def kept() -> None:  # the turn committed: not written again until they change
                if new_zone:
                    self._zones[member_id] = zone
                if new_locale:
                    self._locales[member_id] = locale

            return kept

        return keep

    async def _on_removed(self, ref: ConversationRef) -> None:
        """The app uninstalled from a member's personal scope, or removed from a team: those
        addresses go, and the members left with none are skipped by the outbox with the reason
        (leaders are not told about each of them)."""
        now = _now()
        if ref.extra.get("kind") == "personal":
            gone = await self.engine.store.depart(events.PLATFORM, f"user:{ref.user}", "removed the app", now,
                                                  user=ref.user, conversation=ref.conversation)
        else:
            team = ref.extra.get("team") or ref.conversation
            gone = await self.engine.store.depart(events.PLATFORM, f"team:{team}", "removed from the team", now,
                                                  conversation=ref.conversation)
        self.departures = await self.engine.store.departures(events.PLATFORM)
        log.warning("teams: the app was removed (%s): %d member(s) now unreachable in Teams",
                    ref.extra.get("kind"), len(gone))

    async def _left(self, ref: ConversationRef, users: list[str]) -> None:
        """Members removed from the team: its address for each goes."""
        now = _now()
        for user in users:
            await self.engine.store.depart(events.PLATFORM, f"user:{user}", "left the team", now,
                                           user=user, conversation=ref.conversation)
        self.departures = await self.engine.store.departures(events.PLATFORM)

    async def _arrived(self, ref: ConversationRef) -> None:
        """A message or an install from where the app had been removed: it is back."""
        if self.departures is None:
            self.departures = await self.engine.store.departures(events.PLATFORM)
        scopes = [s for s in (f"user:{ref.user}", f"team:{ref.extra.get('team') or ref.conversation}")
                  if s in self.departures]
        for scope in scopes:
            await self.engine.store.back(events.PLATFORM, scope)
        if scopes:
            self.departures = await self.engine.store.departures(events.PLATFORM)

    async def _on_install(self, turn: TurnContext, ref: ConversationRef) -> None:
        activity = turn.activity
        bot = activity.recipient.id if activity.recipient else None
        removed = [m.id for m in activity.members_removed or [] if m.id != bot]
        if removed and ref.extra.get("kind") != "personal":
            await self._left(ref, removed)
        if any(m.id == bot for m in activity.members_removed or []):
            await self._on_removed(ref)  # the bot itself taken out of the team
            return
        bot_added = any(m.id == bot for m in activity.members_added or []) or activity.action == "add"
        added = [m for m in activity.members_added or [] if m.id != bot]
        if bot_added and ref.extra.get("kind") != "personal":
            added += await self._roster(turn, ref.tenant)  # the whole team, found by email
        # Keep an address for each team member, so the bot can open a 1:1 chat with them
        # later (create_conversation needs their id and tenant).
        for member in added:
            await self._recognise(turn, member.id, ref.tenant)
            roster = ConversationRef(ref.platform, ref.tenant, ref.conversation, member.id,
                                     extra={**ref.extra, "kind": "roster", "name": member.name or ""})
            await self._remember(roster)
        if bot_added and ref.extra.get("kind") == "personal":
            await self._send_in_turn(turn, await self.engine.say(ref, "ui.hello"))

    async def _on_message(self, turn: TurnContext, ref: ConversationRef, keep: Keep) -> None:
        activity = turn.activity
        value = activity.value if isinstance(activity.value, dict) else None
        action = render.action_of(value) if value else None
        asked: Ask | None = None
        raw: dict[str, Any] = {}
        if action is not None:
            # The question this card answers, so the card can become a record of the answer.
            current = await self.engine.current(ref, CAPABILITIES)
            asked = next((r.ask for r in current if r.ask and r.ask.action == action), None)
            raw = render.values(asked, value) if asked else {}
            event = events.interaction(activity, action, raw)
        elif not (activity.text or "").strip():
            await self._remember(ref)  # an empty message or a card action that isn't ours
            return
        else:
            bot = activity.recipient.id if activity.recipient else None
            for user, _, _ in events.mentioned(activity):  # `add @Anna`: who they are, first
                if user != bot:
                    await self._recognise(turn, user, ref.tenant)
            event = events.message(activity, lambda user, _: self.engine.member_of(events.PLATFORM, user))
        replies = await self.engine.handle(event, CAPABILITIES, keep=keep)
        await self._answer(turn, replies, asked, raw)

    async def _answer(self, turn: TurnContext, replies: list[Reply], asked: Ask | None, raw: dict) -> None:
        card_id = turn.activity.reply_to_id if asked else None
        if card_id:
            rejected = next((r for r in replies if r.ask and r.ask.action == asked.action and r.ask.errors), None)
            if rejected:  # show the errors on the same card, values kept where the form allows
                await self._update(turn, card_id, render.card(rejected))
                return
            if replies:  # accepted: the card becomes a read-only record, no second submit
                await self._update(turn, card_id, render.submitted(asked, raw))
        shared = (turn.activity.conversation.conversation_type or "personal") != "personal"
        for reply in replies:
            if reply.to_coalition:
                await self.announce(reply)
            elif reply.private and shared:  # a personal link asked for in a channel
                await self._privately(turn, reply)
            else:
                await self._send_in_turn(turn, reply)

    async def _privately(self, turn: TurnContext, reply: Reply) -> None:
        """To the member's personal chat, and a note where they asked; never the reply itself
        in a channel everyone in the team reads."""
        ref = events.reference(turn.activity)
        sent = await self.send_to_member(self.engine.member_id(ref), [reply])
        await self._send_in_turn(turn, await self.engine.say(ref, "ui.sent_privately" if sent else "ui.not_sent_privately"))

    # -- outbound -----------------------------------------------------------------------

    def _activity(self, reply: Reply) -> Activity:
        plain = reply.ask is None and all(isinstance(b, (Text, Context)) for b in reply.blocks)
        if plain:
            return MessageFactory.text(render.markdown("\n\n".join(b.text for b in reply.blocks)))
        return MessageFactory.attachment(CardFactory.adaptive_card(render.card(reply)))

    async def _send_in_turn(self, turn: TurnContext, reply: Reply) -> None:
        conversation = turn.activity.conversation.id
        try:
            await self._retrying(conversation, lambda: turn.send_activity(self._activity(reply)))
        except Unreachable as error:
            log.warning("teams: cannot answer in %s: %s", conversation, error)

    async def _update(self, turn: TurnContext, activity_id: str, card: dict) -> None:
        update = MessageFactory.attachment(CardFactory.adaptive_card(card))
        update.id = activity_id
        update.conversation = turn.activity.conversation
        try:
            await self._retrying(turn.activity.conversation.id, lambda: turn.update_activity(update))
        except Exception as error:  # the card stays as it was; the answer itself is saved
            log.warning("teams: could not update card %s: %s", activity_id, error)

    async def proactive(self, ref: ConversationRef, work: Callable[[TurnContext], Awaitable[T]]) -> T:
        """Run `work` in a proactive turn in `ref`'s conversation and return its result; what
        it raises is raised here (the SDK would hand it to on_turn_error, not to us)."""
        done: list[T] = []
        failed: list[BaseException] = []

        async def logic(turn: TurnContext) -> None:
            try:
                done.append(await work(turn))
            except Exception as error:
                failed.append(error)

        await self.adapter.continue_conversation(events.to_sdk(ref), logic, bot_app_id=self.settings.app_id)
        if failed:
            raise failed[0]
        if not done:
            raise RuntimeError(f"teams: the proactive turn in {ref.conversation} did not run")
        return done[0]

    async def post(self, ref: ConversationRef, reply: Reply) -> str:
        """Send one reply proactively, once: no limiter, no retry; a connector error is
        raised (see `status_of`). Returns the activity id."""
        response = await self.proactive(ref, lambda turn: turn.send_activity(self._activity(reply)))
        return getattr(response, "id", "") or ""

    async def replace(self, ref: ConversationRef, activity_id: str, reply: Reply) -> None:
        """Replace an activity sent earlier in `ref`'s conversation (proactively, once)."""
        async def work(turn: TurnContext) -> None:
            update = self._activity(reply)
            update.id = activity_id
            update.conversation = turn.activity.conversation
            await turn.update_activity(update)

        await self.proactive(ref, work)

    async def send(self, ref: ConversationRef, replies: list[Reply], member_id: str | None = None,
                   report: bool = True) -> list[str]:
        """Write to a conversation later (proactively), e.g. after a restart. Returns the
        sent activity ids; on 403/404 marks the member unreachable (and tells their leaders)."""
        sent: list[str] = []
        refused: list[Unreachable] = []

        async def work(turn: TurnContext) -> None:
            try:
                for reply in replies:
                    response = await self._retrying(ref.conversation, lambda: turn.send_activity(self._activity(reply)))
                    sent.append(getattr(response, "id", "") or "")
            except Unreachable as error:
                refused.append(error)
            except Exception as error:  # logged here; what was sent is returned
                why = unreached(error) or _refusal(error)
                if why:
                    log.warning("teams: could not post to %s (connector %s): %s", ref.conversation,
                                ref.extra.get("service_url"), why)
                else:
                    log.error("teams: turn failed: %s", error, exc_info=error)

        await self.proactive(ref, work)
        if refused and member_id is None:  # a channel: the bot was removed from the team
            log.warning("teams: cannot post to %s: %s", ref.conversation, refused[0])
        elif refused:
            await self._unreachable(member_id, str(refused[0]), report)
        return sent

    async def send_to_member(self, member_id: str, replies: list[Reply]) -> list[str]:
        """To a member's personal chat; opens one (where Teams allows) if they never wrote to us."""
        store = self.engine.store
        ref = await store.reference_for(events.PLATFORM, member_id, "personal")
        if ref is None:
            roster = await store.reference_for(events.PLATFORM, member_id, "roster")
            if roster is None:
                log.warning("teams: no address for %s yet (they must install the app or write first)", member_id)
                return []
            ref = await self._open_personal_chat(roster, member_id)
            if ref is None:
                return []
        return await self.send(ref, replies, member_id)

    async def _open_personal_chat(self, roster: ConversationRef, member_id: str) -> ConversationRef | None:
        try:
            return await self.create_personal_chat(roster, member_id)
        except Exception as error:  # raised by the create call itself, before any turn
            status, code, _ = status_of(error)
            await self._unreachable(member_id, f"cannot open a chat: {code or status or error}")
            return None

    async def create_personal_chat(self, roster: ConversationRef, member_id: str) -> ConversationRef | None:
        """Open a 1:1 chat with a member known from a team's roster, and store its reference.
        A connector error is raised; None if Teams created nothing."""
        created: list[ConversationRef] = []
        params = ConversationParameters(
            is_group=False, bot=ChannelAccount(id=roster.extra.get("bot_id")),
            members=[ChannelAccount(id=roster.user)], tenant_id=roster.tenant,
            channel_data={"tenant": {"id": roster.tenant}})

        async def logic(turn: TurnContext) -> None:
            created.append(events.reference(turn.activity))

        await self.adapter.create_conversation(
            self.settings.app_id, logic, params, events.CHANNEL_ID, roster.extra.get("service_url"))
        if not created:
            return None
        ref = ConversationRef(events.PLATFORM, roster.tenant, created[0].conversation, roster.user,
                              extra={**roster.extra, "kind": "personal"})
        await self.engine.store.save_reference(ref, member_id, "personal", _now())
        return ref

    async def channel_post(self, coalition_id: str) -> ConversationRef | None:
        """Where a new post in the coalition's team channel goes (None: no channel in
        app.yaml, or no stored address for it yet)."""
        coalition = self.engine.config.coalition(coalition_id)
        channel = coalition.channels.get("teams") if coalition else None
        if not channel:
            return None
        ref = await self.engine.store.channel_reference(events.PLATFORM, channel)
        if ref is None:
            log.info("teams: no stored address for channel %s yet (install the app in the team)", channel)
            return None
        return ConversationRef(ref.platform, ref.tenant, channel, ref.user, extra={**ref.extra, "kind": "channel"})

    @staticmethod
    def thread_of(post: ConversationRef, parent: str) -> ConversationRef:
        """The thread under the channel post `parent` (an activity id)."""
        return ConversationRef(post.platform, post.tenant, f"{post.conversation};messageid={parent}", post.user,
                               extra=post.extra)

    async def announce(self, reply: Reply) -> None:
        """Coalition news: the headline as a new post in its team channel, details in its thread."""
        post = await self.channel_post(reply.to_coalition)
        if post is None:
            return
        [parent] = await self.send(post, [Reply(blocks=reply.blocks[:1])]) or [None]
        if parent and len(reply.blocks) > 1:
            await self.send(self.thread_of(post, parent), [Reply(blocks=reply.blocks[1:])])

    async def _retrying(self, conversation: str, call: Callable[[], Awaitable[Any]]) -> Any:
        for attempt in range(ATTEMPTS):
            await self.limiter.wait(conversation)
            try:
                return await call()
            except Exception as error:
                status, code, retry_after = status_of(error)
                if status in UNREACHABLE:
                    raise Unreachable(code or f"HTTP {status}") from None
                if status not in TRANSIENT or attempt == ATTEMPTS - 1:
                    raise
                pause = retry_after if retry_after is not None else min(8.0, 0.5 * 2 ** attempt)
                await asyncio.sleep(pause * (1 + random.random() / 4))  # jitter spreads retries out
                log.info("teams: %s from the connector, retry %d after %.1fs", status, attempt + 1, pause)

    async def _unreachable(self, member_id: str, reason: str, report: bool = True) -> None:
        await self.engine.store.mark_unreachable(events.PLATFORM, member_id, reason, _now())
        log.warning("teams: %s is unreachable: %s", member_id, reason)
        if not report:
            return
        name = self.engine.people.get(member_id, member_id)
        for coalition in self.engine.config.coalitions_of(member_id):
            for leader in coalition.leaders:
                ref = await self.engine.store.reference_for(events.PLATFORM, leader, "personal")
                if ref and leader != member_id:
                    texts = await recipient_texts(self.engine.store, self.engine.config, leader, coalition.id)
                    why = said_reason(reason, texts)
                    note = dress(Reply.text(texts.t("ui.unreachable_teams", name=name, reason=why)), texts)
                    try:
                        await self.send(ref, [note], leader, report=False)  # no report chains
                    except Exception as error:
                        log.warning("teams: could not tell leader %s: %s", leader, error)

    async def _on_turn_error(self, turn: TurnContext, error: Exception) -> None:
        activity = turn.activity
        why = unreached(error) or _refusal(error)
        if why:  # handled: the connector is away or said no; telling the member would go the same way
            log.warning("teams: could not answer in conversation %s (connector %s): %s",
                        activity.conversation.id if activity.conversation else "?", activity.service_url, why)
            return
        log.error("teams: turn failed: %s", error, exc_info=error)
        if turn.activity.type != ActivityTypes.message:
            return  # a proactive turn: nobody is waiting for an answer
        try:
            note = await self.engine.say(events.reference(turn.activity), "ui.error")
            await turn.send_activity(note.blocks[0].text)
        except Exception:
            pass


def _refusal(error: Exception) -> str | None:
    """"HTTP 403 <code>" when the connector answered with an error status, else None."""
    status, code, _ = status_of(error)
    return f"HTTP {status}" + (f" {code}" if code else "") if status else None


def _now() -> datetime:
    return datetime.now(timezone.utc)
