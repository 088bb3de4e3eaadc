"""preventive maintenance: versioned templates, schedules driven by their workflow

Revision ID: 0010_pm
Revises: 0009_file_store
Create Date: 2026-12-01 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010_pm"
down_revision: str | None = "0009_file_store"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_LIST = sa.text("'[]'::jsonb")


def _list(name: str) -> sa.Column:
    return sa.Column(name, postgresql.JSONB(), nullable=False, server_default=JSON_LIST)


def upgrade() -> None:
    op.create_table(
        "pm_templates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "organization_id",
            sa.Integer(),
            sa.ForeignKey("organizations.id", name="fk_pm_templates_organization_id_organizations"),
            nullable=False,
        ),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "asset_type_id",
            sa.Integer(),
            sa.ForeignKey("asset_types.id", name="fk_pm_templates_asset_type_id_asset_types"),
            nullable=False,
        ),
        _list("applicable_assets"),
        sa.Column("schedule_type", sa.String(20), nullable=False),
        sa.Column("interval_days", sa.Integer(), nullable=True),
        sa.Column("interval_hours", sa.Double(), nullable=True),
        sa.Column("interval_cycles", sa.Integer(), nullable=True),
        sa.Column("estimated_hours", sa.Double(), nullable=True),
        _list("required_skills"),
        _list("required_competencies"),
        _list("required_permits"),
        _list("tasks"),
        _list("parts"),
        sa.Column("procedure_url", sa.String(500), nullable=True),
        sa.Column("safety_instructions", sa.Text(), nullable=True),
        sa.Column("is_regulatory", sa.Boolean(), nullable=False),
        sa.Column("regulatory_reference", sa.String(120), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_pm_templates"),
        sa.UniqueConstraint(
            "organization_id", "code", "version", name="uq_pm_templates_organization_id"
        ),
    )
    op.create_index("ix_pm_templates_organization_id", "pm_templates", ["organization_id"])
    op.create_index("ix_pm_templates_asset_type_id", "pm_templates", ["asset_type_id"])

    add = op.add_column
    add("pm_schedules", sa.Column("code", sa.String(110), nullable=True))
    add("pm_schedules", sa.Column("template_id", sa.Integer(), nullable=True))
    add("pm_schedules", sa.Column("interval_cycles", sa.Integer(), nullable=True))
    add("pm_schedules", sa.Column("anchor", sa.String(10), nullable=False,
                                  server_default="FLOATING"))  # fmt: skip
    add("pm_schedules", sa.Column("meter_type", sa.String(20), nullable=True))
    add("pm_schedules", sa.Column("last_executed_wo", sa.String(20), nullable=True))
    add("pm_schedules", sa.Column("last_meter_reading", sa.Double(), nullable=True))
    add("pm_schedules", sa.Column("meter_due_at", sa.DateTime(timezone=True), nullable=True))
    add("pm_schedules", sa.Column("alert_hours_before", sa.Double(), nullable=False,
                                  server_default="50"))  # fmt: skip
    add("pm_schedules", sa.Column("paused_reason", sa.Text(), nullable=True))
    add("pm_schedules", sa.Column("open_work_order", sa.String(20), nullable=True))
    add("pm_schedules", sa.Column("overdue_told", postgresql.JSONB(), nullable=False,
                                  server_default=sa.text("'{}'::jsonb")))  # fmt: skip
    add("pm_schedules", sa.Column("blocked_at", sa.DateTime(timezone=True), nullable=True))
    add("pm_schedules", sa.Column("cycles", sa.Integer(), nullable=False, server_default="0"))
    add("pm_schedules", sa.Column("last_step", sa.Integer(), nullable=False, server_default="0"))
    op.create_foreign_key(
        "fk_pm_schedules_template_id_pm_templates",
        "pm_schedules",
        "pm_templates",
        ["template_id"],
        ["id"],
    )
    op.create_index("ix_pm_schedules_template_id", "pm_schedules", ["template_id"])
    op.create_unique_constraint(
        "uq_pm_schedules_organization_id", "pm_schedules", ["organization_id", "code"]
    )

    add("work_orders", sa.Column("pm_schedule_id", sa.Integer(), nullable=True))
    add("work_orders", sa.Column("pm_template_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        "fk_work_orders_pm_schedule_id_pm_schedules",
        "work_orders",
        "pm_schedules",
        ["pm_schedule_id"],
        ["id"],
    )
    op.create_foreign_key(
        "fk_work_orders_pm_template_id_pm_templates",
        "work_orders",
        "pm_templates",
        ["pm_template_id"],
        ["id"],
    )
    op.create_index("ix_work_orders_pm_schedule_id", "work_orders", ["pm_schedule_id"])
    add("assets", sa.Column("last_maintenance_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("assets", "last_maintenance_at")
    op.drop_index("ix_work_orders_pm_schedule_id", table_name="work_orders")
    op.drop_constraint("fk_work_orders_pm_template_id_pm_templates", "work_orders")
    op.drop_constraint("fk_work_orders_pm_schedule_id_pm_schedules", "work_orders")
    op.drop_column("work_orders", "pm_template_id")
    op.drop_column("work_orders", "pm_schedule_id")
    op.drop_constraint("uq_pm_schedules_organization_id", "pm_schedules")
    op.drop_index("ix_pm_schedules_template_id", table_name="pm_schedules")
    op.drop_constraint("fk_pm_schedules_template_id_pm_templates", "pm_schedules")
    for column in (
        "last_step", "cycles", "blocked_at", "overdue_told", "open_work_order",
        "paused_reason", "alert_hours_before", "meter_due_at", "last_meter_reading",
        "last_executed_wo", "meter_type", "anchor", "interval_cycles", "template_id", "code",
    ):  # fmt: skip
        op.drop_column("pm_schedules", column)
    op.drop_index("ix_pm_templates_asset_type_id", table_name="pm_templates")
    op.drop_index("ix_pm_templates_organization_id", table_name="pm_templates")
    op.drop_table("pm_templates")
