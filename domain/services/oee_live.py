"""A machine's live OEE (seed 002 `realtime/{machine}`): the running shift so far, its
status now and its target; and its five-minute snapshots over a period."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import RuleViolation
from domain.models.production import Machine, OeeSnapshot, Shift
from domain.rules import oee as rules
from domain.rules.oee import Interval, Tally
from domain.services import oee
from domain.services.oee_snapshots import TALLY_COLUMNS
from domain.services.production import site_shift_windows

MAX_SNAPSHOT_SPAN = timedelta(days=31)  # 8,928 slots of one machine


def _machine(scope: oee.Scope) -> Machine:
    if scope.kind != "machine" or len(scope.machines) != 1:
        raise RuleViolation("machine: give one machine", field="machine")
    return scope.machines[0]


def realtime(*, session: Session, scope: oee.Scope, now: datetime) -> dict[str, Any]:
    """Status now (down inside an open or current stoppage, running inside the planned time
    of a shift, idle otherwise: between shifts or in a planned stop) and the OEE of the
    shift running now from its start, against the machine's target and the shift's."""
    machine = _machine(scope)
    site = scope.sites[machine.site_id]
    near = Interval(now - timedelta(days=1), now + timedelta(seconds=1))
    shift = next(
        (w for w in site_shift_windows(session=session, site=site, period=near)
         if w.interval.start <= now < w.interval.end),
        None,
    )  # fmt: skip
    so_far = Interval(shift.interval.start if shift else now, now)
    facts = oee.load(session=session, scope=scope, period=Interval(so_far.start, near.end))
    current = next(
        (s for s in facts.stoppages.get(machine.id, [])
         if s.start <= now and (s.end is None or s.end > now)),
        None,
    )  # fmt: skip
    planned_now = shift is not None and any(p.start <= now < p.end for p in shift.planned)
    status = "down" if current else "running" if planned_now else "idle"
    tally = facts.tally(machine, so_far) if shift and so_far.seconds > 0 else Tally()
    figures = oee.figures_out(tally)
    shift_target = None
    if shift is not None:
        shift_target = session.scalar(
            select(Shift.oee_target_pct).where(Shift.site_id == site.id, Shift.code == shift.code)
        )
    target = machine.oee_target_pct
    return {
        "machine": scope.names[machine.id], "at": now, "status": status,
        "shift": None if shift is None else {
            "code": shift.code, "day": shift.day, "start": shift.interval.start,
            "end": shift.interval.end, "target_pct": shift_target,
        },
        "stoppage": None if current is None else {
            "reason_code": current.reason_code, "category": current.category,
            "planned": current.planned, "since": current.start,
            "minutes": round((now - current.start).total_seconds() / 60, 2),
        },
        "target_pct": target,
        "on_target": None if figures["oee_pct"] is None else figures["oee_pct"] >= target,
        **figures,
    }  # fmt: skip


def snapshots(*, session: Session, scope: oee.Scope, period: Interval) -> dict[str, Any]:
    """The machine's snapshots taken in (start, end], oldest first, each with its figures
    recomputed from its times and counts."""
    machine = _machine(scope)
    if period.end - period.start > MAX_SNAPSHOT_SPAN:
        raise RuleViolation(
            f"end: snapshots are read {MAX_SNAPSHOT_SPAN.days} days at a time", field="end"
        )
    rows = session.scalars(
        select(OeeSnapshot)
        .where(
            OeeSnapshot.machine_id == machine.id,
            OeeSnapshot.taken_at > period.start,
            OeeSnapshot.taken_at <= period.end,
        )
        .order_by(OeeSnapshot.taken_at)
    ).all()
    items = []
    for r in rows:
        t = Tally(*(getattr(r, c) for c in TALLY_COLUMNS))
        items.append({"taken_at": r.taken_at, **oee.figures_out(t)})
    return {
        "machine": scope.names[machine.id], "start": period.start, "end": period.end,
        "count": len(items), **oee.figures_out(rules.add_up(
            Tally(*(getattr(r, c) for c in TALLY_COLUMNS)) for r in rows)),
        "items": items,
    }  # fmt: skip
