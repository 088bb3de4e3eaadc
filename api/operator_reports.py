"""Breakdowns and stop-work (seed 003 E.1, E.4, F.3): the API validates, starts or updates
the lifecycle that does the steps (BreakdownWorkflow, StopWorkWorkflow), and answers."""

import asyncio
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.service import RPCError, RPCStatusCode

from api import gateway
from api.errors import ApiError
from api.gateway import Lifecycle
from domain.actor import Actor, system_actor
from domain.errors import RuleViolation
from domain.models import Asset, StopWork
from domain.rules.asset_status import AssetStatus, unreachable
from domain.rules.uploads import upload_refusal
from domain.schemas.work_orders import OperatorReportIn
from domain.services import assets as asset_service
from domain.services import breakdowns as breakdown_service
from domain.services import stop_work as stop_work_service
from workflows.breakdown import BreakdownWorkflow
from workflows.breakdown_types import BreakdownInput
from workflows.stop_work import StopWorkWorkflow
from workflows.stop_work_types import ClearRequest, StopWorkInput

OPERATOR_REPORT = Lifecycle("operator report", failed="the operator report failed")
STOP_WORK = Lifecycle("stop-work", field="swa_id")


async def submit_report(
    app_state, actor: Actor, data: OperatorReportIn, photos: list[tuple[str, str, bytes]]
) -> dict[str, Any]:
    """Validate, store the photos, start the report's lifecycle and answer with its outcome."""
    client, settings = app_state.temporal, app_state.settings
    for _name, content_type, content in photos:
        why = upload_refusal(len(content), content_type, "PHOTO_BEFORE", "image")
        if why:
            raise RuleViolation(why, field="photos")

    def prepare() -> BreakdownInput:
        with app_state.sessions() as session, session.begin():
            asset = asset_service.asset_for_write(session=session, actor=actor, ref=data.asset)
            if data.report_type.value == "BREAKDOWN" or data.stopped_equipment:
                # Refused before anything is written: a breakdown takes its asset down.
                why = unreachable(
                    AssetStatus(asset.status.value),
                    AssetStatus.OUT_OF_SERVICE,
                    AssetStatus.SAFETY_HOLD,
                )
                if why:
                    raise ApiError(422, "RuleViolation", f"asset: {why}", "asset")
            report_id = breakdown_service.reserve_report_id(session)
            keys = [
                breakdown_service.store_file(
                    session=session,
                    organization_id=actor.organization_id,
                    filename=name,
                    content_type=content_type,
                    content=content,
                )
                for name, content_type, content in photos
            ]
            return BreakdownInput(
                report_id=report_id,
                organization_id=actor.organization_id,
                asset_id=asset.id,
                asset_number=asset.asset_number,
                report_type=data.report_type.value,
                severity=data.severity.value,
                symptom=data.symptom.value,
                description=data.description,
                stopped_equipment=data.stopped_equipment,
                safety_hazard=data.safety_hazard,
                impacted_job=data.impacted_job,
                reported_at=data.reported_at or datetime.now(UTC),
                actor=actor,
                photo_keys=keys,
                site_code=asset.site.code,
            )

    start = await asyncio.to_thread(prepare)  # off the event loop
    try:
        handle = await gateway.start(
            client,
            BreakdownWorkflow.run,
            start,
            workflow_id=breakdown_service.reference(start.report_id),
            task_queue=settings.task_queue,
        )
        outcome = await handle.result()
    except (WorkflowFailureError, RPCError) as err:
        raise gateway.api_error(err, OPERATOR_REPORT, "the operator report") from None
    return {
        "report_id": outcome.report_id,
        "work_order": outcome.work_order,
        "work_order_type": outcome.work_order_type,
        "asset": outcome.asset,
        "downtime_id": outcome.downtime_id,
        "impacted_jobs": outcome.impacted_jobs,
        "asset_status": outcome.asset_status,
        "status": outcome.status,
    }


async def raise_stop_work(app_state, actor: Actor, asset_ref: str, reason: str) -> dict[str, Any]:
    """Start the stop-work's lifecycle; answer once the asset is held and its work told."""
    client, settings = app_state.temporal, app_state.settings

    def prepare() -> StopWorkInput:
        with app_state.sessions() as session, session.begin():
            asset = asset_service.asset_for_write(session=session, actor=actor, ref=asset_ref)
            # Refused before its row is written: a stop-work holds its asset in SAFETY_HOLD.
            why = unreachable(AssetStatus(asset.status.value), AssetStatus.SAFETY_HOLD)
            if why:
                raise ApiError(422, "RuleViolation", f"asset: {why}", "asset")
            swa_id = stop_work_service.reserve_id(session)
            return StopWorkInput(swa_id, actor.organization_id, asset.id, asset.asset_number,
                                  reason, actor, asset.site.code)  # fmt: skip

    start = await asyncio.to_thread(prepare)  # off the event loop
    ref = stop_work_service.reference(start.swa_id)
    try:
        handle = await gateway.start(
            client, StopWorkWorkflow.run, start, workflow_id=ref, task_queue=settings.task_queue
        )
    except RPCError as err:
        raise gateway.api_error(err, STOP_WORK, ref) from None
    return asdict(await gateway.update(handle, STOP_WORK, ref, StopWorkWorkflow.raised, None))


async def _stop_work_handle(
    client: Client, task_queue: str, start: StopWorkInput
) -> WorkflowHandle:
    """The stop-work's lifecycle; one raised before stop-work had its own is started from
    its stored row (its steps find their work done and only tell what is left)."""
    workflow_id = stop_work_service.reference(start.swa_id)
    handle = client.get_workflow_handle(workflow_id)
    try:
        await handle.describe()
        return handle
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
    return await gateway.start(
        client, StopWorkWorkflow.run, start, workflow_id=workflow_id, task_queue=task_queue
    )


async def clear_stop_work(app_state, actor: Actor, swa_id: int, reason: str) -> dict[str, Any]:
    """EHS clears: the stop-work's `clear` update, answered once the asset is released."""
    client, settings = app_state.temporal, app_state.settings

    def stored() -> StopWorkInput:
        """The stop-work as stored (to start its lifecycle if it has none), read and ended
        before Temporal is asked anything."""
        with app_state.sessions() as session:
            swa = session.get(StopWork, swa_id)
            if swa is None or swa.organization_id != actor.organization_id:
                raise ApiError(404, "NotFound", f"stop-work {swa_id} not found", "swa_id")
            if swa.cleared_at:
                raise ApiError(
                    409, "Conflict", f"stop-work {swa_id} was cleared by {swa.cleared_by}"
                )
            asset = session.get(Asset, swa.asset_id)
            by = system_actor(swa.organization_id, "stop-work")
            return StopWorkInput(swa.id, swa.organization_id, asset.id, asset.asset_number,
                                 swa.reason, by, asset.site.code)  # fmt: skip

    start = await asyncio.to_thread(stored)  # off the event loop
    try:
        handle = await _stop_work_handle(client, settings.task_queue, start)
    except RPCError as err:
        raise gateway.api_error(err, STOP_WORK, str(swa_id)) from None
    request = ClearRequest(actor, reason or "")
    cleared = await gateway.update(handle, STOP_WORK, str(swa_id), StopWorkWorkflow.clear, request)
    return asdict(cleared)
