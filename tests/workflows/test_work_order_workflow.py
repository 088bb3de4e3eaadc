"""WorkOrderWorkflow on the time-skipping server: every C.2 move with its row and audit
row, the C.3 refusals, rework (C.5), stop-work (F.3), the I.3 return-to-service
approvals and the asset's own workflow, then replay."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer

from activities.anomalies import Person
from activities.asset_gateway import asset_workflow_start
from activities.work_orders import snapshot
from domain.actor import Actor
from domain.db import transaction
from domain.models import Asset, AuditLog, DowntimeRecord, MaintenanceEvent, WorkOrder
from domain.rules import work_orders as rules
from domain.services import downtime as downtime_service
from domain.services import files
from domain.services import work_orders as service
from tests.anomaly_helpers import PNG, actor
from tests.workflows.lifecycle_env import register_search_attributes
from workers import registry
from workflows.asset import AssetWorkflow, ChangeStatusRequest
from workflows.work_order import WorkOrderWorkflow as WO
from workflows.work_order_types import (
    AddTaskRequest,
    AttachFileRequest,
    CompleteTaskRequest,
    ContentNotice,
    FileKey,
    FirstArticleRequest,
    IssuePartRequest,
    IssuePermitRequest,
    LogLaborRequest,
    MoveRequest,
    RemovePermitRequest,
    ScheduleRequest,
    StopWorkRequest,
    UpdateDetailsRequest,
    VerifyRequest,
    WorkOrderInput,
    WorkOrderState,
)

ASSET = "SAW-JKS-001"
CHECKLIST = {item: True for item in rules.VERIFICATION_CHECKLIST}


@pytest.fixture(scope="module")
async def indexed_time_env(time_env):
    """The time-skipping server with the project's search attributes registered: the asset
    workflow that a work order moves is started with them by the asset gateway."""
    await register_search_attributes(time_env)
    return time_env


# -- steps, each one the way the API takes it --


async def _open(
    client: Client,
    sessions,
    task_queue: str,
    type: str = "CORRECTIVE",
    tasks: tuple[str, ...] = ("Replace the blade",),
    asset: str = ASSET,
    downtime: bool = False,
    **fields: Any,
) -> WorkflowHandle:
    """A work order created by the supervisor (with its asset's downtime clock running, for
    a breakdown), its lifecycle started from the stored row."""
    who = actor(sessions, "supervisor")
    fields = {"title": "Replace worn blade", "description": "Blade teeth worn"} | fields
    with transaction(sessions) as s:
        wo = service.create(
            session=s,
            actor=who,
            asset=service.asset_by_number(s, who.organization_id, asset),
            type=rules.WoType(type),
            priority=rules.WoPriority.NORMAL,
            source=rules.WoSource.SUPERVISOR_REQUEST,
            tasks=[service.NewTask(t) for t in tasks],
            **fields,
        )
        number = wo.number
        if downtime:
            wo.downtime_id = downtime_service.start_downtime(
                s, s.get(Asset, wo.asset_id), who, "BREAKDOWN", "BD-MECH",
                datetime.now(UTC), [], None, number,
            ).id  # fmt: skip
    with sessions() as s:
        wo = service.get(s, who.organization_id, number)
        data = WorkOrderInput(number, wo.organization_id, snapshot(s, wo), indexed=False)
    return await client.start_workflow(WO.run, data, id=number, task_queue=task_queue)


async def _act(handle: WorkflowHandle, method, who: Actor, reason: str = "") -> WorkOrderState:
    state = await handle.execute_update(method, MoveRequest(who, reason))
    if method is WO.start:
        await settled(handle)
    return state


async def settled(handle: WorkflowHandle) -> WorkOrderState:
    """The state once the asset's move that follows a start or verify is done."""
    while (state := await handle.query(WO.get_state)).asset_moving:
        await asyncio.sleep(0.02)
    return state


async def _refused(handle: WorkflowHandle, method, request, kind: str, *says: str) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(method, request)
    cause = err.value.cause
    assert isinstance(cause, ApplicationError), cause
    assert cause.type == kind, (cause.type, cause.message)
    for text in says:
        assert text in cause.message, cause.message
    return cause.message


async def _typed(handle: WorkflowHandle, method, request) -> WorkOrderState:
    """A content update, written by the workflow's activity; the live state after it."""
    return (await handle.execute_update(method, request)).work_order


def _task_detail(t) -> dict[str, Any]:
    return {
        "sequence": t.sequence,
        "description": t.description,
        "required": t.is_required,
        "completed": t.completed,
        "requires_measurement": t.requires_measurement,
        "measurement_passed": t.measurement_passed,
    }


async def _add_task(handle, sessions, who: Actor, task: service.NewTask) -> WorkOrderState:
    request = AddTaskRequest(
        who, task.description, task.required, task.requires_measurement, task.unit,
        task.spec_min, task.spec_max,
    )  # fmt: skip
    return await _typed(handle, WO.add_task, request)


async def _task_done(handle, sessions, who: Actor, sequence: int, value=None) -> WorkOrderState:
    return await _typed(handle, WO.complete_task, CompleteTaskRequest(who, sequence, value))


async def _labour(handle, sessions, who: Actor, hours: float = 2.5) -> WorkOrderState:
    return await _typed(handle, WO.log_labor, LogLaborRequest(who, hours, hourly_rate=40.0))


async def _permit(handle, sessions, who: Actor, kind: str = "LOTO") -> WorkOrderState:
    request = IssuePermitRequest(who, kind, ["480V main"], True, ["L-17"])
    return await _typed(handle, WO.issue_permit, request)


async def _unlock(handle, sessions, who: Actor, kind: str = "LOTO") -> WorkOrderState:
    return await _typed(handle, WO.remove_permit, RemovePermitRequest(who, kind))


async def _evidence(handle, sessions, who: Actor, *kinds: str) -> WorkOrderState:
    state = None
    for kind in kinds:
        content = PNG + kind.encode()
        with transaction(sessions) as s:
            digest = files.store(s, organization_id=who.organization_id, content=content)
        key = FileKey(digest, f"{kind.lower()}.png", "image/png", len(content))
        state = await _typed(handle, WO.attach_file, AttachFileRequest(who, kind, key))
    return state


