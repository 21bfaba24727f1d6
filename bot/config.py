"""Load and check app.yaml: the movement, its members, coalitions, principles and prompt texts.

The file is edited by hand by whoever runs the bot, so every problem is reported at once,
one line each, as `file: key.path[i]: what is wrong` — never as a traceback.
"""

from __future__ import annotations

import difflib
import io
import os
import re
from calendar import monthrange
from datetime import date as Date, datetime as DateTime, time as Time, timedelta
from typing import Annotated, Any, Literal, Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    StringConstraints,
    ValidationError,
    model_validator,
)

from bot import yaml_cache
from bot.i18n import SUPPORTED, Languages, Texts, placeholders
from bot.people import LEADER, MEMBER, PLATFORMS, Changes, Directory, Identity, normal_email
from bot.texts import TEXTS
from bot.types import Sector

MAX_LINES = 20  # keep the error message on one screen


class ConfigError(Exception):
    """app.yaml cannot be used. `str()` is the one-problem-per-line message for the user."""

    def __init__(self, path: str, problems: Sequence[tuple[str, str]]):
        self.path = path
        self.problems = list(problems)  # (location, message); location "" for the whole file
        lines = [f"{path}: {loc}: {msg}" if loc else f"{path}: {msg}" for loc, msg in self.problems]
        if len(lines) > MAX_LINES:
            lines = lines[:MAX_LINES] + [f"… and {len(lines) - MAX_LINES} more"]
        super().__init__("\n".join(lines))


# --- field types ------------------------------------------------------------------------

_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid id; use lowercase letters, digits, '-' and '_'")
    return value


def _sector(value: Any) -> Sector:
    try:
        return Sector(value.lower() if isinstance(value, str) else value)
    except (ValueError, TypeError):
        choices = ", ".join(Sector)
        raise ValueError(f"{value!r} is not a sector; choose one of: {choices}") from None


def _language(value: Any) -> str:
    code = str(value).strip().lower()
    if code not in SUPPORTED:
        raise ValueError(f"{value!r} is not a supported language; use one of: {', '.join(SUPPORTED)}")
    return code


def _email(value: Any) -> str:
    email = normal_email(value)
    if email is None:
        raise ValueError(f"{value!r} is not an email address; write it as name@example.org")
    return email


def _platform(value: Any) -> str:
    name = str(value).strip().lower()
    if name not in PLATFORMS:
        raise ValueError(f"{value!r} is not a platform; use one of: {', '.join(PLATFORMS)}")
    return name


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe" is a directory
        raise ValueError(f"{value!r} is not a known time zone") from None
    return value


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()


def _day(value: Any) -> str:
    day = str(value).strip().lower()[:3]
    if day not in DAYS:
        raise ValueError(f"{value!r} is not a day; use {', '.join(DAYS)}")
    return day


