"""The steps of a stop-work (seed 003 F.3). Each decision about the asset's hold is taken
under the asset's stop-work lock and from what is stored at that moment, so steps of two
stop-works on one asset interleave without undoing each other, and a step run again after
its commit changes nothing."""

import asyncio
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from activities.asset_gateway import AssetChange, AssetGateway
from domain.actor import system_actor
from domain.db import transaction
from domain.errors import DomainError
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
        try:
            with transaction(self.sessions) as session:
                swa = service.open_stop_work(
                    session=session,
                    actor=data.actor,
                    swa_id=data.swa_id,
                    asset_id=data.asset_id,
                    reason=data.reason,
                )
                return list(swa.held_work_orders)
        except DomainError as err:
            raise ApplicationError(err.message, type=err.kind, non_retryable=True) from err

    @activity.defn
    async def hold_asset(self, data: HoldRequest) -> str:
        """SAFETY_HOLD through the asset's workflow (no move when held already). Refused
        by the asset, the stop-work's row is voided before the refusal is passed on."""
        platform = system_actor(data.actor.organization_id, "stop-work")
        try:
            with transaction(self.sessions) as session:
                # Waited for off the event loop: the holder needs it to finish its own calls.
                await asyncio.to_thread(service.lock_asset, session, data.asset_id)
                return await self.gateway.change_asset_status(
                    AssetChange(
                        data.asset_id,
                        "SAFETY_HOLD",
                        f"stop-work by {data.actor.full_name}: {data.reason}",
                        platform,
                    )
                )
        except ApplicationError as err:
            if err.non_retryable:
                with transaction(self.sessions) as session:
                    service.void_refused(
                        session=session, actor=platform, swa_id=data.swa_id,
                        why=err.message, now=datetime.now(UTC),
                    )  # fmt: skip
            raise

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
        with transaction(self.sessions) as session:
            # Waited for off the event loop: the holder needs it to finish its own calls.
            await asyncio.to_thread(service.lock_asset, session, data.asset_id)
            held = dispatch_service.stop_work_open(session, data.asset_id)
            if data.cleared and held:
                return True  # another stop-work holds the asset: the work stays held
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
            return True

    @activity.defn
    async def release_asset(self, data: ReleaseRequest) -> StopWorkReleased:
        """The stop-work cleared; the asset back to MAINTENANCE unless another stop-work
        still holds it."""
        try:
            with transaction(self.sessions) as session:
                # Waited for off the event loop: the holder needs it to finish its own calls.
                await asyncio.to_thread(service.lock_asset, session, data.asset_id)
                service.mark_cleared(
                    session=session,
                    actor=data.actor,
                    swa_id=data.swa_id,
                    reason=data.reason,
                    now=datetime.now(UTC),
                )
                others = service.open_others(session, data.asset_id, data.swa_id)
                if others:
                    return StopWorkReleased("SAFETY_HOLD", others)
                status = await self.gateway.change_asset_status(
                    AssetChange(
                        data.asset_id,
                        "MAINTENANCE",
                        data.reason or "stop-work cleared",
                        data.actor,
                        only_from=["SAFETY_HOLD"],
                    )
                )
                return StopWorkReleased(status, [])
        except DomainError as err:
            raise ApplicationError(err.message, type=err.kind, non_retryable=True) from err
