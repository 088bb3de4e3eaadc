"""The demo's live floor: each minute the demo machines make what their profile says (at
their speed, with their scrap), now and then stop for one of their usual reasons and start
again some minutes later, and every quarter hour read their meters, so the live cards,
charts and alerts move. Decisions are drawn from a generator seeded by the machine and the
minute: a minute simulated twice (a retried activity) decides the same."""

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.actor import system_actor
from domain.models import Asset, Site
from domain.models.production import Machine, ProductionDowntime
from domain.rules.oee import Interval
from domain.services import energy, oee_alerts, production
from domain.services import production_downtime as downtime
from domain.services.production import site_shift_windows
from domain.services.production_demo import MACHINES, SITE, DemoMachine

MINUTE = timedelta(minutes=1)
STOP_RATE = 3.0  # the profile's stops per shift, more often: a demo is watched briefly
SHIFT_MINUTES = 480
STOP_MINUTES = (3, 22)  # a stop's length: some pass the extended-downtime quarter hour
LOGGER = "demo simulator"


@dataclass
class Opened:
    downtime_id: int
    organization_id: int
    start_time: datetime


@dataclass
class Tick:
    at: datetime
    counts: int = 0
    opened: list[Opened] = field(default_factory=list)
    ended: list[Opened] = field(default_factory=list)
    readings: int = 0


@dataclass(frozen=True)
class Plan:
    """What one machine does in one minute."""

    produce: int = 0
    scrap: int = 0
    stop: str | None = None  # a reason code: stop now (for stop_length minutes)


def plan_minute(spec: DemoMachine, machine_id: int, minute: datetime) -> Plan:
    """The minute's output or a stop, drawn from the machine's profile."""
    rng = random.Random(f"{machine_id}:{minute.astimezone(UTC):%Y%m%d%H%M}")
    if rng.random() < STOP_RATE * spec.stops_per_shift / SHIFT_MINUTES:
        codes, weights = zip(*spec.reasons, strict=True)
        return Plan(stop=rng.choices(codes, weights)[0])
    rate = 60 / spec.ideal_cycle_s * rng.uniform(*spec.speed)
    made = int(rate) + (rng.random() < rate - int(rate))
    scrap = sum(rng.random() < rng.uniform(*spec.scrap) for _ in range(made))
    return Plan(produce=made, scrap=scrap)


def stop_length(machine_id: int, start: datetime) -> int:
    """How long a simulated stop lasts, drawn as when it began."""
    seed = f"{machine_id}:{start.astimezone(UTC):%Y%m%d%H%M}"
    return random.Random(seed).choice(range(*STOP_MINUTES))


def demo_machines(session: Session) -> list[tuple[DemoMachine, Machine]]:
    """The production demo's machines, where the demo is loaded (none elsewhere)."""
    profiles = {m.asset: m for m in MACHINES}
    rows = session.execute(
        select(Machine, Asset.asset_number)
        .join(Asset, Asset.id == Machine.asset_id)
        .join(Site, Site.id == Machine.site_id)
        .where(Site.code == SITE, Asset.asset_number.in_(profiles), Machine.producing.is_(True))
        .order_by(Machine.id)
    ).all()
    # The demo enterprise's floor only: another organisation with a site of the same code
    # is never given invented output.
    org = rows[0][0].organization_id if rows else None
    return [(profiles[number], m) for m, number in rows if m.organization_id == org]


def simulate_minute(*, session: Session, at: datetime) -> Tick:
    """The minute ending at `at` on every demo machine in planned production time."""
    at = at.astimezone(UTC).replace(second=0, microsecond=0)
    minute = Interval(at - MINUTE, at)
    tick = Tick(at)
    machines = demo_machines(session)
    if not machines:
        return tick
    site = session.get(Site, machines[0][1].site_id)
    windows = site_shift_windows(session=session, site=site, period=minute)
    working = any(
        p.start <= minute.start and minute.end <= p.end for w in windows for p in w.planned
    )
    actor = system_actor(site.organization_id, "simulator")
    for spec, machine in machines:
        open_stop = session.scalars(
            select(ProductionDowntime).where(
                ProductionDowntime.machine_id == machine.id, ProductionDowntime.end_time.is_(None)
            )
        ).one_or_none()
        if open_stop is not None:
            if open_stop.logged_by != actor.full_name:
                continue  # a person's stop: theirs to end
            due = open_stop.start_time + timedelta(
                minutes=stop_length(machine.id, open_stop.start_time)
            )
            if at >= due:
                downtime.end_downtime(
                    session=session,
                    actor=actor,
                    downtime_id=open_stop.id,
                    end=due,
                    notes="running again",
                )
                tick.ended.append(
                    Opened(open_stop.id, machine.organization_id, open_stop.start_time)
                )
            continue
        if not working:
            continue
        plan = plan_minute(spec, machine.id, minute.start)
        if plan.stop:
            row = downtime.record_downtime(
                session=session,
                actor=actor,
                machine=machine,
                reason_code=plan.stop,
                start=minute.start,
                now=at,
            )
            tick.opened.append(Opened(row.id, machine.organization_id, row.start_time))
            continue
        if plan.produce:
            _, created = production.record_count(
                session=session,
                actor=actor,
                machine=machine,
                period_start=minute.start,
                period_end=minute.end,
                total=plan.produce,
                good=plan.produce - plan.scrap,
                entry_key=f"sim:{machine.id}:{minute.start:%Y%m%d%H%M}",
                now=at,
            )
            tick.counts += created
        if at.minute % 15 == 0:
            rng = random.Random(f"kwh:{machine.id}:{at:%Y%m%d%H%M}")
            # Mostly near the baseline, one quarter in twenty well over it (a spike).
            factor = rng.uniform(1.25, 1.4) if rng.random() < 0.05 else rng.uniform(0.85, 1.1)
            reading = energy.record_reading(
                session=session,
                actor=actor,
                machine=machine,
                reading_time=at,
                kwh=round(spec.kwh_per_hour / 4 * factor, 3),
                reading_type="automatic",
                source=LOGGER,
                now=at,
            )
            oee_alerts.evaluate_energy(session=session, reading=reading)
            tick.readings += 1
    return tick
