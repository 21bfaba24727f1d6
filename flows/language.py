"""Language: a member chooses the language the bot writes to them in (or goes back to the
default: their platform's, their coalition's, the movement's)."""

from __future__ import annotations

from bot.flow import Context, Done, Flow, said
from bot.i18n import SUPPORTED as LANGUAGES, language_code
from bot.records import LanguageChoice


class Language(Flow):
    name = "language"
    entries = {"language": "choose"}
    interrupts = True

    async def start(self, ctx: Context, command: str, args: str):
        wanted = args.strip().lower()
        choices = ", ".join(f"`{code}` ({ctx.t(f'language.name.{code}')})" for code in LANGUAGES)
        if not wanted:
            here = ctx.t(f"language.name.{ctx.texts.code}")
            return Done(say=said(ctx.t("language.current", language=here, choices=choices)))
        if wanted == "auto":
            texts = ctx.texts_in(None)
            text = texts.t("language.auto", language=texts.t(f"language.name.{texts.code}"))
            return Done(records=(LanguageChoice(ctx.actor.member_id, None),), say=said(text))
        code = language_code(wanted)
        if code is None:
            return Done(say=said(ctx.t("language.unknown", code=args.strip(), choices=choices)))
        return Done(records=(LanguageChoice(ctx.actor.member_id, code),), say=said(ctx.texts_in(code).t("language.set")))
