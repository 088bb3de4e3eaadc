"""The PM rules without a database (seed 003 D.1-D.3, L.1 scenario 2; seed 004 BR-MAINT)."""

from datetime import UTC, datetime, timedelta

from domain.rules import pm
from domain.rules.pm import Anchor, Interval, OverdueAction, ScheduleType

T0 = datetime(2026, 2, 1, 6, tzinfo=UTC)
MONTHLY = Interval(ScheduleType.TIME_BASED, days=30)


def test_floating_counts_from_the_completion():
    late = T0 + timedelta(days=5)
    assert pm.next_due_date(MONTHLY, completed_at=late, last_due=T0) == late + timedelta(days=30)
    early = T0 - timedelta(days=3)
    assert pm.next_due_date(MONTHLY, completed_at=early, last_due=T0) == T0 + timedelta(days=27)


def test_fixed_keeps_the_calendar_and_never_lands_in_the_past():
    fixed = Interval(ScheduleType.TIME_BASED, days=30, anchor=Anchor.FIXED)
    late = T0 + timedelta(days=5)
    assert pm.next_due_date(fixed, completed_at=late, last_due=T0) == T0 + timedelta(days=30)
    very_late = T0 + timedelta(days=45)
    assert pm.next_due_date(fixed, completed_at=very_late, last_due=T0) == T0 + timedelta(days=60)


def test_meter_due_is_the_reading_at_completion_plus_the_interval():
    saw = Interval(ScheduleType.METER_BASED, hours=500)
    assert pm.next_due_meter(saw, reading_at_completion=4500) == 5000
    assert pm.next_due_date(saw, completed_at=T0, last_due=None) is None
    assert pm.next_due_meter(MONTHLY, reading_at_completion=10) is None


def test_lead_time_and_meter_alert_window():
    assert pm.opens_at(T0, 7) == T0 - timedelta(days=7)
    assert not pm.meter_reached(4949, 5000, 50)
    assert pm.meter_reached(4950, 5000, 50)
    assert not pm.meter_reached(None, 5000, 50)


def test_hybrid_whichever_first():
    kw = {"alert_days_before": 7, "alert_hours_before": 50.0}
    early = T0 - timedelta(days=30)
    # D.1: annual or 2,000 hours, 1,800 hours done eight months in: the meter wins.
    assert not pm.is_due(ScheduleType.HYBRID, now=early, due=T0, due_meter=2000, reading=1800, **kw)
    assert pm.is_due(ScheduleType.HYBRID, now=early, due=T0, due_meter=2000, reading=1960, **kw)
    assert pm.which_first(now=early, due=T0, due_meter=2000, reading=2000) == "METER"
    # The calendar wins while the meter is far off.
    assert pm.is_due(
        ScheduleType.HYBRID, now=T0 - timedelta(days=7), due=T0, due_meter=2000, reading=100, **kw
    )
    assert pm.which_first(now=T0, due=T0, due_meter=2000, reading=100) == "TIME"
    # Time-based ignores the meter, meter-based the calendar.
    assert not pm.is_due(ScheduleType.TIME_BASED, now=early, due=T0, due_meter=1, reading=9, **kw)
    assert not pm.is_due(ScheduleType.METER_BASED, now=T0, due=T0, due_meter=2000, reading=1, **kw)
    assert not pm.is_due(ScheduleType.CONDITION_BASED, now=T0, due=T0, due_meter=1, reading=9, **kw)


def test_days_overdue_from_the_first_due():
    assert pm.days_overdue(None, T0) is None
    assert pm.days_overdue(T0, T0 - timedelta(seconds=1)) is None
    assert pm.days_overdue(T0, T0) == 0
    assert pm.days_overdue(T0, T0 + timedelta(days=7, hours=2)) == 7
    meter_at = T0 - timedelta(days=2)
    assert pm.overdue_since(due=T0, meter_due_at=meter_at) == meter_at
    assert pm.overdue_since(due=None, meter_due_at=None) is None


def step(action, days, **told):
    base = {
        "threshold_days": 14,
        "team_told": False,
        "manager_told": False,
        "told_today": False,
        "blocked": False,
    }
    return pm.overdue_step(action, days, **(base | told))


def test_alert_tells_the_team_at_once_and_the_manager_at_seven_days():
    assert step(OverdueAction.ALERT, 0) == pm.OverdueStep(tell_team=True)
    assert not step(OverdueAction.ALERT, 3, team_told=True).anything
    assert step(OverdueAction.ALERT, 7, team_told=True) == pm.OverdueStep(tell_manager=True)
    assert not step(OverdueAction.ALERT, 8, team_told=True, manager_told=True).anything
    since = T0
    assert pm.next_overdue_check(
        OverdueAction.ALERT, since, 0, threshold_days=14, manager_told=False
    ) == T0 + timedelta(days=7)
    assert (
        pm.next_overdue_check(OverdueAction.ALERT, since, 7, threshold_days=14, manager_told=True)
        is None
    )


def test_escalate_tells_both_daily():
    assert step(OverdueAction.ESCALATE, 0) == pm.OverdueStep(True, True, False)
    assert not step(OverdueAction.ESCALATE, 0, told_today=True).anything
    assert step(OverdueAction.ESCALATE, 1) == pm.OverdueStep(True, True, False)
    assert pm.next_overdue_check(
        OverdueAction.ESCALATE, T0, 3, threshold_days=14, manager_told=True
    ) == T0 + timedelta(days=4)


def test_block_past_the_threshold_only_once():
    assert step(OverdueAction.BLOCK, 14) == pm.OverdueStep(True, True, False)
    assert step(OverdueAction.BLOCK, 15) == pm.OverdueStep(True, True, True)
    assert step(OverdueAction.BLOCK, 20, blocked=True) == pm.OverdueStep(True, True, False)
    assert pm.BLOCK_REASON == "PM overdue - blocked per policy"


def test_skip_needs_a_supervisor_and_a_reason():
    assert pm.skip_refusal(["MAINT_TECH"], "asset sold").kind == "NotAllowed"
    assert pm.skip_refusal(["MAINT_SUPERVISOR"], " ").field == "reason"
    assert pm.skip_refusal(["MAINT_SUPERVISOR"], "line stopped for the season") is None
    date, meter = pm.skipped_due(MONTHLY, due=T0, due_meter=None)
    assert (date, meter) == (T0 + timedelta(days=30), None)


def test_interval_fits_the_type():
    assert pm.interval_refusal("TIME_BASED", None, None).field == "interval_days"
    assert pm.interval_refusal("METER_BASED", None, None).field == "interval_hours"
    assert pm.interval_refusal("HYBRID", 365, None).field == "interval_hours"
    assert pm.interval_refusal("HYBRID", 365, 2000) is None
    assert pm.interval_refusal("WEEKLY", 7, None).field == "schedule_type"
    assert pm.interval_refusal("TIME_BASED", -1, None).field == "interval_days"
    assert pm.interval_refusal("CONDITION_BASED", None, None) is None


def test_measurement_spec():
    assert pm.measurement_spec("1.5-2.0 mm") == (1.5, 2.0)
    assert pm.measurement_spec("visual") == (None, None)
    assert pm.measurement_spec(None) == (None, None)
