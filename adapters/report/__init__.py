"""Report formats for a digest: Markdown, one self-contained HTML file, JSON and CSV.

Every format renders the same neutral `bot.digest.Digest`; each module has a pure
`render(digest, coalition_names, movement_name)`:

- `adapters.report.markdown`: Markdown text, user text escaped so it shows literally.
- `adapters.report.html`: one HTML file (inline CSS, inline SVG charts, no scripts).
- `adapters.report.jsonout`: the versioned JSON of docs/digest-json.md (`load` reads it back).
- `adapters.report.csvout`: {file name: CSV text}, one file per record type; `write_dir`.

`render(kind, ...)` below picks one by name. This package only imports the standard library
and `bot`: Jinja2 is imported with the HTML module and matplotlib only while charts are
drawn (`adapters.report.charts`), so the chat path never loads either.

The wording both human-readable formats share lives here, as plain (unescaped) text: a
renderer only adds its own markup and escaping, so Markdown and HTML always say the same.
Who may see a story was decided by storage before the digest was built; an anonymous
story has `author=None` and no format can show who wrote it.
"""

from __future__ import annotations

import importlib
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Mapping, Sequence

from bot.digest import Audience, Digest, ExperimentItem, ImpactPoint, Mobilisation, PrincipleCount
from bot.types import DECISION_LABELS, SECTOR_LABELS, Decision, Sector

FORMATS = {"markdown": "markdown", "md": "markdown", "html": "html", "json": "jsonout", "csv": "csvout"}

AUDIENCE_LABELS: Mapping[str, str] = {
    Audience.COALITION: "Coalition",
    Audience.MOVEMENT: "Movement",
    Audience.PUBLIC: "Public",
}
STATUS_LABELS: Mapping[str, str] = {"planned": "Planned", "running": "Running", "ended": "Ended"}
TREND_ARROWS: Mapping[str, str] = {"up": "↑", "down": "↓", "flat": "→"}
TREND_LABELS: Mapping[str, str] = {"up": "rising", "down": "falling", "flat": "steady"}
SECTOR_ORDER: tuple[str, ...] = tuple(Sector)
DECISION_ORDER: tuple[str, ...] = tuple(Decision)

ANONYMOUS = "Shared anonymously"
NOTHING_NEW = "Nothing new in this period: no stories, strengths, check-ins, new members or answers."
NOT_TRACKED = "not tracked yet"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

SECTIONS = (
    ("stories", "New ambassador stories"),
    ("principles", "Principle coverage"),
    ("experiments", "Experiments"),
    ("mobilisation", "Mobilisation"),
    ("outside_in", "Outside-in share"),
    ("strengths", "Strengths"),
    ("participation", "Participation"),
)


def render(kind: str, digest: Digest, coalition_names: Mapping[str, str], movement_name: str):
    """`kind` is "markdown" (or "md"), "html", "json" or "csv"; the module is imported on use."""
    if kind not in FORMATS:
        raise ValueError(f"unknown report format {kind!r}; choose from {', '.join(sorted(FORMATS))}")
    module = importlib.import_module(f"{__name__}.{FORMATS[kind]}")
    return module.render(digest, coalition_names, movement_name)


# -- codes to labels -------------------------------------------------------------------


def coalition_name(names: Mapping[str, str], coalition_id: str) -> str:
    return names.get(coalition_id) or coalition_id


def sector_label(code: str) -> str:
    return SECTOR_LABELS.get(code, code)


def decision_label(code: str) -> str:
    return DECISION_LABELS.get(code, code)


def status_label(code: str) -> str:
    return STATUS_LABELS.get(code, code)


def audience_label(code: str) -> str:
    return AUDIENCE_LABELS.get(code, code)


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


def one_decimal(value: float) -> str:
    """Rounded half up, as people do (4.25 -> "4.3"; float formatting would give "4.2")."""
    return str(_tenths(value))


