"""Web: a member's personal one-time link to the web chat, to carry on in a browser (a phone,
another computer). Single use, valid for 15 minutes; only its digest is stored."""

from __future__ import annotations

from datetime import timedelta

from bot.flow import Context, Done, Flow, said
from bot.records import SignInLink
from bot.tokens import digest, new_token

VALID = timedelta(minutes=15)


class WebLink(Flow):
    name = "web"
    entries = {"web": ""}
    interrupts = True  # asks nothing

    async def start(self, ctx: Context, command: str, args: str):
        token = new_token()
        record = SignInLink(ctx.actor.member_id, ctx.actor.name, ctx.coalition.id, digest(token), ctx.now + VALID)
        link = f"{ctx.public_url}/signin/{token}"
        minutes = int(VALID.total_seconds() // 60)
        return Done(records=(record,), say=said(ctx.t("signin.link", link=link, minutes=minutes)), private=True)
