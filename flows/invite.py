"""Invite: a leader hands out a link anyone can use to join the coalition on the web (no
Slack or Teams seat needed), with a QR code to print on a poster.

    invite | invite 30d | invite list | invite revoke <id>

The link's token is shown once, here; only its digest is stored.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.flow import Context, Done, Flow, said
from bot.records import Invite, InviteRevoked
from bot.tokens import digest, new_token
from bot.types import Role

DEFAULT_DAYS, MAX_DAYS = 14, 90
_DAYS = re.compile(r"^(\d{1,3})\s*d$")


class Invites(Flow):
    name = "invite"
    entries = {"invite": ""}
    role = Role.LEADER
    interrupts = True  # asks nothing

    async def start(self, ctx: Context, command: str, args: str):
        words = args.split()
        verb = words[0].lower() if words else ""
        if verb == "list" and len(words) == 1:
            return Done(say=said(await self._listing(ctx)))
        if verb == "revoke":
            return await self._revoke(ctx, words[1:])
        days = DEFAULT_DAYS
        if words:
            found = _DAYS.match(args.strip().lower())
            if not found or not 1 <= int(found.group(1)) <= MAX_DAYS:
                return Done(say=said(ctx.t("invite.usage", max=MAX_DAYS)))
            days = int(found.group(1))
        token = new_token()
        expires = ctx.now + timedelta(days=days)
        link = f"{ctx.public_url}/join/{token}"
        record = Invite(ctx.coalition.id, ctx.actor.member_id, digest(token), expires)
        text = ctx.t("invite.created", coalition=ctx.coalition.name, link=link, qr=f"{link}/qr.svg",
                     until=ctx.texts.date(expires.astimezone(ctx.movement.zone).date()))
        return Done(records=(record,), say=said(text))

    async def _listing(self, ctx: Context) -> str:
        found = await ctx.read.invites(ctx.coalition.id)
        if not found:
            return ctx.t("invite.none", coalition=ctx.coalition.name)
        lines = [ctx.t("invite.list_title", coalition=ctx.coalition.name)]
        for invite in found[:20]:
            state = invite.state(ctx.now)
            lines.append(ctx.t("invite.line", id=invite.id, state=ctx.t(f"invite.state.{state}"),
                               until=ctx.texts.date(invite.expires_at.astimezone(ctx.movement.zone).date()),
                               joins=invite.joins, by=ctx.name_of(invite.created_by)))
        return "\n".join(lines)

    async def _revoke(self, ctx: Context, rest: list[str]):
        number = rest[0].lstrip("#") if len(rest) == 1 else ""
        if not number.isdigit():
            return Done(say=said(ctx.t("invite.usage", max=MAX_DAYS)))
        invite = next((i for i in await ctx.read.invites(ctx.coalition.id) if i.id == int(number)), None)
        if invite is None:
            return Done(say=said(ctx.t("invite.unknown", id=number, coalition=ctx.coalition.name)))
        if invite.revoked_at is not None:
            return Done(say=said(ctx.t("invite.already_revoked", id=invite.id)))
        return Done(records=(InviteRevoked(ctx.coalition.id, invite.id, ctx.actor.member_id),),
                    say=said(ctx.t("invite.revoked", id=invite.id, joins=invite.joins)))
