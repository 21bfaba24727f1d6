"""Membership managed in chat: who is in a coalition, and changing it without editing files.

    members                          who is in the coalition, by sector, and who was not reached yet
    add <email> [name] | add <member>    a new or known person joins the coalition (its leaders, coordinators)
    remove <member>                  they leave it; what they shared stays
    leader add|remove <member>       (coordinators)
    coalition create <id> <name> | coalition challenge <id> <text>    (coordinators)

A member is named by id, email or display name. Changes are records (`MembershipChange`) the
engine stores and puts in force over app.yaml at once; app.yaml itself is never written.
Emails are shown here: only a coalition's leaders and coordinators get this far.
"""

from __future__ import annotations

import re

from bot.flow import Context, Done, Flow, said
from bot.people import LEADER, MEMBER, NONE, PLATFORMS, CoalitionChange, Person, Seat, name_from, new_member_id, normal_email
from bot.records import MembershipChange
from bot.types import Role

_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")


class Members(Flow):
    """A coalition's leaders see and change who is in it."""

    name = "members"
    entries = {"members": "", "add": "", "remove": ""}
    role = Role.LEADER
    interrupts = True

    async def start(self, ctx: Context, command: str, args: str):
        if command == "members":
            return await _listing(ctx)
        if command == "add":
            return await _add(ctx, args)
        return await _remove(ctx, args)


class Leadership(Flow):
    """Coordinators name leaders and create coalitions."""

    name = "leadership"
    entries = {"leader": "", "coalition": ""}
    role = Role.COORDINATOR
    interrupts = True

    async def start(self, ctx: Context, command: str, args: str):
        if command == "coalition":
            return _coalition(ctx, args)
        return await _leader(ctx, args)


async def _listing(ctx: Context) -> Done:
    c = ctx.coalition
    seated = await ctx.read.seated(c.id)  # member -> sector, for those who joined (or were imported with one)
    everyone = list(dict.fromkeys([*c.leaders, *c.members, *seated]))
    names = await _names(ctx)
    people = ctx.directory

    def shown(member: str) -> str:
        email = people.email_of(member) if people else None
        return f"{names.get(member, member)} ({email})" if email else names.get(member, member)

    def listing(members) -> str:
        return ctx.texts.listing(sorted(shown(m) for m in members)) or ctx.t("members.nobody")

    lines = [ctx.t("members.title", coalition=c.name, count=len(everyone)),
             ctx.t("members.leaders", names=listing(c.leaders))]
    by_sector: dict[str, list[str]] = {}
    for member in everyone:
        by_sector.setdefault(seated.get(member) or "", []).append(member)
    for sector, members in sorted((s, m) for s, m in by_sector.items() if s):
        lines.append(ctx.t("members.sector", sector=ctx.t(f"labels.sector.{sector}"), names=listing(members)))
    if by_sector.get(""):
        lines.append(ctx.t("members.no_sector", names=listing(by_sector[""])))
    unreached = [m for m in everyone if people is not None and not people.platforms_of(m)]
    if unreached:
        lines.append(ctx.t("members.unreached", names=listing(unreached)))
    return Done(say=said("\n".join(lines)))


async def _add(ctx: Context, args: str) -> Done:
    first, _, name = args.strip().partition(" ")
    if not first:
        return Done(say=said(ctx.t("members.usage_add")))
    c, me = ctx.coalition, ctx.actor.member_id
    email = normal_email(first)
    found = await _find(ctx, first if email else args.strip())  # an email and a name, or a member
    if isinstance(found, Done):
        if email is None:
            return found
        # Someone new: an id from their address, their name as given (else from the address).
        name = name.strip() or name_from(email)
        member = new_member_id(email, ctx.people)
        seat = Seat(c.id, member, MEMBER)
        return Done(records=(MembershipChange(Person(member, name, email), me), MembershipChange(seat, me)),
                    say=said(ctx.t("members.added_new", name=name, email=email, coalition=c.name)))
    shown = (await _names(ctx)).get(found, found)
    if found in c.members or found in c.leaders:
        return Done(say=said(ctx.t("members.already", name=shown, coalition=c.name)))
    return Done(records=(MembershipChange(Seat(c.id, found, MEMBER), me),),
                say=said(ctx.t("members.added", name=shown, coalition=c.name)))


