"""Recording a meter reading, from any door (the asset API, the PM API, the asset page): the
reading committed, then the asset's meter-based PM schedules told (seed 003 D.1 method 2)."""

import asyncio

from sqlalchemy.orm import Session
from temporalio.client import Client

from domain.actor import Actor
from domain.models import MeterReading
from domain.schemas.assets import MeterReadingIn
from domain.services import assets as asset_service
from domain.services import pm_schedules
from workflows.pm_schedule import PMScheduleWorkflow
from workflows.pm_schedule_types import MeterReadingEvent


async def record_and_tell(
    *, session: Session, client: Client, actor: Actor, ref: str, data: MeterReadingIn
) -> tuple[MeterReading, list[str]]:
    """The reading (committed) and the schedules it reached."""
    kind = data.meter_type.value

    def record() -> tuple[MeterReading, list[int]]:
        reading = asset_service.record_meter_reading(
            session=session, actor=actor, ref=ref, data=data
        )
        ids = pm_schedules.of_asset(
            session=session, organization_id=actor.organization_id, asset_id=reading.asset_id,
            meter_type=kind,
        )  # fmt: skip
        session.commit()
        return reading, ids

    # In a thread: the event loop serves other requests meanwhile.
    reading, ids = await asyncio.to_thread(record)
    event = MeterReadingEvent(data.reading, reading.recorded_at, kind)
    return reading, await tell_schedules(client, ids, event)


async def tell_schedules(client: Client, ids: list[int], event: MeterReadingEvent) -> list[str]:
    """A committed reading signalled to the schedules it concerns; those it reached."""
    told = []
    for schedule_id in ids:
        try:
            await client.get_workflow_handle(pm_schedules.reference(schedule_id)).signal(
                PMScheduleWorkflow.meter_reading, event
            )
            told.append(pm_schedules.reference(schedule_id))
        except Exception:  # a schedule without a running lifecycle reads the meter at start
            continue
    return told
