"""Impact check-in on a running experiment: perceived impact among citizens, effect per
stakeholder group, intended and unintended effects, evidence and a decision. Seed, tip 6.
"""

from __future__ import annotations

from bot.flow import Context, Done, Flow, Go, said
from bot.records import CheckIn
from bot.types import DECISION_LABELS, Role
from bot.ui import Question, Text

from flows.common import choice, long_text, scale, text


class ImpactCheckIn(Flow):
    name = "checkin"
    summary = "check in on the impact of a running experiment"
    entries = {"checkin": "pick"}
    usages = {"checkin": "checkin [experiment]"}
    role = Role.LEADER

    async def start(self, ctx: Context, command: str, args: str):
        running = await ctx.read.experiments(ctx.coalition.id, running_on=ctx.today)
        if not running:
            return Done(say=said(ctx.t("checkin.none", coalition=ctx.coalition.name)))
        if args:
            wanted = args.strip().lower()
            match = [e for e in running if wanted in (str(e.id), e.title.lower())]
            if not match:
                return Done(say=said(ctx.t("checkin.unknown", name=args.strip())))
            running = match
        if len(running) == 1:
            ctx.data["experiment"] = running[0].id
            return Go("impact")
        return Go("pick")

    async def ask_pick(self, ctx: Context) -> Question:
        running = await ctx.read.experiments(ctx.coalition.id, running_on=ctx.today)
        labels = {str(e.id): f"{e.title} (until {e.ends_on.isoformat()})" for e in running}
        return Question(title="Impact check-in", fields=(choice("experiment", ctx.t("checkin.pick"), labels),))

    async def on_pick(self, ctx: Context, a: dict):
        ctx.data["experiment"] = int(a["experiment"])
        return Go("impact")

    async def ask_impact(self, ctx: Context) -> Question:
        experiment = await ctx.read.experiment(ctx.data["experiment"])
        effects = tuple(
            scale(f"effect_{i}", ctx.t("checkin.effect", group=group), "no effect", "large effect")
            for i, group in enumerate(experiment.stakeholders)
        )
        return Question(
            title=ctx.t("checkin.title", experiment=experiment.title),
            intro=(Text(ctx.t("checkin.intro")),),
            fields=(scale("citizen_impact", ctx.t("checkin.citizen_impact"), "none", "a lot"),)
            + effects
            + (
                long_text("intended", ctx.t("checkin.intended")),
                long_text("unintended", ctx.t("checkin.unintended"), required=False),
                text("evidence", ctx.t("checkin.evidence"), required=False, max_length=2000),
                choice("decision", ctx.t("checkin.decision"), DECISION_LABELS),
            ),
        )

    async def on_impact(self, ctx: Context, a: dict):
        experiment = await ctx.read.experiment(ctx.data["experiment"])
        effects = tuple((g, a[f"effect_{i}"]) for i, g in enumerate(experiment.stakeholders))
        record = CheckIn(
            ctx.coalition.id, ctx.actor.member_id, experiment.id, a["citizen_impact"], effects,
            a["intended"], a["unintended"], a["evidence"], a["decision"],
        )
        decision = DECISION_LABELS[a["decision"]]
        saved = ctx.t("checkin.saved", experiment=experiment.title, decision=decision)
        news = ctx.t("checkin.announce", experiment=experiment.title, impact=a["citizen_impact"], decision=decision)
        return Done(records=(record,), say=said(saved), announce=said(news))
