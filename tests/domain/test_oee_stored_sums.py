"""Reliability and Pareto from the stored merged stoppages and the summaries equal the
same figures computed from the raw records (the reference), on the edge cases: a stop
across midnight, floor and maintenance downtime overlapping (counted once), a stop
entered late, a stop still open; and the stored rows follow records as they change."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from domain.actor import system_actor
from domain.models import Asset, DowntimeRecord
from domain.models.production import Machine, OeeStoppage, ProductionDowntime
from domain.rules.oee import Interval
from domain.services import oee, oee_snapshots, oee_stoppages, production
from domain.services import production_downtime as downtime
from tests.oee_helpers import DAY, local, saw_line, snapshot_round

NEXT = DAY + timedelta(days=1)


def _actor(s):
    org = s.scalar(select(Asset.organization_id).where(Asset.asset_number == "SAW-JKS-001"))
    return system_actor(org, "test")


def _records(s, ids) -> None:
    actor = _actor(s)
    m1, m2 = s.get(Machine, ids["SAW-JKS-001"]), s.get(Machine, ids["SAW-JKS-002"])
    # Maintenance breakdown 08:00-08:30 and a floor stop 08:20-08:47: one stoppage.
    s.add(
        DowntimeRecord(
            organization_id=m1.organization_id,
            asset_id=m1.asset_id,
            type="BREAKDOWN",
            reason_code="BD-MECH",
            start_time=local(8),
            end_time=local(8, 30),
            duration_minutes=30,
            reported_by="test",
        )
    )
    downtime.record_downtime(
        session=s,
        actor=actor,
        machine=m1,
        reason_code="mt-wait",
        start=local(8, 20),
        end=local(8, 47),
    )
    # Across the end of EVE, midnight and into the next DAY shift.
    downtime.record_downtime(
        session=s,
        actor=actor,
        machine=m1,
        reason_code="bd-elec",
        start=local(21, 30),
        end=local(6, 40, NEXT),
    )
    # A changeover and a small stop on the second machine; one still open at the end.
    downtime.record_downtime(
        session=s,
        actor=actor,
        machine=m2,
        reason_code="su-chng",
        start=local(15),
        end=local(15, 50),
    )
    downtime.record_downtime(
        session=s,
        actor=actor,
        machine=m2,
        reason_code="bd-mech",
        start=local(9, 0, NEXT),
        end=local(9, 3, NEXT),
    )
    downtime.record_downtime(
        session=s, actor=actor, machine=m2, reason_code="bd-mech", start=local(11, 0, NEXT)
    )
    for m in (m1, m2):
        for day in (DAY, NEXT):
            production.record_count(
                session=s,
                actor=actor,
                machine=m,
                period_start=local(6, 0, day),
                period_end=local(13, 0, day),
                total=9_000,
                good=8_900,
            )


PERIODS = [
    Interval(local(0), local(0, 0, NEXT + timedelta(days=1))),  # whole days
    Interval(local(7, 10), local(12, 5, NEXT)),  # ragged ends, inside stops
    Interval(local(22, 40), local(8, 0, NEXT)),  # inside the stop across midnight
    # Starting after the maintenance downtime (08:00-08:30) that began the stoppage the
    # floor stop (08:20-08:47) joined: the stoppage keeps the earlier reason.
    Interval(local(8, 35), local(12)),
]


def _same(s, scope, period) -> None:
    ref = oee.reliability(session=s, scope=scope, period=period)
    kept = oee.reliability_stored(session=s, scope=scope, period=period)
    assert kept == ref
    for by in ("reason", "category"):
        assert oee.pareto_stored(session=s, scope=scope, period=period, by=by) == oee.pareto(
            session=s, scope=scope, period=period, by=by
        )


def test_stored_sums_equal_the_records(sessions):
    ids = saw_line(sessions)
    with sessions() as s:
        _records(s, ids)
        snapshot_round(s, local(0), local(0, 0, NEXT + timedelta(days=1)))
        s.commit()
    with sessions() as s:
        actor = _actor(s)
        # Floor and maintenance stop are one stored stoppage with the earlier reason.
        first = s.scalars(select(OeeStoppage).where(OeeStoppage.start_time == local(8))).one()
        assert first.reason_code == "BD-MECH" and first.linked.startswith("oee:")
        for ref in ("site", "machine"):
            scope = oee.resolve(
                session=s,
                actor=actor,
                **({"site": "JKS"} if ref == "site" else {"machine": "SAW-JKS-001"}),
            )
            for period in PERIODS:
                _same(s, scope, period)
        site = oee.resolve(session=s, actor=actor, site="JKS")
        whole = oee.reliability_stored(session=s, scope=site, period=PERIODS[0])
        assert whole["failures"] == 4  # 08:00 merged, across midnight, 09:00, the open one
        rows = oee.pareto_stored(session=s, scope=site, period=PERIODS[0], by="reason")["rows"]
        assert ("BD-MECH", 3) in [(r["key"], r["events"]) for r in rows]


def test_a_late_entry_reaches_the_stored_sums_once(sessions):
    ids = saw_line(sessions)
    with sessions() as s:
        _records(s, ids)
        snapshot_round(s, local(0), local(0, 0, NEXT + timedelta(days=1)))
        # Those records were logged an hour ago, not in the round's last five minutes.
        s.execute(update(ProductionDowntime).values(
            updated_at=ProductionDowntime.updated_at - timedelta(hours=1)))  # fmt: skip
        s.commit()
    # Entered afterwards, straight into the records: a floor stop of the first day and a
    # maintenance downtime overlapping it.
    with sessions() as s:
        m1 = s.get(Machine, ids["SAW-JKS-001"])
        s.add(
            ProductionDowntime(
                organization_id=m1.organization_id,
                machine_id=m1.id,
                reason_code="MT-WAIT",
                category="material",
                planned=False,
                start_time=local(16),
                end_time=local(16, 40),
                duration_minutes=40,
                logged_by="late",
            )
        )
        s.add(
            DowntimeRecord(
                organization_id=m1.organization_id,
                asset_id=m1.asset_id,
                type="BREAKDOWN",
                reason_code="BD-ELEC",
                start_time=local(16, 30),
                end_time=local(17),
                duration_minutes=30,
                reported_by="late",
            )
        )
        s.commit()
    with sessions() as s:
        site = oee.resolve(session=s, actor=_actor(s), site="JKS")
        before = oee.pareto_stored(session=s, scope=site, period=PERIODS[0], by="reason")
        # The next round: the floor stop changed in its slot, so the stored stoppages
        # around it are rebuilt (joining the maintenance downtime) and the slots they cover
        # are taken again; a second run changes nothing.
        for _ in range(2):
            oee_snapshots.retake_late(session=s, taken_at=datetime.now(UTC) + oee_snapshots.BUCKET)
            s.flush()
        after = oee.pareto_stored(session=s, scope=site, period=PERIODS[0], by="reason")
        assert after != before
        mt = next(r for r in after["rows"] if r["key"] == "MT-WAIT")
        assert (mt["events"], mt["hours"]) == (1, 1.0)  # 16:00-17:00, the 08:20 one is merged
        for period in PERIODS:
            _same(s, site, period)


def test_recording_and_ending_a_stop_keeps_the_stored_rows(sessions):
    ids = saw_line(sessions)
    with sessions() as s:
        actor = _actor(s)
        m1 = s.get(Machine, ids["SAW-JKS-001"])
        row = downtime.record_downtime(
            session=s, actor=actor, machine=m1, reason_code="bd-mech", start=local(9)
        )
        kept = s.scalars(select(OeeStoppage).where(OeeStoppage.machine_id == m1.id)).all()
        assert [(k.start_time, k.end_time) for k in kept] == [(local(9), None)]
        # A second stop overlapping the open one joins it when the first ends.
        downtime.end_downtime(session=s, actor=actor, downtime_id=row.id, end=local(9, 30))
        downtime.record_downtime(
            session=s,
            actor=actor,
            machine=m1,
            reason_code="mt-wait",
            start=local(9, 20),
            end=local(10),
        )
        kept = s.scalars(select(OeeStoppage).where(OeeStoppage.machine_id == m1.id)).all()
        assert [(k.start_time, k.end_time, k.reason_code) for k in kept] == [
            (local(9), local(10), "BD-MECH")
        ]
        # Refreshing again writes the same rows.
        oee_stoppages.refresh(session=s, machines=[m1], span=Interval(local(0), local(23)))
        again = s.scalars(select(OeeStoppage).where(OeeStoppage.machine_id == m1.id)).all()
        assert [(k.start_time, k.end_time, k.key) for k in again] == [
            (k.start_time, k.end_time, k.key) for k in kept
        ]
