"""IoT sensors: gateways, sensors, rules, rule states and the raw readings (BRIN on time)

Revision ID: 0016_sensors
Revises: 0015_shift_reports
Create Date: 2026-12-01 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_sensors"
down_revision: str | None = "0015_shift_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _stamps() -> list[sa.Column]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def _org(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["organization_id"], ["organizations.id"], name=f"fk_{table}_organization_id_organizations"
    )


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "sensor_gateways",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=12), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("last_seen_at", ts, nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        *_stamps(),
        _org("sensor_gateways"),
        sa.PrimaryKeyConstraint("id", name="pk_sensor_gateways"),
        sa.UniqueConstraint("key_hash", name="uq_sensor_gateways_key_hash"),
    )
    op.create_index("ix_sensor_gateways_organization_id", "sensor_gateways", ["organization_id"])
    op.create_table(
        "sensors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("expected_interval_seconds", sa.Integer(), nullable=False),
        sa.Column("meter_id", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("last_value", sa.Float(), nullable=True),
        sa.Column("last_reading_at", ts, nullable=True),
        sa.Column("meter_told_at", ts, nullable=True),
        sa.Column("stale_since", ts, nullable=True),
        sa.Column("stale_anomaly", sa.String(length=40), nullable=True),
        *_stamps(),
        _org("sensors"),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"], name="fk_sensors_asset_id_assets"),
        sa.ForeignKeyConstraint(["meter_id"], ["meters.id"], name="fk_sensors_meter_id_meters"),
        sa.CheckConstraint("expected_interval_seconds > 0", name="ck_sensors_interval_positive"),
        sa.PrimaryKeyConstraint("id", name="pk_sensors"),
        sa.UniqueConstraint("organization_id", "code", name="uq_sensors_organization_id"),
    )
    op.create_index("ix_sensors_organization_id", "sensors", ["organization_id"])
    op.create_index("ix_sensors_asset_id", "sensors", ["asset_id"])
    op.create_table(
        "sensor_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("sensor_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("for_seconds", sa.Integer(), nullable=False),
        sa.Column("deadband", sa.Float(), nullable=False),
        sa.Column("safety_impact", sa.String(length=20), nullable=False),
        sa.Column("urgency", sa.String(length=20), nullable=False),
        sa.Column("pm_schedule_id", sa.Integer(), nullable=True),
        *_stamps(),
        _org("sensor_rules"),
        sa.ForeignKeyConstraint(
            ["sensor_id"], ["sensors.id"], name="fk_sensor_rules_sensor_id_sensors"
        ),
        sa.ForeignKeyConstraint(
            ["pm_schedule_id"],
            ["pm_schedules.id"],
            name="fk_sensor_rules_pm_schedule_id_pm_schedules",
            ondelete="SET NULL",
        ),
        sa.CheckConstraint("deadband >= 0", name="ck_sensor_rules_deadband_not_negative"),
        sa.CheckConstraint("for_seconds >= 0", name="ck_sensor_rules_for_seconds_not_negative"),
        sa.PrimaryKeyConstraint("id", name="pk_sensor_rules"),
    )
    op.create_index("ix_sensor_rules_organization_id", "sensor_rules", ["organization_id"])
    op.create_index("ix_sensor_rules_sensor_id", "sensor_rules", ["sensor_id"])
    op.create_table(
        "sensor_rule_states",
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("breaching_since", ts, nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("episodes", sa.Integer(), nullable=False),
        sa.Column("peak", sa.Float(), nullable=True),
        sa.Column("last_seen", ts, nullable=True),
        sa.Column("last_value", sa.Float(), nullable=True),
        sa.Column("last_time", ts, nullable=True),
        sa.Column("anomaly_reference", sa.String(length=40), nullable=True),
        sa.Column("signalled_at", ts, nullable=True),
        sa.Column("pending", sa.String(length=10), nullable=True),
        _org("sensor_rule_states"),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["sensor_rules.id"],
            name="fk_sensor_rule_states_rule_id_sensor_rules",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rule_id", name="pk_sensor_rule_states"),
    )
    op.create_index(
        "ix_sensor_rule_states_organization_id", "sensor_rule_states", ["organization_id"]
    )
    op.create_table(
        "sensor_readings",
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("sensor_id", sa.Integer(), nullable=False),
        sa.Column("time", ts, nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("gateway_id", sa.Integer(), nullable=True),
    )
    op.create_index(
        "ix_sensor_readings_time_brin", "sensor_readings", ["time"], postgresql_using="brin"
    )


def downgrade() -> None:
    op.drop_index("ix_sensor_readings_time_brin", table_name="sensor_readings")
    op.drop_table("sensor_readings")
    op.drop_table("sensor_rule_states")
    op.drop_table("sensor_rules")
    op.drop_table("sensors")
    op.drop_table("sensor_gateways")