def _typed_content(kind: str, who: Actor) -> tuple[Any, Any]:
    """The typed update and a request of it for each kind of content."""
    key = FileKey("0" * 64, "x.png", "image/png", 1)
    return {
        "TASK_ADDED": (WO.add_task, AddTaskRequest(who, "Check the guard")),
        "TASK_COMPLETED": (WO.complete_task, CompleteTaskRequest(who, 1)),
        "LABOR": (WO.log_labor, LogLaborRequest(who, 1)),
        "PERMIT_ISSUED": (WO.issue_permit, IssuePermitRequest(who, "LOTO")),
        "PERMIT_REMOVED": (WO.remove_permit, RemovePermitRequest(who, "LOTO")),
        "PART": (WO.issue_part, IssuePartRequest(who, "BLD-14", 1)),
        "FILE": (WO.attach_file, AttachFileRequest(who, "PHOTO_AFTER", key)),
        "DETAILS": (WO.update_details, UpdateDetailsRequest(who, {"title": "Taken over"})),
    }[kind]


async def _to_scheduled(handle, sessions) -> WorkOrderState:
    await _act(handle, WO.submit, actor(sessions, "supervisor"))
    await _act(handle, WO.approve, actor(sessions, "manager"))
    tech = actor(sessions, "tech")
    return await handle.execute_update(
        WO.schedule,
        ScheduleRequest(
            actor(sessions, "planner"), Person(tech.user_id, tech.username, tech.full_name)
        ),
    )


async def _to_in_progress(handle, sessions, loto: bool = False) -> WorkOrderState:
    await _to_scheduled(handle, sessions)
    tech = actor(sessions, "tech")
    if loto:
        await _permit(handle, sessions, tech)
    return await _act(handle, WO.start, tech)


async def _to_completed(handle, sessions, evidence=("CHECKLIST",), loto=False) -> WorkOrderState:
    tech = actor(sessions, "tech")
    await _task_done(handle, sessions, tech, 1)
    await _labour(handle, sessions, tech)
    await _evidence(handle, sessions, tech, *evidence)
    state = await _act(handle, WO.complete, tech)
    if loto:
        state = await _unlock(handle, sessions, tech)
    return state


async def _verify(handle, sessions, passed=True, checklist=CHECKLIST) -> WorkOrderState:
    state = await handle.execute_update(
        WO.verify, VerifyRequest(actor(sessions, "supervisor"), dict(checklist), passed)
    )
    await settled(handle)
    return state


async def _to_verified(handle, sessions, evidence=("CHECKLIST",), loto=False) -> WorkOrderState:
    await _to_in_progress(handle, sessions, loto)
    await _to_completed(handle, sessions, evidence, loto)
    state = await _verify(handle, sessions)
    assert state.status == "VERIFIED", state
    return state


# -- what the database shows --


def _row(sessions, number: str) -> WorkOrder:
    with sessions() as s:
        wo = s.scalars(select(WorkOrder).where(WorkOrder.number == number)).one()
        s.expunge(wo)
        return wo


def _audit(sessions, number: str) -> list[AuditLog]:
    with sessions() as s:
        rows = s.scalars(
            select(AuditLog)
            .where(AuditLog.entity_type == "WORK_ORDER", AuditLog.entity_id == number)
            .order_by(AuditLog.id)
        ).all()
        s.expunge_all()
        return list(rows)


def _asset_status(sessions, number: str = ASSET) -> str:
    with sessions() as s:
        return s.scalars(select(Asset).where(Asset.asset_number == number)).one().status.value


async def _move_asset(client, sessions, status: str, who: Actor, number: str = ASSET) -> None:
    """A change made on the asset's own workflow, as the stop-work door makes it."""
    with sessions() as s:
        workflow_id, _ = asset_workflow_start(
            s, s.scalars(select(Asset).where(Asset.asset_number == number)).one()
        )
    await client.get_workflow_handle(workflow_id).execute_update(
        AssetWorkflow.change_status, ChangeStatusRequest(status, f"to {status}", who)
    )


async def _replay(*handles: WorkflowHandle) -> None:
    replayer = Replayer(workflows=registry.WORKFLOWS)
    for handle in handles:
        await replayer.replay_workflow(await handle.fetch_history())


# -- every move of C.2 --


