"""The OEE engine of seed 002 on hand-worked cases: the formulas, the six big losses, the
merge of overlapping stops, and the edge cases of time (shifts, midnight, clock changes)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.rules import oee
from domain.rules.oee import Count, Interval, Stop, Tally, figures, percent
from domain.rules.shifts import ShiftDef, shift_windows, site_day

T0 = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
MIN = 60.0


def _worked_example() -> Tally:
    # Seed 002's worked example: 420 min planned, 47 min of stops, ideal cycle 1.0 s,
    # 19,271 made of which 423 rejected.
    return Tally(planned_s=420 * MIN, down_s=47 * MIN, ideal_s=19_271 * 1.0, total=19_271,
                 good=19_271 - 423)  # fmt: skip


def test_worked_example_to_the_hundredth():
    f = figures(_worked_example())
    assert percent(f.availability) == 88.81
    assert percent(f.performance) == 86.11
    assert percent(f.quality) == 97.80
    assert percent(f.oee) == 74.79
    assert f.flags == ()


def test_worked_example_through_the_interval_engine():
    shift = Interval(T0, T0 + timedelta(minutes=420))
    stops = oee.merge_stops(
        [Stop("oee:1", 1, T0 + timedelta(hours=1), T0 + timedelta(hours=1, minutes=47), "BD-MECH",
              "breakdown")]
    )  # fmt: skip
    counts = [Count(shift, total=19_271, good=19_271 - 423, ideal_cycle_s=1.0)]
    t = oee.tally(period=shift, planned=[shift], stoppages=stops, counts=counts)
    assert (t.planned_s, t.down_s, t.run_s) == (420 * MIN, 47 * MIN, 373 * MIN)
    assert percent(figures(t).oee) == 74.79


def test_six_losses_add_up_to_planned_less_fully_productive_time():
    t = Tally(planned_s=480 * MIN, down_s=60 * MIN, setup_s=20 * MIN, small_stop_s=10 * MIN,
              ideal_s=360 * MIN, total=21_600, good=21_000, startup_rejects=150)  # fmt: skip
    f = figures(t)
    lo = f.losses
    assert lo.breakdowns_s == 40 * MIN
    assert lo.setup_adjustments_s == 20 * MIN
    assert lo.small_stops_s == 10 * MIN
    assert lo.reduced_speed_s == 50 * MIN  # run 420 - ideal 360 - small stops 10
    # 600 rejects at the ideal cycle of 1 s = 600 s; a quarter of them at start-up.
    assert lo.startup_rejects_s == pytest.approx(150.0)
    assert lo.production_rejects_s == pytest.approx(450.0)
    lost = sum(vars(lo).values())
    assert lost + t.planned_s * f.oee == pytest.approx(t.planned_s)


def test_no_planned_time_is_undefined_not_zero_or_full():
    f = figures(Tally(total=10, good=10, ideal_s=10))
    assert (f.availability, f.performance, f.quality, f.oee) == (None, None, None, None)
    assert "NO_PLANNED_TIME" in f.flags


def test_no_output_gives_zero_performance_and_no_quality():
    f = figures(Tally(planned_s=3600, down_s=600))
    assert percent(f.availability) == 83.33
    assert f.performance == 0.0 and f.quality is None and f.oee == 0.0
    assert "NO_OUTPUT" in f.flags


def test_stopped_the_whole_planned_time():
    f = figures(Tally(planned_s=3600, down_s=3600))
    assert f.availability == 0.0 and f.oee == 0.0 and f.performance is None


def test_counts_above_the_ideal_rate_are_reported_and_flagged():
    # 1 hour run, ideal cycle 1 s, but 4,000 counted: 111.11 %, flagged, never capped.
    f = figures(Tally(planned_s=3600, ideal_s=4000, total=4000, good=4000))
    assert percent(f.performance) == 111.11
    assert "PERFORMANCE_ABOVE_IDEAL" in f.flags
    assert f.losses.reduced_speed_s == 0.0


def test_line_figures_come_from_sums_never_from_averaged_percentages():
    busy = Tally(planned_s=8 * 3600, down_s=0, ideal_s=8 * 3600, total=28_800, good=28_800)
    idle = Tally(planned_s=1 * 3600, down_s=3600, ideal_s=0, total=0, good=0)
    line = figures(oee.add_up([busy, idle]))
    # Averaging the machines' availabilities (100 % and 0 %) would say 50 %.
    assert percent(line.availability) == 88.89
    assert percent(line.oee) == 88.89


def test_overlapping_stops_are_one_stoppage_with_the_earlier_reason():
    a = Stop("maintenance:7", 1, T0, T0 + timedelta(hours=2), "BD-MECH", "breakdown")
    b = Stop("oee:3", 1, T0 + timedelta(minutes=30), T0 + timedelta(hours=3), "MT-WAIT",
             "material")  # fmt: skip
    c = Stop("oee:4", 1, T0 + timedelta(hours=3), T0 + timedelta(hours=4), "SU-CHNG", "changeover")
    other_machine = Stop("oee:5", 2, T0, T0 + timedelta(hours=1), "OP-NONE", "operator")
    merged = oee.merge_stops([b, c, a, other_machine])
    first = merged[0]
    assert (first.key, first.reason_code, first.linked) == ("maintenance:7", "BD-MECH", ("oee:3",))
    assert (first.start, first.end) == (T0, T0 + timedelta(hours=3))
    # Touching is not overlapping: the changeover starting at 3 h is its own stoppage.
    assert merged[1].key == "oee:4" and merged[1].linked == ()
    assert merged[2].machine_id == 2
    # The overlap is counted once: 4 hours of stops, not 5.5.
    day = Interval(T0, T0 + timedelta(hours=8))
    t = oee.tally(period=day, planned=[day], stoppages=merged, counts=[])
    assert t.down_s == 4 * 3600
    assert t.setup_s == 3600


def test_an_open_stop_swallows_what_starts_after_it():
    a = Stop("oee:1", 1, T0, None, "BD-ELEC", "breakdown")
    b = Stop("maintenance:2", 1, T0 + timedelta(hours=1), T0 + timedelta(hours=2), "BD-MECH")
    [only] = oee.merge_stops([a, b])
    assert only.end is None and only.linked == ("maintenance:2",)
    day = Interval(T0, T0 + timedelta(hours=8))
    t = oee.tally(period=day, planned=[day], stoppages=[only], counts=[],
                  until=T0 + timedelta(hours=5))  # fmt: skip
    assert t.down_s == 5 * 3600


def test_small_stops_are_a_performance_loss():
    day = Interval(T0, T0 + timedelta(hours=1))
    short = Stop("oee:1", 1, T0, T0 + timedelta(minutes=3), "JAM", "other")
    t = oee.tally(period=day, planned=[day], stoppages=oee.merge_stops([short]), counts=[])
    assert t.down_s == 0 and t.small_stop_s == 180 and t.run_s == 3600


def test_downtime_duration_of_scenario_5():
    start = datetime(2026, 11, 7, 10, 0, tzinfo=UTC)
    assert oee.duration_hours(start, start.replace(hour=14, minute=30)) == 4.5


DAY = ShiftDef("DAY", time(6), time(14))
EVENING = ShiftDef("EVE", time(14), time(22))
NIGHT = ShiftDef("NIGHT", time(22), time(6))


def _per_shift(windows, stops, counts=()):
    return {
        (w.code, w.day): oee.tally(period=w.interval, planned=list(w.planned),
                                   stoppages=stops, counts=list(counts))
        for w in windows
    }  # fmt: skip


def test_a_downtime_spanning_two_shifts_is_split_where_they_meet():
    zone = ZoneInfo("America/Chicago")
    windows = shift_windows([DAY, EVENING], "America/Chicago", date(2026, 6, 1), date(2026, 6, 1))
    start = datetime(2026, 6, 1, 13, 0, tzinfo=zone)
    stop = Stop("oee:1", 1, start, start + timedelta(hours=2, minutes=30), "BD-HYDR", "breakdown")
    run = Interval(windows[0].interval.start, windows[1].interval.end)
    counts = [Count(run, total=57_600, good=57_600, ideal_cycle_s=0.5)]
    per = _per_shift(windows, oee.merge_stops([stop]), counts)
    assert per[("DAY", date(2026, 6, 1))].down_s == 60 * MIN
    assert per[("EVE", date(2026, 6, 1))].down_s == 90 * MIN
    # Output over both shifts counted pro rata: half each.
    assert per[("DAY", date(2026, 6, 1))].total == 28_800
    whole = oee.add_up(per.values())
    assert whole.down_s == 150 * MIN and whole.planned_s == 16 * 3600


def test_a_night_shift_over_midnight_and_a_stop_across_it():
    zone = ZoneInfo("Europe/Oslo")
    [night] = shift_windows([NIGHT], "Europe/Oslo", date(2026, 6, 1), date(2026, 6, 1))
    assert night.planned_seconds == 8 * 3600
    stop = Stop("oee:1", 1, datetime(2026, 6, 1, 23, 30, tzinfo=zone),
                datetime(2026, 6, 2, 0, 45, tzinfo=zone), "BD-ELEC", "breakdown")  # fmt: skip
    stops = oee.merge_stops([stop])
    t = oee.tally(period=night.interval, planned=list(night.planned), stoppages=stops, counts=[])
    assert t.down_s == 75 * MIN
    # By site day the same stop is 30 min on the 1st and 45 min on the 2nd.
    first = site_day(date(2026, 6, 1), "Europe/Oslo")
    second = site_day(date(2026, 6, 2), "Europe/Oslo")
    t1 = oee.tally(period=first, planned=list(night.planned), stoppages=stops, counts=[])
    t2 = oee.tally(period=second, planned=list(night.planned), stoppages=stops, counts=[])
    assert (t1.down_s, t2.down_s) == (30 * MIN, 45 * MIN)
    assert t1.planned_s == 2 * 3600 and t2.planned_s == 6 * 3600


def test_night_shifts_over_clock_changes_last_seven_and_nine_hours():
    [spring] = shift_windows([NIGHT], "America/Chicago", date(2026, 3, 7), date(2026, 3, 7))
    assert spring.planned_seconds == 7 * 3600
    [autumn] = shift_windows([NIGHT], "Europe/Oslo", date(2026, 10, 24), date(2026, 10, 24))
    assert autumn.planned_seconds == 9 * 3600
    assert site_day(date(2026, 10, 25), "Europe/Oslo").seconds == 25 * 3600
    assert site_day(date(2026, 3, 8), "America/Chicago").seconds == 23 * 3600


def test_a_downtime_across_the_autumn_clock_change_counts_real_time():
    # 01:30 to 03:30 Oslo wall clock on 25 October 2026 passes 02:00-03:00 twice: 3 h.
    zone = ZoneInfo("Europe/Oslo")
    [autumn] = shift_windows([NIGHT], "Europe/Oslo", date(2026, 10, 24), date(2026, 10, 24))
    start = datetime(2026, 10, 25, 1, 30, tzinfo=zone)
    end = datetime(2026, 10, 25, 3, 30, tzinfo=zone)
    stop = Stop("oee:1", 1, start.astimezone(UTC), end.astimezone(UTC), "BD-MECH", "breakdown")
    t = oee.tally(period=autumn.interval, planned=list(autumn.planned),
                  stoppages=oee.merge_stops([stop]), counts=[])  # fmt: skip
    assert t.down_s == 3 * 3600
    assert percent(figures(t).availability) == 66.67  # 6 of 9 hours


def test_planned_stops_are_not_planned_production_time():
    lunch = ShiftDef("DAY", time(6), time(14), planned_stops=((time(10), time(10, 30)),))
    [w] = shift_windows([lunch], "America/Chicago", date(2026, 6, 1), date(2026, 6, 1))
    assert w.planned_seconds == 7.5 * 3600 and len(w.planned) == 2
    # A stop during lunch costs nothing: it is outside planned production time.
    zone = ZoneInfo("America/Chicago")
    stop = Stop("oee:1", 1, datetime(2026, 6, 1, 10, 0, tzinfo=zone),
                datetime(2026, 6, 1, 10, 30, tzinfo=zone), "BD-MECH", "breakdown")  # fmt: skip
    t = oee.tally(period=w.interval, planned=list(w.planned),
                  stoppages=oee.merge_stops([stop]), counts=[])  # fmt: skip
    assert t.down_s == 0


def test_weekdays_limit_the_calendar():
    weekdays = ShiftDef("DAY", time(6), time(14), weekdays=(1, 2, 3, 4, 5))
    # 1 to 7 June 2026 is Monday to Sunday.
    windows = shift_windows([weekdays], "Europe/Oslo", date(2026, 6, 1), date(2026, 6, 7))
    assert [w.day.isoweekday() for w in windows] == [1, 2, 3, 4, 5]
