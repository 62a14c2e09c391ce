"""Duty hours: when a user's phones may be woken by a push.

A schedule is weekly working hours in the tenant's time zone — per weekday a
list of ``"HH:MM-HH:MM"`` shifts, a shift past midnight (``"22:00-06:00"``)
ending on the next day. On top of it an override ("off duty now", "on duty
now") holds until a given time, or until the schedule next changes by itself.
No schedule at all means always on duty.

Everything is computed on instants, not on wall-clock readings: each shift of
each day becomes an interval of milliseconds, its ends found with
``_instant`` (the first instant whose local time is at or after the wall
time). So on the night clocks go forward a shift starting in the skipped hour
starts when the hour ends, and on the night they go back the repeated hour is
counted once: a shift ending at 02:30 ends at the first 02:30.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from revier.errors import BadJson, InvalidParam

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
_SHIFT = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$")
_DAY_MINUTES = 24 * 60
_MAX_SHIFTS_PER_DAY = 8
# Far enough ahead to see every shift of a weekly schedule at least once.
_HORIZON_DAYS = 9
# The end of an override that nothing ends (no schedule to change by itself).
_FOREVER = 2**62


@dataclass(frozen=True, slots=True)
class Shift:
    """Working time on one weekday, in minutes after local midnight: [start, end).
    ``end`` may pass 1440 for a shift that goes on into the next day."""

    weekday: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Schedule:
    shifts: tuple[Shift, ...]


@dataclass(frozen=True, slots=True)
class Override:
    """ "Off duty now" (``on_duty`` False) or "on duty now" from ``since_ms`` until
    ``until_ms``, or (None) until the schedule next changes by itself."""

    on_duty: bool
    since_ms: int
    until_ms: int | None = None


@dataclass(frozen=True, slots=True)
class DutyRules:
    """Everything that decides one user's duty: the tenant's time zone, the
    schedule in force (None: always on duty) and the overrides, strongest first
    (the organisation's before the user's own)."""

    zone: ZoneInfo
    schedule: Schedule | None
    overrides: tuple[Override, ...] = ()


def time_zone(name: str) -> ZoneInfo:
    """An IANA time zone ("Europe/Berlin"); ValueError if there is none by that name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"{name!r} is not a known IANA time zone") from e


def parse_schedule(value: Any) -> Schedule:
    """``{"mon": ["07:00-16:00"], "fri": ["22:00-06:00"], …}``; days left out are off.

    Raises ``BadJson`` for the wrong shape and ``InvalidParam`` for a time that
    is not one, so an admin or a client learns which shift is wrong."""
    if not isinstance(value, dict):
        raise BadJson("a duty schedule is an object of weekdays (mon … sun) to shift lists")
    shifts: list[Shift] = []
    for day, entries in value.items():
        if day not in WEEKDAYS:
            raise InvalidParam(f"{day!r} is not a weekday; use {', '.join(WEEKDAYS)}")
        if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
            raise BadJson(f'{day}: a list of shifts such as "07:00-16:00"')
        if len(entries) > _MAX_SHIFTS_PER_DAY:
            raise InvalidParam(f"{day}: at most {_MAX_SHIFTS_PER_DAY} shifts a day")
        shifts += [_shift(WEEKDAYS.index(day), day, e) for e in entries]
    return Schedule(tuple(sorted(shifts, key=lambda s: (s.weekday, s.start))))


def parse_override(value: Any, now_ms: int) -> Override:
    """``{"state": "off" | "on", "until": <ms> | null}``, starting now. Without
    ``until`` it holds until the schedule next changes by itself (the end of this
    shift for "off", the start of the next one for "on")."""
    if not isinstance(value, dict) or value.get("state") not in ("on", "off"):
        raise BadJson('a duty switch is {"state": "on" | "off", "until": <ms> | null}')
    until = value.get("until")
    if until is not None and (not isinstance(until, int) or isinstance(until, bool)):
        raise BadJson("'until' must be a timestamp in milliseconds, or null")
    if until is not None and until <= now_ms:
        raise InvalidParam("'until' is in the past")
    return Override(value["state"] == "on", now_ms, until)


def override_json(override: Override) -> dict[str, Any]:
    return {
        "state": "on" if override.on_duty else "off",
        "since": override.since_ms,
        "until": override.until_ms,
    }


