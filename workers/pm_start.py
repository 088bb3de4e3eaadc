"""Start the lifecycle of PM schedules that have none yet: loaded by the demo, or created
while Temporal was unreachable. A schedule whose workflow never wrote a step is started
with its id; a running one is left as it is."""

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from domain.models import PmSchedule
from domain.settings import Settings
from workflows.pm_schedule import PMScheduleWorkflow
from workflows.pm_schedule_types import TASK_TIMEOUT, PMScheduleInput

log = logging.getLogger("plantops.worker")


async def start_missing_pm_schedules(
    client: Client, sessions: sessionmaker[Session], settings: Settings
) -> list[str]:
    with sessions() as session:
        waiting = session.execute(
            select(PmSchedule.id, PmSchedule.organization_id).where(
                PmSchedule.is_active.is_(True), PmSchedule.last_step == 0
            )
        ).all()
    started = []
    for schedule_id, organization_id in waiting:
        workflow_id = f"PMS-{schedule_id}"
        try:
            await client.start_workflow(
                PMScheduleWorkflow.run,
                PMScheduleInput(schedule_id, organization_id),
                id=workflow_id,
                task_queue=settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                task_timeout=TASK_TIMEOUT,
            )
        except Exception as err:  # one schedule failing to start leaves the others going
            log.warning("PM schedule %s not started: %s", workflow_id, err)
            continue
        started.append(workflow_id)
    if started:
        log.info("PM schedules running: %d without a step yet", len(started))
    return started
