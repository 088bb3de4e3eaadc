"""Shift calendars in site time turned into UTC windows of planned production time.

Shifts are wall-clock times in the site's zone, so a night shift over a clock change lasts
7 or 9 hours of real time, and a site day lasts 23 or 25. Everything after this module
works on UTC instants; only here does the zone matter."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.rules.oee import Interval


@dataclass(frozen=True)
class ShiftDef:
    code: str
    starts_at: time
    ends_at: time  # at or before starts_at: the shift ends the next day
    weekdays: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)  # ISO, 1 = Monday, of the start day
    planned_stops: tuple[tuple[time, time], ...] = ()  # breaks, meetings: not planned time


@dataclass(frozen=True)
class ShiftWindow:
    code: str
    day: date  # the site-local date the shift starts on
    interval: Interval
    planned: tuple[Interval, ...]  # the shift less its planned stops

    @property
    def planned_seconds(self) -> float:
        return sum(i.seconds for i in self.planned)


def at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """A site-local wall-clock time as a UTC instant. A time the clock skips (spring
    forward) reads with the offset before the change; a repeated one as its first pass."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def _local_span(day: date, start: time, end: time) -> tuple[date, date]:
    return day, day + timedelta(days=1) if end <= start else day


def shift_windows(
    shifts: Sequence[ShiftDef], zone_name: str, first_day: date, last_day: date
) -> list[ShiftWindow]:
    """Every shift starting on a site-local day from first_day to last_day, in time order."""
    zone = ZoneInfo(zone_name)
    out: list[ShiftWindow] = []
    day = first_day
    while day <= last_day:
        for s in shifts:
            if day.isoweekday() not in s.weekdays:
                continue
            start_day, end_day = _local_span(day, s.starts_at, s.ends_at)
            whole = Interval(at(start_day, s.starts_at, zone), at(end_day, s.ends_at, zone))
            stops = []
            for b_start, b_end in s.planned_stops:
                # A stop earlier on the clock than the shift's start falls on its second day.
                b_day = day if b_start >= s.starts_at else day + timedelta(days=1)
                b_end_day = b_day + timedelta(days=1) if b_end <= b_start else b_day
                stop = Interval(at(b_day, b_start, zone), at(b_end_day, b_end, zone))
                if (c := stop.clip(whole)) is not None:
                    stops.append(c)
            out.append(ShiftWindow(s.code, day, whole, tuple(subtract(whole, stops))))
        day += timedelta(days=1)
    return sorted(out, key=lambda w: w.interval.start)


def subtract(whole: Interval, holes: Sequence[Interval]) -> list[Interval]:
    out, cursor = [], whole.start
    for h in sorted(holes, key=lambda i: i.start):
        if h.start > cursor:
            out.append(Interval(cursor, min(h.start, whole.end)))
        cursor = max(cursor, h.end)
    if cursor < whole.end:
        out.append(Interval(cursor, whole.end))
    return out


def site_day(day: date, zone_name: str) -> Interval:
    """A site-local calendar day, midnight to midnight, as UTC (23 or 25 h on a change)."""
    zone = ZoneInfo(zone_name)
    return Interval(at(day, time(0), zone), at(day + timedelta(days=1), time(0), zone))


def local_date(instant: datetime, zone_name: str) -> date:
    return instant.astimezone(ZoneInfo(zone_name)).date()
