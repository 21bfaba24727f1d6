"""Scheduling in members' own time zones: recurring prompts fire at the local wall-clock time,
exactly once per scheduled day across daylight-saving changes, and deliveries wait out quiet
hours and non-work days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.timing import (
    DEFAULT_ANCHOR,
    deliverable,
    fire_time,
    local_now,
    occurrences,
    period_index,
)

CPH = ZoneInfo("Europe/Copenhagen")
NY = ZoneInfo("America/New_York")
ZONES = [CPH, NY, ZoneInfo("Asia/Kolkata"), ZoneInfo("Australia/Lord_Howe"), ZoneInfo("Pacific/Chatham"), ZoneInfo("UTC")]
EVERY_DAY = frozenset(range(7))
MON_FRI = frozenset(range(5))
WEEKLY = (1, "week")
NIGHT = (time(20), time(8))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold)


def daily(at: time, zone: ZoneInfo, around: date, days: int = 1) -> list[tuple[date, datetime]]:
    """A daily schedule's runs over the local days `around` +- `days`."""
    after = datetime.combine(around - timedelta(days=days), time(0), tzinfo=zone)
    until = datetime.combine(around + timedelta(days=days + 1), time(0), tzinfo=zone)
    return occurrences(EVERY_DAY, at, WEEKLY, zone, after, until)


# --- fire_time ------------------------------------------------------------------------------


@pytest.mark.parametrize("zone,day,at,expected,wall", [
    (CPH, date(2026, 3, 29), time(2, 30), utc(2026, 3, 29, 1, 30), time(3, 30)),  # gap: moved forward
    (CPH, date(2026, 10, 25), time(2, 30), utc(2026, 10, 25, 0, 30), time(2, 30)),  # twice: the first (CEST)
    (NY, date(2026, 3, 8), time(2, 30), utc(2026, 3, 8, 7, 30), time(3, 30)),
    (NY, date(2026, 11, 1), time(1, 30), utc(2026, 11, 1, 5, 30), time(1, 30)),  # twice: the first (EDT)
    (ZoneInfo("Australia/Lord_Howe"), date(2026, 10, 4), time(2, 15), utc(2026, 10, 3, 15, 45), time(2, 45)),
])
def test_fire_time_moves_gap_times_forward_and_takes_the_first_of_a_repeated_time(zone, day, at, expected, wall):
    fired = fire_time(day, at, zone)
    assert fired == expected and fired.tzinfo is UTC
    assert local_now(fired, zone).date() == day and local_now(fired, zone).time() == wall


# --- daylight-saving changes: one run per local day ------------------------------------------

# (zone, day of the change, wall time, UTC instant the day before / on the day / the day after)
CHANGES = [
    (CPH, date(2026, 3, 29), time(9), [utc(2026, 3, 28, 8), utc(2026, 3, 29, 7), utc(2026, 3, 30, 7)]),
    (CPH, date(2026, 3, 29), time(2, 30), [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]),
    (CPH, date(2026, 10, 25), time(9), [utc(2026, 10, 24, 7), utc(2026, 10, 25, 8), utc(2026, 10, 26, 8)]),
    (CPH, date(2026, 10, 25), time(2, 30), [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]),
    (NY, date(2026, 3, 8), time(9), [utc(2026, 3, 7, 14), utc(2026, 3, 8, 13), utc(2026, 3, 9, 13)]),
    (NY, date(2026, 3, 8), time(2, 30), [utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 30), utc(2026, 3, 9, 6, 30)]),
    (NY, date(2026, 11, 1), time(9), [utc(2026, 10, 31, 13), utc(2026, 11, 1, 14), utc(2026, 11, 2, 14)]),
    (NY, date(2026, 11, 1), time(2, 30), [utc(2026, 10, 31, 6, 30), utc(2026, 11, 1, 7, 30), utc(2026, 11, 2, 7, 30)]),
    (NY, date(2026, 11, 1), time(1, 30), [utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]),
]
CHANGE_IDS = [f"{z.key}-{d}-{t:%H%M}" for z, d, t, _ in CHANGES]


@pytest.mark.parametrize("zone,change,at,expected", CHANGES, ids=CHANGE_IDS)
def test_a_daily_schedule_runs_once_per_local_day_across_a_dst_change(zone, change, at, expected):
    runs = daily(at, zone, change)

    assert [day for day, _ in runs] == [change - timedelta(days=1), change, change + timedelta(days=1)]
    assert [fired for _, fired in runs] == expected
    for day, fired in runs:
        shown = local_now(fired, zone)
        assert shown.date() == day
        # the wall clock shows the scheduled time, except inside the spring gap (an hour later)
        assert shown.time() == at or (day == change and shown.time() == time(at.hour + 1, at.minute))


