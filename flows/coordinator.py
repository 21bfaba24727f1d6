"""Coordinators name further coordinators in chat (app.yaml's stay as they are there).

    coordinator list | coordinator add <member id> | coordinator remove <member id>
"""

from __future__ import annotations

from bot.flow import Context, Done, Flow, said
from bot.records import CoordinatorGrant, CoordinatorRevoke
from bot.types import Role


class Coordinators(Flow):
    name = "coordinator"
    entries = {"coordinator": ""}
    role = Role.COORDINATOR
    interrupts = True

    async def start(self, ctx: Context, command: str, args: str):
        words = args.split()
        verb = words[0].lower() if words else "list"
        granted = await ctx.read.granted_coordinators()
        if verb == "list" and len(words) <= 1:
            named = sorted(ctx.name_of(m) for m in granted)
            names = ctx.texts.listing(named) if named else ctx.t("coordinator.none_yet")
            return Done(say=said(ctx.t("coordinator.list", names=names)))
        if verb not in ("add", "remove") or len(words) != 2:
            return Done(say=said(ctx.t("coordinator.usage")))
        member = words[1]
        if member not in ctx.people and ":" not in member:
            return Done(say=said(ctx.t("coordinator.unknown", member=member)))
        name = ctx.name_of(member)
        if verb == "add":
            return Done(records=(CoordinatorGrant(member, ctx.actor.member_id),),
                        say=said(ctx.t("coordinator.added", name=name)))
        if member not in granted:
            return Done(say=said(ctx.t("coordinator.not_granted", name=name)))
        if not (set(ctx.movement.coordinators) | granted) - {member}:
            return Done(say=said(ctx.t("coordinator.last")))
        return Done(records=(CoordinatorRevoke(member),), say=said(ctx.t("coordinator.removed", name=name)))