async def test_every_move_is_written_with_its_audit_row_and_replays(tclient, sessions, task_queue):
    h = await _open(tclient, sessions, task_queue)
    sup, mgr, planner = (actor(sessions, u) for u in ("supervisor", "manager", "planner"))
    tech, senior = actor(sessions, "tech"), actor(sessions, "seniortech")
    assert (await h.query(WO.get_state)).status == "DRAFT"

    assert (await _act(h, WO.submit, sup)).status == "SUBMITTED"
    assert (await _act(h, WO.approve, mgr, "budget fine")).status == "APPROVED"
    when = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    s = await h.execute_update(
        WO.schedule,
        ScheduleRequest(
            planner, Person(tech.user_id, tech.username, tech.full_name), when, "FIRST"
        ),
    )
    assert s.status == "SCHEDULED" and s.assignee.username == "tech"
    row = _row(sessions, h.id)
    assert row.assigned_to_id == tech.user_id and row.scheduled_date == when
    assert row.scheduled_shift == "FIRST"

    s = await _act(h, WO.start, tech)
    assert s.status == "IN_PROGRESS" and s.message == ""
    assert _row(sessions, h.id).started_at is not None
    assert _asset_status(sessions) == "MAINTENANCE"
    # Every pause of C.2, and the resume (start again) out of each one.
    for method, who, reason, reached in [
        (WO.wait_parts, tech, "", "WAITING_PARTS"),
        (WO.start, tech, "blade arrived", "IN_PROGRESS"),
        (WO.escalate, tech, "needs a hydraulics specialist", "ESCALATED"),
        (WO.start, senior, "", "IN_PROGRESS"),
        (WO.hold, tech, "line needed for a rush order", "ON_HOLD"),
        (WO.start, tech, "", "IN_PROGRESS"),
        (WO.wait_parts, tech, "", "WAITING_PARTS"),
        (WO.hold, tech, "stores closed for stocktake", "ON_HOLD"),
        (WO.start, tech, "", "IN_PROGRESS"),
        (WO.escalate, tech, "bearing seat worn, needs machining", "ESCALATED"),
        (WO.hold, senior, "machine shop booked until Friday", "ON_HOLD"),
        (WO.start, senior, "", "IN_PROGRESS"),
    ]:
        s = await _act(h, method, who, reason)
        assert s.status == reached, (method, s)
        assert _row(sessions, h.id).status == reached

    await _to_completed(h, sessions)
    row = _row(sessions, h.id)
    assert row.status == "COMPLETED" and row.completed_at is not None
    s = await _verify(h, sessions)
    assert s.status == "VERIFIED" and s.approvals_needed == ["MAINTENANCE"]
    row = _row(sessions, h.id)
    assert row.verified_by == sup.full_name and row.test_run_passed is True
    assert row.verification["checklist"] == CHECKLIST
    assert _asset_status(sessions) == "PENDING_RETURN"

    s = await _act(h, WO.approve_return, mgr)
    assert s.status == "CLOSED" and s.return_to_service == "DONE"
    assert (await h.result()).status == "CLOSED"
    assert _asset_status(sessions) == "IN_SERVICE"
    row = _row(sessions, h.id)
    assert row.status == "CLOSED" and row.closed_at is not None
    assert row.approvals["MAINTENANCE"]["by"] == mgr.full_name

    audit = _audit(sessions, h.id)
    assert [a.action for a in audit] == [
        "CREATED",
        "STATUS_SUBMITTED",
        "STATUS_APPROVED",
        "STATUS_SCHEDULED",
        "STATUS_IN_PROGRESS",
        "STATUS_WAITING_PARTS",
        "STATUS_IN_PROGRESS",
        "STATUS_ESCALATED",
        "STATUS_IN_PROGRESS",
        "STATUS_ON_HOLD",
        "STATUS_IN_PROGRESS",
        "STATUS_WAITING_PARTS",
        "STATUS_ON_HOLD",
        "STATUS_IN_PROGRESS",
        "STATUS_ESCALATED",
        "STATUS_ON_HOLD",
        "STATUS_IN_PROGRESS",
        "TASK_COMPLETED",
        "LABOR",
        "FILE_ATTACHED",
        "STATUS_COMPLETED",
        "STATUS_VERIFIED",
        "RTS_APPROVED_MAINTENANCE",
        "STATUS_CLOSED",
    ]
    by_action = {a.action: a for a in audit}
    assert by_action["STATUS_APPROVED"].user_role == "MAINT_MANAGER"
    assert by_action["STATUS_APPROVED"].reason == "budget fine"
    assert by_action["STATUS_SCHEDULED"].reason == f"scheduled for {tech.full_name}"
    assert by_action["STATUS_SCHEDULED"].user_name == planner.full_name
    assert by_action["STATUS_ESCALATED"].previous_state["status"] == "IN_PROGRESS"
    assert by_action["STATUS_VERIFIED"].user_role == "MAINT_SUPERVISOR"
    assert by_action["RTS_APPROVED_MAINTENANCE"].user_name == mgr.full_name
    assert audit[-1].new_state["status"] == "CLOSED" and audit[-1].user_role == "MAINT_MANAGER"
    with sessions() as db:
        events = db.scalars(
            select(MaintenanceEvent.type)
            .where(MaintenanceEvent.entity_id == h.id)
            .order_by(MaintenanceEvent.id)
        ).all()
    assert events[0] == "wo.created"
    for expected in ("wo.approved", "wo.started", "wo.waiting_parts", "wo.completed",
                     "return_to_service.requested", "wo.verified",
                     "return_to_service.approved", "wo.closed"):  # fmt: skip
        assert expected in events
    await _replay(h)


async def test_reject_needs_an_approver_and_a_reason(tclient, sessions, task_queue):
    h = await _open(tclient, sessions, task_queue)
    await _act(h, WO.submit, actor(sessions, "tech"))  # technicians create work in full
    mgr = actor(sessions, "manager")
    await _refused(
        h, WO.reject, MoveRequest(actor(sessions, "tech"), "no"), "NotAllowed",
        "role MAINT_TECH may not approve wo",
    )  # fmt: skip
    await _refused(
        h, WO.reject, MoveRequest(actor(sessions, "ehs"), "not needed"), "NotAllowed",
        "EHS rejects safety-related work orders only",
    )  # fmt: skip
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await _act(h, WO.reject, mgr, " ")
    assert err.value.cause.type == "RuleViolation"
    assert err.value.cause.message == "a rejection needs a reason"
    assert err.value.cause.details == ("reason",)
    s = await _act(h, WO.reject, mgr, "duplicate of last week's order")
    assert s.status == "REJECTED"
    assert (await h.result()).status == "REJECTED"
    assert _row(sessions, h.id).status == "REJECTED"
    last = _audit(sessions, h.id)[-1]
    assert last.action == "STATUS_REJECTED" and last.reason == "duplicate of last week's order"


async def test_cancel_by_a_manager_with_a_reason_stops_the_downtime(tclient, sessions, task_queue):
    h = await _open(tclient, sessions, task_queue, type="BREAKDOWN", downtime=True)
    mgr, sup, tech = (actor(sessions, u) for u in ("manager", "supervisor", "tech"))
    downtime_id = _row(sessions, h.id).downtime_id
    await _to_in_progress(h, sessions, loto=True)
    # The lock comes off only for the test run of COMPLETED work, and a work order is never
    # cancelled under an active lock: work under LOTO is cancelled once COMPLETED.
    await _refused(
        h, WO.cancel, MoveRequest(mgr, "asset to be scrapped"), "Conflict",
        "remove the active LOTO permit before cancelling",
    )  # fmt: skip
    await _refused(
        h, WO.remove_permit, RemovePermitRequest(tech, "LOTO"), "Conflict",
        "permits come off once the work is COMPLETED",
    )  # fmt: skip
    await _to_completed(h, sessions, evidence=(), loto=True)
    await _refused(
        h, WO.cancel, MoveRequest(sup, "not needed"), "NotAllowed",
        "cancelling (it needs a manager's approval) needs one of the roles "
        "MAINT_ADMIN, MAINT_MANAGER",
    )  # fmt: skip
    await _refused(h, WO.cancel, MoveRequest(mgr, ""), "RuleViolation", "a cancellation needs")
    s = await _act(h, WO.cancel, mgr, "asset to be scrapped")
    assert s.status == "CANCELLED"
    assert (await h.result()).status == "CANCELLED"
    row = _row(sessions, h.id)
    assert row.status == "CANCELLED" and row.cancel_reason == "asset to be scrapped"
    assert row.closed_at is not None
    with sessions() as db:
        record = db.get(DowntimeRecord, downtime_id)
        assert record.end_time is not None and record.ended_by == mgr.full_name
    last = _audit(sessions, h.id)[-1]
    assert last.action == "STATUS_CANCELLED" and last.previous_state["status"] == "COMPLETED"


# -- refusals --


