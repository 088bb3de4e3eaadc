"""StopWorkWorkflow on the time-skipping server (seed 003 F.3): the hold, every open work
order told, the clear refused to the wrong role and to another organisation, a work order
that cannot be reached told once it answers, and the raise and clear of two stop-works on
one asset ending consistent. Then replay."""

import asyncio
import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer

from activities.stop_work import StopWorkActivities
from activities.work_orders import snapshot
from domain.db import transaction
from domain.models import Asset, AuditLog, StopWork
from domain.services import stop_work as stop_work_service
from domain.services import work_orders as service
from tests.anomaly_helpers import actor
from tests.conftest import own_time_env
from tests.workflows.test_work_order_workflow import _open, _to_in_progress
from workers import registry
from workflows.kit import ASSET as ASSET_KEY
from workflows.kit import ENTITY, STATUS
from workflows.stop_work import RETRY_EVERY, StopWorkWorkflow
from workflows.stop_work_types import ClearRequest, ReleaseRequest, StopWorkInput, StopWorkReleased
from workflows.work_order import WorkOrderWorkflow as WO
from workflows.work_order_types import WorkOrderInput

HISTORIES = Path(__file__).parent.parent / "histories"
ASSET = "SAW-JKS-001"


# Its tests sleep through the retry timer, which an activity another module left in flight
# would keep from skipping.
time_env = own_time_env


async def raise_stop_work(
    client: Client, sessions, task_queue: str, who: str = "operator", asset: str = ASSET
) -> WorkflowHandle:
    """As the API does: the id reserved, the lifecycle started."""
    by = actor(sessions, who)
    with transaction(sessions) as s:
        row = s.scalars(select(Asset).where(Asset.asset_number == asset)).one()
        swa_id = stop_work_service.reserve_id(s)
        data = StopWorkInput(swa_id, by.organization_id, row.id, asset, "guard missing", by)
    return await client.start_workflow(
        StopWorkWorkflow.run, data, id=f"SWA-{swa_id}", task_queue=task_queue
    )


def asset_status(sessions, asset: str = ASSET) -> str:
    with sessions() as s:
        return s.scalars(select(Asset).where(Asset.asset_number == asset)).one().status.value


async def held(handle: WorkflowHandle) -> bool:
    return (await handle.query(WO.get_state)).safety_hold


async def refused(handle: WorkflowHandle, request: ClearRequest, kind: str, says: str) -> None:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(StopWorkWorkflow.clear, request)
    cause = err.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == kind, cause
    assert says in cause.message, cause.message


async def test_stop_work_holds_every_open_order_until_ehs_clears(
    tclient: Client, sessions, task_queue
):
    working = await _open(tclient, sessions, task_queue)
    await _to_in_progress(working, sessions)
    waiting = await _open(tclient, sessions, task_queue, title="Not started yet")
    swa = await raise_stop_work(tclient, sessions, task_queue)
    raised = await swa.execute_update(StopWorkWorkflow.raised)
    assert raised.held_work_orders == [working.id] and raised.unreached_work_orders == []
    assert raised.asset_status == asset_status(sessions) == "SAFETY_HOLD"
    assert (await working.query(WO.get_state)).status == "ON_HOLD"
    assert await held(working) and await held(waiting)

    # A work order opened on the held asset is held from its start.
    late = await _open(tclient, sessions, task_queue, title="Opened during the hold")
    assert await held(late)

    await refused(swa, ClearRequest(actor(sessions, "supervisor"), "ok"), "NotAllowed",
                  "may not clear stop-work")  # fmt: skip
    await refused(swa, ClearRequest(actor(sessions, "b-manager"), "ok"), "NotFound",
                  "not found")  # fmt: skip
    cleared = await swa.execute_update(
        StopWorkWorkflow.clear, ClearRequest(actor(sessions, "ehs"), "guard refitted")
    )
    assert cleared.asset_status == asset_status(sessions) == "MAINTENANCE"
    assert cleared.released_work_orders == [working.id] and cleared.unreached_work_orders == []
    assert not any([await held(working), await held(waiting), await held(late)])
    state = await swa.result()
    assert state.status == "CLEARED" and state.unreached == []
    assert [e.action for e in state.events] == [
        "STOP_WORK_RAISED", "ASSET_HELD", "WORK_ORDER_TOLD", "WORK_ORDER_TOLD",
        "STOP_WORK_CLEARED", "ASSET_RELEASED", "WORK_ORDER_TOLD", "WORK_ORDER_TOLD",
        "WORK_ORDER_TOLD",
    ]  # fmt: skip
    found = (await swa.describe()).typed_search_attributes
    assert (found.get(ENTITY), found.get(ASSET_KEY), found.get(STATUS)) == (
        "STOP_WORK", ASSET, "CLEARED",
    )  # fmt: skip

    swa_id = int(swa.id.removeprefix("SWA-"))
    with sessions() as s:
        row = s.get(StopWork, swa_id)
        audit = s.scalars(
            select(AuditLog).where(AuditLog.entity_id == swa.id).order_by(AuditLog.id)
        ).all()
    ehs = actor(sessions, "ehs")
    assert row.cleared_by == ehs.full_name and row.cleared_at
    assert row.held_work_orders == [working.id]
    # Every decision through the kit's step writer: one audit row each, with the fields.
    assert [a.action for a in audit] == [e.action for e in state.events]
    assert (row.status, row.last_step) == ("WORK_ORDER_TOLD", len(audit))
    raised_row, cleared_row = audit[0], audit[4]
    assert raised_row.previous_state == {"status": "RAISING", "held_work_orders": []}
    assert raised_row.new_state["held_work_orders"] == [working.id]
    assert raised_row.reason == "guard missing"
    assert (cleared_row.action, cleared_row.user_name, cleared_row.reason) == (
        "STOP_WORK_CLEARED", ehs.full_name, "guard refitted",
    )  # fmt: skip
    assert cleared_row.previous_state["cleared_at"] is None
    assert cleared_row.new_state["cleared_by"] == ehs.full_name

    history = await swa.fetch_history()
    await Replayer(workflows=registry.WORKFLOWS).replay_workflow(history)
    if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
        (HISTORIES / "stop_work_steps.json").write_text(history.to_json())


