"""OEE and reliability of a machine, a line or a site over a period, from the raw records:
shift calendars, merged stoppages and output, through the pure rules."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Float,
    Integer,
    and_,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from domain.actor import Actor
from domain.errors import NotFound, RuleViolation
from domain.models import Asset, Site
from domain.models.production import (
    Machine,
    OeeDailySummary,
    OeeHourlySummary,
    ProductionCount,
    ProductionLine,
)
from domain.models.spans import LONG_COUNT, is_long_count
from domain.rules import oee as rules
from domain.rules import reliability as rel
from domain.rules.oee import Count, Interval, Stoppage, Tally
from domain.rules.shifts import ShiftWindow, site_day
from domain.services import oee_stoppages
from domain.services.production import site_shift_windows
from domain.services.production_downtime import stoppages as load_stoppages

MAX_PERIOD = timedelta(days=400)  # a year and its comparison month, not a century of days


@dataclass
class Scope:
    kind: str  # machine, line or site
    ref: str
    machines: list[Machine]
    sites: dict[int, Site]
    names: dict[int, str]  # machine id -> asset number


def resolve(
    *,
    session: Session,
    actor: Actor,
    machine: str | None = None,
    line: str | None = None,
    site: str | None = None,
) -> Scope:
    """Exactly one of machine (asset number), line (code) or site (code), within the
    caller's organisation; another organisation's is not found."""
    given = [(k, v) for k, v in (("machine", machine), ("line", line), ("site", site)) if v]
    if len(given) != 1:
        raise RuleViolation("scope: give exactly one of machine, line or site", field="scope")
    kind, ref = given[0]
    org = actor.organization_id
    query = (
        select(Machine, Asset.asset_number)
        .join(Asset, Asset.id == Machine.asset_id)
        .where(Machine.organization_id == org, Machine.producing.is_(True))
    )
    if kind == "machine":
        query = query.where(Asset.asset_number == ref.upper())
    elif kind == "line":
        line_id = session.scalar(
            select(ProductionLine.id).where(
                ProductionLine.organization_id == org, ProductionLine.code == ref.upper()
            )
        )
        if line_id is None:
            raise NotFound(f"line {ref} not found", field="line")
        query = query.where(Machine.line_id == line_id)
    else:
        site_id = session.scalar(
            select(Site.id).where(Site.organization_id == org, Site.code == ref.upper())
        )
        if site_id is None:
            raise NotFound(f"site {ref} not found", field="site")
        query = query.where(Machine.site_id == site_id)
    rows = session.execute(query.order_by(Asset.asset_number)).all()
    if kind == "machine" and not rows:
        raise NotFound(f"machine {ref} not found", field="machine")
    machines = [m for m, _ in rows]
    site_ids = {m.site_id for m in machines}
    sites = {s.id: s for s in session.scalars(select(Site).where(Site.id.in_(site_ids)))}
    return Scope(kind, ref.upper(), machines, sites, {m.id: n for m, n in rows})


def period_of(start: datetime, end: datetime, now: datetime | None = None) -> Interval:
    """The period asked for, ending no later than now: time not yet lived is not planned
    production time lost."""
    if start.tzinfo is None or end.tzinfo is None:
        raise RuleViolation("start: give times with their UTC offset", field="start")
    if end <= start:
        raise RuleViolation("end: must be after start", field="end")
    if end - start > MAX_PERIOD:
        raise RuleViolation(f"end: a period spans at most {MAX_PERIOD.days} days", field="end")
    now = now or datetime.now(UTC)
    return Interval(start, max(start, min(end, now)))


_IDS = ARRAY(Integer)  # one type object: its cache key is computed once


def _any_of(ids) -> Any:
    """`= ANY(:ids)`, one array parameter: a site's hundreds of machines are not spelled
    out (and parsed) as hundreds of parameters in every query."""
    return any_(bindparam(None, list(ids), type_=_IDS))


def _overlapping(machines: list[Machine], period: Interval, *extra):
    """The machines' counts overlapping the period, as a subquery of the count columns. One
    of at most `LONG_COUNT` overlapping it starts less than that before it, so the start
    index bounds the scan (an hour at either end of a quarter is not a read of every earlier
    count); the longer ones starting earlier come from their own partial index. `extra`:
    more columns, computed once a row."""
    return _overlapping_of(
        _any_of([m.id for m in machines]), period.start, period.end, period.start - LONG_COUNT,
        *extra,
    )  # fmt: skip


def _overlapping_of(ids, start, end, since, *extra):
    """`_overlapping` over the given SQL values (parameters or literals)."""
    c = ProductionCount
    columns = (c.machine_id, c.period_start, c.period_end, c.total, c.good,
               c.ideal_cycle_seconds, c.startup_reject, *extra)  # fmt: skip
    overlap = (c.machine_id == ids, c.period_start < end, c.period_end > start)
    return union_all(
        select(*columns).where(*overlap, c.period_start > since),
        select(*columns).where(*overlap, c.period_start <= since, is_long_count()),
    ).subquery("counts")


def _counts(session: Session, machines: list[Machine], period: Interval) -> dict[int, list[Count]]:
    out: dict[int, list[Count]] = defaultdict(list)
    if not machines:
        return out
    c = _overlapping(machines, period).c
    for r in session.execute(
        select(
            c.machine_id,
            c.period_start,
            c.period_end,
            c.total,
            c.good,
            c.ideal_cycle_seconds,
            c.startup_reject,
        )
    ):
        out[r.machine_id].append(
            Count(
                Interval(r.period_start, r.period_end),
                r.total,
                r.good,
                r.ideal_cycle_seconds,
                r.startup_reject,
            )  # fmt: skip
        )
    return out


@cache
def _count_sums_query():
    """The statement of `_count_sums`, built once: a site's read runs it at each ragged end,
    and building the expression cost more than the database's work. Parameters: ids,
    start, end and since (start less `LONG_COUNT`)."""
    c = ProductionCount
    at_start = bindparam("start", type_=c.period_start.type)
    at_end = bindparam("end", type_=c.period_start.type)
    seconds = cast(func.extract("epoch", c.period_end - c.period_start), Float)
    inside = cast(
        func.extract(
            "epoch", func.least(c.period_end, at_end) - func.greatest(c.period_start, at_start)
        ),
        Float,
    )
    instant = and_(c.period_start >= at_start, c.period_start < at_end)
    share = case(
        (seconds == 0, case((instant, 1.0), else_=0.0)),
        else_=func.greatest(inside, 0.0) / func.nullif(seconds, 0),
    )
    # The share once a row, not once in each of the four sums.
    r = _overlapping_of(
        any_(bindparam("ids", type_=_IDS)),
        at_start,
        at_end,
        bindparam("since", type_=c.period_start.type),
        share.label("share"),
    ).c
    return select(
        r.machine_id,
        func.sum(r.total * r.share).label("total"),
        func.sum(r.good * r.share).label("good"),
        func.sum(r.ideal_cycle_seconds * r.total * r.share).label("ideal"),
        func.sum(r.startup_reject * r.share).label("startup"),
    ).group_by(r.machine_id)


def _count_sums(
    session: Session, machines: list[Machine], period: Interval
) -> dict[int, list[Count]]:
    """`_counts` summed by the database: each machine's output over the period as one
    count spanning it, every record taken pro rata to its overlap as `rules.tally` takes
    it. Only for a tally over that same period."""
    out: dict[int, list[Count]] = {}
    if not machines:
        return out
    params = {
        "ids": [m.id for m in machines], "start": period.start, "end": period.end,
        "since": period.start - LONG_COUNT,
    }  # fmt: skip
    for machine_id, total, good, ideal, startup in session.execute(_count_sums_query(), params):
        total = float(total or 0.0)
        ideal_cycle = float(ideal or 0.0) / total if total else 0.0
        out[machine_id] = [
            Count(period, total, float(good or 0.0), ideal_cycle, float(startup or 0.0))
        ]
    return out


@dataclass
class Facts:
    """What one scope's figures are computed from, loaded once."""

    scope: Scope
    period: Interval
    windows: dict[int, list[ShiftWindow]]  # site id -> shifts
    stoppages: dict[int, list[Stoppage]]  # machine id -> merged stops
    counts: dict[int, list[Count]]
    # site id -> its planned windows, listed once: a site's read tallies hundreds of machines.
    _planned: dict[int, list[Interval]] = field(default_factory=dict, repr=False, compare=False)

    def planned(self, machine: Machine) -> list[Interval]:
        site_id = machine.site_id
        out = self._planned.get(site_id)
        if out is None:
            out = [i for w in self.windows.get(site_id, []) for i in w.planned]
            self._planned[site_id] = out
        return out

    def tally(self, machine: Machine, period: Interval | None = None) -> Tally:
        return rules.tally(
            period=period or self.period,
            planned=self.planned(machine),
            stoppages=self.stoppages.get(machine.id, []),
            counts=self.counts.get(machine.id, []),
            until=self.period.end,
        )


