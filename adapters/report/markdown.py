"""A digest as Markdown (CommonMark with GitHub tables): a readable report to paste or share.

User text (titles, excerpts, quotes, names) is put on one line and every character that
could start Markdown or HTML is backslash-escaped, so `**x** [link](http://evil)` shows
literally: no bold, no link with a disguised target, no raw HTML, no heading or list.
"""

from __future__ import annotations

import re
from typing import Mapping

from adapters.report import (
    NEEDS_DECISION,
    NOTHING_NEW,
    SECTIONS,
    audience_line,
    byline,
    coalition_name,
    decision_label,
    decisions_text,
    impact_text,
    many_coalitions,
    members_text,
    members_total,
    missing_invitation,
    one_decimal,
    outside_in_text,
    period,
    principle_ref,
    prompts_text,
    quiet_invitation,
    sector_label,
    status_label,
    title,
    trend_text,
    day,
)
from bot.digest import Digest

# Backslash-escapable anywhere in a line: emphasis, code, links, raw HTML, entities, tables,
# strikethrough and ATX heading closers.
_INLINE = re.compile(r"([\\`*_\[\]<>|~#&])")
# Only special at the start of a line (our user text may follow "- " or "> "): list items,
# block quotes, setext underlines, ordered lists.
_LEADING_MARK = re.compile(r"^([-+=>])")
_LEADING_NUMBER = re.compile(r"^(\d{1,9})([.)])")


def escape(text: str) -> str:
    """User text as literal Markdown on one line (whitespace runs, newlines included, become one space)."""
    text = _INLINE.sub(r"\\\1", " ".join(text.split()))
    text = _LEADING_MARK.sub(r"\\\1", text)
    return _LEADING_NUMBER.sub(r"\1\\\2", text)


def render(digest: Digest, coalition_names: Mapping[str, str], movement_name: str) -> str:
    names = coalition_names
    lines = [
        f"# {escape(title(digest, names, movement_name))}",
        "",
        f"{escape(audience_line(digest, names, movement_name))}  ",
        f"Period: {period(digest.scope.since, digest.scope.until)}",
        "",
    ]
    if digest.nothing_new:
        lines += [NOTHING_NEW, ""]
        return "\n".join(lines)
    for key, heading in SECTIONS:
        lines += [f"## {heading}", ""]
        lines += _SECTIONS[key](digest, names)
        lines.append("")
    return "\n".join(lines)


def _stories(digest: Digest, names: Mapping[str, str]) -> list[str]:
    if not digest.stories:
        what = "new stories" if digest.scope.new_only else "stories shared"
        return [f"No {what} in this period yet: which experience is worth telling?"]
    out: list[str] = []
    for story in digest.stories:
        out += [f"### {escape(story.title)}", ""]
        if story.excerpt.strip():
            out += [f"> {escape(story.excerpt)}", ""]
        principles = ", ".join(principle_ref(n) for n in story.principles)
        details = [
            f"- Principles: {principles or 'none named'}",
            f"- Sectors: {', '.join(escape(sector_label(s)) for s in story.sectors) or 'none named'}",
            f"- {escape(byline(story.author))}, {day(story.created_at.date())}",
        ]
        if many_coalitions(digest):
            details.insert(0, f"- Coalition: {escape(coalition_name(names, story.coalition_id))}")
        out += details + [""]
    return out[:-1]


def _principles(digest: Digest, names: Mapping[str, str]) -> list[str]:
    if not digest.principles:
        return ["No principles to show."]
    out = ["| Principle | Reflections | Stories |", "| --- | ---: | ---: |"]
    out += [f"| {principle_ref(p.number)} {escape(p.title)} | {p.reflections} | {p.stories} |"
            for p in digest.principles]
    quiet = [p for p in digest.principles if p.quiet]
    if quiet:
        out.append("")
        out += [f"- {escape(quiet_invitation(p))}" for p in quiet]
    return out


def _experiments(digest: Digest, names: Mapping[str, str]) -> list[str]:
    if not digest.experiments:
        return ["No experiments yet: think big, start small. What could you try for a few weeks?"]
    out: list[str] = []
    for e in digest.experiments:
        out += [f"### {escape(e.title)}", ""]
        if e.needs_decision:
            out += [f"**{escape(NEEDS_DECISION)}**", ""]
        if many_coalitions(digest):
            out.append(f"- Coalition: {escape(coalition_name(names, e.coalition_id))}")
        out += [
            f"- Status: {escape(status_label(e.status))}, {day(e.starts_on)} – {day(e.ends_on)}",
            f"- Check-ins: {e.checkins}",
            f"- Average perceived impact: {impact_text(e)}",
            f"- Trend: {trend_text(e)}",
        ]
        if e.trend:
            weeks = ", ".join(f"{day(p.week)}: {one_decimal(p.average)} ({p.checkins})" for p in e.trend)
            out.append(f"- Weekly averages (check-ins): {weeks}")
        out += _quotes("Intended effects", e.intended)
        out += _quotes("Unintended effects", e.unintended)
        latest = f"; latest: {decision_label(e.latest_decision)}" if e.latest_decision else ""
        out += [f"- Decisions: {escape(decisions_text(e))}{escape(latest)}", ""]
    return out[:-1]


def _quotes(label: str, quotes: tuple[str, ...]) -> list[str]:
    if not quotes:
        return []
    return [f"- {label}:"] + [f"  - “{escape(q)}”" for q in quotes]


def _mobilisation(digest: Digest, names: Mapping[str, str]) -> list[str]:
    if not digest.mobilisation:
        return ["No coalitions to show."]
    out: list[str] = []
    for m in digest.mobilisation:
        out += [
            f"### {escape(coalition_name(names, m.coalition_id))}",
            "",
            f"- At the table: {members_total(m)} ({escape(members_text(m))})",
            f"- New members in this period: {m.new_members}",
            f"- Hidden treasures mapped in this period: {m.resources_mapped}",
        ]
        out += [f"- {escape(missing_invitation(s))}" for s in m.missing_sectors]
        out.append("")
    return out[:-1]


def _outside_in(digest: Digest, names: Mapping[str, str]) -> list[str]:
    return [escape(outside_in_text(digest))]


def _strengths(digest: Digest, names: Mapping[str, str]) -> list[str]:
    if not digest.strengths:
        return ["No strengths recorded in this period yet: when did co-creation go well, and why?"]
    out: list[str] = []
    for s in digest.strengths:
        where = f" ({escape(coalition_name(names, s.coalition_id))})" if many_coalitions(digest) else ""
        out.append(f"- **{escape(s.success)}**{where}")
        if s.why.strip():
            out.append(f"  - Why it worked: {escape(s.why)}")
        if s.enlarge.strip():
            out.append(f"  - How to enlarge it: {escape(s.enlarge)}")
    return out


def _participation(digest: Digest, names: Mapping[str, str]) -> list[str]:
    p = digest.participation
    return [
        f"- Answers recorded: {p.answers}",
        f"- Active members: {p.active_members}",
        f"- Prompts: {prompts_text(digest)}",
    ]


_SECTIONS = {
    "stories": _stories,
    "principles": _principles,
    "experiments": _experiments,
    "mobilisation": _mobilisation,
    "outside_in": _outside_in,
    "strengths": _strengths,
    "participation": _participation,
}
