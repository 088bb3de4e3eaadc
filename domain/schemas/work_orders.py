"""Validated shapes of the work-order, parts, downtime and operator-report API."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.rules.work_orders import PermitKind, WoPriority, WoSource, WoType

REASON_CODES = {
    "BD-MECH",
    "BD-ELEC",
    "BD-HYDR",
    "BD-PNEU",
    "BD-TOOL",
    "PM-SCHED",
    "PM-METER",
    "SU-CHNG",
    "SU-TOOL",
    "QL-HOLD",
    "SF-HOLD",
    "OP-NONE",
    "MT-WAIT",
}  # fmt: skip  (E.3)


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = Field(min_length=3, max_length=500)
    required: bool = True
    requires_measurement: bool = False
    unit: str | None = Field(default=None, max_length=20)
    spec_min: float | None = None
    spec_max: float | None = None

    @model_validator(mode="after")
    def _spec(self) -> "TaskIn":
        if self.requires_measurement and self.spec_min is None and self.spec_max is None:
            raise ValueError("spec_min: a measured task needs spec_min and/or spec_max")
        if (
            self.spec_min is not None
            and self.spec_max is not None
            and self.spec_min > self.spec_max
        ):
            raise ValueError("spec_min cannot exceed spec_max")
        return self


class WorkOrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    asset: str = Field(min_length=1, max_length=60)
    type: WoType
    priority: WoPriority = WoPriority.NORMAL
    source: WoSource = WoSource.SUPERVISOR_REQUEST
    source_reference: str | None = Field(default=None, max_length=60)
    title: str = Field(min_length=3, max_length=200)
    description: str = Field(default="", max_length=5000)
    estimated_hours: float | None = Field(default=None, ge=0, le=10_000)
    estimated_cost: float = Field(default=0.0, ge=0)
    requires_loto: bool | None = None
    requires_hot_work: bool = False
    requires_confined_space: bool = False
    requires_first_article: bool = False
    tasks: list[TaskIn] = Field(default_factory=list, max_length=100)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=2000)


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignee: str | None = None
    scheduled_date: datetime | None = None
    shift: str | None = Field(default=None, max_length=40)


class TaskCompleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    measurement_value: float | None = None
    notes: str = Field(default="", max_length=2000)


class LaborIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    technician: str | None = Field(default=None, description="username; default: yourself")
    hours: float = Field(gt=0, le=24)
    labor_type: str = Field(
        default="REGULAR", pattern="^(REGULAR|OVERTIME|DOUBLE_TIME|CONTRACTOR)$"
    )
    hourly_rate: float = Field(default=45.0, ge=0, le=1000)
    notes: str | None = Field(default=None, max_length=2000)


class PermitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: PermitKind
    energy_sources: list[str] = Field(default_factory=list, max_length=20)
    isolation_verified: bool = False
    lock_numbers: list[str] = Field(default_factory=list, max_length=50)


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    checklist: dict[str, bool]
    test_run_passed: bool
    notes: str = Field(default="", max_length=2000)


class FirstArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    passed: bool
    notes: str = Field(default="", max_length=2000)


class PartRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    part_number: str = Field(min_length=1, max_length=60)
    quantity: float = Field(gt=0)
    reserve: bool = True


class PartCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    part_number: str = Field(min_length=1, max_length=60)
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    category: str = Field(pattern="^(MECHANICAL|ELECTRICAL|HYDRAULIC|PNEUMATIC|CONSUMABLE)$")
    criticality: str = Field(default="STANDARD", pattern="^(CRITICAL|IMPORTANT|STANDARD)$")
    unit_cost: float | None = Field(default=None, ge=0)
    lead_time_days: int | None = Field(default=None, ge=0)
    quantity_on_hand: float = Field(default=0, ge=0)
    min_quantity: float = Field(default=0, ge=0)
    reorder_point: float | None = Field(default=None, ge=0)
    reorder_quantity: float | None = Field(default=None, ge=0)
    warehouse_location: str | None = None
    bin_location: str | None = None


class PartIssueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    work_order: str = Field(min_length=1, max_length=20)
    quantity: float = Field(gt=0)
    serial_numbers: list[str] = Field(default_factory=list)


class PartReceiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quantity: float = Field(gt=0)
    notes: str | None = None


class DowntimeStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    asset: str
    type: str = Field(
        pattern="^(BREAKDOWN|PM|SETUP_CHANGEOVER|NO_OPERATOR|NO_MATERIAL|QUALITY_HOLD|SAFETY_HOLD|OTHER)$"
    )
    reason_code: str
    start_time: datetime | None = None
    planned: bool = False
    impacted_jobs: list[str] = Field(default_factory=list)
    details: str | None = None

    @field_validator("reason_code")
    @classmethod
    def _code(cls, value: str) -> str:
        if value not in REASON_CODES:
            raise ValueError(f"must be one of {', '.join(sorted(REASON_CODES))}")
        return value


class DowntimeEndIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    end_time: datetime | None = None
    reason_code: str | None = None

    @field_validator("reason_code")
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        if value is not None and value not in REASON_CODES:
            raise ValueError(f"must be one of {', '.join(sorted(REASON_CODES))}")
        return value


class ReportType(StrEnum):
    BREAKDOWN = "BREAKDOWN"
    ABNORMALITY = "ABNORMALITY"
    SAFETY_CONCERN = "SAFETY_CONCERN"
    QUALITY_ISSUE = "QUALITY_ISSUE"


class Severity(StrEnum):
    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


class Symptom(StrEnum):
    NOT_STARTING = "NOT_STARTING"
    UNUSUAL_NOISE = "UNUSUAL_NOISE"
    UNUSUAL_VIBRATION = "UNUSUAL_VIBRATION"
    OVERHEATING = "OVERHEATING"
    FLUID_LEAK = "FLUID_LEAK"
    SMOKE_SMELL = "SMOKE_SMELL"
    QUALITY_DEFECT = "QUALITY_DEFECT"
    SLOW_PERFORMANCE = "SLOW_PERFORMANCE"
    INTERMITTENT = "INTERMITTENT"
    OTHER = "OTHER"


class OperatorReportIn(BaseModel):
    """E.4, as JSON; the page sends the same fields with up to 5 photos."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    asset: str = Field(min_length=1, max_length=60)
    report_type: ReportType
    severity: Severity
    symptom: Symptom
    description: str = Field(min_length=5, max_length=5000)
    stopped_equipment: bool
    safety_hazard: bool
    impacted_job: str | None = Field(default=None, max_length=60)
    reported_at: datetime | None = None


class StopWorkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    asset: str
    reason: str = Field(min_length=5, max_length=2000)


class SpcViolationIn(BaseModel):
    """An SPC rule violation reported by the quality system (seed 003 F.4)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    asset: str = Field(min_length=1, max_length=60)
    violation_id: str = Field(min_length=1, max_length=60)
    rule: int = Field(ge=1, le=8, description="Western Electric / Nelson rule number")
    characteristic: str = Field(min_length=1, max_length=120)
    detail: str = Field(default="", max_length=2000)


class WorkOrderUpdate(BaseModel):
    """What may still change before approval; the rest is fixed by the workflow."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    title: str | None = Field(default=None, min_length=3, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    priority: WoPriority | None = None
    estimated_hours: float | None = Field(default=None, ge=0, le=10_000)
    estimated_cost: float | None = Field(default=None, ge=0)


class PartUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    criticality: str | None = Field(default=None, pattern="^(CRITICAL|IMPORTANT|STANDARD)$")
    unit_cost: float | None = Field(default=None, ge=0)
    lead_time_days: int | None = Field(default=None, ge=0)
    min_quantity: float | None = Field(default=None, ge=0)
    reorder_point: float | None = Field(default=None, ge=0)
    reorder_quantity: float | None = Field(default=None, ge=0)
    warehouse_location: str | None = None
    bin_location: str | None = None