def clock_time(value: Any) -> str:
    """'9:00' or '09:00' -> '09:00'."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        value = f"{value // 60}:{value % 60:02d}"  # YAML 1.1 reads an unquoted 9:30 as 570
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", str(value).strip())
    if not match:
        raise ValueError(f"{value!r} is not a time of day; write it as HH:MM, e.g. \"09:00\"")
    return f"{int(match[1]):02d}:{match[2]}"


def _quiet(value: Any) -> str | None:
    if value is False or str(value).strip().lower() in ("off", "none", "no"):
        return None  # YAML reads an unquoted `off` or `no` as false
    start, sep, end = str(value).partition("-")
    if not sep:
        raise ValueError(f"{value!r} is not a time range; write it as \"20:00-08:00\"")
    return f"{clock_time(start)}-{clock_time(end)}"


def _every(value: Any) -> str:
    """'week', '2 weeks', 'month', '3 months' -> normalised '1 week' / '2 week' / '1 month'."""
    match = re.fullmatch(r"(?:(\d+)\s*)?(week|month)s?", str(value).strip().lower())
    if not match or (match[1] is not None and not 1 <= int(match[1]) <= 52):
        raise ValueError(f"{value!r} is not a period; write week, 2 weeks, month or 3 months")
    return f"{int(match[1] or 1)} {match[2]}"


Whole = Annotated[int, Strict()]  # not lax: `true` or "12" is a mistake here, not a number
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Slug = Annotated[Text, AfterValidator(_slug)]
MemberRef = Text  # checked against the members list after validation
SectorValue = Annotated[Sector, BeforeValidator(_sector)]
Day = Annotated[str, BeforeValidator(_day)]
ClockTime = Annotated[str, BeforeValidator(clock_time)]
Zone = Annotated[Text, AfterValidator(_zone)]
Language = Annotated[str, BeforeValidator(_language)]
Email = Annotated[str, BeforeValidator(_email)]
Platform = Annotated[str, BeforeValidator(_platform)]


class _Model(BaseModel):
    # forbid: a misspelt key must be an error, not silently ignored.
    # coerce numbers: YAML turns `console: 1234` or `name: 2030` into numbers.
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    @model_validator(mode="before")
    @classmethod
    def _blank_means_default(cls, data: Any) -> Any:
        # `channels:` with every entry commented out is null in YAML; treat it like absent.
        if isinstance(data, dict):
            optional = {k for k, f in cls.model_fields.items() if not f.is_required()}
            return {k: v for k, v in data.items() if v is not None or k not in optional}
        return data


# --- the file's sections ------------------------------------------------------------------


class Movement(_Model):
    name: Text
    language: Language = "en"
    timezone: Zone = "Europe/Copenhagen"
    coordinators: tuple[MemberRef, ...] = ()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Limits(_Model):
    max_answer_length: Annotated[Whole, Field(ge=10, le=20000)] = 2000
    max_title_length: Annotated[Whole, Field(ge=10, le=500)] = 150
    max_experiment_weeks: Annotated[Whole, Field(ge=1, le=260)] = 26


class Retention(_Model):
    """How long what members shared is kept (None: for ever); `cocreate serve` applies it daily."""

    answers_months: Annotated[Whole, Field(ge=1, le=1200)] | None = None  # free text; counts stay
    withdrawn_stories_days: Annotated[Whole, Field(ge=1, le=36500)] | None = None
    # Not sooner: a message's row is what keeps a retried schedule or round from sending it twice.
    delivered_messages_days: Annotated[Whole, Field(ge=14, le=36500)] | None = None

    def cutoffs(self, now: DateTime) -> dict[str, DateTime | None]:
        """What goes: everything of each kind from before these moments."""
        def days(n: int | None) -> DateTime | None:
            return None if n is None else now - timedelta(days=n)

        answers = None
        if self.answers_months is not None:
            years, month = divmod(now.month - 1 - self.answers_months, 12)
            year = now.year + years
            answers = now.replace(year=year, month=month + 1, day=min(now.day, monthrange(year, month + 1)[1]))
        return {"answers": answers, "withdrawn_stories": days(self.withdrawn_stories_days),
                "delivered_messages": days(self.delivered_messages_days)}


class Member(_Model):
    id: Slug
    name: Text
    platforms: dict[Text, Text] = {}  # platform name -> that platform's user id
    email: Email | None = None  # how the bot finds their platform ids (stored lower case)
    prefer: Platform | None = None  # where the outbox reaches them when several platforms could


class Coalition(_Model):
    id: Slug
    name: Text
    challenge: Text
    wanted_sectors: tuple[SectorValue, ...] = tuple(s for s in Sector if s is not Sector.OTHER)
    leaders: Annotated[tuple[MemberRef, ...], Field(min_length=1)]
    members: tuple[MemberRef, ...] = ()
    channels: dict[Text, Text] = {}  # platform name -> channel id
    digest_for_members: bool = False
    timezone: Zone | None = None  # else the movement's
    language: Language | None = None  # else the movement's


class SlackLimits(_Model):
    """Slack: chat.postMessage about 1/s per channel plus a workspace-wide budget;
    conversations.open is Tier 3 (about 50/min)."""

    per_channel_per_second: Annotated[float, Field(gt=0, le=100)] = 1.0
    per_workspace_per_minute: Annotated[float, Field(gt=0, le=100_000)] = 600.0
    opens_per_minute: Annotated[float, Field(gt=0, le=10_000)] = 50.0


class TeamsLimits(_Model):
    """Teams: per conversation 7/1 s, 8/2 s, 60/30 s, 1800/h; about 50 requests/s per tenant."""

    per_tenant_per_second: Annotated[float, Field(gt=0, le=10_000)] = 50.0
    per_conversation: tuple[tuple[Whole, float], ...] = ((7, 1.0), (8, 2.0), (60, 30.0), (1800, 3600.0))


class Delivery(_Model):
    work_days: tuple[Day, ...] = DAYS[:5]
    quiet_hours: Annotated[str | None, BeforeValidator(_quiet)] = "20:00-08:00"  # or off
    grace_hours: Annotated[float, Field(ge=0, le=168)] = 6.0  # missed runs older than this are skipped
    round_days: Annotated[float, Field(gt=0, le=60)] = 7.0  # a check-in round closes after this
    reminders: Annotated[Whole, Field(ge=0, le=5)] = 1
    remind_after_hours: Annotated[float, Field(gt=0, le=720)] = 48.0
    slack: SlackLimits = SlackLimits()
    teams: TeamsLimits = TeamsLimits()

    @property
    def quiet(self) -> tuple[Time, Time] | None:
        if not self.quiet_hours:
            return None
        start, end = self.quiet_hours.split("-")
        return Time.fromisoformat(start), Time.fromisoformat(end)

    @property
    def work_weekdays(self) -> frozenset[int]:
        return frozenset(DAYS.index(d) for d in self.work_days)


SCHEDULE_KINDS = ("principle", "story", "checkin", "strengths", "digest")


class Schedule(_Model):
    """A recurring prompt, at `time` in each member's own time zone."""

    id: Slug
    kind: Literal["principle", "story", "checkin", "strengths", "digest"]
    days: Annotated[tuple[Day, ...], Field(min_length=1)] = ("mon",)
    time: ClockTime = "09:00"
    every: Annotated[str, BeforeValidator(_every)] = "1 week"
    coalitions: tuple[Slug, ...] = ()  # empty: every coalition
    starts_on: str | None = None  # ISO date the "every N" count starts from; default 2026-01-05

    @property
    def weekdays(self) -> frozenset[int]:
        return frozenset(DAYS.index(d) for d in self.days)

    @property
    def period(self) -> tuple[int, str]:
        n, unit = self.every.split()
        return int(n), unit


