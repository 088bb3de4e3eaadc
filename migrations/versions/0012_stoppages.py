"""merged stoppages kept for reliability and Pareto reads (seed 004); end indexes

Revision ID: 0012_stoppages
Revises: 0011_production
Create Date: 2026-12-01 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_stoppages"
down_revision: str | None = "0011_production"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oee_stoppages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason_code", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("planned", sa.Boolean(), nullable=False),
        sa.Column("linked", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_oee_stoppages_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["machine_id"], ["machines.id"], name=op.f("fk_oee_stoppages_machine_id_machines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oee_stoppages")),
        sa.UniqueConstraint("machine_id", "key", name=op.f("uq_oee_stoppages_machine_id")),
    )
    op.create_index("ix_oee_stoppages_machine_start", "oee_stoppages", ["machine_id", "start_time"])
    # Existing stops are merged by the snapshot round's hourly catch-up (the last week)
    # and by the demo loader; a period near now is found by its end, not by scanning
    # every earlier start.
    op.create_index(
        "ix_production_counts_machine_end", "production_counts", ["machine_id", "period_end"]
    )
    op.create_index(
        "ix_production_downtime_machine_end", "production_downtime", ["machine_id", "end_time"]
    )


def downgrade() -> None:
    op.drop_index("ix_production_downtime_machine_end", table_name="production_downtime")
    op.drop_index("ix_production_counts_machine_end", table_name="production_counts")
    op.drop_index("ix_oee_stoppages_machine_start", table_name="oee_stoppages")
    op.drop_table("oee_stoppages")
