"""Validated input and output shapes for assets and meters."""

from datetime import date, datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.rules.asset_status import AssetStatus
from domain.rules.assets import Criticality, MeterType

_CODE = r"^[A-Z0-9][A-Z0-9_.-]*$"


class MeterSpec(BaseModel):
    meter_type: MeterType
    unit: str = Field(min_length=1, max_length=20)


class AssetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    asset_number: str = Field(min_length=2, max_length=60, pattern=_CODE)
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    type_code: str = Field(min_length=1, max_length=40)
    criticality: Criticality = Criticality.B
    site_code: str = Field(min_length=1, max_length=40)
    area_code: str | None = None
    work_center_code: str | None = None
    parent_asset_number: str | None = None
    manufacturer: str | None = Field(default=None, max_length=120)
    model: str | None = Field(default=None, max_length=120)
    serial_number: str | None = Field(default=None, max_length=120)
    install_date: date | None = None
    requires_certification: bool = False
    certification_expiry: date | None = None
    production_loss_per_hour: float | None = Field(default=None, ge=0)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    meters: list[MeterSpec] = Field(default_factory=list)

    @field_validator("asset_number", "type_code", "site_code", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value


class AssetUpdate(BaseModel):
    """Partial update of the descriptive fields; status has its own endpoint."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    type_code: str | None = None
    criticality: Criticality | None = None
    area_code: str | None = None
    work_center_code: str | None = None
    manufacturer: str | None = Field(default=None, max_length=120)
    model: str | None = Field(default=None, max_length=120)
    serial_number: str | None = Field(default=None, max_length=120)
    install_date: date | None = None
    requires_certification: bool | None = None
    certification_expiry: date | None = None
    production_loss_per_hour: float | None = Field(default=None, ge=0)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    reason: str | None = Field(default=None, max_length=1000)


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: AssetStatus
    reason: str = Field(min_length=3, max_length=1000)


class MeterReadingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    meter_type: MeterType
    reading: float = Field(ge=0)
    recorded_at: datetime | None = None
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
