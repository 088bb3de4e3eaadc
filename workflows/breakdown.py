"""BreakdownWorkflow: one per operator report (id OPR-<report id>), doing every step the
report sets in motion (seed 003 E.1, E.4): the report recorded, the work order opened
with its photos, the downtime clock started, the roles told, the work order started on
its lifecycle and submitted, the asset taken out of service through its own workflow.

Each step is an activity keyed by the report, so a worker lost between two steps leaves
the rest to the next one and nothing is done twice."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.breakdown import BreakdownActivities
    from workflows.breakdown_types import (
        AssetDownRequest,
        BreakdownInput,
        BreakdownState,
        ReportStepRequest,
        StartWorkOrderRequest,
    )

# Database steps are short; a worker lost in one is noticed after this much.
WRITE = {
    "start_to_close_timeout": timedelta(seconds=10),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=5), maximum_attempts=20),
}
# Steps that wait on another lifecycle (the work order's, the asset's).
CALL = {**WRITE, "start_to_close_timeout": timedelta(seconds=15)}


def _is_breakdown(data: BreakdownInput) -> bool:
    return data.report_type == "BREAKDOWN" or data.stopped_equipment


@workflow.defn
class BreakdownWorkflow:
    @workflow.init
    def __init__(self, data: BreakdownInput) -> None:
        self._state = BreakdownState(
            report_id=data.report_id,
            reference=f"OPR-{data.report_id}",
            asset=data.asset_number,
            impacted_jobs=[data.impacted_job] if data.impacted_job else [],
        )

    @workflow.run
    async def run(self, data: BreakdownInput) -> BreakdownState:
        s = self._state
        step = ReportStepRequest(data.report_id, data.actor, list(data.photo_keys))
        await workflow.execute_activity_method(BreakdownActivities.record_report, data, **WRITE)
        s.steps.append("REPORTED")
        opened = await workflow.execute_activity_method(
            BreakdownActivities.open_report_work_order, step, **WRITE
        )
        s.work_order, s.work_order_type = opened.number, opened.type
        s.steps.append("WORK_ORDER_OPENED")
        if _is_breakdown(data):
            s.downtime_id = await workflow.execute_activity_method(
                BreakdownActivities.open_report_downtime, step, **WRITE
            )
            s.steps.append("DOWNTIME_STARTED")
        s.notified = await workflow.execute_activity_method(
            BreakdownActivities.notify_report, step, **WRITE
        )
        s.steps.append("ROLES_NOTIFIED")
        await workflow.execute_activity_method(
            BreakdownActivities.start_report_work_order,
            StartWorkOrderRequest(data.report_id, opened.number, data.actor, data.indexed),
            **CALL,
        )
        s.steps.append("WORK_ORDER_SUBMITTED")
        if _is_breakdown(data):
            s.asset_status = await workflow.execute_activity_method(
                BreakdownActivities.take_asset_down,
                AssetDownRequest(data.report_id, data.asset_id, opened.number, data.actor),
                **CALL,
            )
            s.steps.append("ASSET_DOWN")
        return s

    @workflow.query
    def get_state(self) -> BreakdownState:
        return self._state