def load(
    *, session: Session, scope: Scope, period: Interval, counts: bool = True, summed: bool = False
) -> Facts:
    """Shift windows, merged stops and (unless `counts` is False: reliability needs no
    output) the output of the scope's machines over the period; `summed`, the output summed
    by the database (see `_count_sums`: only for tallies over the whole period)."""
    windows = {
        sid: site_shift_windows(session=session, site=site, period=period)
        for sid, site in scope.sites.items()
    }
    merged: dict[int, list[Stoppage]] = defaultdict(list)
    for s in load_stoppages(session=session, machines=scope.machines, period=period):
        merged[s.machine_id].append(s)
    output = {}
    if counts:
        output = (_count_sums if summed else _counts)(session, scope.machines, period)
    return Facts(scope, period, windows, merged, output)


def figures_out(t: Tally) -> dict[str, Any]:
    f = rules.figures(t)
    lo = f.losses
    return {
        "availability_pct": rules.percent(f.availability),
        "performance_pct": rules.percent(f.performance),
        "quality_pct": rules.percent(f.quality),
        "oee_pct": rules.percent(f.oee),
        "flags": list(f.flags),
        "planned_minutes": round(t.planned_s / 60, 2),
        "run_minutes": round(t.run_s / 60, 2),
        "down_minutes": round(t.down_s / 60, 2),
        "ideal_minutes": round(t.ideal_s / 60, 2),
        "total_count": round(t.total, 2),
        "good_count": round(t.good, 2),
        "losses_minutes": {k.removesuffix("_s"): round(v / 60, 2) for k, v in vars(lo).items()},
    }


