"""The anomaly KPIs of seed 000, computed from plain facts about closed anomalies."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import mean

RECURRENCE_WINDOW = timedelta(days=90)


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
    rex_approved: bool


@dataclass(frozen=True)
class Kpi:
    name: str
    value: float | None
    unit: str
    sample_size: int


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def _rate(flags: list[bool]) -> float | None:
    return round(100 * sum(flags) / len(flags), 1) if flags else None


def _avg(values: list[float]) -> float | None:
    return round(mean(values), 2) if values else None


def recurs(fact: Fact, later_detections: list[datetime]) -> bool:
    """Another anomaly on the same asset detected within 90 days of this one's closure."""
    if fact.closed_at is None:
        return False
    return any(fact.closed_at < d <= fact.closed_at + RECURRENCE_WINDOW for d in later_detections)


def compute(closed: list[Fact], detections_by_asset: dict[int, list[datetime]]) -> list[Kpi]:
    mttd = [_hours(f.detected_at - f.occurred_at) for f in closed if f.occurred_at]
    mttr = [_hours(f.resolved_at - f.detected_at) for f in closed if f.resolved_at]
    recurring = [recurs(f, detections_by_asset.get(f.asset_id, [])) for f in closed]
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
        Kpi("escalation_rate", _rate([f.escalated for f in closed]), "percent", n),
        Kpi("critical_response_time", _avg(critical), "minutes", len(critical)),
        Kpi("rex_completion_rate", _rate([f.rex_approved for f in closed]), "percent", n),
        Kpi("supervisor_first_review_approval", _rate(first_review), "percent", n),
        Kpi("recurrence_rate_90d", _rate(recurring), "percent", n),
    ]
