"""A member's own data, as they may ask for it (`mydata`, `cocreate member export`): one JSON
document (docs/mydata.schema.json, described in docs/mydata-json.md) and a short summary."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.i18n import Texts

FORMAT = "cocreate.mydata/1"  # as the digest's: the number changes when a key goes or changes meaning
PURPOSE = "mydata"  # the one-time download link's purpose (a `web_links` row)


def document(member_id: str, stored: Mapping[str, Any], *, directory: Any, names: Mapping[str, str],
             coalitions: Sequence[Any], movement: Any, now: datetime) -> dict[str, Any]:
    """The whole export: what app.yaml (and chat) say of the member, then what is stored."""
    leads = [c.id for c in coalitions if member_id in c.leaders]
    member_of = [c.id for c in coalitions if member_id in c.members and member_id not in c.leaders]
    profile = {
        "id": member_id,
        "name": names.get(member_id),
        "email": directory.email_of(member_id) if directory else None,
        "prefer": directory.prefers(member_id) if directory else None,
        "leads": leads,
        "member_of": member_of,
        "coordinator": member_id in movement.coordinators,
    }
    return {"format": FORMAT, "exported_at": now.isoformat(), "movement": movement.name,
            "profile": profile, **stored}


async def of(store: Any, config: Any, member_id: str, now: datetime) -> dict[str, Any]:
    """The document of `member_id`, read from `store` (one snapshot) with `config`'s profile."""
    return document(member_id, await store.member_data(member_id), directory=config.people, names=config.names,
                    coalitions=config.coalitions, movement=config.movement, now=now)


def encoded(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")


def filename(member_id: str, now: datetime) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in member_id)
    return f"cocreate-mydata-{safe}-{now.date().isoformat()}.json"


def summary(doc: Mapping[str, Any], texts: Texts) -> str:
    """A few lines a person can read: what kinds of things are stored about them, how many."""
    t = texts.t
    contributions = doc["contributions"]
    stories = contributions["stories"]
    answers = sum(len(rows) for name, rows in contributions.items() if name not in ("stories", "checkins",
                                                                                    "reflections"))
    lines = [
        t("mydata.summary_title"),
        t("mydata.summary_profile", coalitions=texts.number(len(doc["memberships"]), 0)),
        t("mydata.summary_answers", answers=texts.number(answers, 0),
          checkins=texts.number(len(contributions["checkins"]), 0),
          reflections=texts.number(len(contributions["reflections"]), 0)),
        t("mydata.summary_stories", stories=texts.number(len(stories), 0),
          withdrawn=texts.number(sum(1 for s in stories if s.get("withdrawn_at")), 0)),
        t("mydata.summary_accounts", accounts=texts.number(len(doc["identities"]) + len(doc["conversations"]), 0),
          messages=texts.number(len(doc["messages"]) + len(doc["web_conversation"]), 0)),
    ]
    return "\n".join(lines)
