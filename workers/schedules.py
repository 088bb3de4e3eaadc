"""The Temporal Schedules plantops keeps: the H3 summary, the H4 daily digest, the
five-minute OEE snapshots, the daily retention round and, in demo mode only, the
minute-by-minute simulator of the demo floor."""

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
from temporalio.service import RPCError

from domain.settings import Settings
from workflows.digest import DigestWorkflow
from workflows.oee_simulator import OeeSimulatorWorkflow
from workflows.oee_simulator_types import SimulatorInput
from workflows.oee_snapshot import OeeSnapshotWorkflow
from workflows.oee_snapshot_types import OeeSnapshotInput
from workflows.retention import RetentionWorkflow
from workflows.retention_types import RetentionInput

SUMMARY_ID = "plantops-summary-digest"
DAILY_ID = "plantops-daily-digest"
OEE_SNAPSHOT_ID = "plantops-oee-snapshots"
RETENTION_ID = "plantops-retention"
RETENTION_HOUR_UTC = 3  # a quiet hour for most sites
SIMULATOR_ID = "plantops-demo-simulator"


def schedules(settings: Settings) -> dict[str, Schedule]:
    def action(kind: str) -> ScheduleActionStartWorkflow:
        return ScheduleActionStartWorkflow(
            DigestWorkflow.run, kind, id=f"DIGEST-{kind}", task_queue=settings.task_queue
        )

    # A digest that is late is sent once, not once per missed slot.
    policy = SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=1))
    out = {
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
        # Once a day; a missed day is made up by the next run (it deletes by age).
        RETENTION_ID: Schedule(
            action=ScheduleActionStartWorkflow(
                RetentionWorkflow.run,
                RetentionInput(),
                id="OEE-RETENTION",
                task_queue=settings.task_queue,
            ),
            spec=ScheduleSpec(
                calendars=[
                    ScheduleCalendarSpec(
                        hour=[ScheduleRange(RETENTION_HOUR_UTC)],
                        minute=[ScheduleRange(30)],
                        second=[ScheduleRange(0)],
                    )
                ]
            ),
            policy=policy,
        ),
    }
    if settings.demo:
        # A minute missed is not made up: the floor only ever runs now.
        out[SIMULATOR_ID] = Schedule(
            action=ScheduleActionStartWorkflow(
                OeeSimulatorWorkflow.run,
                SimulatorInput(),
                id="OEE-SIMULATOR",
                task_queue=settings.task_queue,
            ),
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(minutes=1))]),
            policy=SchedulePolicy(
                overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(minutes=1)
            ),
        )
    return out


async def ensure_schedules(client: Client, settings: Settings) -> list[str]:
    """Create the schedules that are missing; existing ones (and edits made in the UI) stay."""
    created = []
    if not settings.demo:  # out of demo mode the simulator does not run, even if it did
        try:
            await client.get_schedule_handle(SIMULATOR_ID).delete()
        except RPCError:
            pass
    for schedule_id, schedule in schedules(settings).items():
        try:
            await client.create_schedule(schedule_id, schedule)
            created.append(schedule_id)
        except ScheduleAlreadyRunningError:
            pass
    return created
