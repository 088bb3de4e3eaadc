"""Ninety days of production at the demo's JKS site: shifts, hourly output with scrap,
stoppages with reasons, energy, and the hourly and daily summaries computed from them.

Seeded, so every load tells the same story: the main saw is the reliable one, the
secondary saw breaks down more, the router loses time to changeovers."""

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from domain.actor import system_actor
from domain.db import transaction
from domain.models import Asset, Site
from domain.models.production import (
    EnergyReading,
    Machine,
    OeeDailySummary,
    OeeHourlySummary,
    ProductionCount,
    ProductionDowntime,
    ProductionLine,
    Shift,
)
from domain.rules import oee as rules
from domain.rules.oee import Interval, Stop
from domain.rules.shifts import site_day
from domain.services import energy, oee_stoppages, production
from domain.services.oee_snapshots import TALLY_COLUMNS
from domain.services.production import site_shift_windows

SITE = "JKS"
DAYS = 90


@dataclass(frozen=True)
class DemoMachine:
    asset: str
    line: str
    ideal_cycle_s: float
    speed: tuple[float, float]  # share of the ideal rate it runs at
    scrap: tuple[float, float]
    stops_per_shift: float
    reasons: tuple[tuple[str, float], ...]  # reason code, weight
    kwh_per_hour: float


MACHINES = (
    DemoMachine(
        "SAW-JKS-001",
        "SAW-1",
        45.0,
        (0.88, 0.97),
        (0.005, 0.02),
        1.2,
        (("BD-TOOL", 3), ("SU-CHNG", 4), ("MT-WAIT", 2), ("BD-MECH", 1)),
        9.0,
    ),
    DemoMachine(
        "SAW-JKS-002",
        "SAW-1",
        60.0,
        (0.80, 0.93),
        (0.01, 0.04),
        2.0,
        (("BD-MECH", 4), ("BD-HYDR", 3), ("BD-TOOL", 2), ("OP-NONE", 1)),
        7.5,
    ),
    DemoMachine(
        "ROUTER-JKS-001",
        "CNC-1",
        120.0,
        (0.85, 0.95),
        (0.01, 0.03),
        1.8,
        (("SU-CHNG", 5), ("SU-TOOL", 3), ("BD-ELEC", 1), ("QL-HOLD", 1)),
        14.0,
    ),
    DemoMachine(
        "SHEAR-JKS-001",
        "CNC-1",
        20.0,
        (0.82, 0.96),
        (0.003, 0.015),
        1.0,
        (("BD-HYDR", 2), ("MT-WAIT", 3), ("CL-SAN", 1)),
        11.0,
    ),
)
LINES = {"SAW-1": "Saw line 1", "CNC-1": "CNC cell"}


def load_production_demo(
    sessions: sessionmaker[Session], *, days: int = DAYS, now: datetime | None = None
) -> str:
    now = now or datetime.now(UTC)
    with transaction(sessions) as s:
        site = s.scalars(select(Site).where(Site.code == SITE)).one_or_none()
        if site is None:
            return "production demo: no JKS site"
        loaded = s.scalar(
            select(func.count(ProductionCount.id)).where(
                ProductionCount.organization_id == site.organization_id
            )
        )
        if loaded:
            return "production demo already loaded: nothing to add"
        machines = _set_up(s, site, now)
        first_day = (now - timedelta(days=days)).astimezone(ZoneInfo(site.timezone)).date()
        period = Interval(site_day(first_day, site.timezone).start, now)
        windows = site_shift_windows(session=s, site=site, period=period)
        rng = random.Random(20260601)
        totals = {"counts": 0, "stops": 0}
        for spec, machine in machines:
            _produce(s, rng, site, spec, machine, windows, period, totals)
        _summarise(s, site, [m for _, m in machines], period)
        oee_stoppages.rebuild(session=s, machines=[m for _, m in machines], period=period)
    return (
        f"production demo loaded: {len(machines)} machines, {totals['counts']} hourly counts, "
        f"{totals['stops']} stops over {days} days"
    )


