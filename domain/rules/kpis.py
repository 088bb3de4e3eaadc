"""The anomaly KPIs of seed 000, computed from plain facts about anomalies in a period.

Each rate has its own population, so none can be true by construction: REX completion
counts every anomaly whose resolution was approved in the period (an anomaly only closes
with an approved REX, so counting closed ones would always give 100 %), and the escalation
rate counts every anomaly assigned in the period, closed or not."""

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import mean

RECURRENCE_WINDOW = timedelta(days=90)
REX_DUE = timedelta(days=7)  # default time to an approved REX after the resolution's approval
NAMES = (
    "mttd",
    "mttr",
    "first_time_fix_rate",
    "escalation_rate",
    "critical_response_time",
    "rex_completion_rate",
    "supervisor_first_review_approval",
    "recurrence_rate_90d",
)  # what `compute` gives, in its order


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    def holds(self, at: datetime | None) -> bool:
        return at is not None and self.start <= at < self.end


@dataclass(frozen=True)
class Fact:
    asset_id: int
    criticality: str | None
    occurred_at: datetime | None
    detected_at: datetime
    registered_at: datetime
    accepted_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    escalated: bool
    review_rejections: int
    assigned_at: datetime | None = None  # first assignment or escalation
    approved_at: datetime | None = None  # the supervisor approved the resolution
    rex_approved_at: datetime | None = None


@dataclass(frozen=True)
class Kpi:
    name: str
    value: float | None
    unit: str
    sample_size: int


@dataclass(frozen=True)
class RexBacklog:
    """Approved resolutions still waiting for their approved REX."""

    due: int
    overdue: int


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def _rate(flags: list[bool]) -> float | None:
    return round(100 * sum(flags) / len(flags), 1) if flags else None


def _avg(values: list[float]) -> float | None:
    return round(mean(values), 2) if values else None


def recurs(fact: Fact, detections: list[datetime]) -> bool:
    """Another anomaly on the same asset detected within 90 days of this one's closure.
    `detections`: the asset's, in order (a search, not a scan: an asset that keeps failing
    has as many detections as closures, and each closure would scan them all)."""
    if fact.closed_at is None:
        return False
    first_after = bisect_right(detections, fact.closed_at)
    return first_after < len(detections) and (
        detections[first_after] <= fact.closed_at + RECURRENCE_WINDOW
    )


def rex_on_time(fact: Fact, due: timedelta) -> bool:
    return (
        fact.approved_at is not None
        and fact.rex_approved_at is not None
        and fact.rex_approved_at <= fact.approved_at + due
    )


def rex_backlog(approvals: list[datetime], now: datetime, due: timedelta) -> RexBacklog:
    """From when each resolution still without an approved REX was approved."""
    return RexBacklog(len(approvals), sum(1 for at in approvals if at + due < now))


def compute(
    facts: list[Fact],
    detections_by_asset: dict[int, list[datetime]],
    period: Period,
    rex_due: timedelta = REX_DUE,
) -> list[Kpi]:
    closed = [f for f in facts if period.holds(f.closed_at)]
    assigned = [f for f in facts if period.holds(f.assigned_at)]
    reviewed = [f for f in facts if period.holds(f.approved_at)]
    mttd = [_hours(f.detected_at - f.occurred_at) for f in closed if f.occurred_at]
    mttr = [_hours(f.resolved_at - f.detected_at) for f in closed if f.resolved_at]
    in_order = {asset: sorted(found) for asset, found in detections_by_asset.items()}
    recurring = [recurs(f, in_order.get(f.asset_id, [])) for f in closed]
    first_review = [f.review_rejections == 0 for f in closed]
    first_time_fix = [ok and not again for ok, again in zip(first_review, recurring, strict=True)]
    critical = [
        (f.accepted_at - f.registered_at).total_seconds() / 60
        for f in closed
        if f.criticality == "G1" and f.accepted_at
    ]
    n = len(closed)
    return [
        Kpi("mttd", _avg(mttd), "hours", len(mttd)),
        Kpi("mttr", _avg(mttr), "hours", len(mttr)),
        Kpi("first_time_fix_rate", _rate(first_time_fix), "percent", n),
        Kpi("escalation_rate", _rate([f.escalated for f in assigned]), "percent", len(assigned)),
        Kpi("critical_response_time", _avg(critical), "minutes", len(critical)),
        Kpi(
            "rex_completion_rate",
            _rate([rex_on_time(f, rex_due) for f in reviewed]),
            "percent",
            len(reviewed),
        ),
        Kpi("supervisor_first_review_approval", _rate(first_review), "percent", n),
        Kpi("recurrence_rate_90d", _rate(recurring), "percent", n),
    ]
