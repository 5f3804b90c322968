"""spend benchmarking: spend datasets, payments, cleaning lines and supplier matches

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 23:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spend_datasets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("file", sa.String(length=300), nullable=False),
        sa.Column("publisher", sa.String(length=300), nullable=True),
        sa.Column("licence", sa.String(length=200), nullable=True),
        sa.Column("attribution", sa.String(length=500), nullable=True),
        sa.Column("header_line", sa.Integer(), nullable=False),
        sa.Column("column_mapping", sa.JSON(), nullable=False),
        sa.Column("line_counts", sa.JSON(), nullable=False),
        sa.Column("total_lines", sa.Integer(), nullable=False),
        sa.Column("stated_total_pence", sa.BigInteger(), nullable=True),
        sa.Column("imported_pence", sa.BigInteger(), nullable=False),
        sa.Column("reconciliation", sa.Text(), nullable=False),
        sa.Column("imported_by", sa.String(length=100), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "spend_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("body", sa.String(length=200), nullable=True),
        sa.Column("department", sa.String(length=300), nullable=True),
        sa.Column("service", sa.String(length=300), nullable=True),
        sa.Column("supplier_name", sa.String(length=300), nullable=False),
        sa.Column("supplier_key", sa.String(length=300), nullable=False),
        sa.Column("company_number", sa.String(length=20), nullable=True),
        sa.Column("charity_number", sa.String(length=20), nullable=True),
        sa.Column("transaction_id", sa.String(length=100), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.Column("repairs", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["dataset_id"], ["spend_datasets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("spend_payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spend_payments_dataset_id"), ["dataset_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_spend_payments_supplier_key"), ["supplier_key"],
                              unique=False)
    op.create_table(
        "spend_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=True),
        sa.Column("amount_pence", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["dataset_id"], ["spend_datasets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("spend_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spend_lines_dataset_id"), ["dataset_id"],
                              unique=False)
    op.create_table(
        "supplier_matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_key", sa.String(length=300), nullable=False),
        sa.Column("supplier_name", sa.String(length=300), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("legal_form", sa.String(length=100), nullable=False),
        sa.Column("ownership_class", sa.String(length=20), nullable=False),
        sa.Column("class_source", sa.String(length=20), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("national_charity", sa.Boolean(), nullable=False),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("supplier_key"),
    )
    with op.batch_alter_table("supplier_matches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supplier_matches_method"), ["method"], unique=False)
        batch_op.create_index(batch_op.f("ix_supplier_matches_organisation_id"),
                              ["organisation_id"], unique=False)


def downgrade() -> None:
    op.drop_table("supplier_matches")
    op.drop_table("spend_lines")
    op.drop_table("spend_payments")
    op.drop_table("spend_datasets")
