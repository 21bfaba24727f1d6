"""A digest as versioned JSON ("format": "cocreate.digest/1"), for other tools to read.

The shape is documented in docs/digest-json.md and specified by docs/digest.schema.json
(JSON Schema draft 2020-12). Dates are ISO 8601 ("2025-03-03"), times ISO 8601 with their
UTC offset; every code travels with its label ({"code": "public", "label": "Public sector"}),
the label in the report's language (keys and codes stay English: they are the contract).
An anonymous story has "author": null and "anonymous": true: nothing else names its author.
The digest's `marks` (which records an audience has been shown) are bookkeeping for the
chat digest and are not exported.

`load(text)` reads the JSON back into a `Digest` (without marks), e.g. to re-render a
saved digest in another format.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Mapping

from adapters.report import (
    audience_label,
    consent_label,
    coalition_name,
    decision_label,
    members_total,
    sector_label,
    sorted_decisions,
    status_label,
    trend_direction,
)
from bot.digest import (
    Audience,
    Digest,
    ExperimentItem,
    ImpactPoint,
    Mobilisation,
    OutsideIn,
    Participation,
    PrincipleCount,
    Scope,
    StoryItem,
    StrengthItem,
)

if TYPE_CHECKING:
    from bot.i18n import Texts

FORMAT = "cocreate.digest/1"


def render(digest: Digest, coalition_names: Mapping[str, str], movement_name: str, texts: Texts) -> str:
    return json.dumps(to_data(digest, coalition_names, movement_name, texts), ensure_ascii=False, indent=2) + "\n"


def to_data(digest: Digest, names: Mapping[str, str], movement: str, texts: Texts) -> dict[str, Any]:
    scope = digest.scope
    titles = {p.number: p.title for p in digest.principles}

    def coalition(coalition_id: str) -> dict[str, str]:
        return {"id": coalition_id, "name": coalition_name(names, coalition_id)}

    def sector(code: str) -> dict[str, str]:
        return {"code": code, "label": sector_label(texts, code)}

    return {
        "format": FORMAT,
        "movement": movement,
        "audience": {"code": scope.audience.value, "label": audience_label(texts, scope.audience)},
        "coalitions": [coalition(c) for c in scope.coalitions],
        "period": {"since": _time(scope.since), "until": _time(scope.until)},
        "new_only": scope.new_only,
        "nothing_new": digest.nothing_new,
        "stories": [
            {
                "id": s.id,
                "coalition": coalition(s.coalition_id),
                "title": s.title,
                "excerpt": s.excerpt,
                "principles": [{"number": n, "title": titles.get(n)} for n in s.principles],
                "sectors": [sector(c) for c in s.sectors],
                "author": s.author,
                "anonymous": s.author is None,
                "consent": {"code": s.consent, "label": consent_label(texts, s.consent)},
                "created_at": _time(s.created_at),
            }
            for s in digest.stories
        ],
        "principles": [
            {"number": p.number, "title": p.title, "reflections": p.reflections, "stories": p.stories,
             "quiet": p.quiet}
            for p in digest.principles
        ],
        "experiments": [
            {
                "id": e.id,
                "coalition": coalition(e.coalition_id),
                "title": e.title,
                "starts_on": e.starts_on.isoformat(),
                "ends_on": e.ends_on.isoformat(),
                "status": {"code": e.status, "label": status_label(texts, e.status)},
                "checkins": e.checkins,
                "average_impact": e.average_impact,
                "trend": [{"week": p.week.isoformat(), "average": p.average, "checkins": p.checkins}
                          for p in e.trend],
                "trend_direction": trend_direction(e.trend),
                "intended": list(e.intended),
                "unintended": list(e.unintended),
                "decisions": [{"code": d, "label": decision_label(texts, d), "count": e.decisions[d]}
                              for d in sorted_decisions(list(e.decisions))],
                "latest_decision": None if e.latest_decision is None else
                {"code": e.latest_decision, "label": decision_label(texts, e.latest_decision)},
                "needs_decision": e.needs_decision,
            }
            for e in digest.experiments
        ],
        "mobilisation": [
            {
                "coalition": coalition(m.coalition_id),
                "members_by_sector": [{**sector(c), "count": n} for c, n in m.members_by_sector.items()],
                "members_total": members_total(m),
                "new_members": m.new_members,
                "missing_sectors": [sector(c) for c in m.missing_sectors],
                "resources_mapped": m.resources_mapped,
            }
            for m in digest.mobilisation
        ],
        "outside_in": {
            "citizens_and_users": digest.outside_in.citizens_and_users,
            "institutions": digest.outside_in.institutions,
            "others": digest.outside_in.others,
            "share": digest.outside_in.share,
        },
        "strengths": [
            {"id": s.id, "coalition": coalition(s.coalition_id), "success": s.success, "why": s.why,
             "enlarge": s.enlarge}
            for s in digest.strengths
        ],
        "participation": {
            "answers": digest.participation.answers,
            "active_members": digest.participation.active_members,
            "prompts_sent": digest.participation.prompts_sent,
            "prompts_answered": digest.participation.prompts_answered,
            "response_rate": digest.participation.response_rate,
        },
    }


def load(text: str) -> Digest:
    """The `Digest` a `render` output describes (marks are not exported, so they are empty)."""
    data = json.loads(text)
    if data.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} document: format is {data.get('format')!r}")
    return Digest(
        scope=Scope(
            audience=Audience(data["audience"]["code"]),
            coalitions=tuple(c["id"] for c in data["coalitions"]),
            since=datetime.fromisoformat(data["period"]["since"]),
            until=datetime.fromisoformat(data["period"]["until"]),
            new_only=data["new_only"],
        ),
        stories=tuple(
            StoryItem(
                id=s["id"], coalition_id=s["coalition"]["id"], title=s["title"], excerpt=s["excerpt"],
                principles=tuple(p["number"] for p in s["principles"]),
                sectors=tuple(c["code"] for c in s["sectors"]), author=s["author"],
                consent=s["consent"]["code"], created_at=datetime.fromisoformat(s["created_at"]),
            )
            for s in data["stories"]
        ),
        principles=tuple(
            PrincipleCount(p["number"], p["title"], p["reflections"], p["stories"]) for p in data["principles"]
        ),
        experiments=tuple(
            ExperimentItem(
                id=e["id"], coalition_id=e["coalition"]["id"], title=e["title"],
                starts_on=date.fromisoformat(e["starts_on"]), ends_on=date.fromisoformat(e["ends_on"]),
                status=e["status"]["code"], checkins=e["checkins"], average_impact=e["average_impact"],
                trend=tuple(ImpactPoint(date.fromisoformat(p["week"]), p["average"], p["checkins"])
                            for p in e["trend"]),
                intended=tuple(e["intended"]), unintended=tuple(e["unintended"]),
                decisions={d["code"]: d["count"] for d in e["decisions"]},
                latest_decision=(e["latest_decision"] or {}).get("code"),
                needs_decision=e["needs_decision"],
            )
            for e in data["experiments"]
        ),
        mobilisation=tuple(
            Mobilisation(
                coalition_id=m["coalition"]["id"],
                members_by_sector={c["code"]: c["count"] for c in m["members_by_sector"]},
                new_members=m["new_members"],
                missing_sectors=tuple(c["code"] for c in m["missing_sectors"]),
                resources_mapped=m["resources_mapped"],
            )
            for m in data["mobilisation"]
        ),
        outside_in=OutsideIn(data["outside_in"]["citizens_and_users"], data["outside_in"]["institutions"],
                             data["outside_in"]["others"]),
        strengths=tuple(
            StrengthItem(s["id"], s["coalition"]["id"], s["success"], s["why"], s["enlarge"])
            for s in data["strengths"]
        ),
        participation=Participation(
            data["participation"]["answers"], data["participation"]["active_members"],
            data["participation"]["prompts_sent"], data["participation"]["prompts_answered"],
        ),
    )


def _time(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: digests carry timezone-aware times")
    return value.isoformat()
