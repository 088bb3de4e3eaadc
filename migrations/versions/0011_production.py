"""production records, OEE snapshots and summaries (seed 002)

Revision ID: 0011_production
Revises: 0009_file_store
Create Date: 2026-12-01 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011_production"
down_revision: str | None = "0010_pm"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "downtime_reasons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("is_planned", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("color", sa.String(length=7), nullable=True),
        sa.Column("sort_order", sa.Integer(), nullable=False),
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
            name=op.f("fk_downtime_reasons_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_downtime_reasons")),
        sa.UniqueConstraint(
            "organization_id", "code", name=op.f("uq_downtime_reasons_organization_id")
        ),
    )
    op.create_index(
        op.f("ix_downtime_reasons_organization_id"),
        "downtime_reasons",
        ["organization_id"],
        unique=False,
    )
    op.create_table(
        "energy_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("rate_type", sa.String(length=12), nullable=False),
        sa.Column("rate_per_kwh", sa.Double(), nullable=False),
        sa.Column("bands", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_energy_rates_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_energy_rates_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_energy_rates")),
    )
    op.create_index(
        op.f("ix_energy_rates_organization_id"), "energy_rates", ["organization_id"], unique=False
    )
    op.create_index(op.f("ix_energy_rates_site_id"), "energy_rates", ["site_id"], unique=False)
    op.create_table(
        "production_lines",
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
            name=op.f("fk_production_lines_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_production_lines_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_production_lines")),
        sa.UniqueConstraint("site_id", "code", name=op.f("uq_production_lines_site_id")),
    )
    op.create_index(
        op.f("ix_production_lines_organization_id"),
        "production_lines",
        ["organization_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_production_lines_site_id"), "production_lines", ["site_id"], unique=False
    )
    op.create_table(
        "shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("starts_at", sa.Time(), nullable=False),
        sa.Column("ends_at", sa.Time(), nullable=False),
        sa.Column("weekdays", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("planned_stops", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("oee_target_pct", sa.Double(), nullable=False),
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
            name=op.f("fk_shifts_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_shifts_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shifts")),
        sa.UniqueConstraint("site_id", "code", name=op.f("uq_shifts_site_id")),
    )
    op.create_index(op.f("ix_shifts_organization_id"), "shifts", ["organization_id"], unique=False)
    op.create_index(op.f("ix_shifts_site_id"), "shifts", ["site_id"], unique=False)
    op.create_table(
        "shift_days_off",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("shift_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_shift_days_off_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["shift_id"], ["shifts.id"], name=op.f("fk_shift_days_off_shift_id_shifts")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_shift_days_off_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shift_days_off")),
        sa.UniqueConstraint("site_id", "day", "shift_id", name=op.f("uq_shift_days_off_site_id")),
    )
    op.create_index(
        op.f("ix_shift_days_off_organization_id"),
        "shift_days_off",
        ["organization_id"],
        unique=False,
    )
    op.create_table(
        "machines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=True),
        sa.Column("ideal_cycle_seconds", sa.Double(), nullable=False),
        sa.Column("producing", sa.Boolean(), nullable=False),
        sa.Column("oee_target_pct", sa.Double(), nullable=False),
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
            ["asset_id"], ["assets.id"], name=op.f("fk_machines_asset_id_assets")
        ),
        sa.ForeignKeyConstraint(
            ["line_id"], ["production_lines.id"], name=op.f("fk_machines_line_id_production_lines")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_machines_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_machines_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_machines")),
        sa.UniqueConstraint("asset_id", name=op.f("uq_machines_asset_id")),
    )
    op.create_index(op.f("ix_machines_line_id"), "machines", ["line_id"], unique=False)
    op.create_index(
        op.f("ix_machines_organization_id"), "machines", ["organization_id"], unique=False
    )
    op.create_index(op.f("ix_machines_site_id"), "machines", ["site_id"], unique=False)
    op.create_table(
        "energy_baselines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=False),
        sa.Column("product_code", sa.String(length=60), nullable=True),
        sa.Column("kwh_per_unit", sa.Double(), nullable=True),
        sa.Column("kwh_per_hour", sa.Double(), nullable=True),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["machine_id"], ["machines.id"], name=op.f("fk_energy_baselines_machine_id_machines")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_energy_baselines_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_energy_baselines")),
    )
    op.create_index(
        op.f("ix_energy_baselines_machine_id"), "energy_baselines", ["machine_id"], unique=False
    )
    op.create_index(
        op.f("ix_energy_baselines_organization_id"),
        "energy_baselines",
        ["organization_id"],
        unique=False,
    )
    op.create_table(
        "energy_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=True),
        sa.Column("line_id", sa.Integer(), nullable=True),
        sa.Column("reading_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kwh", sa.Double(), nullable=False),
        sa.Column("meter_reading", sa.Double(), nullable=True),
        sa.Column("reading_type", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=50), nullable=True),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["production_lines.id"],
            name=op.f("fk_energy_readings_line_id_production_lines"),
        ),
        sa.ForeignKeyConstraint(
            ["machine_id"], ["machines.id"], name=op.f("fk_energy_readings_machine_id_machines")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_energy_readings_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_energy_readings")),
    )
    op.create_index(
        "ix_energy_readings_machine_time",
        "energy_readings",
        ["machine_id", "reading_time"],
        unique=False,
    )
    op.create_index(
        op.f("ix_energy_readings_organization_id"),
        "energy_readings",
        ["organization_id"],
        unique=False,
    )
    op.create_table(
        "machine_product_cycles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=False),
        sa.Column("product_code", sa.String(length=60), nullable=False),
        sa.Column("ideal_cycle_seconds", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["machine_id"],
            ["machines.id"],
            name=op.f("fk_machine_product_cycles_machine_id_machines"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_machine_product_cycles_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_machine_product_cycles")),
        sa.UniqueConstraint(
            "machine_id", "product_code", name=op.f("uq_machine_product_cycles_machine_id")
        ),
    )
    op.create_index(
        op.f("ix_machine_product_cycles_organization_id"),
        "machine_product_cycles",
        ["organization_id"],
        unique=False,
    )
    op.create_table(
        "oee_daily_summaries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("planned_s", sa.Double(), nullable=False),
        sa.Column("down_s", sa.Double(), nullable=False),
        sa.Column("setup_s", sa.Double(), nullable=False),
        sa.Column("small_stop_s", sa.Double(), nullable=False),
        sa.Column("ideal_s", sa.Double(), nullable=False),
        sa.Column("total", sa.Double(), nullable=False),
        sa.Column("good", sa.Double(), nullable=False),
        sa.Column("startup_rejects", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["machine_id"], ["machines.id"], name=op.f("fk_oee_daily_summaries_machine_id_machines")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_oee_daily_summaries_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oee_daily_summaries")),
        sa.UniqueConstraint("machine_id", "day", name=op.f("uq_oee_daily_summaries_machine_id")),
    )
    op.create_index(
        "ix_oee_daily_org_day", "oee_daily_summaries", ["organization_id", "day"], unique=False
    )
    op.create_table(
        "oee_hourly_summaries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=False),
        sa.Column("hour_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("planned_s", sa.Double(), nullable=False),
        sa.Column("down_s", sa.Double(), nullable=False),
        sa.Column("setup_s", sa.Double(), nullable=False),
        sa.Column("small_stop_s", sa.Double(), nullable=False),
        sa.Column("ideal_s", sa.Double(), nullable=False),
        sa.Column("total", sa.Double(), nullable=False),
        sa.Column("good", sa.Double(), nullable=False),
        sa.Column("startup_rejects", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["machine_id"],
            ["machines.id"],
            name=op.f("fk_oee_hourly_summaries_machine_id_machines"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_oee_hourly_summaries_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oee_hourly_summaries")),
        sa.UniqueConstraint(
            "machine_id", "hour_start", name=op.f("uq_oee_hourly_summaries_machine_id")
        ),
    )
    op.create_index(
        "ix_oee_hourly_org_hour",
        "oee_hourly_summaries",
        ["organization_id", "hour_start"],
        unique=False,
    )
    op.create_table(
        "oee_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("planned_s", sa.Double(), nullable=False),
        sa.Column("down_s", sa.Double(), nullable=False),
        sa.Column("setup_s", sa.Double(), nullable=False),
        sa.Column("small_stop_s", sa.Double(), nullable=False),
        sa.Column("ideal_s", sa.Double(), nullable=False),
        sa.Column("total", sa.Double(), nullable=False),
        sa.Column("good", sa.Double(), nullable=False),
        sa.Column("startup_rejects", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["machine_id"], ["machines.id"], name=op.f("fk_oee_snapshots_machine_id_machines")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_oee_snapshots_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oee_snapshots")),
        sa.UniqueConstraint("machine_id", "taken_at", name=op.f("uq_oee_snapshots_machine_id")),
    )
    op.create_index(
        "ix_oee_snapshots_org_time", "oee_snapshots", ["organization_id", "taken_at"], unique=False
    )
    op.create_table(
        "performance_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actual_cycle_seconds", sa.Double(), nullable=False),
        sa.Column("target_cycle_seconds", sa.Double(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["machine_id"], ["machines.id"], name=op.f("fk_performance_logs_machine_id_machines")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_performance_logs_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name=op.f("fk_performance_logs_work_order_id_work_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_performance_logs")),
    )
    op.create_index(
        "ix_performance_logs_machine_at",
        "performance_logs",
        ["machine_id", "logged_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_performance_logs_organization_id"),
        "performance_logs",
        ["organization_id"],
        unique=False,
    )
    op.create_table(
        "production_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.Column("product_code", sa.String(length=60), nullable=True),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("good", sa.Integer(), nullable=False),
        sa.Column("reject", sa.Integer(), nullable=False),
        sa.Column("rework", sa.Integer(), nullable=False),
        sa.Column("startup_reject", sa.Integer(), nullable=False),
        sa.Column("ideal_cycle_seconds", sa.Double(), nullable=False),
        sa.Column("entry_key", sa.String(length=80), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["machine_id"], ["machines.id"], name=op.f("fk_production_counts_machine_id_machines")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_production_counts_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name=op.f("fk_production_counts_work_order_id_work_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_production_counts")),
        sa.UniqueConstraint(
            "organization_id", "entry_key", name=op.f("uq_production_counts_organization_id")
        ),
    )
    op.create_index(
        "ix_production_counts_machine_period",
        "production_counts",
        ["machine_id", "period_start"],
        unique=False,
    )
    op.create_index(
        op.f("ix_production_counts_organization_id"),
        "production_counts",
        ["organization_id"],
        unique=False,
    )
    op.create_table(
        "production_downtime",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=True),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.Column("reason_code", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("planned", sa.Boolean(), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_minutes", sa.Double(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("logged_by", sa.String(length=200), nullable=False),
        sa.Column("ended_by", sa.String(length=200), nullable=True),
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
            ["line_id"],
            ["production_lines.id"],
            name=op.f("fk_production_downtime_line_id_production_lines"),
        ),
        sa.ForeignKeyConstraint(
            ["machine_id"], ["machines.id"], name=op.f("fk_production_downtime_machine_id_machines")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_production_downtime_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name=op.f("fk_production_downtime_work_order_id_work_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_production_downtime")),
    )
    op.create_index(
        "ix_production_downtime_machine_start",
        "production_downtime",
        ["machine_id", "start_time"],
        unique=False,
    )
    op.create_index(
        op.f("ix_production_downtime_organization_id"),
        "production_downtime",
        ["organization_id"],
        unique=False,
    )
    op.create_table(
        "quality_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.Column("event_type", sa.String(length=10), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("defect_type", sa.String(length=100), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("logged_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["machine_id"], ["machines.id"], name=op.f("fk_quality_events_machine_id_machines")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_quality_events_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name=op.f("fk_quality_events_work_order_id_work_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_events")),
    )
    op.create_index(
        "ix_quality_events_machine_at",
        "quality_events",
        ["machine_id", "occurred_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_quality_events_organization_id"),
        "quality_events",
        ["organization_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_quality_events_organization_id"), table_name="quality_events")
    op.drop_index("ix_quality_events_machine_at", table_name="quality_events")
    op.drop_table("quality_events")
    op.drop_index(op.f("ix_production_downtime_organization_id"), table_name="production_downtime")
    op.drop_index("ix_production_downtime_machine_start", table_name="production_downtime")
    op.drop_table("production_downtime")
    op.drop_index(op.f("ix_production_counts_organization_id"), table_name="production_counts")
    op.drop_index("ix_production_counts_machine_period", table_name="production_counts")
    op.drop_table("production_counts")
    op.drop_index(op.f("ix_performance_logs_organization_id"), table_name="performance_logs")
    op.drop_index("ix_performance_logs_machine_at", table_name="performance_logs")
    op.drop_table("performance_logs")
    op.drop_index("ix_oee_snapshots_org_time", table_name="oee_snapshots")
    op.drop_table("oee_snapshots")
    op.drop_index("ix_oee_hourly_org_hour", table_name="oee_hourly_summaries")
    op.drop_table("oee_hourly_summaries")
    op.drop_index("ix_oee_daily_org_day", table_name="oee_daily_summaries")
    op.drop_table("oee_daily_summaries")
    op.drop_index(
        op.f("ix_machine_product_cycles_organization_id"), table_name="machine_product_cycles"
    )
    op.drop_table("machine_product_cycles")
    op.drop_index(op.f("ix_energy_readings_organization_id"), table_name="energy_readings")
    op.drop_index("ix_energy_readings_machine_time", table_name="energy_readings")
    op.drop_table("energy_readings")
    op.drop_index(op.f("ix_energy_baselines_organization_id"), table_name="energy_baselines")
    op.drop_index(op.f("ix_energy_baselines_machine_id"), table_name="energy_baselines")
    op.drop_table("energy_baselines")
    op.drop_index(op.f("ix_machines_site_id"), table_name="machines")
    op.drop_index(op.f("ix_machines_organization_id"), table_name="machines")
    op.drop_index(op.f("ix_machines_line_id"), table_name="machines")
    op.drop_table("machines")
    op.drop_index(op.f("ix_shift_days_off_organization_id"), table_name="shift_days_off")
    op.drop_table("shift_days_off")
    op.drop_index(op.f("ix_shifts_site_id"), table_name="shifts")
    op.drop_index(op.f("ix_shifts_organization_id"), table_name="shifts")
    op.drop_table("shifts")
    op.drop_index(op.f("ix_production_lines_site_id"), table_name="production_lines")
    op.drop_index(op.f("ix_production_lines_organization_id"), table_name="production_lines")
    op.drop_table("production_lines")
    op.drop_index(op.f("ix_energy_rates_site_id"), table_name="energy_rates")
    op.drop_index(op.f("ix_energy_rates_organization_id"), table_name="energy_rates")
    op.drop_table("energy_rates")
    op.drop_index(op.f("ix_downtime_reasons_organization_id"), table_name="downtime_reasons")
    op.drop_table("downtime_reasons")
