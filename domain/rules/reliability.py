"""Reliability figures of seed 003 appendix A and seed 004: MTBF, MTTR, availability from
them, the downtime Pareto, utilisation and period comparisons. Times are seconds in,
hours out."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from domain.rules.oee import (
    Interval,
    Stoppage,
    Tally,
    covered_seconds,
    figures,
    overlaps,
    percent,
    union,
)

# Stops that are failures for MTBF and MTTR: unplanned breakdowns. A changeover or a
# material shortage is lost time but not a failure of the machine.
FAILURE_CATEGORIES = frozenset({"breakdown"})


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 2)


def mtbf_hours(operating_s: float, failures: int) -> float | None:
    """Total operating time / number of failures; None without a failure."""
    return round(operating_s / 3600 / failures, 2) if failures > 0 else None


def mttr_hours(repair_s: float, repairs: int) -> float | None:
    """Total repair time / number of repairs; None without a repair."""
    return round(repair_s / 3600 / repairs, 2) if repairs > 0 else None


def availability_pct(mtbf: float | None, mttr: float | None) -> float | None:
    """MTBF / (MTBF + MTTR) x 100, the inherent availability. Without a failure the
    machine was available the whole time: 100."""
    if mtbf is None:
        return 100.0 if mttr is None else None
    if mttr is None:
        return 100.0
    return round(100 * mtbf / (mtbf + mttr), 2) if mtbf + mttr > 0 else None


@dataclass(frozen=True)
class Reliability:
    failures: int
    operating_hours: float
    repair_hours: float
    mtbf_hours: float | None
    mttr_hours: float | None
    availability_pct: float | None


def is_failure(s: Stoppage) -> bool:
    return not s.planned and s.category in FAILURE_CATEGORIES


def reliability(
    *,
    period: Interval,
    scheduled: Sequence[Interval],
    stoppages: Sequence[Stoppage],
    until: datetime | None = None,
) -> Reliability:
    """One machine (or several, summed) over a period. A failure counts in the period it
    starts in; operating time is scheduled time less all stop time inside it; repair time
    is each failure's duration within the period (an open one runs to `until`)."""
    until = until or period.end
    windows = union(c for w in scheduled if (c := w.clip(period)) is not None)
    scheduled_s = covered_seconds(windows)
    ends = [w.end for w in windows]
    down: list[Interval] = []
    failures, repair_s = 0, 0.0
    for s in stoppages:
        whole = s.interval(until)
        down.extend(overlaps(whole, windows, ends))
        if is_failure(s) and period.start <= s.start < period.end:
            failures += 1
            clipped = whole.clip(period)
            repair_s += clipped.seconds if clipped else 0.0
    operating_s = max(0.0, scheduled_s - covered_seconds(down))
    return from_sums(operating_s=operating_s, failures=failures, repair_s=repair_s)


def from_sums(*, operating_s: float, failures: int, repair_s: float) -> Reliability:
    """The figures from the three sums they rest on (stored or computed)."""
    mtbf, mttr = mtbf_hours(operating_s, failures), mttr_hours(repair_s, failures)
    return Reliability(
        failures, _hours(operating_s), _hours(repair_s), mtbf, mttr, availability_pct(mtbf, mttr)
    )


def combine(parts: Iterable[Reliability]) -> Reliability:
    """A site's figures from its machines': sums of time and failures, divided once."""
    parts = list(parts)
    failures = sum(p.failures for p in parts)
    operating = sum(p.operating_hours for p in parts) * 3600
    repair = sum(p.repair_hours for p in parts) * 3600
    mtbf, mttr = mtbf_hours(operating, failures), mttr_hours(repair, failures)
    return Reliability(
        failures, _hours(operating), _hours(repair), mtbf, mttr, availability_pct(mtbf, mttr)
    )


@dataclass(frozen=True)
class ParetoRow:
    key: str
    events: int
    hours: float
    share_pct: float
    cumulative_pct: float


def pareto(durations: Iterable[tuple[str, float]]) -> list[ParetoRow]:
    """(key, seconds) pairs grouped by key, largest first, with each key's share of the
    whole and the running total. Ties keep the key order so the answer is stable."""
    sums: dict[str, tuple[int, float]] = {}
    for key, s in durations:
        events, seconds = sums.get(key, (0, 0.0))
        sums[key] = (events + 1, seconds + s)
    return pareto_of_sums(sums)