def _shift(weekday: int, day: str, text: str) -> Shift:
    match = _SHIFT.match(text)
    if match is None:
        raise InvalidParam(f'{day}: {text!r} is not a shift such as "07:00-16:00"')
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end > _DAY_MINUTES:
        raise InvalidParam(f"{day}: {text!r} ends after 24:00")
    if end == start:
        raise InvalidParam(f"{day}: {text!r} is empty")
    # "22:00-06:00" goes on into the next morning.
    return Shift(weekday, start, end if end > start else end + _DAY_MINUTES)


def on_duty(rules: DutyRules, now_ms: int) -> bool:
    ends = [_override_end(rules, o) for o in rules.overrides]
    return _state(rules, ends, now_ms)


def next_change(rules: DutyRules, now_ms: int) -> int | None:
    """The first instant after ``now_ms`` at which ``on_duty`` changes; None if it never
    does (no schedule and no override that ends)."""
    ends = [_override_end(rules, o) for o in rules.overrides]
    state = _state(rules, ends, now_ms)
    candidates = set(_boundaries(rules, now_ms))
    for override, end in zip(rules.overrides, ends, strict=True):
        candidates.add(override.since_ms)
        if end != _FOREVER:
            candidates.add(end)
    for instant in sorted(c for c in candidates if c > now_ms):
        if _state(rules, ends, instant) != state:
            return instant
    return None


def next_duty_start(rules: DutyRules, now_ms: int) -> int | None:
    """When the user is next on duty: ``now_ms`` itself if on duty now."""
    if on_duty(rules, now_ms):
        return now_ms
    return next_change(rules, now_ms)


def _state(rules: DutyRules, override_ends: list[int], now_ms: int) -> bool:
    for override, end in zip(rules.overrides, override_ends, strict=True):
        if override.since_ms <= now_ms < end:
            return override.on_duty
    return _scheduled(rules, now_ms)


def _override_end(rules: DutyRules, override: Override) -> int:
    if override.until_ms is not None:
        return override.until_ms
    later = [b for b in _boundaries(rules, override.since_ms) if b > override.since_ms]
    return min(later) if later else _FOREVER


def _scheduled(rules: DutyRules, now_ms: int) -> bool:
    if rules.schedule is None:
        return True
    return any(start <= now_ms < end for start, end in _intervals(rules, now_ms, days_ahead=1))


def _boundaries(rules: DutyRules, from_ms: int) -> list[int]:
    intervals = _intervals(rules, from_ms, days_ahead=_HORIZON_DAYS)
    return sorted({b for interval in intervals for b in interval})


def _intervals(rules: DutyRules, around_ms: int, *, days_ahead: int) -> list[tuple[int, int]]:
    """The schedule's shifts as merged [start, end) instants, from two days before
    ``around_ms`` (a shift may run into today) to ``days_ahead`` days after it."""
    if rules.schedule is None or not rules.schedule.shifts:
        return []
    zone = rules.zone
    today = datetime.fromtimestamp(around_ms / 1000, zone).date()
    spans: list[tuple[int, int]] = []
    for offset in range(-2, days_ahead + 1):
        day = today + timedelta(days=offset)
        for shift in rules.schedule.shifts:
            if shift.weekday == day.weekday():
                spans.append((_instant(zone, day, shift.start), _instant(zone, day, shift.end)))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _instant(zone: ZoneInfo, day: date, minutes: int) -> int:
    """The first instant (ms) whose local time on ``day`` (``minutes`` may run into
    the next days) is at or after the wall time: the first of a repeated time,
    the end of a skipped hour for a time that does not exist."""
    day += timedelta(days=minutes // _DAY_MINUTES)
    minutes %= _DAY_MINUTES
    wall = datetime(day.year, day.month, day.day, minutes // 60, minutes % 60)
    # fold=0 reads a repeated time as its first occurrence, and a skipped time
    # with the offset from before the gap, which lands after the gap's end.
    first = int(wall.replace(tzinfo=zone, fold=0).timestamp() * 1000)
    if _local(zone, first) == wall:
        return first
    # Skipped: the gap ends within a few hours before; find the first minute of local
    # time at or after the wall time (time zone changes are on whole minutes).
    low, high = first - 4 * 3_600_000, first
    while high - low > 60_000:
        mid = (low + high) // 2 // 60_000 * 60_000
        if mid <= low:
            break
        if _local(zone, mid) >= wall:
            high = mid
        else:
            low = mid
    return high


def _local(zone: ZoneInfo, ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, zone).replace(tzinfo=None)
