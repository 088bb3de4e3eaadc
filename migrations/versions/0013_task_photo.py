"""a work-order task may require a photo (seed 003 C, task editing before approval)

Revision ID: 0013_task_photo
Revises: 0012_stoppages
Create Date: 2026-12-01 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_task_photo"
down_revision: str | None = "0012_stoppages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "work_order_tasks",
        sa.Column("requires_photo", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("work_order_tasks", "requires_photo")
