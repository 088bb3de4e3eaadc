"""Input and output shapes of PM templates and schedules (seed 003 D.2 in snake_case)."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.rules.assets import MeterType
from domain.rules.pm import Anchor, OverdueAction, ScheduleType
from domain.schemas.fields import Code, Key, Line, LongText, Moment, Note, Quantity, ShortText

_CODE = r"^[A-Z0-9][A-Z0-9_.-]*$"
_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TemplateTask(BaseModel):
    model_config = _STRICT

    sequence: int = Field(ge=1, le=1000)
    description: Line = Field(min_length=1)
    detailed_instructions: LongText | None = None
    is_required: bool = True
    estimated_minutes: int | None = Field(default=None, ge=0, le=100_000)
    requires_measurement: bool = False
    measurement_unit: Key | None = None
    measurement_spec: Key | None = None  # "1.5-2.0 mm"
    requires_photo: bool = False
    requires_signature: bool = False


class TemplatePart(BaseModel):
    model_config = _STRICT

    part_number: Code = Field(min_length=1)
    quantity_required: Quantity = 1.0
    is_optional: bool = False
    usage_notes: Line | None = None


class TemplateIn(BaseModel):
    """A new template, or (PUT) the whole of its next version."""

    model_config = _STRICT

    code: Key = Field(min_length=2, pattern=_CODE)
    name: ShortText = Field(min_length=1)
    description: Note | None = None
    asset_type: Key = Field(min_length=1)  # by its code
    applicable_assets: list[Code] = Field(default_factory=list, max_length=1000)
    schedule_type: ScheduleType
    interval_days: int | None = Field(default=None, ge=1, le=36500)
    interval_hours: float | None = Field(default=None, gt=0, le=1e7, allow_inf_nan=False)
    interval_cycles: int | None = Field(default=None, ge=1, le=10**9)
    estimated_hours: float | None = Field(default=None, ge=0, le=10_000, allow_inf_nan=False)
    required_skills: list[Key] = Field(default_factory=list, max_length=50)
    required_competencies: list[Key] = Field(default_factory=list, max_length=50)
    required_permits: list[Key] = Field(default_factory=list, max_length=10)
    tasks: list[TemplateTask] = Field(default_factory=list, max_length=200)
    parts: list[TemplatePart] = Field(default_factory=list, max_length=100)
    procedure_url: Line | None = None
    safety_instructions: Note | None = None
    is_regulatory: bool = False
    regulatory_reference: ShortText | None = None
    is_active: bool = True


class TemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    version: int
    is_current: bool
    name: str
    description: str | None
    asset_type: str
    applicable_assets: list[str]
    schedule_type: str
    interval_days: int | None
    interval_hours: float | None
    interval_cycles: int | None
    estimated_hours: float | None
    required_skills: list[str]
    required_competencies: list[str]
    required_permits: list[str]
    tasks: list[dict[str, Any]]
    parts: list[dict[str, Any]]
    procedure_url: str | None
    safety_instructions: str | None
    is_regulatory: bool
    regulatory_reference: str | None
    is_active: bool
    created_by: str
    created_at: datetime


class ScheduleIn(BaseModel):
    """A template applied to an asset; the intervals default to the template's."""

    model_config = _STRICT

    template: Key = Field(min_length=1)  # code or id
    asset: Code = Field(min_length=1)  # asset number
    schedule_type: ScheduleType | None = None
    interval_days: int | None = Field(default=None, ge=1, le=36500)
    interval_hours: float | None = Field(default=None, gt=0, le=1e7, allow_inf_nan=False)
    interval_cycles: int | None = Field(default=None, ge=1, le=10**9)
    anchor: Anchor = Anchor.FLOATING
    last_executed_at: Moment | None = None
    last_meter_reading: float | None = Field(default=None, ge=0, le=1e12, allow_inf_nan=False)
    next_due_date: Moment | None = None  # the first due date, when not counted from the last
    alert_days_before: int = Field(default=7, ge=0, le=365)
    alert_hours_before: float = Field(default=50.0, ge=0, le=1e7, allow_inf_nan=False)
    overdue_threshold_days: int = Field(default=14, ge=0, le=3650)
    overdue_action: OverdueAction = OverdueAction.ALERT


class ScheduleEdit(BaseModel):
    """PUT: what changes; the running schedule takes it at once."""

    model_config = _STRICT

    schedule_type: ScheduleType | None = None
    interval_days: int | None = Field(default=None, ge=1, le=36500)
    interval_hours: float | None = Field(default=None, gt=0, le=1e7, allow_inf_nan=False)
    interval_cycles: int | None = Field(default=None, ge=1, le=10**9)
    anchor: Anchor | None = None
    next_due_date: Moment | None = None
    alert_days_before: int | None = Field(default=None, ge=0, le=365)
    alert_hours_before: float | None = Field(default=None, ge=0, le=1e7, allow_inf_nan=False)
    overdue_threshold_days: int | None = Field(default=None, ge=0, le=3650)
    overdue_action: OverdueAction | None = None
    template_version: bool = False  # move the schedule to the template's current version
    reason: ShortText = ""


class Reason(BaseModel):
    model_config = _STRICT

    reason: ShortText = ""


class DeferIn(BaseModel):
    model_config = _STRICT

    reason: ShortText = ""
    until: Moment


class MeterReadingPm(BaseModel):
    """A reading for the PM schedules of an asset, recorded on the asset's meter first."""

    model_config = _STRICT

    asset: Code = Field(min_length=1)
    meter_type: MeterType = MeterType.HOURS
    reading: float = Field(ge=0, le=1e12, allow_inf_nan=False)
    recorded_at: Moment | None = None
