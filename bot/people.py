"""People, not platform ids: who is who across Slack, Teams and the web.

A person is a member id (app.yaml's, or "<platform>:<user id>" for someone who wrote without
being listed). Their platform ids come from app.yaml's `platforms:` or are resolved by email
(Slack `users.lookupByEmail` / `users.info`, the Teams roster) and stored as identities, so a
coordinator never types an id and one email is one person on every platform.

The `Directory` is the lookup the engine and the outbox use on every event and send: plain
dicts, no I/O. The adapters ask their platform for an email; the engine decides who that is
(`Directory.resolve`), stores the identity and teaches the directory (`learn`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Container, Iterable, Protocol, Sequence

# Deliberately loose (RFC 5322 allows far more than anyone uses); what matters is that a
# typo like "anna.example.org" or "anna@" is caught and nothing with spaces or controls is kept.
EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")
PLATFORMS = ("slack", "teams", "web")


def normal_email(value: object) -> str | None:
    """`value` as a stored, comparable email (trimmed, lower case), or None if it is not one.
    Compared case-insensitively everywhere: Slack and Entra ID both ignore case."""
    if not isinstance(value, str):
        return None
    email = value.strip().lower()
    return email if len(email) <= 254 and EMAIL.match(email) else None


def name_from(email: str) -> str:
    """'anna.berg@kommune.dk' -> 'Anna Berg': a name for someone added by email, until they say."""
    return " ".join(part.capitalize() for part in re.split(r"[._+-]+", email.split("@")[0]) if part) or email


def new_member_id(email: str, taken: Container[str]) -> str:
    """A member id for someone added by email: their address's local part as an app.yaml-style
    id (lowercase letters, digits, - and _), made unique against `taken`."""
    base = re.sub(r"[^a-z0-9_-]+", "-", email.split("@")[0].lower()).strip("-_")[:56] or "member"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


@dataclass(frozen=True)
class Identity:
    """A platform account known to be `member_id`. `how`: app.yaml, users.lookupByEmail,
    users.info, roster. `email`: what the platform told (normalised), if anything."""

    platform: str
    user: str
    member_id: str
    email: str | None = None
    how: str = ""
    tenant: str = ""


class Listed(Protocol):
    """An app.yaml member, as the directory needs it."""

    id: str
    platforms: dict[str, str]
    email: str | None
    prefer: str | None


class Directory:
    """app.yaml's members plus the identities resolved since. Never forgets an identity: a
    process learns the rows other replicas stored (`learn`, by row id) and keeps them."""

    def __init__(self, members: Sequence[Listed]) -> None:
        self.last_id = 0  # the highest identity row learned by `refresh` (all below it are known)
        self._rows: list[tuple[int, Identity]] = []  # everything learned, for `rebuilt`
        self._known: set[int] = set()  # their row ids: a row is learned once
        self._listed = {m.id for m in members}
        self._prefer = {m.id: m.prefer for m in members if m.prefer}
        self._by_platform: dict[tuple[str, str], str] = {}
        self._addresses: dict[str, dict[str, str]] = {}
        self._by_email: dict[str, str] = {}
        self._emails: dict[str, str] = {}
        for m in members:
            for platform, user in m.platforms.items():
                self._link(platform, user, m.id)
            if m.email:  # the first wins: app.yaml's members come before those added in chat
                self._by_email.setdefault(m.email, m.id)
                self._emails[m.id] = m.email

    def rebuilt(self, members: Sequence[Listed]) -> Directory:
        """A directory of `members` (app.yaml reloaded, people added in chat) that knows
        everything this one learned."""
        fresh = Directory(members)
        fresh.learn(sorted(self._rows, key=lambda row: row[0]))
        fresh.last_id = self.last_id
        return fresh

    # -- lookups ----------------------------------------------------------------------------

    def member_id(self, platform: str, user: str) -> str | None:
        """Who the account is, if app.yaml or a stored identity says so."""
        return self._by_platform.get((platform, user))

    def known(self, platform: str, user: str) -> bool:
        """Whether the account needs no look-up: listed, or already resolved (also as nobody
        listed: someone who wrote without being in app.yaml)."""
        return (platform, user) in self._by_platform

    def by_email(self, email: str | None) -> str | None:
        email = normal_email(email)
        return self._by_email.get(email) if email else None

    def email_of(self, member_id: str) -> str | None:
        return self._emails.get(member_id)

    def address(self, member_id: str, platform: str) -> str | None:
        """The member's user id on `platform`: app.yaml's, a resolved one, or the id in an
        unlisted member's own id ("slack:U123" is U123 on Slack)."""
        found = self._addresses.get(member_id, {}).get(platform)
        if found:
            return found
        prefix = f"{platform}:"
        return member_id[len(prefix):] or None if member_id.startswith(prefix) else None

    def platforms_of(self, member_id: str) -> list[str]:
        """The platforms a member can be reached on: their `prefer:` first, then app.yaml's
        order, then as resolved."""
        found = list(self._addresses.get(member_id, {}))
        own, sep, _ = member_id.partition(":")
        if sep and member_id not in self._listed and own not in found:
            found.insert(0, own)
        prefer = self._prefer.get(member_id)
        if prefer in found:
            found.remove(prefer)
            found.insert(0, prefer)
        return found

    def listed(self, member_id: str) -> bool:
        """Named in app.yaml (or added in chat), not only learned from a platform."""
        return member_id in self._listed

    def prefers(self, member_id: str) -> str | None:
        return self._prefer.get(member_id)

    # -- resolving --------------------------------------------------------------------------

    def resolve(self, platform: str, user: str, email: str | None) -> tuple[str, str | None]:
        """Who an account is, by the email its platform told: (member id, problem). An
        account app.yaml lists keeps its member; one seen before as nobody listed becomes the
        member its email names. The problem, if any, says why the email could not be used
        (without the email itself: it is personal data, and this goes to the log)."""
        fallback = f"{platform}:{user}"
        own = self.member_id(platform, user)
        if own is not None and own in self._listed:
            return own, None
        member = self.by_email(email)
        if member is None or member == own:
            return own or fallback, None
        held = self._addresses.get(member, {}).get(platform)
        if held and held != user:
            return own or fallback, (f"{platform} user {user} has the email of member {member}, who is "
                                     f"{platform} user {held}: not linked (two accounts, one email)")
        return member, None

    def learn(self, rows: Iterable[tuple[int, Identity]], *, every: bool = True) -> None:
        """Take stored identities in (row id order). An account app.yaml already names keeps
        app.yaml's member; an unlisted account whose email app.yaml now lists is that member.
        `every`: these are all the rows up to the last one (a refresh), so `last_id` moves on;
        else just the rows given (an account this process stored itself)."""
        for row_id, identity in rows:
            if every:
                self.last_id = max(self.last_id, row_id)
            if row_id in self._known:
                continue
            self._known.add(row_id)
            self._rows.append((row_id, identity))
            key = (identity.platform, identity.user)
            member = identity.member_id
            named = self._by_email.get(identity.email) if identity.email else None
            if named is not None and member not in self._listed:
                member = named  # listed by email after they first wrote, or seen elsewhere first
            current = self._by_platform.get(key)
            if current is not None and (current in self._listed or current == member):
                continue
            held = self._addresses.get(member, {}).get(identity.platform)
            if held and held != identity.user and member in self._listed:
                continue  # a second account on one platform: `resolve` refused it, keep the first
            self._link(identity.platform, identity.user, member)
            if identity.email and identity.email not in self._by_email:
                self._by_email[identity.email] = member
                self._emails.setdefault(member, identity.email)

    def _link(self, platform: str, user: str, member_id: str) -> None:
        self._by_platform[(platform, user)] = member_id
        self._addresses.setdefault(member_id, {}).setdefault(platform, user)


# -- membership changed in chat (or imported), layered over app.yaml ---------------------------

MEMBER, LEADER, NONE = "member", "leader", "none"  # a seat's role; NONE: removed


@dataclass(frozen=True)
class Person:
    """Someone added in chat or by `cocreate members import`, not listed in app.yaml."""

    member_id: str
    name: str
    email: str | None = None


@dataclass(frozen=True)
class Seat:
    """A member's place in a coalition as changed in chat: MEMBER, LEADER or NONE (removed,
    also from app.yaml's lists). `sector`: as an import gave it, until they join themselves."""

    coalition_id: str
    member_id: str
    role: str
    sector: str | None = None


@dataclass(frozen=True)
class CoalitionChange:
    """A coalition created in chat, or app.yaml's with a new name or challenge (None: as it was)."""

    coalition_id: str
    name: str | None = None
    challenge: str | None = None
    created: bool = False


@dataclass(frozen=True)
class Changes:
    """Everything changed in chat, as stored: what `Config.layered` puts over app.yaml.
    `version` grows with every change, so a replica knows when to read them again."""

    people: tuple[Person, ...] = ()
    seats: tuple[Seat, ...] = ()
    coalitions: tuple[CoalitionChange, ...] = ()
    version: int = 0
