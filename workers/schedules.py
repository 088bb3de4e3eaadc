"""The Temporal Schedules plantops keeps: the H3 summary, the H4 daily digest, the
five-minute OEE snapshots, per site the shift reports 15 minutes after each shift, the
daily retention round (the OEE data and the raw sensor readings), the sensors' sweep for
silent sensors each minute and, in demo mode only, the minute-by-minute simulator of the
demo floor."""

from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
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
    ScheduleUpdate,
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
from workflows.sensor_upkeep import SensorUpkeepWorkflow
from workflows.sensor_upkeep_types import SWEEP, SensorUpkeepInput
from workflows.shift_report import ShiftReportWorkflow
from workflows.shift_report_types import ShiftReportInput

SUMMARY_ID = "plantops-summary-digest"
DAILY_ID = "plantops-daily-digest"
OEE_SNAPSHOT_ID = "plantops-oee-snapshots"
RETENTION_ID = "plantops-retention"
RETENTION_HOUR_UTC = 3  # a quiet hour for most sites
SIMULATOR_ID = "plantops-demo-simulator"
SENSOR_SWEEP_ID = "plantops-sensor-sweep"
# The raw readings' own daily Schedule of before: the retention round deletes them now.
SENSOR_RETENTION_ID = "plantops-sensor-retention"
SHIFT_REPORTS_ID = "plantops-shift-reports-{site}"


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
        **sensor_schedules(settings, policy),
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


def sensor_schedules(settings: Settings, policy: SchedulePolicy) -> dict[str, Schedule]:
    return {
        SENSOR_SWEEP_ID: Schedule(
            action=ScheduleActionStartWorkflow(
                SensorUpkeepWorkflow.run,
                SensorUpkeepInput(SWEEP),
                id=f"SENSORS-{SWEEP}",
                task_queue=settings.task_queue,
            ),
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(minutes=1))]),
            policy=policy,
        ),
    }


async def ensure_schedules(client: Client, settings: Settings) -> list[str]:
    """Create the schedules that are missing; existing ones (and edits made in the UI) stay."""
    created = []
    retired = [SENSOR_RETENTION_ID]  # its work is the retention round's now
    if not settings.demo:  # out of demo mode the simulator does not run, even if it did
        retired.append(SIMULATOR_ID)
    for schedule_id in retired:
        try:
            await client.get_schedule_handle(schedule_id).delete()
        except RPCError:
            pass
    for schedule_id, schedule in schedules(settings).items():
        try:
            await client.create_schedule(schedule_id, schedule)
            created.append(schedule_id)
        except ScheduleAlreadyRunningError:
            pass
    return created


def shift_report_schedule(
    settings: Settings, organization_id: int, site: str, zone: str, ends: list[time]
) -> Schedule:
    """Fires 15 minutes after each shift's end, on the site's clock (a clock change moves
    the fire with the shift). Every day: a fire after a day off or a weekday a shift does
    not run finds no shift and starts nothing."""
    from domain.rules.shift_reports import BUFFER

    fires = sorted({(datetime.combine(datetime(2000, 1, 1), end) + BUFFER).time() for end in ends})
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ShiftReportWorkflow.run,
            ShiftReportInput(organization_id, site),
            id=f"SHR-FIRE-{site}",
            task_queue=settings.task_queue,
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    hour=[ScheduleRange(t.hour)],
                    minute=[ScheduleRange(t.minute)],
                    second=[ScheduleRange(0)],
                )
                for t in fires
            ],
            time_zone_name=zone,
        ),
        # A fire missed while the worker was away is taken when it is back (within a day);
        # each finds its own shift from its scheduled time.
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.BUFFER_ALL, catchup_window=timedelta(days=1)
        ),
    )


def shift_report_schedules(
    settings: Settings, sessions: sessionmaker[Session]
) -> dict[str, Schedule]:
    """One per site with a shift calendar."""
    from domain.models import Shift, Site

    with sessions() as session:
        rows = session.execute(
            select(Site.organization_id, Site.code, Site.timezone, Shift.ends_at)
            .join(Shift, Shift.site_id == Site.id)
            .order_by(Site.id)
        ).all()
    sites: dict[tuple[int, str, str], list[time]] = {}
    for org, code, zone, end in rows:
        sites.setdefault((org, code, zone), []).append(end)
    return {
        SHIFT_REPORTS_ID.format(site=code): shift_report_schedule(settings, org, code, zone, ends)
        for (org, code, zone), ends in sites.items()
    }


async def ensure_shift_report_schedules(
    client: Client, settings: Settings, sessions: sessionmaker[Session]
) -> list[str]:
    """Create each site's schedule, or bring its fire times to the site's calendar."""
    created = []
    for schedule_id, schedule in shift_report_schedules(settings, sessions).items():
        try:
            await client.create_schedule(schedule_id, schedule)
            created.append(schedule_id)
        except ScheduleAlreadyRunningError:

            def respec(given, spec=schedule.spec):
                given.description.schedule.spec = spec
                return ScheduleUpdate(schedule=given.description.schedule)

            await client.get_schedule_handle(schedule_id).update(respec)
    return created
