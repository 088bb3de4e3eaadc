"""Work-order records: creation, the writes the workflow's activities make (idempotent
by step), tasks, labour and evidence."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from domain.actor import Actor
from domain.errors import Conflict, NotFound, RuleViolation
from domain.models import (
    Asset,
    AuditLog,
    User,
    WorkOrder,
    WorkOrderAttachment,
    WorkOrderLabor,
    WorkOrderTask,
)
from domain.rules import work_orders as rules
from domain.rules.uploads import safe_content_type, safe_filename, upload_refusal
from domain.services import dispatch, files
from domain.services.audit import record_change
from domain.services.events import emit
from domain.services.steps import next_number, write_step

ENTITY = "WORK_ORDER"
# F.3: no work is done on the asset, nor parts drawn for it, while a stop-work is open,
# told to the work order yet or not.
REFUSED_UNDER_STOP_WORK = {"TASK_COMPLETED": "a task completion", "PART_ISSUED": "a part issue"}
LABOR_RATES = {"REGULAR": 1.0, "OVERTIME": 1.5, "DOUBLE_TIME": 2.0, "CONTRACTOR": 1.0}


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
    requires_photo: bool = False


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
    number: str | None = None,
) -> WorkOrder:
    """`number` given: the caller takes the real one itself (see `pm_schedules`)."""
    now = now or datetime.now(UTC)
    if requires_loto is None:  # C.1: breakdowns and safety work always lock out
        requires_loto = type in (rules.WoType.BREAKDOWN, rules.WoType.SAFETY_RELATED)
    wo = WorkOrder(
        organization_id=actor.organization_id,
        number=number or next_number(session, "WO", now.year, 5),
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
                requires_photo=t.requires_photo,
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


@dataclass
class TaskEdit:
    """A task as it is to be (every field), and where it moves in the order if anywhere."""

    description: str
    required: bool = True
    requires_measurement: bool = False
    unit: str | None = None
    spec_min: float | None = None
    spec_max: float | None = None
    requires_photo: bool = False
    new_sequence: int | None = None


def task_of(wo: WorkOrder, sequence: int) -> WorkOrderTask:
    task = next((t for t in wo.tasks if t.sequence == sequence), None)
    if task is None:
        raise NotFound(f"task {sequence} not found on {wo.number}", field="task")
    return task


def task_fields(task: WorkOrderTask) -> dict[str, Any]:
    """What a task edit may change, as the audit row shows it before and after."""
    return {
        "sequence": task.sequence,
        "description": task.description,
        "required": task.is_required,
        "requires_measurement": task.requires_measurement,
        "unit": task.measurement_unit,
        "spec_min": task.spec_min,
        "spec_max": task.spec_max,
        "requires_photo": task.requires_photo,
    }


def edit_task(session: Session, wo: WorkOrder, sequence: int, edit: TaskEdit) -> WorkOrderTask:
    task = task_of(wo, sequence)
    target = edit.new_sequence
    if target is not None and target != sequence:
        if any(t.sequence == target for t in wo.tasks):
            raise Conflict(
                f"sequence {target} is taken by another task on {wo.number}",
                field="sequence",
            )
        task.sequence = target
    task.description = edit.description
    task.is_required = edit.required
    task.requires_measurement = edit.requires_measurement
    task.measurement_unit = edit.unit
    task.spec_min = edit.spec_min
    task.spec_max = edit.spec_max
    task.requires_photo = edit.requires_photo
    session.flush()
    return task


def remove_task(session: Session, wo: WorkOrder, sequence: int) -> dict[str, Any]:
    """The task's fields as they were; the others keep their numbers."""
    task = task_of(wo, sequence)
    was = task_fields(task)
    session.delete(task)
    session.flush()
    session.expire(wo, ["tasks"])
    return was


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
    """A file received with the record itself (a report's photos, an anomaly's files):
    stored by its hash, then attached."""
    refuse_upload(kind, len(content), content_type)
    digest = files.store(session, organization_id=wo.organization_id, content=content)
    return attach_stored(
        session, wo, actor, kind, digest, filename, content_type, len(content), description,
        source,
    )  # fmt: skip


