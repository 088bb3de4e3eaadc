"""Validated input and output shapes for assets and meters."""

from datetime import date, datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.rules.asset_status import AssetStatus
from domain.rules.assets import Criticality, MeterType
from domain.schemas.fields import (
    Code,
    Key,
    Label,
    LongText,
    Moment,
    Money,
    Note,
    Reading,
    ShortText,
    Unit,
)

_CODE = r"^[A-Z0-9][A-Z0-9_.-]*$"


class MeterSpec(BaseModel):
    meter_type: MeterType
    unit: Unit = Field(min_length=1)


class AssetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    asset_number: Code = Field(min_length=2, pattern=_CODE)
    name: ShortText = Field(min_length=1)
    description: Note | None = None
    type_code: Key = Field(min_length=1)
    criticality: Criticality = Criticality.B
    site_code: Key = Field(min_length=1)
    area_code: Key | None = None
    work_center_code: Key | None = None
    parent_asset_number: Code | None = None
    manufacturer: Label | None = None
    model: Label | None = None
    serial_number: Label | None = None
    install_date: date | None = None
    requires_certification: bool = False
    certification_expiry: date | None = None
    production_loss_per_hour: Money | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    meters: list[MeterSpec] = Field(default_factory=list, max_length=20)

    @field_validator("asset_number", "type_code", "site_code", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value


class AssetUpdate(BaseModel):
    """Partial update of the descriptive fields; status has its own endpoint."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: ShortText | None = Field(default=None, min_length=1)
    description: Note | None = None
    type_code: Key | None = None
    criticality: Criticality | None = None
    area_code: Key | None = None
    work_center_code: Key | None = None
    manufacturer: Label | None = None
    model: Label | None = None
    serial_number: Label | None = None
    install_date: date | None = None
    requires_certification: bool | None = None
    certification_expiry: date | None = None
    production_loss_per_hour: Money | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    reason: ShortText | None = None


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: AssetStatus
    reason: LongText = Field(min_length=3)  # may quote a stop-work's reason


class MeterReadingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    meter_type: MeterType
    reading: Reading
    recorded_at: Moment | None = None
    source: str = Field(default="MANUAL", pattern=r"^(MANUAL|AUTOMATIC|SHIFT_END)$")


class MeterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    meter_type: MeterType
    unit: str
    current_reading: float | None
    last_reading_at: datetime | None


class AssetOut(BaseModel):
    id: int
    asset_number: str
    name: str
    description: str | None
    type_code: str
    type_name: str
    category: str
    criticality: Criticality
    status: AssetStatus
    status_reason: str | None
    status_changed_at: datetime | None
    status_changed_by: str | None
    site_code: str
    area_code: str | None
    work_center_code: str | None
    parent_asset_number: str | None
    manufacturer: str | None
    model: str | None
    serial_number: str | None
    install_date: date | None
    requires_certification: bool
    certification_expiry: date | None
    production_loss_per_hour: float | None
    latitude: float | None
    longitude: float | None
    meters: list[MeterOut]
    updated_at: datetime


class MeterReadingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    meter_type: MeterType
    reading: float
    previous_reading: float | None
    delta: float | None
    recorded_at: datetime
    recorded_by: str
    source: str


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    entity_type: str
    entity_id: str
    action: str
    previous_state: dict | None
    new_state: dict | None
    changed_fields: list[str]
    user_name: str
    user_role: str
    occurred_at: datetime
    reason: str | None


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
