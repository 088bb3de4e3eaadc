"""The work-order lifecycle's starting snapshot, and its activities: each decision
written (idempotent by step, with its audit row and J.2 events), the content people add
(tasks, labour, permits, parts, files) written the same way, the downtime clock stopped,
the daily asset round."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.steps import StepInput, StepTarget, record
from domain.actor import Actor
from domain.db import transaction
from domain.errors import DomainError
from domain.models import Asset, DowntimeRecord, Site, WorkOrder
from domain.rules import work_orders as rules
from domain.services import dispatch as dispatch_service
from domain.services import downtime as downtime_service
from domain.services import parts as parts_service
from domain.services import permits as permits_service
from domain.services import work_orders as service
from domain.services.events import emit
from workflows.work_order_types import (
    AddTaskRequest,
    AttachFileRequest,
    CompleteTaskRequest,
    EditTaskRequest,
    IssuePartRequest,
    IssuePermitRequest,
    LogLaborRequest,
    RemovePermitRequest,
    RemoveTaskRequest,
    RequestPartsRequest,
    WorkOrderSnapshot,
)

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


@dataclass
class ContentKey:
    """Which work order, and the workflow's step the write belongs to."""

    number: str
    organization_id: int
    step: int


def task_detail(t) -> dict[str, Any]:
    """What the workflow's checks know of a task."""
    return {
        "sequence": t.sequence,
        "description": t.description,
        "required": t.is_required,
        "completed": t.completed,
        "requires_measurement": t.requires_measurement,
        "measurement_passed": t.measurement_passed,
    }


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

    # -- content: each write keyed by the workflow's step, so a retry writes nothing twice --

    def _content(
        self,
        key: ContentKey,
        actor: Actor,
        action: str,
        write: Callable[[Session, WorkOrder], tuple[dict[str, Any], str]],
    ) -> dict[str, Any]:
        try:
            with transaction(self.sessions) as session:
                return service.write_content(
                    session=session,
                    organization_id=key.organization_id,
                    number=key.number,
                    step=key.step,
                    action=action,
                    actor=actor,
                    write=lambda wo: write(session, wo),
                )
        except DomainError as err:
            details = [err.field] if err.field else []
            raise ApplicationError(
                err.message, *details, type=err.kind, non_retryable=True
            ) from err

    @activity.defn
    def add_task(self, key: ContentKey, req: AddTaskRequest) -> dict[str, Any]:
        def write(session: Session, wo: WorkOrder) -> tuple[dict[str, Any], str]:
            new = service.NewTask(
                req.description, req.required, req.requires_measurement, req.unit,
                req.spec_min, req.spec_max,
            )  # fmt: skip
            task = service.add_task(session, wo, new)
            return {"task": task_detail(task)}, f"task {task.sequence}: {task.description}"

        return self._content(key, req.actor, "TASK_ADDED", write)

    @activity.defn
    def edit_task(self, key: ContentKey, req: EditTaskRequest) -> dict[str, Any]:
        def write(session: Session, wo: WorkOrder) -> tuple[dict[str, Any], str]:
            before = service.task_fields(service.task_of(wo, req.sequence))
            edit = service.TaskEdit(
                req.description, req.required, req.requires_measurement, req.unit,
                req.spec_min, req.spec_max, req.requires_photo, req.new_sequence,
            )  # fmt: skip
            t = service.edit_task(session, wo, req.sequence, edit)
            after = service.task_fields(t)
            summary = f"task {req.sequence} edited" + (
                f", now {t.sequence}" if t.sequence != req.sequence else ""
            )
            if req.reason:
                summary += f": {req.reason}"
            return {"task": task_detail(t), "was": req.sequence, "after": after,
                    "before": before}, summary  # fmt: skip

        return self._content(key, req.actor, "TASK_EDITED", write)

    @activity.defn
    def remove_task(self, key: ContentKey, req: RemoveTaskRequest) -> dict[str, Any]:
        def write(session: Session, wo: WorkOrder) -> tuple[dict[str, Any], str]:
            was = service.remove_task(session, wo, req.sequence)
            summary = f"task {req.sequence} removed: {was['description']}"
            if req.reason:
                summary += f" ({req.reason})"
            return {"removed": req.sequence, "before": was}, summary

        return self._content(key, req.actor, "TASK_REMOVED", write)

    @activity.defn
    def complete_task(self, key: ContentKey, req: CompleteTaskRequest) -> dict[str, Any]:
        def write(session: Session, wo: WorkOrder) -> tuple[dict[str, Any], str]:
            was = next((task_detail(t) for t in wo.tasks if t.sequence == req.sequence), None)
            t = service.complete_task(
                session, wo, req.sequence, req.actor, req.measurement_value, req.notes
            )
            verdict = {True: " (pass)", False: " (FAIL: out of spec)", None: ""}[
                t.measurement_passed
            ]
            result = {"task": task_detail(t), "measurement_passed": t.measurement_passed}
            return {**result, "before": {"task": was}}, f"task {t.sequence} done{verdict}"

        return self._content(key, req.actor, "TASK_COMPLETED", write)

    @activity.defn
    def log_labor(self, key: ContentKey, req: LogLaborRequest) -> dict[str, Any]:
        def write(session: Session, wo: WorkOrder) -> tuple[dict[str, Any], str]:
            tech = service.labour_for(session, wo, req.actor, req.technician)
            rate = req.hourly_rate if req.hourly_rate is not None else rules.STANDARD_HOURLY_RATE
            entry = service.log_labor(session, wo, tech, req.hours, req.labor_type, rate, req.notes)
            summary = f"{entry.hours:g} h {entry.labor_type} by {entry.technician_name}"
            return {"hours": entry.hours, "cost": entry.total_cost}, summary

        return self._content(key, req.actor, "LABOR", write)

    @activity.defn
    def issue_permit(self, key: ContentKey, req: IssuePermitRequest) -> dict[str, Any]:
        def write(session: Session, wo: WorkOrder) -> tuple[dict[str, Any], str]:
            permit = permits_service.issue_permit(
                session, wo, req.actor, rules.PermitKind(req.kind), list(req.energy_sources),
                req.isolation_verified, list(req.lock_numbers),
                permits_service.authorised_for_permits(session, req.actor),
            )  # fmt: skip
            result = {
                "kind": permit.kind,
                "isolation_verified": permit.isolation_verified,
                "permit": permit.number,
            }
            return result, f"{permit.number} issued"

        return self._content(key, req.actor, "PERMIT_ISSUED", write)

    @activity.defn
    def remove_permit(self, key: ContentKey, req: RemovePermitRequest) -> dict[str, Any]:
        def write(session: Session, wo: WorkOrder) -> tuple[dict[str, Any], str]:
            permit = permits_service.remove_permit(
                wo, req.actor, req.kind, permits_service.authorised_for_permits(session, req.actor)
            )
            return {"kind": req.kind, "permit": permit.number}, f"{permit.number} removed"

        return self._content(key, req.actor, "PERMIT_REMOVED", write)

    @activity.defn
    def request_parts(self, key: ContentKey, req: RequestPartsRequest) -> dict[str, Any]:
        def write(session: Session, wo: WorkOrder) -> tuple[dict[str, Any], str]:
            part = parts_service.get(session, req.actor.organization_id, req.part_number, True)
            parts_service.request(session, req.actor, wo, part, req.quantity, req.reserve)
            return {}, f"requested {req.quantity:g} x {part.part_number}"

        return self._content(key, req.actor, "PART_REQUESTED", write)

    @activity.defn
    def issue_part(self, key: ContentKey, req: IssuePartRequest) -> dict[str, Any]:
        def write(session: Session, wo: WorkOrder) -> tuple[dict[str, Any], str]:
            # The part's row is locked here, inside this one transaction, never by the API.
            part = parts_service.get(session, req.actor.organization_id, req.part_number, True)
            line, alerts = parts_service.issue(
                session, req.actor, wo, part, req.quantity, list(req.serial_numbers)
            )
            result = {
                "part": parts_service.summary(part),
                "used": line.quantity_used,
                "alerts": alerts,
            }
            return result, f"issued {req.quantity:g} x {part.part_number}"

        return self._content(key, req.actor, "PART_ISSUED", write)

    @activity.defn
    def attach_file(self, key: ContentKey, req: AttachFileRequest) -> dict[str, Any]:
        def write(session: Session, wo: WorkOrder) -> tuple[dict[str, Any], str]:
            f = req.file
            row = service.attach_stored(
                session, wo, req.actor, rules.Evidence(req.kind), f.sha256, f.filename,
                f.content_type, f.size, req.description, req.source,
            )  # fmt: skip
            return {"kind": row.kind, "attachment_id": row.id}, f"{row.kind} {row.filename}"

        return self._content(key, req.actor, "FILE_ATTACHED", write)

    @activity.defn
    def end_work_order_downtime(self, data: DowntimeEnd) -> int | None:
        """Stop the downtime clock the work order's breakdown started; its minutes."""
        with transaction(self.sessions) as session:
            wo = service.get(session, data.organization_id, data.number)
            # Only this work order's own clock: another order's breakdown keeps running.
            record = session.get(DowntimeRecord, wo.downtime_id) if wo.downtime_id else None
            if record is None:
                return None
            if downtime_service.shared_with_open_work(session, record.id, wo.number):
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
        pm_schedule_id=wo.pm_schedule_id,
    )
