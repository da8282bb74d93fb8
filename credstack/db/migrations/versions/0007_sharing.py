"""Sharing and employer search: public profiles and their credentials, share links,
organization settings (the LinkedIn organization id), employer searches and imports kept
as received

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _user(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users")
    )


def upgrade() -> None:
    op.create_table(
        "public_profiles",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("handle", sa.String(length=40), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("headline", sa.String(length=200), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("findable", sa.Boolean(), nullable=False),
        _when("updated_at"),
        _user("public_profiles"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_public_profiles")),
        sa.UniqueConstraint("handle", name=op.f("uq_public_profiles_handle")),
    )
    op.create_table(
        "profile_items",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        _user("profile_items"),
        sa.PrimaryKeyConstraint("user_id", "kind", "item_id", name=op.f("pk_profile_items")),
    )
    op.create_table(
        "share_links",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=True),
        _when("created_at"),
        _when("expires_at", nullable=True),
        _when("revoked_at", nullable=True),
        sa.Column("views", sa.Integer(), nullable=False),
        _user("share_links"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_share_links_token_hash")),
    )
    op.create_index(op.f("ix_share_links_user_id"), "share_links", ["user_id"], unique=False)
    op.create_table(
        "share_link_items",
        sa.Column("link_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"], ["share_links.id"], name=op.f("fk_share_link_items_link_id_share_links")
        ),
        sa.PrimaryKeyConstraint("link_id", "kind", "item_id", name=op.f("pk_share_link_items")),
    )
    op.create_table(
        "organization_settings",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("linkedin_organization_id", sa.String(length=20), nullable=True),
        _when("updated_at"),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_organization_settings_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_organization_settings")),
    )
    op.create_table(
        "employer_searches",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        _when("at"),
        _user("employer_searches"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employer_searches")),
    )
    op.create_index(
        "ix_employer_searches_user_at", "employer_searches", ["user_id", "at"], unique=False
    )
    op.create_table(
        "import_originals",
        sa.Column("import_id", sa.String(length=36), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        _when("kept_at"),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["imported_credentials.id"],
            name=op.f("fk_import_originals_import_id_imported_credentials"),
        ),
        sa.PrimaryKeyConstraint("import_id", name=op.f("pk_import_originals")),
    )


def downgrade() -> None:
    op.drop_table("import_originals")
    op.drop_index("ix_employer_searches_user_at", table_name="employer_searches")
    op.drop_table("employer_searches")
    op.drop_table("organization_settings")
    op.drop_table("share_link_items")
    op.drop_index(op.f("ix_share_links_user_id"), table_name="share_links")
    op.drop_table("share_links")
    op.drop_table("profile_items")
    op.drop_table("public_profiles")
