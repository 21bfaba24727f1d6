"""Impact check-ins on a running experiment (seed, tip 6).

A leader opens a round with `checkin [experiment]`: every member of the coalition is asked,
in their own chat, how the experiment lands: perceived impact among citizens, the effect
per stakeholder group, intended and unintended effects, evidence and a decision. Members
answer with `impact` (the button on the invitation types it). `checkin close` ends the
round early; otherwise it closes after `delivery.round_days`, and its summary goes to the
coalition's channel.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.flow import Context, Done, Flow, Go, said
from bot.records import CheckIn, CheckInRound, RoundClosed
from bot.types import Decision, Role
from bot.ui import Question, Text

from flows.common import choice, label, labels, long_text, scale, text


class CheckInRounds(Flow):
    name = "checkin"
    entries = {"checkin": "pick"}
    role = Role.LEADER

    async def start(self, ctx: Context, command: str, args: str):
        coalition = ctx.coalition
        current = await ctx.read.open_round(coalition.id)
        if args.strip().lower() == "close":
            if current is None:
                return Done(say=said(ctx.t("checkin.no_round", coalition=coalition.name)))
            title = await _title(ctx, current.experiment_id)
            return Done(records=(RoundClosed(current.id, ctx.actor.member_id),),
                        say=said(ctx.t("checkin.closed", experiment=title)))
        if current is not None:
            title = await _title(ctx, current.experiment_id)
            return Done(say=said(ctx.t("checkin.already_open", experiment=title)))
        running = await ctx.read.experiments(coalition.id, running_on=ctx.today)
        if not running:
            return Done(say=said(ctx.t("checkin.none", coalition=coalition.name)))
        if args:
            wanted = args.strip().lower()
            match = [e for e in running if wanted in (str(e.id), e.title.lower())]
            if not match:
                return Done(say=said(ctx.t("checkin.unknown", name=args.strip())))
            running = match
        if len(running) == 1:
            return await self._open(ctx, running[0])
        return Go("pick")

    async def ask_pick(self, ctx: Context) -> Question:
        running = await ctx.read.experiments(ctx.coalition.id, running_on=ctx.today)
        options = {str(e.id): ctx.t("checkin.option", title=e.title, ends=ctx.texts.date(e.ends_on)) for e in running}
        return Question(title=ctx.t("checkin.pick_title"),
                        fields=(choice("experiment", ctx.t("checkin.pick"), options),))

    async def on_pick(self, ctx: Context, a: dict):
        if await ctx.read.open_round(ctx.coalition.id) is not None:  # another leader was quicker
            return Done(say=said(ctx.t("checkin.already_open", experiment=ctx.t("checkin.an_experiment"))))
        return await self._open(ctx, await ctx.read.experiment(int(a["experiment"])))

    async def _open(self, ctx: Context, experiment) -> Done:
        coalition, delivery = ctx.coalition, ctx.delivery
        members = await everyone(ctx, coalition)
        closes = ctx.now + timedelta(days=delivery.round_days)
        zone = ZoneInfo(coalition.timezone or ctx.movement.timezone)
        record = CheckInRound(coalition.id, experiment.id, ctx.actor.member_id, members, closes,
                              delivery.reminders, int(delivery.remind_after_hours * 3600))
        when = ctx.texts.when(closes, zone)
        return Done(records=(record,), say=said(ctx.t(
            "checkin.opened", experiment=experiment.title, count=len(members), closes=when)))


class ImpactAnswer(Flow):
    name = "impact"
    entries = {"impact": "impact"}

    async def start(self, ctx: Context, command: str, args: str):
        wanted = args.strip().lstrip("#")
        round = (await ctx.read.round(int(wanted)) if wanted.isascii() and wanted.isdigit()
                 else await ctx.read.open_round(ctx.coalition.id))
        coalition = ctx.coalition_named(round.coalition_id) if round else None
        if round is None or coalition is None or ctx.actor.member_id not in await everyone(ctx, coalition):
            return Done(say=said(ctx.t("checkin.nothing_to_answer", coalition=ctx.coalition.name)))
        refusal = await _refusal(ctx, round)
        if refusal:
            return refusal
        ctx.data.update(round=round.id, experiment=round.experiment_id, coalition=round.coalition_id)
        return Go("impact")

    async def ask_impact(self, ctx: Context) -> Question:
        experiment = await ctx.read.experiment(ctx.data["experiment"])
        effects = tuple(
            scale(ctx, f"effect_{i}", ctx.t("checkin.effect", group=group),
                  ctx.t("checkin.effect_low"), ctx.t("checkin.effect_high"))
            for i, group in enumerate(experiment.stakeholders)
        )
        return Question(
            title=ctx.t("checkin.title", experiment=experiment.title),
            intro=(Text(ctx.t("checkin.intro")),),
            fields=(scale(ctx, "citizen_impact", ctx.t("checkin.citizen_impact"),
                          ctx.t("checkin.impact_low"), ctx.t("checkin.impact_high")),)
            + effects
            + (
                long_text("intended", ctx.t("checkin.intended")),
                long_text("unintended", ctx.t("checkin.unintended"), required=False),
                text("evidence", ctx.t("checkin.evidence"), required=False, max_length=2000),
                choice("decision", ctx.t("checkin.decision"), labels(ctx, "decision", Decision)),
            ),
        )

    async def on_impact(self, ctx: Context, a: dict):
        round = await ctx.read.round(ctx.data["round"])
        refusal = await _refusal(ctx, round)  # it may have closed while they were answering
        if refusal:
            return refusal
        experiment = await ctx.read.experiment(ctx.data["experiment"])
        effects = tuple((g, a[f"effect_{i}"]) for i, g in enumerate(experiment.stakeholders))
        record = CheckIn(
            round.coalition_id, ctx.actor.member_id, experiment.id, a["citizen_impact"], effects,
            a["intended"], a["unintended"], a["evidence"], a["decision"], round_id=str(round.id),
        )
        decision = label(ctx, "decision", a["decision"])
        return Done(records=(record,), say=said(ctx.t("checkin.saved", experiment=experiment.title, decision=decision)))


async def everyone(ctx: Context, coalition) -> tuple[str, ...]:
    """Leaders and members from app.yaml, and whoever joined in chat."""
    return tuple(dict.fromkeys(coalition.leaders + coalition.members + tuple(await ctx.read.joined(coalition.id))))


async def _title(ctx: Context, experiment_id: int) -> str:
    experiment = await ctx.read.experiment(experiment_id)
    return experiment.title if experiment else ctx.t("format.experiment", id=experiment_id)


async def _refusal(ctx: Context, round) -> Done | None:
    if round.closed_at is not None:
        return Done(say=said(ctx.t("checkin.round_closed", experiment=await _title(ctx, round.experiment_id))))
    if ctx.actor.member_id in await ctx.read.answered(round.id):
        return Done(say=said(ctx.t("checkin.answered_before", experiment=await _title(ctx, round.experiment_id))))
    return None
