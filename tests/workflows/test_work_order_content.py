"""Work-order content as typed updates on the time-skipping server: each written by the
workflow's activities with its audit row, refused by its validator (state, role,
organisation), written once when its activity runs again, files by content hash, replay."""

import os
from dataclasses import replace
from pathlib import Path

from sqlalchemy import func, select
from temporalio.client import WorkflowHandle
from temporalio.worker import Replayer

from activities.work_orders import ContentKey, WorkOrderActivities
from domain.db import transaction
from domain.models import (
    Permit,
    SparePart,
    StoredFile,
    WorkOrderAttachment,
    WorkOrderLabor,
    WorkOrderPart,
    WorkOrderTask,
)
from domain.rules import work_orders as rules
from domain.services import files
from domain.services import parts as parts_service
from tests.anomaly_helpers import PNG, actor
from tests.workflows import test_work_order_workflow as base
from tests.workflows.test_work_order_workflow import (
    CHECKLIST,
    _act,
    _audit,
    _open,
    _refused,
    _row,
    _to_scheduled,
)
from workers import registry
from workflows.work_order import WorkOrderWorkflow as WO
from workflows.work_order_types import (
    AddTaskRequest,
    AttachFileRequest,
    CompleteTaskRequest,
    ContentState,
    EditTaskRequest,
    FileKey,
    IssuePartRequest,
    IssuePermitRequest,
    LogLaborRequest,
    RemovePermitRequest,
    RemoveTaskRequest,
    RequestPartsRequest,
    UpdateDetailsRequest,
    VerifyRequest,
)

HISTORIES = Path(__file__).parent.parent / "histories"
# The time-skipping server and worker of the work-order workflow tests.
indexed_time_env = base.indexed_time_env  # tclient: tests/workflows/conftest.py


def _stored(sessions, organization_id: int, content: bytes) -> FileKey:
    """The file stored first, as the API stores an upload, and its key."""
    with transaction(sessions) as s:
        digest = files.store(s, organization_id=organization_id, content=content)
    return FileKey(digest, "after.png", "image/png", len(content))


def _part(sessions, who, number: str = "BLD-14", on_hand: float = 5) -> None:
    with transaction(sessions) as s:
        parts_service.create(
            s, who, part_number=number, name="Blade 14in", category="MECHANICAL",
            unit_cost=80.0, quantity_on_hand=on_hand, reorder_point=1,
        )  # fmt: skip


async def _save(handle: WorkflowHandle, name: str) -> None:
    history = await handle.fetch_history()
    await Replayer(workflows=registry.WORKFLOWS).replay_workflow(history)
    if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
        (HISTORIES / f"{name}.json").write_text(history.to_json())


