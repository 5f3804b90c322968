"""boroughs and data sources: the borough a store was loaded for, and the files loaded

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 13:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "boroughs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("full_name", sa.String(length=300), nullable=True),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("funder_org_id", sa.String(length=40), nullable=True),
        sa.Column("funder_name", sa.String(length=300), nullable=True),
        sa.Column("living_wage", sa.String(length=100), nullable=True),
        sa.Column("small_area_layer", sa.String(length=100), nullable=True),
        sa.Column("ward_layer", sa.String(length=100), nullable=True),
        sa.Column("outline_layer", sa.String(length=100), nullable=True),
        sa.Column("wording", sa.JSON(), nullable=False),
        sa.Column("manifest", sa.String(length=300), nullable=True),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "data_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("file", sa.String(length=300), nullable=False),
        sa.Column("publisher", sa.String(length=300), nullable=True),
        sa.Column("licence", sa.String(length=200), nullable=True),
        sa.Column("attribution", sa.String(length=500), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("data_sources")
    op.drop_table("boroughs")
