"""Status: where a member stands (profile, experiments and their check-ins, stories).

It asks nothing, so it can be shown in the middle of another flow.
"""

from __future__ import annotations

from bot.flow import Context, Done, Flow
from bot.ui import Section, Text

from flows.common import label


class Status(Flow):
    name = "status"
    entries = {"status": ""}
    interrupts = True

    async def start(self, ctx: Context, command: str, args: str):
        coalition, me = ctx.coalition, ctx.actor.member_id
        blocks: list = []
        profile = await ctx.read.member_profile(coalition.id, me)
        if profile:
            where = ctx.t("status.where", sector=label(ctx, "sector", profile.sector),
                          organisation=profile.organisation)
            blocks.append(Section(ctx.t("status.title", coalition=coalition.name),
                                  ((ctx.t("status.at_table"), where),)))
        else:
            blocks.append(Section(ctx.t("status.title", coalition=coalition.name)))
            blocks.append(Text(ctx.t("status.not_joined")))
        experiments = await ctx.read.experiments(coalition.id, member_id=me)
        if experiments:
            lines = []
            for e in experiments:
                state = "running" if e.starts_on <= ctx.today <= e.ends_on else (
                    "not_started" if ctx.today < e.starts_on else "ended")
                lines.append(ctx.t("status.experiment", title=e.title, state=ctx.t(f"status.{state}"),
                                   starts=ctx.texts.date(e.starts_on), ends=ctx.texts.date(e.ends_on),
                                   checkins=e.checkins))
            blocks.append(Text(f"*{ctx.t('status.experiments')}*\n" + "\n".join(lines)))
        else:
            blocks.append(Text(ctx.t("status.no_experiments")))
        stories = [s for s in await ctx.read.stories(coalition.id, me) if not s.withdrawn]
        if stories:
            lines = [ctx.t("status.story", title=s.title, consent=label(ctx, "consent", s.consent)) for s in stories]
            blocks.append(Text(f"*{ctx.t('status.stories')}*\n" + "\n".join(lines)))
        return Done(say=tuple(blocks))
