"""ShiftReportWorkflow on the time-skipping server (seed 002 "Shift Report Generation"):
a fire 15 minutes after the shift starts the shift's report once; the draft's figures
come from the shift's sums; the supervisor is told and reminded on durable timers (the
operations manager joining later); wrong roles and another organisation are refused; the
supervisor reviews with a handover note, the operations manager approves; the report is
sent to management, archived as PDF and locked; a correction is a second version. Then
replay."""

import asyncio
import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer

from domain.db import transaction
from domain.errors import Conflict
from domain.models import AuditLog, HandoverNote, Notification, ShiftReport, StoredFile
from domain.rules import shift_reports as rules
from domain.services import shift_reports as service
from tests.anomaly_helpers import actor
from tests.conftest import own_time_env
from tests.oee_helpers import DAY, local
from tests.shift_report_helpers import REF, shift_example
from workers import registry
from workflows.shift_report import ShiftReportWorkflow as SR
from workflows.shift_report_types import (
    ApproveRequest,
    HandoverItem,
    ReviewRequest,
    ShiftReportInput,
)

HISTORIES = Path(__file__).parent.parent / "histories"

# Its test sleeps through the reminder timers.
time_env = own_time_env


async def fire(client: Client, task_queue: str, n: int, org: int):
    return await client.execute_workflow(
        SR.run, ShiftReportInput(org, "JKS", fired_at=local(13, 15), indexed=False),
        id=f"SHR-FIRE-JKS-{n}", task_queue=task_queue,
    )  # fmt: skip


async def drafted(handle: WorkflowHandle):
    for _ in range(200):
        state = await handle.query(SR.get_state)
        if state.status != "COLLECTING":
            return state
        await asyncio.sleep(0.05)
    raise AssertionError("the draft was not stored")


async def refused(handle, method, request, kind: str, says: str) -> None:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(method, request)
    cause = err.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == kind, cause
    assert says in cause.message, cause.message


def outbox(sessions, event: str) -> set[tuple[str, int]]:
    """(channel, recipient) of every notice of the event queued."""
    with sessions() as s:
        rows = s.scalars(select(Notification).where(Notification.event == event)).all()
        return {(r.channel, r.recipient_id) for r in rows}


def report(sessions, ref: str = REF) -> ShiftReport:
    with sessions() as s:
        row = s.scalars(select(ShiftReport).where(ShiftReport.reference == ref)).one()
        s.expunge(row)
        return row


