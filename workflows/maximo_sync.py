"""MaximoSyncWorkflow (seed 000 C3): fired by a Temporal Schedule per organisation, reads
what changed in Maximo since the last change it saw, page by page through `nextPage`,
and registers it as anomalies. The cursor is stored with each page, so a retried page or
a later run resumes at the page that failed and nothing is imported twice."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows.maximo_sync_types import (
    FinishSyncRequest,
    ImportPageRequest,
    MaximoRunState,
    MaximoSyncInput,
    MaximoSyncState,
    StartLifecyclesRequest,
)

with workflow.unsafe.imports_passed_through():
    from activities.maximo import MaximoActivities

# Maximo briefly away (a 500, a timeout) is retried with backoff for about an hour; a
# refusal (a wrong key, a page that is no Maximo page) is not retried.
PAGE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=15,
    non_retryable_error_types=["NotFound", "NotAllowed", "RuleViolation"],
)
DB_RETRY = RetryPolicy(maximum_attempts=10, maximum_interval=timedelta(minutes=1),
                       non_retryable_error_types=["NotFound"])  # fmt: skip


@workflow.defn
class MaximoSyncWorkflow:
    @workflow.init
    def __init__(self, data: MaximoSyncInput) -> None:
        self.state = MaximoSyncState(data.run_id)

    @workflow.run
    async def run(self, data: MaximoSyncInput) -> MaximoSyncState:
        org = data.organization_id
        plan: MaximoRunState = await workflow.execute_activity_method(
            MaximoActivities.begin_maximo_sync, data,
            start_to_close_timeout=timedelta(minutes=1), retry_policy=DB_RETRY,
        )  # fmt: skip
        self.state.run_id, self.state.status = plan.run_id, "RUNNING"
        try:
            for feed in plan.feeds:
                href: str | None = feed.href
                while href:
                    if workflow.info().is_continue_as_new_suggested():
                        # The next run reads the stored cursor: it goes on at this page.
                        workflow.continue_as_new(MaximoSyncInput(org, plan.run_id))
                    page = await workflow.execute_activity_method(
                        MaximoActivities.import_maximo_page,
                        ImportPageRequest(org, plan.run_id, feed.kind, href),
                        start_to_close_timeout=timedelta(minutes=5),
                        heartbeat_timeout=timedelta(minutes=2),
                        retry_policy=PAGE_RETRY,
                    )
                    self.state.pages += 1
                    self.state.created += page.created
                    self.state.updated += page.updated
                    self.state.unchanged += page.unchanged
                    self.state.refused += page.refused
                    if page.to_start:
                        await workflow.execute_activity_method(
                            MaximoActivities.start_maximo_lifecycles,
                            StartLifecyclesRequest(org, page.to_start),
                            start_to_close_timeout=timedelta(minutes=2), retry_policy=DB_RETRY,
                        )  # fmt: skip
                    href = page.next_href
        except ActivityError as err:
            cause = err.cause or err
            await self._finish(FinishSyncRequest(org, plan.run_id, str(cause)[:1000]))
            raise
        return await self._finish(FinishSyncRequest(org, plan.run_id))

    async def _finish(self, request: FinishSyncRequest) -> MaximoSyncState:
        self.state = await workflow.execute_activity_method(
            MaximoActivities.finish_maximo_sync, request,
            start_to_close_timeout=timedelta(minutes=1), retry_policy=DB_RETRY,
        )  # fmt: skip
        return self.state

    @workflow.query
    def get_state(self) -> MaximoSyncState:
        return self.state
