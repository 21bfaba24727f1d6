"""Coordinators name further coordinators in chat (app.yaml's stay as they are there).

    coordinator list | coordinator add <member id> | coordinator remove <member id>
"""

from __future__ import annotations

from bot.flow import Context, Done, Flow, said
from bot.records import CoordinatorGrant, CoordinatorRevoke
from bot.types import Role


class Coordinators(Flow):
    name = "coordinator"
    summary = "name or remove movement coordinators"
    entries = {"coordinator": ""}
    usages = {"coordinator": "coordinator list|add|remove [member]"}
    role = Role.COORDINATOR
    interrupts = True

    async def start(self, ctx: Context, command: str, args: str):
        words = args.split()
        verb = words[0].lower() if words else "list"
        granted = await ctx.read.granted_coordinators()
        if verb == "list" and len(words) <= 1:
            named = sorted(ctx.name_of(m) for m in granted)
            text = "Coordinators named in chat: " + (", ".join(named) if named else "none yet")
            return Done(say=said(text + ". Those in app.yaml are coordinators too."))
        if verb not in ("add", "remove") or len(words) != 2:
            return Done(say=said("Try `coordinator list`, `coordinator add <member id>` or `coordinator remove <member id>`."))
        member = words[1]
        if member not in ctx.people and ":" not in member:
            return Done(say=said(f"I don't know the member '{member}'. Use the id from app.yaml "
                                 "(or platform:user for someone who only joined in chat)."))
        name = ctx.name_of(member)
        if verb == "add":
            return Done(records=(CoordinatorGrant(member, ctx.actor.member_id),),
                        say=said(f"{name} is now a movement coordinator and can pull movement-wide digests."))
        if member not in granted:
            return Done(say=said(f"{name} was not named in chat; coordinators in app.yaml are changed there."))
        return Done(records=(CoordinatorRevoke(member),), say=said(f"{name} is no longer a coordinator named in chat."))
