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


def upgrade() -> None:
    with op.batch_alter_table("area_layers") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("area_layers") as batch:
        batch.drop_column("version")
