"""OEE endpoints of seed 002 under /api/v1/oee: output and stops in, figures out."""

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.deps import AppSettings, DbSession, TemporalClient, require
from api.params import RowId
from domain.actor import Actor
from domain.errors import RuleViolation
from domain.models import Asset, WorkOrder
from domain.models.production import Machine, ProductionDowntime
from domain.rules.oee import Interval
from domain.rules.roles import Action, Scope
from domain.schemas.fields import Code, Key
from domain.schemas.oee import (
    BottlenecksOut,
    CalculateIn,
    ComparisonOut,
    CountIn,
    CountOut,
    DowntimeEndIn,
    DowntimeIn,
    DowntimeOut,
    EnergyCostOut,
    EnergyReadingIn,
    EnergyReadingOut,
    OeeOut,
    ParetoOut,
    PerformanceLogIn,
    PerformanceLogList,
    PerformanceLogOut,
    QualityEventIn,
    QualityEventOut,
    RealtimeOut,
    ReasonList,
    ReliabilityOut,
    SnapshotsOut,
    TrendOut,
    UtilisationOut,
    When,
)
from domain.services import energy, oee_alerts, oee_live, production
from domain.services import oee as service
from domain.services import production_downtime as downtime
from workflows.oee_alert import end_watch, start_watch
from workflows.oee_alert_types import DowntimeWatchInput

router = APIRouter(prefix="/api/v1/oee", tags=["oee"])
Viewer = Annotated[Actor, Depends(require(Action.VIEW_OEE))]
Analyst = Annotated[Actor, Depends(require(Action.VIEW_OEE, Scope.FULL))]
Logger = Annotated[Actor, Depends(require(Action.LOG_PRODUCTION))]


class ScopePeriod:
    """The scope and period an analytics read names in its query."""

    def __init__(
        self,
        start: Annotated[When, Query()],
        end: Annotated[When, Query()],
        machine: Annotated[Code | None, Query()] = None,
        line: Annotated[Key | None, Query()] = None,
        site: Annotated[Key | None, Query()] = None,
    ) -> None:
        self.start, self.end = start, end
        self.machine, self.line, self.site = machine, line, site

    def resolve(self, session, actor: Actor) -> tuple[service.Scope, Interval]:
        scope = service.resolve(session=session, actor=actor, machine=self.machine,
                                line=self.line, site=self.site)  # fmt: skip
        return scope, service.period_of(self.start, self.end)


Asked = Annotated[ScopePeriod, Depends()]


def _number(session, machine_id: int) -> str:
    machine = session.get(Machine, machine_id)
    return session.get(Asset, machine.asset_id).asset_number


def _machine_and_order(session, actor: Actor, data) -> tuple[Machine, WorkOrder | None]:
    """What an entry names: its machine (one the caller logs for) and its work order, if any."""
    machine = production.machine_for(session=session, actor=actor, ref=data.machine, write=True)
    if not data.work_order:
        return machine, None
    return machine, production.work_order_for(session=session, actor=actor,
                                              number=data.work_order)  # fmt: skip


# -- output and quality --


@router.post("/production-counts", response_model=CountOut, status_code=201,
             summary="Record output of a machine over a period, or of a work order")  # fmt: skip
def record_count(data: CountIn, session: DbSession, actor: Logger) -> dict[str, Any]:
    row, created, machine, work_order = production.record_output(
        session=session, actor=actor, data=data
    )
    session.commit()
    return {
        "id": row.id, "machine": machine, "work_order": work_order.number if work_order
        else None, "product_code": row.product_code, "period_start": row.period_start,
        "period_end": row.period_end, "total": row.total, "good": row.good, "reject": row.reject,
        "rework": row.rework, "startup_reject": row.startup_reject,
        "ideal_cycle_seconds": row.ideal_cycle_seconds, "created": created,
    }  # fmt: skip


@router.post("/quality-events", response_model=QualityEventOut, status_code=201,
             summary="Record scrap, rework or rejects")  # fmt: skip
