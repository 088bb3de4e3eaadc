"""OeeSnapshotWorkflow: fired every five minutes by a Temporal Schedule, snapshots every
producing machine's slot, rolls the hour and the day up from the snapshots and judges
the alert thresholds on them."""

from datetime import UTC, datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

from workflows.oee_snapshot_types import OeeSnapshotInput, OeeSnapshotState

with workflow.unsafe.imports_passed_through():
    from activities.notifier import Notifier
    from activities.oee import OeeActivities
    from activities.oee_alerts import OeeAlertActivities

SCHEDULED_AT = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
RETRY = RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(minutes=1))


def _slot(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return at.replace(minute=at.minute - at.minute % 5, second=0, microsecond=0)


@workflow.defn
class OeeSnapshotWorkflow:
    @workflow.run
    async def run(self, data: OeeSnapshotInput) -> OeeSnapshotState:
        at = data.taken_at or workflow.info().typed_search_attributes.get(SCHEDULED_AT)
        taken_at = _slot(at or workflow.now())
        machines = await workflow.execute_activity_method(
            OeeActivities.take_oee_snapshots, taken_at,
            start_to_close_timeout=timedelta(minutes=2), retry_policy=RETRY,
        )  # fmt: skip
        hours, days = await workflow.execute_activity_method(
            OeeActivities.roll_up_oee, taken_at,
            start_to_close_timeout=timedelta(minutes=2), retry_policy=RETRY,
        )  # fmt: skip
        # Seed 002's threshold check follows the snapshots (runs recorded before it don't).
        if workflow.patched("oee-alerts"):
            keys = await workflow.execute_activity_method(
                OeeAlertActivities.evaluate_oee_alerts, taken_at,
                start_to_close_timeout=timedelta(minutes=2), retry_policy=RETRY,
            )  # fmt: skip
            if keys:
                await workflow.execute_activity_method(
                    Notifier.deliver_queued, keys,
                    start_to_close_timeout=timedelta(minutes=2), retry_policy=RETRY,
                )  # fmt: skip
        return OeeSnapshotState(taken_at, machines, hours, days)
