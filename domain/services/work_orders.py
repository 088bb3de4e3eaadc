"""Work-order records: creation, the writes the workflow's activities make (idempotent
by step), permits, tasks, labour, evidence, downtime, dispatch checks and events."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, joinedload, selectinload

from domain.actor import Actor
from domain.errors import Conflict, NotAllowed, NotFound, RuleViolation
from domain.models import (
    Asset,
    Certification,
    DowntimeRecord,
    MaintenanceEvent,
    Permit,
    PmSchedule,
    User,
    WorkOrder,
    WorkOrderAttachment,
    WorkOrderLabor,
    WorkOrderTask,
)
from domain.rules import work_orders as rules
from domain.rules.uploads import safe_content_type, safe_filename, upload_refusal
from domain.services.audit import record_change
from domain.services.steps import next_number, write_step

ENTITY = "WORK_ORDER"
ACTIVE = ("SCHEDULED", "IN_PROGRESS", "WAITING_PARTS", "ON_HOLD", "ESCALATED")
LABOR_RATES = {"REGULAR": 1.0, "OVERTIME": 1.5, "DOUBLE_TIME": 2.0, "CONTRACTOR": 1.0}


def emit(
    session: Session,
    organization_id: int,
    type: str,
    entity_type: str,
    entity_id: str,
    payload: dict[str, Any],
    key: str,
) -> None:
    """Append a J.2 event; the same key twice (a retried activity) appends nothing."""
    session.execute(
        insert(MaintenanceEvent)
        .values(
            organization_id=organization_id,
            type=type,
            entity_type=entity_type,
            entity_id=entity_id,
            payload=payload,
            key=key,
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )


def events_after(
    session: Session, organization_id: int, after: int, limit: int, types: list[str] | None
) -> list[MaintenanceEvent]:
    query = select(MaintenanceEvent).where(
        MaintenanceEvent.organization_id == organization_id, MaintenanceEvent.id > after
    )
    if types:
        query = query.where(MaintenanceEvent.type.in_(types))
    return list(session.scalars(query.order_by(MaintenanceEvent.id).limit(limit)).all())


def get_asset_by_id(session: Session, asset_id: int) -> Asset:
    return session.get(Asset, asset_id)


def asset_by_number(session: Session, organization_id: int, number: str) -> Asset:
    asset = session.scalars(
        select(Asset).where(
            Asset.organization_id == organization_id, Asset.asset_number == number.upper()
        )
    ).one_or_none()
    if asset is None:
        raise NotFound(f"asset {number} not found", field="asset")
    return asset


@dataclass(frozen=True)
class NewTask:
    description: str
    required: bool = True
    requires_measurement: bool = False
    unit: str | None = None
    spec_min: float | None = None
    spec_max: float | None = None


def create(
    *,
    session: Session,
    actor: Actor,
    asset: Asset,
    type: rules.WoType,
    priority: rules.WoPriority,
    source: rules.WoSource,
    title: str,
    description: str,
    source_reference: str | None = None,
    estimated_hours: float | None = None,
    estimated_cost: float = 0.0,
    requires_loto: bool | None = None,
    requires_hot_work: bool = False,
    requires_confined_space: bool = False,
    requires_first_article: bool = False,
    tasks: list[NewTask] | None = None,
    now: datetime | None = None,
) -> WorkOrder:
    now = now or datetime.now(UTC)
    if requires_loto is None:  # C.1: breakdowns and safety work always lock out
        requires_loto = type in (rules.WoType.BREAKDOWN, rules.WoType.SAFETY_RELATED)
    wo = WorkOrder(
        organization_id=actor.organization_id,
        number=next_number(session, "WO", now.year, 5),
        type=type.value,
        priority=priority.value,
        source=source.value,
        source_reference=source_reference,
        asset_id=asset.id,
        title=title,
        description=description,
        status=rules.WoStatus.DRAFT.value,
        status_changed_at=now,
        status_changed_by=actor.full_name,
        estimated_hours=estimated_hours,
        estimated_cost=estimated_cost,
        requires_loto=requires_loto,
        requires_hot_work=requires_hot_work,
        requires_confined_space=requires_confined_space,
        requires_first_article=requires_first_article,
        created_by=actor.full_name,
    )
    session.add(wo)
    session.flush()
    for i, t in enumerate(tasks or [], start=1):
        session.add(
            WorkOrderTask(
                work_order_id=wo.id,
                sequence=i,
                description=t.description,
                is_required=t.required,
                requires_measurement=t.requires_measurement,
                measurement_unit=t.unit,
                spec_min=t.spec_min,
                spec_max=t.spec_max,
            )
        )
    record_change(
        session=session,
        actor=actor,
        entity_type=ENTITY,
        entity_id=wo.number,
        action="CREATED",
        before=None,
        after={"status": "DRAFT", "type": type.value, "asset": asset.asset_number},
        reason=title,
    )
    emit(
        session,
        actor.organization_id,
        "wo.created",
        ENTITY,
        wo.number,
        {"asset": asset.asset_number, "type": type.value, "priority": priority.value},
        f"{wo.number}/created",
    )
    session.flush()
    return wo


# What a work order's answer shows, loaded with its rows (files without their bytes):
# a page or a detail is a fixed number of queries, whatever it holds.
SHOWN = (
    joinedload(WorkOrder.asset).load_only(Asset.asset_number, Asset.status).lazyload(Asset.type),
    selectinload(WorkOrder.tasks),
    selectinload(WorkOrder.labor),
    selectinload(WorkOrder.parts),
    selectinload(WorkOrder.permits),
    selectinload(WorkOrder.attachments).defer(WorkOrderAttachment.content),
)


def get(
    session: Session, organization_id: int, number: str, lock: bool = False, shown: bool = False
) -> WorkOrder:
    """The work order; `shown` loads what its answer shows with it, for reading."""
    query = select(WorkOrder).where(
        WorkOrder.organization_id == organization_id, WorkOrder.number == number.upper()
    )
    if lock:
        query = query.with_for_update(of=WorkOrder)
    if shown:
        query = query.options(*SHOWN)
    wo = session.scalars(query).unique().one_or_none()
    if wo is None:
        raise NotFound(f"work order {number} not found", field="number")
    return wo


def facts(session: Session, wo: WorkOrder, safety_hold: bool = False) -> rules.WoFacts:
    return rules.WoFacts(
        type=rules.WoType(wo.type),
        status=rules.WoStatus(wo.status),
        has_asset=wo.asset_id is not None,
        title=wo.title,
        description=wo.description,
        estimated_cost=wo.estimated_cost,
        requires_loto=wo.requires_loto,
        requires_hot_work=wo.requires_hot_work,
        requires_confined_space=wo.requires_confined_space,
        requires_first_article=wo.requires_first_article,
        first_article_passed=wo.first_article_passed,
        tasks=[
            rules.Task(
                t.sequence,
                t.description,
                t.is_required,
                t.completed,
                t.requires_measurement,
                t.measurement_passed,
            )
            for t in wo.tasks
        ],
        labor_hours=sum(entry.hours for entry in wo.labor),
        permits=[
            rules.Permit(
                rules.PermitKind(p.kind),
                p.status == "ACTIVE",
                p.isolation_verified,
                p.status == "REMOVED",
                p.status == "REMOVED",
            )
            for p in wo.permits
        ],
        evidence={a.kind for a in wo.attachments},
        checklist=dict(wo.verification.get("checklist", {})),
        test_run_passed=wo.test_run_passed,
        safety_hold=safety_hold,
        after_stop_work=wo.after_stop_work,
        approvals={k: v["by"] for k, v in (wo.approvals or {}).items()},
    )


WRITABLE = {
    "status",
    "status_changed_at",
    "status_changed_by",
    "assigned_to_id",
    "scheduled_date",
    "scheduled_shift",
    "started_at",
    "completed_at",
    "verified_at",
    "verified_by",
    "verification",
    "test_run_passed",
    "approvals",
    "first_article_passed",
    "after_stop_work",
    "closed_at",
    "cancel_reason",
    "title",
    "description",
    "priority",
    "estimated_hours",
    "estimated_cost",
    "downtime_id",
}


def apply_step(
    *,
    session: Session,
    organization_id: int,
    number: str,
    step: int,
    action: str,
    changes: dict[str, Any],
    actor: Actor,
    reason: str | None,
    events: list[tuple[str, dict[str, Any]]] | None = None,
) -> WorkOrder | None:
    """One workflow decision, its audit row and its events; None when already written."""
    wo = get(session, organization_id, number, lock=True)
    written = write_step(
        session=session,
        row=wo,
        entity_type=ENTITY,
        entity_id=wo.number,
        writable=WRITABLE,
        step=step,
        action=action,
        changes=changes,
        actor=actor,
        reason=reason,
    )
    if not written:
        return None
    for event_type, payload in events or []:
        emit(
            session,
            organization_id,
            event_type,
            ENTITY,
            wo.number,
            {"by": actor.full_name, **payload},
            f"{wo.number}/{step}/{event_type}",
        )
    return wo


def add_task(session: Session, wo: WorkOrder, task: NewTask) -> WorkOrderTask:
    sequence = (max((t.sequence for t in wo.tasks), default=0)) + 1
    row = WorkOrderTask(
        work_order_id=wo.id,
        sequence=sequence,
        description=task.description,
        is_required=task.required,
        requires_measurement=task.requires_measurement,
        measurement_unit=task.unit,
        spec_min=task.spec_min,
        spec_max=task.spec_max,
    )
    session.add(row)
    session.flush()
    return row


def measurement_passes(task: WorkOrderTask, value: float | None) -> bool | None:
    """Within [spec_min, spec_max]; None when the task measures nothing."""
    if not task.requires_measurement:
        return None
    if value is None:
        return False
    low = task.spec_min if task.spec_min is not None else float("-inf")
    high = task.spec_max if task.spec_max is not None else float("inf")
    return low <= value <= high


def complete_task(
    session: Session, wo: WorkOrder, sequence: int, actor: Actor, value: float | None, notes: str
) -> WorkOrderTask:
    task = next((t for t in wo.tasks if t.sequence == sequence), None)
    if task is None:
        raise NotFound(f"task {sequence} not found on {wo.number}", field="task")
    if task.requires_measurement and value is None:
        raise RuleViolation(
            f"task {sequence} needs a measurement in {task.measurement_unit or 'its unit'}",
            field="measurement_value",
        )
    task.measurement_value = value
    task.measurement_passed = measurement_passes(task, value)
    task.completed = True
    task.completed_at = datetime.now(UTC)
    task.completed_by = actor.full_name
    task.notes = notes or None
    return task


def log_labor(
    session: Session,
    wo: WorkOrder,
    technician: User,
    hours: float,
    labor_type: str,
    base_rate: float,
    notes: str | None,
) -> WorkOrderLabor:
    rate = base_rate * LABOR_RATES[labor_type]
    row = WorkOrderLabor(
        work_order_id=wo.id,
        technician_id=technician.id,
        technician_name=technician.full_name,
        labor_type=labor_type,
        hours=hours,
        hourly_rate=rate,
        total_cost=round(hours * rate, 2),
        notes=notes,
    )
    session.add(row)
    session.flush()
    return row


def issue_permit(
    session: Session,
    wo: WorkOrder,
    actor: Actor,
    kind: rules.PermitKind,
    energy_sources: list[str],
    isolation_verified: bool,
    lock_numbers: list[str],
    authorized: bool,
) -> Permit:
    """F.3: issued by an authorised person, the isolation verified, linked to the WO."""
    if not authorized:
        raise RuleViolation(
            f"{kind.value} permits are issued by an authorised person "
            "(EHS, or a holder of a valid LOTO authorisation)",
            field="issued_by",
        )
    if kind is rules.PermitKind.LOTO and not isolation_verified:
        raise RuleViolation(
            "energy isolation must be verified before a LOTO permit is issued",
            field="isolation_verified",
        )
    if kind is rules.PermitKind.LOTO and not energy_sources:
        raise RuleViolation("name the energy sources isolated", field="energy_sources")
    active = next((p for p in wo.permits if p.kind == kind.value and p.status == "ACTIVE"), None)
    if active is not None:
        raise Conflict(f"{active.number} is still active: one {kind.value} permit at a time")
    permit = Permit(
        organization_id=wo.organization_id,
        number=next_number(session, kind.value[:4], datetime.now(UTC).year, 5),
        kind=kind.value,
        work_order_id=wo.id,
        asset_id=wo.asset_id,
        issued_by_id=actor.user_id,
        issued_by=actor.full_name,
        energy_sources=energy_sources,
        isolation_verified=isolation_verified,
        lock_numbers=lock_numbers,
    )
    session.add(permit)
    session.flush()
    return permit


def authorised_for_permits(session: Session, actor: Actor) -> bool:
    """EHS, the maintenance admin, or a holder of a valid LOTO authorisation (F.3)."""
    if "EHS" in actor.roles or "MAINT_ADMIN" in actor.roles:
        return True
    return bool(
        session.scalars(
            select(Certification.id).where(
                Certification.user_id == actor.user_id,
                Certification.code == "LOTO-AUTH",
                Certification.expires_on.is_(None) | (Certification.expires_on >= date.today()),
            )
        ).first()
    )


def remove_permit(wo: WorkOrder, actor: Actor, kind: str, authorized: bool) -> Permit:
    """LOTO (or any permit) comes off only by an authorised person's hand (F.3, K.2)."""
    if not authorized:
        raise NotAllowed(f"{kind} is removed by an authorised person", field="removed_by")
    permit = next((p for p in wo.permits if p.kind == kind and p.status == "ACTIVE"), None)
    if permit is None:
        raise Conflict(f"no active {kind} permit on {wo.number}", field="kind")
    permit.status, permit.removed_by = "REMOVED", actor.full_name
    permit.removed_at = datetime.now(UTC)
    return permit


