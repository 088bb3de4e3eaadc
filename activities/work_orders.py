"""The work-order lifecycle's starting snapshot, and its activities: each decision
written (idempotent by step, with its audit row and J.2 events), the downtime clock
stopped, the daily asset round."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.actor import Actor
from domain.db import transaction
from domain.errors import DomainError
from domain.models import Asset, DowntimeRecord, Site, WorkOrder
from domain.services import dispatch as dispatch_service
from domain.services import downtime as downtime_service
from domain.services import work_orders as service
from domain.services.steps import parse_datetimes
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
        changes = parse_datetimes(data.changes, DATETIME_FIELDS)
        try:
            with transaction(self.sessions) as session:
                written = service.apply_step(
                    session=session,
                    organization_id=data.organization_id,
                    number=data.number,
                    step=data.step,
                    action=data.action,
                    changes=changes,
                    actor=data.actor,
                    reason=data.reason,
                    events=[(t, p) for t, p in data.events],
                )
                return written is not None
        except DomainError as err:
            raise ApplicationError(err.message, type=err.kind, non_retryable=True) from err

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
        # Held from its start when created under a stop-work, even one still being raised.
        safety_hold=asset.status.value == "SAFETY_HOLD"
        or dispatch_service.stop_work_open(session, asset.id),
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
