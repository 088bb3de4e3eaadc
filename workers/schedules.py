"""The Temporal Schedules plantops keeps: the H3 summary, the H4 daily digest, the
five-minute OEE snapshots and the sensors' upkeep (silent sensors each minute, retention
daily)."""

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
)

from domain.settings import Settings
from workflows.digest import DigestWorkflow
from workflows.oee_snapshot import OeeSnapshotWorkflow
from workflows.oee_snapshot_types import OeeSnapshotInput
from workflows.sensor_upkeep import SensorUpkeepWorkflow
from workflows.sensor_upkeep_types import RETENTION, SWEEP, SensorUpkeepInput

SUMMARY_ID = "plantops-summary-digest"
DAILY_ID = "plantops-daily-digest"
OEE_SNAPSHOT_ID = "plantops-oee-snapshots"
SENSOR_SWEEP_ID = "plantops-sensor-sweep"
SENSOR_RETENTION_ID = "plantops-sensor-retention"


def schedules(settings: Settings) -> dict[str, Schedule]:
    def action(kind: str) -> ScheduleActionStartWorkflow:
        return ScheduleActionStartWorkflow(
            DigestWorkflow.run, kind, id=f"DIGEST-{kind}", task_queue=settings.task_queue
        )

    # A digest that is late is sent once, not once per missed slot.
    policy = SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=1))
    return {
        SUMMARY_ID: Schedule(
            action=action("SUMMARY"),
            spec=ScheduleSpec(
                intervals=[
                    ScheduleIntervalSpec(every=timedelta(hours=settings.summary_every_hours))
                ]
            ),
            policy=policy,
        ),
        DAILY_ID: Schedule(
            action=action("DAILY"),
            spec=ScheduleSpec(
                calendars=[
                    ScheduleCalendarSpec(
                        hour=[ScheduleRange(settings.daily_digest_hour_utc)],
                        minute=[ScheduleRange(0)],
                        second=[ScheduleRange(0)],
                    )
                ]
            ),
            policy=policy,
        ),
        # Every missed slot is taken when the worker is back (within a day): each run
        # takes the slot of its scheduled time, and a slot taken twice is written once.
        OEE_SNAPSHOT_ID: Schedule(
            action=ScheduleActionStartWorkflow(
                OeeSnapshotWorkflow.run,
                OeeSnapshotInput(),
                id="OEE-SNAPSHOT",
                task_queue=settings.task_queue,
            ),  # fmt: skip
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(minutes=5))]),
            policy=SchedulePolicy(
                overlap=ScheduleOverlapPolicy.BUFFER_ALL, catchup_window=timedelta(days=1)
            ),
        ),
        **sensor_schedules(settings, policy),
    }


def sensor_schedules(settings: Settings, policy: SchedulePolicy) -> dict[str, Schedule]:
    def action(kind: str) -> ScheduleActionStartWorkflow:
        return ScheduleActionStartWorkflow(
            SensorUpkeepWorkflow.run,
            SensorUpkeepInput(kind),
            id=f"SENSORS-{kind}",
            task_queue=settings.task_queue,
        )

    return {
        SENSOR_SWEEP_ID: Schedule(
            action=action(SWEEP),
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(minutes=1))]),
            policy=policy,
        ),
        SENSOR_RETENTION_ID: Schedule(
            action=action(RETENTION),
            spec=ScheduleSpec(
                calendars=[
                    ScheduleCalendarSpec(
                        hour=[ScheduleRange(3)],
                        minute=[ScheduleRange(30)],
                        second=[ScheduleRange(0)],
                    )
                ]
            ),
            policy=policy,
        ),
    }


async def ensure_schedules(client: Client, settings: Settings) -> list[str]:
    """Create the schedules that are missing; existing ones (and edits made in the UI) stay."""
    created = []
    for schedule_id, schedule in schedules(settings).items():
        try:
            await client.create_schedule(schedule_id, schedule)
            created.append(schedule_id)
        except ScheduleAlreadyRunningError:
            pass
    return created
