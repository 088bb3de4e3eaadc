"""SensorUpkeepWorkflow: fired by a Temporal Schedule each minute for silent sensors, rather
than a durable timer per sensor: one short run judges every sensor from the stored last
reading, so a thousand sensors cost one run. A RETENTION run (fired daily before the
retention round took the raw readings over) still trims them."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.sensors import SensorActivities
    from workflows.sensor_upkeep_types import RETENTION, SensorUpkeepInput, SensorUpkeepState


@workflow.defn
class SensorUpkeepWorkflow:
    @workflow.run
    async def run(self, data: SensorUpkeepInput) -> SensorUpkeepState:
        options = {
            "start_to_close_timeout": timedelta(minutes=10),
            "retry_policy": RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(minutes=1)),
        }
        if data.kind == RETENTION:
            return await workflow.execute_activity_method(
                SensorActivities.trim_readings, data, **options
            )
        return await workflow.execute_activity_method(
            SensorActivities.sweep_sensors, data, **options
        )
