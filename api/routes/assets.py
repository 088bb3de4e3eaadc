"""Asset endpoints of seed 003 J.1."""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from api import answer_cache
from api.answers import json_text_answer
from api.asset_status import change_by_hand
from api.deps import DbSession, TemporalClient, read_pool, require
from api.meter_readings import record_and_tell
from api.params import Offset
from api.pm_lifecycles import follow_certificate
from domain.actor import Actor
from domain.rules.asset_status import AssetStatus
from domain.rules.assets import Criticality
from domain.rules.roles import Action, Scope, scope_for
from domain.schemas.assets import (
    AssetCreate,
    AssetOut,
    AssetUpdate,
    AuditOut,
    MeterReadingIn,
    MeterReadingOut,
    Page,
    StatusChange,
)
from domain.services import assets as service
from domain.services import read_views

router = APIRouter(prefix="/api/v1/maintenance/assets", tags=["assets"])

Viewer = Annotated[Actor, Depends(require(Action.VIEW_ASSETS))]
Editor = Annotated[Actor, Depends(require(Action.EDIT_ASSETS))]
StatusChanger = Annotated[Actor, Depends(require(Action.CHANGE_ASSET_STATUS))]
MeterRecorder = Annotated[Actor, Depends(require(Action.RECORD_METER))]
Limit = Annotated[int, Query(ge=1, le=500)]


@router.get("", response_model=Page[AssetOut], summary="List assets")
async def list_assets(
    request: Request,
    actor: Viewer,
    site: str | None = None,
    asset_status: Annotated[AssetStatus | None, Query(alias="status")] = None,
    criticality: Criticality | None = None,
    type: str | None = None,
    work_center: str | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    filters = service.AssetFilters(site, asset_status, criticality, type, work_center, q)
    assigned = scope_for(actor.roles, Action.VIEW_ASSETS) is Scope.ASSIGNED

    async def read() -> Response:
        page = await read_pool(request).run(
            lambda conn: read_views.asset_page_of(
                conn,
                actor=actor,
                assigned_only=assigned,
                filters=filters,
                limit=limit,
                offset=offset,
            )
        )
        return json_text_answer(Page[AssetOut], page)

    return await answer_cache.answer(request, actor.user_id, read)


@router.get("/{ref}", response_model=AssetOut, summary="Asset details")
def get_asset(ref: str, session: DbSession, actor: Viewer) -> AssetOut:
    return service.to_out(session, service.get_asset(session=session, actor=actor, ref=ref))


@router.post(
    "", response_model=AssetOut, status_code=status.HTTP_201_CREATED, summary="Register an asset"
)
async def create_asset(
    data: AssetCreate, request: Request, session: DbSession, actor: Editor, client: TemporalClient
) -> AssetOut:
    def save() -> str:
        asset = service.create_asset(session=session, actor=actor, data=data)
        session.commit()
        return asset.asset_number

    # The database parts in a thread: a slow write holds up no other request.
    number = await asyncio.to_thread(save)
    await _certificate(request, session, client, actor, number)
    return await asyncio.to_thread(_out, session, actor, number)


@router.put("/{ref}", response_model=AssetOut, summary="Update asset details")
async def update_asset(
    ref: str,
    data: AssetUpdate,
    request: Request,
    session: DbSession,
    actor: Editor,
    client: TemporalClient,
) -> AssetOut:
    def save() -> str:
        asset = service.update_asset(session=session, actor=actor, ref=ref, data=data)
        session.commit()
        return asset.asset_number

    number = await asyncio.to_thread(save)  # off the event loop, as above
    if {"requires_certification", "certification_expiry"} & data.model_fields_set:
        await _certificate(request, session, client, actor, number)
    return await asyncio.to_thread(_out, session, actor, number)


def _out(session, actor: Actor, number: str) -> AssetOut:
    return service.to_out(session, service.get_asset(session=session, actor=actor, ref=number))


async def _certificate(request: Request, session, client, actor: Actor, number: str) -> None:
    """Seed 003 C.1: a certificate on record is watched by its certification schedule."""
    await follow_certificate(
        session=session,
        client=client,
        task_queue=request.app.state.settings.task_queue,
        actor=actor,
        number=number,
    )


@router.post(
    "/{ref}/status",
    response_model=AssetOut,
    summary="Change status through the asset status rule table",
)
async def post_status(
    ref: str, change: StatusChange, request: Request, session: DbSession, actor: StatusChanger
) -> AssetOut:
    await change_by_hand(request.app.state, session, actor, ref, change)
    session.expire_all()
    return await asyncio.to_thread(_out, session, actor, ref)  # off the event loop


@router.get("/{ref}/history", response_model=Page[AuditOut], summary="Asset history")
def history(
    ref: str, session: DbSession, actor: Viewer, limit: Limit = 50, offset: Offset = 0
) -> Page[AuditOut]:
    rows, total = service.asset_history(
        session=session, actor=actor, ref=ref, limit=limit, offset=offset
    )
    return Page(
        items=[AuditOut.model_validate(r) for r in rows], total=total, limit=limit, offset=offset
    )


@router.get("/{ref}/meters", response_model=Page[MeterReadingOut], summary="Meter readings")
def meter_readings(
    ref: str, session: DbSession, actor: Viewer, limit: Limit = 50, offset: Offset = 0
) -> Page[MeterReadingOut]:
    rows, total = service.list_meter_readings(
        session=session, actor=actor, ref=ref, limit=limit, offset=offset
    )
    items = [MeterReadingOut.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.post(
    "/{ref}/meters",
    response_model=MeterReadingOut,
    status_code=201,
    summary="Record a meter reading",
)
async def record_meter(
    ref: str, data: MeterReadingIn, session: DbSession, actor: MeterRecorder, client: TemporalClient
) -> MeterReadingOut:
    # The asset's meter-based PM schedules hear of it (seed 003 D.1 method 2).
    reading, _ = await record_and_tell(
        session=session, client=client, actor=actor, ref=ref, data=data
    )
    return await asyncio.to_thread(MeterReadingOut.model_validate, reading)  # loads its meter
