"""The work-order lifecycle's starting snapshot, and its activities: each decision
written (idempotent by step, with its audit row and J.2 events), the downtime clock
stopped, the daily asset round."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.steps import StepInput, StepTarget, record
from domain.actor import Actor
from domain.db import transaction
from domain.models import Asset, DowntimeRecord, Site, WorkOrder
from domain.services import dispatch as dispatch_service
from domain.services import downtime as downtime_service
from domain.services import work_orders as service
from domain.services.events import emit
from workflows.work_order_types import WorkOrderSnapshot

# Started and not yet verified: the asset is not ready for service while any remains.
UNDER_WAY = ("IN_PROGRESS", "WAITING_PARTS", "ON_HOLD", "ESCALATED", "COMPLETED")
DATETIME_FIELDS = {
    "status_changed_at",
    "scheduled_date",
    "started_at",
    "completed_at",
    "verified_at",
    "closed_at",
}


@dataclass
class WoRecord:
    number: str
    organization_id: int
    step: int
    action: str
    changes: dict[str, Any]
    actor: Actor
    reason: str | None = None
    events: list[list[Any]] = field(default_factory=list)  # [type, payload] pairs


@dataclass
class DowntimeEnd:
    number: str
    organization_id: int
    actor: Actor
    reason_code: str | None = None


class WorkOrderActivities:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    @activity.defn
    def record_work_order(self, data: WoRecord) -> bool:
        """Histories recorded before the kit's record_step call this; same write."""
        step = StepInput(
            service.ENTITY, data.number, data.organization_id, data.step, data.action,
            data.changes, data.actor, data.reason, {"events": data.events},
        )  # fmt: skip
        return record(self.sessions, WORK_ORDER_STEPS, step)

    @activity.defn
    def end_work_order_downtime(self, data: DowntimeEnd) -> int | None:
        """Stop the downtime clock the work order's breakdown started; its minutes."""
        with transaction(self.sessions) as session:
            wo = service.get(session, data.organization_id, data.number)
            # Only this work order's own clock: another order's breakdown keeps running.
            record = session.get(DowntimeRecord, wo.downtime_id) if wo.downtime_id else None
            if record is None:
                return None
            downtime_service.end_downtime(
                session, record, data.actor, datetime.now(UTC), data.reason_code
            )
            return record.duration_minutes

    @activity.defn
    def other_active_work_orders(self, number: str) -> list[str]:
        """Work under way on the same asset by other work orders."""
        with self.sessions() as session:
            wo = session.scalars(select(WorkOrder).where(WorkOrder.number == number)).one()
            return list(
                session.scalars(
                    select(WorkOrder.number).where(
                        WorkOrder.asset_id == wo.asset_id,
                        WorkOrder.number != number,
                        WorkOrder.status.in_(UNDER_WAY),
                    )
                ).all()
            )

    @activity.defn
    def watch_assets(self, day: str) -> list[str]:
        """The day's PM and certification events (J.2), once per day."""
        from datetime import date

        with transaction(self.sessions) as session:
            return dispatch_service.watch_assets(session, date.fromisoformat(day))


def _events_alongside(session: Session, wo: WorkOrder, data: StepInput) -> None:
    """The J.2 events of the step, keyed by it so a retry emits none twice."""
    for event_type, payload in data.extra.get("events") or []:
        emit(
            session,
            data.organization_id,
            event_type,
            service.ENTITY,
            wo.number,
            {"by": data.actor.full_name, **payload},
            f"{wo.number}/{data.step}/{event_type}",
        )


WORK_ORDER_STEPS = StepTarget(
    entity=service.ENTITY,
    load=lambda session, org, number: service.get(session, org, number, lock=True),
    writable=frozenset(service.WRITABLE),
    datetimes=frozenset(DATETIME_FIELDS),
    alongside=_events_alongside,
)


def snapshot(session: Session, wo: WorkOrder) -> WorkOrderSnapshot:
    asset = session.get(Asset, wo.asset_id)
    site = session.get(Site, asset.site_id)
    f = service.facts(session, wo)
    return WorkOrderSnapshot(
        number=wo.number,
        type=wo.type,
        status=wo.status,
        asset_id=asset.id,
        asset_number=asset.asset_number,
        site_code=site.code,
        title=wo.title,
        description=wo.description,
        estimated_cost=wo.estimated_cost,
        requires_loto=wo.requires_loto,
        requires_hot_work=wo.requires_hot_work,
        requires_confined_space=wo.requires_confined_space,
        requires_first_article=wo.requires_first_article,
        after_stop_work=wo.after_stop_work,
        safety_hold=asset.status.value == "SAFETY_HOLD",
        tasks=[
            {
                "sequence": t.sequence,
                "description": t.description,
                "required": t.required,
                "completed": t.completed,
                "requires_measurement": t.requires_measurement,
                "measurement_passed": t.measurement_passed,
            }
            for t in f.tasks
        ],
        labor_hours=f.labor_hours,
        permits=[
            {
                "kind": p.kind.value,
                "active": p.active,
                "energy_isolation_verified": p.energy_isolation_verified,
                "removed": p.removed,
                "removed_by_authorized": p.removed_by_authorized,
            }
            for p in f.permits
        ],
        evidence=sorted(f.evidence),
        downtime_id=wo.downtime_id,
        last_step=wo.last_step,
    )