async def _remove(ctx: Context, args: str) -> Done:
    c = ctx.coalition
    if not args.strip():
        return Done(say=said(ctx.t("members.usage_remove", coalition=c.name)))
    found = await _find(ctx, args.strip())
    if isinstance(found, Done):
        return found
    shown = (await _names(ctx)).get(found, found)
    seated = await ctx.read.seated(c.id)
    if found not in (*c.leaders, *c.members, *seated):
        return Done(say=said(ctx.t("members.not_in", name=shown, coalition=c.name)))
    if list(c.leaders) == [found]:
        return Done(say=said(ctx.t("members.last_leader", name=shown, coalition=c.name)))
    return Done(records=(MembershipChange(Seat(c.id, found, NONE), ctx.actor.member_id),),
                say=said(ctx.t("members.removed", name=shown, coalition=c.name)))


async def _leader(ctx: Context, args: str) -> Done:
    c = ctx.coalition
    verb, _, who = args.strip().partition(" ")
    if verb.lower() not in ("add", "remove") or not who.strip():
        return Done(say=said(ctx.t("members.leader_usage", coalition=c.name)))
    found = await _find(ctx, who.strip())
    if isinstance(found, Done):
        return found
    shown, me = (await _names(ctx)).get(found, found), ctx.actor.member_id
    if verb.lower() == "add":
        if found in c.leaders:
            return Done(say=said(ctx.t("members.already_leads", name=shown, coalition=c.name)))
        return Done(records=(MembershipChange(Seat(c.id, found, LEADER), me),),
                    say=said(ctx.t("members.leader_added", name=shown, coalition=c.name)))
    if found not in c.leaders:
        return Done(say=said(ctx.t("members.not_leader", name=shown, coalition=c.name)))
    if list(c.leaders) == [found]:
        return Done(say=said(ctx.t("members.last_leader", name=shown, coalition=c.name)))
    return Done(records=(MembershipChange(Seat(c.id, found, MEMBER), me),),
                say=said(ctx.t("members.leader_removed", name=shown, coalition=c.name)))


def _coalition(ctx: Context, args: str) -> Done:
    verb, _, rest = args.strip().partition(" ")
    coalition_id, _, text = rest.strip().partition(" ")
    text, me = text.strip(), ctx.actor.member_id
    if verb.lower() not in ("create", "challenge") or not coalition_id or not text:
        return Done(say=said(ctx.t("members.coalition_usage")))
    existing = ctx.coalition_named(coalition_id)
    if verb.lower() == "create":
        if not _SLUG.fullmatch(coalition_id) or len(coalition_id) > 64:
            return Done(say=said(ctx.t("members.bad_id", id=coalition_id)))
        if existing is not None:
            return Done(say=said(ctx.t("members.exists", id=coalition_id, name=existing.name)))
        return Done(records=(MembershipChange(CoalitionChange(coalition_id, name=text, created=True), me),
                             MembershipChange(Seat(coalition_id, me, LEADER), me)),
                    say=said(ctx.t("members.created", id=coalition_id, name=text)))
    if existing is None:
        ids = ", ".join(c.id for c in ctx.coalitions)
        return Done(say=said(ctx.t("members.no_coalition", id=coalition_id, ids=ids)))
    return Done(records=(MembershipChange(CoalitionChange(coalition_id, challenge=text), me),),
                say=said(ctx.t("members.challenged", name=existing.name, challenge=text)))


# -- naming people -------------------------------------------------------------------------------


async def _names(ctx: Context) -> dict[str, str]:
    """Member id -> name: the coalition's own (who joined in chat), then everyone listed."""
    return {**await ctx.read.names(ctx.coalition.id), **ctx.people}


async def _find(ctx: Context, who: str) -> str | Done:
    """The member `who` names (id, email, or display name with or without '@'), or the
    answer that says why not."""
    names = await _names(ctx)
    if who in names or who in (*ctx.coalition.leaders, *ctx.coalition.members):
        return who
    if who.partition(":")[0] in PLATFORMS and who.partition(":")[2]:
        return who  # someone app.yaml does not list, as a mention names them ("slack:U123")
    by_email = ctx.directory.by_email(who) if ctx.directory and normal_email(who) else None
    if by_email:
        return by_email
    wanted = who.lstrip("@").casefold()
    matches = sorted({m for m, name in names.items() if name.casefold() == wanted})
    if len(matches) == 1:
        return matches[0]
    key = "members.ambiguous" if matches else "members.unknown"
    return Done(say=said(ctx.t(key, who=who)))