def figures_of(*, scope: Scope, period: Interval, per_machine: dict[int, Tally]) -> dict[str, Any]:
    """The answer of `calculate` from each machine's tally: the scope's figures divided
    once from the summed tallies, then each machine's."""
    return {
        "scope": scope.kind,
        "ref": scope.ref,
        "start": period.start,
        "end": period.end,
        **figures_out(rules.add_up(per_machine.values())),
        "machines": [
            {"machine": scope.names[m.id], **figures_out(per_machine[m.id])} for m in scope.machines
        ],
    }


def calculate(
    *, session: Session, scope: Scope, period: Interval, by_shift: bool = False
) -> dict[str, Any]:
    """The scope's figures over the period, each machine's, and per shift if asked; every
    aggregate is a sum of tallies divided once."""
    facts = load(session=session, scope=scope, period=period)
    per_machine = {m.id: facts.tally(m) for m in scope.machines}
    out = figures_of(scope=scope, period=period, per_machine=per_machine)
    if by_shift:
        shifts: dict[tuple[str, str, Any], Tally] = {}
        starts: dict[tuple[str, str, Any], Interval] = {}
        for m in scope.machines:
            site = scope.sites[m.site_id]
            for w in facts.windows.get(m.site_id, []):
                clipped = w.interval.clip(period)
                if clipped is None:
                    continue
                key = (site.code, w.code, w.day)
                # A shift report asks for the shift itself: its tally is the machine's.
                t = per_machine[m.id] if clipped == period else facts.tally(m, clipped)
                shifts[key] = shifts.get(key, Tally()) + t
                starts[key] = w.interval
        out["shifts"] = [
            {"site": k[0], "shift": k[1], "day": k[2], "start": starts[k].start,
             "end": starts[k].end, **figures_out(t)}
            for k, t in sorted(shifts.items(), key=lambda kv: starts[kv[0]].start)
        ]  # fmt: skip
    return out


