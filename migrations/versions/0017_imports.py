"""anomaly imports from a workbook: the import, its rows, the key of a registered row

Revision ID: 0017_imports
Revises: 0016_sensors
Create Date: 2026-12-01 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017_imports"
down_revision: str | None = "0016_sensors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "anomaly_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("file_sha256", sa.CHAR(length=64), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("user_name", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("registered", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_anomaly_imports_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_anomaly_imports_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anomaly_imports")),
        sa.UniqueConstraint(
            "organization_id", "file_sha256", name=op.f("uq_anomaly_imports_organization_id")
        ),
    )
    op.create_index(
        op.f("ix_anomaly_imports_organization_id"), "anomaly_imports", ["organization_id"]
    )
    op.create_table(
        "anomaly_import_rows",
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("cells", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=True),
        sa.Column("problems", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["anomaly_imports.id"],
            name=op.f("fk_anomaly_import_rows_import_id_anomaly_imports"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_anomaly_import_rows_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("import_id", "row_number", name=op.f("pk_anomaly_import_rows")),
    )
    op.create_table(
        "anomaly_import_keys",
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title_key", sa.String(length=200), nullable=False),
        sa.Column("anomaly_id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_anomaly_import_keys_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_anomaly_import_keys_asset_id_assets")
        ),
        sa.ForeignKeyConstraint(
            ["anomaly_id"],
            ["anomalies.id"],
            name=op.f("fk_anomaly_import_keys_anomaly_id_anomalies"),
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["anomaly_imports.id"],
            name=op.f("fk_anomaly_import_keys_import_id_anomaly_imports"),
        ),
        sa.PrimaryKeyConstraint(
            "organization_id",
            "asset_id",
            "detected_at",
            "title_key",
            name=op.f("pk_anomaly_import_keys"),
        ),
    )
    op.create_index("ix_anomaly_import_keys_anomaly", "anomaly_import_keys", ["anomaly_id"])


def downgrade() -> None:
    op.drop_index("ix_anomaly_import_keys_anomaly", table_name="anomaly_import_keys")
    op.drop_table("anomaly_import_keys")
    op.drop_table("anomaly_import_rows")
    op.drop_index(op.f("ix_anomaly_imports_organization_id"), table_name="anomaly_imports")
    op.drop_table("anomaly_imports")
