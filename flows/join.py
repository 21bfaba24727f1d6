"""Join / mobilise: take a seat at the table, map hidden treasures nearby, see who is missing.

Seed, tip 2: mobilise the whole and make participation equal and diverse.
"""

from __future__ import annotations

from bot.flow import Context, Done, Flow, Go, said
from bot.records import MemberProfile, Resource
from bot.ui import Question, Section, Text

from flows.common import choice, label, long_text, sector_field, sectors_named, text, yes_no

# What a hidden treasure can be; each is labelled by `map.resource.<value>` in the library.
RESOURCE_KINDS = ("place", "association", "business", "institution", "person", "knowledge", "other")


class Join(Flow):
    name = "join"
    entries = {"join": "profile", "map": "treasure"}

    async def start(self, ctx: Context, command: str, args: str):
        ctx.data["via"] = command
        return Go(self.entries[command])

    async def ask_profile(self, ctx: Context) -> Question:
        coalition = ctx.coalition
        return Question(
            title=ctx.t("join.title", coalition=coalition.name),
            intro=(Text(ctx.t("join.intro", coalition=coalition.name, challenge=coalition.challenge)),),
            fields=(
                sector_field(ctx, "sector", ctx.t("join.sector")),
                text("organisation", ctx.t("join.organisation")),
                long_text("brings", ctx.t("join.brings")),
            ),
            submit=ctx.t("join.submit"),
        )

    async def on_profile(self, ctx: Context, a: dict):
        profile = MemberProfile(
            ctx.coalition.id, ctx.actor.member_id, ctx.actor.name, a["sector"],
            a["organisation"], a["brings"], ctx.actor.platform,
        )
        sector = label(ctx, "sector", a["sector"])
        saved = ctx.t("join.saved", name=ctx.actor.name, sector=sector)
        news = ctx.news.t("join.announce", name=ctx.actor.name, organisation=a["organisation"],
                          sector=ctx.news.get(f"labels.sector.{a['sector']}", sector))
        return Go("offer", records=(profile,), say=said(saved), announce=said(news))

    async def ask_offer(self, ctx: Context) -> Question:
        field = yes_no(ctx, "map", ctx.t("join.treasure_offer"), ctx.t("join.treasure_yes"), ctx.t("join.treasure_no"))
        return Question(title=ctx.t("map.title"), fields=(field,))

    async def on_offer(self, ctx: Context, a: dict):
        return Go("treasure") if a["map"] == "yes" else await self._finish(ctx)

    async def ask_treasure(self, ctx: Context) -> Question:
        return Question(
            title=ctx.t("map.title"),
            fields=(
                text("name", ctx.t("map.name")),
                choice("kind", ctx.t("map.kind"), {k: ctx.t(f"map.resource.{k}") for k in RESOURCE_KINDS}),
                sector_field(ctx, "sector", ctx.t("map.sector")),
                long_text("offer", ctx.t("map.offer")),
            ),
            submit=ctx.t("map.submit"),
        )

    async def on_treasure(self, ctx: Context, a: dict):
        resource = Resource(
            ctx.coalition.id, ctx.actor.member_id, a["name"], a["kind"], a["sector"], a["offer"]
        )
        return Go("another", records=(resource,), say=said(ctx.t("map.saved", name=a["name"])))

    async def ask_another(self, ctx: Context) -> Question:
        return Question(title=ctx.t("map.title"), fields=(yes_no(ctx, "again", ctx.t("map.another")),))

    async def on_another(self, ctx: Context, a: dict):
        return Go("treasure") if a["again"] == "yes" else await self._finish(ctx)

    async def _finish(self, ctx: Context) -> Done:
        if ctx.data.get("via") == "map":
            return Done(say=said(ctx.t("map.done")))
        return Done(say=await sector_balance(ctx))


async def sector_balance(ctx: Context):
    """Who is at the table, which wanted sectors are missing, and an invitation to fill the gap."""
    coalition = ctx.coalition
    counts = await ctx.read.sector_counts(coalition.id)
    at_table = tuple((label(ctx, "sector", s), ctx.texts.number(n, 0)) for s, n in counts.items() if n)
    missing = [s for s in coalition.wanted_sectors if not counts.get(s)]
    invite = (
        ctx.t("join.missing", sectors=sectors_named(ctx, missing)) if missing else ctx.t("join.all_there")
    )
    return (Section(ctx.t("join.balance_title", coalition=coalition.name), at_table), Text(invite))