# -- reliability --


def _scheduled(facts: Facts, machine: Machine) -> list[Interval]:
    return facts.planned(machine)


def reliability(*, session: Session, scope: Scope, period: Interval) -> dict[str, Any]:
    facts = load(session=session, scope=scope, period=period, counts=False)
    parts = {
        m.id: rel.reliability(
            period=period, scheduled=_scheduled(facts, m), stoppages=facts.stoppages.get(m.id, [])
        )  # fmt: skip
        for m in scope.machines
    }
    return {
        "scope": scope.kind, "ref": scope.ref, "start": period.start, "end": period.end,
        **vars(rel.combine(parts.values())),
        "machines": [{"machine": scope.names[m.id], **vars(parts[m.id])} for m in scope.machines],
    }  # fmt: skip


def pareto(*, session: Session, scope: Scope, period: Interval, by: str) -> dict[str, Any]:
    if by not in ("reason", "category"):
        raise RuleViolation("by: one of reason, category", field="by")
    facts = load(session=session, scope=scope, period=period, counts=False)
    key = "reason_code" if by == "reason" else "category"
    durations = [
        d for m in scope.machines
        for d in rel.stop_durations(facts.stoppages.get(m.id, []), period, key)
    ]  # fmt: skip
    rows = rel.pareto(durations)
    return {
        "scope": scope.kind, "ref": scope.ref, "start": period.start, "end": period.end,
        "by": by, "total_hours": round(sum(s for _, s in durations) / 3600, 2),
        "rows": [vars(r) for r in rows],
    }  # fmt: skip


def utilisation(*, session: Session, scope: Scope, period: Interval) -> dict[str, Any]:
    facts = load(session=session, scope=scope, period=period, counts=False)
    parts = {
        m.id: rel.utilisation(
            period=period, scheduled=_scheduled(facts, m), stoppages=facts.stoppages.get(m.id, [])
        )  # fmt: skip
        for m in scope.machines
    }
    sums = {
        k: round(sum(getattr(p, k) for p in parts.values()), 2)
        for k in ("calendar_hours", "scheduled_hours", "running_hours", "idle_hours", "down_hours")
    }
    cal, sched, run = sums["calendar_hours"], sums["scheduled_hours"], sums["running_hours"]
    return {
        "scope": scope.kind, "ref": scope.ref, "start": period.start, "end": period.end, **sums,
        "utilisation_pct": round(100 * run / cal, 2) if cal else None,
        "schedule_use_pct": round(100 * run / sched, 2) if sched else None,
        "machines": [{"machine": scope.names[m.id], **vars(parts[m.id])} for m in scope.machines],
    }  # fmt: skip


