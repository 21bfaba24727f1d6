"""`cocreate members import people.csv`: onboard a whole coalition from a spreadsheet.

Columns: email, name, coalition, role (member or leader), sector (optional). A header row
names them, in any order; comma or semicolon separated (a Danish Excel writes semicolons),
UTF-8 with or without a byte-order mark. All or nothing: every problem is reported with its
line number and nothing is imported until the file is right. Importing the same file again
changes nothing.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import Any, Iterable

from bot.people import LEADER, MEMBER, Person, Seat, new_member_id, normal_email
from bot.types import Sector

REQUIRED = ("email", "name", "coalition", "role")
COLUMNS = (*REQUIRED, "sector")
ROLES = {"member": MEMBER, "leader": LEADER, "medlem": MEMBER, "leder": LEADER}


@dataclass
class Roster:
    """What a file asks for: the people to add and the seats to give, or its problems."""

    people: list[Person] = field(default_factory=list)
    seats: list[Seat] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "line 4: …"
    rows: int = 0


def read_roster(lines: Iterable[str], config: Any) -> Roster:
    """Check every row against the configuration in force (`config`: app.yaml with the changes
    made in chat). Emails already known keep their member; new ones get an id from the address."""
    lines = list(lines)
    roster = Roster()
    try:
        dialect = csv.Sniffer().sniff(lines[0] if lines else "", delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(lines, dialect=dialect)
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [h for h in header if h not in COLUMNS]
    if missing or unknown:
        said = [f"missing column {', '.join(missing)}" if missing else "",
                f"unknown column {', '.join(unknown)}" if unknown else ""]
        roster.problems.append(f"line 1: {'; '.join(s for s in said if s)} (columns: {', '.join(COLUMNS)})")
        return roster
    reader.fieldnames = header
    new: dict[str, str] = {}  # email -> member id given in this file
    seen: dict[tuple[str, str], int] = {}  # (email, coalition) -> line
    taken = set(config.names)
    for row in reader:
        line = reader.line_num
        roster.rows += 1
        values = {k: (v or "").strip() for k, v in row.items() if k in COLUMNS}
        if None in row:  # more cells than columns
            roster.problems.append(f"line {line}: more cells than the header has columns")
            continue
        email, name, coalition_id = normal_email(values["email"]), values["name"], values["coalition"]
        role, sector = ROLES.get(values["role"].lower()), values.get("sector", "").lower()
        problems = []
        if email is None:
            problems.append(f"{values['email']!r} is not an email address" if values["email"] else "no email")
        if not name:
            problems.append("no name")
        coalition = config.coalition(coalition_id)
        if coalition is None:
            problems.append(f"unknown coalition {coalition_id!r}; the coalitions are: "
                            f"{', '.join(c.id for c in config.coalitions)}")
        if role is None:
            problems.append(f"role {values['role']!r} must be member or leader")
        if sector and sector not in {s.value for s in Sector}:
            problems.append(f"sector {sector!r} must be one of: {', '.join(s.value for s in Sector)}")
        if email and (email, coalition_id) in seen:
            problems.append(f"{email} is in {coalition_id} on line {seen[(email, coalition_id)]} already")
        if problems:
            roster.problems.append(f"line {line}: {'; '.join(problems)}")
            continue
        seen[(email, coalition_id)] = line
        member = config.people.by_email(email) or new.get(email)
        if member is None:
            member = new[email] = new_member_id(email, taken)
            taken.add(member)
            roster.people.append(Person(member, name, email))
        roster.seats.append(Seat(coalition.id, member, role, sector or None))
    return roster