async def test_illegal_moves_are_conflicts_naming_what_is_allowed(tclient, sessions, task_queue):
    h = await _open(tclient, sessions, task_queue)
    sup, mgr, tech = (actor(sessions, u) for u in ("supervisor", "manager", "tech"))
    quality = actor(sessions, "quality")
    for method, request, says in [
        (WO.approve, MoveRequest(mgr), "cannot go from DRAFT to APPROVED; allowed: SUBMITTED"),
        (WO.reject, MoveRequest(mgr, "no"), "cannot go from DRAFT to REJECTED"),
        (WO.schedule, ScheduleRequest(sup), "cannot go from DRAFT to SCHEDULED"),
        (WO.start, MoveRequest(tech), "cannot go from DRAFT to IN_PROGRESS"),
        (WO.wait_parts, MoveRequest(tech), "cannot go from DRAFT to WAITING_PARTS"),
        (WO.hold, MoveRequest(tech, "why not"), "cannot go from DRAFT to ON_HOLD"),
        (WO.escalate, MoveRequest(tech, "help"), "cannot go from DRAFT to ESCALATED"),
        (WO.complete, MoveRequest(tech), "cannot go from DRAFT to COMPLETED"),
        (WO.verify, VerifyRequest(sup, CHECKLIST, True), "cannot go from DRAFT to VERIFIED"),
        (WO.close, MoveRequest(sup), "cannot go from DRAFT to CLOSED"),
        (WO.approve_return, MoveRequest(mgr), "needs a VERIFIED work order; this one is DRAFT"),
        (WO.first_article, FirstArticleRequest(quality, True), "comes after verification"),
    ]:
        await _refused(h, method, request, "Conflict", says)
    assert [a.action for a in _audit(sessions, h.id)] == ["CREATED"]

    await _act(h, WO.submit, sup)
    await _refused(h, WO.submit, MoveRequest(sup), "Conflict", "cannot go from SUBMITTED to")
    await _act(h, WO.approve, mgr)
    await _refused(
        h, WO.start, MoveRequest(tech), "Conflict",
        "cannot go from APPROVED to IN_PROGRESS; allowed: SCHEDULED",
    )  # fmt: skip
    edit = UpdateDetailsRequest(sup, {"title": "Replace the blade and the guard"})
    await _refused(h, WO.update_details, edit, "Conflict", "can no longer be edited")
    await _refused(
        h, WO.schedule, ScheduleRequest(tech), "NotAllowed",
        "scheduling a work order needs one of the roles",
    )  # fmt: skip
    await h.execute_update(WO.schedule, ScheduleRequest(sup))
    s = await _act(h, WO.start, tech)
    await _refused(
        h, WO.verify, VerifyRequest(sup, CHECKLIST, True), "Conflict",
        "cannot go from IN_PROGRESS to VERIFIED; allowed: COMPLETED, ESCALATED, ON_HOLD, "
        "WAITING_PARTS",
    )  # fmt: skip
    for method in (WO.hold, WO.escalate):
        await _refused(h, method, MoveRequest(tech, "x"), "RuleViolation", "needs a reason")
    await _refused(
        h, WO.first_article, FirstArticleRequest(quality, True), "Conflict",
        "comes after verification",
    )  # fmt: skip
    # The legacy notice update (kept for replay) takes nothing new: content is written.
    thin = ContentNotice(tech, "LABOR", {"hours": 5})
    await _refused(h, WO.content, thin, "Conflict", "no longer taken as a notice")
    assert (await h.query(WO.get_state)).status == s.status == "IN_PROGRESS"


async def test_submit_and_approve_checks_meet_the_edited_details(tclient, sessions, task_queue):
    h = await _open(tclient, sessions, task_queue, description="", estimated_cost=25_000)
    sup, mgr = actor(sessions, "supervisor"), actor(sessions, "manager")
    await _refused(
        h, WO.submit, MoveRequest(sup), "RuleViolation", "cannot submit: description is required"
    )
    s = await h.execute_update(
        WO.update_details, UpdateDetailsRequest(sup, {"description": "Guard cracked at the hinge"})
    )
    assert "submit" not in s.blocks
    await _act(h, WO.submit, sup)
    await _refused(
        h, WO.approve, MoveRequest(sup), "NotAllowed",
        "cannot approve: estimated cost 25,000 exceeds the supervisor's approval limit of 10,000",
    )  # fmt: skip
    await _refused(
        h, WO.approve, MoveRequest(actor(sessions, "ehs")), "NotAllowed",
        "cannot approve: EHS approves safety-related work orders only",
    )  # fmt: skip
    await h.execute_update(WO.update_details, UpdateDetailsRequest(mgr, {"estimated_cost": 8_000}))
    assert (await _act(h, WO.approve, sup)).status == "APPROVED"
    row = _row(sessions, h.id)
    assert row.description == "Guard cracked at the hinge" and row.estimated_cost == 8_000
    assert [a.action for a in _audit(sessions, h.id)][-3:] == [
        "STATUS_SUBMITTED",
        "DETAILS_UPDATED",
        "STATUS_APPROVED",
    ]


