"""The top of the asset hierarchy: organisation, site, area, work centre."""

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.models.base import Base, Timestamps


class Organization(Timestamps, Base):
    """The enterprise of seed 003 B.1; every business row belongs to one."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))

    sites: Mapped[list["Site"]] = relationship(back_populates="organization")


class Site(Timestamps, Base):
    __tablename__ = "sites"
    __table_args__ = (UniqueConstraint("organization_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(60), default="PLANT")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    address: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]

    organization: Mapped[Organization] = relationship(back_populates="sites")
    areas: Mapped[list["Area"]] = relationship(back_populates="site")


class Area(Timestamps, Base):
    __tablename__ = "areas"
    __table_args__ = (UniqueConstraint("site_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))

    site: Mapped[Site] = relationship(back_populates="areas")
    work_centers: Mapped[list["WorkCenter"]] = relationship(back_populates="area")


class WorkCenter(Timestamps, Base):
    __tablename__ = "work_centers"
    __table_args__ = (UniqueConstraint("area_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))

    area: Mapped[Area] = relationship(back_populates="work_centers")
