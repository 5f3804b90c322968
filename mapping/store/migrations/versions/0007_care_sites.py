"""care sites and postcodes: CQC ids, ratings and dates; which source located each asset; ONSPD rows

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Plain ADD/DROP COLUMN (SQLite 3.35+ drops columns in place): a batch copy of assets would
# drop and re-create it, and SQLite's ON DELETE rules would reach the tables that refer to it.
_COLUMNS = (
    ("cqc_location_id", sa.String(length=40)),
    ("cqc_rating", sa.String(length=40)),
    ("cqc_rating_date", sa.Date()),
    ("registered_on", sa.Date()),
    ("deregistered_on", sa.Date()),
    ("located_by", sa.String(length=120)),
)


def upgrade() -> None:
    for name, kind in _COLUMNS:
        op.add_column("assets", sa.Column(name, kind, nullable=True))
    op.create_index("ix_assets_cqc_location_id", "assets", ["cqc_location_id"])
    op.create_table(
        "postcodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("postcode", sa.String(length=8), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("easting", sa.Float(), nullable=True),
        sa.Column("northing", sa.Float(), nullable=True),
        sa.Column("terminated", sa.Date(), nullable=True),
        sa.Column("local_authority", sa.String(length=9), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("termination_known", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("postcode"),
    )


def downgrade() -> None:
    op.drop_table("postcodes")
    op.drop_index("ix_assets_cqc_location_id", table_name="assets")
    for name, _kind in reversed(_COLUMNS):
        op.drop_column("assets", name)
