"""indexes that match the lists' default order and the anomaly detail's work orders

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 10:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A page of the newest first is read from the index's end, within the organisation.
    op.create_index(
        "ix_anomalies_org_registered", "anomalies", ["organization_id", "registered_at", "id"]
    )
    op.create_index("ix_work_orders_org_id", "work_orders", ["organization_id", "id"])
    # The work orders opened from an anomaly, shown on its detail.
    op.create_index("ix_work_orders_source_reference", "work_orders", ["source_reference"])


def downgrade() -> None:
    op.drop_index("ix_work_orders_source_reference", table_name="work_orders")
    op.drop_index("ix_work_orders_org_id", table_name="work_orders")
    op.drop_index("ix_anomalies_org_registered", table_name="anomalies")