async def test_typed_content_is_written_by_the_workflow_with_audit_rows_and_replays(
    tclient, sessions, task_queue
):
    h = await _open(tclient, sessions, task_queue, requires_loto=True)
    sup, mgr, tech = (actor(sessions, u) for u in ("supervisor", "manager", "tech"))
    _part(sessions, actor(sessions, "planner"))

    edited = await h.execute_update(
        WO.update_details, UpdateDetailsRequest(sup, {"title": "Replace blade and guard"})
    )
    assert edited.status == "DRAFT" and _row(sessions, h.id).title == "Replace blade and guard"
    added = await h.execute_update(
        WO.add_task,
        AddTaskRequest(sup, "Check blade runout", requires_measurement=True, unit="mm",
                       spec_max=0.05),
    )  # fmt: skip
    assert isinstance(added, ContentState) and added.result["task"]["sequence"] == 2
    await _to_scheduled(h, sessions)
    permit = await h.execute_update(
        WO.issue_permit, IssuePermitRequest(tech, "LOTO", ["480V main"], True, ["L-17"])
    )
    assert permit.result["permit"].startswith("LOTO-")
    assert (await _act(h, WO.start, tech)).status == "IN_PROGRESS"

    done = await h.execute_update(WO.complete_task, CompleteTaskRequest(tech, 1))
    assert done.result["measurement_passed"] is None
    measured = await h.execute_update(WO.complete_task, CompleteTaskRequest(tech, 2, 0.03))
    assert measured.result["measurement_passed"] is True
    labour = await h.execute_update(WO.log_labor, LogLaborRequest(tech, 2.5))
    assert labour.result["cost"] == round(2.5 * rules.STANDARD_HOURLY_RATE, 2)
    await h.execute_update(WO.request_parts, RequestPartsRequest(tech, "BLD-14", 2))
    issued = await h.execute_update(WO.issue_part, IssuePartRequest(tech, "bld-14", 2, ["S1"]))
    assert issued.result["used"] == 2 and issued.result["part"]["quantity_on_hand"] == 3
    key = _stored(sessions, tech.organization_id, PNG)
    attached = await h.execute_update(
        WO.attach_file, AttachFileRequest(tech, "CHECKLIST", key, "signed checklist")
    )
    assert attached.result["attachment_id"] > 0

    assert (await _act(h, WO.complete, tech)).status == "COMPLETED"
    await h.execute_update(WO.remove_permit, RemovePermitRequest(tech, "LOTO"))
    verified = await h.execute_update(
        WO.verify, VerifyRequest(sup, dict(CHECKLIST), True, "runs true")
    )
    assert verified.status == "VERIFIED", verified
    assert (await _act(h, WO.approve_return, mgr)).status == "CLOSED"

    wo_id = _row(sessions, h.id).id
    with sessions() as s:
        labour_rows = s.scalars(select(WorkOrderLabor).filter_by(work_order_id=wo_id)).all()
        assert [(e.hours, e.hourly_rate, e.technician_name) for e in labour_rows] == [
            (2.5, rules.STANDARD_HOURLY_RATE, tech.full_name)
        ]
        line = s.scalars(select(WorkOrderPart).filter_by(work_order_id=wo_id)).one()
        assert line.quantity_used == 2 and line.serial_numbers == ["S1"]
        assert s.scalars(select(Permit.status).filter_by(work_order_id=wo_id)).all() == ["REMOVED"]
        row = s.scalars(select(WorkOrderAttachment).filter_by(work_order_id=wo_id)).one()
        assert row.sha256 == key.sha256 and row.content is None and row.size == len(PNG)
    actions = [a.action for a in _audit(sessions, h.id)]
    for written in ("DETAILS_UPDATED", "TASK_ADDED", "PERMIT_ISSUED", "TASK_COMPLETED",
                    "LABOR", "PART_REQUESTED", "PART_ISSUED", "FILE_ATTACHED",
                    "PERMIT_REMOVED"):  # fmt: skip
        assert written in actions, (written, actions)
    by = {a.action: a for a in _audit(sessions, h.id)}
    assert by["LABOR"].user_name == tech.full_name and by["LABOR"].user_role == "MAINT_TECH"
    assert by["PERMIT_ISSUED"].reason.endswith("issued")
    # Written beside the workflow's task (local activities), not through the server.
    history = await h.fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    content = {"add_task", "issue_permit", "complete_task", "log_labor",
               "request_parts", "issue_part", "attach_file", "remove_permit"}  # fmt: skip
    assert content.isdisjoint(scheduled), scheduled
    # The history recorded before (plain activities) stays and replays beside this one.
    await _save(h, "work_order_typed_content_local")


