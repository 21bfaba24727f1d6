"""A digest as CSV: one file per record type, for spreadsheets.

`render` returns {file name: CSV text} with FILES' names, each with its header row even
when it has no rows. Every cell goes through `bot.export.safe_cell`, so a title such as
`=HYPERLINK("x")` is shown as text, not run as a formula; lists become "; "-joined text.
Codes come with their labels (`sectors`, `sector_labels`), the labels in the report's
language; column names, codes, yes/no flags, ISO dates and plain numbers (averages rounded
to 2 decimals, "." as the decimal point) stay the same in every language, so a sheet
reads the same whoever exported it. `summary.csv` is one row per digest, so the summaries of several
periods can be appended into one sheet. An anonymous story's author cell is empty.

Files are UTF-8 without a byte-order mark, like `bot.export`'s CSV.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from adapters.report import (
    DECISION_ORDER,
    SECTOR_ORDER,
    audience_label,
    coalition_name,
    consent_label,
    decision_label,
    members_total,
    sector_label,
    sectors_present,
    sorted_decisions,
    status_label,
    trend_direction,
)
from bot.digest import Digest
from bot.export import safe_cell

if TYPE_CHECKING:
    from bot.i18n import Texts

DECISIONS = DECISION_ORDER  # one count column each; any other code goes to decisions_other

COLUMNS: Mapping[str, tuple[str, ...]] = {
    "stories.csv": ("id", "coalition_id", "coalition", "title", "excerpt", "principles", "sectors",
                    "sector_labels", "author", "anonymous", "consent", "consent_label", "created_at"),
    "principles.csv": ("number", "title", "reflections", "stories", "quiet"),
    "experiments.csv": ("id", "coalition_id", "coalition", "title", "starts_on", "ends_on", "status",
                        "status_label", "checkins", "average_impact", "trend_direction", "intended",
                        "unintended", *(f"decisions_{d}" for d in DECISIONS), "decisions_other", "latest_decision",
                        "latest_decision_label", "needs_decision"),
    "impact_trend.csv": ("experiment_id", "experiment", "coalition_id", "week", "average", "checkins"),
    # plus "members_<sector>" after members_total: every known sector, and any other counted
    "mobilisation.csv": ("coalition_id", "coalition", "members_total", "new_members", "resources_mapped",
                         "missing_sectors", "missing_sector_labels"),
    "strengths.csv": ("id", "coalition_id", "coalition", "success", "why", "enlarge"),
    "summary.csv": ("movement", "audience", "audience_label", "coalition_ids", "coalitions", "since", "until",
                    "citizens_and_users", "institutions", "others", "outside_in_share", "answers",
                    "active_members", "prompts_sent", "prompts_answered", "response_rate"),
}
FILES = tuple(COLUMNS)


def render(digest: Digest, coalition_names: Mapping[str, str], movement_name: str, texts: Texts) -> dict[str, str]:
    names = coalition_names
    tables = {
        "stories.csv": (COLUMNS["stories.csv"], _stories(digest, names, texts)),
        "principles.csv": (COLUMNS["principles.csv"], _principles(digest)),
        "experiments.csv": (COLUMNS["experiments.csv"], _experiments(digest, names, texts)),
        "impact_trend.csv": (COLUMNS["impact_trend.csv"], _trend(digest)),
        "mobilisation.csv": _mobilisation(digest, names, texts),
        "strengths.csv": (COLUMNS["strengths.csv"], _strengths(digest, names)),
        "summary.csv": (COLUMNS["summary.csv"], [_summary(digest, names, movement_name, texts)]),
    }
    return {name: table(columns, rows) for name, (columns, rows) in tables.items()}


def table(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """CSV text: the header, then each row's cells in `columns` order, all through safe_cell."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(c) for c in columns])
    for row in rows:
        writer.writerow([safe_cell(row.get(c)) for c in columns])
    return out.getvalue()


def write_dir(directory: Path, files: Mapping[str, str]) -> list[Path]:
    """Write `render`'s files into `directory` (created if needed); returns the paths written.

    (`bot.export.write_csv_dir` takes rows and writes no header for an empty list, so it does
    not fit files that must keep their header.)
    """
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        path = directory / name
        path.write_text(text, encoding="utf-8", newline="")
        written.append(path)
    return written


# -- rows ------------------------------------------------------------------------------