def comparison(
    *, session: Session, scope: Scope, current: Interval, previous: Interval
) -> dict[str, Any]:
    """Two periods of one scope side by side: OEE figures, downtime and reliability."""

    def figures(period: Interval) -> dict[str, float | None]:
        calc = calculate(session=session, scope=scope, period=period)
        r = reliability(session=session, scope=scope, period=period)
        return {
            "oee_pct": calc["oee_pct"], "availability_pct": calc["availability_pct"],
            "performance_pct": calc["performance_pct"], "quality_pct": calc["quality_pct"],
            "down_minutes": calc["down_minutes"], "good_count": calc["good_count"],
            "failures": r["failures"], "mtbf_hours": r["mtbf_hours"],
            "mttr_hours": r["mttr_hours"],
        }  # fmt: skip

    now, before = figures(current), figures(previous)
    return {
        "scope": scope.kind, "ref": scope.ref,
        "current": {"start": current.start, "end": current.end},
        "previous": {"start": previous.start, "end": previous.end},
        "changes": [vars(c) for c in rel.compare(now, before)],
    }  # fmt: skip


# -- reliability and Pareto from the stored stoppages and the summaries --


def reliability_stored(*, session: Session, scope: Scope, period: Interval) -> dict[str, Any]:
    """`reliability` from stored sums: failures and repair time summed by the database
    over the merged stoppages kept, operating time (planned less every stop inside it)
    from the OEE summaries."""
    # Operating time needs no output: the records at the ragged ends are read without it.
    tallies = summed_tallies(session=session, scope=scope, period=period, counts=False)
    failures = oee_stoppages.failure_sums(
        session=session, machine_ids=[m.id for m in scope.machines], period=period
    )
    parts = {}
    for m in scope.machines:
        t = tallies[m.id]
        count, repair_s = failures.get(m.id, (0, 0.0))
        parts[m.id] = rel.from_sums(
            operating_s=max(0.0, t.planned_s - t.down_s - t.small_stop_s),
            failures=count,
            repair_s=repair_s,
        )
    return {
        "scope": scope.kind, "ref": scope.ref, "start": period.start, "end": period.end,
        **vars(rel.combine(parts.values())),
        "machines": [{"machine": scope.names[m.id], **vars(parts[m.id])} for m in scope.machines],
    }  # fmt: skip


def pareto_stored(*, session: Session, scope: Scope, period: Interval, by: str) -> dict[str, Any]:
    """`pareto` summed by the database over the merged stoppages kept."""
    rows, total_s = oee_stoppages.pareto_rows(
        session=session, machine_ids=[m.id for m in scope.machines], period=period, by=by
    )
    return {
        "scope": scope.kind, "ref": scope.ref, "start": period.start, "end": period.end,
        "by": by, "total_hours": round(total_s / 3600, 2), "rows": [vars(r) for r in rows],
    }  # fmt: skip


# -- from the summaries --


_COLUMNS = tuple(Tally.__dataclass_fields__)  # what summaries store, column for field


def _summary_sums(model, bucket, machine_ids, where):
    return (
        select(
            model.machine_id,
            bucket.label("bucket"),
            *[func.sum(getattr(model, c)).label(c) for c in _COLUMNS],
        )  # fmt: skip
        .where(model.machine_id == _any_of(machine_ids), *where)
        .group_by(model.machine_id, bucket)
    )


def _tally_of(row) -> Tally:
    return Tally(*(float(getattr(row, c) or 0.0) for c in _COLUMNS))


def _part_sums(model, part: int, machine_ids, where):
    """Each machine's sums of the summaries matching `where`, tagged `part` (a constant of
    the statement, not a parameter: the parts of one read sort by it)."""
    return (
        select(model.machine_id, literal_column(str(part)).label("part"),
               *[func.sum(getattr(model, c)).label(c) for c in _COLUMNS])
        .where(model.machine_id == _any_of(machine_ids), *where)
        .group_by(model.machine_id)
    )  # fmt: skip


def _tally_at(row) -> Tally:
    """A `_part_sums` row's tally, its sums read by position."""
    return Tally(*[float(v or 0.0) for v in row[2:]])


