"""The engine: route an inbound event to a flow step, inside one transaction.

Rules it keeps for every adapter:
- one active flow per member and conversation, its state saved after every step with a
  version (optimistic locking), so a restart resumes at the same question;
- an event id is handled once, however often the platform delivers it;
- a bad answer is re-asked with the reason and nothing is stored;
- a click on a question that has moved on gets a polite note, never a second record;
- roles decide who may start a flow or reach a step.
"""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from dataclasses import replace
from datetime import datetime
from typing import Any, Awaitable, Callable, Mapping, Sequence
from zoneinfo import ZoneInfo

from bot.answers import AnswerError, clean, parse
from bot.config import Live
from bot.flow import Context, Done, Flow, Go, Invalid, Outcome
from bot.i18n import SUPPORTED, Texts
from bot.people import Identity, normal_email
from bot.ports import FlowState, StaleState, StorageUnavailable, Store, Unit
from bot.records import Erasure, MembershipChange
from bot.timing import utcnow
from bot.types import (
    ActionRef,
    Actor,
    Capabilities,
    ConversationRef,
    Event,
    Interaction,
    Message,
    Role,
)
from bot.ui import Ask, Block, Buttons, Context as ContextLine, Field, Kind, Question, Reply, Text

log = logging.getLogger(__name__)

# Set when a unit saved a membership change, so the engine reloads them once it committed
# (per task: concurrent events each know their own).
_CHANGED_PEOPLE: ContextVar[bool] = ContextVar("changed_people", default=False)
_ERASED: ContextVar[bool] = ContextVar("erased", default=False)  # the unit erased its member (`forget me`)
FORGET_SECONDS = 60.0  # how long an erased account's turn may still be finishing in its adapter
ALWAYS = frozenset({"cancel", "help"})  # work even in the middle of a flow
FORM = "_form"  # key in FlowState.data for a form being asked one field at a time
# An adapter's writes in a turn's unit (`Engine.handle`); what it returns runs once they committed.
Keep = Callable[[Unit, str], Awaitable[Callable[[], None] | None]]


