"""Interleavings of the stop-work, content and asset lifecycles on the time-skipping server:
a content update arriving while a stop-work is still telling its work, the asset's own
door while a stop-work holds it, files of another organisation, the audit trail of a hold,
and every recorded history replayed. Tests marked xfail name a defect the fix flips."""

import asyncio
import os
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.client import Client, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.worker import Replayer

from domain.models import Asset, StopWork, WorkOrderTask
from tests.anomaly_helpers import PNG, actor
from tests.workflows import test_work_order_workflow as base
from tests.workflows.lifecycle_env import Gate, gated_worker
from tests.workflows.test_stop_work_workflow import raise_stop_work
from tests.workflows.test_work_order_content import _part, _stored
from tests.workflows.test_work_order_workflow import (
    CHECKLIST,
    _audit,
    _move_asset,
    _open,
    _refused,
    _to_completed,
    _to_in_progress,
    _to_scheduled,
)
from workers import registry
from workflows.stop_work import StopWorkWorkflow
from workflows.stop_work_types import ClearRequest
from workflows.work_order import WorkOrderWorkflow as WO
from workflows.work_order_types import (
    AttachFileRequest,
    CompleteTaskRequest,
    ContentNotice,
    FileKey,
    IssuePartRequest,
    RemovePermitRequest,
    StopWorkRequest,
    VerifyRequest,
)

HISTORIES = Path(__file__).parent.parent / "histories"
ASSET = "SAW-JKS-001"
indexed_time_env = base.indexed_time_env  # tclient: tests/workflows/conftest.py


@pytest.fixture
async def gated(indexed_time_env, sessions, task_queue, executor, settings):
    """A worker with every `tell_work_order` held until the test opens the gate."""
    async with gated_worker(
        indexed_time_env, sessions, settings, executor, task_queue, "tell_work_order"
    ) as held:
        yield held


def _asset_status(sessions) -> str:
    with sessions() as s:
        return s.scalars(select(Asset).where(Asset.asset_number == ASSET)).one().status.value


def _stop_work_open(sessions) -> bool:
    with sessions() as s:
        asset = s.scalars(select(Asset).where(Asset.asset_number == ASSET)).one()
        return bool(
            s.scalars(
                select(StopWork.id).where(
                    StopWork.asset_id == asset.id, StopWork.cleared_at.is_(None)
                )
            ).first()
        )


async def _held_but_not_told(client: Client, sessions, task_queue: str, gate: Gate):
    """A work order under way, then a stop-work raised whose tells wait at the gate."""
    wo = await _open(client, sessions, task_queue)
    await _to_in_progress(wo, sessions)
    swa = await raise_stop_work(client, sessions, task_queue)
    await asyncio.wait_for(gate.reached.wait(), 60)
    # The stop-work is recorded (audited) and the asset is in SAFETY_HOLD.
    assert _stop_work_open(sessions) and _asset_status(sessions) == "SAFETY_HOLD"
    assert not (await wo.query(WO.get_state)).safety_hold  # not told yet
    return wo, swa


async def test_no_task_is_completed_after_a_stop_work_is_recorded_before_it_is_told(
    gated, sessions, task_queue
):
    client, gate = gated
    wo, swa = await _held_but_not_told(client, sessions, task_queue, gate)
    tech = actor(sessions, "tech")
    try:
        await _refused(
            wo, WO.complete_task, CompleteTaskRequest(tech, 1, None, "done"), "Conflict",
            "stop-work",
        )  # fmt: skip
    finally:
        gate.open.set()
        await swa.execute_update(StopWorkWorkflow.raised)
    with sessions() as s:
        done = s.scalars(select(WorkOrderTask.completed).where(WorkOrderTask.sequence == 1)).all()
    assert not any(done)


async def test_no_part_is_drawn_after_a_stop_work_is_recorded_before_it_is_told(
    gated, sessions, task_queue
):
    client, gate = gated
    _part(sessions, actor(sessions, "planner"))
    wo, swa = await _held_but_not_told(client, sessions, task_queue, gate)
    try:
        await _refused(
            wo, WO.issue_part, IssuePartRequest(actor(sessions, "tech"), "BLD-14", 2),
            "Conflict", "stop-work",
        )  # fmt: skip
    finally:
        gate.open.set()
        await swa.execute_update(StopWorkWorkflow.raised)


async def test_once_told_a_task_completion_and_a_part_are_refused(tclient, sessions, task_queue):
    """The rule holds once the tell has landed (the moment above is the only gap)."""
    _part(sessions, actor(sessions, "planner"))
    wo = await _open(tclient, sessions, task_queue)
    await _to_in_progress(wo, sessions)
    swa = await raise_stop_work(tclient, sessions, task_queue)
    await swa.execute_update(StopWorkWorkflow.raised)
    tech = actor(sessions, "tech")
    await _refused(wo, WO.complete_task, CompleteTaskRequest(tech, 1), "Conflict", "stop-work")
    await _refused(
        wo, WO.issue_part, IssuePartRequest(actor(sessions, "tech"), "BLD-14", 1),
        "Conflict", "stop-work",
    )  # fmt: skip


async def test_the_asset_workflow_keeps_a_stop_work_hold(tclient, sessions, task_queue):
    swa = await raise_stop_work(tclient, sessions, task_queue)
    await swa.execute_update(StopWorkWorkflow.raised)
    assert _asset_status(sessions) == "SAFETY_HOLD"
    with pytest.raises(WorkflowUpdateFailedError):
        await _move_asset(tclient, sessions, "MAINTENANCE", actor(sessions, "ehs"))
    assert _asset_status(sessions) == "SAFETY_HOLD" and _stop_work_open(sessions)


