"""OEE alerts and performance targets under /api/v1/oee (seed 002): the alerts raised,
their configuration, and a person's acknowledge, action and resolve, each audited."""

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import DbSession, require
from api.params import RowId
from domain.actor import Actor
from domain.rules import oee_alerts as rules
from domain.rules.roles import Action
from domain.schemas.fields import Code, Note
from domain.services import oee_alerts as service

router = APIRouter(prefix="/api/v1/oee", tags=["oee alerts"])
Viewer = Annotated[Actor, Depends(require(Action.VIEW_OEE))]
Handler = Annotated[Actor, Depends(require(Action.LOG_PRODUCTION))]
Setter = Annotated[Actor, Depends(require(Action.SET_OEE_TARGETS))]
Percent = Annotated[float, Field(ge=0, le=100)]


class AlertOut(BaseModel):
    id: int
    reference: str
    alert_type: str
    severity: str
    metric_name: str
    threshold_value: float | None
    actual_value: float | None
    machine: str | None
    reference_type: str
    reference_id: int | None
    message: str
    triggered_at: datetime
    status: str
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    action_notes: str | None
    action_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    resolution: str | None
    notification_sent: bool


class AlertList(BaseModel):
    items: list[AlertOut]


class AlertMoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    notes: Note | None = None


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target_type: str = Field(pattern="^(machine|line|product)$")
    reference: Code
    oee_target: Percent = 85.0
    availability_target: Percent = 90.0
    performance_target: Percent = 95.0
    quality_target: Percent = 99.0
    effective_date: date | None = None
    expiry_date: date | None = None


class TargetOut(BaseModel):
    id: int
    target_type: str
    reference: str
    oee_target: float
    availability_target: float
    performance_target: float
    quality_target: float
    effective_date: date
    expiry_date: date | None


def _list(session, actor: Actor, active: bool, machine: str | None) -> dict[str, Any]:
    allowed = service.visible_machines(session=session, actor=actor)
    if machine:
        from domain.services import production

        m = production.machine_for(session=session, actor=actor, ref=machine)
        allowed = [m.id] if allowed is None or m.id in allowed else []
    rows = service.list_alerts(
        session=session, organization_id=actor.organization_id, active=active,
        machine_ids=allowed,
    )  # fmt: skip
    return {"items": [service.alert_out(session, a) for a in rows]}


@router.get("/alerts", response_model=AlertList, summary="OEE alerts, newest first")
def alerts(
    session: DbSession,
    actor: Viewer,
    active: Annotated[bool, Query()] = False,
    machine: Annotated[Code | None, Query()] = None,
) -> dict[str, Any]:
    return _list(session, actor, active, machine)


@router.get("/alerts/active", response_model=AlertList, summary="Alerts not resolved yet")
def active_alerts(
    session: DbSession, actor: Viewer, machine: Annotated[Code | None, Query()] = None
) -> dict[str, Any]:
    return _list(session, actor, True, machine)


@router.get("/alerts/config", summary="Alert types: condition, severity, channels")
def alert_config(actor: Viewer) -> dict[str, Any]:
    thresholds = {
        rules.AlertType.OEE_BELOW_TARGET: "OEE over the last hour under the target in force",
        rules.AlertType.AVAILABILITY_LOW: f"availability under {rules.AVAILABILITY_LOW_PCT} %",
        rules.AlertType.PERFORMANCE_DROP: (
            f"performance under {rules.PERFORMANCE_DROP_PCT} % for 30 minutes"
        ),
        rules.AlertType.QUALITY_ISSUE: f"quality under {rules.QUALITY_ISSUE_PCT} %",
        rules.AlertType.EXTENDED_DOWNTIME: "a downtime open over 15 minutes",
        rules.AlertType.ENERGY_SPIKE: f"kWh over {rules.ENERGY_SPIKE_PCT} % of the baseline",
        rules.AlertType.SHIFT_OEE_MISS: (
            f"shift OEE under its target ({rules.SHIFT_OEE_TARGET_PCT} % unless set)"
        ),
    }
    return {
        "items": [
            {"alert_type": t.value, "title": r.title, "severity": r.severity,
             "condition": thresholds[t], "channels": [c.value for c in r.channels]}
            for t, r in rules.RULES.items()
        ]
    }  # fmt: skip


def _move(session, actor: Actor, alert_id: int, action: str, notes: str | None):
    service.alert_for(session=session, actor=actor, alert_id=alert_id)
    alert = service.move(session=session, actor=actor, alert_id=alert_id, action=action,
                         notes=notes)  # fmt: skip
    session.commit()
    return service.alert_out(session, alert)


@router.patch("/alerts/{alert_id}/acknowledge", response_model=AlertOut,
              summary="Acknowledge an alert (seen)")  # fmt: skip
@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut, include_in_schema=False)
def acknowledge(
    alert_id: RowId, session: DbSession, actor: Handler, data: AlertMoveIn | None = None
) -> dict[str, Any]:
    return _move(session, actor, alert_id, "acknowledge", data.notes if data else None)


@router.post("/alerts/{alert_id}/act", response_model=AlertOut,
             summary="Note the action taken on an alert")  # fmt: skip
def act(alert_id: RowId, data: AlertMoveIn, session: DbSession, actor: Handler) -> dict[str, Any]:
    return _move(session, actor, alert_id, "act", data.notes)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertOut, summary="Resolve an alert")
def resolve(
    alert_id: RowId, session: DbSession, actor: Handler, data: AlertMoveIn | None = None
) -> dict[str, Any]:
    return _move(session, actor, alert_id, "resolve", data.notes if data else None)


@router.get("/targets", response_model=list[TargetOut], summary="Performance targets")
def targets(session: DbSession, actor: Viewer) -> list[dict[str, Any]]:
    rows = service.list_targets(session=session, organization_id=actor.organization_id)
    return [service.target_out(r) for r in rows]


@router.post("/targets", response_model=TargetOut, status_code=201,
             summary="Set a machine's, line's or product's targets")  # fmt: skip
def set_target(data: TargetIn, session: DbSession, actor: Setter) -> dict[str, Any]:
    row = service.set_target(
        session=session, actor=actor, target_type=data.target_type, ref=data.reference,
        oee_target=data.oee_target, availability_target=data.availability_target,
        performance_target=data.performance_target, quality_target=data.quality_target,
        effective=data.effective_date or datetime.now(UTC).date(), expiry=data.expiry_date,
    )  # fmt: skip
    session.commit()
    return service.target_out(row)
