"""How long seed 002 keeps each kind of OEE data, and the moment before which a row goes."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class Keep:
    table: str
    column: str  # the row's moment (a timestamp) or day (a date)
    days: int = 0
    years: int = 0
    by_day: bool = False  # the column is a date: compared with the cutoff's date


# Seed 002 "Data Retention".
RETENTION: tuple[Keep, ...] = (
    Keep("oee_snapshots", "taken_at", days=90),
    Keep("oee_hourly_summaries", "hour_start", years=1),
    Keep("oee_daily_summaries", "day", years=3, by_day=True),
    Keep("shift_reports", "shift_day", years=7, by_day=True),  # compliance
    Keep("energy_readings", "reading_time", years=2),
)


# The raw sensor readings go in the same round, kept as many days as the settings say.
SENSOR_READINGS = "sensor_readings"


def round_of(sensor_raw_days: int) -> tuple[Keep, ...]:
    """Everything the daily round deletes: seed 002's OEE data and the raw sensor readings."""
    return (*RETENTION, Keep(SENSOR_READINGS, "time", days=sensor_raw_days))


def years_before(at: datetime, years: int) -> datetime:
    """The same calendar moment `years` earlier (29 February falls back to the 28th)."""
    try:
        return at.replace(year=at.year - years)
    except ValueError:
        return at.replace(year=at.year - years, day=28)


def cutoff(keep: Keep, now: datetime) -> datetime:
    """Rows older than this go; a row at the cutoff itself stays."""
    return years_before(now, keep.years) - timedelta(days=keep.days)


def cutoff_value(keep: Keep, now: datetime) -> datetime | date:
    """What the column is compared with: the moment, or its day for a date column."""
    at = cutoff(keep, now)
    return at.date() if keep.by_day else at
