"""What the OEE endpoints take and answer."""

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from domain.schemas.fields import Code, Key, Moment, Note, ShortText

COUNT_MAX = 1_000_000_000


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry its UTC offset (e.g. 2026-06-02T06:00:00-05:00)")
    return value


When = Annotated[Moment, AfterValidator(_aware)]
Count = Annotated[int, Field(ge=0, le=COUNT_MAX)]


class CountIn(BaseModel):
    """Output of one machine over one period; `machine` may be left out when `work_order`
    names the run (its asset is the machine)."""

    model_config = ConfigDict(extra="forbid")
    machine: Code | None = None
    work_order: Code | None = None
    period_start: When
    period_end: When
    total: Count
    good: Count
    reject: Count | None = None
    rework: Count = 0
    startup_reject: Count = 0
    product_code: Code | None = None
    entry_key: Annotated[str, Field(min_length=1, max_length=80)] | None = None


class CountOut(BaseModel):
    id: int
    machine: str
    work_order: str | None
    product_code: str | None
    period_start: datetime
    period_end: datetime
    total: int
    good: int
    reject: int
    rework: int
    startup_reject: int
    ideal_cycle_seconds: float
    created: bool


class PerformanceLogIn(BaseModel):
    """Cycle times observed on a machine."""

    # Seed 002 performance_logs.

    model_config = ConfigDict(extra="forbid")
    machine: Code
    logged_at: When
    actual_cycle_seconds: Annotated[float, Field(gt=0, le=86_400)]
    target_cycle_seconds: Annotated[float, Field(gt=0, le=86_400)] | None = Field(
        default=None, description="the machine's ideal cycle time when left out"
    )
    units: Annotated[int, Field(ge=1, le=COUNT_MAX)]
    work_order: Code | None = None


class PerformanceLogOut(BaseModel):
    id: int
    machine: str
    logged_at: datetime
    actual_cycle_seconds: float
    target_cycle_seconds: float
    units: int
    speed_pct: float = Field(description="target / actual cycle time, in percent")


class PerformanceLogList(BaseModel):
    items: list[PerformanceLogOut]


class QualityEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    machine: Code
    event_type: str = Field(pattern="^(scrap|rework|reject)$")
    quantity: Annotated[int, Field(ge=1, le=COUNT_MAX)]
    occurred_at: When
    defect_type: ShortText | None = None
    notes: Note | None = None
    work_order: Code | None = None


class QualityEventOut(BaseModel):
    id: int
    machine: str
    event_type: str
    quantity: int
    occurred_at: datetime


class DowntimeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    machine: Code
    reason_code: Key
    start_time: When | None = None
    end_time: When | None = None
    planned: bool | None = None  # default: the reason code's
    severity: str = Field("medium", pattern="^(low|medium|high)$")
    notes: Note | None = None
    work_order: Code | None = None


class DowntimeEndIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    end_time: When | None = None
    reason_code: Key | None = None
    notes: Note | None = None


class DowntimeOut(BaseModel):
    id: int
    machine: str
    reason_code: str
    category: str
    planned: bool
    severity: str
    start_time: datetime
    end_time: datetime | None
    duration_minutes: float | None
    duration_hours: float | None
    notes: str | None


class ReasonOut(BaseModel):
    code: str
    category: str
    description: str
    planned: bool
    color: str | None


class ReasonList(BaseModel):
    items: list[ReasonOut]


class ScopeIn(BaseModel):
    """Exactly one of machine (asset number), line or site (codes)."""

    model_config = ConfigDict(extra="forbid")
    machine: Code | None = None
    line: Key | None = None
    site: Key | None = None


class CalculateIn(ScopeIn):
    """`source` "summaries" reads whole days and hours from the rolled-up summaries (a long
    period in a few queries); "records" computes everything from the raw records."""

    start: When
    end: When
    by_shift: bool = False
    source: str = Field("records", pattern="^(records|summaries)$")


class Losses(BaseModel):
    breakdowns: float
    setup_adjustments: float
    small_stops: float
    reduced_speed: float
    startup_rejects: float
    production_rejects: float


class Figures(BaseModel):
    availability_pct: float | None
    performance_pct: float | None
    quality_pct: float | None
    oee_pct: float | None
    flags: list[str]
    planned_minutes: float
    run_minutes: float
    down_minutes: float
    ideal_minutes: float
    total_count: float
    good_count: float
    losses_minutes: Losses


