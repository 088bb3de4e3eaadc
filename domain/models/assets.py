"""Assets, their types, components, meters and meter readings (seed 003 B)."""

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import ARRAY, CheckConstraint, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.models.base import Base, Timestamps
from domain.rules.asset_status import AssetStatus
from domain.rules.assets import AssetCategory, Criticality, MeterType

if TYPE_CHECKING:
    from domain.models.organisation import Area, Site, WorkCenter


def _enum(cls: type, name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, length=40, validate_strings=True)


class AssetType(Timestamps, Base):
    __tablename__ = "asset_types"
    __table_args__ = (UniqueConstraint("organization_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[AssetCategory] = mapped_column(_enum(AssetCategory, "asset_category"))
    default_pm_interval_days: Mapped[int | None]
    default_pm_interval_hours: Mapped[float | None]
    required_competencies: Mapped[list[str]] = mapped_column(ARRAY(String(60)), default=list)
    safety_protocols: Mapped[list[str]] = mapped_column(ARRAY(String(200)), default=list)


class Asset(Timestamps, Base):
    __tablename__ = "assets"
    __table_args__ = (UniqueConstraint("organization_id", "asset_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    asset_number: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    type_id: Mapped[int] = mapped_column(ForeignKey("asset_types.id"), index=True)
    criticality: Mapped[Criticality] = mapped_column(_enum(Criticality, "asset_criticality"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    work_center_id: Mapped[int | None] = mapped_column(ForeignKey("work_centers.id"), index=True)
    parent_asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"))
    manufacturer: Mapped[str | None] = mapped_column(String(120))
    model: Mapped[str | None] = mapped_column(String(120))
    serial_number: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[AssetStatus] = mapped_column(
        _enum(AssetStatus, "asset_status"), default=AssetStatus.IN_SERVICE, index=True
    )
    status_changed_at: Mapped[datetime | None]
    status_changed_by: Mapped[str | None] = mapped_column(String(120))
    status_reason: Mapped[str | None] = mapped_column(Text)
    install_date: Mapped[date | None]
    requires_certification: Mapped[bool] = mapped_column(default=False)
    certification_expiry: Mapped[date | None]
    last_maintenance_at: Mapped[datetime | None]  # the last PM closed on it
    production_loss_per_hour: Mapped[float | None]
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]

    type: Mapped[AssetType] = relationship(lazy="joined")
    # Read-only ways to what an asset shows, so a page loads them with its rows.
    site: Mapped["Site"] = relationship(viewonly=True)
    area: Mapped["Area"] = relationship(viewonly=True)
    work_center: Mapped["WorkCenter"] = relationship(viewonly=True)
    parent: Mapped["Asset"] = relationship(remote_side=[id], viewonly=True)
    meters: Mapped[list["Meter"]] = relationship(back_populates="asset", order_by="Meter.id")
    components: Mapped[list["AssetComponent"]] = relationship(back_populates="asset")


class AssetComponent(Timestamps, Base):
    __tablename__ = "asset_components"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    component_type: Mapped[str] = mapped_column(String(60))
    part_number: Mapped[str | None] = mapped_column(String(120))
    serial_number: Mapped[str | None] = mapped_column(String(120))
    expected_life_hours: Mapped[float | None]
    status: Mapped[str] = mapped_column(String(30), default="GOOD")

    asset: Mapped[Asset] = relationship(back_populates="components")


class Meter(Timestamps, Base):
    __tablename__ = "meters"
    __table_args__ = (UniqueConstraint("asset_id", "meter_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    meter_type: Mapped[MeterType] = mapped_column(_enum(MeterType, "meter_type"))
    unit: Mapped[str] = mapped_column(String(20))
    current_reading: Mapped[float | None]
    last_reading_at: Mapped[datetime | None]

    asset: Mapped[Asset] = relationship(back_populates="meters")


class MeterReading(Base):
    __tablename__ = "meter_readings"
    __table_args__ = (CheckConstraint("reading >= 0", name="reading_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    reading: Mapped[float]
    previous_reading: Mapped[float | None]
    delta: Mapped[float | None]
    recorded_at: Mapped[datetime] = mapped_column(index=True)
    recorded_by: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(30), default="MANUAL")

    meter: Mapped[Meter] = relationship(lazy="joined")

    @property
    def meter_type(self) -> MeterType:
        return self.meter.meter_type