def add_attachment(
    session: Session,
    wo: WorkOrder,
    actor: Actor,
    kind: rules.Evidence,
    filename: str,
    content_type: str,
    content: bytes,
    description: str | None,
    source: str | None = None,
) -> WorkOrderAttachment:
    photos = (rules.Evidence.PHOTO_BEFORE, rules.Evidence.PHOTO_AFTER)
    refusal = upload_refusal(
        len(content), content_type, kind.value, "image" if kind in photos else None
    )
    if refusal:
        raise RuleViolation(refusal, field="file")
    row = WorkOrderAttachment(
        work_order_id=wo.id,
        kind=kind.value,
        filename=safe_filename(filename),
        content_type=safe_content_type(content_type),
        size=len(content),
        content=content,
        description=description,
        source=source,
        uploaded_by=actor.full_name,
    )
    session.add(row)
    session.flush()
    return row


def start_downtime(
    session: Session,
    asset: Asset,
    actor: Actor,
    type: str,
    reason_code: str,
    start: datetime,
    impacted_jobs: list[str],
    details: str | None,
    work_order_number: str | None = None,
) -> DowntimeRecord:
    open_record = session.scalars(
        select(DowntimeRecord).where(
            DowntimeRecord.asset_id == asset.id, DowntimeRecord.end_time.is_(None)
        )
    ).first()
    if open_record is not None:
        return open_record  # the clock already runs for this asset
    record = DowntimeRecord(
        organization_id=asset.organization_id,
        asset_id=asset.id,
        type=type,
        reason_code=reason_code,
        reason_details=details,
        start_time=start,
        impacted_jobs=impacted_jobs,
        production_loss_value=None,
        work_order_number=work_order_number,
        reported_by=actor.full_name,
    )
    session.add(record)
    session.flush()
    emit(
        session,
        asset.organization_id,
        "downtime.started",
        "ASSET",
        asset.asset_number,
        {"downtime_id": record.id, "reason_code": reason_code, "impacted_jobs": impacted_jobs},
        f"downtime/{record.id}/started",
    )
    return record