def pareto_of_sums(sums: Mapping[str, tuple[int, float]]) -> list[ParetoRow]:
    """The Pareto from each key's (events, seconds) already summed (by the database)."""
    total = sum(s for _, s in sums.values())
    rows, running = [], 0.0
    for key in sorted(sums, key=lambda k: (-sums[k][1], k)):
        events, seconds = sums[key]
        running += seconds
        rows.append(
            ParetoRow(
                key,
                events,
                _hours(seconds),
                round(100 * seconds / total, 2) if total else 0.0,
                round(100 * running / total, 2) if total else 0.0,
            )
        )
    return rows


def stop_durations(
    stoppages: Sequence[Stoppage], period: Interval, by: str, until: datetime | None = None
) -> list[tuple[str, float]]:
    """Each stoppage's time inside the period, keyed by `reason_code` or `category`."""
    until = until or period.end
    out = []
    for s in stoppages:
        clipped = s.interval(until).clip(period)
        if clipped is not None:
            out.append((getattr(s, by), clipped.seconds))
    return out


@dataclass(frozen=True)
class Utilisation:
    """Calendar time split four ways: scheduled = running + down inside the schedule;
    idle is calendar time neither running nor down (unscheduled, waiting)."""

    calendar_hours: float
    scheduled_hours: float
    running_hours: float
    idle_hours: float
    down_hours: float
    utilisation_pct: float | None  # running / calendar
    schedule_use_pct: float | None  # running / scheduled


def utilisation(
    *,
    period: Interval,
    scheduled: Sequence[Interval],
    stoppages: Sequence[Stoppage],
    until: datetime | None = None,
) -> Utilisation:
    until = until or period.end
    windows = union(c for w in scheduled if (c := w.clip(period)) is not None)
    scheduled_s = covered_seconds(windows)
    down_all = [c for s in stoppages if (c := s.interval(until).clip(period)) is not None]
    ends = [w.end for w in windows]
    down_in_schedule = [c for d in down_all for c in overlaps(d, windows, ends)]
    running_s = max(0.0, scheduled_s - covered_seconds(down_in_schedule))
    down_s = covered_seconds(down_all)
    calendar_s = period.seconds
    idle_s = max(0.0, calendar_s - running_s - down_s)
    return Utilisation(
        _hours(calendar_s),
        _hours(scheduled_s),
        _hours(running_s),
        _hours(idle_s),
        _hours(down_s),
        round(100 * running_s / calendar_s, 2) if calendar_s else None,
        round(100 * running_s / scheduled_s, 2) if scheduled_s else None,
    )


@dataclass(frozen=True)
class Change:
    name: str
    current: float | None
    previous: float | None
    delta: float | None
    delta_pct: float | None  # relative to the previous value


def compare(current: Mapping[str, float | None], previous: Mapping[str, float | None]):
    """Each figure of two periods side by side, with the change and the relative change."""
    out: list[Change] = []
    for name in current:
        now, before = current[name], previous.get(name)
        if now is None or before is None:
            out.append(Change(name, now, before, None, None))
            continue
        delta = round(now - before, 2)
        rel = round(100 * (now - before) / abs(before), 2) if before else None
        out.append(Change(name, now, before, delta, rel))
    return out


@dataclass(frozen=True)
class BottleneckRow:
    machine: str
    line: str | None
    planned_hours: float
    good: float
    seconds_per_good: float | None  # planned time per good unit: the pace it holds
    made_nothing: bool  # planned to run, no good unit made
    oee_pct: float | None
    down_hours: float
    is_bottleneck: bool  # the slowest of its line (of the whole scope when it has none)


def _slowness(row: BottleneckRow) -> tuple[int, float]:
    return (1 if row.made_nothing else 0, row.seconds_per_good or 0.0)


def bottlenecks(rows: Iterable[tuple[str, str | None, Tally]]) -> list[BottleneckRow]:
    """Which machine paces each line: the one that makes a good unit in the longest planned
    time (stops, slow cycles and scrap all lengthen it). A machine planned to run that
    made nothing good paces its line outright; one not planned at all is never the one.
    Slowest first."""
    paced = [
        BottleneckRow(
            machine, line, _hours(t.planned_s), t.good,
            round(t.planned_s / t.good, 2) if t.planned_s > 0 and t.good > 0 else None,
            t.planned_s > 0 and t.good <= 0, percent(figures(t).oee), _hours(t.down_s), False,
        )
        for machine, line, t in rows
    ]  # fmt: skip
    slowest: dict[str | None, BottleneckRow] = {}
    for row in paced:
        if row.planned_hours <= 0:
            continue
        best = slowest.get(row.line)
        if best is None or _slowness(row) > _slowness(best):
            slowest[row.line] = row
    marked = [replace(r, is_bottleneck=slowest.get(r.line) is r) for r in paced]
    return sorted(marked, key=_slowness, reverse=True)
