"""The steps only PM schedules take: their schedule read, their work order opened (row in
APPROVED, then its own lifecycle started) or cancelled through that lifecycle, its outcome
read, the asset blocked through its own workflow. Each is keyed so a retry adds nothing."""

import asyncio
from dataclasses import replace

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError

from activities.asset_gateway import AssetChange, AssetGateway
from activities.notifier import Subject
from activities.steps import StepTarget
from activities.work_orders import snapshot
from domain.actor import system_actor
from domain.db import transaction
from domain.models import Asset, PmSchedule, Site
from domain.rules import pm as rules
from domain.rules.asset_status import AssetStatus, origins
from domain.services import pm_schedules as service
from domain.services import work_orders as work_order_service
from workflows.kit import passed_on
from workflows.pm_schedule_types import (
    BlockRequest,
    CancelPmRequest,
    OpenedPm,
    OpenPmRequest,
    ScheduleFacts,
    WorkOrderOutcome,
    WorkOrderQuery,
)
from workflows.work_order import WorkOrderWorkflow
from workflows.work_order_types import MoveRequest, WorkOrderInput, WorkOrderSnapshot

PM_STEPS = StepTarget(
    entity=service.ENTITY,
    load=service.load_locked,
    writable=service.WRITABLE,
    datetimes=service.DATETIMES,
    alongside=service.alongside,
)
PM_SUBJECT = Subject(
    entity=service.ENTITY, load=service.notice, audience=service.audience, render=service.render
)
# Statuses an overdue PM may block the asset from: not over a stop-work or one already down.
BLOCKABLE = [
    s.value
    for s in origins(AssetStatus.OUT_OF_SERVICE)
    if s.value not in ("OUT_OF_SERVICE", "SAFETY_HOLD", "DECOMMISSIONED")
]


def facts(session: Session, row: PmSchedule) -> ScheduleFacts:
    asset = session.get(Asset, row.asset_id)
    site = session.get(Site, asset.site_id)
    return ScheduleFacts(
        schedule_id=row.id,
        code=row.code or row.template_code,
        name=row.name,
        asset_id=asset.id,
        asset_number=asset.asset_number,
        site_code=site.code,
        schedule_type=row.schedule_type,
        interval_days=row.interval_days,
        interval_hours=rules.meter_interval(row.interval_hours, row.interval_cycles),
        interval_cycles=row.interval_cycles,
        anchor=row.anchor,
        meter_type=row.meter_type,
        last_executed_at=row.last_executed_at,
        last_executed_wo=row.last_executed_wo,
        last_meter_reading=row.last_meter_reading,
        next_due_date=row.next_due_date,
        next_due_meter=row.next_due_meter,
        meter_due_at=row.meter_due_at,
        alert_days_before=row.alert_days_before,
        alert_hours_before=row.alert_hours_before,
        overdue_threshold_days=row.overdue_threshold_days,
        overdue_action=row.overdue_action,
        is_active=row.is_active,
        is_paused=row.is_paused,
        paused_reason=row.paused_reason,
        open_work_order=row.open_work_order,
        overdue_told=dict(row.overdue_told or {}),
        blocked_at=row.blocked_at,
        cycles=row.cycles,
        last_step=row.last_step,
        current_reading=service.current_reading(session, row),
    )


class PmActivities:
    def __init__(
        self, sessions: sessionmaker[Session], client: Client | None, task_queue: str
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.task_queue = task_queue
        self.gateway = AssetGateway(sessions, client, task_queue)

    @activity.defn
    def load_schedule(self, schedule_id: int) -> ScheduleFacts:
        with self.sessions() as session:
            row = session.get(PmSchedule, schedule_id)
            if row is None:
                raise ApplicationError(
                    f"PM schedule {schedule_id} not found", type="NotFound", non_retryable=True
                )
            return facts(session, row)

    @activity.defn
    def work_order_outcome(self, data: WorkOrderQuery) -> WorkOrderOutcome:
        with self.sessions() as session:
            found = service.outcome(
                session=session, schedule_id=data.schedule_id, number=data.number
            )
            return WorkOrderOutcome(found.status, found.completed_at, found.reading)

    def _open_row(self, data: OpenPmRequest) -> tuple[OpenedPm, WorkOrderInput]:
        """One transaction: the row, what its lifecycle starts from (read before the number
        is taken: the counter stays locked only for the number and the commit)."""
        read: list[WorkOrderSnapshot] = []
        with transaction(self.sessions) as session:
            opened = service.open_work_order(
                session=session,
                schedule_id=data.schedule_id,
                trigger=data.trigger,
                seen=lambda wo: read.append(snapshot(session, wo)),
            )
            if not read:  # the one already open, found again on a retry
                wo = work_order_service.get(session, data.organization_id, opened.number)
                read.append(snapshot(session, wo))
        snap = replace(read[0], number=opened.number)
        start = WorkOrderInput(opened.number, data.organization_id, snap, data.indexed)
        return OpenedPm(opened.number, opened.created), start

    @activity.defn
    async def open_pm_work_order(self, data: OpenPmRequest) -> OpenedPm:
        """The row (in its own transaction, found again on a retry), then its lifecycle,
        started once: the work order's own workflow owns it from APPROVED on."""
        if self.client is None:
            raise ApplicationError("no Temporal client to start work orders", non_retryable=True)
        opened, start = await asyncio.to_thread(self._open_row, data)
        await self.client.start_workflow(
            WorkOrderWorkflow.run,
            start,
            id=opened.number,
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        return opened

    @activity.defn
    async def cancel_pm_work_order(self, data: CancelPmRequest) -> str:
        """A skipped PM's work order cancelled through its lifecycle (already final: as is)."""
        if self.client is None:
            raise ApplicationError("no Temporal client", non_retryable=True)
        handle = self.client.get_workflow_handle(data.number)
        state = await handle.query(WorkOrderWorkflow.get_state)
        if state.status in service.FINAL:
            return state.status
        try:
            state = await handle.execute_update(
                WorkOrderWorkflow.cancel, MoveRequest(data.actor, data.reason)
            )
        except WorkflowUpdateFailedError as err:
            refusal = passed_on(err)
            if refusal is err:
                raise
            raise refusal from err
        return state.status

    @activity.defn
    async def block_asset(self, data: BlockRequest) -> str:
        """OUT_OF_SERVICE through the asset's workflow, from a status it may leave for it."""
        return await self.gateway.change_asset_status(
            AssetChange(
                data.asset_id,
                "OUT_OF_SERVICE",
                rules.BLOCK_REASON,
                system_actor(data.organization_id, "PM schedule"),
                only_from=BLOCKABLE,
            )
        )