def end_downtime(
    session: Session, record: DowntimeRecord, actor: Actor, end: datetime, reason_code: str | None
) -> DowntimeRecord:
    if record.end_time is not None:
        return record
    if end < record.start_time:
        raise RuleViolation("the downtime cannot end before it started", field="end_time")
    record.end_time = end
    record.duration_minutes = round((end - record.start_time).total_seconds() / 60)
    if reason_code:
        record.reason_code = reason_code
    record.ended_by = actor.full_name
    asset = session.get(Asset, record.asset_id)
    if asset.production_loss_per_hour:
        record.production_loss_value = round(
            asset.production_loss_per_hour * record.duration_minutes / 60, 2
        )
    emit(
        session,
        record.organization_id,
        "downtime.ended",
        "ASSET",
        asset.asset_number,
        {
            "downtime_id": record.id,
            "reason_code": record.reason_code,
            "duration_minutes": record.duration_minutes,
        },
        f"downtime/{record.id}/ended",
    )
    return record


@dataclass(frozen=True)
class Block:
    type: str
    message: str
    detail: dict[str, Any]


def dispatch_check(session: Session, asset: Asset, today: date) -> list[Block]:
    """F.2: every reason the asset cannot take work now; empty means it can."""
    blocks = []
    if asset.status.value != "IN_SERVICE":
        blocks.append(
            Block(
                "ASSET_STATUS",
                f"Asset is {asset.status.value}",
                {"reason": asset.status_reason},
            )
        )
    active = session.scalars(
        select(WorkOrder)
        .where(WorkOrder.asset_id == asset.id, WorkOrder.status.in_(["SCHEDULED", "IN_PROGRESS"]))
        .order_by(WorkOrder.id)
    ).all()
    for wo in active:
        blocks.append(
            Block(
                "ACTIVE_WORK_ORDER",
                f"Active WO: {wo.number}",
                {
                    "status": wo.status,
                    "estimated_completion": wo.scheduled_date.isoformat()
                    if wo.scheduled_date
                    else None,
                },
            )
        )
    for pm in session.scalars(
        select(PmSchedule).where(
            PmSchedule.asset_id == asset.id,
            PmSchedule.is_active.is_(True),
            PmSchedule.is_paused.is_(False),
            PmSchedule.overdue_action == "BLOCK",
            PmSchedule.next_due_date.is_not(None),
        )
    ):
        overdue = (today - pm.next_due_date.date()).days
        # L.1 scenario 2: the block starts once the PM is past its threshold.
        if overdue > pm.overdue_threshold_days:
            blocks.append(
                Block(
                    "PM_OVERDUE",
                    "PM overdue - asset blocked",
                    {"schedule": pm.template_code, "days_overdue": overdue},
                )
            )
    if (
        asset.requires_certification
        and asset.certification_expiry
        and asset.certification_expiry < today
    ):
        blocks.append(
            Block(
                "CERTIFICATION_EXPIRED",
                "Certification expired",
                {"expired_at": asset.certification_expiry.isoformat()},
            )
        )
    return blocks


