"""DigestWorkflow: fired by a Temporal Schedule, sends the H3 summary or H4 daily digest."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.notifier import DigestInput, Notifier, NotifyOutput
    from activities.work_orders import WorkOrderActivities


@workflow.defn
class DigestWorkflow:
    @workflow.run
    async def run(self, kind: str) -> NotifyOutput:
        if kind == "DAILY":  # the daily round also looks at PM and certification dates
            await workflow.execute_activity_method(
                WorkOrderActivities.watch_assets,
                workflow.now().date().isoformat(),
                start_to_close_timeout=timedelta(minutes=5),
            )
        return await workflow.execute_activity_method(
            Notifier.send_digest,
            DigestInput(kind, workflow.now().strftime("%Y%m%dT%H%M")),
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_attempts=8, maximum_interval=timedelta(minutes=2)),
        )
