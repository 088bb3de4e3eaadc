"""The OEE engine of seed 002: availability x performance x quality and the six big losses,
computed from sums of times and counts for a machine, a line or a site over any period.

Every figure is a ratio of sums. A line or a site adds its machines' tallies and divides
once; averaging percentages would weigh an idle machine like a busy one. Times are seconds.
"""

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

SMALL_STOP = timedelta(minutes=5)  # seed 002 six big losses: small stops are < 5 minutes
# Reason categories of seed 002 whose stops are the "setup and adjustments" loss; every
# other unplanned stop is a breakdown (unplanned stop) loss.
SETUP_CATEGORIES = frozenset({"changeover", "cleaning", "setup"})
CATEGORIES = (
    "breakdown",
    "changeover",
    "cleaning",
    "material",
    "quality",
    "utility",
    "operator",
    "other",
)


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return max(0.0, (self.end - self.start).total_seconds())

    def clip(self, other: "Interval") -> "Interval | None":
        start, end = max(self.start, other.start), min(self.end, other.end)
        return Interval(start, end) if start < end else None


@dataclass(frozen=True)
class Stop:
    """One recorded stoppage of one machine; `end` None while it runs."""

    key: str  # e.g. "oee:12" or "maintenance:7", so a merge can name what it linked
    machine_id: int
    start: datetime
    end: datetime | None
    reason_code: str
    category: str = "other"
    planned: bool = False


@dataclass(frozen=True)
class Stoppage:
    """Overlapping stops of one machine counted once: the earliest reason is kept and the
    others are linked to it."""

    key: str
    machine_id: int
    start: datetime
    end: datetime | None
    reason_code: str
    category: str
    planned: bool
    linked: tuple[str, ...] = ()

    def interval(self, until: datetime) -> Interval:
        return Interval(self.start, self.end or max(until, self.start))


@dataclass(frozen=True)
class Count:
    """Output of one machine over an interval, with the ideal cycle time it ran at."""

    interval: Interval
    total: float
    good: float
    ideal_cycle_s: float
    startup_rejects: float = 0.0  # rejects made during ramp-up (seed 002 loss 5)


@dataclass(frozen=True)
class Tally:
    """The sums every OEE figure is computed from; what summaries store.

    planned_s: planned production time; down_s: stop time inside it (availability loss),
    of which setup_s is setup, changeover and cleaning; small_stop_s: stops under five
    minutes, left in run time (a performance loss); ideal_s: ideal cycle time x total."""

    planned_s: float = 0.0
    down_s: float = 0.0
    setup_s: float = 0.0
    small_stop_s: float = 0.0
    ideal_s: float = 0.0
    total: float = 0.0
    good: float = 0.0
    startup_rejects: float = 0.0

    @property
    def run_s(self) -> float:
        return max(0.0, self.planned_s - self.down_s)

    def __add__(self, other: "Tally") -> "Tally":
        # Spelled out: a site's quarter adds thousands of tallies per read.
        return Tally(
            self.planned_s + other.planned_s,
            self.down_s + other.down_s,
            self.setup_s + other.setup_s,
            self.small_stop_s + other.small_stop_s,
            self.ideal_s + other.ideal_s,
            self.total + other.total,
            self.good + other.good,
            self.startup_rejects + other.startup_rejects,
        )


def add_up(tallies: Iterable[Tally]) -> Tally:
    """A line's or a site's tally: the sum of its machines' (or a period's, of its parts)."""
    out = Tally()
    for t in tallies:
        out = out + t
    return out


@dataclass(frozen=True)
class Losses:
    """The six big losses as time (seconds) of planned production time."""

    breakdowns_s: float
    setup_adjustments_s: float
    small_stops_s: float
    reduced_speed_s: float
    startup_rejects_s: float
    production_rejects_s: float


@dataclass(frozen=True)
class OeeFigures:
    """Ratios between 0 and 1 (performance may pass 1, see `flags`); None where the
    denominator is zero, so "no planned time" never reads as 0 % or 100 %."""

    availability: float | None
    performance: float | None
    quality: float | None
    oee: float | None
    losses: Losses
    tally: Tally
    flags: tuple[str, ...] = field(default=())


def percent(ratio: float | None) -> float | None:
    """A ratio as a percentage to the hundredth, as seed 002's worked examples print it."""
    return None if ratio is None else round(ratio * 100, 2)


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def figures(t: Tally) -> OeeFigures:
    """Availability = run / planned; performance = ideal x total / run; quality = good /
    total; OEE their product.

    No planned time: every ratio is None. No output in planned time: performance and OEE
    are 0 and quality is None (nothing to judge). Counts above the ideal rate give a
    performance above 100 %, reported as is with the flag PERFORMANCE_ABOVE_IDEAL: capping
    it would hide a wrong ideal cycle time or a wrong count."""
    flags: list[str] = []
    availability = _ratio(t.run_s, t.planned_s)
    performance = _ratio(t.ideal_s, t.run_s)
    quality = _ratio(t.good, t.total)
    if t.planned_s <= 0:
        flags.append("NO_PLANNED_TIME")
        availability = performance = quality = None
    elif t.total <= 0:
        flags.append("NO_OUTPUT")
        performance = 0.0 if t.run_s > 0 else None
    if performance is not None and performance > 1.0:
        flags.append("PERFORMANCE_ABOVE_IDEAL")
    if availability is None:
        oee = None
    elif availability == 0 or performance == 0:
        oee = 0.0
    elif performance is None or quality is None:
        oee = None
    else:
        oee = availability * performance * quality
    return OeeFigures(availability, performance, quality, oee, six_losses(t), t, tuple(flags))


