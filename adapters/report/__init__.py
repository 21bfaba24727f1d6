"""Report formats for a digest: Markdown, one self-contained HTML file, JSON and CSV.

Every format renders the same neutral `bot.digest.Digest` in one language; each module has
a pure `render(digest, coalition_names, movement_name, texts)`, where `texts` is a
`bot.i18n.Texts` (the library in that language, with Babel's formatting):

- `adapters.report.markdown`: Markdown text, user text escaped so it shows literally.
- `adapters.report.html`: one HTML file (inline CSS, inline SVG charts, no scripts).
- `adapters.report.jsonout`: the versioned JSON of docs/digest-json.md (`load` reads it back).
- `adapters.report.csvout`: {file name: CSV text}, one file per record type; `write_dir`.

`render(kind, ...)` below picks one by name. This package only imports the standard library,
Babel and `bot`: Jinja2 is imported with the HTML module and matplotlib only while charts are
drawn (`adapters.report.charts`), so the chat path never loads either.

The wording both human-readable formats share lives here, as plain (unescaped) text from
the library's "report.*" keys (English source: `bot/report_texts.py`): a renderer only
adds its own markup and escaping, so Markdown and HTML always say the same. Dates, numbers
and percentages are formatted by Babel for the language. JSON keys, CSV column names and
codes stay English (the data contract); the labels next to the codes follow the language.
Who may see a story was decided by storage before the digest was built; an anonymous
story has `author=None` and no format can show who wrote it.
"""

from __future__ import annotations

import importlib
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Mapping, Sequence

from babel.dates import format_skeleton

from bot.digest import Audience, Digest, ExperimentItem, ImpactPoint, Mobilisation, PrincipleCount
from bot.types import Decision, Sector

if TYPE_CHECKING:
    from bot.i18n import Texts

FORMATS = {"markdown": "markdown", "md": "markdown", "html": "html", "json": "jsonout", "csv": "csvout"}

TREND_ARROWS: Mapping[str, str] = {"up": "↑", "down": "↓", "flat": "→"}
SECTOR_ORDER: tuple[str, ...] = tuple(Sector)
DECISION_ORDER: tuple[str, ...] = tuple(Decision)

# The report's sections in order: (id, library key of the heading).
SECTIONS = (
    ("stories", "report.section.stories"),
    ("principles", "report.section.principles"),
    ("experiments", "report.section.experiments"),
    ("mobilisation", "report.section.mobilisation"),
    ("outside_in", "report.section.outside_in"),
    ("strengths", "report.section.strengths"),
    ("participation", "report.section.participation"),
)


def render(kind: str, digest: Digest, coalition_names: Mapping[str, str], movement_name: str, texts: Texts):
    """`kind` is "markdown" (or "md"), "html", "json" or "csv"; the module is imported on use."""
    if kind not in FORMATS:
        raise ValueError(f"unknown report format {kind!r}; choose from {', '.join(sorted(FORMATS))}")
    module = importlib.import_module(f"{__name__}.{FORMATS[kind]}")
    return module.render(digest, coalition_names, movement_name, texts)


def headings(texts: Texts) -> list[tuple[str, str]]:
    """The sections in order, each with its heading in the language."""
    return [(section, texts.t(key)) for section, key in SECTIONS]


# -- codes to labels -------------------------------------------------------------------


def coalition_name(names: Mapping[str, str], coalition_id: str) -> str:
    return names.get(coalition_id) or coalition_id


def _label(texts: Texts, key: str, code: str) -> str:
    """The label of a code; an unknown code (from a newer version, say) shows as itself."""
    return texts.get(key) or code


def sector_label(texts: Texts, code: str) -> str:
    return _label(texts, f"labels.sector.{code}", code)


def decision_label(texts: Texts, code: str) -> str:
    return _label(texts, f"labels.decision.{code}", code)


def consent_label(texts: Texts, code: str) -> str:
    return _label(texts, f"labels.consent.{code}", code)


def status_label(texts: Texts, code: str) -> str:
    return _label(texts, f"report.status.{code}", code)


def audience_label(texts: Texts, code: str) -> str:
    return _label(texts, f"report.audience.{code}", code)