def summed(*, session: Session, scope: Scope, period: Interval) -> dict[str, Any]:
    """The scope's figures over the period read from the summaries: whole site-local days
    from the daily ones, whole hours left at either end from the hourly ones, and what is
    left of an hour at each end from the records. Exact wherever the snapshot round ran;
    the answer for a long period in a handful of queries."""
    per_machine = summed_tallies(session=session, scope=scope, period=period)
    return figures_of(scope=scope, period=period, per_machine=per_machine)


def summed_tallies(
    *, session: Session, scope: Scope, period: Interval, counts: bool = True
) -> dict[int, Tally]:
    """Each machine's tally over the period from the summaries (see `summed`); without
    `counts`, the output at the ragged ends is left out (the times are whole)."""
    per_machine: dict[int, Tally] = {m.id: Tally() for m in scope.machines}
    raw_edges: set[tuple[int, Interval]] = set()
    for site_id, site in scope.sites.items():
        ids = [m.id for m in scope.machines if m.site_id == site_id]
        zone = ZoneInfo(site.timezone)
        first = period.start.astimezone(zone).date()
        if site_day(first, site.timezone).start < period.start:
            first += timedelta(days=1)
        last = period.end.astimezone(zone).date()
        if site_day(last, site.timezone).end > period.end:
            last -= timedelta(days=1)
        parts = []  # the summaries' sums, read in one statement and added in this order
        if first <= last:
            days = Interval(site_day(first, site.timezone).start, site_day(last, site.timezone).end)
            parts.append(_part_sums(
                OeeDailySummary, len(parts), ids, [OeeDailySummary.day.between(first, last)]
            ))  # fmt: skip
            edges = [Interval(period.start, days.start), Interval(days.end, period.end)]
        else:
            edges = [period]
        for edge in edges:
            if edge.seconds <= 0:
                continue
            h0 = _ceil_hour(edge.start)
            h1 = edge.end.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            if h0 < h1:
                parts.append(_part_sums(
                    OeeHourlySummary, len(parts), ids,
                    [OeeHourlySummary.hour_start >= h0, OeeHourlySummary.hour_start < h1],
                ))  # fmt: skip
                raw_edges |= {
                    (site_id, Interval(edge.start, h0)),
                    (site_id, Interval(h1, edge.end)),
                }
            else:
                raw_edges.add((site_id, edge))
        if parts:
            query = parts[0] if len(parts) == 1 else union_all(*parts).order_by("part")
            for r in session.execute(query):
                per_machine[r[0]] = per_machine[r[0]] + _tally_at(r)
    for site_id, edge in sorted(raw_edges, key=lambda e: (e[0], e[1].start)):
        if edge.seconds <= 0:
            continue
        machines = [m for m in scope.machines if m.site_id == site_id]
        part = Scope(scope.kind, scope.ref, machines, {site_id: scope.sites[site_id]}, scope.names)
        facts = load(session=session, scope=part, period=edge, counts=counts, summed=True)
        for m in machines:
            per_machine[m.id] = per_machine[m.id] + facts.tally(m)
    return per_machine