def six_losses(t: Tally) -> Losses:
    """Planned production time split into the six losses and what is left (fully
    productive time = planned x OEE). Quality losses are valued at the ideal cycle time."""
    performance_loss = max(0.0, t.run_s - t.ideal_s)
    small = min(t.small_stop_s, performance_loss)
    reject_share = (t.total - t.good) / t.total if t.total > 0 else 0.0
    quality_loss = min(t.ideal_s, t.run_s) * reject_share
    rejects = t.total - t.good
    startup_share = min(1.0, t.startup_rejects / rejects) if rejects > 0 else 0.0
    return Losses(
        breakdowns_s=t.down_s - t.setup_s,
        setup_adjustments_s=t.setup_s,
        small_stops_s=small,
        reduced_speed_s=performance_loss - small,
        startup_rejects_s=quality_loss * startup_share,
        production_rejects_s=quality_loss * (1 - startup_share),
    )


def merge_stops(stops: Sequence[Stop]) -> list[Stoppage]:
    """Overlapping stops of one machine are one stoppage: from the first start to the last
    end, with the earliest stop's reason; the later stops are linked to it. Stops that only
    touch (one ends as the next starts) stay two stoppages. An open stop overlaps
    everything after its start."""
    out: list[Stoppage] = []
    by_machine: dict[int, list[Stop]] = {}
    for s in stops:
        by_machine.setdefault(s.machine_id, []).append(s)
    for machine_id in sorted(by_machine):
        current: Stoppage | None = None
        for s in sorted(by_machine[machine_id], key=lambda s: (s.start, s.key)):
            if current is not None and (current.end is None or s.start < current.end):
                end = None if current.end is None or s.end is None else max(current.end, s.end)
                current = Stoppage(
                    current.key, machine_id, current.start, end, current.reason_code,
                    current.category, current.planned, (*current.linked, s.key),
                )  # fmt: skip
                continue
            if current is not None:
                out.append(current)
            current = Stoppage(
                s.key, machine_id, s.start, s.end, s.reason_code, s.category, s.planned
            )
        if current is not None:
            out.append(current)
    return out


def duration_hours(start: datetime, end: datetime) -> float:
    """A downtime's duration in hours (seed 003 L.1 scenario 5: 10:00 to 14:30 is 4.5)."""
    return round((end - start).total_seconds() / 3600, 2)


def covered_seconds(intervals: Iterable[Interval]) -> float:
    """Seconds covered by the union of the intervals."""
    total, reach = 0.0, None
    for iv in sorted(intervals, key=lambda i: i.start):
        if reach is None or iv.start >= reach:
            total += iv.seconds
            reach = iv.end
        elif iv.end > reach:
            total += (iv.end - reach).total_seconds()
            reach = iv.end
    return total


def overlaps(
    iv: Interval, windows: Sequence[Interval], ends: Sequence[datetime] | None = None
) -> list[Interval]:
    """The parts of `iv` inside `windows`, which are sorted and disjoint (as `union` makes
    them): found by bisection, so a quarter of shifts costs a few steps per stop. `ends`,
    the windows' ends, spares rebuilding them for each of many stops."""
    if ends is None:
        i = bisect_right(windows, iv.start, key=lambda w: w.end)
    else:
        i = bisect_right(ends, iv.start)
    out = []
    while i < len(windows) and windows[i].start < iv.end:
        if (c := iv.clip(windows[i])) is not None:
            out.append(c)
        i += 1
    return out


def tally(
    *,
    period: Interval,
    planned: Sequence[Interval],
    stoppages: Sequence[Stoppage],
    counts: Sequence[Count],
    until: datetime | None = None,
) -> Tally:
    """One machine's tally over `period`.

    `planned` are the windows of planned production time (shifts less their planned
    stops), `stoppages` the machine's merged stops, `counts` its output. Only stop time
    inside planned windows and the period is a loss, so a stop spanning two shifts,
    midnight or a clock change splits exactly where the windows do. A stop still open runs
    to `until` (default: the period's end). Output over an interval that reaches past the
    period is counted pro rata to its overlap."""
    until = until or period.end
    windows = union([c for w in planned if (c := w.clip(period)) is not None])
    planned_s = sum(w.seconds for w in windows)
    down: list[Interval] = []
    setup: list[Interval] = []
    small: list[Interval] = []
    ends = [w.end for w in windows]
    for st in stoppages:
        whole = st.interval(until)
        inside = overlaps(whole, windows, ends)
        if not inside:
            continue
        if whole.seconds < SMALL_STOP.total_seconds() and not st.planned:
            small.extend(inside)
            continue
        down.extend(inside)
        if st.planned or st.category in SETUP_CATEGORIES:
            setup.extend(inside)
    ideal = total = good = startup = 0.0
    for c in counts:
        share = _share(c.interval, period)
        total += c.total * share
        good += c.good * share
        startup += c.startup_rejects * share
        ideal += c.ideal_cycle_s * c.total * share
    down_s = covered_seconds(down)
    return Tally(
        planned_s=planned_s,
        down_s=down_s,
        setup_s=min(covered_seconds(setup), down_s),
        small_stop_s=covered_seconds(small),
        ideal_s=ideal,
        total=total,
        good=good,
        startup_rejects=startup,
    )


def _share(iv: Interval, period: Interval) -> float:
    if iv.seconds == 0:
        return 1.0 if period.start <= iv.start < period.end else 0.0
    clipped = iv.clip(period)
    return clipped.seconds / iv.seconds if clipped else 0.0


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint intervals covering what the given ones cover."""
    out: list[Interval] = []
    for iv in sorted(intervals, key=lambda i: i.start):
        if out and iv.start <= out[-1].end:
            if iv.end > out[-1].end:
                out[-1] = Interval(out[-1].start, iv.end)
        else:
            out.append(iv)
    return out
