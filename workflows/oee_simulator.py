"""OeeSimulatorWorkflow: in demo mode, fired every minute by a Temporal Schedule, makes
the demo machines produce (and now and then stop) for that minute."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

from workflows.oee_simulator_types import SimulatorInput

with workflow.unsafe.imports_passed_through():
    from activities.oee_simulator import SimulatorActivities
    from domain.services.oee_simulator import Tick

SCHEDULED_AT = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


@workflow.defn
class OeeSimulatorWorkflow:
    @workflow.run
    async def run(self, data: SimulatorInput) -> Tick:
        at = data.at or workflow.info().typed_search_attributes.get(SCHEDULED_AT)
        return await workflow.execute_activity_method(
            SimulatorActivities.simulate_minute,
            at or workflow.now(),
            start_to_close_timeout=timedelta(seconds=50),
            retry_policy=RetryPolicy(maximum_attempts=3),  # the next minute comes anyway
        )
