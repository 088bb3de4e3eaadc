"""files stored once by content hash; work-order attachments point at them

Revision ID: 0009_file_store
Revises: 0008
Create Date: 2026-12-01 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_file_store"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stored_files",
        sa.Column(
            "organization_id", sa.Integer(), sa.ForeignKey("organizations.id"), primary_key=True
        ),
        sa.Column("sha256", sa.CHAR(64), primary_key=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column(
            "stored_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.add_column("work_order_attachments", sa.Column("sha256", sa.String(64), nullable=True))
    op.alter_column("work_order_attachments", "content", nullable=True)


def downgrade() -> None:
    op.execute(
        "UPDATE work_order_attachments a SET content = f.content FROM stored_files f, "
        "work_orders w WHERE a.content IS NULL AND a.sha256 = f.sha256 "
        "AND w.id = a.work_order_id AND f.organization_id = w.organization_id"
    )
    op.alter_column("work_order_attachments", "content", nullable=False)
    op.drop_column("work_order_attachments", "sha256")
    op.drop_table("stored_files")
