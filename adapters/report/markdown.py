"""A digest as Markdown (CommonMark with GitHub tables): a readable report to paste or share.

User text (titles, excerpts, quotes, names) is put on one line and every character that
could start Markdown or HTML is backslash-escaped, so `**x** [link](http://evil)` shows
literally: no bold, no link with a disguised target, no raw HTML, no heading or list.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Mapping

import adapters.report as w
from bot.digest import Digest

if TYPE_CHECKING:
    from bot.i18n import Texts

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


# Whitespace but the no-break spaces Babel writes ("70\u00a0%" in Danish): those stay.
_SPACES = re.compile(r"[^\S\u00a0\u2007\u202f]+")


def _say(text: str) -> str:
    """A library text (with any user text filled in) as literal Markdown on one line, like
    `escape`, keeping the no-break spaces that hold a number to its unit."""
    text = _INLINE.sub(r"\\\1", _SPACES.sub(" ", text).strip(" "))
    text = _LEADING_MARK.sub(r"\\\1", text)
    return _LEADING_NUMBER.sub(r"\1\\\2", text)


def _inline(text: str) -> str:
    """A library text that follows a label on its line ("- Trend: …"): like `_say`, but a
    leading "17." (a Danish date) needs no escaping there."""
    return _INLINE.sub(r"\\\1", _SPACES.sub(" ", text).strip(" "))


def render(digest: Digest, coalition_names: Mapping[str, str], movement_name: str, texts: Texts) -> str:
    names = coalition_names
    lines = [
        f"# {_say(w.title(texts, digest, names, movement_name))}",
        "",
        f"{_say(w.audience_line(texts, digest, names, movement_name))}  ",
        _say(w.period_line(texts, digest)),
        "",
    ]
    if digest.nothing_new:
        lines += [_say(texts.t("report.nothing_new")), ""]
        return "\n".join(lines)
    for key, heading in w.headings(texts):
        lines += [f"## {_say(heading)}", ""]
        lines += _SECTIONS[key](digest, names, texts)
        lines.append("")
    return "\n".join(lines)


def _stories(digest: Digest, names: Mapping[str, str], texts: Texts) -> list[str]:
    if not digest.stories:
        return [_say(w.no_stories(texts, digest))]
    none = texts.t("report.none_named")
    out: list[str] = []
    for story in digest.stories:
        out += [f"### {escape(story.title)}", ""]
        if story.excerpt.strip():
            out += [f"> {escape(story.excerpt)}", ""]
        principles = ", ".join(w.principle_ref(n) for n in story.principles) or _say(none)
        sectors = ", ".join(_say(w.sector_label(texts, s)) for s in story.sectors) or _say(none)
        details = [
            f"- {_label(texts, 'report.principles')}: {principles}",
            f"- {_label(texts, 'report.sectors')}: {sectors}",
            f"- {_say(w.shared_on(texts, story.author, story.created_at.date()))}",
        ]
        if w.many_coalitions(digest):
            coalition = escape(w.coalition_name(names, story.coalition_id))
            details.insert(0, f"- {_label(texts, 'report.coalition')}: {coalition}")
        out += details + [""]
    return out[:-1]


def _principles(digest: Digest, names: Mapping[str, str], texts: Texts) -> list[str]:
    if not digest.principles:
        return [_say(texts.t("report.no_principles"))]
    columns = (texts.t("report.principle"), texts.t("report.reflections"), texts.t("report.stories"))
    out = ["| " + " | ".join(_say(c) for c in columns) + " |", "| --- | ---: | ---: |"]
    out += [f"| {w.principle_ref(p.number)} {escape(p.title)} | {w.count(texts, p.reflections)} "
            f"| {w.count(texts, p.stories)} |"
            for p in digest.principles]
    quiet = [p for p in digest.principles if p.quiet]
    if quiet:
        out.append("")
        out += [f"- {_say(w.quiet_invitation(texts, p))}" for p in quiet]
    return out


def _experiments(digest: Digest, names: Mapping[str, str], texts: Texts) -> list[str]:
    if not digest.experiments:
        return [_say(texts.t("report.no_experiments"))]
    out: list[str] = []
    for e in digest.experiments:
        out += [f"### {escape(e.title)}", ""]
        if e.needs_decision:
            out += [f"**{_say(texts.t('report.needs_decision'))}**", ""]
        if w.many_coalitions(digest):
            out.append(f"- {_label(texts, 'report.coalition')}: {escape(w.coalition_name(names, e.coalition_id))}")
        out += [
            f"- {_label(texts, 'report.status')}: {_inline(w.dates_text(texts, e))}",
            f"- {_label(texts, 'report.checkins')}: {w.count(texts, e.checkins)}",
            f"- {_label(texts, 'report.average_impact')}: {_inline(w.impact_text(texts, e))}",
            f"- {_label(texts, 'report.trend')}: {_inline(w.trend_text(texts, e))}",
        ]
        if e.trend:
            weeks = "; ".join(w.week_point(texts, p) for p in e.trend)
            out.append(f"- {_label(texts, 'report.weekly')}: {_inline(weeks)}")
        out += _quotes(texts, texts.t("report.intended"), e.intended)
        out += _quotes(texts, texts.t("report.unintended"), e.unintended)
        latest = w.latest_text(texts, e)
        decisions = w.decisions_text(texts, e) + (f"; {latest}" if latest else "")
        out += [f"- {_label(texts, 'report.decisions')}: {_inline(decisions)}", ""]
    return out[:-1]


def _label(texts: Texts, key: str) -> str:
    return _say(texts.t(key))


def _quotes(texts: Texts, label: str, quotes: tuple[str, ...]) -> list[str]:
    if not quotes:
        return []
    return [f"- {_say(label)}:"] + [f"  - {texts.t('report.quote', quote=escape(q))}" for q in quotes]


def _mobilisation(digest: Digest, names: Mapping[str, str], texts: Texts) -> list[str]:
    if not digest.mobilisation:
        return [_say(texts.t("report.no_coalitions"))]
    out: list[str] = []
    for m in digest.mobilisation:
        out += [
            f"### {escape(w.coalition_name(names, m.coalition_id))}",
            "",
            f"- {_label(texts, 'report.at_table')}: {_inline(w.at_table_text(texts, m))}",
            f"- {_label(texts, 'report.new_members')}: {w.count(texts, m.new_members)}",
            f"- {_label(texts, 'report.treasures')}: {w.count(texts, m.resources_mapped)}",
        ]
        out += [f"- {_say(w.missing_invitation(texts, s))}" for s in m.missing_sectors]
        out.append("")
    return out[:-1]


def _outside_in(digest: Digest, names: Mapping[str, str], texts: Texts) -> list[str]:
    return [_say(w.outside_in_text(texts, digest))]


def _strengths(digest: Digest, names: Mapping[str, str], texts: Texts) -> list[str]:
    if not digest.strengths:
        return [_say(texts.t("report.no_strengths"))]
    out: list[str] = []
    for s in digest.strengths:
        where = f" ({escape(w.coalition_name(names, s.coalition_id))})" if w.many_coalitions(digest) else ""
        out.append(f"- **{escape(s.success)}**{where}")
        if s.why.strip():
            out.append(f"  - {_label(texts, 'report.why')}: {escape(s.why)}")
        if s.enlarge.strip():
            out.append(f"  - {_label(texts, 'report.enlarge')}: {escape(s.enlarge)}")
    return out


def _participation(digest: Digest, names: Mapping[str, str], texts: Texts) -> list[str]:
    p = digest.participation
    return [
        f"- {_label(texts, 'report.answers')}: {w.count(texts, p.answers)}",
        f"- {_label(texts, 'report.active_members')}: {w.count(texts, p.active_members)}",
        f"- {_label(texts, 'report.prompts')}: {_inline(w.prompts_text(texts, digest))}",
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
