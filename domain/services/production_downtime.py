"""Stops logged on the floor (seed 002) and the one view of stoppages that joins them with
the maintenance downtime (seed 003 E.2), so one stoppage is never counted twice."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Integer, any_, bindparam, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from domain.actor import Actor
from domain.errors import Conflict, NotFound, RuleViolation
from domain.models import DowntimeRecord
from domain.models.production import Machine, OeeStoppage, ProductionDowntime
from domain.models.spans import touches_between
from domain.rules.downtime_reasons import SEVERITIES, category_for
from domain.rules.oee import Interval, Stop, Stoppage, merge_stops
from domain.services import oee_stoppages
from domain.services.audit import record_change
from domain.services.production import reason, reason_categories

ENTITY = "PRODUCTION_DOWNTIME"


def record_downtime(
    *,
    session: Session,
    actor: Actor,
    machine: Machine,
    reason_code: str,
    start: datetime,
    end: datetime | None = None,
    planned: bool | None = None,
    severity: str = "medium",
    notes: str | None = None,
    work_order_id: int | None = None,
    now: datetime | None = None,
) -> ProductionDowntime:
    """A stop, open or already ended. A machine has one open stop at a time from the floor:
    a second is refused so a double tap does not start two clocks."""
    now = now or datetime.now(UTC)
    if severity not in SEVERITIES:
        raise RuleViolation(f"severity: one of {', '.join(SEVERITIES)}", field="severity")
    if start > now + timedelta(minutes=5):
        raise RuleViolation("start_time: a stop cannot start in the future", field="start_time")
    if end is not None and end < start:
        raise RuleViolation("end_time: cannot be before start_time", field="end_time")
    code = reason(session=session, organization_id=machine.organization_id, code=reason_code)
    if end is None:
        running = session.scalar(
            select(ProductionDowntime.id)
            .where(
                ProductionDowntime.machine_id == machine.id, ProductionDowntime.end_time.is_(None)
            )  # fmt: skip
            .with_for_update()
        )
        if running is not None:
            raise Conflict(
                f"machine already has an open downtime ({running}): end it first",
                field="machine",
            )
    row = ProductionDowntime(
        organization_id=machine.organization_id, machine_id=machine.id, line_id=machine.line_id,
        work_order_id=work_order_id, reason_code=code.code, category=code.category,
        planned=code.is_planned if planned is None else planned, severity=severity,
        start_time=start, end_time=end, notes=notes, logged_by=actor.full_name,
        duration_minutes=_minutes(start, end),
        ended_by=actor.full_name if end else None,
    )  # fmt: skip
    session.add(row)
    session.flush()
    _keep_stoppages(session, machine, row, now)
    record_change(
        session=session, actor=actor, entity_type=ENTITY, entity_id=str(row.id),
        action="DOWNTIME_LOGGED", before=None, after=_state(row), reason=notes or code.code,
    )  # fmt: skip
    return row


def end_downtime(
    *,
    session: Session,
    actor: Actor,
    downtime_id: int,
    end: datetime,
    reason_code: str | None = None,
    notes: str | None = None,
) -> ProductionDowntime:
    row = session.scalars(
        select(ProductionDowntime)
        .where(
            ProductionDowntime.id == downtime_id,
            ProductionDowntime.organization_id == actor.organization_id,
        )  # fmt: skip
        .with_for_update()
    ).one_or_none()
    if row is None:
        raise NotFound(f"downtime {downtime_id} not found", field="downtime_id")
    if row.end_time is not None:
        raise Conflict(f"downtime {downtime_id} already ended at {row.end_time.isoformat()}",
                       field="end_time")  # fmt: skip
    if end < row.start_time:
        raise RuleViolation("end_time: cannot be before start_time", field="end_time")
    before = _state(row)
    if reason_code:
        code = reason(session=session, organization_id=row.organization_id, code=reason_code)
        row.reason_code, row.category = code.code, code.category
    row.end_time = end
    row.duration_minutes = _minutes(row.start_time, end)
    row.ended_by = actor.full_name
    if notes:
        row.notes = f"{row.notes}\n{notes}" if row.notes else notes
    session.flush()
    _keep_stoppages(session, session.get(Machine, row.machine_id), row, end)
    record_change(
        session=session, actor=actor, entity_type=ENTITY, entity_id=str(row.id),
        action="DOWNTIME_ENDED", before=before, after=_state(row), reason=notes or "ended",
    )  # fmt: skip
    from domain.services.oee_alerts import downtime_ended  # it reads OEE, which reads stops

    downtime_ended(session=session, row=row)  # its extended-downtime alert, if raised
    return row


def _keep_stoppages(session: Session, machine: Machine, row: ProductionDowntime, now) -> None:
    """The stored merged stoppages around this stop follow it at once."""
    span = Interval(row.start_time, max(row.end_time or now, row.start_time))
    oee_stoppages.refresh(session=session, machines=[machine], span=span)


def _minutes(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else round((end - start).total_seconds() / 60, 2)


def _state(row: ProductionDowntime) -> dict:
    return {
        "machine_id": row.machine_id, "reason_code": row.reason_code, "category": row.category,
        "planned": row.planned, "severity": row.severity,
        "start_time": row.start_time.isoformat(),
        "end_time": row.end_time.isoformat() if row.end_time else None,
        "duration_minutes": row.duration_minutes,
    }  # fmt: skip


_IDS = ARRAY(Integer)  # one type object: its cache key is computed once


def _any_of(ids) -> Any:
    """`= ANY(:ids)`, one array parameter: a site's hundreds of machines are not spelled out
    (and parsed) as hundreds of parameters in every query."""
    return any_(bindparam(None, list(ids), type_=_IDS))


_FLOOR = (ProductionDowntime.id, ProductionDowntime.machine_id, ProductionDowntime.start_time,
          ProductionDowntime.end_time, ProductionDowntime.reason_code,
          ProductionDowntime.category, ProductionDowntime.planned)  # fmt: skip
_KEPT = (DowntimeRecord.id, DowntimeRecord.asset_id, DowntimeRecord.start_time,
         DowntimeRecord.end_time, DowntimeRecord.reason_code, DowntimeRecord.type,
         DowntimeRecord.planned)  # fmt: skip


def _touching(model, key):
    """The rows of `model` (its `key` one of the `ids` parameter) touching [start, end]."""
    start = bindparam("start", type_=model.start_time.type)
    end = bindparam("end", type_=model.start_time.type)
    return (
        key == any_(bindparam("ids", type_=_IDS)),
        touches_between(model, start, end),
        model.start_time < end,
        or_(model.end_time.is_(None), model.end_time > start),
    )


@cache
def _queries():
    """The statements of `stops` and `stoppages`, built once (parameters ids, start, end):
    a site's read runs them at each ragged end of a period, and building them cost more
    than the database's work."""
    s = OeeStoppage
    return (
        select(*_FLOOR).where(*_touching(ProductionDowntime, ProductionDowntime.machine_id)),
        select(*_KEPT).where(*_touching(DowntimeRecord, DowntimeRecord.asset_id)),
        select(func.min(s.start_time),
               func.max(func.coalesce(s.end_time, bindparam("end", type_=s.start_time.type))))
        .where(*_touching(s, s.machine_id)),
    )  # fmt: skip


