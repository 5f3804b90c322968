"""area layer version: a number that goes up whenever a layer's areas are written

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


# Plain ALTER TABLE (SQLite 3.35+ drops columns in place): a batch copy of the table would
# drop and re-create area_layers, and SQLite's ON DELETE CASCADE would empty areas with it.


def upgrade() -> None:
    op.add_column("area_layers",
                  sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    op.drop_column("area_layers", "version")
