"""Start and verify answer once the work order's own step is committed; the asset's move
follows (workflow ASSET_AFTER_ANSWER). The gated asset activity holds that move so the
interleavings are exact: a stop-work raised between the answer and the move, a second
start on the same asset, and a later move of the same order waiting for the first. The
return to service moves the asset in one call (RETURN_IN_ONE_CALL)."""

import asyncio
import os
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.worker import Replayer

from activities.asset_gateway import asset_workflow_start
from domain.models import Asset, AuditLog, WorkOrder
from tests.anomaly_helpers import actor
from tests.workflows import test_work_order_workflow as base
from tests.workflows.lifecycle_env import gated_worker
from tests.workflows.test_stop_work_workflow import raise_stop_work
from tests.workflows.test_work_order_workflow import (
    _asset_status,
    _audit,
    _move_asset,
    _open,
    _permit,
    _to_completed,
    _to_scheduled,
    settled,
)
from workers import registry
from workflows.stop_work import StopWorkWorkflow
from workflows.stop_work_types import ClearRequest
from workflows.work_order import WorkOrderWorkflow as WO
from workflows.work_order_types import MoveRequest, VerifyRequest

HISTORIES = Path(__file__).parent.parent / "histories"
ANSWER_WITHIN = 60  # seconds; a start that waits for the held move never answers
OPERATIONS = "opsmanager"
indexed_time_env = base.indexed_time_env  # tclient: tests/workflows/conftest.py


@pytest.fixture
async def gated(indexed_time_env, sessions, task_queue, executor, settings):
    """A worker with every `change_asset_status` held until the test opens the gate."""
    async with gated_worker(
        indexed_time_env, sessions, settings, executor, task_queue, "change_asset_status"
    ) as held:
        yield held


def _asset_moves(sessions) -> list[tuple[str, str]]:
    with sessions() as s:
        rows = s.scalars(
            select(AuditLog)
            .where(AuditLog.entity_type == "ASSET", AuditLog.action == "STATUS_CHANGE")
            .order_by(AuditLog.id)
        ).all()
        return [(r.previous_state["status"], r.new_state["status"]) for r in rows]