async def test_permits_tasks_labour_and_evidence_gate_start_complete_verify_close(
    tclient, sessions, task_queue
):
    h = await _open(tclient, sessions, task_queue, requires_loto=True, requires_hot_work=True)
    sup, mgr, tech = (actor(sessions, u) for u in ("supervisor", "manager", "tech"))
    await _to_scheduled(h, sessions)
    await _add_task(
        h, sessions, actor(sessions, "planner"),
        service.NewTask("Check blade run-out", requires_measurement=True, unit="mm",
                        spec_max=0.05),
    )  # fmt: skip
    await _refused(
        h, WO.start, MoveRequest(tech), "RuleViolation",
        "cannot start work: LOTO permit required; HOT-WORK permit required",
    )  # fmt: skip
    await _permit(h, sessions, tech)
    await _refused(
        h, WO.start, MoveRequest(tech), "RuleViolation", "cannot start work: HOT-WORK permit"
    )
    await _permit(h, sessions, actor(sessions, "ehs"), "HOT_WORK")
    assert (await _act(h, WO.start, tech)).status == "IN_PROGRESS"
    await _refused(
        h, WO.remove_permit, RemovePermitRequest(tech, "LOTO"), "Conflict",
        "permits come off once the work is COMPLETED, for the test run; "
        "this work order is IN_PROGRESS",
    )  # fmt: skip

    await _refused(
        h, WO.complete, MoveRequest(tech), "RuleViolation",
        "cannot complete: task 1 not completed: Replace the blade; task 2 not completed: "
        "Check blade run-out; no labour time logged",
    )  # fmt: skip
    await _task_done(h, sessions, tech, 1)
    await _task_done(h, sessions, tech, 2, 0.09)
    await _labour(h, sessions, tech, 1.5)
    await _refused(
        h, WO.complete, MoveRequest(tech), "RuleViolation",
        "cannot complete: task 2 measurement out of spec: Check blade run-out",
    )  # fmt: skip
    await _task_done(h, sessions, tech, 2, 0.03)
    assert (await _act(h, WO.complete, tech)).status == "COMPLETED"
    # Finished work goes back only through a failed verification, not a start or a hold.
    back = "work order goes back to work only through a failed verification or first-article"
    await _refused(
        h, WO.start, MoveRequest(tech), "Conflict", f"cannot start work: a COMPLETED {back}"
    )
    await _refused(h, WO.hold, MoveRequest(sup, "waiting on a decision"), "Conflict", "cannot hold")

    await _refused(
        h, WO.verify, VerifyRequest(tech, CHECKLIST, True), "NotAllowed",
        "role MAINT_TECH may not close wo",
    )  # fmt: skip
    await _refused(
        h, WO.verify, VerifyRequest(sup, CHECKLIST, True), "RuleViolation",
        "cannot verify: LOTO must be removed by an authorized person before the test run",
    )  # fmt: skip
    await _unlock(h, sessions, tech)
    await _refused(
        h, WO.remove_permit, RemovePermitRequest(tech, "LOTO"), "Conflict",
        "no active LOTO permit to remove",
    )  # fmt: skip
    await _unlock(h, sessions, tech, "HOT_WORK")
    assert (await _verify(h, sessions)).status == "VERIFIED"

    await _refused(
        h, WO.close, MoveRequest(sup), "RuleViolation",
        "cannot close: evidence missing: CHECKLIST; "
        "maintenance approval of the return to service required",
    )  # fmt: skip
    await _refused(
        h, WO.first_article, FirstArticleRequest(actor(sessions, "quality"), True), "Conflict",
        "this work order needs no first-article inspection",
    )  # fmt: skip
    s = await _act(h, WO.approve_return, mgr)
    assert s.status == "VERIFIED" and s.return_to_service == "BLOCKED"
    assert s.message == "evidence missing: CHECKLIST"
    assert _asset_status(sessions) == "PENDING_RETURN"
    # Reopening verified work would keep the manager's signature for work not yet done.
    await _refused(h, WO.start, MoveRequest(tech), "Conflict", f"a VERIFIED {back}")
    await _refused(h, WO.hold, MoveRequest(tech, "one more look"), "Conflict", f"a VERIFIED {back}")
    await _evidence(h, sessions, tech, "CHECKLIST")
    s = await _act(h, WO.close, sup)
    assert s.status == "CLOSED" and s.return_to_service == "DONE"
    assert _asset_status(sessions) == "IN_SERVICE"
    audit = _audit(sessions, h.id)
    assert [a.action for a in audit][-3:] == [
        "RTS_APPROVED_MAINTENANCE",
        "FILE_ATTACHED",
        "STATUS_CLOSED",
    ]
    assert audit[-1].user_name == sup.full_name


async def test_roles_outside_the_permission_table_are_refused(tclient, sessions, task_queue):
    """The same table as the API's doors, checked before the state: a DRAFT is enough."""
    h = await _open(tclient, sessions, task_queue)
    users = {u: actor(sessions, u) for u in ("operator", "tech", "planner", "quality",
                                              "opsmanager", "auditor", "ehs")}  # fmt: skip
    u = users
    for method, request, says in [
        (WO.submit, MoveRequest(u["operator"]), "role OPERATOR may not create wo"),
        (WO.submit, MoveRequest(u["opsmanager"]), "role OPERATIONS_MANAGER may not create wo"),
        (WO.approve, MoveRequest(u["tech"]), "role MAINT_TECH may not approve wo"),
        (WO.approve, MoveRequest(u["planner"]), "role MAINT_PLANNER may not approve wo"),
        (WO.schedule, ScheduleRequest(u["operator"]), "role OPERATOR may not create wo"),
        (WO.start, MoveRequest(u["planner"]), "role MAINT_PLANNER may not execute wo"),
        (WO.start, MoveRequest(u["quality"]), "role QUALITY may not execute wo"),
        (WO.wait_parts, MoveRequest(u["ehs"]), "role EHS may not execute wo"),
        (WO.hold, MoveRequest(u["operator"], "jam"), "role OPERATOR may not execute wo"),
        (WO.escalate, MoveRequest(u["auditor"], "help"), "role AUDITOR may not execute wo"),
        (WO.complete, MoveRequest(u["opsmanager"]), "role OPERATIONS_MANAGER may not execute wo"),
        (WO.verify, VerifyRequest(u["tech"], CHECKLIST, True), "role MAINT_TECH may not close"),
        (WO.close, MoveRequest(u["ehs"]), "role EHS may not close wo"),
        (WO.approve_return, MoveRequest(u["tech"]), "role MAINT_TECH may not return to service"),
        (WO.first_article, FirstArticleRequest(u["operator"], True), "may not add evidence"),
        (WO.cancel, MoveRequest(u["tech"], "not needed"), "role MAINT_TECH may not approve wo"),
    ]:
        await _refused(h, method, request, "NotAllowed", says)
    for who, kind, says in [
        ("operator", "TASK_ADDED", "may not create wo"),
        ("planner", "TASK_COMPLETED", "may not execute wo"),
        ("quality", "LABOR", "may not execute wo"),
        ("planner", "PERMIT_ISSUED", "may not issue permits"),
        ("quality", "PERMIT_REMOVED", "may not issue permits"),
        ("auditor", "PART", "may not execute wo"),
        ("operator", "FILE", "may not add evidence"),
        ("opsmanager", "DETAILS", "may not create wo"),
    ]:
        method, request = _typed_content(kind, u[who])
        await _refused(h, method, request, "NotAllowed", says)
    assert [a.action for a in _audit(sessions, h.id)] == ["CREATED"]


async def test_another_organisation_finds_no_work_order(tclient, sessions, task_queue):
    h = await _open(tclient, sessions, task_queue)
    stranger = actor(sessions, "b-manager")
    assert stranger.organization_id != actor(sessions, "supervisor").organization_id
    for method, request in [
        (WO.submit, MoveRequest(stranger)),
        (WO.approve, MoveRequest(stranger)),
        (WO.reject, MoveRequest(stranger, "not ours")),
        (WO.schedule, ScheduleRequest(stranger)),
        (WO.start, MoveRequest(stranger)),
        (WO.wait_parts, MoveRequest(stranger)),
        (WO.hold, MoveRequest(stranger, "hold it")),
        (WO.escalate, MoveRequest(stranger, "help")),
        (WO.complete, MoveRequest(stranger)),
        (WO.verify, VerifyRequest(stranger, CHECKLIST, True)),
        (WO.approve_return, MoveRequest(stranger)),
        (WO.first_article, FirstArticleRequest(stranger, True)),
        (WO.close, MoveRequest(stranger)),
        (WO.cancel, MoveRequest(stranger, "not ours")),
        _typed_content("DETAILS", stranger),
        _typed_content("LABOR", stranger),
        (WO.content, ContentNotice(stranger, "LABOR", {"hours": 1})),
        (WO.stop_work, StopWorkRequest(stranger, "stop everything")),
        (WO.stop_work, StopWorkRequest(stranger, "all clear", cleared=True)),
    ]:
        await _refused(h, method, request, "NotFound", f"work order {h.id} not found")
    s = await h.query(WO.get_state)
    assert s.status == "DRAFT" and not s.safety_hold and s.events == []
    assert [a.action for a in _audit(sessions, h.id)] == ["CREATED"]