@pytest.mark.parametrize("zone,change,at,expected", CHANGES, ids=CHANGE_IDS)
def test_a_scheduler_ticking_every_five_minutes_through_the_change_neither_skips_nor_doubles(zone, change, at, expected):
    start = datetime.combine(change - timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    ticks = [start + timedelta(minutes=5 * i) for i in range(3 * 24 * 12 + 1)]
    runs = [run for a, b in zip(ticks, ticks[1:]) for run in occurrences(EVERY_DAY, at, WEEKLY, zone, a, b)]
    assert [fired for _, fired in runs] == expected


@pytest.mark.parametrize("zone", [CPH, NY], ids=lambda z: z.key)
def test_a_weekly_monday_0900_schedule_runs_on_every_monday_of_2026_at_0900_local(zone):
    runs = occurrences(frozenset({0}), time(9), WEEKLY, zone, local(zone, 2026, 1, 1), local(zone, 2027, 1, 1))

    mondays = [date(2026, 1, 5) + timedelta(weeks=w) for w in range(52)]
    assert [day for day, _ in runs] == mondays and mondays[-1] == date(2026, 12, 28)
    assert all(local_now(fired, zone).replace(tzinfo=None) == datetime.combine(day, time(9)) for day, fired in runs)


def test_a_run_exactly_at_a_window_edge_belongs_to_the_window_it_ends():
    fired = fire_time(date(2026, 1, 5), time(9), CPH)
    assert occurrences(EVERY_DAY, time(9), WEEKLY, CPH, fired - timedelta(hours=1), fired) == [(date(2026, 1, 5), fired)]
    assert occurrences(EVERY_DAY, time(9), WEEKLY, CPH, fired, fired + timedelta(hours=1)) == []


def test_window_ends_may_be_given_in_any_zone():
    # 09:00 in Kolkata on Jan 6 is Jan 5 in New York: the window is the same instants either way
    after, until = utc(2026, 1, 5, 0), utc(2026, 1, 7, 0)
    kolkata = ZoneInfo("Asia/Kolkata")
    runs = occurrences(EVERY_DAY, time(9), WEEKLY, kolkata, after.astimezone(NY), until.astimezone(ZoneInfo("Pacific/Chatham")))
    assert runs == [(date(2026, 1, 5), utc(2026, 1, 5, 3, 30)), (date(2026, 1, 6), utc(2026, 1, 6, 3, 30))]


def test_naive_datetimes_are_refused_rather_than_read_as_server_time():
    with pytest.raises(ValueError, match="timezone-aware"):
        occurrences(EVERY_DAY, time(9), WEEKLY, CPH, datetime(2026, 1, 1), utc(2026, 1, 2))
    with pytest.raises(ValueError, match="timezone-aware"):
        deliverable(datetime(2026, 1, 1, 12), CPH, MON_FRI, NIGHT)


# --- every N weeks / months --------------------------------------------------------------------


def test_every_two_weeks_fires_on_alternate_weeks_counted_from_the_anchor():
    runs = occurrences(frozenset({0, 2}), time(9), (2, "week"), CPH, utc(2026, 1, 1), utc(2026, 2, 10))
    assert [day for day, _ in runs] == [
        date(2026, 1, 5), date(2026, 1, 7), date(2026, 1, 19), date(2026, 1, 21), date(2026, 2, 2), date(2026, 2, 4),
    ]
    assert [period_index(d, (2, "week")) for d in (date(2026, 1, 7), date(2026, 1, 14), date(2026, 1, 19))] == [0, None, 1]


def test_every_month_fires_on_the_first_monday_of_each_month_only():
    runs = occurrences(frozenset({0}), time(9), (1, "month"), CPH, utc(2026, 1, 1), utc(2027, 1, 1))
    assert [day for day, _ in runs] == [
        date(2026, 1, 5), date(2026, 2, 2), date(2026, 3, 2), date(2026, 4, 6), date(2026, 5, 4), date(2026, 6, 1),
        date(2026, 7, 6), date(2026, 8, 3), date(2026, 9, 7), date(2026, 10, 5), date(2026, 11, 2), date(2026, 12, 7),
    ]


def test_every_three_months_fires_on_the_first_monday_of_every_third_month_from_the_anchor():
    runs = occurrences(frozenset({0}), time(9), (3, "month"), NY, utc(2026, 1, 1), utc(2027, 1, 1))
    assert [day for day, _ in runs] == [date(2026, 1, 5), date(2026, 4, 6), date(2026, 7, 6), date(2026, 10, 5)]
    assert period_index(date(2026, 4, 13), (3, "month")) is None  # second Monday: not "the first"


def test_nothing_fires_before_the_anchor():
    assert period_index(date(2025, 12, 29), WEEKLY) is None
    assert period_index(date(2025, 12, 1), (1, "month")) is None
    assert period_index(date(2026, 1, 1), WEEKLY) is None  # a Thursday in the week before the anchor's
    assert period_index(date(2026, 1, 11), WEEKLY) == 0  # the Sunday ending the anchor's week
    assert occurrences(EVERY_DAY, time(9), WEEKLY, CPH, utc(2025, 12, 20), utc(2025, 12, 28)) == []
    assert DEFAULT_ANCHOR.weekday() == 0


@pytest.mark.parametrize("every", [(0, "week"), (1, "day"), (-2, "month")])
def test_a_nonsense_period_is_refused(every):
    with pytest.raises(ValueError, match="every"):
        occurrences(EVERY_DAY, time(9), every, CPH, utc(2026, 1, 1), utc(2026, 1, 8))


# --- tiling property ---------------------------------------------------------------------------

MINUTES_IN_40_DAYS = 40 * 24 * 60


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    at=st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45, 59])),
    weekdays=st.frozensets(st.integers(0, 6), min_size=1),
    every=st.tuples(st.integers(1, 3), st.sampled_from(["week", "month"])),
    start=st.integers(0, 364 * 24 * 60).map(lambda m: utc(2026, 1, 1) + timedelta(minutes=m)),
    cuts=st.lists(st.integers(1, MINUTES_IN_40_DAYS), max_size=25, unique=True),
    data=st.data(),
)
def test_consecutive_windows_together_yield_exactly_the_whole_window(zone, at, weekdays, every, start, cuts, data):
    end = start + timedelta(minutes=MINUTES_IN_40_DAYS)
    whole = occurrences(weekdays, at, every, zone, start, end)

    # Cut also exactly on some runs, and express each edge in some zone: any zone will do.
    on_runs = data.draw(st.lists(st.sampled_from([f for _, f in whole]), max_size=5) if whole else st.just([]))
    edges = sorted({start, end, *(start + timedelta(minutes=m) for m in cuts), *on_runs})
    edges = [e.astimezone(data.draw(st.sampled_from(ZONES))) for e in edges]
    pieces = [run for a, b in zip(edges, edges[1:]) for run in occurrences(weekdays, at, every, zone, a, b)]

    assert pieces == whole
    assert len({day for day, _ in whole}) == len(whole)
    # and the whole window is exactly what a day-by-day check over a wider range finds
    first = start.astimezone(zone).date() - timedelta(days=3)
    expected = [
        (d, fire_time(d, at, zone))
        for d in (first + timedelta(days=i) for i in range(47))
        if d.weekday() in weekdays and period_index(d, every) is not None and start < fire_time(d, at, zone) <= end
    ]
    assert whole == expected