async def test_typed_content_is_refused_by_state_role_and_organisation(
    tclient, sessions, task_queue
):
    h = await _open(tclient, sessions, task_queue)
    sup, tech = actor(sessions, "supervisor"), actor(sessions, "tech")
    stranger = actor(sessions, "b-manager")
    key = FileKey("0" * 64, "x.png", "image/png", 1)
    # Wrong role: the permission table the API doors use, message for message.
    for method, request, says in [
        (WO.add_task, AddTaskRequest(actor(sessions, "operator"), "Oil it"), "may not create wo"),
        (WO.complete_task, CompleteTaskRequest(actor(sessions, "planner"), 1), "may not execute"),
        (WO.log_labor, LogLaborRequest(actor(sessions, "quality"), 1), "may not execute wo"),
        (WO.issue_permit, IssuePermitRequest(actor(sessions, "planner"), "LOTO"), "permits"),
        (WO.remove_permit, RemovePermitRequest(actor(sessions, "quality"), "LOTO"), "permits"),
        (WO.request_parts, RequestPartsRequest(actor(sessions, "auditor"), "P", 1), "execute"),
        (WO.attach_file, AttachFileRequest(actor(sessions, "operator"), "PHOTO_AFTER", key),
         "may not add evidence"),
        (WO.update_details, UpdateDetailsRequest(actor(sessions, "opsmanager"), {"title": "x"}),
         "may not create wo"),
    ]:  # fmt: skip
        await _refused(h, method, request, "NotAllowed", says)
    # Another organisation learns nothing.
    for method, request in [
        (WO.add_task, AddTaskRequest(stranger, "Take it over")),
        (WO.log_labor, LogLaborRequest(stranger, 1)),
        (WO.issue_part, IssuePartRequest(stranger, "P", 1)),
        (WO.update_details, UpdateDetailsRequest(stranger, {"title": "Ours now"})),
    ]:
        await _refused(h, method, request, "NotFound", f"work order {h.id} not found")
    # Wrong state.
    await _refused(h, WO.remove_permit, RemovePermitRequest(tech, "LOTO"), "Conflict", "COMPLETED")
    await _act(h, WO.submit, sup)
    await _act(h, WO.approve, actor(sessions, "manager"))
    await _refused(
        h, WO.update_details, UpdateDetailsRequest(sup, {"title": "Too late"}), "Conflict",
        "can no longer be edited",
    )  # fmt: skip
    # The service's own rule, refused from the activity with its field, writes nothing.
    missing = await _refused(h, WO.complete_task, CompleteTaskRequest(tech, 9), "NotFound")
    assert missing == f"task 9 not found on {h.id}"
    actions = [a.action for a in _audit(sessions, h.id)]
    assert actions == ["CREATED", "STATUS_SUBMITTED", "STATUS_APPROVED"]
    assert (await h.query(WO.get_state)).events[-1].action == "STATUS_APPROVED"


async def test_a_content_activity_run_twice_writes_once(tclient, sessions, task_queue):
    """An activity retried after its commit (its completion lost) finds its step written
    and answers what it wrote, adding no row, no audit row and no stock movement."""
    h = await _open(tclient, sessions, task_queue)
    tech, planner = actor(sessions, "tech"), actor(sessions, "planner")
    _part(sessions, planner)
    activities = WorkOrderActivities(sessions)
    step = _row(sessions, h.id).last_step + 1
    key = ContentKey(h.id, tech.organization_id, step)
    first = activities.log_labor(key, LogLaborRequest(tech, 3))
    again = activities.log_labor(key, LogLaborRequest(tech, 3))
    assert first == again and first["cost"] == 3 * rules.STANDARD_HOURLY_RATE
    issue = IssuePartRequest(tech, "BLD-14", 2)
    next_key = ContentKey(h.id, tech.organization_id, step + 1)
    assert activities.issue_part(next_key, issue) == activities.issue_part(next_key, issue)
    stored = _stored(sessions, tech.organization_id, PNG)
    file_key = ContentKey(h.id, tech.organization_id, step + 2)
    attach = AttachFileRequest(tech, "CHECKLIST", stored)
    assert activities.attach_file(file_key, attach) == activities.attach_file(file_key, attach)
    wo_id = _row(sessions, h.id).id
    with sessions() as s:
        count = select(func.count())
        assert s.scalar(count.select_from(WorkOrderLabor).filter_by(work_order_id=wo_id)) == 1
        stock = select(SparePart.quantity_on_hand).filter_by(part_number="BLD-14")
        assert s.scalar(stock) == 3
        assert s.scalar(count.select_from(WorkOrderAttachment).filter_by(work_order_id=wo_id)) == 1
    actions = [a.action for a in _audit(sessions, h.id)]
    assert actions == ["CREATED", "LABOR", "PART_ISSUED", "FILE_ATTACHED"]
    assert _row(sessions, h.id).last_step == step + 2


