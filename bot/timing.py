"""When recurring prompts fire, and when a delivery may land, in each member's own time zone.

Pure functions on timezone-aware datetimes; every datetime returned is UTC. A schedule is a
wall-clock time resolved once per *local day*, and windows are half-open `(after, until]`,
so a daylight-saving change can neither skip nor double a run: each local day has exactly one
fire instant, and it falls in exactly one of any set of windows that tile time.

Weekdays are numbered like `date.weekday()`: Monday 0 .. Sunday 6.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_ANCHOR = date(2026, 1, 5)  # a Monday; "every N weeks/months" counts from here
ALL_DAYS = frozenset(range(7))
_UNITS = ("week", "month")
_DAY = timedelta(days=1)


def utcnow() -> datetime:
    """Now, timezone-aware: the clock the engine, scheduler and delivery default to."""
    return datetime.now(UTC)


def local_now(at: datetime, zone: ZoneInfo) -> datetime:
    """`at` as wall-clock time in `zone`."""
    return _aware(at, "at").astimezone(zone)


def fire_time(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock `at` on local `day` in `zone`.

    A time that does not exist (spring-forward gap: 02:30 on 2026-03-29 in Europe/Copenhagen)
    moves forward by the gap (-> 03:30 local); an ambiguous one (autumn: 02:30 happens twice)
    is the first occurrence.
    """
    # PEP 495 fold=0 reads a gap time with the offset in force before the jump (so it lands
    # `gap` later on the wall clock) and a repeated time as its first occurrence: both as wanted.
    return _wall(day, at, zone).astimezone(UTC)


def period_index(day: date, every: tuple[int, str], anchor: date = DEFAULT_ANCHOR) -> int | None:
    """Which period `day` opens, or None if `day` is not in a firing period.

    (n, "week"): weeks counted between the Mondays of anchor's and day's weeks; fires when that
    count is >= 0 and a multiple of n. (n, "month"): only the first 7 days of a month (i.e. "the
    first <weekday> of the month"), months counted from anchor's month, same rule.
    """
    n, unit = _check_every(every)
    if unit == "week":
        count = (_monday(day) - _monday(anchor)).days // 7
    elif day.day > 7:  # monthly schedules fire on the first <weekday> of the month only
        return None
    else:
        count = (day.year - anchor.year) * 12 + day.month - anchor.month
    return count // n if count >= 0 and count % n == 0 else None


def occurrences(
    weekdays: Collection[int],
    at: time,
    every: tuple[int, str],
    zone: ZoneInfo,
    after: datetime,
    until: datetime,
    anchor: date = DEFAULT_ANCHOR,
) -> list[tuple[date, datetime]]:
    """Each `(local day, fire_time)` with a scheduled weekday in a firing period and
    `after < fire_time <= until`, in order. Consecutive windows yield exactly what their union does."""
    _check_every(every)
    # A day of slack each side: a gap crossing midnight can carry a day's run onto the next local
    # date (Pacific/Apia skipped 2011-12-30). The `after < fired <= until` test is what decides.
    day, last = local_now(after, zone).date() - _DAY, local_now(until, zone).date() + _DAY
    found = []
    while day <= last:
        if day.weekday() in weekdays and period_index(day, every, anchor) is not None:
            fired = fire_time(day, at, zone)
            if after < fired <= until:
                found.append((day, fired))
        day += _DAY
    return found


def deliverable(
    at: datetime, zone: ZoneInfo, work_days: Collection[int], quiet: tuple[time, time] | None
) -> datetime:
    """The first instant >= `at` that is, in `zone`, on a work day and outside quiet hours.

    quiet=(start, end) makes local [start, end) quiet; start > end spans midnight (20:00-08:00 is
    20:00..24:00 and 00:00..08:00); start == end is never quiet. An instant that is already fine
    comes back unchanged (as UTC); otherwise the answer is the moment quiet hours end, or a work
    day starts, e.g. Friday 21:00 with quiet 20:00-08:00 on mon-fri -> Monday 08:00. A quiet end
    inside a DST gap moves forward like `fire_time`. Empty `work_days` means every day.
    """
    days = frozenset(work_days) or ALL_DAYS

    def fine(instant: datetime) -> bool:
        local = local_now(instant, zone)
        return local.weekday() in days and not _is_quiet(local.time(), quiet)

    if fine(at):
        return at.astimezone(UTC)
    # Delivery can only become possible when quiet hours end or a new day starts; a work day is
    # at most a week away. Both instants of a repeated autumn hour count as an end.
    start = local_now(at, zone).date()
    edges = (time(0),) + ((quiet[1],) if quiet else ())
    return min(
        instant
        for offset in range(-1, 9)
        for edge in edges
        for instant in _wall_instants(start + offset * _DAY, edge, zone)
        if instant >= at and fine(instant)
    )


def _aware(value: datetime, name: str) -> datetime:
    # A naive datetime would silently be read as the server's own local time.
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    return value


def _check_every(every: tuple[int, str]) -> tuple[int, str]:
    n, unit = every
    if n < 1 or unit not in _UNITS:
        raise ValueError(f"every must be (n >= 1, 'week' | 'month'), got {every!r}")
    return n, unit


def _monday(day: date) -> date:
    return day - day.weekday() * _DAY


def _wall(day: date, at: time, zone: ZoneInfo, fold: int = 0) -> datetime:
    return datetime.combine(day, at.replace(fold=fold), tzinfo=zone)


def _wall_instants(day: date, at: time, zone: ZoneInfo) -> list[datetime]:
    """Every UTC instant showing `at` on `day`: both of a repeated autumn hour, else fire_time's one."""
    first, second = fire_time(day, at, zone), _wall(day, at, zone, fold=1).astimezone(UTC)
    return [first, second] if second > first else [first]  # fold=1 is earlier only inside a gap


def _is_quiet(clock: time, quiet: tuple[time, time] | None) -> bool:
    if quiet is None:
        return False
    start, end = quiet
    return start <= clock < end if start <= end else (clock >= start or clock < end)


def next_time(weekdays: Collection[int], at: time, every: tuple[int, str], zone: ZoneInfo, now: datetime,
              anchor: date = DEFAULT_ANCHOR) -> datetime | None:
    """When a schedule next fires after `now` (within 400 days), or None."""
    found = occurrences(weekdays, at, every, zone, now, now + timedelta(days=400), anchor)
    return found[0][1] if found else None