def record_quality(data: QualityEventIn, session: DbSession, actor: Logger) -> dict[str, Any]:
    machine, work_order = _machine_and_order(session, actor, data)
    row = production.record_quality_event(
        session=session, actor=actor, machine=machine, event_type=data.event_type,
        quantity=data.quantity, occurred_at=data.occurred_at, defect_type=data.defect_type,
        notes=data.notes, work_order=work_order,
    )  # fmt: skip
    session.commit()
    return {"id": row.id, "machine": data.machine.upper(), "event_type": row.event_type,
            "quantity": row.quantity, "occurred_at": row.occurred_at}  # fmt: skip


def _log_out(session, row) -> dict[str, Any]:
    return {
        "id": row.id, "machine": _number(session, row.machine_id), "logged_at": row.logged_at,
        "actual_cycle_seconds": row.actual_cycle_seconds,
        "target_cycle_seconds": row.target_cycle_seconds, "units": row.units,
        "speed_pct": round(100 * row.target_cycle_seconds / row.actual_cycle_seconds, 2),
    }  # fmt: skip


@router.post("/performance-logs", response_model=PerformanceLogOut, status_code=201,
             summary="Record observed cycle times")  # fmt: skip
def record_performance(data: PerformanceLogIn, session: DbSession, actor: Logger) -> dict[str, Any]:
    machine, work_order = _machine_and_order(session, actor, data)
    row = production.record_performance_log(
        session=session, actor=actor, machine=machine, logged_at=data.logged_at,
        actual_cycle_seconds=data.actual_cycle_seconds, units=data.units,
        target_cycle_seconds=data.target_cycle_seconds, work_order=work_order,
    )  # fmt: skip
    session.commit()
    return _log_out(session, row)


@router.get("/performance-logs", response_model=PerformanceLogList,
            summary="A machine's cycle time logs over a period")  # fmt: skip
def list_performance(
    machine: Annotated[Code, Query()],
    start: Annotated[When, Query()],
    end: Annotated[When, Query()],
    session: DbSession,
    actor: Viewer,
) -> dict[str, Any]:
    found = production.machine_for(session=session, actor=actor, ref=machine)
    rows = production.performance_logs(session=session, machine=found, start=start, end=end)
    return {"items": [_log_out(session, r) for r in rows]}


# -- downtime --


def _downtime_out(session, d: ProductionDowntime) -> dict[str, Any]:
    return {
        "id": d.id, "machine": _number(session, d.machine_id), "reason_code": d.reason_code,
        "category": d.category, "planned": d.planned, "severity": d.severity,
        "start_time": d.start_time, "end_time": d.end_time,
        "duration_minutes": d.duration_minutes,
        "duration_hours": round(d.duration_minutes / 60, 2)
        if d.duration_minutes is not None else None,
        "notes": d.notes,
    }  # fmt: skip


@router.get("/downtime/reasons", response_model=ReasonList, summary="Downtime reason codes")
def reasons(session: DbSession, actor: Viewer) -> dict[str, Any]:
    rows = production.list_reasons(session=session, organization_id=actor.organization_id)
    session.commit()  # the default catalogue, written on first use
    return {
        "items": [
            {"code": r.code, "category": r.category, "description": r.description,
             "planned": r.is_planned, "color": r.color}
            for r in rows if r.is_active
        ]
    }  # fmt: skip


@router.post("/downtime", response_model=DowntimeOut, status_code=201,
             summary="Record a downtime event (open, or already ended)")  # fmt: skip