async def test_a_work_order_held_and_released_by_a_stop_work_is_audited(
    tclient, sessions, task_queue
):
    wo = await _open(tclient, sessions, task_queue)
    await _to_scheduled(wo, sessions)
    before = [a.action for a in _audit(sessions, wo.id)]
    swa = await raise_stop_work(tclient, sessions, task_queue)
    await swa.execute_update(StopWorkWorkflow.raised)
    assert (await wo.query(WO.get_state)).safety_hold
    held = [a.action for a in _audit(sessions, wo.id)]
    await swa.execute_update(StopWorkWorkflow.clear, ClearRequest(actor(sessions, "ehs"), "ok"))
    assert not (await wo.query(WO.get_state)).safety_hold
    released = [a.action for a in _audit(sessions, wo.id)]
    assert len(held) > len(before), "no audit row for the hold"
    assert len(released) > len(held), "no audit row for the release"
    history = await wo.fetch_history()
    await Replayer(workflows=registry.WORKFLOWS).replay_workflow(history)
    if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
        (HISTORIES / "work_order_stop_work_hold_audited.json").write_text(history.to_json())


async def test_a_task_completion_audits_what_it_was_before(tclient, sessions, task_queue):
    wo = await _open(tclient, sessions, task_queue)
    await _to_in_progress(wo, sessions)
    await wo.execute_update(
        WO.complete_task, CompleteTaskRequest(actor(sessions, "tech"), 1, None, "done")
    )
    row = next(a for a in _audit(sessions, wo.id) if a.action == "TASK_COMPLETED")
    assert row.user_name and row.user_role and row.occurred_at and row.reason
    assert row.new_state and row.previous_state is not None


async def test_a_file_key_of_another_organisation_attaches_nothing(tclient, sessions, task_queue):
    """The hash of another organisation's file is guessable from its content: sent in an
    update, it is refused, as nothing of the caller's organisation is stored under it."""
    wo = await _open(tclient, sessions, task_queue)
    await _to_in_progress(wo, sessions)
    harbor = actor(sessions, "b-admin")
    secret = PNG + b"harbor-only"
    theirs = _stored(sessions, harbor.organization_id, secret)
    tech = actor(sessions, "tech")
    assert theirs.sha256 and tech.organization_id != harbor.organization_id
    key = FileKey(theirs.sha256, "x.png", "image/png", len(secret))
    await _refused(
        wo, WO.attach_file, AttachFileRequest(tech, "PHOTO_AFTER", key), "RuleViolation",
        "no file is stored under that hash",
    )  # fmt: skip
    # And HARBOR's own people reach nothing of this work order.
    await _refused(wo, WO.attach_file, AttachFileRequest(harbor, "PHOTO_AFTER", theirs), "NotFound")


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_every_recorded_history_replays(path: Path):
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await Replayer(workflows=registry.WORKFLOWS).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert result.replay_failure is None, result.replay_failure


async def test_the_legacy_content_update_takes_no_new_notices(tclient, sessions, task_queue):
    wo = await _open(tclient, sessions, task_queue)
    await _to_in_progress(wo, sessions)
    tech = actor(sessions, "tech")
    detail = {
        "sequence": 1, "description": "Replace the blade", "required": True,
        "completed": True, "requires_measurement": False, "measurement_passed": None,
    }  # fmt: skip
    with pytest.raises(WorkflowUpdateFailedError):
        await wo.execute_update(WO.content, ContentNotice(tech, "TASK_COMPLETED", detail))


async def test_a_work_order_is_released_only_when_no_stop_work_holds_its_asset(
    tclient, sessions, task_queue
):
    wo = await _open(tclient, sessions, task_queue)
    await _to_in_progress(wo, sessions)
    swa = await raise_stop_work(tclient, sessions, task_queue)
    await swa.execute_update(StopWorkWorkflow.raised)
    ehs = actor(sessions, "ehs")
    with pytest.raises(WorkflowUpdateFailedError):
        await wo.execute_update(WO.stop_work, StopWorkRequest(ehs, "done here", cleared=True))
    assert (await wo.query(WO.get_state)).safety_hold and _stop_work_open(sessions)


async def test_a_permit_removed_while_the_stop_work_is_told_still_meets_the_hold(
    gated, sessions, task_queue
):
    """LOTO taken off finished work in the moment a stop-work is being told: the work order
    is then held, marked after-stop-work, and cannot be verified until EHS clears."""
    client, gate = gated
    wo = await _open(client, sessions, task_queue)
    await _to_in_progress(wo, sessions, loto=True)
    await _to_completed(wo, sessions)
    swa = await raise_stop_work(client, sessions, task_queue)
    await asyncio.wait_for(gate.reached.wait(), 60)
    tech = actor(sessions, "tech")
    try:
        await wo.execute_update(WO.remove_permit, RemovePermitRequest(tech, "LOTO"))
    finally:
        gate.open.set()
    await swa.execute_update(StopWorkWorkflow.raised)
    state = await wo.query(WO.get_state)
    assert state.status == "COMPLETED" and state.safety_hold and state.after_stop_work
    await _refused(
        wo, WO.verify, VerifyRequest(actor(sessions, "supervisor"), dict(CHECKLIST), True),
        "Conflict", "stop-work",
    )  # fmt: skip
