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

import logging
from dataclasses import replace
from datetime import datetime
from typing import Any, Callable, Sequence
from zoneinfo import ZoneInfo

from bot.answers import AnswerError, clean, parse
from bot.flow import Context, Done, Flow, Go, Invalid, Outcome
from bot.ports import FlowState, StaleState, Store, Unit
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
from bot.ui import Ask, Block, Context as ContextLine, Field, Kind, Question, Reply, Text

log = logging.getLogger(__name__)

ALWAYS = frozenset({"cancel", "help"})  # work even in the middle of a flow
FORM = "_form"  # key in FlowState.data for a form being asked one field at a time
ROLE_NAMES = {Role.LEADER: "coalition leaders", Role.COORDINATOR: "movement coordinators"}


class Engine:
    def __init__(
        self,
        store: Store,
        config: Any,
        flows: Sequence[Flow],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.flows = {flow.name: flow for flow in flows}
        self.commands = {word: flow for flow in flows for word in flow.entries}
        self.people = {m.id: m.name for m in config.members}

    # -- entry points -------------------------------------------------------------------

    async def handle(self, event: Event, caps: Capabilities) -> list[Reply]:
        """Handle one inbound event and return the replies for the member."""
        if not isinstance(event, (Message, Interaction)):
            return []  # lifecycle and ticks arrive with the adapters and scheduler
        for _ in range(3):
            try:
                async with self.store.unit() as unit:
                    if not await unit.claim_event(event.event_id):
                        log.info("duplicate event %s ignored", event.event_id)
                        return []
                    return await self._dispatch(unit, event, caps)
            except StaleState:
                # Another event moved this conversation on between our read and write;
                # everything we wrote was rolled back, so handling it again is safe.
                continue
        return [Reply.text("Several answers arrived at once. Please send yours again.")]

    async def current(self, ref: ConversationRef, caps: Capabilities) -> list[Reply]:
        """The open question in this conversation, if any (after a restart, on a Home tab)."""
        async with self.store.unit() as unit:
            state = await unit.load_state(ref.key)
            if state is None:
                return []
            flow = self.flows[state.flow]
            ctx = self._context(unit, self.actor(ref, state.coalition_id), caps, state.data)
            intro = Text(f"Welcome back. We were in the middle of: *{flow.summary}*")
            return [await self._ask(ctx, flow, state, intro=(intro,))]

    async def overview(self, ref: ConversationRef, caps: Capabilities) -> Reply:
        """A member's open items for a home page: their status, then the open question."""
        actor = self.actor(ref)
        async with self.store.unit() as unit:
            ctx = self._context(unit, actor, caps, {})
            status = await self.commands["status"].start(ctx, "status", "")
            state = await unit.load_state(ref.key)
            if state is None:
                return Reply(blocks=status.say)
            flow = self.flows[state.flow]
            ctx = self._context(unit, self.actor(ref, state.coalition_id), caps, state.data)
            note = Text(f"*Waiting for your answer:* {flow.summary}")
            ask = await self._ask(ctx, flow, state, intro=(note,))
            return replace(ask, blocks=status.say + ask.blocks)

    def actor(self, ref: ConversationRef, coalition_id: str | None = None,
              granted: frozenset[str] = frozenset()) -> Actor:
        """Who is talking, in which coalition (an active flow's own, else resolved from `ref`).
        `granted`: coordinators named in chat, besides app.yaml's."""
        member = self.config.member_for(ref.platform, ref.user)
        member_id = member.id if member else f"{ref.platform}:{ref.user}"
        name = member.name if member else str(ref.extra.get("name") or ref.user)
        coalition = self.config.coalition(coalition_id) if coalition_id else None
        coalition = coalition or self._coalition_for(ref, member_id)
        # A Slack Connect member's home workspace differs from ours: keep it with the record.
        home = ref.extra.get("user_team")
        platform = f"{ref.platform}:{home}" if home and home != ref.tenant else ref.platform
        return self._actor(member_id, name, coalition.id, granted, platform)

    def _actor(self, member_id: str, name: str, coalition_id: str, granted: frozenset[str],
               platform: str = "") -> Actor:
        roles = {Role.MEMBER}
        if self.config.is_leader(member_id, coalition_id):
            roles.add(Role.LEADER)
        if self.config.is_coordinator(member_id) or member_id in granted:
            roles.add(Role.COORDINATOR)
        return Actor(member_id, name, coalition_id, frozenset(roles), platform)

    async def compose(self, member_id: str, coalition_id: str, command: str,
                      caps: Capabilities = Capabilities(can_show_buttons=True)) -> Reply | None:
        """Run a read-only command (one that asks nothing, e.g. a scheduled digest) as a
        member and return what it says, or None if it has nothing to say or they may not."""
        word, _, args = command.partition(" ")
        flow = self.commands[word]
        async with self.store.unit() as unit:
            granted = await unit.granted_coordinators()
            actor = self._actor(member_id, self.people.get(member_id, member_id), coalition_id, granted)
            if not flow.interrupts or not actor.has(flow.role):
                return None
            outcome = await flow.start(self._context(unit, actor, caps, {}), word, args)
            if not isinstance(outcome, Done) or not outcome.say:
                return None
            if outcome.records:
                await unit.add(outcome.records, self.clock())
            return Reply(blocks=outcome.say + outcome.detail)

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
        actor = self.actor(event.ref, state and state.coalition_id, await unit.granted_coordinators())
        if isinstance(event, Interaction):
            return await self._interaction(unit, actor, caps, state, event)
        text = clean(event.text).strip()
        word, _, args = text.lstrip("/").partition(" ")
        word = word.lower()
        explicit = event.command or text.startswith("/")
        if state is None or explicit or word in ALWAYS:
            return await self._command(unit, actor, caps, state, event.ref, word, args.strip())
        return await self._typed_answer(unit, actor, caps, state, text)

    async def _command(self, unit, actor, caps, state, ref, word, args) -> list[Reply]:
        if word == "" and state is None:
            return []  # an empty line, nothing going on
        if word in ("", "help"):
            replies = [self._help(actor)]
            if state is not None:
                replies.append(await self._reask(unit, actor, caps, state, "You can carry on below."))
            return replies
        if word == "cancel":
            if state is None:
                return [Reply.text("There is nothing to cancel. Type *help* to see what you can do.")]
            await unit.delete_state(state.key, state.version)
            summary = self.flows[state.flow].summary
            return [Reply.text(f"Cancelled: {summary}. Your unfinished answers were not saved.")]
        flow = self.commands.get(word)
        if flow is None:
            return [Reply.text(f"I don't know the command '{word}'. Type *help* to see what I can do.")]
        if state is not None and flow.interrupts and actor.has(flow.role):
            # A read-only command (status) answers, then the open question is asked again.
            ctx = self._context(unit, actor, caps, {})
            outcome = await flow.start(ctx, word, args)
            if outcome.records:
                await unit.add(outcome.records, self.clock())
            said = [Reply(blocks=outcome.say)] + ([Reply(blocks=outcome.detail, detail=True)] if outcome.detail else [])
            return said + [await self._reask(unit, actor, caps, state, "Now, where were we:")]
        if state is not None:
            note = (
                f"You are in the middle of: *{self.flows[state.flow].summary}*. "
                "Answer the question below, or type *cancel* to stop it first."
            )
            return [await self._reask(unit, actor, caps, state, note)]
        if not actor.has(flow.role):
            return [self._refusal(actor, flow.role, flow.describe(word))]
        state = FlowState(ref.key, actor.member_id, actor.coalition_id, flow.name, "", version=0)
        ctx = self._context(unit, actor, caps, state.data)
        return await self._apply(unit, ctx, flow, state, await flow.start(ctx, word, args))

    async def _interaction(self, unit, actor, caps, state, event: Interaction) -> list[Reply]:
        here = state and ActionRef(state.flow, state.step, state.version)
        if event.action != here:
            note = "That question has moved on, so I didn't record that answer."
            if state is None:
                return [Reply.text(note + " Type *help* to start something new.")]
            return [await self._reask(unit, actor, caps, state, note + " Here is where we are now.")]
        flow = self.flows[state.flow]
        ctx = self._context(unit, actor, caps, state.data)
        question = await flow.ask(ctx, state.step)
        values, errors = {}, {}
        for field in question.fields:
            try:
                values[field.id] = parse(field, event.values.get(field.id), self._limit(field))
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
            note = "Please answer with the form above (or type *cancel* to stop)."
            return [Reply.text(note), self._reply_ask(ctx, flow, state, question)]
        form = ctx.data.setdefault(FORM, {"index": 0, "values": {}})
        if form["index"] >= len(fields):  # the question changed shape since it was asked
            form.update(index=0, values={})
        field = fields[form["index"]]
        try:
            form["values"][field.id] = parse(field, text, self._limit(field))
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
            return [self._refusal(ctx.actor, role, flow.step_summaries.get(outcome.step, flow.summary))]
        ctx.data.pop(FORM, None)  # the answer was accepted: the next question starts afresh
        if outcome.records:
            await unit.add(outcome.records, self.clock())
        news = [Reply(blocks=outcome.announce, to_coalition=ctx.coalition.id)] if outcome.announce else []
        if isinstance(outcome, Done):
            if state.version:
                await unit.delete_state(state.key, state.version)
            detail = [Reply(blocks=outcome.detail, detail=True)] if outcome.detail else []
            return [Reply(blocks=outcome.say or (Text("Done, thank you."),))] + detail + news
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
        return Reply(ask=Ask(question, action, errors or {}, index))

    # -- helpers --------------------------------------------------------------------------

    def _context(self, unit: Unit, actor: Actor, caps: Capabilities, data: dict) -> Context:
        config = self.config
        coalition = config.coalition(actor.coalition_id)
        now = self.clock()
        zone = ZoneInfo(config.zone_of(actor.coalition_id))
        return Context(
            actor=actor,
            coalition=coalition,
            movement=config.movement,
            capabilities=caps,
            now=now,
            today=now.astimezone(zone).date(),
            read=unit,
            prompts=config.prompts,
            principles=config.principles,
            limits=config.limits,
            data=data,
            people=self.people,
            coalitions=config.coalitions,
            delivery=config.delivery,
            schedules=config.schedules,
        )

    def _limit(self, field: Field) -> int:
        limits = self.config.limits
        return limits.max_title_length if field.kind is Kind.TEXT else limits.max_answer_length

    def _help(self, actor: Actor) -> Reply:
        lines = [f"*{self.config.movement.name}*: here is what you can do."]
        for word, flow in self.commands.items():
            if actor.has(flow.role):
                lines.append(f"- `{flow.usages.get(word, word)}`: {flow.describe(word)}")
        lines.append("- `cancel`: stop what you are in the middle of (nothing half-done is saved)")
        lines.append("- `help`: this list")
        return Reply(blocks=(Text("\n".join(lines)), ContextLine("Answer a question by typing, or pick a number.")))

    def _refusal(self, actor: Actor, role: Role, what: str) -> Reply:
        coalition = self.config.coalition(actor.coalition_id)
        text = f"Only {ROLE_NAMES.get(role, role.value + 's')} can {what[0].lower() + what[1:]}."
        if role is Role.LEADER and coalition.leaders:
            names = ", ".join(self.people.get(m, m) for m in coalition.leaders)
            text += f" The leaders of {coalition.name} are: {names}."
        return Reply.text(text, private=True)
