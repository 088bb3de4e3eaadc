"""Five-minute OEE snapshots per producing machine, and the hourly and daily summaries
rolled up from them.

Each row is keyed by its machine and its slot and written by upsert, so a replayed or
late run writes the same sums again instead of adding them twice. A snapshot covers the
five minutes ending at `taken_at`; hours are UTC hours, days are site-local days."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain.models import Asset, Site
from domain.models.production import (
    Machine,
    OeeDailySummary,
    OeeHourlySummary,
    OeeSnapshot,
    ProductionCount,
    ProductionDowntime,
)
from domain.rules.oee import Interval, Tally
from domain.rules.shifts import local_date, site_day
from domain.services import oee, oee_stoppages

BUCKET = timedelta(minutes=5)
TALLY_COLUMNS = tuple(Tally.__dataclass_fields__)


def bucket_end(at: datetime) -> datetime:
    """The five-minute boundary at or before `at`: the end of the last whole bucket."""
    at = at.astimezone(UTC)
    return at.replace(minute=at.minute - at.minute % 5, second=0, microsecond=0)


def take_snapshots(
    *, session: Session, taken_at: datetime, machine_ids: set[int] | None = None
) -> int:
    """Every producing machine's tally over the five minutes ending at `taken_at` (or only
    those named); a machine with nothing planned, made or stopped in them keeps no row."""
    taken_at = bucket_end(taken_at)
    period = Interval(taken_at - BUCKET, taken_at)
    query = (
        select(Machine, Asset.asset_number)
        .join(Asset, Asset.id == Machine.asset_id)
        .where(Machine.producing.is_(True))
        .order_by(Machine.organization_id, Machine.id)
    )
    if machine_ids is not None:
        query = query.where(Machine.id.in_(machine_ids))
    rows = session.execute(query).all()
    by_org: dict[int, list] = defaultdict(list)
    for machine, number in rows:
        by_org[machine.organization_id].append((machine, number))
    written = 0
    for org_rows in by_org.values():
        machines = [m for m, _ in org_rows]
        site_ids = {m.site_id for m in machines}
        sites = {s.id: s for s in session.scalars(select(Site).where(Site.id.in_(site_ids)))}
        scope = oee.Scope("org", "", machines, sites, {m.id: n for m, n in org_rows})
        facts = oee.load(session=session, scope=scope, period=period)
        for m in machines:
            t = facts.tally(m)
            if t == Tally():
                session.execute(delete(OeeSnapshot).where(
                    OeeSnapshot.machine_id == m.id, OeeSnapshot.taken_at == taken_at))  # fmt: skip
                continue
            values = {c: getattr(t, c) for c in TALLY_COLUMNS}
            session.execute(
                insert(OeeSnapshot)
                .values(
                    organization_id=m.organization_id, machine_id=m.id, taken_at=taken_at, **values
                )  # fmt: skip
                .on_conflict_do_update(index_elements=["machine_id", "taken_at"], set_=values)
            )
            written += 1
    return written


def _sums():
    return [func.coalesce(func.sum(getattr(OeeSnapshot, c)), 0.0).label(c) for c in TALLY_COLUMNS]


def roll_up_hour(*, session: Session, hour_start: datetime) -> int:
    """Each machine's hour as the sum of its snapshots in it, replacing the last sum."""
    hour_start = hour_start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    source = (
        select(OeeSnapshot.organization_id, OeeSnapshot.machine_id, *_sums())
        .where(
            OeeSnapshot.taken_at > hour_start,
            OeeSnapshot.taken_at <= hour_start + timedelta(hours=1),
        )  # fmt: skip
        .group_by(OeeSnapshot.organization_id, OeeSnapshot.machine_id)
    )
    count = 0
    for row in session.execute(source).mappings():
        values = {c: row[c] for c in TALLY_COLUMNS}
        session.execute(
            insert(OeeHourlySummary)
            .values(
                organization_id=row["organization_id"],
                machine_id=row["machine_id"],
                hour_start=hour_start,
                **values,
            )  # fmt: skip
            .on_conflict_do_update(index_elements=["machine_id", "hour_start"], set_=values)
        )
        count += 1
    return count


