"""Dashboard: a coordinator's or leader's one-time link to the dashboard in the browser (the
movement at a glance, their coalitions' pages, stories, schedules and reports). Single use,
valid for 10 minutes; only its digest is stored. Members who lead nothing are told who may.
"""

from __future__ import annotations

from datetime import timedelta

from bot.flow import Context, Done, Flow, said
from bot.records import SignInLink
from bot.tokens import digest, new_token
from bot.types import Role

VALID = timedelta(minutes=10)
DASHBOARD = "dashboard"  # the link's purpose: it signs in and lands on the dashboard


def may_open(ctx: Context) -> bool:
    """Coordinators, and the leaders of any coalition (the dashboard shows them theirs)."""
    me = ctx.actor.member_id
    return ctx.actor.has(Role.COORDINATOR) or any(me in c.leaders for c in ctx.coalitions)


class Dashboard(Flow):
    name = "dashboard"
    entries = {"dashboard": ""}
    interrupts = True  # asks nothing

    async def start(self, ctx: Context, command: str, args: str):
        if not may_open(ctx):
            return Done(say=said(ctx.t("dashboard.refused")))
        token = new_token()
        record = SignInLink(ctx.actor.member_id, ctx.actor.name, ctx.coalition.id, digest(token),
                            ctx.now + VALID, purpose=DASHBOARD)
        link = f"{ctx.public_url}/dashboard/signin/{token}"
        minutes = int(VALID.total_seconds() // 60)
        return Done(records=(record,), say=said(ctx.t("dashboard.link", link=link, minutes=minutes)), private=True)
