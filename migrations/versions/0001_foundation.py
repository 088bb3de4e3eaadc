"""foundation: hierarchy, assets, meters, people, audit

Revision ID: 0001
Revises:
Create Date: 2026-11-23 02:57:25.355698
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("code", name=op.f("uq_organizations_code")),
    )
    op.create_table(
        "asset_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "PROCESSING",
                "MATERIAL_HANDLING",
                "PACKAGING",
                "FACILITY",
                "UTILITY",
                "SAFETY",
                "QUALITY",
                "GENERATION",
                "ELECTRICAL",
                name="asset_category",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("default_pm_interval_days", sa.Integer(), nullable=True),
        sa.Column("default_pm_interval_hours", sa.Double(), nullable=True),
        sa.Column("required_competencies", sa.ARRAY(sa.String(length=60)), nullable=False),
        sa.Column("safety_protocols", sa.ARRAY(sa.String(length=200)), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_asset_types_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_types")),
        sa.UniqueConstraint("organization_id", "code", name=op.f("uq_asset_types_organization_id")),
    )
    op.create_index(
        op.f("ix_asset_types_organization_id"), "asset_types", ["organization_id"], unique=False
    )
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("latitude", sa.Double(), nullable=True),
        sa.Column("longitude", sa.Double(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_sites_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("organization_id", "code", name=op.f("uq_sites_organization_id")),
    )
    op.create_index(op.f("ix_sites_organization_id"), "sites", ["organization_id"], unique=False)
    op.create_table(
        "skills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_skills_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skills")),
        sa.UniqueConstraint("organization_id", "code", name=op.f("uq_skills_organization_id")),
    )
    op.create_index(op.f("ix_skills_organization_id"), "skills", ["organization_id"], unique=False)
    op.create_table(
        "areas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_areas_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_areas_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_areas")),
        sa.UniqueConstraint("site_id", "code", name=op.f("uq_areas_site_id")),
    )
    op.create_index(op.f("ix_areas_organization_id"), "areas", ["organization_id"], unique=False)
    op.create_index(op.f("ix_areas_site_id"), "areas", ["site_id"], unique=False)
    op.create_table(
        "shift_patterns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("starts_at", sa.Time(), nullable=False),
        sa.Column("ends_at", sa.Time(), nullable=False),
        sa.Column("weekdays", sa.ARRAY(sa.Integer()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_shift_patterns_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_shift_patterns_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shift_patterns")),
        sa.UniqueConstraint("site_id", "code", name=op.f("uq_shift_patterns_site_id")),
    )
    op.create_index(
        op.f("ix_shift_patterns_organization_id"),
        "shift_patterns",
        ["organization_id"],
        unique=False,
    )
    op.create_index(op.f("ix_shift_patterns_site_id"), "shift_patterns", ["site_id"], unique=False)
    op.create_table(
        "work_centers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_work_centers_area_id_areas")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_work_centers_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_centers")),
        sa.UniqueConstraint("area_id", "code", name=op.f("uq_work_centers_area_id")),
    )
    op.create_index(op.f("ix_work_centers_area_id"), "work_centers", ["area_id"], unique=False)
    op.create_index(
        op.f("ix_work_centers_organization_id"), "work_centers", ["organization_id"], unique=False
    )
    op.create_table(
        "assets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("asset_number", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column(
            "criticality",
            sa.Enum("A", "B", "C", name="asset_criticality", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column("work_center_id", sa.Integer(), nullable=True),
        sa.Column("parent_asset_id", sa.Integer(), nullable=True),
        sa.Column("manufacturer", sa.String(length=120), nullable=True),
        sa.Column("model", sa.String(length=120), nullable=True),
        sa.Column("serial_number", sa.String(length=120), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "IN_SERVICE",
                "OUT_OF_SERVICE",
                "MAINTENANCE",
                "SAFETY_HOLD",
                "QUALITY_HOLD",
                "PENDING_RETURN",
                "DECOMMISSIONED",
                "STORED",
                "TRANSFERRED",
                name="asset_status",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_changed_by", sa.String(length=120), nullable=True),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("install_date", sa.Date(), nullable=True),
        sa.Column("requires_certification", sa.Boolean(), nullable=False),
        sa.Column("certification_expiry", sa.Date(), nullable=True),
        sa.Column("production_loss_per_hour", sa.Double(), nullable=True),
        sa.Column("latitude", sa.Double(), nullable=True),
        sa.Column("longitude", sa.Double(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name=op.f("fk_assets_area_id_areas")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_assets_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_asset_id"], ["assets.id"], name=op.f("fk_assets_parent_asset_id_assets")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_assets_site_id_sites")),
        sa.ForeignKeyConstraint(
            ["type_id"], ["asset_types.id"], name=op.f("fk_assets_type_id_asset_types")
        ),
        sa.ForeignKeyConstraint(
            ["work_center_id"],
            ["work_centers.id"],
            name=op.f("fk_assets_work_center_id_work_centers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assets")),
        sa.UniqueConstraint(
            "organization_id", "asset_number", name=op.f("uq_assets_organization_id")
        ),
    )
    op.create_index(op.f("ix_assets_organization_id"), "assets", ["organization_id"], unique=False)
    op.create_index(op.f("ix_assets_site_id"), "assets", ["site_id"], unique=False)
    op.create_index(op.f("ix_assets_status"), "assets", ["status"], unique=False)
    op.create_index(op.f("ix_assets_type_id"), "assets", ["type_id"], unique=False)
    op.create_index(op.f("ix_assets_work_center_id"), "assets", ["work_center_id"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("roles", sa.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("home_site_id", sa.Integer(), nullable=True),
        sa.Column("work_center_id", sa.Integer(), nullable=True),
        sa.Column("shift_pattern_id", sa.Integer(), nullable=True),
        sa.Column("last_latitude", sa.Double(), nullable=True),
        sa.Column("last_longitude", sa.Double(), nullable=True),
        sa.Column("last_location_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["home_site_id"], ["sites.id"], name=op.f("fk_users_home_site_id_sites")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_users_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["shift_pattern_id"],
            ["shift_patterns.id"],
            name=op.f("fk_users_shift_pattern_id_shift_patterns"),
        ),
        sa.ForeignKeyConstraint(
            ["work_center_id"],
            ["work_centers.id"],
            name=op.f("fk_users_work_center_id_work_centers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_index(op.f("ix_users_organization_id"), "users", ["organization_id"], unique=False)
    op.create_table(
        "asset_components",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("component_type", sa.String(length=60), nullable=False),
        sa.Column("part_number", sa.String(length=120), nullable=True),
        sa.Column("serial_number", sa.String(length=120), nullable=True),
        sa.Column("expected_life_hours", sa.Double(), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_asset_components_asset_id_assets")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_asset_components_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_components")),
    )
    op.create_index(
        op.f("ix_asset_components_asset_id"), "asset_components", ["asset_id"], unique=False
    )
    op.create_index(
        op.f("ix_asset_components_organization_id"),
        "asset_components",
        ["organization_id"],
        unique=False,
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("previous_state", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("new_state", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("changed_fields", sa.ARRAY(sa.String(length=80)), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("user_name", sa.String(length=200), nullable=False),
        sa.Column("user_role", sa.String(length=40), nullable=False),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("ip_address", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_audit_log_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_audit_log_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_entity", "audit_log", ["entity_type", "entity_id"], unique=False)
    op.create_index(op.f("ix_audit_log_occurred_at"), "audit_log", ["occurred_at"], unique=False)
    op.create_index(
        op.f("ix_audit_log_organization_id"), "audit_log", ["organization_id"], unique=False
    )
    op.create_index(op.f("ix_audit_log_user_id"), "audit_log", ["user_id"], unique=False)
    op.create_table(
        "certifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_certifications_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_certifications_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certifications")),
        sa.UniqueConstraint("user_id", "code", name=op.f("uq_certifications_user_id")),
    )
    op.create_index(
        op.f("ix_certifications_organization_id"),
        "certifications",
        ["organization_id"],
        unique=False,
    )
    op.create_index(op.f("ix_certifications_user_id"), "certifications", ["user_id"], unique=False)
    op.create_table(
        "meters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column(
            "meter_type",
            sa.Enum(
                "HOURS",
                "CYCLES",
                "UNITS_PRODUCED",
                "MILES",
                "STARTS",
                "MWH",
                name="meter_type",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("current_reading", sa.Double(), nullable=True),
        sa.Column("last_reading_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_meters_asset_id_assets")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_meters_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meters")),
        sa.UniqueConstraint("asset_id", "meter_type", name=op.f("uq_meters_asset_id")),
    )
    op.create_index(op.f("ix_meters_asset_id"), "meters", ["asset_id"], unique=False)
    op.create_index(op.f("ix_meters_organization_id"), "meters", ["organization_id"], unique=False)
    op.create_table(
        "site_clearances",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("granted_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_site_clearances_site_id_sites")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_site_clearances_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "site_id", name=op.f("pk_site_clearances")),
    )
    op.create_table(
        "user_skills",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("skill_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["skill_id"], ["skills.id"], name=op.f("fk_user_skills_skill_id_skills")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_skills_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "skill_id", name=op.f("pk_user_skills")),
    )
    op.create_table(
        "meter_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("meter_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("reading", sa.Double(), nullable=False),
        sa.Column("previous_reading", sa.Double(), nullable=True),
        sa.Column("delta", sa.Double(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.CheckConstraint("reading >= 0", name=op.f("ck_meter_readings_reading_not_negative")),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_meter_readings_asset_id_assets")
        ),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.id"], name=op.f("fk_meter_readings_meter_id_meters")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_meter_readings_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_readings")),
    )
    op.create_index(
        op.f("ix_meter_readings_asset_id"), "meter_readings", ["asset_id"], unique=False
    )
    op.create_index(
        op.f("ix_meter_readings_meter_id"), "meter_readings", ["meter_id"], unique=False
    )
    op.create_index(
        op.f("ix_meter_readings_organization_id"),
        "meter_readings",
        ["organization_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_meter_readings_recorded_at"), "meter_readings", ["recorded_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_meter_readings_recorded_at"), table_name="meter_readings")
    op.drop_index(op.f("ix_meter_readings_organization_id"), table_name="meter_readings")
    op.drop_index(op.f("ix_meter_readings_meter_id"), table_name="meter_readings")
    op.drop_index(op.f("ix_meter_readings_asset_id"), table_name="meter_readings")
    op.drop_table("meter_readings")
    op.drop_table("user_skills")
    op.drop_table("site_clearances")
    op.drop_index(op.f("ix_meters_organization_id"), table_name="meters")
    op.drop_index(op.f("ix_meters_asset_id"), table_name="meters")
    op.drop_table("meters")
    op.drop_index(op.f("ix_certifications_user_id"), table_name="certifications")
    op.drop_index(op.f("ix_certifications_organization_id"), table_name="certifications")
    op.drop_table("certifications")
    op.drop_index(op.f("ix_audit_log_user_id"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_organization_id"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_occurred_at"), table_name="audit_log")
    op.drop_index("ix_audit_log_entity", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_asset_components_organization_id"), table_name="asset_components")
    op.drop_index(op.f("ix_asset_components_asset_id"), table_name="asset_components")
    op.drop_table("asset_components")
    op.drop_index(op.f("ix_users_organization_id"), table_name="users")
    op.drop_table("users")
    op.drop_index(op.f("ix_assets_work_center_id"), table_name="assets")
    op.drop_index(op.f("ix_assets_type_id"), table_name="assets")
    op.drop_index(op.f("ix_assets_status"), table_name="assets")
    op.drop_index(op.f("ix_assets_site_id"), table_name="assets")
    op.drop_index(op.f("ix_assets_organization_id"), table_name="assets")
    op.drop_table("assets")
    op.drop_index(op.f("ix_work_centers_organization_id"), table_name="work_centers")
    op.drop_index(op.f("ix_work_centers_area_id"), table_name="work_centers")
    op.drop_table("work_centers")
    op.drop_index(op.f("ix_shift_patterns_site_id"), table_name="shift_patterns")
    op.drop_index(op.f("ix_shift_patterns_organization_id"), table_name="shift_patterns")
    op.drop_table("shift_patterns")
    op.drop_index(op.f("ix_areas_site_id"), table_name="areas")
    op.drop_index(op.f("ix_areas_organization_id"), table_name="areas")
    op.drop_table("areas")
    op.drop_index(op.f("ix_skills_organization_id"), table_name="skills")
    op.drop_table("skills")
    op.drop_index(op.f("ix_sites_organization_id"), table_name="sites")
    op.drop_table("sites")
    op.drop_index(op.f("ix_asset_types_organization_id"), table_name="asset_types")
    op.drop_table("asset_types")
    op.drop_table("organizations")
