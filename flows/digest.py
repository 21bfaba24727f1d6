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
from bot.types import DECISION_LABELS, SECTOR_LABELS, Role
from bot.ui import Context as Hint, Section, Text

from flows.common import excerpt

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
    name = "digest"
    summary = "a digest of what coalitions shared lately"
    entries = {"digest": ""}
    usages = {"digest": "digest [all|coalition] [30d]"}
    interrupts = True

    async def start(self, ctx: Context, command: str, args: str):
        words = args.split()
        # "if-new": a scheduled digest, sent only when there is something new to show.
        only_if_new = "if-new" in words
        words = [w for w in words if w != "if-new"]
        days = DEFAULT_DAYS
        if words and period_days(words[-1]) is not None:
            days = period_days(words.pop())
        if not 1 <= days <= MAX_DAYS:
            return Done(say=said(f"Please ask for 1 to {MAX_DAYS} days, e.g. `digest 30d`."))
        target = words[0].lower() if words else ctx.actor.coalition_id
        if len(words) > 1:
            return Done(say=said("Try `digest`, `digest 7d`, `digest <coalition> 30d` or `digest all 30d`."))
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
            return Done(say=said(f"*{title}*: nothing new since the last digest. Quiet weeks happen: "
                                 "who has a story or a reflection to share?"),
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
                return None, "Only movement coordinators can pull the movement-wide digest. Try `digest` for your coalition."
            ids = tuple(c.id for c in ctx.coalitions)
            return Scope(Audience.MOVEMENT, ids, since, until, new_only=True), None
        coalition = ctx.coalition_named(target)
        if coalition is None:
            known = ", ".join(c.id for c in ctx.coalitions)
            return None, f"I don't know the coalition '{target}'. Known coalitions: {known}."
        member = actor.member_id
        allowed = (
            actor.has(Role.COORDINATOR)
            or member in coalition.leaders
            or (coalition.digest_for_members and (member in coalition.members or coalition.id == actor.coalition_id))
        )
        if not allowed:
            return None, (f"The digest of {coalition.name} is for its leaders and the movement's coordinators. "
                          "Ask a leader to share it, or to open it to members in app.yaml.")
        return Scope(Audience.COALITION, (coalition.id,), since, until, new_only=True), None

    def _title(self, ctx: Context, scope: Scope, days: int) -> str:
        where = ctx.movement.name if scope.audience is Audience.MOVEMENT else ctx.coalition_named(scope.coalitions[0]).name
        return f"Digest for {where}, last {days} days"


def summary(ctx: Context, d: Digest, title: str, scope: Scope) -> tuple:
    """The compact message: a few lines per section, within every platform's limits."""
    blocks: list = [Section(f"*{title}*", (
        ("New stories", str(len(d.stories))),
        ("Answers shared", str(d.participation.answers)),
        ("Active members", str(d.participation.active_members)),
        ("Outside-in voices", _share(d)),
    ))]
    if d.stories:
        lines = [f"- *{s.title}*: {excerpt(s.excerpt, 120)}" for s in d.stories[:SHOWN]]
        blocks.append(Text("*New ambassador stories*\n" + "\n".join(lines)))
    covered = [f"#{p.number}: {p.reflections + p.stories}" for p in d.principles if not p.quiet]
    quiet = [f"#{p.number} {p.title}" for p in d.principles if p.quiet]
    if covered or quiet:
        text = "*Principles*\n" + (" · ".join(covered) or "no reflections or stories yet")
        if quiet:
            text += f"\nNot yet touched: {'; '.join(quiet)}. Who will reflect on one? (`reflect`)"
        blocks.append(Text(text))
    if d.experiments:
        blocks.append(Text("*Experiments*\n" + "\n".join(_experiment_line(e) for e in d.experiments[:SHOWN])))
    missing = [(m.coalition_id, m.missing_sectors) for m in d.mobilisation if m.missing_sectors]
    if missing:
        lines = [f"- {_name(ctx, c)}: {', '.join(SECTOR_LABELS.get(s, s) for s in sectors)}" for c, sectors in missing[:SHOWN]]
        blocks.append(Text("*Still missing at the table* (who could you invite?)\n" + "\n".join(lines)))
    rest = len(d.stories) - SHOWN + max(0, len(d.experiments) - SHOWN)
    pointer = "The full lists are in the thread." if rest <= 0 else f"{rest} more items in the thread."
    report = f"cocreate digest {'--all' if scope.audience is Audience.MOVEMENT else '--coalition ' + scope.coalitions[0]} --format html"
    blocks.append(Hint(f"{pointer} A report with charts: `{report}`"))
    return tuple(blocks)


def details(ctx: Context, d: Digest) -> tuple:
    """The thread: every item the compact message left out or cut short."""
    blocks: list = []
    for s in d.stories:
        by = s.author or "shared anonymously"
        principles = " ".join(f"#{n}" for n in s.principles)
        sectors = ", ".join(SECTOR_LABELS.get(x, x) for x in s.sectors)
        blocks.append(Text(f"*{s.title}* ({_name(ctx, s.coalition_id)}, {by})\n{s.excerpt}\n_{principles} · {sectors}_"))
    for e in d.experiments:
        quotes = [f"intended: “{q}”" for q in e.intended] + [f"unintended: “{q}”" for q in e.unintended]
        decisions = ", ".join(f"{DECISION_LABELS.get(k, k)} {n}" for k, n in e.decisions.items())
        body = _experiment_line(e) + (f"\n  decisions: {decisions}" if decisions else "")
        blocks.append(Text(body + "".join(f"\n  {q}" for q in quotes)))
    for st in d.strengths:
        blocks.append(Text(f"*What works*: {st.success}\n_Why_: {st.why}\n_More of it_: {st.enlarge}"))
    for m in d.mobilisation:
        sectors = ", ".join(f"{SECTOR_LABELS.get(k, k)} {n}" for k, n in m.members_by_sector.items() if n)
        blocks.append(Hint(f"{_name(ctx, m.coalition_id)}: {sectors or 'nobody at the table yet'}; "
                           f"{m.new_members} new, {m.resources_mapped} hidden treasures mapped"))
    return tuple(blocks)


def _experiment_line(e: ExperimentItem) -> str:
    impact = f", citizens' perceived impact {e.average_impact:.1f}/5{trend_arrow(e)}" if e.average_impact else ""
    flag = " ⚠ timebox ended without a decision" if e.needs_decision else ""
    return f"- *{e.title}*: {e.status}, {e.checkins} check-in(s){impact}{flag}"


def _share(d: Digest) -> str:
    share = d.outside_in.share
    return "none yet" if share is None else f"{share:.0%} citizens and users"


def _name(ctx: Context, coalition_id: str) -> str:
    coalition = ctx.coalition_named(coalition_id)
    return coalition.name if coalition else coalition_id
