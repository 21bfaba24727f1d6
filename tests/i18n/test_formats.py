"""Dates, times, numbers and lists come from Babel in the member's language."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

from tests.support import texts

DA, EN = texts("da"), texts("en")


def test_danish_dates_times_numbers_and_percentages():
    assert DA.date(date(2026, 12, 2)) == "2. dec. 2026"
    assert DA.time(time(9, 0)) == "09.00"
    assert DA.number(12.5) == "12,5" and DA.number(3.0) == "3,0"
    assert DA.percent(0.125).replace("\xa0", " ") == "12,5 %"
    assert DA.percent(0.5).replace("\xa0", " ") == "50 %"
    assert DA.listing(["unge", "forældre", "lærere"]) == "unge, forældre og lærere"
    assert DA.weekday(0) == "mandag"


def test_a_moment_in_the_coalitions_zone_reads_naturally():
    at = datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc)  # 09.00 in Copenhagen
    assert DA.when(at, "Europe/Copenhagen") == "ons. 2. dec. kl. 09.00"
    assert EN.when(at, "Europe/Copenhagen") == "Wed, Dec 2 at 9:00\u202fAM"


def test_english_formats_stay_english():
    assert EN.date(date(2026, 12, 2)) == "Dec 2, 2026"
    assert EN.number(12.5) == "12.5" and EN.percent(0.125) == "12.5%"
    assert EN.listing(["a", "b", "c"]) == "a, b, and c"


def test_commands_are_shown_in_the_members_words():
    assert DA.command("checkin close") == "indtjek luk"
    assert DA.command("impact 12") == "effekt 12"
    assert DA.command("reflect 3") == "refleksion 3"
    assert EN.command("checkin close") == "checkin close"


def test_why_a_member_was_unreachable_reads_in_the_leaders_language():
    from bot.messages import reason

    assert reason("account_inactive", DA) == "kontoen er deaktiveret"
    assert reason("ConversationBlockedByUser", EN) == "they blocked the app"
    assert reason("HTTP 418", DA) == "`HTTP 418`"  # a code the library does not know: shown as it is