def stops(*, session: Session, machines: Sequence[Machine], period: Interval) -> list[Stop]:
    """Every stop of the machines touching the period, from both records. A maintenance
    downtime is keyed "maintenance:<id>", a floor stop "oee:<id>"."""
    if not machines:
        return []
    by_id = {m.id: m for m in machines}
    by_asset = {m.asset_id: m for m in machines}
    org = machines[0].organization_id
    catalogue = reason_categories(session=session, organization_id=org)
    out: list[Stop] = []
    floor, kept, _ = _queries()
    # Columns, not entities: a site's quarter is tens of thousands of rows.
    at = {"start": period.start, "end": period.end}
    for d_id, machine_id, start, end, code, category, planned in session.execute(
        floor, {"ids": list(by_id), **at}
    ):
        out.append(Stop(f"oee:{d_id}", machine_id, start, end, code, category, planned))
    for d_id, asset_id, start, end, code, kind, planned in session.execute(
        kept, {"ids": list(by_asset), **at}
    ):
        out.append(Stop(
            f"maintenance:{d_id}", by_asset[asset_id].id, start, end,
            code, category_for(code, kind, catalogue), planned or kind == "PM",
        ))  # fmt: skip
    return out


def stoppages(*, session: Session, machines: Sequence[Machine], period: Interval) -> list[Stoppage]:
    """The merged stoppages touching the period. The stops are read over the span of the
    kept stoppages touching it, so a stoppage begun before the period by an earlier stop
    that ends before it still carries the earliest reason."""
    span = period
    if machines:
        first, last = session.execute(
            _queries()[2], {"ids": [m.id for m in machines], "start": period.start,
                            "end": period.end}
        ).one()  # fmt: skip
        if first is not None:
            span = Interval(min(first, period.start), max(last, period.end))
    return [
        s for s in merge_stops(stops(session=session, machines=machines, period=span))
        if s.start < period.end and (s.end is None or s.end > period.start)
    ]  # fmt: skip
