"""Asset status changes asked for by other lifecycles, sent to the asset's own workflow
so it stays the one owner of the status (seed 003 B.4)."""

import asyncio
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain.actor import Actor
from domain.models import Asset, Organization, Site
from domain.services import assets as asset_service
from workflows.asset import (
    AssetInput,
    AssetWorkflow,
    ChangeStatusRequest,
    asset_workflow_id,
    search_attributes,
)


def asset_workflow_start(session: Session, asset: Asset) -> tuple[str, AssetInput]:
    """The asset workflow's id and its input, from the asset as stored."""
    org_code = asset_service.organization_code(
        session=session, organization_id=asset.organization_id
    )
    site = session.get(Site, asset.site_id)
    data = AssetInput(
        asset.organization_id,
        asset.id,
        asset.asset_number,
        site.code,
        asset.criticality.value,
        asset.status.value,
    )
    return asset_workflow_id(org_code, asset.asset_number), data


async def ensure_asset_workflow(
    client: Client, task_queue: str, workflow_id: str, data: AssetInput
) -> WorkflowHandle:
    """The asset's workflow, started on first need from the stored status."""
    return await client.start_workflow(
        AssetWorkflow.run,
        data,
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=search_attributes(data, data.status),
    )


@dataclass
class AssetChange:
    asset_id: int
    status: str
    reason: str
    actor: Actor
    via_pm_work_order: bool = False
    only_from: list[str] | None = None  # skip quietly unless the asset is in one of these
    # Passed on the way from one of `through_from`, by the platform (ChangeStatusRequest).
    through: str | None = None
    through_from: list[str] | None = None
    through_reason: str = ""


class AssetGateway:
    def __init__(
        self, sessions: sessionmaker[Session], client: Client | None, task_queue: str
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.task_queue = task_queue

    def _start(self, asset_id: int) -> tuple[str, AssetInput]:
        with self.sessions() as session:
            return asset_workflow_start(session, session.get(Asset, asset_id))

    def _workflow_id(self, asset_id: int) -> str:
        """One read for the id; the start data is read only when the workflow is new."""
        with self.sessions() as session:
            org_code, number = session.execute(
                select(Organization.code, Asset.asset_number)
                .join(Organization, Organization.id == Asset.organization_id)
                .where(Asset.id == asset_id)
            ).one()
        return asset_workflow_id(org_code, number)

    @activity.defn
    async def change_asset_status(self, change: AssetChange) -> str:
        """The asset's status after the change (unchanged when only_from excluded it)."""
        if self.client is None:
            raise ApplicationError("no Temporal client for asset changes", non_retryable=True)
        request = ChangeStatusRequest(
            change.status,
            change.reason,
            change.actor,
            change.via_pm_work_order,
            change.only_from,
            if_needed=True,  # a retry after the change went through changes nothing
            through=change.through,
            through_from=change.through_from,
            through_reason=change.through_reason,
        )
        # Read off the event loop: the worker's other activities and workflows run on it.
        workflow_id = await asyncio.to_thread(self._workflow_id, change.asset_id)
        handle = self.client.get_workflow_handle(workflow_id)
        try:
            try:
                entry = await handle.execute_update(AssetWorkflow.change_status, request)
            except RPCError as err:
                if err.status != RPCStatusCode.NOT_FOUND:
                    raise
                # The asset's workflow starts on first need, from the stored status.
                start = await asyncio.to_thread(self._start, change.asset_id)
                handle = await ensure_asset_workflow(self.client, self.task_queue, *start)
                entry = await handle.execute_update(AssetWorkflow.change_status, request)
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError):
                raise ApplicationError(cause.message, type=cause.type, non_retryable=True) from err
            raise
        return entry.status
