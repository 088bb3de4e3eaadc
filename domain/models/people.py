"""Users and what makes a technician assignable: skills, certifications, clearances,
shifts and last known location."""

from datetime import date, datetime, time

from sqlalchemy import ARRAY, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.models.base import Base, Timestamps


class ShiftPattern(Timestamps, Base):
    __tablename__ = "shift_patterns"
    __table_args__ = (UniqueConstraint("site_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    # Local wall-clock times in the site's time zone; end before start crosses midnight.
    starts_at: Mapped[time]
    ends_at: Mapped[time]
    # ISO weekdays, 1 = Monday.
    weekdays: Mapped[list[int]] = mapped_column(ARRAY(Integer))


class User(Timestamps, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(String(300))
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    is_active: Mapped[bool] = mapped_column(default=True)
    home_site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    work_center_id: Mapped[int | None] = mapped_column(ForeignKey("work_centers.id"))
    shift_pattern_id: Mapped[int | None] = mapped_column(ForeignKey("shift_patterns.id"))
    last_latitude: Mapped[float | None]
    last_longitude: Mapped[float | None]
    last_location_at: Mapped[datetime | None]

    skills: Mapped[list["UserSkill"]] = relationship(cascade="all, delete-orphan")
    certifications: Mapped[list["Certification"]] = relationship(cascade="all, delete-orphan")
    clearances: Mapped[list["SiteClearance"]] = relationship(cascade="all, delete-orphan")
    shift_pattern: Mapped[ShiftPattern | None] = relationship()


class Skill(Timestamps, Base):
    __tablename__ = "skills"
    __table_args__ = (UniqueConstraint("organization_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    code: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(200))


class UserSkill(Base):
    __tablename__ = "user_skills"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skills.id"), primary_key=True)
    level: Mapped[int] = mapped_column(default=1)  # 1 novice .. 5 expert

    skill: Mapped[Skill] = relationship(lazy="joined")


class Certification(Timestamps, Base):
    __tablename__ = "certifications"
    __table_args__ = (UniqueConstraint("user_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(200))
    issued_on: Mapped[date]
    expires_on: Mapped[date | None]


class SiteClearance(Base):
    __tablename__ = "site_clearances"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    granted_on: Mapped[date]
    expires_on: Mapped[date | None]