class Principle(_Model):
    number: Whole
    title: Text
    question: Text


# Section -> (model, is a list of them, required). `prompts` is free-form, checked by hand.
_SECTIONS: dict[str, tuple[type[_Model] | None, bool, bool]] = {
    "movement": (Movement, False, True),
    "limits": (Limits, False, False),
    "retention": (Retention, False, False),
    "members": (Member, True, True),
    "coalitions": (Coalition, True, True),
    "principles": (Principle, True, False),
    "delivery": (Delivery, False, False),
    "schedules": (Schedule, True, False),
    "prompts": (None, False, False),
}


class Config(_Model):
    """The loaded app.yaml. Read-only; build it with `load_config` so it is checked."""

    movement: Movement
    limits: Limits = Limits()
    retention: Retention = Retention()
    members: tuple[Member, ...] = ()
    coalitions: tuple[Coalition, ...] = ()
    principles: tuple[Principle, ...] = ()
    delivery: Delivery = Delivery()
    schedules: tuple[Schedule, ...] = ()
    library: dict[str, str] = {}  # "group.key" -> English text: the source every catalog translates
    rewordings: dict[str, dict[str, str]] = {}  # language -> "group.key" -> app.yaml's own text
    custom_principles: bool = False  # app.yaml lists them (else the library's, in each language)

    _languages: Languages = PrivateAttr()
    _members: dict[str, Member] = PrivateAttr()
    _names: dict[str, str] = PrivateAttr()
    _people: Directory = PrivateAttr()
    _coalitions: dict[str, Coalition] = PrivateAttr()

    def model_post_init(self, context: Any) -> None:
        self._languages = Languages(self.library, self.rewordings)
        self._index(None)

    def _index(self, learned: Directory | None) -> None:
        # Built once per configuration: the engine looks a member up on every inbound event.
        self._members = {m.id: m for m in self.members}
        self._names = {m.id: m.name for m in self.members}
        self._coalitions = {c.id: c for c in self.coalitions}
        # The identities resolved so far stay known (they are learned as they come).
        self._people = learned.rebuilt(self.members) if learned else Directory(self.members)

    def layered(self, changes: Changes, learned: Directory | None = None) -> Config:
        """This file with what was changed in chat over it: people added, seats given or taken
        (a change wins over the file for that member and coalition), coalitions created or
        given a new name or challenge. `learned`: the identities to keep."""
        listed = {m.id for m in self.members}
        added = tuple(Member(id=p.member_id, name=p.name, email=p.email)
                      for p in changes.people if p.member_id not in listed)
        roles: dict[str, dict[str, str]] = {}
        for seat in changes.seats:
            roles.setdefault(seat.coalition_id, {})[seat.member_id] = seat.role
        renamed = {c.coalition_id: c for c in changes.coalitions}
        created = tuple(Coalition.model_construct(id=c.coalition_id, name=c.name or c.coalition_id,
                                                  challenge=c.challenge or c.name or c.coalition_id, leaders=())
                        for c in changes.coalitions if c.created and c.coalition_id not in self._coalitions)
        coalitions = []
        for c in self.coalitions + created:
            seats = roles.get(c.id, {})
            update: dict[str, Any] = {
                "leaders": _seated(c.leaders, seats, LEADER),
                "members": _seated(c.members, seats, MEMBER),
            }
            change = renamed.get(c.id)
            if change and change.name:
                update["name"] = change.name
            if change and change.challenge:
                update["challenge"] = change.challenge
            coalitions.append(c.model_copy(update=update))
        layered = self.model_copy(update={"members": self.members + added, "coalitions": tuple(coalitions)})
        layered._index(learned or self._people)
        return layered

    def texts(self, *candidates: str | None) -> Texts:
        """The texts of the first supported language among `candidates`, else the movement's."""
        return self._languages.first(*candidates, self.movement.language)

    @property
    def prompts(self) -> dict[str, str]:
        """The library in the movement's language, rewordings included."""
        return dict(self.texts().library)

    def language_of(self, coalition_id: str | None) -> str:
        """A coalition's language, else the movement's."""
        coalition = self.coalition(coalition_id) if coalition_id else None
        return (coalition and coalition.language) or self.movement.language

    def principles_in(self, texts: Texts) -> tuple[Principle, ...]:
        """The principles as app.yaml wrote them, else the library's in `texts`' language."""
        if self.custom_principles:
            return self.principles
        return tuple(
            Principle(number=p.number,
                      title=texts.get(f"principles.{p.number}.title", p.title),
                      question=texts.get(f"principles.{p.number}.question", p.question))
            for p in self.principles
        )

    def member(self, id: str) -> Member | None:
        return self._members.get(id)

    @property
    def names(self) -> Mapping[str, str]:
        """Member id -> display name, for everyone listed (app.yaml and added in chat)."""
        return self._names

    @property
    def people(self) -> Directory:
        """Who is who across platforms: app.yaml's members and the identities resolved since."""
        return self._people

    def member_for(self, platform: str, user: str) -> Member | None:
        """The app.yaml member behind a platform account (listed with it, or found by email)."""
        member_id = self._people.member_id(platform, user)
        return self._members.get(member_id) if member_id else None

    def coalition(self, id: str) -> Coalition | None:
        return self._coalitions.get(id)

    def address(self, member_id: str, platform: str) -> str | None:
        """The member's user id on `platform` (app.yaml's, resolved by email, or from the id of
        someone who wrote without being listed: the engine names them "<platform>:<user id>")."""
        return self._people.address(member_id, platform)

    def platforms_of(self, member_id: str) -> list[str]:
        """The platforms a member can be reached on: `prefer:` first, then app.yaml's order."""
        return self._people.platforms_of(member_id)

    def coalitions_of(self, member_id: str) -> list[Coalition]:
        return [c for c in self.coalitions if member_id in c.leaders or member_id in c.members]

    def is_leader(self, member_id: str, coalition_id: str) -> bool:
        c = self.coalition(coalition_id)
        return c is not None and member_id in c.leaders

    def is_coordinator(self, member_id: str) -> bool:
        return member_id in self.movement.coordinators

    def principle(self, number: int) -> Principle | None:
        return next((p for p in self.principles if p.number == number), None)

    def schedule(self, id: str) -> Schedule | None:
        return next((s for s in self.schedules if s.id == id), None)

    def zone_of(self, coalition_id: str | None) -> str:
        """A coalition's time zone, else the movement's."""
        coalition = self.coalition(coalition_id) if coalition_id else None
        return (coalition and coalition.timezone) or self.movement.timezone