async def record_downtime(
    data: DowntimeIn,
    session: DbSession,
    actor: Logger,
    client: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:
    def record() -> tuple[dict[str, Any], DowntimeWatchInput | None]:
        machine, work_order = _machine_and_order(session, actor, data)
        production.runs_on(work_order, machine)
        row = downtime.record_downtime(
            session=session, actor=actor, machine=machine, reason_code=data.reason_code,
            start=data.start_time or datetime.now(UTC), end=data.end_time,
            planned=data.planned, severity=data.severity, notes=data.notes,
            work_order_id=work_order.id if work_order else None,
        )  # fmt: skip
        session.commit()
        # An open stop: its extended-downtime timer.
        watch = (DowntimeWatchInput(row.id, row.organization_id, row.start_time)
                 if row.end_time is None else None)  # fmt: skip
        return _downtime_out(session, row), watch

    # In a thread: a slow write does not hold up every other request on the event loop.
    out, watch = await asyncio.to_thread(record)
    if watch is not None:
        await start_watch(client, settings.task_queue, watch)
    return out


@router.put("/downtime/{downtime_id}/end", response_model=DowntimeOut,
            summary="End a downtime event")  # fmt: skip
async def end_downtime(
    downtime_id: RowId,
    data: DowntimeEndIn,
    session: DbSession,
    actor: Logger,
    client: TemporalClient,
) -> dict[str, Any]:
    def end() -> tuple[dict[str, Any], ProductionDowntime]:
        row = session.get(ProductionDowntime, downtime_id)
        if row is not None and row.organization_id == actor.organization_id:
            # An operator ends the stops of its own work centre only, as it logs them.
            production.machine_for(session=session, actor=actor,
                                   ref=_number(session, row.machine_id), write=True)  # fmt: skip
        row = downtime.end_downtime(
            session=session, actor=actor, downtime_id=downtime_id,
            end=data.end_time or datetime.now(UTC), reason_code=data.reason_code,
            notes=data.notes,
        )  # fmt: skip
        session.commit()
        return _downtime_out(session, row), row

    out, row = await asyncio.to_thread(end)  # off the event loop, as above
    await end_watch(client, row.id, row.start_time)
    return out


@router.get("/downtime/analysis", response_model=ParetoOut,
            summary="Downtime Pareto by reason or by category")  # fmt: skip
def downtime_analysis(
    asked: Asked,
    session: DbSession,
    actor: Analyst,
    by: Annotated[str, Query(pattern="^(reason|category)$")] = "reason",
    source: Annotated[str, Query(pattern="^(records|summaries)$")] = "records",
) -> dict[str, Any]:
    scope, period = asked.resolve(session, actor)
    if source == "summaries":  # the merged stoppages kept, summed by the database
        return service.pareto_stored(session=session, scope=scope, period=period, by=by)
    return service.pareto(session=session, scope=scope, period=period, by=by)


# -- figures --


@router.post("/calculate", response_model=OeeOut,
             summary="OEE of a machine, line or site over a period")  # fmt: skip
def calculate(data: CalculateIn, session: DbSession, actor: Viewer) -> dict[str, Any]:
    scope = service.resolve(session=session, actor=actor, machine=data.machine, line=data.line,
                            site=data.site)  # fmt: skip
    period = service.period_of(data.start, data.end)
    if data.source == "summaries":
        if data.by_shift:
            raise RuleViolation("by_shift: per shift figures come from the records",
                                field="by_shift")  # fmt: skip
        return service.summed(session=session, scope=scope, period=period)
    return service.calculate(session=session, scope=scope, period=period, by_shift=data.by_shift)


@router.get("/analytics/trends", response_model=TrendOut,
            summary="OEE per day or per hour, from the summaries")  # fmt: skip
def trends(
    asked: Asked,
    session: DbSession,
    actor: Analyst,
    grain: Annotated[str, Query(pattern="^(day|hour)$")] = "day",
) -> dict[str, Any]:
    scope, period = asked.resolve(session, actor)
    return service.trend(session=session, scope=scope, period=period, grain=grain)


@router.get("/analytics/mtbf", response_model=ReliabilityOut, summary="MTBF, MTTR, availability")
def mtbf(
    asked: Asked,
    session: DbSession,
    actor: Analyst,
    source: Annotated[str, Query(pattern="^(records|summaries)$")] = "records",
) -> dict[str, Any]:
    scope, period = asked.resolve(session, actor)
    if source == "summaries":  # the stoppages kept and the OEE summaries: a quarter at once
        return service.reliability_stored(session=session, scope=scope, period=period)
    return service.reliability(session=session, scope=scope, period=period)


@router.get("/analytics/utilization", response_model=UtilisationOut,
            summary="Scheduled, running, idle and down time")  # fmt: skip
def utilization(asked: Asked, session: DbSession, actor: Analyst) -> dict[str, Any]:
    scope, period = asked.resolve(session, actor)
    return service.utilisation(session=session, scope=scope, period=period)


@router.get("/analytics/bottlenecks", response_model=BottlenecksOut,
            summary="The machine pacing each line (most planned time per good unit)")  # fmt: skip
def bottlenecks(
    asked: Asked,
    session: DbSession,
    actor: Analyst,
    source: Annotated[str, Query(pattern="^(records|summaries)$")] = "records",
) -> dict[str, Any]:
    scope, period = asked.resolve(session, actor)
    stored = source == "summaries"
    return service.bottlenecks(session=session, scope=scope, period=period, stored=stored)


@router.get("/analytics/comparisons", response_model=ComparisonOut,
            summary="A period against the one before it, or against a period given")  # fmt: skip
def comparisons(
    asked: Asked,
    session: DbSession,
    actor: Analyst,
    previous_start: Annotated[When | None, Query()] = None,
    previous_end: Annotated[When | None, Query()] = None,
) -> dict[str, Any]:
    scope, current = asked.resolve(session, actor)
    if previous_start is None or previous_end is None:
        # The same length of time just before the current period.
        previous = Interval(current.start - (current.end - current.start), current.start)
    else:
        previous = service.period_of(previous_start, previous_end)
    return service.comparison(session=session, scope=scope, current=current, previous=previous)


@router.get("/snapshots", response_model=SnapshotsOut,
            summary="A machine's five-minute OEE snapshots over a period")  # fmt: skip
def snapshots(
    machine: Annotated[Code, Query()],
    start: Annotated[When, Query()],
    end: Annotated[When, Query()],
    session: DbSession,
    actor: Analyst,
) -> dict[str, Any]:
    scope = service.resolve(session=session, actor=actor, machine=machine)
    return oee_live.snapshots(session=session, scope=scope, period=service.period_of(start, end))


@router.get("/realtime/{machine}", response_model=RealtimeOut,
            summary="A machine's status now and the OEE of the running shift so far")  # fmt: skip
def realtime(machine: Code, session: DbSession, actor: Viewer) -> dict[str, Any]:
    scope = service.resolve(session=session, actor=actor, machine=machine)
    # An operator sees the cards of its own work centre only.
    production.machine_for(session=session, actor=actor, ref=machine, write=True)
    return oee_live.realtime(session=session, scope=scope, now=datetime.now(UTC))


# -- energy --


@router.post("/energy/readings", response_model=EnergyReadingOut, status_code=201,
             summary="Record an energy reading")  # fmt: skip
def record_energy(data: EnergyReadingIn, session: DbSession, actor: Logger) -> dict[str, Any]:
    machine = production.machine_for(session=session, actor=actor, ref=data.machine, write=True)
    row = energy.record_reading(
        session=session, actor=actor, machine=machine, reading_time=data.reading_time,
        kwh=data.kwh, meter_reading=data.meter_reading, reading_type=data.reading_type,
        source=data.source,
    )  # fmt: skip
    oee_alerts.evaluate_energy(session=session, reading=row)  # seed 002: energy spike
    session.commit()
    return {"id": row.id, "machine": data.machine.upper(), "reading_time": row.reading_time,
            "kwh": row.kwh}  # fmt: skip


@router.get("/energy/cost", response_model=EnergyCostOut,
            summary="Energy use and cost against the baseline")  # fmt: skip
def energy_cost(asked: Asked, session: DbSession, actor: Analyst) -> dict[str, Any]:
    scope, period = asked.resolve(session, actor)
    return energy.consumption(session=session, scope=scope, period=period)