# -- rework (C.5) --


async def test_failed_verification_under_lockout_waits_on_hold_for_a_new_permit(
    tclient, sessions, task_queue
):
    h = await _open(tclient, sessions, task_queue, requires_loto=True)
    tech = actor(sessions, "tech")
    await _to_in_progress(h, sessions, loto=True)
    await _to_completed(h, sessions, loto=True)
    s = await _verify(h, sessions, passed=False)
    assert s.status == "ON_HOLD"
    assert s.message == (
        "verification failed: test run not passed; issue a new LOTO permit, then resume"
    )
    row = _row(sessions, h.id)
    assert row.status == "ON_HOLD" and row.test_run_passed is False
    assert row.verification["checklist"] == CHECKLIST
    last = _audit(sessions, h.id)[-1]
    assert last.action == "STATUS_ON_HOLD" and last.previous_state["status"] == "COMPLETED"
    assert last.reason == s.message and last.user_role == "MAINT_SUPERVISOR"
    assert _asset_status(sessions) == "MAINTENANCE"  # never offered for return

    await _refused(
        h, WO.start, MoveRequest(tech), "RuleViolation", "cannot start work: LOTO permit required"
    )
    await _permit(h, sessions, tech)
    assert (await _act(h, WO.start, tech, "re-seating the blade")).status == "IN_PROGRESS"
    await _act(h, WO.complete, tech)
    await _unlock(h, sessions, tech)
    s = await _verify(h, sessions)
    assert s.status == "VERIFIED" and _row(sessions, h.id).test_run_passed is True
    assert _asset_status(sessions) == "PENDING_RETURN"


async def test_failed_verification_without_lockout_returns_to_work(tclient, sessions, task_queue):
    h = await _open(tclient, sessions, task_queue, requires_loto=False)
    tech = actor(sessions, "tech")
    await _to_in_progress(h, sessions)
    await _to_completed(h, sessions)
    short = {k: v for k, v in CHECKLIST.items() if k != "Guards/covers reinstalled"}
    s = await _verify(h, sessions, passed=True, checklist=short)
    assert s.status == "IN_PROGRESS"
    assert s.message == "verification failed: checklist: Guards/covers reinstalled; back to work"
    last = _audit(sessions, h.id)[-1]
    assert last.action == "STATUS_IN_PROGRESS" and last.previous_state["status"] == "COMPLETED"
    # The LOTO item is the permits' record, not a box: work without lockout leaves it unticked.
    no_loto_item = {k: v for k, v in CHECKLIST.items() if "LOTO" not in k}
    await _act(h, WO.complete, tech)
    assert (await _verify(h, sessions, checklist=no_loto_item)).status == "VERIFIED"


async def test_failed_first_article_sends_the_work_back_and_voids_the_approval(
    tclient, sessions, task_queue
):
    h = await _open(
        tclient, sessions, task_queue, type="QUALITY_RELATED", requires_first_article=True
    )
    mgr, tech, quality = (actor(sessions, u) for u in ("manager", "tech", "quality"))
    await _to_verified(h, sessions)
    s = await _act(h, WO.approve_return, mgr)
    assert s.status == "VERIFIED" and s.return_to_service == "BLOCKED"
    assert s.message == "first-article inspection not passed"
    await _refused(
        h, WO.first_article, FirstArticleRequest(actor(sessions, "supervisor"), True),
        "NotAllowed", "first-article inspection is performed by QUALITY",
    )  # fmt: skip
    await _refused(
        h, WO.first_article, FirstArticleRequest(quality, False, ""), "RuleViolation",
        "say what failed",
    )  # fmt: skip
    s = await h.execute_update(
        WO.first_article, FirstArticleRequest(quality, False, "edge burr 0.3 mm over spec")
    )
    assert s.status == "IN_PROGRESS" and s.approvals == {}
    assert s.message == "first article failed: edge burr 0.3 mm over spec; back to work"
    row = _row(sessions, h.id)
    assert row.first_article_passed is False and row.approvals == {}
    assert _asset_status(sessions) == "MAINTENANCE"

    await _act(h, WO.complete, tech)
    await _verify(h, sessions)
    s = await h.execute_update(WO.first_article, FirstArticleRequest(quality, True, "in spec"))
    assert s.status == "VERIFIED" and s.return_to_service == "BLOCKED"
    assert s.message == "maintenance approval of the return to service required"
    s = await _act(h, WO.approve_return, mgr)
    assert s.status == "CLOSED" and _asset_status(sessions) == "IN_SERVICE"
    actions = [a.action for a in _audit(sessions, h.id)]
    assert actions[-3:] == ["FIRST_ARTICLE_PASSED", "RTS_APPROVED_MAINTENANCE", "STATUS_CLOSED"]
    assert actions.count("RTS_APPROVED_MAINTENANCE") == 2
    await _replay(h)


# -- stop-work (F.3) --


