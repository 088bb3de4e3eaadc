"""Operator reports and stop-work orders record their lifecycle's steps: the last step done
(`status`) and its number (`last_step`, the key that makes a retried write change nothing).

Revision ID: 0021_report_steps
Revises: 0020_change_feed
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_report_steps"
down_revision: str | None = "0020_change_feed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("operator_reports", "stop_work_orders")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("status", sa.String(length=40), nullable=True))
        op.add_column(
            table, sa.Column("last_step", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "last_step")
        op.drop_column(table, "status")