def _seated(listed: Sequence[str], seats: Mapping[str, str], role: str) -> tuple[str, ...]:
    """app.yaml's `listed` ids of `role` as changed in chat: kept unless their seat says
    otherwise, then those whose seat gives them `role`."""
    kept = tuple(m for m in listed if seats.get(m, role) == role)
    return kept + tuple(m for m, r in seats.items() if r == role and m not in kept)


class Live:
    """The configuration in force, as one object every part of the process holds: app.yaml
    as last loaded (`cocreate serve` loads it again on SIGHUP) with the membership changes
    made in chat over it. Reads go to the current `Config`; `use` replaces it whole, so a
    reader never sees half of a change."""

    def __init__(self, file: Config, changes: Changes = Changes()) -> None:
        self.file, self.changes, self.current = file, changes, file
        if changes != Changes():
            self.current = file.layered(changes)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.current, name)

    def use(self, file: Config | None = None, changes: Changes | None = None,
            identities: Sequence[tuple[int, Identity]] | None = None) -> None:
        """Put a reloaded app.yaml and/or newly read changes in force; `identities`: every
        stored identity, read again (else those learned so far are kept)."""
        self.file = file or self.file
        self.changes = changes or self.changes
        learned = self.current.people
        if identities is not None:
            learned = Directory(())
            learned.learn(identities)
        self.current = self.file.layered(self.changes, learned)