async def test_a_work_order_that_cannot_be_reached_is_told_once_it_answers(
    tclient: Client, time_env, sessions, task_queue
):
    lost = await _open(tclient, sessions, task_queue)
    await lost.query(WO.get_state)  # its first task done: none is left outstanding
    await lost.terminate("its worker lost it")
    swa = await raise_stop_work(tclient, sessions, task_queue)
    raised = await swa.execute_update(StopWorkWorkflow.raised)
    assert raised.unreached_work_orders == [lost.id]
    assert (await swa.query(StopWorkWorkflow.get_state)).unreached == [lost.id]

    # Its lifecycle comes back as it was before the stop-work: not held.
    with sessions() as s:
        wo = service.get(s, actor(sessions, "operator").organization_id, lost.id)
        data = WorkOrderInput(wo.number, wo.organization_id, snapshot(s, wo), indexed=False)
    data = replace(data, snapshot=replace(data.snapshot, safety_hold=False))
    back = await tclient.start_workflow(WO.run, data, id=lost.id, task_queue=task_queue)
    assert not await held(back)
    await time_env.sleep(RETRY_EVERY + timedelta(seconds=5))
    for _ in range(100):
        state = await swa.query(StopWorkWorkflow.get_state)
        if not state.unreached:
            break
        await asyncio.sleep(0.1)
    assert state.unreached == [] and lost.id in state.told
    assert await held(back)
    # Named once as not reached (retries that failed again wrote nothing), then told.
    with sessions() as s:
        audit = s.execute(
            select(AuditLog.action, AuditLog.reason)
            .where(AuditLog.entity_id == swa.id, AuditLog.action.like("WORK_ORDER_%"))
            .order_by(AuditLog.id)
        ).all()
    assert audit == [("WORK_ORDER_NOT_TOLD", lost.id), ("WORK_ORDER_TOLD", lost.id)]


async def test_a_clear_sent_during_the_raise_waits_for_it(tclient: Client, sessions, task_queue):
    working = await _open(tclient, sessions, task_queue)
    await _to_in_progress(working, sessions)
    swa = await raise_stop_work(tclient, sessions, task_queue)
    # Sent at once: it runs after the raise has told every work order.
    cleared = await swa.execute_update(
        StopWorkWorkflow.clear, ClearRequest(actor(sessions, "ehs"), "false alarm")
    )
    assert cleared.asset_status == asset_status(sessions) == "MAINTENANCE"
    assert cleared.released_work_orders == [working.id]
    assert not await held(working)
    assert (await working.query(WO.get_state)).status == "ON_HOLD"


