"""Energy cost at flat or time-of-use rates, and consumption against its baseline
(seed 002: an energy spike is consumption over 120 % of the baseline)."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SPIKE_RATIO = 1.20


@dataclass(frozen=True)
class Band:
    """A time-of-use band in site time; an end at or before the start crosses midnight."""

    start: time
    end: time
    rate: float

    def holds(self, clock: time) -> bool:
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end


@dataclass(frozen=True)
class Rate:
    effective: date
    rate_per_kwh: float  # flat, or outside every band
    bands: tuple[Band, ...] = ()
    currency: str = "USD"

    def at(self, clock: time) -> float:
        for band in self.bands:
            if band.holds(clock):
                return band.rate
        return self.rate_per_kwh


def rate_on(rates: Sequence[Rate], day: date) -> Rate | None:
    """The rate in force on a site-local day: the latest effective on or before it."""
    live = [r for r in rates if r.effective <= day]
    return max(live, key=lambda r: r.effective) if live else None


@dataclass(frozen=True)
class Cost:
    kwh: float
    cost: float | None  # None when some kWh fell on a day without a rate
    unpriced_kwh: float
    currency: str | None


def cost(readings: Iterable[tuple[datetime, float]], rates: Sequence[Rate], zone: str) -> Cost:
    """Each reading is the kWh used in the interval ending at its time, priced at the rate
    of the site-local moment just before it (a 15-minute reading at 07:00 is night rate)."""
    tz = ZoneInfo(zone)
    kwh = priced = unpriced = 0.0
    currency = None
    for at, used in readings:
        local = (at - timedelta(microseconds=1)).astimezone(tz)
        rate = rate_on(rates, local.date())
        kwh += used
        if rate is None:
            unpriced += used
            continue
        currency = rate.currency
        priced += used * rate.at(local.time())
    return Cost(round(kwh, 4), round(priced, 2) if not unpriced else None, round(unpriced, 4),
                currency)  # fmt: skip


@dataclass(frozen=True)
class AgainstBaseline:
    expected_kwh: float | None
    actual_kwh: float
    ratio: float | None
    spike: bool


def against_baseline(
    *,
    actual_kwh: float,
    units: float,
    run_hours: float,
    kwh_per_unit: float | None,
    kwh_per_hour: float | None,
) -> AgainstBaseline:
    """Expected use from the baseline per unit made (preferred) or per hour run."""
    if kwh_per_unit is not None and units > 0:
        expected = kwh_per_unit * units
    elif kwh_per_hour is not None and run_hours > 0:
        expected = kwh_per_hour * run_hours
    else:
        return AgainstBaseline(None, actual_kwh, None, False)
    ratio = actual_kwh / expected if expected > 0 else None
    return AgainstBaseline(
        round(expected, 4), actual_kwh, round(ratio, 4) if ratio is not None else None,
        ratio is not None and ratio > SPIKE_RATIO,
    )  # fmt: skip