# --- loading ----------------------------------------------------------------------------

Loc = tuple[str | int, ...]
Problems = list[tuple[Loc, str]]


def config_path(cli_value: str | None) -> str:
    """`--config` if given, else $COCREATE_CONFIG, else app.yaml in the working directory."""
    return cli_value or os.environ.get("COCREATE_CONFIG") or "app.yaml"


def load_config(
    path: str | os.PathLike,
    default_prompts: Mapping[str, str] | None = None,
    default_principles: Sequence[Mapping] | None = None,
) -> Config:
    shown = os.fspath(path)
    raw = _read_yaml(shown)
    if not isinstance(raw, dict):
        what = "empty" if raw is None else f"a {type(raw).__name__}"
        sections = ", ".join(_SECTIONS)
        raise ConfigError(shown, [("", f"the file is {what}; expected the sections {sections}")])

    problems: Problems = [((), _unknown_key(k, list(_SECTIONS))) for k in raw if k not in _SECTIONS]
    # List items are validated one by one, so one broken member or coalition does not
    # hide the cross-reference errors of the others. Values keep their index for messages.
    parts: dict[str, Any] = {}
    for name, (model, many, required) in _SECTIONS.items():
        value = raw.get(name)
        if value is None:
            if required:
                problems.append(((name,), "required section is missing"))
        elif model is None:
            pass
        elif not many:
            parts[name] = _validate(model, value, (name,), problems)
        elif not isinstance(value, list):
            problems.append(((name,), f"expected a list, got {_short(value)}"))
        elif not value:
            hint = "" if required else "; leave it out for the defaults"
            problems.append(((name,), "must have at least 1 entry" + hint))
        else:
            valid = {i: _validate(model, item, (name, i), problems) for i, item in enumerate(value)}
            parts[name] = {i: m for i, m in valid.items() if m is not None}
    # Unknown-member errors would be noise while the members list itself is broken.
    members_ok = "members" in parts and not any(loc[:1] == ("members",) for loc, _ in problems)
    problems += _check_references(parts, members_ok)
    problems += _check_principles(parts.get("principles", {}))
    problems += _check_schedules(parts)
    movement = parts.get("movement")
    library = english(default_prompts)
    rewordings = _merge_prompts(raw.get("prompts"), library if default_prompts is not None else None,
                                movement.language if movement else "en", problems)


    if problems:
        problems.sort(key=_file_order)
        raise ConfigError(shown, [(_format_loc(loc), msg) for loc, msg in problems])

    principles = parts.get("principles")
    custom = bool(principles)
    if not principles:  # the defaults are code, not user input: a bug there may raise
        principles = dict(enumerate(Principle.model_validate(p) for p in default_principles or ()))
    return Config(
        movement=parts["movement"],
        limits=parts.get("limits") or Limits(),
        retention=parts.get("retention") or Retention(),
        members=tuple(parts["members"].values()),
        coalitions=tuple(parts["coalitions"].values()),
        principles=tuple(principles.values()),
        delivery=parts.get("delivery") or Delivery(),
        schedules=tuple((parts.get("schedules") or {}).values()),
        library=library,
        rewordings=rewordings,
        custom_principles=custom,
    )


