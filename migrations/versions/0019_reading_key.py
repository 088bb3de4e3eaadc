"""Sensor readings keyed by (sensor, time): a batch sent again stores nothing twice

Revision ID: 0019_reading_key
Revises: 0018_maximo
Create Date: 2026-12-01 21:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019_reading_key"
down_revision: str | None = "0018_maximo"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Readings stored twice before the key existed: the first copy of each stays.
    op.execute(
        """DELETE FROM sensor_readings WHERE ctid IN (
            SELECT ctid FROM (
                SELECT ctid, row_number() OVER (PARTITION BY sensor_id, time ORDER BY ctid) AS n
                FROM sensor_readings
            ) AS copies WHERE n > 1
        )"""
    )
    op.create_unique_constraint(
        "uq_sensor_readings_sensor_time", "sensor_readings", ["sensor_id", "time"]
    )


def downgrade() -> None:
    op.drop_constraint("uq_sensor_readings_sensor_time", "sensor_readings", type_="unique")
