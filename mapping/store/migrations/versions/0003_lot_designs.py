"""lot designs: how each saved lot design (a patch set) was made

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 00:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lot_designs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patch_set_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("measure", sa.String(length=60), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("tolerance", sa.Float(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("imbalance", sa.Float(), nullable=False),
        sa.Column("cut_edges", sa.Integer(), nullable=True),
        sa.Column("keep_whole", sa.String(length=100), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["patch_set_id"], ["patch_sets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("patch_set_id"),
    )


def downgrade() -> None:
    op.drop_table("lot_designs")