async def test_start_answers_before_the_asset_moves_and_a_stop_work_between_holds(
    gated, sessions, task_queue
):
    client, gate = gated
    wo = await _open(client, sessions, task_queue, requires_loto=True)
    await _to_scheduled(wo, sessions)
    tech = actor(sessions, "tech")
    await _permit(wo, sessions, tech)

    # The answer comes with the order's row and audit row committed, the asset not moved.
    started = wo.execute_update(WO.start, MoveRequest(tech))
    s = await asyncio.wait_for(started, ANSWER_WITHIN)
    assert s.status == "IN_PROGRESS" and s.asset_moving
    with sessions() as db:
        row = db.scalars(select(WorkOrder).where(WorkOrder.number == wo.id)).one()
        assert row.status == "IN_PROGRESS" and row.started_at is not None
    assert _audit(sessions, wo.id)[-1].action == "STATUS_IN_PROGRESS"
    await asyncio.wait_for(gate.reached.wait(), ANSWER_WITHIN)
    assert _asset_status(sessions) == "IN_SERVICE"

    # F.3 between the answer and the move: the stop-work holds the asset and the order.
    swa = await raise_stop_work(client, sessions, task_queue)
    await swa.execute_update(StopWorkWorkflow.raised)
    s = await wo.query(WO.get_state)
    assert s.status == "ON_HOLD" and s.safety_hold
    assert _asset_status(sessions) == "SAFETY_HOLD"

    # The held move comes after: from SAFETY_HOLD it does nothing (only from IN_SERVICE).
    gate.open.set()
    s = await settled(wo)
    assert _asset_status(sessions) == "SAFETY_HOLD"
    assert not any(e.action == "ASSET_NOT_MOVED" for e in s.events), s.events
    assert _asset_moves(sessions) == [("IN_SERVICE", "SAFETY_HOLD")]

    # Cleared, the asset waits in MAINTENANCE; the order resumes and verifies; the asset
    # is offered for return after that answer too.
    await swa.execute_update(StopWorkWorkflow.clear, ClearRequest(actor(sessions, "ehs"), "ok"))
    assert _asset_status(sessions) == "MAINTENANCE"
    assert (await wo.execute_update(WO.start, MoveRequest(tech))).status == "IN_PROGRESS"
    await _to_completed(wo, sessions, loto=True)
    s = await wo.execute_update(
        WO.verify, VerifyRequest(actor(sessions, "supervisor"), dict(base.CHECKLIST), True)
    )
    assert s.status == "VERIFIED"
    await settled(wo)
    assert _asset_status(sessions) == "PENDING_RETURN"
    assert [c.status for c in gate.seen] == ["MAINTENANCE", "MAINTENANCE", "PENDING_RETURN"]

    # Taken back to MAINTENANCE meanwhile, the asset returns through PENDING_RETURN in the
    # return to service's one call, and the order closes with it back in service.
    await _move_asset(client, sessions, "MAINTENANCE", actor(sessions, "supervisor"))
    # I.3 after the stop-work: the manager, EHS, then operations, whose approval closes.
    for who in ("manager", "ehs", OPERATIONS):
        s = await wo.execute_update(WO.approve_return, MoveRequest(actor(sessions, who)))
    assert s.status == "CLOSED" and s.return_to_service == "DONE", s.message
    assert _asset_status(sessions) == "IN_SERVICE"
    assert [c.status for c in gate.seen][3:] == ["IN_SERVICE"]  # one call
    assert _asset_moves(sessions)[-3:] == [
        ("PENDING_RETURN", "MAINTENANCE"),
        ("MAINTENANCE", "PENDING_RETURN"),
        ("PENDING_RETURN", "IN_SERVICE"),
    ]

    with sessions() as db:
        asset_id, _ = asset_workflow_start(
            db, db.scalars(select(Asset).where(Asset.asset_number == base.ASSET)).one()
        )
    for handle, name in [
        (wo, "work_order_asset_after_answer"),
        (client.get_workflow_handle(asset_id), "asset_return_through"),
    ]:
        history = await handle.fetch_history()
        await Replayer(workflows=registry.WORKFLOWS).replay_workflow(history)
        if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
            (HISTORIES / f"{name}.json").write_text(history.to_json())


async def test_two_starts_on_one_asset_move_it_once_and_a_later_move_waits(
    gated, sessions, task_queue
):
    client, gate = gated
    first = await _open(client, sessions, task_queue)
    second = await _open(client, sessions, task_queue)
    await _to_scheduled(first, sessions)
    await _to_scheduled(second, sessions)
    tech = actor(sessions, "tech")

    for wo in (first, second):
        s = await asyncio.wait_for(wo.execute_update(WO.start, MoveRequest(tech)), ANSWER_WITHIN)
        assert s.status == "IN_PROGRESS" and s.asset_moving
    assert _asset_status(sessions) == "IN_SERVICE"
    # The work itself goes on meanwhile, to its completion (it does not touch the asset).
    await _to_completed(first, sessions)
    # Verify answers too; its PENDING_RETURN waits behind the start's MAINTENANCE.
    s = await asyncio.wait_for(
        first.execute_update(
            WO.verify, VerifyRequest(actor(sessions, "supervisor"), dict(base.CHECKLIST), True)
        ),
        ANSWER_WITHIN,
    )
    assert s.status == "VERIFIED" and s.asset_moving

    gate.open.set()
    await settled(first)
    await settled(second)
    # In order: MAINTENANCE once (the second start finds it there), then PENDING_RETURN.
    assert _asset_moves(sessions) == [
        ("IN_SERVICE", "MAINTENANCE"),
        ("MAINTENANCE", "PENDING_RETURN"),
    ]
    assert _asset_status(sessions) == "PENDING_RETURN"
    for wo in (first, second):
        events = (await wo.query(WO.get_state)).events
        assert not any(e.action == "ASSET_NOT_MOVED" for e in events), events
