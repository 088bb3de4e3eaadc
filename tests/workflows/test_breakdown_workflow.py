"""BreakdownWorkflow on the time-skipping server: every step of a report with its rows,
a second run of each step adding nothing, and replay."""

import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from temporalio.client import Client
from temporalio.worker import Replayer

from activities.breakdown import OPERATOR_REPORT_STEPS, BreakdownActivities
from activities.steps import StepInput, write
from domain.db import transaction
from domain.models import (
    Asset,
    AuditLog,
    DowntimeRecord,
    Notification,
    OperatorReport,
    WorkOrder,
    WorkOrderAttachment,
)
from domain.services import breakdowns as breakdown_service
from tests.anomaly_helpers import PNG, actor
from workers import registry
from workflows.breakdown import BreakdownWorkflow
from workflows.breakdown_types import (
    AssetDownRequest,
    BreakdownInput,
    ReportStepRequest,
    StartWorkOrderRequest,
)
from workflows.kit import ASSET as ASSET_KEY
from workflows.kit import ENTITY, SITE, STATUS
from workflows.work_order import WorkOrderWorkflow

HISTORIES = Path(__file__).parent.parent / "histories"
ASSET = "SAW-JKS-001"


def report_input(sessions, asset: str = ASSET, photos: int = 1, **fields) -> BreakdownInput:
    """A report as the API hands it over: validated, its id reserved, its photos stored."""
    who = actor(sessions, "operator")
    with transaction(sessions) as s:
        row = s.scalars(select(Asset).where(Asset.asset_number == asset)).one()
        report_id = breakdown_service.reserve_report_id(s)
        keys = [
            breakdown_service.store_file(
                session=s,
                organization_id=who.organization_id,
                filename=f"leak-{i}.png",
                content_type="image/png",
                content=PNG + bytes([i]),
            )
            for i in range(photos)
        ]
        values = {
            "report_type": "BREAKDOWN",
            "severity": "HIGH",
            "symptom": "FLUID_LEAK",
            "description": "Hydraulic oil under the saw",
            "stopped_equipment": True,
            "safety_hazard": False,
            "impacted_job": "JOB-7",
        } | fields
        return BreakdownInput(
            report_id=report_id,
            organization_id=who.organization_id,
            asset_id=row.id,
            asset_number=asset,
            reported_at=datetime.now(UTC),
            actor=who,
            photo_keys=keys,
            indexed=False,
            **values,
        )


def counts(sessions, data: BreakdownInput) -> dict[str, object]:
    reference = f"OPR-{data.report_id}"
    with sessions() as s:
        wo = s.scalars(select(WorkOrder).where(WorkOrder.source_reference == reference)).all()
        numbers = [w.number for w in wo]
        return {
            "reports": s.scalar(select(func.count()).select_from(OperatorReport)
                                .where(OperatorReport.id == data.report_id)),
            "work_orders": len(wo),
            "status": [w.status for w in wo],
            "photos": s.scalar(select(func.count()).select_from(WorkOrderAttachment)
                               .where(WorkOrderAttachment.work_order_id.in_([w.id for w in wo]))),
            "downtime": s.scalar(select(func.count()).select_from(DowntimeRecord)
                                 .where(DowntimeRecord.work_order_number.in_(numbers))),
            "notices": sorted(s.scalars(select(Notification.key)
                                        .where(Notification.key.like(f"{reference}/%")))),
            "audit": sorted(s.execute(select(AuditLog.entity_id, AuditLog.action).where(
                AuditLog.entity_id.in_([reference, *numbers]))).all()),
            "asset": s.get(Asset, data.asset_id).status.value,
        }  # fmt: skip


