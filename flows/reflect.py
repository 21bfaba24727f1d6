"""Principle reflection: answer the reflection question of one of the movement's principles."""

from __future__ import annotations

from bot.flow import Context, Done, Flow, Go, Invalid, said
from bot.records import Reflection
from bot.ui import Context as Hint, Question

from flows.common import choice, long_text


class Reflect(Flow):
    name = "reflect"
    entries = {"reflect": "pick"}

    async def start(self, ctx: Context, command: str, args: str):
        if not args:
            return Go("pick")
        return self._chosen(ctx, args.strip().lstrip("#"))

    def _chosen(self, ctx: Context, number: str):
        principle = ctx.principle(int(number)) if number.isascii() and number.isdigit() else None
        if principle is None:
            return Invalid(ctx.t("reflect.bad_number", count=len(ctx.principles)))
        ctx.data["principle"] = principle.number
        return Go("answer")

    async def ask_pick(self, ctx: Context) -> Question:
        labels = {str(p.number): ctx.t("reflect.option", number=p.number, title=p.title) for p in ctx.principles}
        return Question(title=ctx.t("reflect.pick_title"), fields=(choice("principle", ctx.t("reflect.pick"), labels),))

    async def on_pick(self, ctx: Context, a: dict):
        return self._chosen(ctx, a["principle"])

    async def ask_answer(self, ctx: Context) -> Question:
        p = ctx.principle(ctx.data["principle"])
        return Question(
            title=ctx.t("reflect.title", number=p.number, title=p.title),
            intro=(Hint(ctx.t("reflect.title", number=p.number, title=p.title)),),
            fields=(long_text("text", p.question),),
        )

    async def on_answer(self, ctx: Context, a: dict):
        number = ctx.data["principle"]
        record = Reflection(ctx.coalition.id, ctx.actor.member_id, number, a["text"])
        return Done(records=(record,), say=said(ctx.t("reflect.saved", number=number)))
