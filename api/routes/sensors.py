"""IoT sensors (intake channel C2): sensors and their rules, gateways and their keys, and the
readings gateways send. A batch is stored and judged in one transaction; only what changed
reaches Temporal, after the commit: new anomalies started, open ones told of a rule's change
(at most once a minute each), meter-based PM schedules told (at most once a minute a meter)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Response, status
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from api.deps import AppSettings, DbSession, TemporalClient, require
from api.errors import ApiError
from api.meter_readings import tell_schedules
from api.params import Offset
from api.permissions import public
from api.pm_lifecycles import tell_conditions
from domain.actor import Actor
from domain.models import Anomaly
from domain.rules.roles import Action, Scope
from domain.schemas.sensors import (
    GatewayCreated,
    GatewayIn,
    GatewayOut,
    IngestOut,
    ReadingBatch,
    SensorIn,
    SensorOut,
    SensorPage,
)
from domain.services import sensor_readings as readings
from domain.services import sensors as service
from domain.settings import Settings
from workflows.alert_watch_types import AlertWatchInput
from workflows.anomaly import AnomalyWorkflow
from workflows.anomaly_start import first_watches, start_lifecycle
from workflows.anomaly_types import SensorRuleEvent
from workflows.pm_schedule_types import MeterReadingEvent

router = APIRouter(prefix="/api/v1", tags=["sensors"])

Viewer = Annotated[Actor, Depends(require(Action.VIEW_ASSETS))]
Editor = Annotated[Actor, Depends(require(Action.EDIT_ASSETS))]
# Gateways hold the keys machines speak with: the administrators' alone.
Admin = Annotated[Actor, Depends(require(Action.CONFIGURE_SYSTEM, Scope.FULL))]
Limit = Annotated[int, Query(ge=1, le=500)]


@router.get("/sensors", response_model=SensorPage, summary="List sensors, per asset")
def list_sensors(
    session: DbSession,
    actor: Viewer,
    asset: Annotated[str | None, Query(max_length=60)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> SensorPage:
    rows, total = service.list_sensors(
        session=session,
        organization_id=actor.organization_id,
        asset=asset,
        limit=limit,
        offset=offset,
    )
    return SensorPage(items=[service.to_out(session, r) for r in rows], total=total)


@router.post(
    "/sensors",
    response_model=SensorOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a sensor to an asset, with its rules",
)
def create_sensor(data: SensorIn, session: DbSession, actor: Editor) -> SensorOut:
    sensor = service.create_sensor(session=session, actor=actor, data=data)
    session.commit()
    return service.to_out(session, sensor)


@router.get("/sensors/{code}", response_model=SensorOut, summary="A sensor, its rules and state")
def get_sensor(code: str, session: DbSession, actor: Viewer) -> SensorOut:
    sensor = service.get_sensor(session=session, organization_id=actor.organization_id, code=code)
    return service.to_out(session, sensor)


@router.put("/sensors/{code}", response_model=SensorOut, summary="Change a sensor and its rules")
def update_sensor(code: str, data: SensorIn, session: DbSession, actor: Editor) -> SensorOut:
    sensor = service.update_sensor(session=session, actor=actor, code=code, data=data)
    session.commit()
    session.refresh(sensor)
    return service.to_out(session, sensor)


@router.delete("/sensors/{code}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a sensor")
def delete_sensor(code: str, session: DbSession, actor: Editor) -> Response:
    service.delete_sensor(session=session, actor=actor, code=code)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- gateways --


@router.get("/sensor-gateways", response_model=list[GatewayOut], summary="List gateways")
def list_gateways(session: DbSession, actor: Admin) -> list[GatewayOut]:
    rows = service.list_gateways(session=session, organization_id=actor.organization_id)
    return [service.gateway_out(g) for g in rows]


@router.post(
    "/sensor-gateways",
    response_model=GatewayCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Add a gateway; its API key is shown in this answer only",
)
def create_gateway(data: GatewayIn, session: DbSession, actor: Admin) -> GatewayCreated:
    row, key = service.create_gateway(session=session, actor=actor, name=data.name)
    session.commit()
    return GatewayCreated(**service.gateway_out(row).model_dump(), api_key=key)


@router.delete(
    "/sensor-gateways/{gateway_id}", response_model=GatewayOut, summary="Revoke a gateway's key"
)
def revoke_gateway(
    gateway_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    session: DbSession,
    actor: Admin,
) -> GatewayOut:
    row = service.revoke_gateway(session=session, actor=actor, gateway_id=gateway_id)
    session.commit()
    return service.gateway_out(row)


# -- readings --


def _store(session: Session, key: str | None, batch: ReadingBatch) -> readings.Ingested:
    if not key:
        raise ApiError(
            401, "Unauthorized", "a gateway API key is required in X-API-Key", "X-API-Key"
        )
    gw = service.gateway_for_key(session=session, key=key)
    if gw is None:
        raise ApiError(401, "Unauthorized", "the API key is not valid or was revoked", "X-API-Key")
    try:
        done = readings.ingest(session=session, gateway=gw, readings=batch.readings)
    except Exception:
        session.rollback()  # nothing half-stored
        raise
    session.commit()
    return done


@router.post(
    "/sensor-readings",
    response_model=IngestOut,
    dependencies=[Depends(public)],
    summary="A gateway's batch of readings (up to 10,000), authenticated by its X-API-Key",
)
async def post_readings(
    batch: ReadingBatch,
    session: DbSession,
    client: TemporalClient,
    settings: AppSettings,
    x_api_key: Annotated[str | None, Header(max_length=200)] = None,
) -> IngestOut:
    done = await run_in_threadpool(_store, session, x_api_key, batch)
    for reference in done.registered:
        await start_anomaly(client, settings, session, reference)
    updated = []
    for t in done.told:
        event = SensorRuleEvent(
            t.change, t.sensor, t.rule, t.value, t.at, t.count, t.episodes, t.peak, t.last_seen
        )
        if await tell_anomaly(client, t.reference, event):
            updated.append(t.reference)
    for move in done.moves:
        event = MeterReadingEvent(move.reading, move.at, move.meter_type)
        await tell_schedules(client, move.schedule_ids, event)
    if done.conditions:
        conditions = [(c.schedule_id, c.detail) for c in done.conditions]
        await tell_conditions(client, done.actor, conditions, "SENSOR")
    return IngestOut(
        stored=done.stored,
        duplicates=done.duplicates,
        registered=done.registered,
        updated=updated,
        meters=done.meters,
    )


async def start_anomaly(
    client: Client, settings: Settings, session: Session, reference: str
) -> None:
    """A committed registration's lifecycle and safety watches, as for any channel; if
    Temporal is away, the worker starts it when it comes back (workers/resume.py)."""

    def lookup() -> tuple[int, list[AlertWatchInput]]:
        anomaly = session.scalars(select(Anomaly).where(Anomaly.reference == reference)).one()
        watches = first_watches(session, settings, anomaly)
        session.rollback()
        return anomaly.organization_id, watches

    # In a thread, like the store before it: the event loop serves other requests meanwhile.
    organization_id, watches = await run_in_threadpool(lookup)
    try:
        await start_lifecycle(client, settings, reference, organization_id, watches)
    except Exception:  # stored and registered; the lifecycle starts on the worker's resume
        return


async def tell_anomaly(client: Client, reference: str, event: SensorRuleEvent) -> bool:
    try:
        await client.get_workflow_handle(reference).signal(AnomalyWorkflow.sensor_rule, event)
    except Exception:  # a lifecycle not running (yet): the change stays in the rule's state
        return False
    return True
