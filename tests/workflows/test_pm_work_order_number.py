"""A PM work order is written under a provisional number and takes its real one last, just
before commit (the gapless counter stays locked only that long): the number, its audit rows
and its events read as if it had been taken first."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from domain.db import transaction
from domain.models import AuditLog, MaintenanceEvent, WorkOrder
from domain.models.anomalies import ReferenceCounter
from domain.services import pm_schedules
from domain.services.steps import next_number
from tests.workflows.test_pm_schedule_workflow import make_schedule


def test_the_number_is_taken_last_and_everything_carries_it(sessions):
    now = datetime.now(UTC)
    sid = make_schedule(sessions, asset="SAW-JKS-002", code="PM-NUM", schedule_type="TIME_BASED",
                        days=30, next_due=now + timedelta(days=1))  # fmt: skip
    with transaction(sessions) as s:
        before = next_number(s, "WO", now.year, 5)  # another work order, numbered first
    with transaction(sessions) as s:
        opened = pm_schedules.open_work_order(session=s, schedule_id=sid, trigger="TIME")
    with transaction(sessions) as s:
        after = next_number(s, "WO", now.year, 5)
    seq = int(before.rsplit("-", 1)[1])
    assert opened.created
    assert opened.number == f"WO-{now.year}-{seq + 1:05d}"
    assert after == f"WO-{now.year}-{seq + 2:05d}"  # gapless on both sides
    provisional = pm_schedules.provisional(sid)
    with sessions() as s:
        wo = s.scalars(select(WorkOrder).where(WorkOrder.pm_schedule_id == sid)).one()
        assert wo.number == opened.number
        actions = s.scalars(select(AuditLog.action).where(AuditLog.entity_id == wo.number))
        assert {"CREATED", "APPROVED"} <= set(actions)
        events = s.scalars(
            select(MaintenanceEvent).where(MaintenanceEvent.key.like(f"{wo.number}/%"))
        ).all()
        assert {e.type for e in events} == {"wo.created", "pm.work_order_generated"}
        assert {e.payload.get("work_order") for e in events} <= {None, wo.number}
        assert s.scalars(select(AuditLog).where(AuditLog.entity_id == provisional)).all() == []
        assert (
            s.scalars(
                select(MaintenanceEvent).where(MaintenanceEvent.key.like(f"{provisional}/%"))
            ).all()
            == []
        )
    # Again: the one open is returned as it is.
    with transaction(sessions) as s:
        again = pm_schedules.open_work_order(session=s, schedule_id=sid, trigger="TIME")
    assert (again.number, again.created) == (opened.number, False)


def test_numbers_past_five_digits_keep_every_digit(sessions):
    now = datetime.now(UTC)
    sid = make_schedule(sessions, asset="SAW-JKS-002", code="PM-BIG", schedule_type="TIME_BASED",
                        days=30, next_due=now + timedelta(days=1))  # fmt: skip
    with transaction(sessions) as s:
        next_number(s, "WO", now.year, 5)
        s.get(ReferenceCounter, ("WO", now.year)).last = 123456
    with transaction(sessions) as s:
        opened = pm_schedules.open_work_order(session=s, schedule_id=sid, trigger="TIME")
    assert opened.number == f"WO-{now.year}-123457"