def roll_up_days(*, session: Session, at: datetime) -> int:
    """For every site, its machines' site-local day holding `at`, from the snapshots."""
    count = 0
    for site in session.scalars(
        select(Site).where(Site.id.in_(select(Machine.site_id).where(Machine.producing)))
    ):
        day = local_date(at - timedelta(microseconds=1), site.timezone)  # a slot's end
        span = site_day(day, site.timezone)
        source = (
            select(OeeSnapshot.organization_id, OeeSnapshot.machine_id, *_sums())
            .join(Machine, Machine.id == OeeSnapshot.machine_id)
            .where(
                Machine.site_id == site.id,
                OeeSnapshot.taken_at > span.start,
                OeeSnapshot.taken_at <= span.end,
            )  # fmt: skip
            .group_by(OeeSnapshot.organization_id, OeeSnapshot.machine_id)
        )
        for row in session.execute(source).mappings():
            values = {c: row[c] for c in TALLY_COLUMNS}
            session.execute(
                insert(OeeDailySummary)
                .values(
                    organization_id=row["organization_id"],
                    machine_id=row["machine_id"],
                    day=day,
                    **values,
                )  # fmt: skip
                .on_conflict_do_update(index_elements=["machine_id", "day"], set_=values)
            )
            count += 1
    return count


def summary_tally(rows) -> Tally:
    """A Tally from summary or snapshot rows (what every ratio is recomputed from)."""
    out = Tally()
    for r in rows:
        out = out + Tally(*(getattr(r, c) for c in TALLY_COLUMNS))
    return out


def retake_late(*, session: Session, taken_at: datetime) -> int:
    """Output or stops recorded in the five minutes ending at `taken_at` for slots already
    taken (a count entered at the end of a run, a stop logged afterwards): those slots are
    taken again and their hours and days rolled up again, so late records reach the
    summaries once."""
    taken_at = bucket_end(taken_at)
    since = taken_at - BUCKET
    touched: dict[int, set[datetime]] = defaultdict(set)

    def slots(machine_id: int, start: datetime, end: datetime | None) -> None:
        end = min(end or taken_at, since)  # the slots still to come are taken in turn
        slot = bucket_end(start) + BUCKET
        while slot - BUCKET < end:
            touched[machine_id].add(slot)
            slot += BUCKET

    for c in session.execute(
        select(ProductionCount.machine_id, ProductionCount.period_start,
               ProductionCount.period_end)
        .where(ProductionCount.recorded_at > since, ProductionCount.recorded_at <= taken_at)
    ):  # fmt: skip
        slots(c.machine_id, c.period_start, c.period_end)
    for d in session.execute(
        select(ProductionDowntime.machine_id, ProductionDowntime.start_time,
               ProductionDowntime.end_time)
        .where(ProductionDowntime.updated_at > since, ProductionDowntime.updated_at <= taken_at)
    ):  # fmt: skip
        slots(d.machine_id, d.start_time, d.end_time)
    # Stored stoppages that a change of the records merged differently (a floor stop
    # joining a maintenance one, a maintenance downtime entered late: caught hourly).
    changed = oee_stoppages.refresh_changed(session=session, since=since, until=taken_at)
    if taken_at.minute == 0:
        for machine_id, spans in oee_stoppages.refresh_recent(
            session=session, until=taken_at
        ).items():
            changed[machine_id] += spans
    for machine_id, spans in changed.items():
        for span in spans:
            slots(machine_id, span.start, span.end)
    by_slot: dict[datetime, set[int]] = defaultdict(set)
    for machine_id, taken in touched.items():
        for slot in taken:
            by_slot[slot].add(machine_id)
    for slot, machines in sorted(by_slot.items()):
        take_snapshots(session=session, taken_at=slot, machine_ids=machines)
    hours = {(slot - timedelta(microseconds=1)).replace(minute=0, second=0, microsecond=0)
             for slot in by_slot}  # fmt: skip
    for hour in sorted(hours):
        roll_up_hour(session=session, hour_start=hour)
    for at in sorted({h + timedelta(hours=1) for h in hours}):
        roll_up_days(session=session, at=at)
    return len(by_slot)
