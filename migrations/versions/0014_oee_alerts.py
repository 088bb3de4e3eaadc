"""performance targets and OEE alerts (seed 002)

Revision ID: 0014_oee_alerts
Revises: 0013_task_photo
Create Date: 2026-12-01 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_oee_alerts"
down_revision: str | None = "0013_task_photo"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _stamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
    ]  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "performance_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("target_type", sa.String(length=10), nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("oee_target", sa.Float(), nullable=False),
        sa.Column("availability_target", sa.Float(), nullable=False),
        sa.Column("performance_target", sa.Float(), nullable=False),
        sa.Column("quality_target", sa.Float(), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=True),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_performance_targets_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_performance_targets")),
    )
    op.create_index(
        "ix_performance_targets_ref",
        "performance_targets",
        ["organization_id", "target_type", "reference"],
    )
    op.create_table(
        "performance_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("alert_type", sa.String(length=30), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("metric_name", sa.String(length=30), nullable=False),
        sa.Column("threshold_value", sa.Float(), nullable=True),
        sa.Column("actual_value", sa.Float(), nullable=True),
        sa.Column("reference_type", sa.String(length=20), nullable=False),
        sa.Column("reference_id", sa.Integer(), nullable=True),
        sa.Column("machine_id", sa.Integer(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=120), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("triggered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("action_notes", sa.Text(), nullable=True),
        sa.Column("action_by", sa.String(length=200), nullable=True),
        sa.Column("action_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("notification_sent", sa.Boolean(), nullable=False),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_performance_alerts_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["machine_id"], ["machines.id"], name=op.f("fk_performance_alerts_machine_id_machines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_performance_alerts")),
    )
    op.create_index(
        "ix_performance_alerts_status",
        "performance_alerts",
        ["organization_id", "acknowledged_at"],
    )
    op.create_index(
        "ix_performance_alerts_machine", "performance_alerts", ["machine_id", "triggered_at"]
    )
    # While an alert of a key is open no second one is raised: the evaluation inserts and
    # a conflict means "already raised".
    op.create_index(
        "uq_performance_alerts_open_key",
        "performance_alerts",
        ["organization_id", "dedupe_key"],
        unique=True,
        postgresql_where=sa.text("resolved_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_performance_alerts_open_key", table_name="performance_alerts")
    op.drop_index("ix_performance_alerts_machine", table_name="performance_alerts")
    op.drop_index("ix_performance_alerts_status", table_name="performance_alerts")
    op.drop_table("performance_alerts")
    op.drop_index("ix_performance_targets_ref", table_name="performance_targets")
    op.drop_table("performance_targets")
