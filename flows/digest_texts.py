"""What the in-chat `digest` command says, in English (the source language).

Keyed "digest.<key>" once merged into the library (`bot/i18n.py`); each language's text
comes from its gettext catalog. Where a text tells the member what to type, the command
words are placeholders ({digest}, {all}, {reflect}) filled with the words of the member's
language (`commands.*`, `words.*`), so a translation never has to repeat them. What `help`
says of the command is under `flows.digest`, `help.digest` and `usage.digest`.
"""

from __future__ import annotations

DIGEST_TEXTS: dict[str, dict[str, str]] = {
    "digest": {
        # Refusals and mistakes
        "bad_days": "Please ask for 1 to {max} days, e.g. `{digest} 30d`.",
        "try": "Try `{digest}`, `{digest} 7d`, `{digest} <coalition> 30d` or `{digest} {all} 30d`.",
        "only_coordinators": (
            "Only movement coordinators can pull the movement-wide digest. Try `{digest}` for your coalition."
        ),
        "unknown_coalition": "I don't know the coalition '{name}'. Known coalitions: {known}.",
        "not_allowed": (
            "The digest of {coalition} is for its leaders and the movement's coordinators. "
            "Ask a leader to share it, or to open it to members in app.yaml."
        ),
        # The compact message
        "title": "Digest for {where}, last {days} days",
        "nothing_new": (
            "*{title}*: nothing new since the last digest. Quiet weeks happen: "
            "who has a story or a reflection to share?"
        ),
        "new_stories": "New stories",
        "answers": "Answers shared",
        "active_members": "Active members",
        "outside_in": "Outside-in voices",
        "outside_in_none": "none yet",
        "outside_in_share": "{share} citizens and users",
        "stories": "New ambassador stories",
        "principles": "Principles",
        "principles_none": "no reflections or stories yet",
        "not_touched": "Not yet touched: {principles}. Who will reflect on one? (`{reflect}`)",
        "experiments": "Experiments",
        "missing": "*Still missing at the table* (who could you invite?)",
        "in_thread": "The full lists are in the thread.",
        "more_in_thread": "{count} more items in the thread.",
        "report": "{pointer} A report with charts: `{command}`",
        "dashboard": "Open in the dashboard: {link} (no session in that browser? type `{dashboard}` for a sign-in link)",
        # One experiment's line
        "experiment": "- *{title}*: {status}, {checkins} check-in(s){impact}{flag}",
        "impact": ", citizens' perceived impact {average}/5{arrow}",
        "needs_decision": " ⚠ timebox ended without a decision",
        "status.planned": "planned",
        "status.running": "running",
        "status.ended": "ended",
        # The thread
        "anonymous": "shared anonymously",
        "intended": "intended: “{quote}”",
        "unintended": "unintended: “{quote}”",
        "decisions": "decisions: {decisions}",
        "strength": "*What works*: {success}\n_Why_: {why}\n_More of it_: {enlarge}",
        "mobilisation": "{coalition}: {sectors}; {new} new, {treasures} hidden treasures mapped",
        "nobody": "nobody at the table yet",
    },
}
