"""Energy cost at flat and time-of-use rates, and the baseline's spike rule (seed 002)."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from domain.rules.energy import Band, Rate, against_baseline, cost

OSLO = ZoneInfo("Europe/Oslo")
FLAT = Rate(date(2026, 1, 1), 0.10, currency="NOK")
TOU = Rate(date(2026, 6, 1), 0.08, (Band(time(7), time(19), 0.15),), "NOK")


def test_flat_rate():
    readings = [(datetime(2026, 5, 3, h, tzinfo=UTC), 10.0) for h in range(24)]
    out = cost(readings, [FLAT], "Europe/Oslo")
    assert (out.kwh, out.cost, out.currency) == (240.0, 24.0, "NOK")


def test_time_of_use_prices_each_reading_in_site_time():
    at = [datetime(2026, 6, 3, h, m, tzinfo=OSLO) for h, m in ((7, 0), (7, 15), (19, 0), (19, 15))]
    out = cost([(a.astimezone(UTC), 100.0) for a in at], [FLAT, TOU], "Europe/Oslo")
    # 06:45-07:00 and 19:00-19:15 at night rate, 07:00-07:15 and 18:45-19:00 at day rate.
    assert out.cost == 8.0 + 15.0 + 15.0 + 8.0


def test_the_rate_in_force_is_the_latest_effective_and_a_gap_is_unpriced():
    out = cost([(datetime(2026, 5, 31, 12, tzinfo=UTC), 10.0)], [FLAT, TOU], "Europe/Oslo")
    assert out.cost == 1.0  # TOU starts 1 June
    out = cost([(datetime(2025, 12, 31, 12, tzinfo=UTC), 10.0)], [FLAT], "Europe/Oslo")
    assert out.cost is None and out.unpriced_kwh == 10.0


def test_a_band_across_midnight():
    night = Rate(date(2026, 1, 1), 0.20, (Band(time(22), time(6), 0.05),))
    assert night.at(time(23)) == 0.05 and night.at(time(5, 59)) == 0.05
    assert night.at(time(6)) == 0.20


def test_baseline_spike_over_120_percent():
    ok = against_baseline(actual_kwh=119, units=1000, run_hours=8, kwh_per_unit=0.1,
                          kwh_per_hour=None)  # fmt: skip
    assert ok.expected_kwh == 100.0 and not ok.spike
    spike = against_baseline(actual_kwh=121, units=0, run_hours=10, kwh_per_unit=0.1,
                             kwh_per_hour=10)  # fmt: skip
    assert spike.expected_kwh == 100.0 and spike.spike
    assert against_baseline(actual_kwh=5, units=0, run_hours=0, kwh_per_unit=None,
                            kwh_per_hour=None).ratio is None  # fmt: skip
