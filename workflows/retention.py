"""RetentionWorkflow: fired daily by a Temporal Schedule, deletes the OEE data older than
seed 002 keeps it (snapshots 90 days, hourly summaries a year, daily three, shift reports
seven, energy readings two)."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

from workflows.retention_types import RetentionInput, RetentionState

with workflow.unsafe.imports_passed_through():
    from activities.retention import RetentionActivities

SCHEDULED_AT = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


@workflow.defn
class RetentionWorkflow:
    @workflow.run
    async def run(self, data: RetentionInput) -> RetentionState:
        at = data.at or workflow.info().typed_search_attributes.get(SCHEDULED_AT)
        at = at or workflow.now()
        deleted = await workflow.execute_activity_method(
            RetentionActivities.apply_retention,
            at,
            start_to_close_timeout=timedelta(hours=1),
            heartbeat_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5), maximum_attempts=10),
        )
        return RetentionState(at, deleted)