def _validate(model: type[_Model], value: Any, loc: Loc, problems: Problems) -> Any:
    try:
        return model.model_validate(value)
    except ValidationError as e:
        for err in e.errors():
            if problem := _pydantic_problem(model, err):
                problems.append(((*loc, *problem[0]), problem[1]))
        return None


# libyaml's parser where PyYAML was built with it: a 10,000-member app.yaml parses in 0.9 s
# instead of 2.9 s (bench/startup.py); the constructor below is the same Python either way.
_SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SAFE):
    """SafeLoader that rejects a key given twice instead of silently keeping the last one."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults` may be overridden
                continue
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str | int | float) and key in seen:
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


# What a cached parse is valid for besides the file's bytes (bot/yaml_cache.py; bump its FORMAT
# when _Loader starts returning something else for the same text).
_PARSER = f"PyYAML {yaml.__version__} {_SAFE.__name__}"


def _read_yaml(shown: str) -> Any:
    try:
        with open(shown, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ConfigError(shown, [("", f"cannot read file: {e.strerror or e}")]) from None
    # The same bytes parsed before: their data from the cache (~10 ms instead of ~0.9 s for
    # 10,000 members). Only successful parses are kept, so errors below are always fresh.
    tree = yaml_cache.get(shown, data, _PARSER)
    if tree is not yaml_cache.MISS:
        return tree
    try:
        # Decoded as open(shown, encoding="utf-8").read() would: the same newlines, errors.
        text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8").read()
    except UnicodeDecodeError as e:
        problem = f"cannot read file: not UTF-8 text (byte {e.start})"
        raise ConfigError(shown, [("", problem)]) from None
    try:
        tree = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(shown, [("", f"invalid YAML: {where}{e.problem or e.context}")]) from None
    except yaml.YAMLError as e:  # e.g. a control character; its str() spans several lines
        raise ConfigError(shown, [("", f"invalid YAML: {str(e).splitlines()[0]}")]) from None
    yaml_cache.put(shown, data, _PARSER, tree)
    return tree


def _check_references(parts: dict[str, Any], members_ok: bool) -> Problems:
    problems: Problems = []
    ids: set[str] = set()
    owners: dict[tuple[str, str], str] = {}  # (platform, user) -> member id
    emails: dict[str, str] = {}  # email -> member id
    for i, m in parts.get("members", {}).items():
        if m.id in ids:
            problems.append((("members", i, "id"), f"duplicate member id {m.id!r}"))
        ids.add(m.id)
        if m.email and emails.setdefault(m.email, m.id) != m.id:
            problems.append((("members", i, "email"), f"{m.email} is already the email of member {emails[m.email]!r}"))
        for platform, user in m.platforms.items():
            owner = owners.setdefault((platform, user), m.id)
            if owner != m.id:
                msg = f"{platform} user {user!r} already belongs to member {owner!r}"
                problems.append((("members", i, "platforms", platform), msg))

    def refs(loc: Loc, values: Sequence[str]) -> None:
        if members_ok:
            for j, v in enumerate(values):
                if v not in ids:
                    problems.append(((*loc, j), f"unknown member id {v!r}"))

    if parts.get("movement"):
        refs(("movement", "coordinators"), parts["movement"].coordinators)
    seen: set[str] = set()
    for i, c in parts.get("coalitions", {}).items():
        if c.id in seen:
            problems.append((("coalitions", i, "id"), f"duplicate coalition id {c.id!r}"))
        seen.add(c.id)
        refs(("coalitions", i, "leaders"), c.leaders)
        refs(("coalitions", i, "members"), c.members)
    return problems


def _check_principles(principles: Mapping[int, Principle]) -> Problems:
    # The bot refers to principles by number ("principle 3"), so numbers must be 1..n.
    for i, p in principles.items():
        if p.number != i + 1:
            msg = f"expected {i + 1}; principles are numbered 1, 2, 3, … in order"
            return [(("principles", i, "number"), msg)]
    return []


def _check_schedules(parts: dict[str, Any]) -> Problems:
    problems: Problems = []
    coalitions = {c.id for c in parts.get("coalitions", {}).values()}
    seen: set[str] = set()
    for i, schedule in (parts.get("schedules") or {}).items():
        if schedule.id in seen:
            problems.append((("schedules", i, "id"), f"duplicate schedule id {schedule.id!r}"))
        seen.add(schedule.id)
        for j, c in enumerate(schedule.coalitions):
            if coalitions and c not in coalitions:
                problems.append((("schedules", i, "coalitions", j), f"unknown coalition id {c!r}"))
        if schedule.starts_on is not None:
            try:
                Date.fromisoformat(schedule.starts_on)
            except ValueError:
                problems.append((("schedules", i, "starts_on"), f"{schedule.starts_on!r} is not a date; write YYYY-MM-DD"))
    return problems


def english(defaults: Mapping[str, str] | None) -> dict[str, str]:
    """The English source: the core's texts, then the flows' and reports' (the caller's)."""
    core = {f"{group}.{key}": text for group, keys in TEXTS.items() for key, text in keys.items()}
    return core | dict(defaults or {})


def _merge_prompts(tree: Any, library: Mapping[str, str] | None, language: str, problems: Problems) -> dict:
    """app.yaml's rewordings per language: `prompts: {da: {story: {title: …}}}`; a flow at
    the top (`prompts: {story: …}`) rewords the movement's own language. Without a library
    (a test's bare config) any key is taken."""
    rewordings: dict[str, dict[str, str]] = {}
    if tree is None:
        return rewordings
    if not isinstance(tree, dict):
        problems.append((("prompts",), f"expected a mapping of prompt keys to texts, got {_short(tree)}"))
        return rewordings
    groups = {k.split(".")[0] for k in library or ()}
    for top, node in tree.items():
        if str(top) in SUPPORTED:
            _reword(node, (str(top),), library, rewordings.setdefault(str(top), {}), problems)
        elif isinstance(top, str) and re.fullmatch(r"[a-z]{2}", top) and top not in groups:
            msg = f"{top!r} is not a supported language; use one of: {', '.join(SUPPORTED)}"
            problems.append((("prompts", top), msg))
        else:
            _reword({top: node}, (), library, rewordings.setdefault(language, {}), problems)
    return {code: texts for code, texts in rewordings.items() if texts}


def _reword(node: Any, prefix: tuple[str, ...], library: Mapping[str, str] | None, out: dict[str, str],
            problems: Problems) -> None:
    known = set(library) if library is not None else None
    skip = len(prefix)  # a language code is part of the location, not of the key

    def walk(node: Any, loc: tuple[str, ...]) -> None:
        if not isinstance(node, dict):
            msg = f"expected a mapping of prompt keys to texts, got {_short(node)}"
            problems.append((("prompts", *loc), msg))
            return
        for k, v in node.items():
            here = (*loc, str(k))
            key = ".".join(here[skip:])
            if isinstance(v, dict):
                walk(v, here)
            elif known is not None and key not in known:
                problems.append((("prompts", *here), _unknown_prompt(here[skip:], known)))
            elif not isinstance(v, str) or not v.strip():
                problems.append((("prompts", *here), f"expected non-empty text, got {_short(v)}"))
            elif problem := _placeholder_problem(v, (library or {}).get(key)):
                problems.append((("prompts", *here), problem))
            else:
                out[key] = v.strip()

    walk(node, prefix)


def _placeholder_problem(text: str, default: str | None) -> str | None:
    """A reworded prompt may drop {placeholders} but not invent ones the flow cannot fill."""
    used = placeholders(text)
    if used is None:
        return "unmatched '{' or '}'; write {{ or }} for a literal brace"
    allowed = placeholders(default) or set() if default is not None else used
    unknown = sorted(used - allowed)
    if not unknown:
        return None
    offered = ", ".join("{" + a + "}" for a in sorted(allowed)) or "none"
    return f"unknown placeholder {{{unknown[0]}}}; this prompt can use: {offered}"


def _unknown_prompt(loc: tuple[str, ...], known: set[str]) -> str:
    flow = loc[0]
    keys = sorted(k[len(flow) + 1 :] for k in known if k.startswith(flow + "."))
    if not keys:
        flows = sorted({k.split(".")[0] for k in known})
        return f"unknown flow {flow!r}; known flows: {_listing(flows)}"
    if len(loc) == 1:  # `story: "text"` instead of `story: {title: "text"}`
        return f"expected the texts of {flow!r} by key; known keys: {_listing(keys)}"
    return f"unknown prompt key; known keys for {flow!r}: {_listing(keys)}"


# --- turning pydantic errors into one readable line -------------------------------------------


def _pydantic_problem(model: type[_Model], err: Mapping[str, Any]) -> tuple[Loc, str] | None:
    loc, kind, ctx, value = err["loc"], err["type"], err.get("ctx", {}), err.get("input")
    if kind == "extra_forbidden":  # our models are flat, so the key belongs to `model`
        return loc[:-1], _unknown_key(loc[-1], list(model.model_fields))
    if kind == "too_short" and isinstance(value, (list, tuple)) and len(value) >= ctx["min_length"]:
        return None  # pydantic counts only the valid items; the items' own errors say why
    if value is None and kind != "missing":
        return loc, "must not be empty"
    got = f", got {_short(value)}"
    messages = {
        "missing": "required key is missing",
        "value_error": str(ctx.get("error")),
        "int_type": "expected a whole number" + got,
        "int_parsing": "expected a whole number" + got,
        "int_from_float": "expected a whole number" + got,
        "bool_type": "expected true or false" + got,
        "bool_parsing": "expected true or false" + got,
        "string_type": "expected text" + got,
        "string_too_short": "must not be empty",
        "too_short": f"must have at least {ctx.get('min_length')} entry",
        "greater_than_equal": f"must be at least {ctx.get('ge')}" + got,
        "less_than_equal": f"must be at most {ctx.get('le')}" + got,
        "tuple_type": "expected a list" + got,
        "dict_type": "expected a mapping (key: value)" + got,
        "model_type": "expected a mapping (key: value)" + got,
    }
    return loc, messages.get(kind, err["msg"])


def _unknown_key(key: Any, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(key), list(allowed), n=1)
    return f"unknown key {key!r}" + (f"; did you mean {close[0]!r}?" if close else "")


def _file_order(problem: tuple[Loc, str]) -> tuple[int, int]:
    """Section, then list item: the order a reader meets them in the file."""
    loc = problem[0]
    if not loc:
        return -1, -1
    item = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else -1
    return list(_SECTIONS).index(str(loc[0])), item


def _format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _listing(names: Sequence[str], cap: int = 12) -> str:
    return ", ".join(names[:cap]) + (", …" if len(names) > cap else "")
