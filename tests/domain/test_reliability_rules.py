"""Reliability figures (seed 003 appendix A, seed 004) on hand-worked cases."""

from datetime import UTC, datetime, timedelta

from domain.rules import reliability as r
from domain.rules.oee import Interval, Stop, merge_stops

T0 = datetime(2026, 10, 1, tzinfo=UTC)
H = timedelta(hours=1)


def _stop(key, start_h, hours, category="breakdown", reason="BD-MECH", planned=False, m=1):
    start = T0 + start_h * H
    return Stop(key, m, start, start + hours * H, reason, category, planned)


def test_the_examples_of_seed_004():
    assert r.mtbf_hours(2000 * 3600, 8) == 250.0
    assert r.mttr_hours(32 * 3600, 8) == 4.0
    assert r.availability_pct(250.0, 4.0) == 98.43


def test_no_failure_has_no_mean_and_full_availability():
    assert r.mtbf_hours(720 * 3600, 0) is None and r.mttr_hours(0, 0) is None
    assert r.availability_pct(None, None) == 100.0


def test_a_month_of_one_machine():
    month = Interval(T0, T0 + 30 * 24 * H)
    stops = merge_stops([
        _stop("a", 10, 2), _stop("b", 100, 4), _stop("c", 400, 6),
        _stop("d", 500, 1, category="changeover", reason="SU-CHNG"),  # lost, not a failure
    ])  # fmt: skip
    out = r.reliability(period=month, scheduled=[month], stoppages=stops)
    assert out.failures == 3
    assert out.operating_hours == 707.0  # 720 less 13 hours stopped
    assert out.repair_hours == 12.0
    assert out.mtbf_hours == 235.67
    assert out.mttr_hours == 4.0
    assert out.availability_pct == 98.33


def test_a_failure_begun_before_the_period_is_not_counted_but_its_time_is_down():
    day = Interval(T0, T0 + 24 * H)
    before = Stop("x", 1, T0 - 2 * H, T0 + 2 * H, "BD-ELEC", "breakdown")
    out = r.reliability(period=day, scheduled=[day], stoppages=merge_stops([before]))
    assert out.failures == 0 and out.operating_hours == 22.0 and out.mtbf_hours is None


def test_planned_stops_are_not_failures():
    day = Interval(T0, T0 + 24 * H)
    pm = _stop("pm", 2, 3, category="breakdown", reason="PM-SCHED", planned=True)
    out = r.reliability(period=day, scheduled=[day], stoppages=merge_stops([pm]))
    assert out.failures == 0 and out.operating_hours == 21.0


def test_site_figures_sum_before_dividing():
    a = r.Reliability(2, 100.0, 2.0, 50.0, 1.0, None)
    b = r.Reliability(0, 300.0, 0.0, None, None, None)
    site = r.combine([a, b])
    assert site.failures == 2 and site.mtbf_hours == 200.0 and site.mttr_hours == 1.0
    assert site.availability_pct == 99.5


def test_pareto_by_reason_with_cumulative_share():
    rows = r.pareto([("BD-MECH", 3600.0), ("MT-WAIT", 3600.0), ("BD-MECH", 3600.0),
                     ("SU-CHNG", 1200.0)])  # fmt: skip
    assert [(x.key, x.events, x.hours) for x in rows] == [
        ("BD-MECH", 2, 2.0), ("MT-WAIT", 1, 1.0), ("SU-CHNG", 1, 0.33)
    ]  # fmt: skip
    assert [x.share_pct for x in rows] == [60.0, 30.0, 10.0]
    assert [x.cumulative_pct for x in rows] == [60.0, 90.0, 100.0]
    assert r.pareto([]) == []


def test_pareto_by_category_from_stoppages_clipped_to_the_period():
    day = Interval(T0, T0 + 24 * H)
    stops = merge_stops([
        _stop("a", -1, 3),  # 2 h inside the day
        _stop("b", 5, 1, category="material", reason="MT-WAIT"),
        _stop("c", 10, 1, category="breakdown", reason="BD-ELEC"),
    ])  # fmt: skip
    rows = r.pareto(r.stop_durations(stops, day, "category"))
    assert [(x.key, x.hours, x.share_pct) for x in rows] == [
        ("breakdown", 3.0, 75.0), ("material", 1.0, 25.0)
    ]  # fmt: skip
    rows = r.pareto(r.stop_durations(stops, day, "reason_code"))
    assert rows[0].key == "BD-MECH" and rows[0].hours == 2.0


def test_utilisation_splits_calendar_time_four_ways():
    day = Interval(T0, T0 + 24 * H)
    shifts = [Interval(T0 + 6 * H, T0 + 22 * H)]
    stops = merge_stops([_stop("a", 8, 2), _stop("b", 23, 1)])  # second one off shift
    u = r.utilisation(period=day, scheduled=shifts, stoppages=stops)
    assert (u.calendar_hours, u.scheduled_hours, u.running_hours, u.down_hours, u.idle_hours) == (
        24.0, 16.0, 14.0, 3.0, 7.0
    )  # fmt: skip
    assert u.utilisation_pct == 58.33 and u.schedule_use_pct == 87.5


def test_period_comparison():
    rows = r.compare({"oee": 74.79, "mtbf_hours": None, "downtime_hours": 10.0},
                     {"oee": 70.0, "mtbf_hours": 100.0, "downtime_hours": 0.0})  # fmt: skip
    by = {c.name: c for c in rows}
    assert by["oee"].delta == 4.79 and by["oee"].delta_pct == 6.84
    assert by["mtbf_hours"].delta is None
    assert by["downtime_hours"].delta == 10.0 and by["downtime_hours"].delta_pct is None


def test_the_machine_with_the_most_planned_time_per_good_unit_paces_its_line():
    from domain.rules.oee import Tally
    from domain.rules.reliability import bottlenecks

    hour = 3600.0
    rows = bottlenecks([
        ("SAW-1", "L1", Tally(planned_s=8 * hour, ideal_s=7 * hour, total=7000, good=6900)),
        ("SAW-2", "L1", Tally(planned_s=8 * hour, down_s=2 * hour, ideal_s=5 * hour,
                              total=5000, good=4800)),
        ("PRESS", "L2", Tally(planned_s=8 * hour, total=0, good=0)),
        ("LATHE", "L2", Tally(planned_s=8 * hour, ideal_s=6 * hour, total=600, good=600)),
        ("SPARE", "L2", Tally()),
    ])  # fmt: skip
    by = {r.machine: r for r in rows}
    # SAW-2 holds 6.0 s per good unit against SAW-1's 4.17 s: it paces line 1.
    assert by["SAW-2"].seconds_per_good == 6.0 and by["SAW-1"].seconds_per_good == 4.17
    assert by["SAW-2"].is_bottleneck and not by["SAW-1"].is_bottleneck
    # A machine planned to run that made nothing good paces its line outright.
    assert by["PRESS"].made_nothing and by["PRESS"].is_bottleneck
    assert by["PRESS"].seconds_per_good is None and by["PRESS"].oee_pct == 0.0
    # Not planned at all: never the bottleneck, and no pace.
    assert not by["SPARE"].is_bottleneck and by["SPARE"].seconds_per_good is None
    assert [r.machine for r in rows][:2] == ["PRESS", "LATHE"]
