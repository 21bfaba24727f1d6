"""Members' data rights in chat: `mydata` (everything stored about me, as a file or a one-time
download link) and `forget me` (erase it, after a confirmation)."""

from __future__ import annotations

from datetime import timedelta

from bot.mydata import PURPOSE, document, encoded, filename, summary
from bot.flow import Context, Done, Flow, said
from bot.records import Erasure, SignInLink
from bot.tokens import digest, new_token
from bot.ui import File, Question, Text

from flows.common import choice

VALID = timedelta(minutes=15)
SELF = "member"  # the audit's `by` when members erase themselves: never their id


class MyData(Flow):
    name = "mydata"
    entries = {"mydata": ""}
    interrupts = True  # asks nothing

    async def start(self, ctx: Context, command: str, args: str):
        me = ctx.actor.member_id
        doc = document(me, await ctx.read.member_data(me), directory=ctx.directory, names=ctx.people,
                       coalitions=ctx.coalitions, movement=ctx.movement, now=ctx.now)
        overview = Text(summary(doc, ctx.texts))
        if ctx.capabilities.can_take_files:
            file = File(filename(me, ctx.now), encoded(doc), ctx.t("mydata.file_title"))
            return Done(say=(overview, Text(ctx.t("mydata.file")), file), private=True)
        token = new_token()
        record = SignInLink(me, ctx.actor.name, ctx.coalition.id, digest(token), ctx.now + VALID, purpose=PURPOSE)
        link = f"{ctx.public_url}/mydata/{token}"
        minutes = int(VALID.total_seconds() // 60)
        return Done(records=(record,), say=(overview, Text(ctx.t("mydata.link", link=link, minutes=minutes))),
                    private=True)


class Forget(Flow):
    name = "forget"
    entries = {"forget": "confirm"}

    async def ask_confirm(self, ctx: Context) -> Question:
        options = {"erase": ctx.t("forget.erase"), "keep": ctx.t("forget.keep")}
        return Question(title=ctx.t("forget.title"), intro=(Text(ctx.t("forget.what")),),
                        fields=(choice("confirm", ctx.t("forget.ask"), options),))

    async def on_confirm(self, ctx: Context, a: dict):
        if a["confirm"] != "erase":
            return Done(say=said(ctx.t("forget.kept")), private=True)
        me = ctx.actor.member_id
        # The engine adds `forget.listed` if app.yaml still names them once it is done.
        return Done(records=(Erasure(me, by=SELF),), say=said(ctx.t("forget.erased")), private=True)
