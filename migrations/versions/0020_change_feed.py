"""Change feed: each committed change to the tables the busiest reads use is announced on
the `plantops_changed` channel, so API processes drop the answers they keep.

Revision ID: 0020_change_feed
Revises: 0019_reading_key
Create Date: 2026-12-01 21:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020_change_feed"
down_revision: str | None = "0019_reading_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables the cached lists and the bearer check read (a test compares this with the
# SQL those reads run).
TABLES = (
    "anomalies",
    "anomaly_attachments",
    "areas",
    "assets",
    "asset_types",
    "meters",
    "permits",
    "revoked_tokens",
    "sites",
    "users",
    "work_centers",
    "work_orders",
    "work_order_attachments",
    "work_order_labor",
    "work_order_parts",
    "work_order_tasks",
)


def upgrade() -> None:
    # One notice per statement, not per row; PostgreSQL folds a transaction's equal notices
    # into one and delivers them only once it commits.
    op.execute(
        """
        CREATE FUNCTION plantops_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('plantops_changed', TG_TABLE_NAME);
            RETURN NULL;
        END $$
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER plantops_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION plantops_changed()"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS plantops_changed ON {table}")
    op.execute("DROP FUNCTION IF EXISTS plantops_changed()")
