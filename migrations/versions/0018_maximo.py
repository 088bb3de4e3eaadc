"""Maximo intake (seed 000 C3): configuration, mapping tables, imported records, runs

Revision ID: 0018_maximo
Revises: 0017_imports
Create Date: 2026-12-01 18:50:31.074528
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018_maximo"
down_revision: str | None = "0017_imports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "maximo_configs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("api_key", sa.String(length=500), nullable=True),
        sa.Column("interval_minutes", sa.Integer(), nullable=False),
        sa.Column("page_size", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("cursor", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_maximo_configs_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maximo_configs")),
        sa.UniqueConstraint("organization_id", name=op.f("uq_maximo_configs_organization_id")),
    )
    op.create_table(
        "maximo_priority_map",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("urgency", sa.String(length=10), nullable=False),
        sa.Column("safety_impact", sa.String(length=10), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_maximo_priority_map_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maximo_priority_map")),
        sa.UniqueConstraint(
            "organization_id", "priority", name=op.f("uq_maximo_priority_map_organization_id")
        ),
    )
    op.create_table(
        "maximo_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=True),
        sa.Column("started_by", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("created_refs", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_refs", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("refusals", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("seen", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_maximo_runs_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maximo_runs")),
    )
    op.create_index(
        "ix_maximo_runs_org_started", "maximo_runs", ["organization_id", "started_at"], unique=False
    )
    op.create_table(
        "maximo_status_map",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=2), nullable=False),
        sa.Column("maximo_status", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_maximo_status_map_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maximo_status_map")),
        sa.UniqueConstraint(
            "organization_id",
            "kind",
            "maximo_status",
            name=op.f("uq_maximo_status_map_organization_id"),
        ),
    )
    op.create_table(
        "maximo_asset_map",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("maximo_site", sa.String(length=40), nullable=False),
        sa.Column("assetnum", sa.String(length=60), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_maximo_asset_map_asset_id_assets")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_maximo_asset_map_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maximo_asset_map")),
        sa.UniqueConstraint(
            "organization_id",
            "maximo_site",
            "assetnum",
            name=op.f("uq_maximo_asset_map_organization_id"),
        ),
    )
    op.create_table(
        "maximo_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=2), nullable=False),
        sa.Column("external_id", sa.String(length=60), nullable=False),
        sa.Column("anomaly_id", sa.Integer(), nullable=False),
        sa.Column("maximo_status", sa.String(length=20), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("historical", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["anomaly_id"], ["anomalies.id"], name=op.f("fk_maximo_records_anomaly_id_anomalies")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_maximo_records_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maximo_records")),
        sa.UniqueConstraint("anomaly_id", name=op.f("uq_maximo_records_anomaly_id")),
        sa.UniqueConstraint(
            "organization_id",
            "site",
            "kind",
            "external_id",
            name=op.f("uq_maximo_records_organization_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("maximo_records")
    op.drop_table("maximo_asset_map")
    op.drop_table("maximo_status_map")
    op.drop_index("ix_maximo_runs_org_started", table_name="maximo_runs")
    op.drop_table("maximo_runs")
    op.drop_table("maximo_priority_map")
    op.drop_table("maximo_configs")