async def test_stop_work_holds_active_work_and_lets_only_planning_go_on(
    tclient, sessions, task_queue
):
    active = await _open(tclient, sessions, task_queue, requires_loto=True)
    waiting = await _open(tclient, sessions, task_queue, title="Replace the fence rail")
    planned = await _open(tclient, sessions, task_queue, title="Sharpen spare blades")
    sup, mgr, tech = (actor(sessions, u) for u in ("supervisor", "manager", "tech"))
    operator, ehs, ops = (actor(sessions, u) for u in ("operator", "ehs", "opsmanager"))
    await _to_in_progress(active, sessions, loto=True)
    await _to_in_progress(waiting, sessions)
    await _act(waiting, WO.wait_parts, tech)
    await _move_asset(tclient, sessions, "SAFETY_HOLD", ehs)

    raised = StopWorkRequest(operator, "hydraulic leak under the guard")
    s = await active.execute_update(WO.stop_work, raised)
    assert s.status == "ON_HOLD" and s.safety_hold and s.after_stop_work
    row = _row(sessions, active.id)
    assert row.status == "ON_HOLD" and row.after_stop_work is True
    audit = _audit(sessions, active.id)
    assert [a.action for a in audit][-2:] == ["STOP_WORK", "STATUS_ON_HOLD"]
    assert audit[-1].reason == "stop-work: hydraulic leak under the guard"
    assert audit[-1].user_role == "OPERATOR"
    s = await waiting.execute_update(WO.stop_work, raised)
    assert s.status == "ON_HOLD" and s.safety_hold and s.after_stop_work
    s = await planned.execute_update(WO.stop_work, raised)
    assert s.status == "DRAFT" and s.safety_hold and not s.after_stop_work
    # The hold is audited even where no status moves.
    assert [a.action for a in _audit(sessions, planned.id)] == ["CREATED", "STOP_WORK_HELD"]

    hold = "the asset is under a stop-work safety hold: EHS must clear it first"
    await _refused(active, WO.start, MoveRequest(tech), "RuleViolation", hold)
    await _refused(active, WO.close, MoveRequest(sup), "Conflict", "cannot go from ON_HOLD to")
    await _refused(active, WO.approve_return, MoveRequest(mgr), "Conflict", hold)
    await _refused(
        active, WO.verify, VerifyRequest(sup, CHECKLIST, True), "Conflict", "from ON_HOLD"
    )
    await _labour(active, sessions, tech, 0.5)  # the time spent is still logged
    # Work not started yet is planned as usual, but does not start.
    await _act(planned, WO.submit, sup)
    await _act(planned, WO.approve, mgr)
    s = await planned.execute_update(WO.schedule, ScheduleRequest(sup))
    assert s.status == "SCHEDULED" and s.blocks["start"] == [hold]
    await _refused(planned, WO.start, MoveRequest(tech), "RuleViolation", hold)
    assert (await _act(planned, WO.cancel, mgr, "blades sent out instead")).status == "CANCELLED"
    # Held work may be cancelled too (nothing is locked out on this one).
    assert (await _act(waiting, WO.cancel, mgr, "rail to be replaced by the OEM")).status == (
        "CANCELLED"
    )

    cleared = StopWorkRequest(ehs, "leak fixed, guard refitted", cleared=True)
    # The doors of F.3 once more: EHS (or the admin) clears, the auditor raises nothing.
    await _refused(
        active, WO.stop_work, StopWorkRequest(tech, "all good", cleared=True), "NotAllowed",
        "role MAINT_TECH may not clear stop-work; requires one of MAINT_ADMIN, EHS",
    )  # fmt: skip
    await _refused(
        active, WO.stop_work, StopWorkRequest(actor(sessions, "auditor"), "looks unsafe"),
        "NotAllowed", "role AUDITOR may not raise stop-work",
    )  # fmt: skip
    s = await active.execute_update(WO.stop_work, cleared)
    assert s.status == "ON_HOLD" and not s.safety_hold and s.after_stop_work
    assert s.events[-1].action == "STOP_WORK_CLEARED" and s.events[-1].by == ehs.full_name
    await _move_asset(tclient, sessions, "MAINTENANCE", ehs)
    assert (await _act(active, WO.start, tech)).status == "IN_PROGRESS"
    await _to_completed(active, sessions, loto=True)
    s = await _verify(active, sessions)
    assert s.approvals_needed == ["MAINTENANCE", "EHS", "OPERATIONS"]
    assert _asset_status(sessions) == "PENDING_RETURN"

    # I.3 after a stop-work: manager (a supervisor no longer suffices), EHS, operations.
    await _refused(
        active, WO.approve_return, MoveRequest(sup), "NotAllowed",
        "return to service of a CORRECTIVE work order needs MAINT_ADMIN, MAINT_MANAGER",
    )  # fmt: skip
    s = await _act(active, WO.approve_return, mgr)
    assert s.return_to_service == "BLOCKED"
    assert (
        s.message == "EHS approval required; operations approval of the return to service required"
    )
    await _refused(
        active, WO.approve_return, MoveRequest(mgr), "NotAllowed", "one person gives one approval"
    )
    await _refused(
        active, WO.approve_return, MoveRequest(operator), "NotAllowed", "may not return to service"
    )
    s = await _act(active, WO.approve_return, ehs)
    assert s.status == "VERIFIED" and set(s.approvals) == {"MAINTENANCE", "EHS"}
    s = await _act(active, WO.approve_return, ops)
    assert s.status == "CLOSED" and _asset_status(sessions) == "IN_SERVICE"
    row = _row(sessions, active.id)
    assert {k: v["by"] for k, v in row.approvals.items()} == {
        "MAINTENANCE": mgr.full_name,
        "EHS": ehs.full_name,
        "OPERATIONS": ops.full_name,
    }
    ops_row = next(a for a in _audit(sessions, active.id) if a.action == "RTS_APPROVED_OPERATIONS")
    assert ops_row.user_role == "OPERATIONS_MANAGER"
    await _replay(active, waiting, planned)


