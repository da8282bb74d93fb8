"""OB 3.0 API: held credentials and profiles of Host users; revocation and token families

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 19:00:54.011370
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "held_credentials",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("subject", sa.String(length=320), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("credential_id", sa.Text(), nullable=False),
        sa.Column("issuer_id", sa.Text(), nullable=False),
        sa.Column("form", sa.String(length=8), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_held_credentials")),
        sa.UniqueConstraint("subject", "key", name=op.f("uq_held_credentials_subject")),
    )
    with op.batch_alter_table("held_credentials", schema=None) as batch_op:
        batch_op.create_index(
            "ix_held_credentials_subject_added", ["subject", "added_at"], unique=False
        )

    op.create_table(
        "host_profiles",
        sa.Column("subject", sa.String(length=320), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_host_profiles")),
    )
    with op.batch_alter_table("oauth_grants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("family_id", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_oauth_grants_family_id"), ["family_id"], unique=False)
        batch_op.create_index("ix_oauth_grants_subject_kind", ["subject", "kind"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("oauth_grants", schema=None) as batch_op:
        batch_op.drop_index("ix_oauth_grants_subject_kind")
        batch_op.drop_index(batch_op.f("ix_oauth_grants_family_id"))
        batch_op.drop_column("family_id")
        batch_op.drop_column("revoked_at")

    op.drop_table("host_profiles")
    with op.batch_alter_table("held_credentials", schema=None) as batch_op:
        batch_op.drop_index("ix_held_credentials_subject_added")

    op.drop_table("held_credentials")