class Engine:
    def __init__(
        self,
        store: Store,
        config: Any,
        flows: Sequence[Flow],
        clock: Callable[[], datetime] = utcnow,
        public_url: str = "http://localhost:3000",
    ) -> None:
        self.store = store
        self.public_url = public_url  # where the web chat is, for the links flows hand out
        # One object for the whole process: a reload or a change made in chat swaps what it holds.
        self.config = config if isinstance(config, Live) else Live(config)
        self.people_listeners: list[Callable[[], Awaitable[Any]]] = []  # called after membership changed
        self._chores: set[asyncio.Task] = set()
        # (platform, user) -> when its member was erased: the adapter must not store the
        # reference, zone or locale of the turn that asked for it (`forgets`).
        self._forgotten: dict[tuple[str, str], tuple[float, str]] = {}
        self.clock = clock
        self.flows = {flow.name: flow for flow in flows}
        self.commands = {word: flow for flow in flows for word in flow.entries}
        # Command words and sub-words in every language -> the English word flows know.
        self.aliases = _aliases(config, "commands", [*self.commands, *ALWAYS])
        self.subwords = _aliases(config, "words")

    @property
    def people(self) -> Mapping[str, str]:
        """Member id -> display name of everyone listed (app.yaml, added in chat)."""
        return self.config.names

    # -- entry points -------------------------------------------------------------------

    async def handle(self, event: Event, caps: Capabilities, keep: Keep | None = None) -> list[Reply]:
        """Handle one inbound event and return the replies for the member. `keep`: what the
        adapter keeps of the member for later (where to reach them, their locale and time
        zone), written first in the turn's own transaction instead of one of its own: the turn
        sees it, and an erasure in the turn takes it with the rest. Its failure is logged and
        undoes only itself. What it returns is called once the turn committed (so an adapter
        remembers as stored only what is). Not for a duplicate event."""
        if not isinstance(event, (Message, Interaction)):
            return []  # lifecycle and ticks arrive with the adapters and scheduler
        member_id = self.member_id(event.ref)
        for _ in range(3):
            _CHANGED_PEOPLE.set(False)
            _ERASED.set(False)
            try:
                async with self.store.unit() as unit:
                    if not await unit.claim_event(event.event_id):
                        log.info("duplicate event %s ignored", event.event_id)
                        return []
                    kept = await self._keep(unit, keep, member_id) if keep is not None else None
                    replies = await self._dispatch(unit, event, caps)
                if kept is not None:
                    kept()
                if _CHANGED_PEOPLE.get():  # committed: this process knows at once, others soon
                    await self.reload_people()
                if _ERASED.get():
                    replies += self._forget(event.ref, member_id)
                return replies
            except StaleState:
                # Another event moved this conversation on between our read and write;
                # everything we wrote was rolled back, so handling it again is safe.
                continue
            except StorageUnavailable as error:
                # Nothing of this turn was saved (nor the event marked handled): the member is
                # asked to send it again, and a platform's own retry will be handled afresh.
                log.warning("event %s not handled: %s", event.event_id, error)
                return [Reply.text(self.texts(self.actor(event.ref)).t("engine.unavailable"))]
        return [Reply.text(self.texts(self.actor(event.ref)).t("engine.busy"))]

    async def _keep(self, unit: Unit, keep: Keep, member_id: str) -> Callable[[], None] | None:
        try:
            async with unit.aside():
                return await keep(unit, member_id)
        except StorageUnavailable:
            raise  # the database is away: nothing of the turn is kept either
        except Exception:
            log.exception("keeping what the adapter knows of %s failed; the turn is kept", member_id)
            return None

    def texts(self, actor: Actor) -> Texts:
        return self.config.texts(actor.language)

    async def say(self, ref: ConversationRef, key: str, **values: Any) -> Reply:
        """One of the library's texts for whoever is at `ref`, in their language (for the
        adapters' own notes: errors, greetings)."""
        try:
            actor = await self.speaker(ref)
        except Exception:  # the note may be about the database being away: the platform's word then
            actor = self.actor(ref)
            log.warning("no stored language for %s; using the platform's", actor.member_id)
        texts = self.texts(actor)
        return dress(Reply(blocks=(Text(texts.t(key, **values)),)), texts)

    def refusal(self, ref: ConversationRef) -> Reply:
        """The note for an event the server is too busy to take (nothing of it recorded): in
        the platform's language for the member, without a word from the database."""
        member_id = self.member_id(ref)  # the actor's language, without the rest of the actor
        coalition = self._coalition_for(ref, member_id)
        texts = self.config.texts(None, ref.extra.get("locale"), self.config.language_of(coalition.id))
        return dress(Reply(blocks=(Text(texts.t("engine.overloaded")),)), texts)

    async def speaker(self, ref: ConversationRef) -> Actor:
        """Who is at `ref`: their roles (coordinators named in chat too) and their language."""
        member_id = self.member_id(ref)
        async with self.store.unit() as unit:
            granted, chosen, locale = await unit.speaker(member_id)
            return await self._speaking(unit, self.actor(ref, None, granted), ref, (chosen, locale))

    def menu(self, actor: Actor) -> list[tuple[str, str]]:
        """(command word, what it does) of each command `actor` may use, in their language."""
        texts = self.texts(actor)
        found = [(texts.command(word), texts.t(f"help.{word}"))
                 for word, flow in self.commands.items() if actor.has(flow.role)]
        return found + [(texts.command("cancel"), texts.t("engine.help_cancel"))]

    async def current(self, ref: ConversationRef, caps: Capabilities) -> list[Reply]:
        """The open question in this conversation, if any (after a restart, on a Home tab)."""
        async with self.store.unit() as unit:
            state = await unit.load_state(ref.key)
            if state is None:
                return []
            flow = self.flows[state.flow]
            actor = await self._speaking(unit, self.actor(ref, state.coalition_id), ref)
            ctx = self._context(unit, actor, caps, state.data)
            intro = Text(ctx.t("engine.welcome_back", flow=ctx.t(f"flows.{flow.name}")))
            return [dress(await self._ask(ctx, flow, state, intro=(intro,)), ctx.texts)]

    async def view(self, ref: ConversationRef, caps: Capabilities, unit: Unit | None = None) -> tuple[Actor, Ask | None]:
        """Who is at `ref` (roles, language) and the question open in their conversation, in one
        transaction (`unit`: the caller's, so a page view is one): what a page view needs."""
        if unit is None:
            async with self.store.unit() as unit:
                return await self.view(ref, caps, unit)
        member_id = self.member_id(ref)
        granted, chosen, locale = await unit.speaker(member_id)
        actor = await self._speaking(unit, self.actor(ref, None, granted), ref, (chosen, locale))
        state = await unit.load_state(ref.key)
        if state is None:
            return actor, None
        asking = await self._speaking(unit, self.actor(ref, state.coalition_id, granted), ref, (chosen, locale))
        ctx = self._context(unit, asking, caps, state.data)
        return actor, (await self._ask(ctx, self.flows[state.flow], state)).ask

    async def overview(self, ref: ConversationRef, caps: Capabilities) -> Reply:
        """A member's open items for a home page: their status, then the open question."""
        async with self.store.unit() as unit:
            actor = await self._speaking(unit, self.actor(ref), ref)
            ctx = self._context(unit, actor, caps, {})
            status = await self.commands["status"].start(ctx, "status", "")
            state = await unit.load_state(ref.key)
            if state is None:
                return dress(Reply(blocks=status.say), ctx.texts)
            flow = self.flows[state.flow]
            actor = await self._speaking(unit, self.actor(ref, state.coalition_id), ref)
            ctx = self._context(unit, actor, caps, state.data)
            note = Text(ctx.t("engine.waiting", flow=ctx.t(f"flows.{flow.name}")))
            ask = await self._ask(ctx, flow, state, intro=(note,))
            return dress(replace(ask, blocks=status.say + ask.blocks), ctx.texts)

    def actor(self, ref: ConversationRef, coalition_id: str | None = None,
              granted: frozenset[str] = frozenset()) -> Actor:
        """Who is talking, in which coalition (an active flow's own, else resolved from `ref`).
        `granted`: coordinators named in chat, besides app.yaml's."""
        member_id = self.member_id(ref)
        member = self.config.member(member_id)
        name = member.name if member else str(ref.extra.get("name") or ref.user)
        coalition = self.config.coalition(coalition_id) if coalition_id else None
        coalition = coalition or self._coalition_for(ref, member_id)
        # A Slack Connect member's home workspace differs from ours: keep it with the record.
        home = ref.extra.get("user_team")
        platform = f"{ref.platform}:{home}" if home and home != ref.tenant else ref.platform
        actor = self._actor(member_id, name, coalition.id, granted, platform)
        locale = ref.extra.get("locale")
        return replace(actor, language=self.language(actor.coalition_id, locale=locale), locale=locale)

    def member_id(self, ref: ConversationRef) -> str:
        """Who is at `ref`: app.yaml's member (listed with this account or found by email), the
        member an identity names, else "<platform>:<user id>". An adapter that signs people in
        itself (the web) names the member in `extra["member"]`."""
        if ref.extra.get("member"):
            return str(ref.extra["member"])
        return self.member_of(ref.platform, ref.user)

    def member_of(self, platform: str, user: str) -> str:
        """The member a platform account is (e.g. someone mentioned): see `member_id`."""
        return self.config.people.member_id(platform, user) or f"{platform}:{user}"

    async def recognise(self, platform: str, user: str, email: str | None, how: str, tenant: str = "") -> str:
        """Who a platform account is, by the email the platform gave for it (None: it gave
        none). Stored, so each account is looked up once; returns the member id."""
        member_id, problem = self.config.people.resolve(platform, user, email)
        if problem:
            log.warning("people: %s", problem)
        kept = None if problem else normal_email(email)  # the email names someone else
        stored = await self.store.identify(Identity(platform, user, member_id, kept, how, tenant), self.clock())
        # Its own row at once; what other tasks and replicas stored comes with `refresh_people`.
        # (Reading every row since the last refresh here cost each of 50 concurrent newcomers
        # the rows of all the others: half the event loop's time in a burst, bench/engine.py.)
        self.config.people.learn([stored], every=False)
        return self.config.people.member_id(platform, user) or member_id

    async def refresh_people(self) -> int:
        """Learn the identities stored since this process last looked, and the membership
        changes made in chat if there are new ones (by any replica)."""
        rows = await self.store.identities(self.config.people.last_id)
        self.config.people.learn(rows)
        if await self.store.changes_version() != self.config.changes.version:
            await self.reload_people()
        return len(rows)

    async def reload_people(self) -> None:
        """Put the membership changes made in chat in force (over app.yaml), with who is who
        read again (an erased member's accounts are gone), and let whoever finds people by
        email know (someone may have been added by email)."""
        changes = await self.store.changes()
        self.config.use(changes=changes, identities=await self.store.identities())
        for listener in self.people_listeners:
            task = asyncio.ensure_future(listener())
            self._chores.add(task)
            task.add_done_callback(self._chores.discard)

    def language(self, coalition_id: str | None, chosen: str | None = None, locale: str | None = None) -> str:
        """Whom we write to in which language: their choice, their platform's locale, their
        coalition's language, the movement's."""
        return self.config.texts(chosen, locale, self.config.language_of(coalition_id)).code

    async def _speaking(self, unit: Unit, actor: Actor, ref: ConversationRef | None = None,
                        known: tuple[str | None, str | None] | None = None) -> Actor:
        """`actor` with the language they chose or their platform last reported (`known`: as
        already read)."""
        chosen, stored = known or await unit.language_of(actor.member_id)
        locale = (ref.extra.get("locale") if ref else None) or stored
        return replace(actor, language=self.language(actor.coalition_id, chosen, locale), locale=locale)

    def _actor(self, member_id: str, name: str, coalition_id: str, granted: frozenset[str],
               platform: str = "") -> Actor:
        roles = {Role.MEMBER}
        if self.config.is_leader(member_id, coalition_id):
            roles.add(Role.LEADER)
        if self.config.is_coordinator(member_id) or member_id in granted:
            roles.add(Role.COORDINATOR)
        return Actor(member_id, name, coalition_id, frozenset(roles), platform,
                     self.config.language_of(coalition_id))

    async def compose(self, member_id: str, coalition_id: str, command: str,
                      caps: Capabilities = Capabilities(can_show_buttons=True)) -> Reply | None:
        """Run a read-only command (one that asks nothing, e.g. a scheduled digest) as a
        member and return what it says, or None if it has nothing to say or they may not."""
        word, _, args = command.partition(" ")
        flow = self.commands[word]
        async with self.store.unit() as unit:
            granted = await unit.granted_coordinators()
            actor = self._actor(member_id, self.people.get(member_id, member_id), coalition_id, granted)
            actor = await self._speaking(unit, actor)
            if not flow.interrupts or not actor.has(flow.role):
                return None
            outcome = await flow.start(self._context(unit, actor, caps, {}), word, args)
            if not isinstance(outcome, Done) or not outcome.say:
                return None
            if outcome.records:
                await unit.add(outcome.records, self.clock())
            return dress(Reply(blocks=outcome.say + outcome.detail), self.texts(actor))

    def _coalition_for(self, ref: ConversationRef, member_id: str) -> Any:
        """The chosen coalition, else the channel's, else the member's first, else the first."""
        chosen = ref.extra.get("coalition")
        if chosen and self.config.coalition(chosen):
            return self.config.coalition(chosen)
        channel = ref.extra.get("channel", ref.conversation)
        for coalition in self.config.coalitions:
            if coalition.channels.get(ref.platform) == channel:
                return coalition
        mine = self.config.coalitions_of(member_id)
        return mine[0] if mine else self.config.coalitions[0]

    # -- dispatch -------------------------------------------------------------------------

    async def _dispatch(self, unit: Unit, event: Message | Interaction, caps: Capabilities):
        state = await unit.load_state(event.ref.key)
        granted, chosen, locale = await unit.speaker(self.member_id(event.ref))
        actor = self.actor(event.ref, state and state.coalition_id, granted)
        actor = await self._speaking(unit, actor, event.ref, (chosen, locale))
        texts = self.texts(actor)
        replies = await self._route(unit, actor, caps, state, event)
        # News for a coalition's channel is in the coalition's language, the rest in the member's.
        return [dress(r, self.config.texts(self.config.language_of(r.to_coalition)) if r.to_coalition else texts)
                for r in replies]

    async def _route(self, unit, actor, caps, state, event: Message | Interaction) -> list[Reply]:
        if isinstance(event, Interaction):
            return await self._interaction(unit, actor, caps, state, event)
        text = clean(event.text).strip()
        word, _, args = text.lstrip("/").partition(" ")
        word = self.aliases.get(word.lower(), word.lower())
        explicit = event.command or text.startswith("/")
        if state is None or explicit or word in ALWAYS:
            return await self._command(unit, actor, caps, state, event.ref, word, args.strip())
        return await self._typed_answer(unit, actor, caps, state, text)

    async def _command(self, unit, actor, caps, state, ref, word, args) -> list[Reply]:
        t = self.texts(actor).t
        if word == "" and state is None:
            return []  # an empty line, nothing going on
        if word in ("", "help"):
            replies = [self._help(actor)]
            if state is not None:
                replies.append(await self._reask(unit, actor, caps, state, t("engine.carry_on")))
            return replies
        if word == "cancel":
            if state is None:
                return [Reply.text(t("engine.nothing_to_cancel"))]
            await unit.delete_state(state.key, state.version)
            return [Reply.text(t("engine.cancelled", flow=t(f"flows.{state.flow}")))]
        flow = self.commands.get(word)
        if flow is None:
            return [Reply.text(t("engine.unknown_command", word=word))]
        first, space, rest = args.partition(" ")
        args = self.subwords.get(first.lower(), first) + space + rest
        if state is not None and flow.interrupts and actor.has(flow.role):
            # A read-only command (status) answers, then the open question is asked again.
            ctx = self._context(unit, actor, caps, {})
            outcome = await flow.start(ctx, word, args)
            await self._record(unit, outcome.records)
            said = [Reply(blocks=outcome.say, private=outcome.private)] + ([Reply(blocks=outcome.detail, detail=True)] if outcome.detail else [])
            return said + [await self._reask(unit, actor, caps, state, t("engine.where_were_we"))]
        if state is not None:
            note = t("engine.in_the_middle", flow=t(f"flows.{state.flow}"))
            return [await self._reask(unit, actor, caps, state, note)]
        if not actor.has(flow.role):
            return [self._refusal(actor, flow.role, t(f"flows.{flow.name}"))]
        state = FlowState(ref.key, actor.member_id, actor.coalition_id, flow.name, "", version=0)
        ctx = self._context(unit, actor, caps, state.data)
        return await self._apply(unit, ctx, flow, state, await flow.start(ctx, word, args))

    async def _interaction(self, unit, actor, caps, state, event: Interaction) -> list[Reply]:
        here = state and ActionRef(state.flow, state.step, state.version)
        if event.action != here:
            t = self.texts(actor).t
            if state is None:
                return [Reply.text(t("engine.moved_on_idle"))]
            return [await self._reask(unit, actor, caps, state, t("engine.moved_on"))]
        flow = self.flows[state.flow]
        ctx = self._context(unit, actor, caps, state.data)
        question = await flow.ask(ctx, state.step)
        values, errors = {}, {}
        for field in question.fields:
            try:
                values[field.id] = parse(field, event.values.get(field.id), self._limit(field), ctx.texts)
            except AnswerError as error:
                errors[field.id] = str(error)
        if errors:
            return [self._reply_ask(ctx, flow, state, question, errors)]
        outcome = await flow.answer(ctx, state.step, values)
        return await self._apply(unit, ctx, flow, state, outcome, question)

    async def _typed_answer(self, unit, actor, caps, state, text: str) -> list[Reply]:
        flow = self.flows[state.flow]
        ctx = self._context(unit, actor, caps, state.data)
        question = await flow.ask(ctx, state.step)
        fields = question.fields
        if len(fields) > 1 and caps.can_open_forms:
            return [Reply.text(ctx.t("engine.use_form")), self._reply_ask(ctx, flow, state, question)]
        form = ctx.data.setdefault(FORM, {"index": 0, "values": {}})
        if form["index"] >= len(fields):  # the question changed shape since it was asked
            form.update(index=0, values={})
        field = fields[form["index"]]
        try:
            form["values"][field.id] = parse(field, text, self._limit(field), ctx.texts)
        except AnswerError as error:
            return [self._reply_ask(ctx, flow, state, question, {field.id: str(error)})]
        if form["index"] + 1 < len(fields):
            form["index"] += 1
            return [await self._save_and_ask(unit, ctx, flow, state, state.step)]
        values = dict(form["values"])
        return await self._apply(unit, ctx, flow, state, await flow.answer(ctx, state.step, values), question)

    # -- outcomes -------------------------------------------------------------------------

    async def _apply(self, unit, ctx, flow, state, outcome: Outcome, question=None) -> list[Reply]:
        if isinstance(outcome, Invalid):
            if state.version == 0:
                return [Reply.text(outcome.message)]  # refused before anything was asked
            return [await self._rejected(unit, ctx, flow, state, outcome, question)]
        if isinstance(outcome, Go) and not ctx.actor.has(flow.step_roles.get(outcome.step, Role.MEMBER)):
            if state.version:
                await unit.delete_state(state.key, state.version)
            role = flow.step_roles[outcome.step]
            what = ctx.texts.get(f"flows.{flow.name}.{outcome.step}") or ctx.t(f"flows.{flow.name}")
            return [self._refusal(ctx.actor, role, what)]
        ctx.data.pop(FORM, None)  # the answer was accepted: the next question starts afresh
        if isinstance(outcome, Done) and state.version:
            # Before the records: an erasure deletes every state of the member.
            await unit.delete_state(state.key, state.version)
        await self._record(unit, outcome.records)
        news = [Reply(blocks=outcome.announce, to_coalition=ctx.coalition.id)] if outcome.announce else []
        if isinstance(outcome, Done):
            detail = [Reply(blocks=outcome.detail, detail=True)] if outcome.detail else []
            return [Reply(blocks=outcome.say or (Text(ctx.t("engine.done")),), private=outcome.private)] + detail + news
        ask = await self._save_and_ask(unit, ctx, flow, state, outcome.step)
        return [replace(ask, blocks=outcome.say + ask.blocks)] + news

    async def _rejected(self, unit, ctx, flow, state, invalid: Invalid, question) -> Reply:
        """A step refused a complete answer: re-ask, on the named field where there is one."""
        question = question or await flow.ask(ctx, state.step)
        ids = [f.id for f in question.fields]
        index = ids.index(invalid.field) if invalid.field in ids else 0
        if len(ids) > 1 and not ctx.capabilities.can_open_forms:
            # Asked one by one: keep the answers before the refused field, ask again from it.
            values = ctx.data.get(FORM, {}).get("values", {})
            ctx.data[FORM] = {"index": index, "values": {k: v for k, v in values.items() if k in ids[:index]}}
            await self._save(unit, ctx, state, state.step)
        return self._reply_ask(ctx, flow, state, question, {ids[index]: invalid.message})

    async def _record(self, unit: Unit, records: Sequence[Any]) -> None:
        if not records:
            return
        saved = await unit.add(records, self.clock())
        if any(isinstance(r, (MembershipChange, Erasure)) and n for r, n in zip(records, saved)):
            _CHANGED_PEOPLE.set(True)
        if any(isinstance(r, Erasure) and n for r, n in zip(records, saved)):
            _ERASED.set(True)

    def _forget(self, ref: ConversationRef, member_id: str) -> list[Reply]:
        """After an erasure: remember the account for `forgets`; if app.yaml still names the
        member, say that only a coordinator can take them out there."""
        now = asyncio.get_running_loop().time()
        self._forgotten = {k: v for k, v in self._forgotten.items() if now - v[0] < FORGET_SECONDS}
        self._forgotten[(ref.platform, ref.user)] = (now, member_id)
        if not self.config.people.listed(member_id):
            return []
        texts = self.texts(self.actor(ref))
        return [dress(Reply.text(texts.t("forget.listed"), private=True), texts)]

    def forgets(self, ref: ConversationRef) -> str | None:
        """The member id this account had, once, right after that member was erased in its own
        turn: the adapter then keeps nothing of the turn (reference, zone, locale, transcript)
        and drops what it remembers of them, so a next message starts afresh."""
        found = self._forgotten.pop((ref.platform, ref.user), None)
        return found and found[1]

    async def _save(self, unit, ctx, state: FlowState, step: str) -> None:
        state.step, state.data, state.version = step, ctx.data, state.version + 1
        await unit.save_state(state)

    async def _save_and_ask(self, unit, ctx, flow, state, step) -> Reply:
        await self._save(unit, ctx, state, step)
        return await self._ask(ctx, flow, state)

    async def _ask(self, ctx, flow, state, intro: tuple[Block, ...] = ()) -> Reply:
        reply = self._reply_ask(ctx, flow, state, await flow.ask(ctx, state.step))
        return replace(reply, blocks=intro + reply.blocks)

    async def _reask(self, unit, actor, caps, state, note: str) -> Reply:
        flow = self.flows[state.flow]
        ctx = self._context(unit, actor, caps, state.data)
        return await self._ask(ctx, flow, state, intro=(Text(note),))

    def _reply_ask(self, ctx, flow, state, question: Question, errors=None) -> Reply:
        """Bind a question to the state it answers; adapters without forms get one field."""
        index = None
        if len(question.fields) > 1 and not ctx.capabilities.can_open_forms:
            index = ctx.data.get(FORM, {}).get("index", 0)
        action = ActionRef(flow.name, state.step, state.version)
        return Reply(ask=Ask(question, action, errors or {}, index, chrome(ctx.texts)))

    # -- helpers --------------------------------------------------------------------------

    def _context(self, unit: Unit, actor: Actor, caps: Capabilities, data: dict) -> Context:
        config = self.config
        coalition = config.coalition(actor.coalition_id)
        now = self.clock()
        zone = ZoneInfo(config.zone_of(actor.coalition_id))
        texts = config.texts(actor.language)
        return Context(
            actor=actor,
            coalition=coalition,
            movement=config.movement,
            capabilities=caps,
            now=now,
            today=now.astimezone(zone).date(),
            read=unit,
            texts=texts,
            news=config.texts(config.language_of(actor.coalition_id)),
            principles=config.principles_in(texts),
            limits=config.limits,
            data=data,
            people=self.people,
            directory=config.people,
            coalitions=config.coalitions,
            delivery=config.delivery,
            schedules=config.schedules,
            texts_in=lambda code: config.texts(self.language(actor.coalition_id, code, actor.locale)),
            public_url=self.public_url,
        )

    def _limit(self, field: Field) -> int:
        limits = self.config.limits
        return limits.max_title_length if field.kind is Kind.TEXT else limits.max_answer_length

    def _help(self, actor: Actor) -> Reply:
        texts = self.texts(actor)
        t = texts.t
        lines = [t("engine.help_title", movement=self.config.movement.name)]
        for word, flow in self.commands.items():
            if actor.has(flow.role):
                lines.append(f"- `{t(f'usage.{word}')}`: {t(f'help.{word}')}")
        lines.append(f"- `{texts.command('cancel')}`: {t('engine.help_cancel')}")
        lines.append(f"- `{texts.command('help')}`: {t('engine.help_help')}")
        return Reply(blocks=(Text("\n".join(lines)), ContextLine(t("engine.help_hint"))))

    def _refusal(self, actor: Actor, role: Role, what: str) -> Reply:
        t = self.texts(actor).t
        coalition = self.config.coalition(actor.coalition_id)
        text = t("engine.refusal", role=t(f"labels.role.{role.value}"), what=what[0].lower() + what[1:])
        if role is Role.LEADER and coalition.leaders:
            names = ", ".join(self.people.get(m, m) for m in coalition.leaders)
            text += " " + t("engine.refusal_leaders", coalition=coalition.name, names=names)
        return Reply.text(text, private=True)


def chrome(texts: Texts) -> Mapping[str, str]:
    """The words around a reply that each platform draws (buttons, placeholders, hints)."""
    return texts.group("ui")


def dress(reply: Reply, texts: Texts) -> Reply:
    """A reply in `texts`' language all the way: its chrome, and the commands its buttons
    type in that language's words."""
    def blocks(items: tuple[Block, ...]) -> tuple[Block, ...]:
        return tuple(Buttons(tuple(replace(b, command=texts.command(b.command)) for b in x.buttons))
                     if isinstance(x, Buttons) else x for x in items)
    return replace(reply, blocks=blocks(reply.blocks), chrome=chrome(texts))


def _aliases(config: Any, group: str, words: Sequence[str] | None = None) -> dict[str, str]:
    """Every language's words of `group` -> the English word they stand for."""
    english = [k.split(".", 1)[1] for k in config.library if k.startswith(group + ".")]
    found: dict[str, str] = {}
    for code in SUPPORTED:
        texts = config.texts(code)
        for word in words or english:
            for alias in (texts.get(f"{group}.{word}") or word).split("|"):
                found.setdefault(alias.strip().lower(), word)
    return found
