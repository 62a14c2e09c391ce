"""Duty hours as pure functions: shifts, overrides, time zones and their clock changes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from revier.errors import BadJson, InvalidParam
from revier.policy.duty_hours import (
    DutyRules,
    Override,
    next_change,
    next_duty_start,
    on_duty,
    override_json,
    parse_override,
    parse_schedule,
    time_zone,
)

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS_7_TO_16 = {day: ["07:00-16:00"] for day in ("mon", "tue", "wed", "thu", "fri")}


def at(text: str, zone: ZoneInfo = BERLIN) -> int:
    """Milliseconds of a local wall time ("2026-03-02 22:00", a Monday)."""
    return int(datetime.fromisoformat(text).replace(tzinfo=zone).timestamp() * 1000)


def rules(schedule: object, *overrides: Override, zone: ZoneInfo = BERLIN) -> DutyRules:
    return DutyRules(zone, parse_schedule(schedule), overrides)


def test_no_schedule_is_always_on_duty() -> None:
    always = DutyRules(BERLIN, None)
    assert on_duty(always, at("2026-03-02 03:00"))
    assert next_change(always, at("2026-03-02 03:00")) is None


def test_weekday_shift_in_the_tenants_time_zone() -> None:
    r = rules(WEEKDAYS_7_TO_16)
    assert not on_duty(r, at("2026-03-02 22:00"))  # Monday night
    assert not on_duty(r, at("2026-03-03 06:59"))
    assert on_duty(r, at("2026-03-03 07:00"))
    assert on_duty(r, at("2026-03-03 15:59"))
    assert not on_duty(r, at("2026-03-03 16:00"))  # the end is exclusive
    assert not on_duty(r, at("2026-03-07 10:00"))  # Saturday
    assert next_change(r, at("2026-03-02 22:00")) == at("2026-03-03 07:00")
    assert next_change(r, at("2026-03-03 08:00")) == at("2026-03-03 16:00")
    # Friday evening: the next start is Monday morning.
    assert next_duty_start(r, at("2026-03-06 17:00")) == at("2026-03-09 07:00")
    assert next_duty_start(r, at("2026-03-03 08:00")) == at("2026-03-03 08:00")


def test_the_same_schedule_read_in_another_zone_moves_with_it() -> None:
    utc = rules(WEEKDAYS_7_TO_16, zone=ZoneInfo("UTC"))
    # 07:30 in Berlin (winter) is 06:30 UTC: not yet on duty there.
    assert not on_duty(utc, at("2026-03-03 07:30"))
    assert on_duty(utc, at("2026-03-03 08:30"))


def test_a_night_shift_runs_into_the_next_day() -> None:
    r = rules({"fri": ["22:00-06:00"]})
    assert on_duty(r, at("2026-03-06 23:00"))
    assert on_duty(r, at("2026-03-07 05:59"))  # Saturday morning, Friday's shift
    assert not on_duty(r, at("2026-03-07 06:00"))
    assert not on_duty(r, at("2026-03-05 23:00"))  # Thursday
    assert next_change(r, at("2026-03-06 23:00")) == at("2026-03-07 06:00")


def test_adjacent_shifts_are_one_duty_period() -> None:
    r = rules({"mon": ["07:00-12:00", "12:00-16:00"]})
    assert next_change(r, at("2026-03-02 08:00")) == at("2026-03-02 16:00")


def test_off_duty_now_until_the_shift_ends_by_itself() -> None:
    off = Override(on_duty=False, since_ms=at("2026-03-03 10:00"))
    r = rules(WEEKDAYS_7_TO_16, off)
    assert on_duty(r, at("2026-03-03 09:59"))
    assert not on_duty(r, at("2026-03-03 10:00"))
    # The override ends where the schedule changes (16:00); the next shift counts again.
    assert on_duty(r, at("2026-03-04 07:00"))
    assert next_change(r, at("2026-03-03 11:00")) == at("2026-03-04 07:00")


def test_on_duty_now_until_a_given_time() -> None:
    on_call = Override(
        on_duty=True, since_ms=at("2026-03-07 10:00"), until_ms=at("2026-03-07 14:00")
    )
    r = rules(WEEKDAYS_7_TO_16, on_call)
    assert on_duty(r, at("2026-03-07 12:00"))  # a Saturday
    assert next_change(r, at("2026-03-07 12:00")) == at("2026-03-07 14:00")
    assert not on_duty(r, at("2026-03-07 14:00"))


def test_the_first_override_wins() -> None:
    org = Override(on_duty=False, since_ms=at("2026-03-03 08:00"), until_ms=at("2026-03-03 12:00"))
    own = Override(on_duty=True, since_ms=at("2026-03-03 07:00"), until_ms=at("2026-03-03 20:00"))
    r = rules(WEEKDAYS_7_TO_16, org, own)
    assert not on_duty(r, at("2026-03-03 09:00"))
    assert on_duty(r, at("2026-03-03 18:00"))


def test_spring_forward_a_shift_in_the_skipped_hour_starts_when_it_ends() -> None:
    # 2026-03-29: Berlin skips 02:00-03:00 (CET to CEST).
    r = rules({"sun": ["02:30-08:00"]})
    start = next_change(r, at("2026-03-29 01:00"))
    assert start == at("2026-03-29 03:00")
    assert not on_duty(r, start - 1)
    assert on_duty(r, start)


def test_fall_back_the_repeated_hour_counts_once() -> None:
    # 2026-10-25: Berlin repeats 02:00-03:00 (CEST to CET).
    r = rules({"sat": ["18:00-02:30"]})
    end = next_change(r, at("2026-10-24 20:00"))
    first_0230 = int(datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN, fold=0).timestamp() * 1000)
    assert end == first_0230
    second_0215 = int(datetime(2026, 10, 25, 2, 15, tzinfo=BERLIN, fold=1).timestamp() * 1000)
    assert not on_duty(r, second_0215)
    # A night shift over the change lasts one hour longer: wall clock hours.
    night = rules({"sat": ["22:00-06:00"]})
    assert (at("2026-10-25 06:00") - at("2026-10-24 22:00")) == 9 * 3_600_000
    assert on_duty(night, second_0215)


def test_an_empty_schedule_is_never_on_duty() -> None:
    r = rules({})
    assert not on_duty(r, at("2026-03-03 10:00"))
    assert next_change(r, at("2026-03-03 10:00")) is None


@pytest.mark.parametrize(
    ("schedule", "error", "says"),
    [
        ([], BadJson, "object of weekdays"),
        ({"monday": ["07:00-16:00"]}, InvalidParam, "not a weekday"),
        ({"mon": "07:00-16:00"}, BadJson, "list of shifts"),
        ({"mon": ["7-16"]}, InvalidParam, "not a shift"),
        ({"mon": ["07:00-24:30"]}, InvalidParam, "ends after 24:00"),
        ({"mon": ["25:00-26:00"]}, InvalidParam, "not a shift"),
        ({"mon": ["07:00-07:00"]}, InvalidParam, "empty"),
        ({"mon": ["07:00-08:00"] * 9}, InvalidParam, "at most"),
    ],
)
def test_bad_schedules_say_what_is_wrong(
    schedule: object, error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says):
        parse_schedule(schedule)


def test_until_midnight_and_time_zone_names() -> None:
    r = rules({"sun": ["20:00-24:00"]})
    assert next_change(r, at("2026-03-01 21:00")) == at("2026-03-02 00:00")
    assert time_zone("Europe/Berlin") == BERLIN
    with pytest.raises(ValueError, match="time zone"):
        time_zone("Mars/Olympus")


def test_duty_switches_from_json() -> None:
    now = at("2026-03-03 10:00")
    off = parse_override({"state": "off"}, now)
    assert off == Override(on_duty=False, since_ms=now)
    assert override_json(off) == {"state": "off", "since": now, "until": None}
    on = parse_override({"state": "on", "until": now + 1000}, now)
    assert (on.on_duty, on.until_ms) == (True, now + 1000)
    for bad in ({"state": "maybe"}, {"state": "on", "until": "soon"}, []):
        with pytest.raises(BadJson):
            parse_override(bad, now)
    with pytest.raises(InvalidParam, match="past"):
        parse_override({"state": "on", "until": now - 1}, now)