# --- deliverable -------------------------------------------------------------------------------


@pytest.mark.parametrize("at,quiet,expected", [
    (local(CPH, 2026, 1, 9, 21), NIGHT, local(CPH, 2026, 1, 12, 8)),  # Friday evening -> Monday morning
    (local(CPH, 2026, 1, 6, 23, 30), NIGHT, local(CPH, 2026, 1, 7, 8)),  # Tuesday night -> Wednesday 08:00
    (local(CPH, 2026, 1, 7, 3), NIGHT, local(CPH, 2026, 1, 7, 8)),  # small hours -> same morning
    (local(CPH, 2026, 1, 7, 20), NIGHT, local(CPH, 2026, 1, 8, 8)),  # quiet starts at 20:00 sharp
    (local(CPH, 2026, 1, 7, 12, 15), (time(12), time(13)), local(CPH, 2026, 1, 7, 13)),  # lunch -> 13:00
    (local(CPH, 2026, 1, 7, 12), (time(12), time(13)), local(CPH, 2026, 1, 7, 13)),
    (local(CPH, 2026, 1, 10, 10), None, local(CPH, 2026, 1, 12, 0)),  # Saturday -> Monday as it begins
    (local(CPH, 2026, 1, 10, 10), NIGHT, local(CPH, 2026, 1, 12, 8)),  # Saturday -> Monday after quiet
    (local(NY, 2026, 1, 9, 17, 30), (time(17), time(9)), local(NY, 2026, 1, 12, 9)),
])
def test_a_delivery_in_quiet_hours_or_off_days_waits_for_the_next_allowed_moment(at, quiet, expected):
    got = deliverable(at, at.tzinfo, MON_FRI, quiet)
    assert got == expected and got.tzinfo is UTC