def _set_up(s: Session, site: Site, now: datetime) -> list[tuple[DemoMachine, Machine]]:
    actor = system_actor(site.organization_id, "demo")
    production.ensure_reasons(session=s, organization_id=site.organization_id)
    lines = {}
    for code, name in LINES.items():
        lines[code] = s.scalars(
            select(ProductionLine).where(
                ProductionLine.site_id == site.id, ProductionLine.code == code
            )
        ).one_or_none() or production.add_line(session=s, site=site, code=code, name=name)
    if not s.scalar(select(func.count(Shift.id)).where(Shift.site_id == site.id)):
        production.add_shift(
            session=s,
            site=site,
            code="DAY",
            starts_at=time(6),
            ends_at=time(14),
            weekdays=[1, 2, 3, 4, 5],
            planned_stops=[(time(10), time(10, 30))],
        )
        production.add_shift(
            session=s,
            site=site,
            code="EVE",
            starts_at=time(14),
            ends_at=time(22),
            weekdays=[1, 2, 3, 4, 5],
            planned_stops=[(time(18), time(18, 30))],
        )
    out = []
    for spec in MACHINES:
        asset = s.scalars(
            select(Asset).where(
                Asset.organization_id == site.organization_id, Asset.asset_number == spec.asset
            )
        ).one()
        machine = production.register_machine(
            session=s,
            actor=actor,
            asset=asset,
            ideal_cycle_seconds=spec.ideal_cycle_s,
            line=lines[spec.line],
        )
        energy.set_baseline(
            session=s, machine=machine, effective=date(2020, 1, 1), kwh_per_hour=spec.kwh_per_hour
        )
        out.append((spec, machine))
    energy.set_rate(
        session=s,
        site=site,
        effective=date(2020, 1, 1),
        rate_per_kwh=0.09,
        bands=[(time(14), time(20), 0.16)],
    )
    return out


def _produce(s, rng, site, spec: DemoMachine, machine: Machine, windows, period, totals):
    reasons = [r for r, _ in spec.reasons]
    weights = [w for _, w in spec.reasons]
    category = {
        r.code: r for r in production.list_reasons(session=s, organization_id=site.organization_id)
    }
    counts, stops, readings = [], [], []
    for w in windows:
        if w.interval.end > period.end:
            continue  # the shift under way: the live round fills it in
        shift_stops: list[Stop] = []
        for _ in range(_poisson(rng, spec.stops_per_shift)):
            start = w.interval.start + timedelta(minutes=rng.uniform(0, 440))
            minutes = min(180.0, 6 + rng.expovariate(1 / 25))
            code = rng.choices(reasons, weights)[0]
            shift_stops.append(
                Stop(
                    "",
                    machine.id,
                    start,
                    start + timedelta(minutes=minutes),
                    code,
                    category[code].category,
                    category[code].is_planned,
                )
            )
        for _ in range(_poisson(rng, 4)):  # jams: small stops, a performance loss
            start = w.interval.start + timedelta(minutes=rng.uniform(0, 470))
            shift_stops.append(
                Stop(
                    "",
                    machine.id,
                    start,
                    start + timedelta(minutes=rng.uniform(1, 4)),
                    "OTHER",
                    "other",
                )
            )
        merged = rules.merge_stops(shift_stops)
        for st in merged:
            stops.append(
                dict(
                    organization_id=machine.organization_id,
                    machine_id=machine.id,
                    line_id=machine.line_id,
                    reason_code=st.reason_code,
                    category=st.category,
                    planned=st.planned,
                    severity="high" if st.category == "breakdown" else "medium",
                    start_time=st.start,
                    end_time=st.end,
                    duration_minutes=round((st.end - st.start).total_seconds() / 60, 2),
                    logged_by="demo",
                    ended_by="demo",
                    # Logged when it ended, as on the floor: a stop stamped now would be
                    # a late record for the snapshot round, which would retake 90 days.
                    created_at=st.end,
                    updated_at=st.end,
                )
            )
        hour = w.interval.start
        while hour < w.interval.end:
            slot = Interval(hour, min(hour + timedelta(hours=1), w.interval.end))
            t = rules.tally(period=slot, planned=list(w.planned), stoppages=merged, counts=[])
            run = max(0.0, t.run_s - t.small_stop_s)
            made = int(run / spec.ideal_cycle_s * rng.uniform(*spec.speed))
            bad = int(made * rng.uniform(*spec.scrap))
            startup = bad // 3 if hour == w.interval.start else 0
            if made:
                counts.append(
                    dict(
                        organization_id=machine.organization_id,
                        machine_id=machine.id,
                        period_start=slot.start,
                        period_end=slot.end,
                        total=made,
                        good=made - bad,
                        reject=bad,
                        rework=0,
                        startup_reject=startup,
                        ideal_cycle_seconds=spec.ideal_cycle_s,
                        recorded_by="demo",
                        recorded_at=slot.end,
                    )
                )
            share = run / slot.seconds if slot.seconds else 0
            readings.append(
                dict(
                    organization_id=machine.organization_id,
                    machine_id=machine.id,
                    line_id=machine.line_id,
                    reading_time=slot.end,
                    kwh=round(
                        spec.kwh_per_hour
                        * (0.15 + 0.85 * share)
                        * rng.uniform(0.95, 1.12)
                        * slot.seconds
                        / 3600,
                        3,
                    ),
                    reading_type="automatic",
                    source="demo meter",
                )
            )
            hour = slot.end
    for table, rows in (
        (ProductionCount, counts),
        (ProductionDowntime, stops),
        (EnergyReading, readings),
    ):
        for i in range(0, len(rows), 2000):
            s.execute(insert(table), rows[i : i + 2000])
    totals["counts"] += len(counts)
    totals["stops"] += len(stops)


