"""The steps of a breakdown report: each opens a session, runs one service keyed by the
report, and commits; run again after its commit it finds its own work and adds nothing."""

import asyncio

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError

from activities.asset_gateway import AssetChange, AssetGateway
from activities.notifier import Subject
from activities.steps import StepTarget, refusing
from activities.work_orders import snapshot
from domain.actor import system_actor
from domain.db import transaction
from domain.models import Asset
from domain.rules.asset_status import AssetStatus, origins
from domain.services import breakdowns as service
from domain.services import work_orders as work_order_service
from workflows.breakdown_types import (
    AssetDownRequest,
    BreakdownInput,
    OpenedWorkOrder,
    ReportStepRequest,
    StartWorkOrderRequest,
)
from workflows.kit import passed_on
from workflows.work_order import WorkOrderWorkflow
from workflows.work_order_types import MoveRequest, WorkOrderInput

# The report's notices go through the one notifier: who hears of it, and what it says.
REPORT_SUBJECT = Subject(
    entity="OPERATOR_REPORT",
    load=service.report_notice,
    audience=service.report_audience,
    render=service.render_report_notice,
)

# The report's steps, written by the kit's one step writer: the last step done.
OPERATOR_REPORT_STEPS = StepTarget(
    entity=service.ENTITY, load=service.load_locked, writable=service.WRITABLE
)


class BreakdownActivities:
    def __init__(
        self, sessions: sessionmaker[Session], client: Client | None, task_queue: str
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.task_queue = task_queue
        self.gateway = AssetGateway(sessions, client, task_queue)

    @activity.defn
    def record_report(self, data: BreakdownInput) -> str:
        """The report's row with its audit row (runs recorded before the step writer)."""
        return self._report(data, audited=True)

    @activity.defn
    def create_report(self, data: BreakdownInput) -> str:
        """The report's row; its REPORTED step, through the step writer, audits it."""
        return self._report(data, audited=False)

    def _report(self, data: BreakdownInput, audited: bool) -> str:
        with refusing(self.sessions) as session:
            service.record_report(
                session=session,
                actor=data.actor,
                report_id=data.report_id,
                asset_id=data.asset_id,
                report_type=data.report_type,
                severity=data.severity,
                symptom=data.symptom,
                description=data.description,
                stopped_equipment=data.stopped_equipment,
                safety_hazard=data.safety_hazard,
                impacted_job=data.impacted_job,
                reported_at=data.reported_at,
                audited=audited,
            )
        return service.reference(data.report_id)

    @activity.defn
    def open_report_work_order(self, data: ReportStepRequest) -> OpenedWorkOrder:
        with refusing(self.sessions) as session:
            wo = service.open_work_order(
                session=session,
                actor=data.actor,
                report_id=data.report_id,
                photo_keys=data.photo_keys,
            )
            return OpenedWorkOrder(wo.number, wo.type)

    @activity.defn
    def open_report_downtime(self, data: ReportStepRequest) -> int | None:
        with transaction(self.sessions) as session:
            return service.open_downtime(
                session=session, actor=data.actor, report_id=data.report_id
            )

    @activity.defn
    async def start_report_work_order(self, data: StartWorkOrderRequest) -> str:
        """The work order's lifecycle, started once and submitted once; its status."""
        if self.client is None:
            raise ApplicationError("no Temporal client to start work orders", non_retryable=True)

        def read() -> WorkOrderInput:
            with self.sessions() as session:
                wo = work_order_service.get(session, data.actor.organization_id, data.number)
                return WorkOrderInput(
                    wo.number, wo.organization_id, snapshot(session, wo), data.indexed
                )

        start = await asyncio.to_thread(read)  # off the worker's event loop
        handle = await self.client.start_workflow(
            WorkOrderWorkflow.run,
            start,
            id=data.number,
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        state = await handle.query(WorkOrderWorkflow.get_state)
        if state.status != "DRAFT":
            return state.status  # submitted by an earlier run of this step
        platform = system_actor(data.actor.organization_id, "operator report")
        try:
            state = await handle.execute_update(
                WorkOrderWorkflow.submit,
                MoveRequest(platform, f"reported by {data.actor.full_name}"),
            )
        except WorkflowUpdateFailedError as err:
            refusal = passed_on(err)  # the work order's own refusal, typed the same
            if refusal is err:
                raise
            raise refusal from err
        return state.status

    @activity.defn
    async def take_asset_down(self, data: AssetDownRequest) -> str:
        """Out of service through the asset's workflow, unless already down or held by a
        stop-work (stricter): the report stands either way. The asset's status after."""

        def read() -> str:
            with self.sessions() as session:
                return session.get(Asset, data.asset_id).status.value

        current = await asyncio.to_thread(read)  # off the worker's event loop
        if current in service.STOPPED_ALREADY:
            return current
        # Only legal origins: from any other status nothing moves and the report stays whole.
        legal = origins(AssetStatus.OUT_OF_SERVICE)
        movable = [s.value for s in legal if s.value not in service.STOPPED_ALREADY]
        return await self.gateway.change_asset_status(
            AssetChange(
                data.asset_id,
                "OUT_OF_SERVICE",
                f"breakdown reported by {data.actor.full_name} ({data.work_order})",
                system_actor(data.actor.organization_id, "operator report"),
                only_from=movable,
            )
        )
