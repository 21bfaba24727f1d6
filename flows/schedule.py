"""Schedules: leaders see the coalition's recurring prompts, and pause, resume or move them.

    schedule                       list, with the next time each goes out
    schedule pause <name>          stop it for this coalition (nothing is sent later for the pause)
    schedule resume <name>
    schedule time <name> HH:MM     each member's local time

app.yaml defines the schedules; a change made here belongs to the coalition and is kept in
the database (a restart keeps it).
"""

from __future__ import annotations

import re
from datetime import date, time
from zoneinfo import ZoneInfo

from bot.flow import Context, Done, Flow, said
from bot.records import ScheduleChanged
from bot.timing import DEFAULT_ANCHOR, next_time
from bot.types import Role
from bot.ui import Section, Text

_CLOCK = re.compile(r"([01]?\d|2[0-3])[:.]([0-5]\d)")


class Schedules(Flow):
    name = "schedule"
    entries = {"schedule": ""}
    role = Role.LEADER
    interrupts = True

    async def start(self, ctx: Context, command: str, args: str):
        words = args.split()
        mine = [s for s in ctx.schedules if not s.coalitions or ctx.coalition.id in s.coalitions]
        if not words or words[0].lower() == "list":
            return await self._list(ctx, mine)
        verb = words[0].lower()
        if verb not in ("pause", "resume", "time") or len(words) != (3 if verb == "time" else 2):
            return Done(say=said(ctx.t("schedule.usage")))
        schedule = next((s for s in mine if s.id == words[1].lower()), None)
        if schedule is None:
            return Done(say=said(ctx.t("schedule.unknown", name=words[1])))
        coalition, me = ctx.coalition, ctx.actor.member_id
        overrides = await ctx.read.overrides()
        current = overrides.get((schedule.id, coalition.id))
        at = current.time if current and current.time else schedule.time
        if verb == "pause":
            return Done(records=(ScheduleChanged(schedule.id, coalition.id, me, paused=True),),
                        say=said(ctx.t("schedule.paused", name=schedule.id, coalition=coalition.name)))
        if verb == "resume":
            return Done(records=(ScheduleChanged(schedule.id, coalition.id, me, paused=False),),
                        say=said(ctx.t("schedule.resumed", name=schedule.id, coalition=coalition.name,
                                       next=self._next(ctx, schedule, at))))
        match = _CLOCK.fullmatch(words[2])
        if not match:
            return Done(say=said(ctx.t("schedule.bad_time", time=words[2])))
        at = f"{int(match[1]):02d}:{match[2]}"
        return Done(records=(ScheduleChanged(schedule.id, coalition.id, me, time=at),),
                    say=said(ctx.t("schedule.moved", name=schedule.id, time=_clock(ctx, at), coalition=coalition.name,
                                   next=self._next(ctx, schedule, at))))

    async def _list(self, ctx: Context, mine) -> Done:
        if not mine:
            return Done(say=said(ctx.t("schedule.none")))
        overrides = await ctx.read.overrides()
        lines = []
        for s in mine:
            o = overrides.get((s.id, ctx.coalition.id))
            at = o.time if o and o.time else s.time
            days = ctx.texts.listing(ctx.texts.weekday(d) for d in sorted(s.weekdays))
            n, unit = s.period  # unit: "week" or "month"
            every = ctx.t(f"schedule.every_{unit}") if n == 1 else ctx.t(f"schedule.every_{unit}s", n=n)
            when = ctx.t("schedule.when", days=days, time=_clock(ctx, at), every=every)
            state = (ctx.t("schedule.state_paused") if o and o.paused
                     else ctx.t("schedule.state_next", next=self._next(ctx, s, at)))
            lines.append(ctx.t("schedule.line", id=s.id, kind=ctx.t(f"schedule.kind.{s.kind}"), when=when, state=state))
        return Done(say=(Section(ctx.t("schedule.list_title", coalition=ctx.coalition.name)),
                         Text("\n".join(lines)), Text(ctx.t("schedule.hint"))))

    def _next(self, ctx: Context, schedule, at: str) -> str:
        """The next time it goes out, in the coalition's time zone."""
        zone = ZoneInfo(ctx.coalition.timezone or ctx.movement.timezone)
        anchor = date.fromisoformat(schedule.starts_on) if schedule.starts_on else DEFAULT_ANCHOR
        found = next_time(schedule.weekdays, time.fromisoformat(at), schedule.period, zone, ctx.now, anchor)
        if found is None:
            return ctx.t("schedule.never")
        return ctx.t("schedule.next", when=ctx.texts.when(found, zone), zone=zone.key)


def _clock(ctx: Context, at: str) -> str:
    """'09:30' as the member's language writes a time of day: '9:30 AM', '09.30'."""
    return ctx.texts.time(time.fromisoformat(at))
