"""Frame the problem: outside-in perspectives, problem statements on the transversal test,
and a leader closing the round on one agreed frame. Seed, tips 3 and 5.
"""

from __future__ import annotations

from bot.flow import Context, Done, Flow, Go, Invalid, said
from bot.records import Frame, Perspective, ProblemStatement
from bot.types import Role, Voice
from bot.ui import Context as Hint, Question, Text

from flows.common import choice, excerpt, labels, long_text, scale

TRANSVERSAL = ("cross_sector", "complex", "not_solved")


class Framing(Flow):
    name = "frame"
    entries = {"frame": "menu"}
    step_roles = {"close": Role.LEADER}

    async def start(self, ctx: Context, command: str, args: str):
        return await self._to_close(ctx) if args.lower() == "close" else Go("menu")

    async def _to_close(self, ctx: Context):
        # Members are refused by the engine on entering "close"; leaders learn if it is empty.
        if ctx.actor.has(Role.LEADER) and not await ctx.read.open_statements(ctx.coalition.id):
            return Done(say=said(ctx.t("frame.nothing_to_close")))
        return Go("close")

    async def ask_menu(self, ctx: Context) -> Question:
        coalition = ctx.coalition.id
        intro = []
        frame = await ctx.read.current_frame(coalition)
        if frame:
            intro.append(Hint(ctx.t("frame.current", statement=frame.statement)))
        statements = await ctx.read.open_statements(coalition)
        perspectives = await ctx.read.open_perspective_count(coalition)
        intro.append(Hint(ctx.t("frame.open", perspectives=perspectives, statements=len(statements))))
        labels = {"perspective": ctx.t("frame.add_perspective"), "statement": ctx.t("frame.add_statement")}
        if ctx.actor.has(Role.LEADER):
            labels["close"] = ctx.t("frame.close_round")
        return Question(title=ctx.t("frame.title"), intro=tuple(intro),
                        fields=(choice("do", ctx.t("frame.menu"), labels),))

    async def on_menu(self, ctx: Context, a: dict):
        return await self._to_close(ctx) if a["do"] == "close" else Go(a["do"])

    async def ask_perspective(self, ctx: Context) -> Question:
        return Question(
            title=ctx.t("frame.perspective_title"),
            fields=(
                choice("voice", ctx.t("frame.voice"), labels(ctx, "voice", Voice)),
                long_text("said", ctx.t("frame.said")),
                long_text("shows", ctx.t("frame.shows")),
            ),
        )

    async def on_perspective(self, ctx: Context, a: dict):
        record = Perspective(ctx.coalition.id, ctx.actor.member_id, a["voice"], a["said"], a["shows"])
        count = await ctx.read.open_perspective_count(ctx.coalition.id) + 1  # this one is saved next
        return Go("next", records=(record,), say=said(ctx.t("frame.perspective_saved", count=count)))

    async def ask_next(self, ctx: Context) -> Question:
        labels = {
            "perspective": ctx.t("frame.next_perspective"),
            "statement": ctx.t("frame.next_statement"),
            "done": ctx.t("frame.next_done"),
        }
        return Question(title=ctx.t("frame.title"), fields=(choice("next", ctx.t("frame.next"), labels),))

    async def on_next(self, ctx: Context, a: dict):
        if a["next"] == "done":
            return Done(say=said(ctx.t("frame.thanks")))
        return Go(a["next"])

    async def ask_statement(self, ctx: Context) -> Question:
        return Question(
            title=ctx.t("frame.statement_title"),
            fields=(long_text("statement", ctx.t("frame.statement")),)
            + tuple(scale(ctx, key, ctx.t(f"frame.{key}")) for key in TRANSVERSAL),
        )

    async def on_statement(self, ctx: Context, a: dict):
        ratings = [a[key] for key in TRANSVERSAL]
        record = ProblemStatement(ctx.coalition.id, ctx.actor.member_id, a["statement"], *ratings)
        score = sum(ratings) / len(ratings)
        lines = [ctx.t("frame.statement_saved", score=ctx.texts.number(score))]
        if score < 3:
            lines.append(ctx.t("frame.weak"))
        return Done(records=(record,), say=tuple(Text(line) for line in lines))

    async def ask_close(self, ctx: Context) -> Question:
        statements = await ctx.read.open_statements(ctx.coalition.id)
        perspectives = await ctx.read.open_perspective_count(ctx.coalition.id)
        options = {str(s.id): ctx.t("frame.option", statement=excerpt(s.statement), score=ctx.texts.number(s.score))
                   for s in statements}
        return Question(
            title=ctx.t("frame.close_title"),
            intro=(Text(ctx.t("frame.close_intro", count=perspectives)),),
            fields=(choice("statement", ctx.t("frame.close_pick"), options),),
            submit=ctx.t("frame.close_submit"),
        )

    async def on_close(self, ctx: Context, a: dict):
        statements = {str(s.id): s for s in await ctx.read.open_statements(ctx.coalition.id)}
        chosen = statements.get(a["statement"])
        if chosen is None:
            return Invalid(ctx.t("frame.gone"), "statement")
        count = await ctx.read.open_perspective_count(ctx.coalition.id)
        record = Frame(ctx.coalition.id, ctx.actor.member_id, chosen.id)
        closed = ctx.t("frame.closed", statement=chosen.statement, count=count)
        news = ctx.news.t("frame.announce", statement=chosen.statement)
        return Done(records=(record,), say=said(closed), announce=said(news))
