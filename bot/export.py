"""Write a coalition's records as JSON or as one CSV file per record type."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Mapping

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run as a formula; lists become '; '-joined text."""
    if isinstance(value, (list, tuple)):
        value = "; ".join(
            ", ".join(f"{k}={v}" for k, v in item.items()) if isinstance(item, dict) else str(item)
            for item in value
        )
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def roster(coalition: Any, names: Mapping[str, str], people: Any, seated: Mapping[str, str]) -> list[dict]:
    """Who is in the coalition as it stands (app.yaml with the changes made in chat): each
    leader and member with their email where known, their sector, and the platforms the bot
    reaches them on (none yet: not reached)."""
    everyone = dict.fromkeys([*coalition.leaders, *coalition.members, *seated])
    return [{"member_id": m, "name": names.get(m, m), "role": "leader" if m in coalition.leaders else "member",
             "email": people.email_of(m) or "", "sector": seated.get(m, ""), "platforms": people.platforms_of(m)}
            for m in everyone]


def to_json(coalition: Mapping[str, Any], records: Mapping[str, list[dict]]) -> str:
    return json.dumps({"coalition": dict(coalition), **records}, ensure_ascii=False, indent=2) + "\n"


def to_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(row.get(c)) for c in columns])
    return out.getvalue()


def write_csv_dir(directory: Path, records: Mapping[str, list[dict]]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, rows in records.items():
        path = directory / f"{kind}.csv"
        path.write_text(to_csv(rows), encoding="utf-8", newline="")
        written.append(path)
    return written
