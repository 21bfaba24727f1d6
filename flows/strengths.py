"""Strengths: find the experience and enlarge it. Seed, tip 1."""

from __future__ import annotations

from bot.flow import Context, Done, Flow, said
from bot.records import Strength
from bot.ui import Question, Text

from flows.common import long_text


class Strengths(Flow):
    name = "strengths"
    entries = {"strengths": "experience"}

    async def ask_experience(self, ctx: Context) -> Question:
        return Question(
            title=ctx.t("strengths.title"),
            intro=(Text(ctx.t("strengths.intro")),),
            fields=(
                long_text("success", ctx.t("strengths.success")),
                long_text("why", ctx.t("strengths.why")),
                long_text("enlarge", ctx.t("strengths.enlarge")),
                long_text("challenge", ctx.t("strengths.challenge"), required=False),
            ),
        )

    async def on_experience(self, ctx: Context, a: dict):
        record = Strength(
            ctx.coalition.id, ctx.actor.member_id, a["success"], a["why"], a["enlarge"], a["challenge"]
        )
        return Done(records=(record,), say=said(ctx.t("strengths.saved")))