async def test_a_breakdown_report_does_every_step_once(tclient: Client, sessions, task_queue):
    data = replace(report_input(sessions), site_code="JKS", indexed=True)
    handle = await tclient.start_workflow(
        BreakdownWorkflow.run, data, id=f"OPR-{data.report_id}", task_queue=task_queue
    )
    outcome = await handle.result()
    assert outcome.work_order_type == "BREAKDOWN" and outcome.asset_status == "OUT_OF_SERVICE"
    assert outcome.impacted_jobs == ["JOB-7"] and outcome.downtime_id is not None
    assert outcome.steps == [
        "REPORTED", "WORK_ORDER_OPENED", "DOWNTIME_STARTED", "ROLES_NOTIFIED",
        "WORK_ORDER_SUBMITTED", "ASSET_DOWN",
    ]  # fmt: skip
    assert [e.action for e in outcome.events] == outcome.steps
    assert outcome.events[0].by == data.actor.full_name
    assert outcome.status == "ASSET_DOWN"
    found = (await handle.describe()).typed_search_attributes
    assert (found.get(ENTITY), found.get(ASSET_KEY), found.get(SITE), found.get(STATUS)) == (
        "OPERATOR_REPORT", ASSET, "JKS", "ASSET_DOWN",
    )  # fmt: skip
    number = outcome.work_order
    state = await tclient.get_workflow_handle(number).query(WorkOrderWorkflow.get_state)
    assert state.status == "SUBMITTED"
    first = counts(sessions, data)
    assert first["reports"] == 1 and first["work_orders"] == 1 and first["photos"] == 1
    assert first["downtime"] == 1 and first["status"] == ["SUBMITTED"]
    assert first["asset"] == "OUT_OF_SERVICE"
    # Through the one notifier: the site's supervisors and managers, once each.
    assert first["notices"] and all("/OPERATOR_REPORT/IN_APP/" in k for k in first["notices"])
    assert [a for _, a in first["audit"]].count("CREATED") == 1
    # Each step through the kit's step writer: the report's status, one audit row a step
    # (who, role, before, after), in the order done.
    reference = f"OPR-{data.report_id}"
    with sessions() as s:
        row = s.get(OperatorReport, data.report_id)
        steps = s.scalars(
            select(AuditLog).where(AuditLog.entity_id == reference).order_by(AuditLog.id)
        ).all()
    assert (row.status, row.last_step) == ("ASSET_DOWN", 7)  # six steps and one notice
    assert [a.action for a in steps] == outcome.steps
    assert {(a.user_name, a.user_role) for a in steps} == {(data.actor.full_name, data.actor.role)}
    assert (steps[0].previous_state, steps[0].new_state) == (
        {"status": None},
        {"status": "REPORTED"},
    )
    assert steps[0].reason == data.description
    assert steps[-1].previous_state == {"status": "WORK_ORDER_SUBMITTED"}

    # Each step run again after its commit (a worker lost before reporting it) adds nothing.
    acts = BreakdownActivities(sessions, tclient, task_queue)
    step = ReportStepRequest(data.report_id, data.actor, data.photo_keys)
    acts.record_report(data)
    assert acts.open_report_work_order(step).number == number
    assert acts.open_report_downtime(step) == outcome.downtime_id
    assert await acts.start_report_work_order(
        StartWorkOrderRequest(data.report_id, number, data.actor, False)
    ) == "SUBMITTED"  # fmt: skip
    down = AssetDownRequest(data.report_id, data.asset_id, number, data.actor)
    assert await acts.take_asset_down(down) == "OUT_OF_SERVICE"
    # A step write run again after its commit (its local activity retried) writes nothing.
    again = StepInput("OPERATOR_REPORT", reference, data.organization_id, 2,
                      "WORK_ORDER_OPENED", {"status": "WORK_ORDER_OPENED"}, data.actor)  # fmt: skip
    assert write(sessions, OPERATOR_REPORT_STEPS, again).written is False
    assert counts(sessions, data) == first
    with sessions() as s:
        assert s.get(OperatorReport, data.report_id).status == "ASSET_DOWN"

    history = await handle.fetch_history()
    await Replayer(workflows=registry.WORKFLOWS).replay_workflow(history)
    if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
        (HISTORIES / "breakdown_report_steps.json").write_text(history.to_json())


async def test_a_quality_report_opens_work_but_leaves_the_asset_running(
    tclient: Client, sessions, task_queue
):
    data = report_input(
        sessions, report_type="QUALITY_ISSUE", stopped_equipment=False, symptom="QUALITY_DEFECT",
        photos=0,
    )  # fmt: skip
    handle = await tclient.start_workflow(
        BreakdownWorkflow.run, data, id=f"OPR-{data.report_id}", task_queue=task_queue
    )
    outcome = await handle.result()
    assert outcome.work_order_type == "QUALITY_RELATED"
    assert (outcome.downtime_id, outcome.asset_status) == (None, None)
    assert outcome.steps == [
        "REPORTED", "WORK_ORDER_OPENED", "ROLES_NOTIFIED", "WORK_ORDER_SUBMITTED",
    ]  # fmt: skip
    with sessions() as s:
        assert s.get(OperatorReport, data.report_id).status == "WORK_ORDER_SUBMITTED"
    assert counts(sessions, data)["asset"] == "IN_SERVICE"


def test_breakdown_history_is_recorded():
    # Before the step writer, and with it.
    assert (HISTORIES / "breakdown_report.json").exists()
    assert (HISTORIES / "breakdown_report_steps.json").exists()