async def test_two_stop_works_on_one_asset_end_consistent(tclient: Client, sessions, task_queue):
    working = await _open(tclient, sessions, task_queue)
    await _to_in_progress(working, sessions)
    first = await raise_stop_work(tclient, sessions, task_queue)
    await first.execute_update(StopWorkWorkflow.raised)
    ehs = actor(sessions, "ehs")

    # The first cleared while a second is raised on the same asset: whichever decides
    # first, the second keeps the asset and its work held.
    second = await raise_stop_work(tclient, sessions, task_queue, who="tech")
    cleared, raised = await asyncio.gather(
        first.execute_update(StopWorkWorkflow.clear, ClearRequest(ehs, "first one fixed")),
        second.execute_update(StopWorkWorkflow.raised),
    )
    assert asset_status(sessions) == "SAFETY_HOLD" and await held(working)
    assert raised.asset_status == "SAFETY_HOLD"
    if cleared.still_open_stop_work:
        assert cleared.asset_status == "SAFETY_HOLD" and cleared.released_work_orders == []

    done = await second.execute_update(
        StopWorkWorkflow.clear, ClearRequest(ehs, "second one fixed")
    )
    assert done.still_open_stop_work == [] and done.asset_status == "MAINTENANCE"
    assert asset_status(sessions) == "MAINTENANCE" and not await held(working)


def test_stop_work_history_is_recorded():
    # Before the step writer, and with it.
    assert (HISTORIES / "stop_work.json").exists()
    assert (HISTORIES / "stop_work_steps.json").exists()


async def test_a_stop_work_opened_while_another_releases_keeps_the_asset_held(
    tclient: Client, sessions, task_queue
):
    """The release decides in a short transaction and asks the asset after it: a second
    stop-work committed in between (its own hold may land first) is seen on the read after
    the release landed, and the asset is held again."""
    first = await raise_stop_work(tclient, sessions, task_queue)
    await first.execute_update(StopWorkWorkflow.raised)
    with sessions() as s:
        asset_id = s.scalars(select(Asset.id).where(Asset.asset_number == ASSET)).one()
    acts = StopWorkActivities(sessions, tclient, task_queue)
    change, opened = acts.gateway.change_asset_status, []

    async def then_another_opens(request):
        status = await change(request)
        if not opened:
            with transaction(sessions) as s:
                swa_id = stop_work_service.reserve_id(s)
                stop_work_service.open_stop_work(session=s, actor=actor(sessions, "tech"),
                                                 swa_id=swa_id, asset_id=asset_id,
                                                 reason="second guard missing")  # fmt: skip
            opened.append(swa_id)
        return status

    acts.gateway.change_asset_status = then_another_opens
    swa_id = int(first.id.removeprefix("SWA-"))
    released = await acts.release_asset(
        ReleaseRequest(swa_id, asset_id, actor(sessions, "ehs"), "first one fixed")
    )
    assert released == StopWorkReleased("SAFETY_HOLD", opened)
    assert asset_status(sessions) == "SAFETY_HOLD"


async def test_a_stop_work_raised_before_its_steps_were_written_keeps_its_raise(
    tclient: Client, sessions, task_queue
):
    """A row raised and audited by the writer from before, its lifecycle started later (as
    the API does for one without): its raise counts as done, with the work it held."""
    working = await _open(tclient, sessions, task_queue)
    await _to_in_progress(working, sessions)
    by = actor(sessions, "operator")
    with transaction(sessions) as s:
        asset_id = s.scalars(select(Asset.id).where(Asset.asset_number == ASSET)).one()
        swa_id = stop_work_service.reserve_id(s)
        stop_work_service.open_stop_work(session=s, actor=by, swa_id=swa_id, asset_id=asset_id,
                                         reason="guard missing")  # fmt: skip
    data = StopWorkInput(swa_id, by.organization_id, asset_id, ASSET, "guard missing", by)
    swa = await tclient.start_workflow(
        StopWorkWorkflow.run, data, id=f"SWA-{swa_id}", task_queue=task_queue
    )
    raised = await swa.execute_update(StopWorkWorkflow.raised)
    assert raised.held_work_orders == [working.id]
    with sessions() as s:
        row = s.get(StopWork, swa_id)
        actions = s.scalars(select(AuditLog.action).where(AuditLog.entity_id == swa.id)).all()
    assert row.held_work_orders == [working.id] and row.status == "WORK_ORDER_TOLD"
    assert actions.count("STOP_WORK_RAISED") == 1 and "ASSET_HELD" in actions
