"""The Temporal Schedule of an organisation's Maximo sync, kept in step with its
configuration from outside Temporal (the configuration door calls it)."""

from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from workflows.maximo_sync import MaximoSyncWorkflow
from workflows.maximo_sync_types import MaximoSyncInput

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


def schedule_id(organization_id: int) -> str:
    return f"plantops-maximo-sync-{organization_id}"


def sync_schedule(
    organization_id: int, task_queue: str, interval_minutes: int, enabled: bool
) -> Schedule:
    # A run still going when the next is due: the next is skipped, never run beside it
    # (two runs would read the same cursor).
    return Schedule(
        action=ScheduleActionStartWorkflow(
            MaximoSyncWorkflow.run,
            MaximoSyncInput(organization_id),
            id=f"MAXIMO-SYNC-{organization_id}",
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=timedelta(minutes=interval_minutes))]
        ),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=1)
        ),
        state=ScheduleState(paused=not enabled, note="" if enabled else "Maximo sync disabled"),
    )


async def apply_schedule(
    client: Client, organization_id: int, task_queue: str, interval_minutes: int, enabled: bool
) -> None:
    """Create the schedule, or bring an existing one to the configuration."""
    schedule = sync_schedule(organization_id, task_queue, interval_minutes, enabled)
    try:
        await client.create_schedule(schedule_id(organization_id), schedule)
    except ScheduleAlreadyRunningError:

        async def change(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id(organization_id)).update(change)


async def ensure_maximo_schedules(
    client: Client, sessions: "sessionmaker[Session]", task_queue: str
) -> list[str]:
    """At worker start: every configured organisation's schedule that Temporal lacks (a
    new cluster, a schedule deleted by hand) is made again from its configuration;
    existing ones are left as they are."""
    from sqlalchemy import select

    from domain.models import MaximoConfig

    with sessions() as session:
        configs = session.execute(
            select(MaximoConfig.organization_id, MaximoConfig.interval_minutes,
                   MaximoConfig.enabled)
        ).all()  # fmt: skip
    created = []
    for organization_id, interval, enabled in configs:
        try:
            await client.create_schedule(
                schedule_id(organization_id),
                sync_schedule(organization_id, task_queue, interval, enabled),
            )
            created.append(schedule_id(organization_id))
        except ScheduleAlreadyRunningError:
            continue
    return created
