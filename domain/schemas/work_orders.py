"""Validated shapes of the work-order, parts, downtime and operator-report API."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.rules.work_orders import (
    STANDARD_HOURLY_RATE,
    PermitKind,
    WoPriority,
    WoSource,
    WoType,
)
from domain.schemas.fields import (
    Code,
    Key,
    Label,
    Line,
    Measurement,
    Moment,
    Money,
    Note,
    Quantity,
    ShortText,
    Unit,
)

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
    description: Line = Field(min_length=3)
    required: bool = True
    requires_measurement: bool = False
    unit: Unit | None = None
    spec_min: Measurement | None = None
    spec_max: Measurement | None = None

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


class TaskEditIn(TaskIn):
    """A task as it is to be (every field); `sequence` moves it to a free place."""

    requires_photo: bool = False
    sequence: int | None = Field(default=None, ge=1, le=10_000)
    reason: Line | None = None


class WorkOrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    asset: Code = Field(min_length=1)
    type: WoType
    priority: WoPriority = WoPriority.NORMAL
    source: WoSource = WoSource.SUPERVISOR_REQUEST
    source_reference: Code | None = None
    title: ShortText = Field(min_length=3)
    description: Note = ""
    estimated_hours: float | None = Field(default=None, ge=0, le=10_000)
    estimated_cost: Money = 0.0
    requires_loto: bool | None = None
    requires_hot_work: bool = False
    requires_confined_space: bool = False
    requires_first_article: bool = False
    tasks: list[TaskIn] = Field(default_factory=list, max_length=100)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: ShortText = ""


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignee: Label | None = None
    scheduled_date: Moment | None = None
    shift: Key | None = None


class TaskCompleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    measurement_value: Measurement | None = None
    notes: Note = ""


class LaborIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    technician: Label | None = Field(default=None, description="username; default: yourself")
    hours: float = Field(gt=0, le=24)
    labor_type: str = Field(
        default="REGULAR", pattern="^(REGULAR|OVERTIME|DOUBLE_TIME|CONTRACTOR)$"
    )
    hourly_rate: float = Field(default=STANDARD_HOURLY_RATE, ge=0, le=1000)
    notes: Note | None = None


class PermitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: PermitKind
    energy_sources: list[Label] = Field(default_factory=list, max_length=20)
    isolation_verified: bool = False
    lock_numbers: list[Code] = Field(default_factory=list, max_length=50)


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    checklist: dict[ShortText, bool] = Field(max_length=50)
    test_run_passed: bool
    notes: Note = ""


class FirstArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    passed: bool
    notes: Note = ""


class PartRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    part_number: Code = Field(min_length=1)
    quantity: Quantity = Field(gt=0)
    reserve: bool = True


class PartCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    part_number: Code = Field(min_length=1)
    name: ShortText = Field(min_length=1)
    description: Note | None = None
    category: str = Field(pattern="^(MECHANICAL|ELECTRICAL|HYDRAULIC|PNEUMATIC|CONSUMABLE)$")
    criticality: str = Field(default="STANDARD", pattern="^(CRITICAL|IMPORTANT|STANDARD)$")
    unit_cost: Money | None = None
    lead_time_days: int | None = Field(default=None, ge=0, le=3650)
    quantity_on_hand: Quantity = 0
    min_quantity: Quantity = 0
    reorder_point: Quantity | None = None
    reorder_quantity: Quantity | None = None
    warehouse_location: Code | None = None
    bin_location: Code | None = None


class PartIssueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    work_order: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9-]+$")
    quantity: Quantity = Field(gt=0)
    serial_numbers: list[Code] = Field(default_factory=list, max_length=100)


class PartReceiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quantity: Quantity = Field(gt=0)
    notes: Note | None = None


class DowntimeStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    asset: Code
    type: str = Field(
        pattern="^(BREAKDOWN|PM|SETUP_CHANGEOVER|NO_OPERATOR|NO_MATERIAL|QUALITY_HOLD|SAFETY_HOLD|OTHER)$"
    )
    reason_code: str
    start_time: Moment | None = None
    planned: bool = False
    impacted_jobs: list[Code] = Field(default_factory=list, max_length=100)
    details: Note | None = None

    @field_validator("reason_code")
    @classmethod
    def _code(cls, value: str) -> str:
        if value not in REASON_CODES:
            raise ValueError(f"must be one of {', '.join(sorted(REASON_CODES))}")
        return value


class DowntimeEndIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    end_time: Moment | None = None
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
    asset: Code = Field(min_length=1)
    report_type: ReportType
    severity: Severity
    symptom: Symptom
    description: Note = Field(min_length=5)
    stopped_equipment: bool
    safety_hazard: bool
    impacted_job: Code | None = None
    reported_at: Moment | None = None


class StopWorkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    asset: Code
    reason: ShortText = Field(min_length=5)


class StopWorkClearIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: ShortText = Field(default="", description="empty, or at least 3 characters")

    @field_validator("reason")
    @classmethod
    def _empty_or_said(cls, value: str) -> str:
        if 0 < len(value) < 3:
            raise ValueError("say why in at least 3 characters, or leave it empty")
        return value


class SpcViolationIn(BaseModel):
    """An SPC rule violation reported by the quality system."""

    # Seed 003 F.4.

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    asset: Code = Field(min_length=1)
    violation_id: Code = Field(min_length=1)
    rule: int = Field(ge=1, le=8, description="Western Electric / Nelson rule number")
    characteristic: Label = Field(min_length=1)
    detail: Note = ""
    pm_schedule: Code | None = Field(
        default=None,
        description="a condition-based PM schedule of the asset that this violation triggers: "
        "its work order is drafted instead of a quality work order",
    )


class WorkOrderUpdate(BaseModel):
    """What may still change before approval; the rest is fixed by the workflow."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    title: ShortText | None = Field(default=None, min_length=3)
    description: Note | None = None
    priority: WoPriority | None = None
    estimated_hours: float | None = Field(default=None, ge=0, le=10_000)
    estimated_cost: Money | None = None


class PartUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: ShortText | None = Field(default=None, min_length=1)
    description: Note | None = None
    criticality: str | None = Field(default=None, pattern="^(CRITICAL|IMPORTANT|STANDARD)$")
    unit_cost: Money | None = None
    lead_time_days: int | None = Field(default=None, ge=0, le=3650)
    min_quantity: Quantity | None = None
    reorder_point: Quantity | None = None
    reorder_quantity: Quantity | None = None
    warehouse_location: Code | None = None
    bin_location: Code | None = None