def _poisson(rng: random.Random, mean: float) -> int:
    n, t = 0, rng.expovariate(1)
    while t < mean:
        n += 1
        t += rng.expovariate(1)
    return n


def _summarise(s: Session, site: Site, machines: list[Machine], period: Interval) -> None:
    """The hourly and daily summaries the snapshot round would have rolled up, computed
    by the same engine over the same records (sums of five-minute slots are these sums)."""
    from domain.services import oee

    scope = oee.Scope("site", site.code, machines, {site.id: site}, {})
    facts = oee.load(session=s, scope=scope, period=period)
    zone = ZoneInfo(site.timezone)
    hourly, daily = [], []
    d, last = period.start.astimezone(zone).date(), period.end.astimezone(zone).date()
    while d <= last:
        span = site_day(d, site.timezone).clip(period)
        d += timedelta(days=1)
        if span is None:
            continue
        for m in machines:
            # What touches the day, once, so each hour's tally looks at a handful of rows.
            planned = [c for w in facts.planned(m) if (c := w.clip(span)) is not None]
            if not planned:
                continue
            stops = [
                x
                for x in facts.stoppages.get(m.id, [])
                if x.interval(period.end).clip(span) is not None
            ]
            counts = [c for c in facts.counts.get(m.id, []) if c.interval.clip(span) is not None]
            parts = []
            hour = span.start
            while hour < span.end:
                h = Interval(hour, min(span.end, hour + timedelta(hours=1)))
                t = rules.tally(
                    period=h, planned=planned, stoppages=stops, counts=counts, until=period.end
                )
                if t != rules.Tally():
                    hourly.append(
                        {
                            "organization_id": m.organization_id,
                            "machine_id": m.id,
                            "hour_start": hour,
                            **_values(t),
                        }
                    )
                    parts.append(t)
                hour = h.end
            if parts:
                daily.append(
                    {
                        "organization_id": m.organization_id,
                        "machine_id": m.id,
                        "day": d - timedelta(days=1),
                        **_values(rules.add_up(parts)),
                    }
                )
    for table, rows in ((OeeHourlySummary, hourly), (OeeDailySummary, daily)):
        for i in range(0, len(rows), 2000):
            s.execute(insert(table), rows[i : i + 2000])


def _values(t: rules.Tally) -> dict[str, float]:
    return {c: getattr(t, c) for c in TALLY_COLUMNS}
