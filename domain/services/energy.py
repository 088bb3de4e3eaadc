"""Energy readings, rates and baselines, and a scope's consumption and cost over a period."""

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.actor import Actor
from domain.errors import RuleViolation
from domain.models import Site
from domain.models.production import EnergyBaseline, EnergyRate, EnergyReading, Machine
from domain.rules import energy as rules
from domain.rules.oee import Interval, Tally
from domain.services import oee
from domain.services.audit import record_change


def record_reading(
    *,
    session: Session,
    actor: Actor,
    machine: Machine,
    reading_time: datetime,
    kwh: float,
    meter_reading: float | None = None,
    reading_type: str = "manual",
    source: str | None = None,
    now: datetime | None = None,
) -> EnergyReading:
    now = now or datetime.now(UTC)
    if reading_time > now + timedelta(minutes=5):
        raise RuleViolation("reading_time: cannot be in the future", field="reading_time")
    row = EnergyReading(
        organization_id=machine.organization_id, machine_id=machine.id, line_id=machine.line_id,
        reading_time=reading_time, kwh=kwh, meter_reading=meter_reading,
        reading_type=reading_type, source=source,
    )  # fmt: skip
    session.add(row)
    session.flush()
    record_change(
        session=session, actor=actor, entity_type="ENERGY_READING", entity_id=str(row.id),
        action="ENERGY_RECORDED", before=None,
        after={"machine_id": machine.id, "reading_time": reading_time.isoformat(), "kwh": kwh},
        reason=source or reading_type,
    )  # fmt: skip
    return row


def set_rate(
    *,
    session: Session,
    site: Site,
    effective: date,
    rate_per_kwh: float,
    bands: list[tuple[time, time, float]] = (),
    currency: str = "USD",
) -> EnergyRate:
    row = EnergyRate(
        organization_id=site.organization_id, site_id=site.id, effective_date=effective,
        rate_type="time_of_use" if bands else "flat", rate_per_kwh=rate_per_kwh,
        bands=[{"from": a.strftime("%H:%M"), "to": b.strftime("%H:%M"), "rate": r}
               for a, b, r in bands],
        currency=currency,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def set_baseline(
    *,
    session: Session,
    machine: Machine,
    effective: date,
    kwh_per_unit: float | None = None,
    kwh_per_hour: float | None = None,
) -> EnergyBaseline:
    row = EnergyBaseline(
        organization_id=machine.organization_id, machine_id=machine.id, effective_date=effective,
        kwh_per_unit=kwh_per_unit, kwh_per_hour=kwh_per_hour,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def _rate(row: EnergyRate) -> rules.Rate:
    return rules.Rate(
        row.effective_date, row.rate_per_kwh,
        tuple(rules.Band(time.fromisoformat(b["from"]), time.fromisoformat(b["to"]), b["rate"])
              for b in row.bands),
        row.currency,
    )  # fmt: skip


def consumption(
    *,
    session: Session,
    scope: oee.Scope,
    period: Interval,
    tallies: Mapping[int, Tally] | None = None,
) -> dict[str, Any]:
    """Each machine's kWh and cost over the period, and its use against its baseline (per
    unit made, else per hour run), with seed 002's spike flag. `tallies`, the machines'
    OEE tallies over the period when the caller has them, spare reading the records."""
    ids = [m.id for m in scope.machines]
    readings: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    for r in session.execute(
        select(EnergyReading.machine_id, EnergyReading.reading_time, EnergyReading.kwh).where(
            EnergyReading.machine_id.in_(ids),
            EnergyReading.reading_time > period.start,
            EnergyReading.reading_time <= period.end,
        )
    ):
        readings[r.machine_id].append((r.reading_time, r.kwh))
    rates: dict[int, list[rules.Rate]] = defaultdict(list)
    for row in session.scalars(select(EnergyRate).where(EnergyRate.site_id.in_(scope.sites))):
        rates[row.site_id].append(_rate(row))
    baselines: dict[int, EnergyBaseline] = {}
    for b in session.scalars(
        select(EnergyBaseline)
        .where(
            EnergyBaseline.machine_id.in_(ids), EnergyBaseline.effective_date <= period.start.date()
        )  # fmt: skip
        .order_by(EnergyBaseline.effective_date)
    ):
        baselines[b.machine_id] = b  # the latest in force wins
    if tallies is None:
        facts = oee.load(session=session, scope=scope, period=period)
        tallies = {m.id: facts.tally(m) for m in scope.machines}
    machines, total_kwh, total_cost, currency, priced = [], 0.0, 0.0, None, True
    for m in scope.machines:
        site = scope.sites[m.site_id]
        c = rules.cost(readings.get(m.id, []), rates.get(site.id, []), site.timezone)
        t = tallies[m.id]
        b = baselines.get(m.id)
        vs = rules.against_baseline(
            actual_kwh=c.kwh, units=t.total, run_hours=t.run_s / 3600,
            kwh_per_unit=b.kwh_per_unit if b else None, kwh_per_hour=b.kwh_per_hour if b else None,
        )  # fmt: skip
        total_kwh += c.kwh
        if c.cost is None:
            priced = False
        else:
            total_cost += c.cost
        currency = currency or c.currency
        machines.append({
            "machine": scope.names[m.id], "kwh": c.kwh, "cost": c.cost, "currency": c.currency,
            "kwh_per_unit": round(c.kwh / t.total, 4) if t.total else None,
            "expected_kwh": vs.expected_kwh, "baseline_ratio": vs.ratio, "spike": vs.spike,
        })  # fmt: skip
    return {
        "scope": scope.kind, "ref": scope.ref, "start": period.start, "end": period.end,
        "kwh": round(total_kwh, 4), "cost": round(total_cost, 2) if priced else None,
        "currency": currency, "machines": machines,
    }  # fmt: skip