def active_on_asset(session: Session, asset_id: int) -> list[str]:
    return list(
        session.scalars(
            select(WorkOrder.number).where(
                WorkOrder.asset_id == asset_id, WorkOrder.status.in_(ACTIVE)
            )
        ).all()
    )


STARTED = ("IN_PROGRESS", "WAITING_PARTS", "ON_HOLD", "ESCALATED", "COMPLETED", "VERIFIED")


def started_on_asset(session: Session, asset_id: int) -> list[str]:
    """Work orders whose work has begun on the asset and which have not closed."""
    return list(
        session.scalars(
            select(WorkOrder.number)
            .where(WorkOrder.asset_id == asset_id, WorkOrder.status.in_(STARTED))
            .order_by(WorkOrder.id)
        ).all()
    )


def stop_work_open(session: Session, asset_id: int) -> bool:
    from domain.models import StopWork

    return (
        session.scalar(
            select(StopWork.id).where(StopWork.asset_id == asset_id, StopWork.cleared_at.is_(None))
        )
        is not None
    )


def open_on_asset(session: Session, asset_id: int) -> list[str]:
    """Every work order on the asset that is not final: each must learn of a stop-work."""
    return list(
        session.scalars(
            select(WorkOrder.number)
            .where(
                WorkOrder.asset_id == asset_id,
                WorkOrder.status.not_in(["CLOSED", "CANCELLED", "REJECTED"]),
            )
            .order_by(WorkOrder.id)
        ).all()
    )


