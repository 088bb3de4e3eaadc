"""shift reports (one row per version) and handover notes between shifts (seed 002)

Revision ID: 0015_shift_reports
Revises: 0014_oee_alerts
Create Date: 2026-12-01 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Integer, Text
from sqlalchemy.dialects import postgresql

revision: str = "0015_shift_reports"
down_revision: str | None = "0014_oee_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Notices name their record: a shift report's reference is longer than an anomaly's.
    op.alter_column(
        "notifications",
        "reference",
        existing_type=sa.String(length=20),
        type_=sa.String(length=60),
        existing_nullable=True,
    )
    op.create_table(
        "shift_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("shift_code", sa.String(length=40), nullable=False),
        sa.Column("shift_day", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("corrects", sa.String(length=60), nullable=True),
        sa.Column("correction_reason", sa.Text(), nullable=True),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("oee_pct", sa.Double(), nullable=True),
        sa.Column("availability_pct", sa.Double(), nullable=True),
        sa.Column("performance_pct", sa.Double(), nullable=True),
        sa.Column("quality_pct", sa.Double(), nullable=True),
        sa.Column("total_output", sa.Double(), nullable=False),
        sa.Column("good_output", sa.Double(), nullable=False),
        sa.Column("scrap_count", sa.Double(), nullable=False),
        sa.Column("down_minutes", sa.Double(), nullable=False),
        sa.Column("planned_down_minutes", sa.Double(), nullable=False),
        sa.Column("unplanned_down_minutes", sa.Double(), nullable=False),
        sa.Column("kwh", sa.Double(), nullable=False),
        sa.Column("figures", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.Column("supervisor_ids", postgresql.ARRAY(Integer()), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=200), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("archive_key", sa.String(length=64), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_step", sa.Integer(), nullable=False),
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
            ["approved_by_id"], ["users.id"], name=op.f("fk_shift_reports_approved_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_shift_reports_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_shift_reports_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shift_reports")),
        sa.UniqueConstraint("reference", name=op.f("uq_shift_reports_reference")),
        sa.UniqueConstraint(
            "site_id", "shift_day", "shift_code", "version", name=op.f("uq_shift_reports_site_id")
        ),
    )
    op.create_index(
        "ix_shift_reports_org_day", "shift_reports", ["organization_id", "shift_day"], unique=False
    )
    op.create_table(
        "shift_handover_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("shift_report_id", sa.Integer(), nullable=True),
        sa.Column("from_shift", sa.String(length=40), nullable=False),
        sa.Column("from_day", sa.Date(), nullable=False),
        sa.Column("to_shift", sa.String(length=40), nullable=False),
        sa.Column("to_day", sa.Date(), nullable=False),
        sa.Column("note_type", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"],
            ["users.id"],
            name=op.f("fk_shift_handover_notes_acknowledged_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_shift_handover_notes_created_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_shift_handover_notes_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["shift_report_id"],
            ["shift_reports.id"],
            name=op.f("fk_shift_handover_notes_shift_report_id_shift_reports"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_shift_handover_notes_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shift_handover_notes")),
    )
    op.create_index(
        op.f("ix_shift_handover_notes_organization_id"),
        "shift_handover_notes",
        ["organization_id"],
        unique=False,
    )
    op.create_index(
        "ix_handover_site_to",
        "shift_handover_notes",
        ["site_id", "to_day", "to_shift"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_handover_site_to", table_name="shift_handover_notes")
    op.drop_index(
        op.f("ix_shift_handover_notes_organization_id"), table_name="shift_handover_notes"
    )
    op.drop_table("shift_handover_notes")
    op.drop_index("ix_shift_reports_org_day", table_name="shift_reports")
    op.drop_table("shift_reports")
    # The shift reports' notices go with them.
    op.execute("DELETE FROM notifications WHERE length(reference) > 20")
    op.alter_column(
        "notifications",
        "reference",
        existing_type=sa.String(length=60),
        type_=sa.String(length=20),
        existing_nullable=True,
    )