def hour_tallies(*, session: Session, scope: Scope, period: Interval) -> dict[int, Tally]:
    """Each machine's tally over a period of a few hours (a shift): its whole UTC hours
    from the hour summaries and what is left at either end from the records; a machine
    missing the summary of one of those hours (the snapshot round did not run, or the
    hour held nothing) is tallied from its records over the whole period. Equal to the
    tallies `calculate` sums, without reading every count of the period."""
    h0, h1 = _ceil_hour(period.start), _floor_hour(period.end)
    hours = int((h1 - h0).total_seconds() // 3600) if h0 < h1 else 0
    per_machine: dict[int, Tally] = {m.id: Tally() for m in scope.machines}
    summarised: set[int] = set()
    if hours and scope.machines:
        h = OeeHourlySummary
        query = (
            select(h.machine_id, func.count().label("hours"),
                   *[func.sum(getattr(h, c)).label(c) for c in _COLUMNS])
            .where(h.machine_id == _any_of(list(per_machine)), h.hour_start >= h0,
                   h.hour_start < h1)
            .group_by(h.machine_id)
        )  # fmt: skip
        for r in session.execute(query):
            if r.hours == hours:
                per_machine[r.machine_id] = _tally_of(r)
                summarised.add(r.machine_id)
    whole = [m for m in scope.machines if m.id not in summarised]
    parts = [(whole, period)]
    if summarised:
        done = [m for m in scope.machines if m.id in summarised]
        parts += [(done, Interval(period.start, h0)), (done, Interval(h1, period.end))]
    for machines, span in parts:
        if not machines or span.seconds <= 0:
            continue
        part = Scope(scope.kind, scope.ref, machines, scope.sites, scope.names)
        facts = load(session=session, scope=part, period=span, summed=True)
        for m in machines:
            per_machine[m.id] = per_machine[m.id] + facts.tally(m)
    return per_machine


def bottlenecks(
    *, session: Session, scope: Scope, period: Interval, stored: bool = False
) -> dict[str, Any]:
    """The machine pacing each line over the period, from the records or, `stored`, from
    the summaries (see `summed`: a quarter at once)."""
    if stored:
        tallies = summed_tallies(session=session, scope=scope, period=period)
    else:
        facts = load(session=session, scope=scope, period=period)
        tallies = {m.id: facts.tally(m) for m in scope.machines}
    line_ids = {m.line_id for m in scope.machines if m.line_id}
    lines = dict(
        session.execute(
            select(ProductionLine.id, ProductionLine.code).where(ProductionLine.id.in_(line_ids))
        ).all()
    )
    rows = rel.bottlenecks(
        (scope.names[m.id], lines.get(m.line_id), tallies[m.id]) for m in scope.machines
    )
    return {
        "scope": scope.kind, "ref": scope.ref, "start": period.start, "end": period.end,
        "machines": [vars(r) for r in rows],
    }  # fmt: skip


def _floor_hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _ceil_hour(at: datetime) -> datetime:
    floor = _floor_hour(at)
    return floor if floor == at else floor + timedelta(hours=1)


def trend(*, session: Session, scope: Scope, period: Interval, grain: str) -> dict[str, Any]:
    """The scope's figures per day (site-local) or per hour (UTC) from the summaries, each
    point recomputed from the summed times and counts of the scope's machines."""
    if grain not in ("day", "hour"):
        raise RuleViolation("grain: one of day, hour", field="grain")
    ids = [m.id for m in scope.machines]
    if grain == "day":
        zones = [ZoneInfo(s.timezone) for s in scope.sites.values()] or [UTC]
        first = min(period.start.astimezone(z).date() for z in zones)
        # A period ending at midnight holds nothing of the day that midnight begins.
        last = max((period.end - timedelta(microseconds=1)).astimezone(z).date() for z in zones)
        query = _summary_sums(OeeDailySummary, OeeDailySummary.day, ids,
                              [OeeDailySummary.day.between(first, last)])  # fmt: skip
    else:
        query = _summary_sums(
            OeeHourlySummary, OeeHourlySummary.hour_start, ids,
            [OeeHourlySummary.hour_start >= period.start.replace(minute=0, second=0,
                                                                 microsecond=0),
             OeeHourlySummary.hour_start < period.end],
        )  # fmt: skip
    points: dict[Any, Tally] = {}
    for r in session.execute(query):
        points[r.bucket] = points.get(r.bucket, Tally()) + _tally_of(r)
    return {
        "scope": scope.kind, "ref": scope.ref, "start": period.start, "end": period.end,
        "grain": grain, **figures_out(rules.add_up(points.values())),
        "points": [{"at": str(k), **figures_out(t)} for k, t in sorted(points.items())],
    }  # fmt: skip
