"""BreakdownWorkflow: one per operator report (id OPR-<report id>), doing every step the
report sets in motion (seed 003 E.1, E.4): the report recorded, the work order opened
with its photos, the downtime clock started, the roles told, the work order started on
its lifecycle and submitted, the asset taken out of service through its own workflow.

Each step is an activity keyed by the report, so a worker lost between two steps leaves
the rest to the next one and nothing is done twice. Each step done is then written through
the kit's step writer: the report's status (the last step done) with its audit row, keyed
by the step's number (runs recorded before REPORT_STEPS kept them on the timeline only)."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.breakdown import BreakdownActivities
    from domain.rules.alerts import Audience, Channel
    from workflows.breakdown_types import (
        AssetDownRequest,
        BreakdownInput,
        BreakdownState,
        ReportStepRequest,
        StartWorkOrderRequest,
    )
    from workflows.kit import LOCAL_STEPS, Record, index

# Database steps are short; a worker lost in one is noticed after this much.
WRITE = {
    "start_to_close_timeout": timedelta(seconds=10),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=5), maximum_attempts=20),
}
# Steps that wait on another lifecycle (the work order's, the asset's).
CALL = {**WRITE, "start_to_close_timeout": timedelta(seconds=15)}
# Each step done written to the report's row with its audit row (the kit's step writer).
REPORT_STEPS = "report-steps"


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
        self._in = data
        self._record = Record("OPERATOR_REPORT", f"OPR-{data.report_id}", data.organization_id)
        self._steps = False

    @workflow.run
    async def run(self, data: BreakdownInput) -> BreakdownState:
        s = self._state
        # Asked before the first command, so both markers lead the history.
        self._steps = workflow.patched(REPORT_STEPS)
        if self._steps:
            workflow.patched(LOCAL_STEPS)
        self._index()
        step = ReportStepRequest(data.report_id, data.actor, list(data.photo_keys))
        if self._steps:
            await workflow.execute_activity_method(BreakdownActivities.create_report, data, **WRITE)
            await self._done("REPORTED", data.symptom, data.description)
        else:
            await workflow.execute_activity_method(BreakdownActivities.record_report, data, **WRITE)
            await self._done("REPORTED", data.symptom)
        opened = await workflow.execute_activity_method(
            BreakdownActivities.open_report_work_order, step, **WRITE
        )
        s.work_order, s.work_order_type = opened.number, opened.type
        await self._done("WORK_ORDER_OPENED", opened.number)
        if _is_breakdown(data):
            s.downtime_id = await workflow.execute_activity_method(
                BreakdownActivities.open_report_downtime, step, **WRITE
            )
            await self._done("DOWNTIME_STARTED")
        # In-app notices through the one notifier, keyed by this record's step: a step
        # run again queues nothing more.
        await self._record.notify(
            "OPERATOR_REPORT",
            [(Channel.IN_APP, Audience.TEAM_LEAD), (Channel.IN_APP, Audience.MANAGER)],
            {"work_order": opened.number, "reported_by": data.actor.full_name},
        )
        await self._done("ROLES_NOTIFIED")
        await workflow.execute_activity_method(
            BreakdownActivities.start_report_work_order,
            StartWorkOrderRequest(data.report_id, opened.number, data.actor, data.indexed),
            **CALL,
        )
        await self._done("WORK_ORDER_SUBMITTED", opened.number)
        if _is_breakdown(data):
            s.asset_status = await workflow.execute_activity_method(
                BreakdownActivities.take_asset_down,
                AssetDownRequest(data.report_id, data.asset_id, opened.number, data.actor),
                **CALL,
            )
            await self._done("ASSET_DOWN", s.asset_status or "")
        return s

    @workflow.query
    def get_state(self) -> BreakdownState:
        return self._state

    async def _done(self, step: str, detail: str = "", reason: str | None = None) -> None:
        """A step done: the report's status and its audit row (on the timeline with them),
        and the search attributes' status."""
        actor = self._in.actor
        if self._steps:
            await self._record.write(step, {"status": step}, actor, reason or detail or None)
        else:
            self._record.log(step, actor.full_name, actor.role, detail)
        self._state.steps.append(step)
        self._state.status = step
        self._state.events = self._record.events
        self._index()

    def _index(self) -> None:
        d, s = self._in, self._state
        status = s.steps[-1] if s.steps else "REPORTING"
        index(d.indexed, "OPERATOR_REPORT", asset=d.asset_number, site=d.site_code, status=status)
