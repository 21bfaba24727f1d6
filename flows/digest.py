"""Digest: what coalitions shared lately, for coordinators, leaders and (where a coalition
allows it) members. A compact message in chat, the full lists in its thread; each audience
is only shown what it has not seen before.

    digest [7d|30d|...]            your coalition
    digest <coalition> [period]    another coalition (coordinators; its own leaders)
    digest all [period]            the whole movement (coordinators)
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.digest import Audience, Digest, ExperimentItem, Scope
from bot.flow import Context, Done, Flow, said
from bot.records import DigestShown
from bot.types import Role
from bot.ui import Context as Hint, Section, Text

from flows.common import excerpt
from flows.dashboard import may_open

DEFAULT_DAYS, MAX_DAYS = 30, 366
SHOWN = 5  # items per section in the compact message; the thread has the rest
_PERIOD = re.compile(r"(\d{1,3})\s*([dw])")


def period_days(word: str) -> int | None:
    match = _PERIOD.fullmatch(word.lower())
    if not match:
        return None
    return int(match.group(1)) * (7 if match.group(2) == "w" else 1)


def trend_arrow(item: ExperimentItem) -> str:
    if len(item.trend) < 2:
        return ""
    last, before = item.trend[-1].average, item.trend[-2].average
    return " ↑" if last > before + 0.05 else " ↓" if last < before - 0.05 else " →"


class Digests(Flow):
    # What `help` says of it: `flows.digest`, `help.digest`, `usage.digest` in the library.
    name = "digest"
    entries = {"digest": ""}
    interrupts = True

    async def start(self, ctx: Context, command: str, args: str):
        # Sub-words arrive in English ("all"): the engine translates the member's own words.
        words = args.split()
        # "if-new": a scheduled digest, sent only when there is something new to show.
        only_if_new = "if-new" in words
        words = [w for w in words if w != "if-new"]
        days = DEFAULT_DAYS
        if words and period_days(words[-1]) is not None:
            days = period_days(words.pop())
        if not 1 <= days <= MAX_DAYS:
            return Done(say=said(ctx.t("digest.bad_days", max=MAX_DAYS, **_words(ctx))))
        target = words[0].lower() if words else ctx.actor.coalition_id
        if len(words) > 1:
            return Done(say=said(ctx.t("digest.try", **_words(ctx))))
        scope, refusal = self._scope(ctx, target, days)
        if refusal:
            return Done(say=said(refusal))
        principles = [(p.number, p.title) for p in ctx.principles]
        wanted = {c.id: tuple(c.wanted_sectors) for c in ctx.coalitions}
        digest = (await ctx.read.digest(scope, principles, wanted, ctx.today)).with_names(ctx.people)
        title = self._title(ctx, scope, days)
        if digest.nothing_new and only_if_new:
            return Done()
        if digest.nothing_new:
            return Done(say=said(ctx.t("digest.nothing_new", title=title)),
                        records=(DigestShown(scope.key, dict(digest.marks)),))
        return Done(
            records=(DigestShown(scope.key, dict(digest.marks)),),  # so the next one repeats nothing
            say=summary(ctx, digest, title, scope),
            detail=details(ctx, digest),
        )

    def _scope(self, ctx: Context, target: str, days: int) -> tuple[Scope | None, str | None]:
        actor = ctx.actor
        until = ctx.now + timedelta(microseconds=1)  # the period ends exclusively: include now
        since = ctx.now - timedelta(days=days)
        if target == "all":
            if not actor.has(Role.COORDINATOR):
                return None, ctx.t("digest.only_coordinators", **_words(ctx))
            ids = tuple(c.id for c in ctx.coalitions)
            return Scope(Audience.MOVEMENT, ids, since, until, new_only=True), None
        coalition = ctx.coalition_named(target)
        if coalition is None:
            known = ", ".join(c.id for c in ctx.coalitions)
            return None, ctx.t("digest.unknown_coalition", name=target, known=known)
        member = actor.member_id
        inside = member in coalition.leaders or member in coalition.members or coalition.id == actor.coalition_id
        if inside and (member in coalition.leaders or coalition.digest_for_members or actor.has(Role.COORDINATOR)):
            return Scope(Audience.COALITION, (coalition.id,), since, until, new_only=True), None
        if actor.has(Role.COORDINATOR):
            # From outside the coalition: what its members shared with the movement, never
            # what they kept for "my coalition".
            return Scope(Audience.MOVEMENT, (coalition.id,), since, until, new_only=True, focus=coalition.id), None
        return None, ctx.t("digest.not_allowed", coalition=coalition.name)

    def _title(self, ctx: Context, scope: Scope, days: int) -> str:
        where = ctx.coalition_named(scope.coalition).name if scope.coalition else ctx.movement.name
        return ctx.t("digest.title", where=where, days=days)


def summary(ctx: Context, d: Digest, title: str, scope: Scope) -> tuple:
    """The compact message: a few lines per section, within every platform's limits."""
    blocks: list = [Section(f"*{title}*", (
        (ctx.t("digest.new_stories"), _count(ctx, len(d.stories))),
        (ctx.t("digest.answers"), _count(ctx, d.participation.answers)),
        (ctx.t("digest.active_members"), _count(ctx, d.participation.active_members)),
        (ctx.t("digest.outside_in"), _share(ctx, d)),
    ))]
    if d.stories:
        lines = [f"- *{s.title}*: {excerpt(s.excerpt, 120)}" for s in d.stories[:SHOWN]]
        blocks.append(Text(f"*{ctx.t('digest.stories')}*\n" + "\n".join(lines)))
    covered = [f"#{p.number}: {_count(ctx, p.reflections + p.stories)}" for p in d.principles if not p.quiet]
    quiet = [f"#{p.number} {p.title}" for p in d.principles if p.quiet]
    if covered or quiet:
        text = f"*{ctx.t('digest.principles')}*\n" + (" · ".join(covered) or ctx.t("digest.principles_none"))
        if quiet:
            text += "\n" + ctx.t("digest.not_touched", principles="; ".join(quiet), **_words(ctx))
        blocks.append(Text(text))
    if d.experiments:
        lines = [_experiment_line(ctx, e) for e in d.experiments[:SHOWN]]
        blocks.append(Text(f"*{ctx.t('digest.experiments')}*\n" + "\n".join(lines)))
    missing = [(m.coalition_id, m.missing_sectors) for m in d.mobilisation if m.missing_sectors]
    if missing:
        lines = [f"- {_name(ctx, c)}: {', '.join(_sector(ctx, s) for s in sectors)}" for c, sectors in missing[:SHOWN]]
        blocks.append(Text(ctx.t("digest.missing") + "\n" + "\n".join(lines)))
    rest = len(d.stories) - SHOWN + max(0, len(d.experiments) - SHOWN)
    pointer = ctx.t("digest.in_thread") if rest <= 0 else ctx.t("digest.more_in_thread", count=_count(ctx, rest))
    where = "--coalition " + scope.coalition if scope.coalition else "--all"
    command = f"cocreate digest {where} --format html --language {ctx.texts.code}"  # the CLI's words: English
    blocks.append(Hint(ctx.t("digest.report", pointer=pointer, command=command)))
    if may_open(ctx):
        page = f"/coalition/{scope.coalition}" if scope.coalition else ""
        link = f"{ctx.public_url}/dashboard{page}?days={(scope.until - scope.since).days}"
        blocks.append(Hint(ctx.t("digest.dashboard", link=link, **_words(ctx))))
    return tuple(blocks)