class MachineFigures(Figures):
    machine: str


class ShiftFigures(Figures):
    site: str
    shift: str
    day: date
    start: datetime
    end: datetime


class OeeOut(Figures):
    scope: str
    ref: str
    start: datetime
    end: datetime
    machines: list[MachineFigures]
    shifts: list[ShiftFigures] | None = None


class ParetoRowOut(BaseModel):
    key: str
    events: int
    hours: float
    share_pct: float
    cumulative_pct: float


class ParetoOut(BaseModel):
    scope: str
    ref: str
    start: datetime
    end: datetime
    by: str
    total_hours: float
    rows: list[ParetoRowOut]


class ReliabilityFigures(BaseModel):
    failures: int
    operating_hours: float
    repair_hours: float
    mtbf_hours: float | None
    mttr_hours: float | None
    availability_pct: float | None


class MachineReliability(ReliabilityFigures):
    machine: str


class ReliabilityOut(ReliabilityFigures):
    scope: str
    ref: str
    start: datetime
    end: datetime
    machines: list[MachineReliability]


class UtilisationFigures(BaseModel):
    calendar_hours: float
    scheduled_hours: float
    running_hours: float
    idle_hours: float
    down_hours: float
    utilisation_pct: float | None
    schedule_use_pct: float | None


class MachineUtilisation(UtilisationFigures):
    machine: str


class UtilisationOut(UtilisationFigures):
    scope: str
    ref: str
    start: datetime
    end: datetime
    machines: list[MachineUtilisation]


class BottleneckOut(BaseModel):
    machine: str
    line: str | None
    planned_hours: float
    good: float
    seconds_per_good: float | None = Field(description="planned time per good unit")
    made_nothing: bool
    oee_pct: float | None
    down_hours: float
    is_bottleneck: bool = Field(description="the slowest machine of its line")


class BottlenecksOut(BaseModel):
    scope: str
    ref: str
    start: datetime
    end: datetime
    machines: list[BottleneckOut] = Field(description="slowest first")


class PeriodOut(BaseModel):
    start: datetime
    end: datetime


class ChangeOut(BaseModel):
    name: str
    current: float | None
    previous: float | None
    delta: float | None
    delta_pct: float | None


class ComparisonOut(BaseModel):
    scope: str
    ref: str
    current: PeriodOut
    previous: PeriodOut
    changes: list[ChangeOut]


class EnergyReadingIn(BaseModel):
    """kWh used in the interval ending at `reading_time`."""

    model_config = ConfigDict(extra="forbid")
    machine: Code
    reading_time: When
    kwh: Annotated[float, Field(allow_inf_nan=False, ge=0, le=1e9)]
    meter_reading: Annotated[float, Field(allow_inf_nan=False, ge=0, le=1e12)] | None = None
    reading_type: str = Field("manual", pattern="^(manual|automatic)$")
    source: Key | None = None


class EnergyReadingOut(BaseModel):
    id: int
    machine: str
    reading_time: datetime
    kwh: float


class MachineEnergy(BaseModel):
    machine: str
    kwh: float
    cost: float | None
    currency: str | None
    kwh_per_unit: float | None
    expected_kwh: float | None
    baseline_ratio: float | None
    spike: bool


class EnergyCostOut(BaseModel):
    scope: str
    ref: str
    start: datetime
    end: datetime
    kwh: float
    cost: float | None
    currency: str | None
    machines: list[MachineEnergy]


class TrendPoint(Figures):
    at: str  # the day (site-local) or the hour (UTC) the point sums


class TrendOut(Figures):
    scope: str
    ref: str
    start: datetime
    end: datetime
    grain: str
    points: list[TrendPoint]


class SnapshotOut(Figures):
    taken_at: datetime  # the end of the five minutes it covers


class SnapshotsOut(Figures):
    machine: str
    start: datetime
    end: datetime
    count: int
    items: list[SnapshotOut]


class LiveShift(BaseModel):
    code: str
    day: date
    start: datetime
    end: datetime
    target_pct: float | None


class LiveStoppage(BaseModel):
    reason_code: str
    category: str
    planned: bool
    since: datetime
    minutes: float


class RealtimeOut(Figures):
    """The running shift so far; figures None (flag NO_PLANNED_TIME) between shifts."""

    machine: str
    at: datetime
    status: str  # running, down or idle
    shift: LiveShift | None
    stoppage: LiveStoppage | None
    target_pct: float
    on_target: bool | None
