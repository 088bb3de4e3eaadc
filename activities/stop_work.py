"""The steps of a stop-work (seed 003 F.3). Whether the asset and its work stay held is
read from what is stored, in a transaction that ends before any other lifecycle is asked
to change; read again after the change landed, so steps of two stop-works on one asset
interleave without undoing each other, and a step run again after its commit changes
nothing. No transaction or lock is held across a Temporal call."""

import asyncio
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from activities.asset_gateway import AssetChange, AssetGateway
from activities.steps import StepTarget, refusing
from domain.actor import Actor, system_actor
from domain.db import transaction
from domain.rules import work_orders as wo_rules
from domain.services import dispatch as dispatch_service
from domain.services import stop_work as service
from workflows.stop_work_types import (
    HoldRequest,
    ReleaseRequest,
    StopWorkInput,
    StopWorkReleased,
    TellRequest,
)
from workflows.work_order import WorkOrderWorkflow
from workflows.work_order_types import StopWorkRequest

FINAL = {s.value for s in wo_rules.FINAL}
# Rounds of read-then-ask before a step gives up and is retried (each round lands a
# change another stop-work made meanwhile; two are the usual most).
SETTLE_AT_MOST = 10
# The stop-work's decisions (raised with the work it holds, each work order told or not,
# cleared, released), written by the kit's one step writer.
STOP_WORK_STEPS = StepTarget(
    entity=service.ENTITY,
    load=service.load_locked,
    writable=service.WRITABLE,
    datetimes=service.DATETIMES,
)


class StopWorkActivities:
    def __init__(
        self, sessions: sessionmaker[Session], client: Client | None, task_queue: str
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.gateway = AssetGateway(sessions, client, task_queue)

    @activity.defn
    def open_stop_work(self, data: StopWorkInput) -> list[str]:
        """The stop-work's row; the work orders active on the asset when it was raised."""
        with refusing(self.sessions) as session:
            swa = service.open_stop_work(
                session=session,
                actor=data.actor,
                swa_id=data.swa_id,
                asset_id=data.asset_id,
                reason=data.reason,
            )
            return list(swa.held_work_orders)

    @activity.defn
    def create_stop_work(self, data: StopWorkInput) -> list[str]:
        """The stop-work's row (its STOP_WORK_RAISED step audits it); the work orders
        active on the asset, which that step names as held."""
        with refusing(self.sessions) as session:
            return service.create(
                session=session,
                actor=data.actor,
                swa_id=data.swa_id,
                asset_id=data.asset_id,
                reason=data.reason,
            )

    @activity.defn
    async def hold_asset(self, data: HoldRequest) -> str:
        """SAFETY_HOLD through the asset's workflow (no move when held already). Refused
        by the asset, the stop-work's row is voided before the refusal is passed on."""
        platform = system_actor(data.actor.organization_id, "stop-work")
        try:
            status, _ = await self._settle_asset(
                data.asset_id, f"stop-work by {data.actor.full_name}: {data.reason}", platform
            )
        except ApplicationError as err:
            if err.non_retryable:
                await asyncio.to_thread(self._void, platform, data.swa_id, err.message)
            raise
        return status

    @activity.defn
    def open_work_orders(self, asset_id: int) -> list[str]:
        """Every work order on the asset that is not final."""
        with self.sessions() as session:
            return dispatch_service.open_on_asset(session, asset_id)

    @activity.defn
    async def tell_work_order(self, data: TellRequest) -> bool:
        """The work order held while any stop-work is open on its asset, released when none
        is. False when its lifecycle cannot be reached now (the caller tries again later).
        A work order that already stands as it should is not told a second time."""
        if self.client is None:
            raise ApplicationError("no Temporal client to tell work orders", non_retryable=True)
        handle = self.client.get_workflow_handle(data.number)
        told: bool | None = None
        for _ in range(SETTLE_AT_MOST):
            # Read in its own short transaction; the work order is told after it ends.
            held = await asyncio.to_thread(self._stop_work_open, data.asset_id)
            if told is not None and told == held:
                return True  # what was told still stands after it landed
            try:
                if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
                    return False  # its lifecycle is not running now: tried again later
                state = await handle.query(WorkOrderWorkflow.get_state)
            except RPCError:
                return False
            if state.status in FINAL or state.safety_hold == held:
                return True
            try:
                await handle.execute_update(
                    WorkOrderWorkflow.stop_work,
                    StopWorkRequest(data.actor, data.reason, cleared=not held, swa_id=data.swa_id),
                )
            except (WorkflowUpdateFailedError, RPCError) as err:
                activity.logger.warning("%s not told of the stop-work: %s", data.number, err)
                return False
            told = held
        raise ApplicationError(f"{data.number}: stop-works on its asset keep changing")

    @activity.defn
    async def release_asset(self, data: ReleaseRequest) -> StopWorkReleased:
        """The stop-work cleared; the asset back to MAINTENANCE unless another stop-work
        still holds it."""
        await asyncio.to_thread(self._mark_cleared, data)  # off the worker's event loop
        status, still_open = await self._settle_asset(
            data.asset_id, data.reason or "stop-work cleared", data.actor
        )
        return StopWorkReleased(status, [i for i in still_open if i != data.swa_id])

    # -- the asset's hold, settled without a lock held across a call --

    def _void(self, platform: Actor, swa_id: int, why: str) -> None:
        with transaction(self.sessions) as session:
            service.void_refused(
                session=session, actor=platform, swa_id=swa_id, why=why, now=datetime.now(UTC)
            )

    def _mark_cleared(self, data: ReleaseRequest) -> None:
        with refusing(self.sessions) as session:
            service.mark_cleared(
                session=session,
                actor=data.actor,
                swa_id=data.swa_id,
                reason=data.reason,
                now=datetime.now(UTC),
            )

    def _open_on(self, asset_id: int) -> list[int]:
        with self.sessions() as session:
            return service.open_on(session, asset_id)

    def _stop_work_open(self, asset_id: int) -> bool:
        with self.sessions() as session:
            return dispatch_service.stop_work_open(session, asset_id)

    async def _settle_asset(
        self, asset_id: int, reason: str, actor: Actor
    ) -> tuple[str, list[int]]:
        """The asset held while a stop-work is open on it, released when none is. Whether
        one is open is read in a short transaction and the asset's workflow (which orders
        every status change of the asset) is asked after it ends; read again once the
        change landed, the asset is asked again if a stop-work opened or cleared meanwhile.
        Every step that changes what is open settles after its commit, so the last change
        to land is always checked against what is stored: two stop-works end consistent."""
        acted_on: bool | None = None
        status = ""
        for _ in range(SETTLE_AT_MOST):
            still_open = await asyncio.to_thread(self._open_on, asset_id)  # off the loop
            held = bool(still_open)
            if acted_on is not None and acted_on == held:
                return status, still_open
            if held:
                change = AssetChange(asset_id, "SAFETY_HOLD", reason, actor)
            else:
                change = AssetChange(
                    asset_id, "MAINTENANCE", reason, actor, only_from=["SAFETY_HOLD"]
                )
            status = await self.gateway.change_asset_status(change)
            acted_on = held
        raise ApplicationError("stop-works on the asset keep changing")
