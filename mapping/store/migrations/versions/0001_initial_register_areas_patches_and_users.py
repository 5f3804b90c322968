"""initial register, areas, patches and users

Revision ID: 0001
Revises:
Create Date: 2026-11-22 21:47:33.576491
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "area_layers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("licence", sa.String(length=200), nullable=True),
        sa.Column("attribution", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("legal_form", sa.String(length=200), nullable=True),
        sa.Column("legal_form_key", sa.String(length=100), nullable=False),
        sa.Column("ownership_model", sa.String(length=60), nullable=True),
        sa.Column("ownership_class", sa.String(length=20), nullable=False),
        sa.Column("company_number", sa.String(length=20), nullable=True),
        sa.Column("charity_number", sa.String(length=20), nullable=True),
        sa.Column("national_footprint", sa.Boolean(), nullable=True),
        sa.Column("office_in_borough", sa.Boolean(), nullable=True),
        sa.Column("living_wage", sa.Boolean(), nullable=True),
        sa.Column("ethical_care_charter", sa.Boolean(), nullable=True),
        sa.Column("cqc_provider_id", sa.String(length=40), nullable=True),
        sa.Column("cqc_rating", sa.String(length=40), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("postcode", sa.String(length=10), nullable=True),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("licence", sa.String(length=200), nullable=True),
        sa.Column("attribution", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organisations_charity_number"), ["charity_number"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_organisations_company_number"), ["company_number"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_organisations_external_id"), ["external_id"], unique=True
        )
        batch_op.create_index(batch_op.f("ix_organisations_name"), ["name"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_organisations_ownership_class"), ["ownership_class"], unique=False
        )

    op.create_table(
        "record_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_type", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("record_history", schema=None) as batch_op:
        batch_op.create_index(
            "ix_record_history_record", ["record_type", "record_id"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "areas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("layer_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("geometry_wkb", sa.LargeBinary(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["layer_id"], ["area_layers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("layer_id", "code", name="uq_areas_layer_code"),
    )
    op.create_table(
        "assets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=60), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("postcode", sa.String(length=10), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("in_borough", sa.Boolean(), nullable=True),
        sa.Column("capacity", sa.Float(), nullable=True),
        sa.Column("opening_times", sa.Text(), nullable=True),
        sa.Column("contact", sa.String(length=300), nullable=True),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("accessibility", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("verified_by", sa.String(length=100), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("licence", sa.String(length=200), nullable=True),
        sa.Column("attribution", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assets_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_assets_external_id"), ["external_id"], unique=True)
        batch_op.create_index(batch_op.f("ix_assets_name"), ["name"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_assets_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_assets_status"), ["status"], unique=False)

    op.create_table(
        "patch_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("layer_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["layer_id"], ["area_layers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "patches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patch_set_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("area_codes", sa.JSON(), nullable=False),
        sa.Column("geometry_wkb", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["patch_set_id"], ["patch_sets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("patch_set_id", "name", name="uq_patches_set_name"),
    )


def downgrade() -> None:
    op.drop_table("patches")
    op.drop_table("patch_sets")
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assets_status"))
        batch_op.drop_index(batch_op.f("ix_assets_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_assets_name"))
        batch_op.drop_index(batch_op.f("ix_assets_external_id"))
        batch_op.drop_index(batch_op.f("ix_assets_category"))

    op.drop_table("assets")
    op.drop_table("areas")
    op.drop_table("users")
    with op.batch_alter_table("record_history", schema=None) as batch_op:
        batch_op.drop_index("ix_record_history_record")

    op.drop_table("record_history")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisations_ownership_class"))
        batch_op.drop_index(batch_op.f("ix_organisations_name"))
        batch_op.drop_index(batch_op.f("ix_organisations_external_id"))
        batch_op.drop_index(batch_op.f("ix_organisations_company_number"))
        batch_op.drop_index(batch_op.f("ix_organisations_charity_number"))

    op.drop_table("organisations")
    op.drop_table("area_layers")
