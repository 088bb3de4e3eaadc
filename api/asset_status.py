"""Sending a status change to the asset's workflow, shared by the API and the web pages."""

import asyncio
from datetime import UTC, datetime

from sqlalchemy.orm import Session
from temporalio.client import Client

from activities.asset_gateway import asset_workflow_start, ensure_asset_workflow
from api import gateway
from api.errors import ApiError
from domain.actor import Actor
from domain.schemas.assets import StatusChange
from domain.services import assets as asset_service
from workflows.asset import (
    AssetEvent,
    AssetWorkflow,
    ChangeStatusRequest,
)


async def change_by_hand(
    app_state, session: Session, actor: Actor, ref: str, change: StatusChange
) -> None:
    """The status form and endpoint. A safety hold asked for by hand is a stop-work, so every
    work order on the asset is held with it; other moves are refused where a stop-work or
    a work order owns them, then sent to the asset's workflow."""
    if change.status.value == "SAFETY_HOLD":
        from api.operator_reports import raise_stop_work

        session.rollback()
        await raise_stop_work(app_state, actor, ref, change.reason)
        return
    # The checks in a thread: the event loop serves other requests meanwhile.
    await asyncio.to_thread(check_manual_change, session, actor, ref, change)
    await change_status(
        client=app_state.temporal,
        task_queue=app_state.settings.task_queue,
        session=session,
        actor=actor,
        ref=ref,
        change=change,
    )


def check_manual_change(session: Session, actor: Actor, ref: str, change: StatusChange) -> None:
    from domain.rules.asset_status import manual_change_refusal
    from domain.services import dispatch as dispatch_service

    asset = asset_service.get_asset(session=session, actor=actor, ref=ref)
    why = manual_change_refusal(
        asset.status,
        change.status,
        dispatch_service.stop_work_open(session, asset.id),
        dispatch_service.started_on_asset(session, asset.id),
        dispatch_service.pm_blocks_on_asset(session, asset, datetime.now(UTC).date()),
    )
    if why:
        raise ApiError(409, "Conflict", why, "status")


async def change_status(
    *,
    client: Client,
    task_queue: str,
    session: Session,
    actor: Actor,
    ref: str,
    change: StatusChange,
) -> AssetEvent:
    def lookup() -> tuple:
        asset = asset_service.get_asset(session=session, actor=actor, ref=ref)
        start = asset_workflow_start(session, asset)
        session.rollback()  # hold no snapshot or lock while the workflow writes the row
        return start

    start = await asyncio.to_thread(lookup)  # off the event loop, as above
    handle = await ensure_asset_workflow(client, task_queue, *start)
    return await gateway.update(
        handle,
        gateway.ASSET,
        start[0],
        AssetWorkflow.change_status,
        ChangeStatusRequest(change.status.value, change.reason, actor),
    )