@pytest.mark.parametrize("at,quiet", [
    (local(CPH, 2026, 1, 7, 10), NIGHT),
    (local(CPH, 2026, 1, 7, 8), NIGHT),  # quiet ends at 08:00: 08:00 itself is fine
    (local(CPH, 2026, 1, 7, 19, 59), NIGHT),
    (local(CPH, 2026, 1, 7, 11, 59), (time(12), time(13))),
    (local(CPH, 2026, 1, 7, 13), (time(12), time(13))),
    (local(CPH, 2026, 1, 7, 3), (time(8), time(8))),  # start == end: never quiet
    (local(CPH, 2026, 1, 7, 3), None),
])
def test_an_instant_that_is_already_fine_is_returned_unchanged(at, quiet):
    got = deliverable(at, CPH, MON_FRI, quiet)
    assert got == at and got.tzinfo is UTC


def test_an_instant_given_in_another_zone_is_judged_in_the_members_zone():
    tokyo_evening = datetime(2026, 1, 7, 18, tzinfo=ZoneInfo("Asia/Tokyo"))  # 10:00 in Copenhagen
    assert deliverable(tokyo_evening, CPH, MON_FRI, NIGHT) == tokyo_evening
    assert deliverable(tokyo_evening, ZoneInfo("Asia/Tokyo"), MON_FRI, (time(17), time(9))) == local(
        ZoneInfo("Asia/Tokyo"), 2026, 1, 8, 9
    )


def test_no_work_days_means_every_day_is_a_work_day():
    saturday = local(CPH, 2026, 1, 10, 10)
    assert deliverable(saturday, CPH, frozenset(), NIGHT) == saturday
    assert deliverable(local(CPH, 2026, 1, 10, 21), CPH, frozenset(), NIGHT) == local(CPH, 2026, 1, 11, 8)


@pytest.mark.parametrize("zone,night,expected_utc", [
    (CPH, local(CPH, 2026, 3, 29, 1), utc(2026, 3, 29, 1, 30)),  # 02:30 does not exist -> 03:30 CEST
    (NY, local(NY, 2026, 3, 8, 1), utc(2026, 3, 8, 7, 30)),  # -> 03:30 EDT
])
def test_a_quiet_end_in_the_spring_gap_moves_forward_like_fire_time(zone, night, expected_utc):
    got = deliverable(night, zone, EVERY_DAY, (time(22), time(2, 30)))
    assert got == expected_utc == fire_time(night.date(), time(2, 30), zone)
    assert local_now(got, zone).time() == time(3, 30)


def test_in_the_repeated_autumn_hour_quiet_ends_when_the_wall_clock_next_shows_the_end():
    quiet = (time(1), time(2, 30))
    first_pass = local(CPH, 2026, 10, 25, 2, 15)  # CEST
    second_pass = local(CPH, 2026, 10, 25, 2, 15, fold=1)  # CET, an hour later
    assert deliverable(first_pass, CPH, EVERY_DAY, quiet) == utc(2026, 10, 25, 0, 30)  # 02:30 CEST
    assert deliverable(second_pass, CPH, EVERY_DAY, quiet) == utc(2026, 10, 25, 1, 30)  # 02:30 CET


def _fine(instant: datetime, zone: ZoneInfo, work_days: frozenset[int], quiet: tuple[time, time]) -> bool:
    shown = local_now(instant, zone)
    start, end = quiet
    clock = shown.time()
    in_quiet = start <= clock < end if start <= end else (clock >= start or clock < end)
    return shown.weekday() in (work_days or EVERY_DAY) and not in_quiet


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    at=st.integers(0, 365 * 24 * 60).map(lambda m: utc(2026, 1, 1) + timedelta(minutes=m)),
    work_days=st.frozensets(st.integers(0, 6)),
    quiet=st.tuples(*[st.builds(time, st.integers(0, 23), st.sampled_from([0, 30])) for _ in range(2)]),
)
def test_a_delivery_lands_on_an_allowed_moment_no_earlier_than_asked(zone, at, work_days, quiet):
    got = deliverable(at, zone, work_days, quiet)
    assert got >= at and got - at < timedelta(days=8)
    assert _fine(got, zone, work_days, quiet)
    assert deliverable(got, zone, work_days, quiet) == got
    # and nothing earlier would do (zones without DST: no gap to move past)
    if zone.key in ("UTC", "Asia/Kolkata") and got > at:
        assert not _fine(got - timedelta(microseconds=1), zone, work_days, quiet)
