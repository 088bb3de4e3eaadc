"""Breakdowns and stop-work (seed 003 E.1, E.4, F.3): what one report or one stop-work
order sets in motion across the asset, its work orders, downtime and notices."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from activities.work_orders import snapshot
from api import work_order_actions as wo_actions
from api.asset_status import change_status
from api.errors import ApiError
from domain.actor import Actor, system_actor
from domain.models import OperatorReport, StopWork, User, WorkOrder
from domain.rules import work_orders as rules
from domain.rules.alerts import Channel
from domain.schemas.assets import StatusChange
from domain.schemas.work_orders import OperatorReportIn
from domain.services import assets as asset_service
from domain.services import dispatch as dispatch_service
from domain.services import downtime as downtime_service
from domain.services import outbox
from domain.services import work_orders as service
from workflows.work_order import WorkOrderWorkflow
from workflows.work_order_types import MoveRequest, StopWorkRequest, WorkOrderInput

PRIORITY = {
    "CRITICAL": rules.WoPriority.EMERGENCY,
    "HIGH": rules.WoPriority.HIGH,
    "MEDIUM": rules.WoPriority.NORMAL,
    "LOW": rules.WoPriority.LOW,
}
# An asset in one of these needs no move when a breakdown is reported on it.
STOPPED_ALREADY = {"OUT_OF_SERVICE", "SAFETY_HOLD"}
REASON_BY_SYMPTOM = {
    "NOT_STARTING": "BD-ELEC",
    "OVERHEATING": "BD-MECH",
    "FLUID_LEAK": "BD-HYDR",
    "SMOKE_SMELL": "BD-ELEC",
    "QUALITY_DEFECT": "BD-TOOL",
}


def notify_roles(session, actor: Actor, asset, wo: WorkOrder, roles: set[str], text: str) -> None:
    """In-app notices (shown in each queue) to the site's holders of these roles."""
    users = session.scalars(
        select(User).where(User.organization_id == actor.organization_id, User.is_active)
    ).all()
    outbox.enqueue(
        session,
        [
            outbox.Message(
                f"{wo.number}/{wo.source}/IN_APP/{u.id}",
                actor.organization_id,
                None,
                wo.source,
                Channel.IN_APP,
                u,
                f"[{wo.number}] {wo.type.replace('_', ' ').title()} on {asset.asset_number}: "
                f"{wo.title}",
                text,
            )
            for u in users
            if roles & set(u.roles) and u.home_site_id in (None, asset.site_id)
        ],
        {Channel.IN_APP},
    )


async def submit_report(
    app_state, actor: Actor, data: OperatorReportIn, photos: list[tuple[str, str, bytes]]
) -> dict[str, Any]:
    client, settings = app_state.temporal, app_state.settings
    now = data.reported_at or datetime.now(UTC)
    breakdown = data.report_type.value == "BREAKDOWN" or data.stopped_equipment
    with app_state.sessions() as session, session.begin():
        asset = asset_service.asset_for_write(session=session, actor=actor, ref=data.asset)
        report = OperatorReport(
            organization_id=actor.organization_id,
            asset_id=asset.id,
            report_type=data.report_type.value,
            severity=data.severity.value,
            symptom=data.symptom.value,
            description=data.description,
            stopped_equipment=data.stopped_equipment,
            safety_hazard=data.safety_hazard,
            impacted_job=data.impacted_job,
            reported_by_id=actor.user_id,
            reported_by=actor.full_name,
            reported_at=now,
        )
        session.add(report)
        session.flush()
        wo_type = (
            rules.WoType.BREAKDOWN
            if breakdown
            else rules.WoType.SAFETY_RELATED
            if data.safety_hazard
            else rules.WoType.QUALITY_RELATED
            if data.report_type.value == "QUALITY_ISSUE"
            else rules.WoType.CORRECTIVE
        )
        wo = service.create(
            session=session,
            actor=actor,
            asset=asset,
            type=wo_type,
            priority=PRIORITY[data.severity.value],
            source=rules.WoSource.OPERATOR_REPORT,
            source_reference=f"OPR-{report.id}",
            title=f"{data.symptom.value.replace('_', ' ').lower()} on {asset.asset_number}",
            description=data.description,
            now=now,
        )
        for name, content_type, content in photos:
            service.add_attachment(
                session, wo, actor, rules.Evidence.PHOTO_BEFORE, name, content_type, content,
                "from the operator report",
            )  # fmt: skip
        report.work_order_number = wo.number
        downtime = None
        if breakdown:
            downtime = downtime_service.start_downtime(
                session,
                asset,
                actor,
                "BREAKDOWN",
                REASON_BY_SYMPTOM.get(data.symptom.value, "BD-MECH"),
                now,
                [data.impacted_job] if data.impacted_job else [],
                data.description,
                wo.number,
            )
            wo.downtime_id = report.downtime_id = downtime.id
        notify_roles(
            session, actor, asset, wo, {"MAINT_SUPERVISOR", "MAINT_MANAGER"},
            f"{actor.full_name} reports: {data.description}",
        )  # fmt: skip
        number, asset_number = wo.number, asset.asset_number
        report_id = report.id
        downtime_id = downtime.id if downtime else None
        session.flush()
        input_snapshot = snapshot(session, wo)
    await client.start_workflow(
        WorkOrderWorkflow.run,
        WorkOrderInput(number, actor.organization_id, input_snapshot),
        id=number,
        task_queue=settings.task_queue,
    )
    platform = system_actor(actor.organization_id, "operator report")
    await wo_actions.update(
        client,
        number,
        WorkOrderWorkflow.submit,
        MoveRequest(platform, f"reported by {actor.full_name}"),
    )
    answer = {
        "report_id": report_id,
        "work_order": number,
        "work_order_type": wo_type.value,
        "asset": asset_number,
        "downtime_id": downtime_id,
        "impacted_jobs": [data.impacted_job] if data.impacted_job else [],
    }
    asset_status = None
    if breakdown:
        with app_state.sessions() as session:
            current = asset_service.asset_for_write(
                session=session, actor=platform, ref=asset_number
            )
            if current.status.value in STOPPED_ALREADY:
                # Already down, or held by a stop-work (stricter): the report still stands.
                return {**answer, "asset_status": current.status.value}
            entry = await change_status(
                client=client,
                task_queue=settings.task_queue,
                session=session,
                actor=platform,
                ref=asset_number,
                change=StatusChange(
                    status="OUT_OF_SERVICE",
                    reason=f"breakdown reported by {actor.full_name} ({number})",
                ),
            )
            asset_status = entry.status
    return {**answer, "asset_status": asset_status}


