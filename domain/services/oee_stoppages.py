"""Merged stoppages kept in `oee_stoppages`, and the reliability and Pareto reads summed
from them in the database.

A machine's stored stoppages are rebuilt from its records (floor and maintenance stops)
over a span widened until no stoppage crosses its edges, then replaced: refreshing twice
writes the same rows, so a replayed or late round changes nothing twice. The reads answer
what `domain.services.oee.reliability` and `.pareto` compute from the raw records."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    and_,
    any_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from domain.errors import RuleViolation
from domain.models import DowntimeRecord
from domain.models.production import Machine, OeeStoppage, ProductionDowntime
from domain.models.spans import touches
from domain.rules import reliability as rel
from domain.rules.oee import Interval, Stoppage, merge_stops
from domain.services import production_downtime

FAR = datetime.max.replace(tzinfo=UTC) - timedelta(days=2)  # "still open" in a span


def _stored_hull(session: Session, machine_id: int, span: Interval) -> Interval | None:
    row = session.execute(
        select(
            func.min(OeeStoppage.start_time), func.max(func.coalesce(OeeStoppage.end_time, FAR))
        ).where(
            OeeStoppage.machine_id == machine_id,
            touches(OeeStoppage, span),
            OeeStoppage.start_time < span.end,
            or_(OeeStoppage.end_time.is_(None), OeeStoppage.end_time > span.start),
        )
    ).one()
    return Interval(row[0], row[1]) if row[0] is not None else None


Changed = dict[int, list[Interval]]  # machine id -> spans whose stoppages changed

_FIELDS = ("key", "start_time", "end_time", "reason_code", "category", "planned", "linked")


def _touching_rows(machine_ids: Sequence[int], span: Interval):
    s = OeeStoppage
    return (
        s.machine_id.in_(list(machine_ids)),
        touches(s, span),
        s.start_time < span.end,
        or_(s.end_time.is_(None), s.end_time > span.start),
    )


def _replace(
    session: Session,
    machines: Sequence[Machine],
    span: Interval,
    merged: list[Stoppage],
    changed: Changed,
) -> None:
    """Swap the stored rows touching `span` for `merged` where they differ, noting the
    spans of the rows that came or went (what the summaries must take again)."""
    by_id = {m.id: m for m in machines}
    cols = [getattr(OeeStoppage, f) for f in _FIELDS]
    old = {
        (r.machine_id, *(getattr(r, f) for f in _FIELDS))
        for r in session.execute(
            select(OeeStoppage.machine_id, *cols).where(*_touching_rows(list(by_id), span))
        )
    }
    rows = [_row(by_id[s.machine_id], s) for s in merged]
    new = {(r["machine_id"], *(r[f] for f in _FIELDS)) for r in rows}
    if old == new:
        return
    for machine_id, _key, start, end, *_ in old ^ new:
        changed[machine_id].append(Interval(start, end or max(span.end, start)))
    session.execute(delete(OeeStoppage).where(*_touching_rows(list(by_id), span)))
    for i in range(0, len(rows), 5000):
        session.execute(insert(OeeStoppage), rows[i : i + 5000])


def refresh(*, session: Session, machines: Sequence[Machine], span: Interval) -> Changed:
    """Rebuild the machines' stored stoppages touching `span` from their records; returns
    the spans that changed per machine."""
    changed: Changed = defaultdict(list)
    for machine in machines:
        hull = span
        while True:  # widen until the records and the stored rows end inside it
            merged = merge_stops(
                production_downtime.stops(session=session, machines=[machine], period=hull)
            )
            edges = [hull.start, hull.end]
            for s in merged:
                edges += [s.start, s.end or FAR]
            if (stored := _stored_hull(session, machine.id, hull)) is not None:
                edges += [stored.start, stored.end]
            wider = Interval(min(edges), max(edges))
            if wider == hull:
                break
            hull = wider
        _replace(session, [machine], hull, merged, changed)
    return changed


def _row(machine: Machine, s: Stoppage) -> dict[str, Any]:
    return {
        "organization_id": machine.organization_id, "machine_id": machine.id, "key": s.key,
        "start_time": s.start, "end_time": s.end, "reason_code": s.reason_code,
        "category": s.category, "planned": s.planned, "linked": ",".join(s.linked),
    }  # fmt: skip


def rebuild(*, session: Session, machines: Sequence[Machine], period: Interval) -> Changed:
    """All of the machines' stoppages touching the period at once (a first fill, the
    hourly catch-up): one read of the records per organisation, one write."""
    changed: Changed = defaultdict(list)
    by_org: dict[int, list[Machine]] = defaultdict(list)
    for m in machines:
        by_org[m.organization_id].append(m)  # reason catalogues are per organisation
    for group in by_org.values():
        merged = merge_stops(
            production_downtime.stops(session=session, machines=group, period=period)
        )
        _replace(session, group, period, merged, changed)
    return changed


def refresh_changed(*, session: Session, since: datetime, until: datetime) -> Changed:
    """The round's share: machines whose floor stops changed in (since, until], or whose
    maintenance downtime started or ended in it, refreshed around those stops."""
    spans: dict[int, list[Interval]] = defaultdict(list)
    for d in session.execute(
        select(ProductionDowntime.machine_id, ProductionDowntime.start_time,
               ProductionDowntime.end_time)
        .where(ProductionDowntime.updated_at > since, ProductionDowntime.updated_at <= until)
    ):  # fmt: skip
        spans[d.machine_id].append(Interval(d.start_time, d.end_time or until))
    for d in session.execute(
        select(Machine.id, DowntimeRecord.start_time, DowntimeRecord.end_time)
        .join(Machine, Machine.asset_id == DowntimeRecord.asset_id)
        .where(or_(and_(DowntimeRecord.start_time > since, DowntimeRecord.start_time <= until),
                   and_(DowntimeRecord.end_time > since, DowntimeRecord.end_time <= until)))
    ):  # fmt: skip
        spans[d.id].append(Interval(d.start_time, d.end_time or until))
    changed: Changed = defaultdict(list)
    if not spans:
        return changed
    machines = {m.id: m for m in session.scalars(select(Machine).where(Machine.id.in_(spans)))}
    for machine_id, parts in sorted(spans.items()):
        hull = Interval(min(p.start for p in parts), max(max(p.end, p.start) for p in parts))
        for k, v in refresh(session=session, machines=[machines[machine_id]], span=hull).items():
            changed[k] += v
    return changed


def refresh_recent(*, session: Session, until: datetime, days: int = 7) -> Changed:
    """Every producing machine over the last `days`: catches maintenance downtime entered
    late (its records carry no time of change)."""
    machines = list(session.scalars(select(Machine).where(Machine.producing.is_(True))))
    return rebuild(
        session=session, machines=machines, period=Interval(until - timedelta(days=days), until)
    )


# -- reads --


_IDS = ARRAY(Integer)  # one type object: its cache key is computed once


def _any_of(ids: Iterable[int]) -> Any:
    """`= ANY(:ids)`: one array parameter for a site's hundreds of machines."""
    return any_(bindparam(None, list(ids), type_=_IDS))


