"""The texts of membership managed in chat (flows/members.py), in English."""

from __future__ import annotations

MEMBERS_TEXTS: dict[str, dict[str, str]] = {
    "members": {
        "title": "*{coalition}*: {count} at the table",
        "leaders": "Leaders: {names}",
        "sector": "{sector}: {names}",
        "no_sector": "Not joined yet (no sector): {names}",
        "unreached": "Not reached yet (I know none of their accounts; they can also use an invite link): {names}",
        "nobody": "nobody yet",
        "usage_add": "Try `add <email> [name]`, e.g. `add anna.berg@kommune.dk Anna Berg`, or `add <member id>`.",
        "usage_remove": "Try `remove <member id, email or name>`; `members` lists who is in {coalition}.",
        "unknown": "I don't know {who}. Use an email, a member id or a name from `members`.",
        "ambiguous": "More than one member is called {who}; use their member id or email.",
        "added": "{name} is now a member of {coalition}.",
        "added_new": (
            "{name} ({email}) is now a member of {coalition}. I will find their Slack or Teams account by "
            "that email; they can also join in a browser with an invite link (`invite`)."
        ),
        "already": "{name} is already in {coalition}.",
        "removed": "{name} is no longer in {coalition}. What they shared stays.",
        "not_in": "{name} is not in {coalition}.",
        "last_leader": "{name} is the last leader of {coalition}. Name another leader first: `leader add <member>`.",
        "leader_usage": "Try `leader add <member>` or `leader remove <member>` (for {coalition}).",
        "leader_added": "{name} now leads {coalition}.",
        "already_leads": "{name} leads {coalition} already.",
        "leader_removed": "{name} no longer leads {coalition} and stays a member.",
        "not_leader": "{name} does not lead {coalition}.",
        "coalition_usage": "Try `coalition create <id> <name>` or `coalition challenge <id> <text>`.",
        "bad_id": "'{id}' cannot be a coalition id: use lowercase letters, digits, - and _.",
        "exists": "There is a coalition '{id}' already: {name}.",
        "created": "{name} ({id}) is created, with you as its leader. Give it its challenge: `coalition challenge {id} <text>`.",
        "no_coalition": "There is no coalition '{id}'. The coalitions are: {ids}.",
        "challenged": "The challenge of {name} is now: {challenge}",
    },
}