def _stories(digest: Digest, names: Mapping[str, str], texts: Texts) -> list[dict]:
    return [
        {
            "id": s.id,
            "coalition_id": s.coalition_id,
            "coalition": coalition_name(names, s.coalition_id),
            "title": s.title,
            "excerpt": s.excerpt,
            "principles": list(s.principles),
            "sectors": list(s.sectors),
            "sector_labels": [sector_label(texts, c) for c in s.sectors],
            "author": s.author,  # None -> empty cell
            "anonymous": _yes(s.author is None),
            "consent": s.consent,
            "consent_label": consent_label(texts, s.consent),
            "created_at": s.created_at.isoformat(),
        }
        for s in digest.stories
    ]


def _principles(digest: Digest) -> list[dict]:
    return [
        {"number": p.number, "title": p.title, "reflections": p.reflections, "stories": p.stories,
         "quiet": _yes(p.quiet)}
        for p in digest.principles
    ]


def _experiments(digest: Digest, names: Mapping[str, str], texts: Texts) -> list[dict]:
    rows = []
    for e in digest.experiments:
        rows.append({
            "id": e.id,
            "coalition_id": e.coalition_id,
            "coalition": coalition_name(names, e.coalition_id),
            "title": e.title,
            "starts_on": e.starts_on.isoformat(),
            "ends_on": e.ends_on.isoformat(),
            "status": e.status,
            "status_label": status_label(texts, e.status),
            "checkins": e.checkins,
            "average_impact": _number(e.average_impact),
            "trend_direction": trend_direction(e.trend),
            "intended": list(e.intended),
            "unintended": list(e.unintended),
            **{f"decisions_{d}": e.decisions.get(d, 0) for d in DECISIONS},
            "decisions_other": [f"{d}={e.decisions[d]}" for d in sorted_decisions(list(e.decisions))
                                if d not in DECISIONS],
            "latest_decision": e.latest_decision,
            "latest_decision_label": decision_label(texts, e.latest_decision) if e.latest_decision else None,
            "needs_decision": _yes(e.needs_decision),
        })
    return rows


def _trend(digest: Digest) -> list[dict]:
    return [
        {"experiment_id": e.id, "experiment": e.title, "coalition_id": e.coalition_id,
         "week": p.week.isoformat(), "average": _number(p.average), "checkins": p.checkins}
        for e in digest.experiments
        for p in e.trend
    ]


def _mobilisation(digest: Digest, names: Mapping[str, str], texts: Texts) -> tuple[tuple[str, ...], list[dict]]:
    """Every known sector gets a members column (so the header is stable), plus any other counted."""
    sectors = list(SECTOR_ORDER) + [s for s in sectors_present(digest.mobilisation) if s not in SECTOR_ORDER]
    columns = COLUMNS["mobilisation.csv"][:3] + tuple(f"members_{s}" for s in sectors) + COLUMNS["mobilisation.csv"][3:]
    rows = [
        {
            "coalition_id": m.coalition_id,
            "coalition": coalition_name(names, m.coalition_id),
            "members_total": members_total(m),
            **{f"members_{s}": m.members_by_sector.get(s, 0) for s in sectors},
            "new_members": m.new_members,
            "resources_mapped": m.resources_mapped,
            "missing_sectors": list(m.missing_sectors),
            "missing_sector_labels": [sector_label(texts, s) for s in m.missing_sectors],
        }
        for m in digest.mobilisation
    ]
    return columns, rows


def _strengths(digest: Digest, names: Mapping[str, str]) -> list[dict]:
    return [
        {"id": s.id, "coalition_id": s.coalition_id, "coalition": coalition_name(names, s.coalition_id),
         "success": s.success, "why": s.why, "enlarge": s.enlarge}
        for s in digest.strengths
    ]


def _summary(digest: Digest, names: Mapping[str, str], movement: str, texts: Texts) -> dict:
    scope, o, p = digest.scope, digest.outside_in, digest.participation
    return {
        "movement": movement,
        "audience": scope.audience.value,
        "audience_label": audience_label(texts, scope.audience),
        "coalition_ids": list(scope.coalitions),
        "coalitions": [coalition_name(names, c) for c in scope.coalitions],
        "since": scope.since.isoformat(),
        "until": scope.until.isoformat(),
        "citizens_and_users": o.citizens_and_users,
        "institutions": o.institutions,
        "others": o.others,
        "outside_in_share": _number(o.share),
        "answers": p.answers,
        "active_members": p.active_members,
        "prompts_sent": p.prompts_sent,
        "prompts_answered": p.prompts_answered,
        "response_rate": _number(p.response_rate),
    }


def _number(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