async def raise_stop_work(app_state, actor: Actor, asset_ref: str, reason: str) -> dict[str, Any]:
    client, settings = app_state.temporal, app_state.settings
    with app_state.sessions() as session, session.begin():
        asset = asset_service.asset_for_write(session=session, actor=actor, ref=asset_ref)
        swa = StopWork(
            organization_id=actor.organization_id,
            asset_id=asset.id,
            reason=reason,
            raised_by=actor.full_name,
        )
        session.add(swa)
        session.flush()
        held = dispatch_service.active_on_asset(session, asset.id)
        swa.held_work_orders = held
        told = dispatch_service.open_on_asset(session, asset.id)  # held, and any not started yet
        swa_id, asset_number = swa.id, asset.asset_number
        already = asset.status.value == "SAFETY_HOLD"
    if not already:
        with app_state.sessions() as session:
            await change_status(
                client=client,
                task_queue=settings.task_queue,
                session=session,
                actor=system_actor(actor.organization_id, "stop-work"),
                ref=asset_number,
                change=StatusChange(
                    status="SAFETY_HOLD", reason=f"stop-work by {actor.full_name}: {reason}"
                ),
            )
    unreached = await _tell_each(client, told, StopWorkRequest(actor, reason))
    return {"stop_work_id": swa_id, "asset": asset_number, "asset_status": "SAFETY_HOLD",
            "held_work_orders": held, "unreached_work_orders": unreached}  # fmt: skip


async def _tell_each(client, numbers: list[str], notice: StopWorkRequest) -> list[str]:
    """Every work order hears it; one that cannot does not stop the others, and is named."""
    unreached = []
    for number in numbers:
        try:
            await wo_actions.update(client, number, WorkOrderWorkflow.stop_work, notice)
        except ApiError:
            unreached.append(number)
    return unreached


async def clear_stop_work(app_state, actor: Actor, swa_id: int, reason: str) -> dict[str, Any]:
    client, settings = app_state.temporal, app_state.settings
    with app_state.sessions() as session:
        swa = session.get(StopWork, swa_id)
        if swa is None or swa.organization_id != actor.organization_id:
            raise ApiError(404, "NotFound", f"stop-work {swa_id} not found", "swa_id")
        if swa.cleared_at:
            raise ApiError(409, "Conflict", f"stop-work {swa_id} was cleared by {swa.cleared_by}")
        asset = service.get_asset_by_id(session, swa.asset_id)
        held, asset_number = list(swa.held_work_orders), asset.asset_number
        told = dispatch_service.open_on_asset(session, asset.id)
        others = session.scalars(
            select(StopWork.id).where(
                StopWork.asset_id == asset.id, StopWork.cleared_at.is_(None), StopWork.id != swa_id
            )
        ).all()
    if not others:  # the asset stays held while another stop-work is open
        with app_state.sessions() as session:
            await change_status(
                client=client,
                task_queue=settings.task_queue,
                session=session,
                actor=actor,
                ref=asset_number,
                change=StatusChange(status="MAINTENANCE", reason=reason or "stop-work cleared"),
            )
    with app_state.sessions() as session, session.begin():  # cleared once the asset is released
        swa = session.get(StopWork, swa_id)
        swa.cleared_by, swa.cleared_at = actor.full_name, datetime.now(UTC)
    unreached = []
    if not others:
        unreached = await _tell_each(
            client, told, StopWorkRequest(actor, reason or "cleared", cleared=True)
        )
    return {"stop_work_id": swa_id, "asset": asset_number,
            "asset_status": "SAFETY_HOLD" if others else "MAINTENANCE",
            "released_work_orders": [] if others else held,
            "still_open_stop_work": list(others), "unreached_work_orders": unreached}  # fmt: skip
