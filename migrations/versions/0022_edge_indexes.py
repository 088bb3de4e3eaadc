"""Indexes that find the records touching an hour at either end of a long period without
reading every earlier start or every later end: GiST indexes on the time span of floor
stops, maintenance downtime and merged stoppages, and a partial index on the output counts
longer than an hour (the others start at most an hour before such a window).

Revision ID: 0022_edge_indexes
Revises: 0021_report_steps
Create Date: 2026-12-02 00:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_edge_indexes"
down_revision: str | None = "0021_report_steps"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The expression of domain.models.spans.span, as the queries spell it.
SPAN = sa.text("tstzrange(start_time, end_time, '[]')")
TABLES = {
    "ix_production_downtime_span": "production_downtime",
    "ix_downtime_records_span": "downtime_records",
    "ix_oee_stoppages_span": "oee_stoppages",
}


LONG_COUNT = "period_end - period_start > interval '1 hour'"  # domain.models.spans


def upgrade() -> None:
    for name, table in TABLES.items():
        op.create_index(name, table, [SPAN], postgresql_using="gist")
    op.create_index(
        "ix_production_counts_long",
        "production_counts",
        ["machine_id", "period_start"],
        postgresql_where=sa.text(LONG_COUNT),
    )
    # What share of the counts is long: without it the planner guesses a third and reads
    # the partial index as if it held a third of the table.
    op.execute(
        "CREATE STATISTICS production_counts_length ON (period_end - period_start) "
        "FROM production_counts"
    )


def downgrade() -> None:
    op.execute("DROP STATISTICS production_counts_length")
    op.drop_index("ix_production_counts_long", table_name="production_counts")
    for name, table in TABLES.items():
        op.drop_index(name, table_name=table)