def _tenths(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def day(value: date) -> str:
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def period(since: datetime, until: datetime) -> str:
    """The period as days. `until` is exclusive, so a period ending at midnight ends the day before."""
    last = until.date()
    if until.time() == time(0) and last > since.date():
        last = date.fromordinal(last.toordinal() - 1)
    first = since.date()
    return day(first) if first == last else f"{day(first)} – {day(last)}"


# -- the shared wording ----------------------------------------------------------------


def title(digest: Digest, names: Mapping[str, str], movement: str) -> str:
    scope = digest.scope
    if scope.audience is Audience.COALITION:
        return f"{coalition_name(names, scope.coalitions[0])}: co-creation digest"
    if scope.audience is Audience.PUBLIC:
        return f"{movement}: co-creation report"
    return f"{movement}: co-creation digest"


def audience_line(digest: Digest, names: Mapping[str, str], movement: str) -> str:
    scope = digest.scope
    coalitions = ", ".join(coalition_name(names, c) for c in scope.coalitions)
    if scope.audience is Audience.COALITION:
        return f"For the members and leaders of {coalitions} ({movement})"
    if scope.audience is Audience.PUBLIC:
        return f"Public report covering {coalitions}" if coalitions else "Public report"
    return f"For the coordinators and every coalition: {coalitions}" if coalitions else "For the coordinators"


def principle_ref(number: int) -> str:
    return f"#{number}"


def principle_titles(digest: Digest) -> dict[int, str]:
    return {p.number: p.title for p in digest.principles}


def many_coalitions(digest: Digest) -> bool:
    """Name each item's coalition only when the digest covers more than one."""
    return len(digest.scope.coalitions) != 1


def quiet_invitation(principle: PrincipleCount) -> str:
    return f"Nobody reflected on #{principle.number} “{principle.title}” yet: who will start?"


def missing_invitation(sector: str) -> str:
    return f"Nobody from {sector_label(sector)} at the table yet: who could you invite?"


def byline(author: str | None) -> str:
    """Who shared a story: the author, or "Shared anonymously" (an anonymous story has no author)."""
    return f"By {author}" if author else ANONYMOUS


def decisions_text(experiment: ExperimentItem) -> str:
    parts = [f"{decision_label(d)} ×{experiment.decisions[d]}" for d in sorted_decisions(list(experiment.decisions))]
    return ", ".join(parts) if parts else "none yet"


def impact_text(experiment: ExperimentItem) -> str:
    if experiment.average_impact is None:
        return "no perceived impact recorded yet"
    return f"{one_decimal(experiment.average_impact)} / 5"


def trend_text(experiment: ExperimentItem) -> str:
    direction = trend_direction(experiment.trend)
    if direction is None:
        return "not enough weeks yet" if experiment.trend else "no check-ins yet"
    last, before = experiment.trend[-1], experiment.trend[-2]
    return (f"{TREND_ARROWS[direction]} {TREND_LABELS[direction]} "
            f"({one_decimal(before.average)} → {one_decimal(last.average)})")


NEEDS_DECISION = "⚠ timebox ended without a decision: continue, adjust, stop or scale up?"


def members_total(m: Mobilisation) -> int:
    return sum(m.members_by_sector.values())


def members_text(m: Mobilisation) -> str:
    parts = [f"{sector_label(s)} {m.members_by_sector[s]}" for s in sorted_sectors(list(m.members_by_sector))
             if m.members_by_sector[s]]
    return ", ".join(parts) if parts else "nobody yet"


def outside_in_text(digest: Digest) -> str:
    o = digest.outside_in
    if o.share is None:
        return "No outside-in perspectives recorded in this period yet: whose view from outside would help?"
    total = o.citizens_and_users + o.institutions + o.others
    return (f"{percent(o.share)} of {total} perspectives came from citizens and users "
            f"({o.citizens_and_users}), {o.institutions} from institutions (partners and employees), "
            f"{o.others} from others.")


def prompts_text(digest: Digest) -> str:
    p = digest.participation
    if p.prompts_sent is None:
        return NOT_TRACKED
    answered = NOT_TRACKED if p.prompts_answered is None else str(p.prompts_answered)
    rate = p.response_rate
    rate_text = f", response rate {percent(rate)}" if rate is not None else ""
    return f"{p.prompts_sent} sent, {answered} answered{rate_text}"


def sectors_present(mobilisation: Sequence[Mobilisation]) -> list[str]:
    """The sector columns of a mobilisation table: every sector anyone counted, in order."""
    return sorted_sectors(list({s for m in mobilisation for s in m.members_by_sector}))
