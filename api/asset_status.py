"""Sending a status change to the asset's workflow, shared by the API and the web pages."""

from sqlalchemy.orm import Session
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError

from api.errors import ApiError, refusal
from domain.actor import Actor
from domain.models import Site
from domain.schemas.assets import StatusChange
from domain.services import assets as asset_service
from workflows.asset import (
    AssetWorkflow,
    AssetWorkflowInput,
    ChangeStatusInput,
    StatusEntry,
    asset_workflow_id,
    search_attributes,
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
    org_code = asset_service.organization_code(
        session=session, organization_id=asset.organization_id
    )
    site = session.get(Site, asset.site_id)
    data = AssetWorkflowInput(
        asset.organization_id,
        asset.id,
        asset.asset_number,
        site.code,
        asset.criticality.value,
        asset.status.value,
    )
    session.rollback()  # hold no snapshot or lock while the workflow writes the row
    # The asset's workflow is started on its first status change, from the stored status.
    handle = await client.start_workflow(
        AssetWorkflow.run,
        data,
        id=asset_workflow_id(org_code, asset.asset_number),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=search_attributes(data, data.status),
    )
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
