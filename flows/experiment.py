"""Start small: register a delimited, timeboxed test action. Seed, tip 6."""

from __future__ import annotations

from datetime import date

from bot.flow import Context, Done, Flow, Invalid, said
from bot.records import Experiment
from bot.ui import Field, Kind, Question, Text

from flows.common import long_text, text

MAX_GROUPS = 6  # each stakeholder group gets its own rating in a check-in


def stakeholder_groups(answer: str) -> tuple[str, ...]:
    groups: list[str] = []
    for part in answer.replace(";", ",").replace("\n", ",").split(","):
        name = " ".join(part.split())
        if name and name.lower() not in (g.lower() for g in groups):
            groups.append(name)
    return tuple(groups)


class StartSmall(Flow):
    name = "experiment"
    entries = {"experiment": "details"}

    async def ask_details(self, ctx: Context) -> Question:
        return Question(
            title=ctx.t("experiment.title"),
            intro=(Text(ctx.t("experiment.intro")),),
            fields=(
                text("title", ctx.t("experiment.name")),
                long_text("action", ctx.t("experiment.action")),
                long_text("effect", ctx.t("experiment.effect")),
                text("stakeholders", ctx.t("experiment.stakeholders"), max_length=300),
                text("partners", ctx.t("experiment.partners"), max_length=500),
                Field("starts_on", ctx.t("experiment.starts_on"), Kind.DATE, initial=ctx.today.isoformat()),
                Field("ends_on", ctx.t("experiment.ends_on"), Kind.DATE),
                long_text("measures", ctx.t("experiment.measures")),
                text("owner", ctx.t("experiment.owner"), required=False),
            ),
            submit=ctx.t("experiment.submit"),
        )

    async def on_details(self, ctx: Context, a: dict):
        starts, ends = date.fromisoformat(a["starts_on"]), date.fromisoformat(a["ends_on"])
        if ends < starts:
            return Invalid(ctx.t("experiment.end_before_start", starts=ctx.texts.date(starts)), "ends_on")
        weeks = ((ends - starts).days + 1) / 7
        limit = ctx.limits.max_experiment_weeks
        if weeks > limit:
            return Invalid(ctx.t("experiment.too_long", weeks=ctx.texts.number(weeks, 0), max=limit), "ends_on")
        groups = stakeholder_groups(a["stakeholders"])
        if not groups:
            return Invalid(ctx.t("answers.required"), "stakeholders")
        if len(groups) > MAX_GROUPS:
            return Invalid(ctx.t("experiment.too_many_groups", max=MAX_GROUPS), "stakeholders")
        record = Experiment(
            ctx.coalition.id, ctx.actor.member_id, a["title"], a["action"], a["effect"], groups,
            a["partners"], starts, ends, a["measures"], a["owner"] or ctx.actor.name,
        )
        dates = {"title": a["title"], "starts": ctx.texts.date(starts), "ends": ctx.texts.date(ends)}
        said_there = {"title": a["title"], "starts": ctx.news.date(starts), "ends": ctx.news.date(ends)}
        news = (  # in the coalition's language: it goes to their channel
            Text(ctx.news.t("experiment.announce", owner=record.owner, **said_there)),
            Text(ctx.news.t("experiment.announce_details", action=a["action"], effect=a["effect"],
                            stakeholders=ctx.news.listing(groups))),
        )
        return Done(records=(record,), say=said(ctx.t("experiment.saved", **dates)), announce=news)