def refuse_upload(kind: rules.Evidence, size: int, content_type: str) -> None:
    photos = (rules.Evidence.PHOTO_BEFORE, rules.Evidence.PHOTO_AFTER)
    refusal = upload_refusal(size, content_type, kind.value, "image" if kind in photos else None)
    if refusal:
        raise RuleViolation(refusal, field="file")


def attach_stored(
    session: Session,
    wo: WorkOrder,
    actor: Actor,
    kind: rules.Evidence,
    sha256: str,
    filename: str,
    content_type: str,
    size: int,
    description: str | None,
    source: str | None = None,
) -> WorkOrderAttachment:
    """An attachment row pointing at a file already stored under its hash."""
    stored = files.size_of(session, organization_id=wo.organization_id, sha256=sha256)
    if stored != size:
        raise RuleViolation("the file stored under that hash has another size", field="file")
    refuse_upload(kind, size, content_type)
    row = WorkOrderAttachment(
        work_order_id=wo.id,
        kind=kind.value,
        filename=safe_filename(filename),
        content_type=safe_content_type(content_type),
        size=size,
        sha256=sha256,
        content=None,
        description=description,
        source=source,
        uploaded_by=actor.full_name,
    )
    session.add(row)
    session.flush()
    return row


def labour_for(session: Session, wo: WorkOrder, actor: Actor, technician: str | None) -> User:
    """Whose hours: the named technician of the organisation, else the caller, always
    someone who executes work orders."""
    if technician:
        tech = session.scalars(
            select(User).where(
                User.organization_id == actor.organization_id, User.username == technician
            )
        ).one_or_none()
        if tech is None:
            raise RuleViolation(f"user {technician} not found", field="assignee")
    else:
        tech = session.get(User, actor.user_id)
    if not rules.has_any(tech.roles, rules.EXECUTORS):
        # Hours are booked to someone who does the work, never to an operator or auditor.
        raise RuleViolation(
            f"technician: {tech.username} does not execute work orders", field="technician"
        )
    return tech


def write_content(
    *,
    session: Session,
    organization_id: int,
    number: str,
    step: int,
    action: str,
    actor: Actor,
    write: Callable[[WorkOrder], tuple[dict[str, Any], str]],
) -> dict[str, Any]:
    """One content write the workflow decided (a task, labour, a permit, a part, a file)
    with its audit row; a step already written answers what it wrote, changing nothing.
    `write` may answer a "before" (what the record was) for the audit row."""
    wo = get(session, organization_id, number, lock=True)
    if wo.last_step >= step:
        done = session.scalars(
            select(AuditLog)
            .where(
                AuditLog.organization_id == organization_id,
                AuditLog.entity_type == ENTITY,
                AuditLog.entity_id == wo.number,
                AuditLog.action == action,
                AuditLog.new_state["step"].as_integer() == step,
            )
            .limit(1)
        ).first()
        return dict((done.new_state or {}).get("result", {})) if done else {}
    if action in REFUSED_UNDER_STOP_WORK and dispatch.stop_work_open(session, wo.asset_id):
        # The stored stop-work decides, not the workflow's fact: its tell may be in flight.
        raise Conflict(
            f"cannot record {REFUSED_UNDER_STOP_WORK[action]}: {rules.SAFETY_HOLD_BLOCK}"
        )
    written, summary = write(wo)
    before = written.pop("before", None)
    result = {**written, "summary": summary}
    wo.last_step = step
    record_change(
        session=session,
        actor=actor,
        entity_type=ENTITY,
        entity_id=wo.number,
        action=action,
        before=before,
        after={"step": step, "result": result},
        reason=summary,
    )
    session.flush()
    return result