def open_count(session: Session, organization_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                WorkOrder.organization_id == organization_id,
                WorkOrder.status.not_in(["CLOSED", "CANCELLED", "REJECTED"]),
            )
        )
        or 0
    )


def watch_assets(session: Session, today: date, certification_days: int = 30) -> list[str]:
    """The daily J.2 asset events: PM coming due, PM overdue, certification expiring.
    Keyed by day, so a second run the same day records nothing new."""
    emitted = []
    for pm, asset in session.execute(
        select(PmSchedule, Asset)
        .join(Asset, Asset.id == PmSchedule.asset_id)
        .where(
            PmSchedule.is_active.is_(True),
            PmSchedule.is_paused.is_(False),
            PmSchedule.next_due_date.is_not(None),
        )
    ):
        due = pm.next_due_date.date()
        days = (due - today).days
        if days < 0:
            kind = "asset.pm_overdue"
        elif days <= pm.alert_days_before:
            kind = "asset.pm_due"
        else:
            continue
        emit(
            session, asset.organization_id, kind, "ASSET", asset.asset_number,
            {"schedule": pm.template_code, "due": due.isoformat(), "days": days,
             "overdue_action": pm.overdue_action},
            f"{asset.asset_number}/{pm.template_code}/{kind}/{today.isoformat()}",
        )  # fmt: skip
        emitted.append(kind)
    for asset in session.scalars(
        select(Asset).where(
            Asset.requires_certification.is_(True), Asset.certification_expiry.is_not(None)
        )
    ):
        days = (asset.certification_expiry - today).days
        if days <= certification_days:
            emit(
                session, asset.organization_id, "asset.certification_expiring", "ASSET",
                asset.asset_number,
                {"expires": asset.certification_expiry.isoformat(), "days": days},
                f"{asset.asset_number}/certification/{today.isoformat()}",
            )  # fmt: skip
            emitted.append("asset.certification_expiring")
    return emitted
