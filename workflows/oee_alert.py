"""OeeDowntimeWatchWorkflow: the extended-downtime alert of seed 002 as a durable timer.

Started when a downtime opens, it sleeps until fifteen minutes after the stop began and
then raises the alert if the stop is still open; ending the downtime cancels it. Nothing
polls: the only wake-up is the timer's (or the cancellation)."""

import logging
from datetime import timedelta

from temporalio import workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError

with workflow.unsafe.imports_passed_through():
    from activities.notifier import Notifier
    from activities.oee_alerts import DowntimeAlertOutcome, DowntimeCheck, OeeAlertActivities
    from domain.rules.oee_alerts import downtime_due
    from workflows.oee_alert_types import DowntimeWatchInput, DowntimeWatchState

log = logging.getLogger("plantops.oee_alerts")
RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1))


def watch_id(downtime_id: int, start) -> str:
    """The downtime and its start: the same stop asked for twice is one watch."""
    return f"OEE-DOWNTIME-{downtime_id}-{start:%Y%m%dT%H%M%S}"


@workflow.defn
class OeeDowntimeWatchWorkflow:
    @workflow.run
    async def run(self, data: DowntimeWatchInput) -> DowntimeWatchState:
        wait = downtime_due(data.start_time) - workflow.now()
        if wait > timedelta(0):
            await workflow.sleep(wait)
        outcome: DowntimeAlertOutcome = await workflow.execute_activity_method(
            OeeAlertActivities.raise_extended_downtime,
            DowntimeCheck(data.downtime_id, workflow.now()),
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=RETRY,
        )
        if outcome.keys:
            await workflow.execute_activity_method(
                Notifier.deliver_queued,
                outcome.keys,
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=RetryPolicy(maximum_attempts=5),
            )
        return DowntimeWatchState(
            data.downtime_id, outcome.alert_id is not None, outcome.alert_id, workflow.now()
        )


async def start_watch(
    client: Client, task_queue: str, data: DowntimeWatchInput
) -> WorkflowHandle | None:
    """Begin an open downtime's watch. The downtime is committed already: Temporal being
    away is logged, not raised, so the stop stays recorded."""
    from temporalio.exceptions import WorkflowAlreadyStartedError

    try:
        return await client.start_workflow(
            OeeDowntimeWatchWorkflow.run,
            data,
            id=watch_id(data.downtime_id, data.start_time),
            task_queue=task_queue,
            # A watch that already ran never runs again (its alert may have been resolved).
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        return None
    except RPCError as err:
        log.warning("downtime %s: no watch started: %s", data.downtime_id, err)
        return None


async def end_watch(client: Client, downtime_id: int, start) -> None:
    """The downtime ended: its watch, if still asleep, is cancelled."""
    try:
        await client.get_workflow_handle(watch_id(downtime_id, start)).cancel()
    except RPCError:  # already done (it fired) or never started
        pass


async def resume_watches(client: Client, sessions, task_queue: str) -> int:
    """At worker start: a watch for every open floor downtime that has none (one recorded
    while Temporal was away). How many were started."""
    from sqlalchemy import select

    from domain.models.production import ProductionDowntime

    with sessions() as session:
        rows = session.execute(
            select(ProductionDowntime.id, ProductionDowntime.organization_id,
                   ProductionDowntime.start_time)
            .where(ProductionDowntime.end_time.is_(None))
        ).all()  # fmt: skip
    started = 0
    for row in rows:
        handle = await start_watch(client, task_queue, DowntimeWatchInput(*row))
        started += handle is not None
    return started