async def test_shift_report_from_fire_to_lock_and_a_second_version(
    tclient, time_env, sessions, task_queue
):
    shift_example(sessions)
    supervisor, ops = actor(sessions, "supervisor"), actor(sessions, "opsmanager")
    org = supervisor.organization_id

    # Two fires for the same shift end: one report, started once.
    first = await fire(tclient, task_queue, 1, org)
    second = await fire(tclient, task_queue, 2, org)
    assert (first.status, first.reference) == ("FIRED", REF)
    assert (second.status, second.reference) == ("ALREADY_STARTED", REF)
    handle = tclient.get_workflow_handle_for(SR.run, REF)
    state = await drafted(handle)
    assert state.status == "DRAFT" and state.supervisor_ids == [supervisor.user_id]

    # The draft's figures: the worked example's on saw 1; the site's from the summed times
    # and counts of both saws (saw 2 planned and idle), not an average of percentages.
    row = report(sessions)
    saw1 = row.figures["oee"]["machines"][0]
    pcts = [saw1[f"{k}_pct"] for k in ("availability", "performance", "quality", "oee")]
    assert saw1["machine"] == "SAW-JKS-001" and pcts == [88.81, 86.11, 97.8, 74.79]
    assert (row.availability_pct, row.performance_pct, row.quality_pct) == (94.4, 40.5, 97.8)
    assert row.total_output == 19_271 and row.good_output == 18_848 and row.scrap_count == 423
    assert row.down_minutes == 47 and row.unplanned_down_minutes == 47 and row.kwh == 310.5
    assert row.figures["quality_events"] == {"scrap": 40}
    assert row.figures["downtime"]["by_reason"][0]["reason_code"] == "BD-MECH"
    told = {("EMAIL", supervisor.user_id), ("IN_APP", supervisor.user_id)}
    assert outbox(sessions, "SHIFT_REPORT_READY") == told

    # Reminders on durable timers: the supervisor every two hours, management from the third.
    await time_env.sleep(rules.REMIND_EVERY + timedelta(minutes=1))
    assert (await handle.query(SR.get_state)).reminders == 1
    assert not outbox(sessions, "SHIFT_REPORT_APPROVED")
    await time_env.sleep(2 * rules.REMIND_EVERY)
    state = await handle.query(SR.get_state)
    assert state.reminders == 3 and report(sessions).reminders == 3
    reminded = {who for _, who in outbox(sessions, "SHIFT_REPORT_REMINDER")}
    manager = actor(sessions, "manager")
    assert reminded == {supervisor.user_id, ops.user_id, manager.user_id}

    # Refused: a technician (the permission table), another organisation (not found).
    review = ReviewRequest(actor(sessions, "tech"), "looked at it")
    await refused(handle, SR.review, review, "NotAllowed", "Approve Shift Reports")
    other = ReviewRequest(actor(sessions, "b-manager"), "looked at it")
    await refused(handle, SR.review, other, "NotFound", "not found")

    # The supervisor reviews, with a note for the next shift; the operations manager approves.
    note = HandoverItem("Saw 1 blade changed at 12:40, watch the cut edge", "high", "issue")
    state = await handle.execute_update(
        SR.review, ReviewRequest(supervisor, "Breakdown on saw 1, 47 min.", [note])
    )
    assert state.status == "IN_REVIEW" and state.reviewed_by == supervisor.full_name
    with sessions() as s:
        [handed] = s.scalars(select(HandoverNote)).all()
        assert (handed.from_shift, handed.to_shift, handed.priority) == ("DAY", "EVE", "high")
        assert handed.to_day == DAY and handed.shift_report_id == row.id
    state = await handle.execute_update(SR.approve, ApproveRequest(ops))
    assert state.status == "LOCKED" and state.archive_key
    final = await handle.result()
    assert final.status == "LOCKED" and final.approved_by == ops.full_name
    assert [e.action for e in final.events] == [
        "REMINDED", "REMINDED", "REMINDED", "REVIEWED", "APPROVED", "LOCKED",
    ]  # fmt: skip
    row = report(sessions)
    assert row.status == "LOCKED" and row.approved_by_id == ops.user_id and row.locked_at
    assert row.notes == "Breakdown on saw 1, 47 min."
    with sessions() as s:
        pdf = s.scalars(select(StoredFile).where(StoredFile.sha256 == row.archive_key)).one()
        assert pdf.content.startswith(b"%PDF")
        audit = s.scalars(
            select(AuditLog.action).where(AuditLog.entity_id == REF).order_by(AuditLog.id)
        ).all()
    assert audit == ["DRAFTED", "REMINDED", "REMINDED", "REMINDED", "REVIEWED", "APPROVED",
                     "LOCKED"]  # fmt: skip
    sent = outbox(sessions, "SHIFT_REPORT_APPROVED")
    assert {("EMAIL", ops.user_id), ("EMAIL", manager.user_id)} <= sent

    # Locked: no edit; a correction is a new version, the first one left as it was.
    with sessions() as s, pytest.raises(Conflict, match="locked; a correction is a new version"):
        service.editable(session=s, actor=supervisor, ref=REF)
    with transaction(sessions) as s:
        fix = service.correction(session=s, actor=ops, ref=REF, reason="late scrap entry")
    assert (fix.version, fix.corrects) == (2, REF)
    v2_handle = await tclient.start_workflow(
        SR.run, ShiftReportInput(org, "JKS", "DAY", DAY.isoformat(), 2, REF,
                                 "late scrap entry", ops, indexed=False),
        id=f"{REF}-V2", task_queue=task_queue,
    )  # fmt: skip
    assert (await drafted(v2_handle)).status == "DRAFT"
    with sessions() as s:
        rows = service.versions(session=s, organization_id=org, ref=REF)
        assert [(r.version, r.status, r.corrects) for r in rows] == [
            (1, "LOCKED", None), (2, "DRAFT", REF)
        ]  # fmt: skip
    await v2_handle.terminate("test finished")

    for name, workflow_id in (("shift_report", REF), ("shift_report_fire", "SHR-FIRE-JKS-1")):
        history = await tclient.get_workflow_handle(workflow_id).fetch_history()
        await Replayer(workflows=registry.WORKFLOWS).replay_workflow(history)
        if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
            (HISTORIES / f"{name}.json").write_text(history.to_json())


def test_shift_report_histories_are_recorded():
    for name in ("shift_report.json", "shift_report_fire.json"):
        assert (HISTORIES / name).exists(), "record with PLANTOPS_RECORD_HISTORIES=1"


async def test_a_report_approved_before_a_restart_is_archived_and_locked(
    tclient, sessions, task_queue
):
    """Its run ended between the approval and the lock (terminated, failed): the next run
    finds the stored approval and finishes, without asking anyone again."""
    shift_example(sessions)
    ops = actor(sessions, "opsmanager")
    with transaction(sessions) as s:
        site = service.site_by_code(s, ops.organization_id, "JKS")
        row = service.draft(session=s, site=site, window=service.shift_window(s, site, "DAY",
                            DAY)).report  # fmt: skip
        row.status, row.approved_by, row.last_step = "APPROVED", ops.full_name, 4
    state = await tclient.execute_workflow(
        SR.run, ShiftReportInput(ops.organization_id, "JKS", "DAY", DAY.isoformat(),
                                 indexed=False),
        id=f"{REF}-RESTART", task_queue=task_queue,
    )  # fmt: skip
    assert state.status == "LOCKED" and [e.action for e in state.events] == ["LOCKED"]
    row = report(sessions)
    assert row.status == "LOCKED" and row.archive_key and row.last_step == 5
    assert not outbox(sessions, "SHIFT_REPORT_READY")
