"""OEE from the records in PostgreSQL: shift calendars, output, floor stops joined with
the maintenance downtime, counted once."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from domain.actor import system_actor
from domain.errors import Conflict, NotFound, RuleViolation
from domain.models import Asset, AuditLog, DowntimeRecord, Organization
from domain.models.production import Machine
from domain.services import oee, production
from domain.services import production_downtime as downtime
from tests.oee_helpers import DAY, local, saw_line


def _actor(s):
    org = s.scalar(select(Asset.organization_id).where(Asset.asset_number == "SAW-JKS-001"))
    return system_actor(org, "test")


def _worked_example(s, machine_id: int) -> None:
    """Seed 002's example on the DAY shift: 47 min of stops made of a maintenance downtime
    (08:00-08:30) and a floor stop overlapping it (08:20-08:47)."""
    actor = _actor(s)
    m = s.get(Machine, machine_id)
    s.add(DowntimeRecord(organization_id=m.organization_id, asset_id=m.asset_id,
                         type="BREAKDOWN", reason_code="BD-MECH", start_time=local(8),
                         end_time=local(8, 30), duration_minutes=30,
                         reported_by="test"))  # fmt: skip
    downtime.record_downtime(session=s, actor=actor, machine=m, reason_code="mt-wait",
                             start=local(8, 20), end=local(8, 47), severity="high")  # fmt: skip
    production.record_count(session=s, actor=actor, machine=m, period_start=local(6),
                            period_end=local(13), total=19_271, good=19_271 - 423)  # fmt: skip


def test_the_worked_example_from_the_records(sessions):
    ids = saw_line(sessions)
    with sessions() as s:
        _worked_example(s, ids["SAW-JKS-001"])
        scope = oee.resolve(session=s, actor=_actor(s), machine="saw-jks-001")
        out = oee.calculate(session=s, scope=scope, period=oee.period_of(local(0), local(23, 59)),
                            by_shift=True)  # fmt: skip
    day = next(x for x in out["shifts"] if x["shift"] == "DAY")
    assert (day["availability_pct"], day["performance_pct"], day["quality_pct"],
            day["oee_pct"]) == (88.81, 86.11, 97.80, 74.79)  # fmt: skip
    assert day["down_minutes"] == 47.0 and day["planned_minutes"] == 420
    eve = next(x for x in out["shifts"] if x["shift"] == "EVE")
    assert eve["planned_minutes"] == 450 and "NO_OUTPUT" in eve["flags"]
    # The day adds the idle evening's planned time: availability 823 of 870 minutes.
    assert out["planned_minutes"] == 870 and out["availability_pct"] == 94.6


def test_a_line_adds_its_machines_before_dividing(sessions):
    ids = saw_line(sessions)
    with sessions() as s:
        _worked_example(s, ids["SAW-JKS-001"])
        m2 = s.get(Machine, ids["SAW-JKS-002"])
        production.record_count(session=s, actor=_actor(s), machine=m2, period_start=local(6),
                                period_end=local(13), total=12_600, good=12_600)  # fmt: skip
        scope = oee.resolve(session=s, actor=_actor(s), line="SAW-1")
        out = oee.calculate(session=s, scope=scope, period=oee.period_of(local(6), local(13)))
    # Planned 840 min, down 47, ideal 19,271 s + 12,600 x 2 s = 44,471 s over 793 min run.
    assert out["availability_pct"] == round(100 * 793 / 840, 2)
    assert out["performance_pct"] == round(100 * 44_471 / (793 * 60), 2)
    assert out["quality_pct"] == round(100 * (19_271 - 423 + 12_600) / (19_271 + 12_600), 2)
    assert [x["machine"] for x in out["machines"]] == ["SAW-JKS-001", "SAW-JKS-002"]


def test_pareto_and_reliability_from_the_merged_stops(sessions):
    ids = saw_line(sessions)
    with sessions() as s:
        _worked_example(s, ids["SAW-JKS-001"])
        scope = oee.resolve(session=s, actor=_actor(s), site="JKS")
        period = oee.period_of(local(0), local(23, 59))
        by_reason = oee.pareto(session=s, scope=scope, period=period, by="reason")
        rel = oee.reliability(session=s, scope=scope, period=period)
    # One stoppage of 47 min under the earlier reason, not 30 + 27 under two.
    assert [(r["key"], r["events"], r["hours"]) for r in by_reason["rows"]] == [
        ("BD-MECH", 1, 0.78)
    ]
    assert rel["failures"] == 1 and rel["mttr_hours"] == 0.78


def test_count_rules_name_their_field(sessions):
    ids = saw_line(sessions)
    with sessions() as s:
        m = s.get(Machine, ids["SAW-JKS-001"])
        actor = _actor(s)
        kw = dict(session=s, actor=actor, machine=m, period_start=local(6), period_end=local(7))
        with pytest.raises(RuleViolation) as e:
            production.record_count(**kw, total=10, good=11)
        assert e.value.field == "good"
        with pytest.raises(RuleViolation) as e:
            production.record_count(**kw, total=10, good=5, reject=1, rework=1)
        assert e.value.field == "reject"
        row, created = production.record_count(**kw, total=10, good=7, rework=1, entry_key="k1")
        assert created and row.reject == 2 and row.ideal_cycle_seconds == 1.0
        again, created = production.record_count(**kw, total=99, good=99, entry_key="k1")
        assert not created and again.id == row.id
        production.set_product_cycle(session=s, machine=m, product_code="bar-12",
                                     ideal_cycle_seconds=1.5)  # fmt: skip
        other, _ = production.record_count(**kw, total=1, good=1, product_code="BAR-12")
        assert other.ideal_cycle_seconds == 1.5
        audit = s.scalars(select(AuditLog.action).where(AuditLog.entity_type == "PRODUCTION_COUNT"))
        assert list(audit) == ["OUTPUT_RECORDED", "OUTPUT_RECORDED"]


def test_one_open_floor_stop_per_machine_and_its_end(sessions):
    ids = saw_line(sessions)
    now = datetime.now(UTC)
    with sessions() as s:
        m = s.get(Machine, ids["SAW-JKS-001"])
        actor = _actor(s)
        row = downtime.record_downtime(session=s, actor=actor, machine=m, reason_code="BD-ELEC",
                                       start=now - timedelta(hours=4, minutes=30))  # fmt: skip
        with pytest.raises(Conflict):
            downtime.record_downtime(session=s, actor=actor, machine=m, reason_code="BD-ELEC",
                                     start=now)  # fmt: skip
        with pytest.raises(RuleViolation) as e:
            downtime.record_downtime(session=s, actor=actor, machine=m, reason_code="NOPE",
                                     start=now)  # fmt: skip
        assert e.value.field == "reason_code"
        ended = downtime.end_downtime(session=s, actor=actor, downtime_id=row.id, end=now)
        # Seed 003 L.1 scenario 5: 10:00 to 14:30 is 4.5 hours.
        assert ended.duration_minutes == 270.0
        with pytest.raises(Conflict):
            downtime.end_downtime(session=s, actor=actor, downtime_id=row.id, end=now)


def test_another_organisation_finds_no_machine(sessions):
    saw_line(sessions)
    with sessions() as s:
        harbor = s.scalar(select(Organization.id).where(Organization.code != "NORDIC"))
        with pytest.raises(NotFound):
            oee.resolve(session=s, actor=system_actor(harbor), machine="SAW-JKS-001")


def test_days_off_are_not_planned(sessions):
    saw_line(sessions)
    with sessions() as s:
        from domain.models import Site

        site = s.scalars(select(Site).where(Site.code == "JKS")).one()
        production.day_off(session=s, site=site, day=DAY, reason="plant holiday")
        scope = oee.resolve(session=s, actor=_actor(s), machine="SAW-JKS-001")
        out = oee.calculate(session=s, scope=scope, period=oee.period_of(local(0), local(23)))
    assert out["planned_minutes"] == 0 and out["oee_pct"] is None
