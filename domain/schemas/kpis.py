"""The anomaly KPI answer: stored values per site ("ALL": the enterprise) and the live
backlog of REX due."""

from pydantic import BaseModel


class KpiOut(BaseModel):
    value: float | None
    unit: str
    sample_size: int
    computed_at: str


class RexBacklogOut(BaseModel):
    due: int  # approved resolutions whose REX is not approved yet
    overdue: int  # of which past the due time


class KpiAnswer(BaseModel):
    kpis: dict[str, dict[str, KpiOut]]
    period_days: int
    rex_due_days: int
    rex_backlog: dict[str, RexBacklogOut]