def details(ctx: Context, d: Digest) -> tuple:
    """The thread: every item the compact message left out or cut short."""
    blocks: list = []
    for s in d.stories:
        by = s.author or ctx.t("digest.anonymous")
        principles = " ".join(f"#{n}" for n in s.principles)
        sectors = ", ".join(_sector(ctx, x) for x in s.sectors)
        blocks.append(Text(f"*{s.title}* ({_name(ctx, s.coalition_id)}, {by})\n{s.excerpt}\n_{principles} · {sectors}_"))
    for e in d.experiments:
        quotes = ([ctx.t("digest.intended", quote=q) for q in e.intended]
                  + [ctx.t("digest.unintended", quote=q) for q in e.unintended])
        decisions = ", ".join(f"{_decision(ctx, k)} {_count(ctx, n)}" for k, n in e.decisions.items())
        body = _experiment_line(ctx, e) + ("\n  " + ctx.t("digest.decisions", decisions=decisions) if decisions else "")
        blocks.append(Text(body + "".join(f"\n  {q}" for q in quotes)))
    for st in d.strengths:
        blocks.append(Text(ctx.t("digest.strength", success=st.success, why=st.why, enlarge=st.enlarge)))
    for m in d.mobilisation:
        sectors = ", ".join(f"{_sector(ctx, k)} {_count(ctx, n)}" for k, n in m.members_by_sector.items() if n)
        blocks.append(Hint(ctx.t("digest.mobilisation", coalition=_name(ctx, m.coalition_id),
                                 sectors=sectors or ctx.t("digest.nobody"), new=_count(ctx, m.new_members),
                                 treasures=_count(ctx, m.resources_mapped))))
    return tuple(blocks)


def _experiment_line(ctx: Context, e: ExperimentItem) -> str:
    impact = ""
    if e.average_impact:
        impact = ctx.t("digest.impact", average=ctx.texts.number(e.average_impact, 1), arrow=trend_arrow(e))
    flag = ctx.t("digest.needs_decision") if e.needs_decision else ""
    status = ctx.texts.get(f"digest.status.{e.status}") or e.status
    return ctx.t("digest.experiment", title=e.title, status=status, checkins=_count(ctx, e.checkins),
                 impact=impact, flag=flag)


def _share(ctx: Context, d: Digest) -> str:
    share = d.outside_in.share
    if share is None:
        return ctx.t("digest.outside_in_none")
    return ctx.t("digest.outside_in_share", share=ctx.texts.percent(share))


def _count(ctx: Context, value: int) -> str:
    return ctx.texts.number(value, 0)


def _sector(ctx: Context, code: str) -> str:
    return ctx.texts.get(f"labels.sector.{code}") or code


def _decision(ctx: Context, code: str) -> str:
    return ctx.texts.get(f"labels.decision.{code}") or code


def _words(ctx: Context) -> dict[str, str]:
    """The command words a text may tell the member to type, in the member's language (the
    first of a catalog's alternatives, "overblik|digest" -> "overblik")."""
    keys = {"digest": "commands.digest", "all": "words.all", "reflect": "commands.reflect",
            "dashboard": "commands.dashboard"}
    return {name: ctx.t(key).split("|")[0].strip() for name, key in keys.items()}


def _name(ctx: Context, coalition_id: str) -> str:
    coalition = ctx.coalition_named(coalition_id)
    return coalition.name if coalition else coalition_id
