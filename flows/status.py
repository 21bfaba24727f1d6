"""Status: where a member stands (profile, experiments and their check-ins, stories).

It asks nothing, so it can be shown in the middle of another flow.
"""

from __future__ import annotations

from bot.flow import Context, Done, Flow
from bot.types import CONSENT_LABELS, SECTOR_LABELS
from bot.ui import Section, Text


class Status(Flow):
    name = "status"
    summary = "see your open items, experiments and stories"
    entries = {"status": ""}
    interrupts = True

    async def start(self, ctx: Context, command: str, args: str):
        coalition, me = ctx.coalition, ctx.actor.member_id
        blocks: list = []
        profile = await ctx.read.member_profile(coalition.id, me)
        if profile:
            where = f"{SECTOR_LABELS.get(profile.sector, profile.sector)}, {profile.organisation}"
            blocks.append(Section(ctx.t("status.title", coalition=coalition.name), (("At the table for", where),)))
        else:
            blocks.append(Section(ctx.t("status.title", coalition=coalition.name)))
            blocks.append(Text(ctx.t("status.not_joined")))
        experiments = await ctx.read.experiments(coalition.id, member_id=me)
        if experiments:
            lines = []
            for e in experiments:
                state = "running" if e.starts_on <= ctx.today <= e.ends_on else (
                    "not started" if ctx.today < e.starts_on else "ended")
                lines.append(f"- *{e.title}*: {state}, {e.starts_on} to {e.ends_on}, {e.checkins} check-in(s)")
            blocks.append(Text(f"*{ctx.t('status.experiments')}*\n" + "\n".join(lines)))
        else:
            blocks.append(Text(ctx.t("status.no_experiments")))
        stories = [s for s in await ctx.read.stories(coalition.id, me) if not s.withdrawn]
        if stories:
            lines = [f"- *{s.title}* ({CONSENT_LABELS.get(s.consent, s.consent)})" for s in stories]
            blocks.append(Text(f"*{ctx.t('status.stories')}*\n" + "\n".join(lines)))
        return Done(say=tuple(blocks))