async def test_stop_work_on_finished_work_wants_every_after_swa_signature_given_after_it(
    tclient, sessions, task_queue
):
    done = await _open(tclient, sessions, task_queue, requires_loto=False)
    signed = await _open(tclient, sessions, task_queue, asset="SAW-JKS-002")
    sup, mgr, tech = (actor(sessions, u) for u in ("supervisor", "manager", "tech"))
    ehs, ops = actor(sessions, "ehs"), actor(sessions, "opsmanager")
    await _to_in_progress(done, sessions)
    await _to_completed(done, sessions)
    await _to_verified(signed, sessions, evidence=())
    s = await _act(signed, WO.approve_return, mgr)  # blocked: the checklist is not attached
    assert s.return_to_service == "BLOCKED" and s.approvals == {"MAINTENANCE": mgr.full_name}

    raised = StopWorkRequest(actor(sessions, "operator"), "smoke from the drive")
    s = await done.execute_update(WO.stop_work, raised)
    assert s.status == "COMPLETED" and s.safety_hold and s.after_stop_work
    s = await signed.execute_update(WO.stop_work, raised)
    assert s.status == "VERIFIED" and s.safety_hold and s.after_stop_work
    assert s.approvals == {} and s.approvals_needed == ["MAINTENANCE", "EHS", "OPERATIONS"]
    row = _row(sessions, signed.id)
    assert row.after_stop_work is True and row.approvals == {}
    stop_row = _audit(sessions, signed.id)[-1]
    assert stop_row.action == "STOP_WORK" and stop_row.reason == "smoke from the drive"

    hold = "the asset is under a stop-work safety hold: EHS must clear it first"
    await _refused(
        done, WO.verify, VerifyRequest(sup, CHECKLIST, True), "Conflict",
        f"cannot move to VERIFIED: {hold}",
    )  # fmt: skip
    await _refused(
        signed, WO.approve_return, MoveRequest(ehs), "Conflict",
        f"cannot approve the return to service: {hold}",
    )  # fmt: skip
    await _refused(signed, WO.close, MoveRequest(sup), "Conflict", f"cannot move to CLOSED: {hold}")
    await _refused(
        done, WO.first_article, FirstArticleRequest(actor(sessions, "quality"), True), "Conflict",
        f"cannot record a first article: {hold}",
    )  # fmt: skip

    cleared = StopWorkRequest(ehs, "drive inspected, fan replaced", cleared=True)
    for handle in (done, signed):
        await handle.execute_update(WO.stop_work, cleared)
    await _evidence(signed, sessions, tech, "CHECKLIST")
    s = await _act(signed, WO.approve_return, ehs)
    assert s.approvals == {"EHS": ehs.full_name}
    await _act(signed, WO.approve_return, mgr)
    s = await _act(signed, WO.approve_return, ops)
    assert s.status == "CLOSED"
    assert _asset_status(sessions, "SAW-JKS-002") == "IN_SERVICE"

    s = await _verify(done, sessions)
    assert s.status == "VERIFIED" and s.approvals_needed == ["MAINTENANCE", "EHS", "OPERATIONS"]
    for who in (mgr, ehs):
        assert (await _act(done, WO.approve_return, who)).return_to_service == "BLOCKED"
    assert (await _act(done, WO.approve_return, ops)).status == "CLOSED"
    assert _asset_status(sessions) == "IN_SERVICE"
    await _replay(signed)


# -- return to service (I.3) --


# type, its asset, the evidence K.3 wants, who may not sign, who signs (the last one closes)
RTS_CASES = [
    ("PM", "SAW-JKS-001", ("CHECKLIST",), ["tech", "ehs", "opsmanager"], ["supervisor"]),
    ("CORRECTIVE", "SAW-JKS-002", ("CHECKLIST",), ["supervisor", "ehs", "opsmanager"],
     ["manager"]),
    ("BREAKDOWN", "ROUTER-JKS-001", ("CHECKLIST", "PHOTO_BEFORE", "PHOTO_AFTER"),
     ["supervisor", "ehs"], ["manager"]),
    ("QUALITY_RELATED", "SHEAR-JKS-001", ("CHECKLIST",), ["supervisor", "quality"],
     ["manager"]),
    ("SAFETY_RELATED", "CONV-JKS-001",
     ("CHECKLIST", "PHOTO_BEFORE", "PHOTO_AFTER", "SIGNATURE"), ["supervisor", "opsmanager"],
     ["ehs", "manager"]),
]  # fmt: skip


async def test_return_to_service_approvers_by_type(tclient, sessions, task_queue):
    """I.3 for each type, the five lifecycles side by side on five assets."""
    org = actor(sessions, "manager").organization_id
    robot = Actor(None, "plantops", "plantops workflow", org, ("SYSTEM",))
    ai_manager = Actor(None, "assistant", "maintenance assistant", org, ("MAINT_MANAGER", "AI"))
    automated = "an automated or AI actor can never approve a return to service"

    async def case(type, asset, evidence, refused, approvers):
        loto = type in ("BREAKDOWN", "SAFETY_RELATED")  # C.1: they always lock out
        h = await _open(tclient, sessions, task_queue, type=type, asset=asset)
        s = await _to_verified(h, sessions, evidence, loto)
        needed = ["MAINTENANCE", "EHS"] if type == "SAFETY_RELATED" else ["MAINTENANCE"]
        assert s.approvals_needed == needed, type
        for who in (robot, ai_manager):
            await _refused(h, WO.approve_return, MoveRequest(who), "NotAllowed", automated)
        for who in refused:
            await _refused(h, WO.approve_return, MoveRequest(actor(sessions, who)), "NotAllowed")
        *first, last = [actor(sessions, u) for u in approvers]
        for who in first:
            s = await _act(h, WO.approve_return, who)
            assert s.status == "VERIFIED" and s.return_to_service == "BLOCKED", type
            assert _asset_status(sessions, asset) == "PENDING_RETURN", type
            await _refused(
                h, WO.approve_return, MoveRequest(who), "NotAllowed",
                "one person gives one approval",
            )  # fmt: skip
        s = await _act(h, WO.approve_return, last)
        assert s.status == "CLOSED" and s.return_to_service == "DONE", type
        assert _asset_status(sessions, asset) == "IN_SERVICE", type
        signed = [a for a in _audit(sessions, h.id) if a.action.startswith("RTS_APPROVED_")]
        expected = {"EHS": "EHS"} if type == "SAFETY_RELATED" else {}
        expected["MAINTENANCE"] = "MAINT_SUPERVISOR" if type == "PM" else "MAINT_MANAGER"
        assert {a.action.removeprefix("RTS_APPROVED_"): a.user_role for a in signed} == expected
        return h

    handles = await asyncio.gather(*(case(*c) for c in RTS_CASES))
    await _replay(handles[-1])


async def test_closes_only_once_its_asset_is_back_in_service(tclient, sessions, task_queue):
    h = await _open(tclient, sessions, task_queue)
    other = await _open(tclient, sessions, task_queue, title="Align the fence")
    mgr, ehs = actor(sessions, "manager"), actor(sessions, "ehs")
    await _to_verified(h, sessions)
    # A safety hold on the asset that this work order never heard of.
    await _move_asset(tclient, sessions, "SAFETY_HOLD", ehs)
    s = await _act(h, WO.approve_return, mgr)
    assert s.status == "VERIFIED" and s.return_to_service == "BLOCKED"
    assert s.message == (
        "asset SAW-JKS-001 is SAFETY_HOLD, not back in service: "
        "the work order stays open until it is"
    )
    assert _row(sessions, h.id).status == "VERIFIED"
    await _move_asset(tclient, sessions, "MAINTENANCE", ehs)
    # Meanwhile other work started on the same asset: it keeps the asset out of service.
    await _to_in_progress(other, sessions)
    s = await _act(h, WO.close, mgr)
    assert s.status == "CLOSED"
    assert s.message == f"closed; the asset stays out of service for {other.id}"
    assert _asset_status(sessions) == "MAINTENANCE"
    await _to_completed(other, sessions)
    await _verify(other, sessions)
    assert (await _act(other, WO.approve_return, mgr)).status == "CLOSED"
    assert _asset_status(sessions) == "IN_SERVICE"
    await _replay(h, other)