def sorted_sectors(codes: Sequence[str]) -> list[str]:
    """Known sectors in their usual order, then any others alphabetically."""
    known = [s for s in SECTOR_ORDER if s in codes]
    return known + sorted(c for c in codes if c not in SECTOR_ORDER)


def sorted_decisions(codes: Sequence[str]) -> list[str]:
    known = [d for d in DECISION_ORDER if d in codes]
    return known + sorted(c for c in codes if c not in DECISION_ORDER)


# -- numbers and dates -----------------------------------------------------------------


def trend_direction(trend: Sequence[ImpactPoint]) -> str | None:
    """"up", "down" or "flat" from the last two weekly averages, compared as the reports show
    them (one decimal), so the arrow never contradicts the numbers; None with fewer than two."""
    if len(trend) < 2:
        return None
    before, last = (_tenths(p.average) for p in trend[-2:])
    return "up" if last > before else "down" if last < before else "flat"


def one_decimal(texts: Texts, value: float) -> str:
    """Rounded half up, as people do (4.25 -> "4.3", "4,3" in Danish; Babel alone would
    round half to even and give "4.2"), then written the language's way."""
    return texts.number(_tenths(value), 1)


def _tenths(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def count(texts: Texts, value: int) -> str:
    """A whole number with the language's grouping: "1,234" / "1.234"."""
    return texts.number(value, 0)


def percent(texts: Texts, share: float) -> str:
    """0.4 -> "40%" / "40 %"."""
    return texts.percent(share)


def day(texts: Texts, value: date) -> str:
    """A date: "Mar 3, 2025" / "3. mar. 2025"."""
    return texts.date(value)


def short_day(texts: Texts, value: date) -> str:
    """A date without the year, for a chart's axis: "Mar 3" / "3. mar."."""
    return format_skeleton("MMMd", value, locale=texts.locale)


def period(texts: Texts, since: datetime, until: datetime) -> str:
    """The period as days. `until` is exclusive, so a period ending at midnight ends the day before."""
    last = until.date()
    if until.time() == time(0) and last > since.date():
        last = date.fromordinal(last.toordinal() - 1)
    first = since.date()
    if first == last:
        return day(texts, first)
    return texts.t("report.range", first=day(texts, first), last=day(texts, last))


# -- the shared wording ----------------------------------------------------------------


def title(texts: Texts, digest: Digest, names: Mapping[str, str], movement: str) -> str:
    scope = digest.scope
    if scope.audience is Audience.COALITION:
        return texts.t("report.title.coalition", coalition=coalition_name(names, scope.coalitions[0]))
    if scope.audience is Audience.PUBLIC:
        return texts.t("report.title.public", movement=movement)
    return texts.t("report.title.movement", movement=movement)


def audience_line(texts: Texts, digest: Digest, names: Mapping[str, str], movement: str) -> str:
    scope = digest.scope
    coalitions = ", ".join(coalition_name(names, c) for c in scope.coalitions)
    if scope.audience is Audience.COALITION:
        return texts.t("report.for.coalition", coalitions=coalitions, movement=movement)
    if scope.audience is Audience.PUBLIC:
        return texts.t("report.for.public_of", coalitions=coalitions) if coalitions else texts.t("report.for.public")
    if coalitions:
        return texts.t("report.for.movement_of", coalitions=coalitions)
    return texts.t("report.for.movement")


def period_line(texts: Texts, digest: Digest) -> str:
    return texts.t("report.period", period=period(texts, digest.scope.since, digest.scope.until))


def no_stories(texts: Texts, digest: Digest) -> str:
    return texts.t("report.no_new_stories" if digest.scope.new_only else "report.no_stories")


def principle_ref(number: int) -> str:
    return f"#{number}"


def principle_titles(digest: Digest) -> dict[int, str]:
    return {p.number: p.title for p in digest.principles}


def many_coalitions(digest: Digest) -> bool:
    """Name each item's coalition only when the digest covers more than one."""
    return len(digest.scope.coalitions) != 1


def quiet_invitation(texts: Texts, principle: PrincipleCount) -> str:
    return texts.t("report.quiet", number=principle.number, title=principle.title)


def missing_invitation(texts: Texts, sector: str) -> str:
    return texts.t("report.missing", sector=sector_label(texts, sector))


def byline(texts: Texts, author: str | None) -> str:
    """Who shared a story: the author, or "Shared anonymously" (an anonymous story has no author)."""
    return texts.t("report.by", author=author) if author else texts.t("report.anonymous")


def shared_on(texts: Texts, author: str | None, when: date) -> str:
    return texts.t("report.shared_on", by=byline(texts, author), date=day(texts, when))


def decisions_text(texts: Texts, experiment: ExperimentItem) -> str:
    parts = [texts.t("report.decision_count", decision=decision_label(texts, d),
                     count=count(texts, experiment.decisions[d]))
             for d in sorted_decisions(list(experiment.decisions))]
    return ", ".join(parts) if parts else texts.t("report.none_yet")


def latest_text(texts: Texts, experiment: ExperimentItem) -> str:
    """"latest: Adjust", or "" without a decision."""
    if not experiment.latest_decision:
        return ""
    return texts.t("report.latest", decision=decision_label(texts, experiment.latest_decision))


def dates_text(texts: Texts, experiment: ExperimentItem) -> str:
    return texts.t("report.dates", status=status_label(texts, experiment.status),
                   first=day(texts, experiment.starts_on), last=day(texts, experiment.ends_on))


def impact_text(texts: Texts, experiment: ExperimentItem) -> str:
    if experiment.average_impact is None:
        return texts.t("report.no_impact")
    return texts.t("report.impact", average=one_decimal(texts, experiment.average_impact))


def trend_text(texts: Texts, experiment: ExperimentItem) -> str:
    direction = trend_direction(experiment.trend)
    if direction is None:
        return texts.t("report.trend_few" if experiment.trend else "report.trend_none")
    last, before = experiment.trend[-1], experiment.trend[-2]
    return texts.t("report.trend_text", arrow=TREND_ARROWS[direction], direction=texts.t(f"report.trend.{direction}"),
                   before=one_decimal(texts, before.average), last=one_decimal(texts, last.average))


def week_point(texts: Texts, point: ImpactPoint) -> str:
    return texts.t("report.week_point", week=day(texts, point.week), average=one_decimal(texts, point.average),
                   checkins=count(texts, point.checkins))


def members_total(m: Mobilisation) -> int:
    return sum(m.members_by_sector.values())


def members_text(texts: Texts, m: Mobilisation) -> str:
    parts = [texts.t("report.sector_count", sector=sector_label(texts, s), count=count(texts, m.members_by_sector[s]))
             for s in sorted_sectors(list(m.members_by_sector)) if m.members_by_sector[s]]
    return ", ".join(parts) if parts else texts.t("report.nobody_yet")


def at_table_text(texts: Texts, m: Mobilisation) -> str:
    return texts.t("report.at_table_text", total=count(texts, members_total(m)), members=members_text(texts, m))


def outside_in_text(texts: Texts, digest: Digest) -> str:
    o = digest.outside_in
    if o.share is None:
        return texts.t("report.outside_in_none")
    total = o.citizens_and_users + o.institutions + o.others
    return texts.t("report.outside_in", share=percent(texts, o.share), total=count(texts, total),
                   citizens=count(texts, o.citizens_and_users), institutions=count(texts, o.institutions),
                   others=count(texts, o.others))


def prompts_text(texts: Texts, digest: Digest) -> str:
    p = digest.participation
    not_tracked = texts.t("report.not_tracked")
    if p.prompts_sent is None:
        return not_tracked
    answered = not_tracked if p.prompts_answered is None else count(texts, p.prompts_answered)
    rate = p.response_rate
    if rate is None:
        return texts.t("report.prompts_text", sent=count(texts, p.prompts_sent), answered=answered)
    return texts.t("report.prompts_rate", sent=count(texts, p.prompts_sent), answered=answered,
                   rate=percent(texts, rate))


def sectors_present(mobilisation: Sequence[Mobilisation]) -> list[str]:
    """The sector columns of a mobilisation table: every sector anyone counted, in order."""
    return sorted_sectors(list({s for m in mobilisation for s in m.members_by_sector}))
