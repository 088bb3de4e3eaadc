"""AssetWorkflow on the time-skipping server: updates, refusals, audit, replay."""

import json
import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer

from domain.actor import Actor
from domain.models import Asset, AuditLog, User
from workers import registry
from workflows.asset import AssetInput, AssetWorkflow, ChangeStatusRequest

HISTORIES = Path(__file__).parent.parent / "histories"


def _actor(sessions, username: str) -> Actor:
    with sessions() as s:
        u = s.scalars(select(User).where(User.username == username)).one()
        return Actor(u.id, u.username, u.full_name, u.organization_id, tuple(u.roles))


def _input(sessions, number: str) -> AssetInput:
    with sessions() as s:
        a = s.scalars(select(Asset).where(Asset.asset_number == number)).one()
        return AssetInput(
            a.organization_id,
            a.id,
            a.asset_number,
            "JKS",
            a.criticality.value,
            a.status.value,
            indexed=False,  # the time-skipping server has no custom search attributes
        )


async def test_status_changes_are_applied_audited_and_replayable(tworker, sessions, task_queue):
    client = tworker
    handle = await client.start_workflow(
        AssetWorkflow.run,
        _input(sessions, "FORKLIFT-JKS-003"),
        id=f"ASSET-T-{uuid.uuid4().hex[:6]}",
        task_queue=task_queue,
    )
    supervisor, manager = _actor(sessions, "supervisor"), _actor(sessions, "manager")
    for target, who in [
        ("OUT_OF_SERVICE", supervisor),
        ("MAINTENANCE", supervisor),
        ("PENDING_RETURN", supervisor),
        ("IN_SERVICE", manager),
    ]:
        entry = await handle.execute_update(
            AssetWorkflow.change_status, ChangeStatusRequest(target, f"to {target}", who)
        )
        assert entry.status == target and entry.by == who.full_name

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            AssetWorkflow.change_status, ChangeStatusRequest("PENDING_RETURN", "x", manager)
        )
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == "RuleViolation"

    with pytest.raises(WorkflowUpdateFailedError) as denied:
        await handle.execute_update(
            AssetWorkflow.change_status,
            ChangeStatusRequest("MAINTENANCE", "x", _actor(sessions, "tech")),
        )
    assert denied.value.cause.type == "NotAllowed"

    state = await handle.query(AssetWorkflow.get_state)
    assert state.status == "IN_SERVICE" and len(state.history) == 4
    with sessions() as s:
        asset = s.scalars(select(Asset).where(Asset.asset_number == "FORKLIFT-JKS-003")).one()
        assert asset.status.value == "IN_SERVICE"
        audit = s.scalars(
            select(AuditLog)
            .where(AuditLog.entity_id == "FORKLIFT-JKS-003", AuditLog.action == "STATUS_CHANGE")
            .order_by(AuditLog.id)
        ).all()
    assert [(a.previous_state["status"], a.new_state["status"]) for a in audit] == [
        ("IN_SERVICE", "OUT_OF_SERVICE"),
        ("OUT_OF_SERVICE", "MAINTENANCE"),
        ("MAINTENANCE", "PENDING_RETURN"),
        ("PENDING_RETURN", "IN_SERVICE"),
    ]
    assert audit[-1].user_role == "MAINT_MANAGER" and audit[-1].reason == "to IN_SERVICE"

    history = await handle.fetch_history()
    await Replayer(workflows=registry.WORKFLOWS).replay_workflow(history)
    if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
        (HISTORIES / "asset_lifecycle.json").write_text(history.to_json())


async def test_decommission_ends_the_workflow(tworker, sessions, task_queue):
    handle = await tworker.start_workflow(
        AssetWorkflow.run,
        _input(sessions, "FORKLIFT-JKS-001"),
        id=f"ASSET-T-{uuid.uuid4().hex[:6]}",
        task_queue=task_queue,
    )
    await handle.execute_update(
        AssetWorkflow.change_status,
        ChangeStatusRequest("DECOMMISSIONED", "sold at auction", _actor(sessions, "manager")),
    )
    result = await handle.result()
    assert result.status == "DECOMMISSIONED"


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.name)
async def test_recorded_histories_replay(path):
    from temporalio.client import WorkflowHistory

    history = WorkflowHistory.from_json("recorded", json.loads(path.read_text()))
    await Replayer(workflows=registry.WORKFLOWS).replay_workflow(history)


def test_histories_are_recorded():
    assert list(HISTORIES.glob("asset_*.json")), "record with: plantops replay --record"