def _clipped_seconds(period: Interval, until: datetime):
    """Seconds of a stored stoppage inside the period, an open one running to `until`."""
    s = OeeStoppage
    end = func.least(func.coalesce(s.end_time, func.greatest(literal(until), s.start_time)),
                     literal(period.end))  # fmt: skip
    start = func.greatest(s.start_time, literal(period.start))
    return end, start, cast(func.extract("epoch", end - start), Float)


def _touching(machine_ids: Iterable[int], period: Interval, until: datetime):
    s = OeeStoppage
    end, start, _ = _clipped_seconds(period, until)
    # No span filter here: these reads cover a quarter, which the planner scans whole, and
    # building a range for every row would only add to it.
    return (s.machine_id == _any_of(machine_ids), s.start_time < period.end, end > start)


def pareto_rows(
    *,
    session: Session,
    machine_ids: Sequence[int],
    period: Interval,
    by: str,
    until: datetime | None = None,
) -> tuple[list[rel.ParetoRow], float]:
    """The Pareto of the machines' stoppages inside the period, summed per key by the
    database; with the total seconds."""
    if by not in ("reason", "category"):
        raise RuleViolation("by: one of reason, category", field="by")
    until = until or period.end
    key = OeeStoppage.reason_code if by == "reason" else OeeStoppage.category
    *_, seconds = _clipped_seconds(period, until)
    sums = {
        r.key: (int(r.events), float(r.seconds))
        for r in session.execute(
            select(key.label("key"), func.count().label("events"),
                   func.sum(seconds).label("seconds"))
            .where(*_touching(machine_ids, period, until))
            .group_by(key)
        )
    }  # fmt: skip
    return rel.pareto_of_sums(sums), sum(s for _, s in sums.values())


def failure_sums(
    *,
    session: Session,
    machine_ids: Sequence[int],
    period: Interval,
    until: datetime | None = None,
) -> dict[int, tuple[int, float]]:
    """Per machine: failures starting in the period, and their seconds inside it."""
    until = until or period.end
    s = OeeStoppage
    *_, seconds = _clipped_seconds(period, until)
    failure = and_(s.planned.is_(False), s.category.in_(sorted(rel.FAILURE_CATEGORIES)),
                   s.start_time >= period.start)  # fmt: skip
    return {
        r.machine_id: (int(r.failures), float(r.seconds or 0.0))
        for r in session.execute(
            select(s.machine_id, func.count().label("failures"),
                   func.sum(func.greatest(seconds, 0.0)).label("seconds"))
            .where(s.machine_id == _any_of(machine_ids), s.start_time < period.end, failure)
            .group_by(s.machine_id)
        )
    }  # fmt: skip
