"""Join / mobilise: take a seat at the table, map hidden treasures nearby, see who is missing.

Seed, tip 2: mobilise the whole and make participation equal and diverse.
"""

from __future__ import annotations

from bot.flow import Context, Done, Flow, Go, said
from bot.records import MemberProfile, Resource
from bot.types import SECTOR_LABELS
from bot.ui import Question, Section, Text

from flows.common import choice, long_text, sector_field, sectors_named, text, yes_no

RESOURCE_KINDS = {
    "place": "A place",
    "association": "An association or network",
    "business": "A business",
    "institution": "A public institution",
    "person": "A person",
    "knowledge": "Knowledge or skills",
    "other": "Something else",
}


class Join(Flow):
    name = "join"
    summary = "join the coalition and say what you bring"
    entries = {"join": "profile", "map": "treasure"}
    descriptions = {"map": "map a hidden treasure: a local resource that could help"}

    async def start(self, ctx: Context, command: str, args: str):
        ctx.data["via"] = command
        return Go(self.entries[command])

    async def ask_profile(self, ctx: Context) -> Question:
        coalition = ctx.coalition
        return Question(
            title=ctx.t("join.title", coalition=coalition.name),
            intro=(Text(ctx.t("join.intro", coalition=coalition.name, challenge=coalition.challenge)),),
            fields=(
                sector_field("sector", ctx.t("join.sector")),
                text("organisation", ctx.t("join.organisation")),
                long_text("brings", ctx.t("join.brings")),
            ),
            submit="Join",
        )

    async def on_profile(self, ctx: Context, a: dict):
        profile = MemberProfile(
            ctx.coalition.id, ctx.actor.member_id, ctx.actor.name, a["sector"],
            a["organisation"], a["brings"], ctx.actor.platform,
        )
        sector = SECTOR_LABELS[a["sector"]]
        saved = ctx.t("join.saved", name=ctx.actor.name, sector=sector)
        news = ctx.t("join.announce", name=ctx.actor.name, sector=sector, organisation=a["organisation"])
        return Go("offer", records=(profile,), say=said(saved), announce=said(news))

    async def ask_offer(self, ctx: Context) -> Question:
        field = yes_no("map", ctx.t("join.treasure_offer"), ctx.t("join.treasure_yes"), ctx.t("join.treasure_no"))
        return Question(title=ctx.t("map.title"), fields=(field,))

    async def on_offer(self, ctx: Context, a: dict):
        return Go("treasure") if a["map"] == "yes" else await self._finish(ctx)

    async def ask_treasure(self, ctx: Context) -> Question:
        return Question(
            title=ctx.t("map.title"),
            fields=(
                text("name", ctx.t("map.name")),
                choice("kind", ctx.t("map.kind"), RESOURCE_KINDS),
                sector_field("sector", ctx.t("map.sector")),
                long_text("offer", ctx.t("map.offer")),
            ),
            submit="Map it",
        )

    async def on_treasure(self, ctx: Context, a: dict):
        resource = Resource(
            ctx.coalition.id, ctx.actor.member_id, a["name"], a["kind"], a["sector"], a["offer"]
        )
        return Go("another", records=(resource,), say=said(ctx.t("map.saved", name=a["name"])))

    async def ask_another(self, ctx: Context) -> Question:
        return Question(title=ctx.t("map.title"), fields=(yes_no("again", ctx.t("map.another")),))

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
    at_table = tuple((SECTOR_LABELS.get(s, s), str(n)) for s, n in counts.items() if n)
    missing = [s for s in coalition.wanted_sectors if not counts.get(s)]
    invite = (
        ctx.t("join.missing", sectors=sectors_named(missing)) if missing else ctx.t("join.all_there")
    )
    return (Section(ctx.t("join.balance_title", coalition=coalition.name), at_table), Text(invite))
