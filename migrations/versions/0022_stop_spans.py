"""GiST indexes on the time span of floor stops, maintenance downtime and merged stoppages:
the stops touching an hour at either end of a long period are found without reading every
earlier start or every later end.

Revision ID: 0022_stop_spans
Revises: 0021_report_steps
Create Date: 2026-12-02 00:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_stop_spans"
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


def upgrade() -> None:
    for name, table in TABLES.items():
        op.create_index(name, table, [SPAN], postgresql_using="gist")


def downgrade() -> None:
    for name, table in TABLES.items():
        op.drop_index(name, table_name=table)
