"""Sending a status change to the asset's workflow, shared by the API and the web pages."""

from sqlalchemy.orm import Session
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from activities.asset_gateway import asset_workflow_start, ensure_asset_workflow
from api.errors import ApiError, refusal
from domain.actor import Actor
from domain.schemas.assets import StatusChange
from domain.services import assets as asset_service
from workflows.asset import (
    AssetWorkflow,
    ChangeStatusInput,
    StatusEntry,
)


async def change_status(
    *,
    client: Client,
    task_queue: str,
    session: Session,
    actor: Actor,
    ref: str,
    change: StatusChange,
) -> StatusEntry:
    asset = asset_service.get_asset(session=session, actor=actor, ref=ref)
    start = asset_workflow_start(session, asset)
    session.rollback()  # hold no snapshot or lock while the workflow writes the row
    handle = await ensure_asset_workflow(client, task_queue, *start)
    try:
        return await handle.execute_update(
            AssetWorkflow.change_status,
            ChangeStatusInput(change.status.value, change.reason, actor),
        )
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type:
            raise refusal(cause.type, cause.message, "status") from None
        raise ApiError(500, "WorkflowError", f"status change failed: {cause}") from None
