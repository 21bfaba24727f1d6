"""Ambassador stories: share what happened, with the principles it shows and a consent level
that decides who may ever see it; the author can withdraw it later. Principle #7.
"""

from __future__ import annotations

from bot.flow import Context, Done, Flow, Go, said
from bot.records import Story, StoryWithdrawal
from bot.types import Consent, Sector
from bot.ui import Question, Text

from flows.common import choice, excerpt, label, labels, long_text, multi, text, yes_no


class AmbassadorStory(Flow):
    name = "story"
    entries = {"story": "write"}

    async def start(self, ctx: Context, command: str, args: str):
        if args.strip().lower() != "withdraw":
            return Go("write")
        if not await self._withdrawable(ctx):
            return Done(say=said(ctx.t("story.none")))
        return Go("withdraw")

    async def _withdrawable(self, ctx: Context):
        return [s for s in await ctx.read.stories(ctx.coalition.id, ctx.actor.member_id) if not s.withdrawn]

    async def ask_write(self, ctx: Context) -> Question:
        principles = {str(p.number): ctx.t("reflect.option", number=p.number, title=p.title) for p in ctx.principles}
        return Question(
            title=ctx.t("story.title"),
            intro=(Text(ctx.t("story.intro")),),
            fields=(
                text("title", ctx.t("story.name")),
                long_text("body", ctx.t("story.body")),
                multi("principles", ctx.t("story.principles"), principles),
                multi("sectors", ctx.t("story.sectors"), labels(ctx, "sector", Sector)),
                choice("consent", ctx.t("story.consent"), labels(ctx, "consent", Consent)),
                yes_no(ctx, "named", ctx.t("story.anonymous"), ctx.t("story.named"), ctx.t("story.anon")),
            ),
            submit=ctx.t("story.submit"),
        )

    async def on_write(self, ctx: Context, a: dict):
        anonymous = a["named"] == "no"
        record = Story(
            ctx.coalition.id, ctx.actor.member_id, a["title"], a["body"],
            tuple(sorted(int(p) for p in a["principles"])), tuple(a["sectors"]), a["consent"], anonymous,
        )
        saved = ctx.t(
            "story.saved", title=a["title"], consent=label(ctx, "consent", a["consent"]),
            anonymous=" " + ctx.t("story.anonymous_mark") if anonymous else "",
        )
        news: tuple = ()
        if a["consent"] != Consent.PRIVATE:  # "only me" is never shown to anyone else
            author = ctx.news.t("story.someone") if anonymous else ctx.actor.name
            news = (Text(ctx.news.t("story.announce", title=a["title"], author=author)), Text(excerpt(a["body"], 500)))
        return Done(records=(record,), say=said(saved), announce=news)

    async def ask_withdraw(self, ctx: Context) -> Question:
        options = {str(s.id): ctx.t("story.withdraw_option", title=excerpt(s.title, 60),
                                    consent=label(ctx, "consent", s.consent))
                   for s in await self._withdrawable(ctx)}
        return Question(title=ctx.t("story.withdraw_title"),
                        fields=(choice("story", ctx.t("story.withdraw_pick"), options),))

    async def on_withdraw(self, ctx: Context, a: dict):
        story = next(s for s in await self._withdrawable(ctx) if str(s.id) == a["story"])
        ctx.data.update(story=story.id, title=story.title)
        return Go("confirm")

    async def ask_confirm(self, ctx: Context) -> Question:
        field = yes_no(ctx, "sure", ctx.t("story.withdraw_confirm", title=ctx.data["title"]),
                       ctx.t("story.withdraw_yes"), ctx.t("story.withdraw_no"))
        return Question(title=ctx.t("story.withdraw_title"), fields=(field,))

    async def on_confirm(self, ctx: Context, a: dict):
        title = ctx.data["title"]
        if a["sure"] == "no":
            return Done(say=said(ctx.t("story.kept", title=title)))
        record = StoryWithdrawal(ctx.data["story"], ctx.actor.member_id)
        return Done(records=(record,), say=said(ctx.t("story.withdrawn", title=title)))