async def test_the_same_file_is_stored_once(tclient, sessions, task_queue):
    h = await _open(tclient, sessions, task_queue)
    tech = actor(sessions, "tech")
    first = _stored(sessions, tech.organization_id, PNG)
    second = _stored(sessions, tech.organization_id, PNG)
    assert first == second
    for kind in ("CHECKLIST", "PHOTO_AFTER"):
        await h.execute_update(WO.attach_file, AttachFileRequest(tech, kind, first))
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(StoredFile)) == 1
        wo_id = _row(sessions, h.id).id
        rows = s.scalars(select(WorkOrderAttachment).filter_by(work_order_id=wo_id)).all()
        assert {r.sha256 for r in rows} == {first.sha256} and len(rows) == 2
        assert files.content_of(s, organization_id=tech.organization_id, sha256=first.sha256) == PNG
    # A key naming nothing stored is refused, and writes nothing.
    ghost = FileKey("f" * 64, "ghost.png", "image/png", 10)
    await _refused(
        h, WO.attach_file, AttachFileRequest(tech, "CHECKLIST", ghost), "RuleViolation",
        "no file is stored under that hash",
    )  # fmt: skip
    state = await h.query(WO.get_state)
    assert [e.action for e in state.events] == ["FILE", "FILE"]


async def test_tasks_are_edited_and_removed_before_approval_only(tclient, sessions, task_queue):
    """Task edits and removals are typed updates written by their activities (one audit row
    each, before and after), refused once approved; the run carries the change's marker."""
    h = await _open(tclient, sessions, task_queue, tasks=("Replace the blade", "Check guard"))
    sup, mgr = actor(sessions, "supervisor"), actor(sessions, "manager")
    edit = EditTaskRequest(
        sup, 1, "Replace the blade and its bolts", requires_measurement=True, unit="Nm",
        spec_min=40, spec_max=45, requires_photo=True, new_sequence=3, reason="torque spec",
    )  # fmt: skip
    await _refused(
        h, WO.edit_task, replace(edit, actor=actor(sessions, "operator")), "NotAllowed",
        "may not create wo",
    )  # fmt: skip
    await _refused(h, WO.edit_task, replace(edit, new_sequence=2), "Conflict", "sequence 2")
    await _refused(h, WO.edit_task, replace(edit, spec_min=50), "RuleViolation", "spec_min")
    await _refused(h, WO.remove_task, RemoveTaskRequest(sup, 7), "NotFound", "task 7")
    stranger = actor(sessions, "b-manager")
    await _refused(h, WO.remove_task, RemoveTaskRequest(stranger, 2), "NotFound", h.id)
    edited = await h.execute_update(WO.edit_task, edit)
    assert edited.result["task"]["sequence"] == 3 and edited.result["after"]["unit"] == "Nm"
    await _act(h, WO.submit, sup)
    removed = await h.execute_update(WO.remove_task, RemoveTaskRequest(sup, 2, "duplicate"))
    assert removed.result["removed"] == 2
    with sessions() as s:
        wo_id = _row(sessions, h.id).id
        rows = s.scalars(select(WorkOrderTask).filter_by(work_order_id=wo_id)).all()
        assert [(t.sequence, t.spec_max, t.requires_photo) for t in rows] == [(3, 45, True)]
    await _act(h, WO.approve, mgr)
    for method, request in [
        (WO.edit_task, replace(edit, sequence=3, new_sequence=None)),
        (WO.remove_task, RemoveTaskRequest(sup, 3)),
    ]:
        await _refused(h, method, request, "Conflict", "only before approval", "APPROVED")
    audit = {a.action: a for a in _audit(sessions, h.id)}
    assert audit["TASK_EDITED"].previous_state["description"] == "Replace the blade"
    assert audit["TASK_EDITED"].reason == "task 1 edited, now 3: torque spec"
    assert audit["TASK_REMOVED"].previous_state["description"] == "Check guard"
    assert audit["TASK_REMOVED"].user_name == sup.full_name
    # The timeline names each change where it happened.
    state = await h.query(WO.get_state)
    assert [e.action for e in state.events][-4:] == [
        "TASK_EDITED", "STATUS_SUBMITTED", "TASK_REMOVED", "STATUS_APPROVED",
    ]  # fmt: skip
    history = await h.fetch_history()
    markers = [
        e.marker_recorded_event_attributes.SerializeToString()
        for e in history.events
        if e.marker_recorded_event_attributes.marker_name == "core_patch"
    ]
    assert any(b"task-edits" in m for m in markers), markers
    await _save(h, "work_order_task_edits")
