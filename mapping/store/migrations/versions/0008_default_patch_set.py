"""default patch set: the one set an officer chose as the default grouping

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


# Plain ALTER TABLE (SQLite 3.35+ drops columns in place): a batch copy of patch_sets would
# drop and re-create it, and SQLite's ON DELETE CASCADE would empty patches and lot_designs.


def upgrade() -> None:
    op.add_column("patch_sets",
                  sa.Column("is_default", sa.Boolean(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("patch_sets", "is_default")
