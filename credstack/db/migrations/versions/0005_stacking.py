"""Stacking: pathway versions, enrollments, stacked awards, imported credentials,
trusted issuers and articulation agreements

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 21:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def _org() -> sa.Column[str]:
    return sa.Column("org_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "pathways",
        sa.Column("id", sa.String(36), primary_key=True),
        _org(),
        sa.Column("iri", sa.String(500), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.UniqueConstraint("iri", "version", name="uq_pathways_iri"),
    )
    op.create_index("ix_pathways_org_id", "pathways", ["org_id"])
    op.create_table(
        "enrollments",
        sa.Column("learner", sa.String(500), primary_key=True),
        sa.Column("pathway_iri", sa.String(500), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("enrolled_at", WHEN, nullable=False),
    )
    op.create_table(
        "stack_awards",
        sa.Column("id", sa.String(36), primary_key=True),
        _org(),
        sa.Column("learner", sa.String(500), nullable=False),
        sa.Column("pathway_iri", sa.String(500), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("milestone", sa.String(200), nullable=False),
        sa.Column("award_id", sa.String(36), sa.ForeignKey("awards.id"), nullable=False),
        sa.Column("clr_award_id", sa.String(36), sa.ForeignKey("awards.id"), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.UniqueConstraint("learner", "pathway_iri", "milestone", name="uq_stack_awards_learner"),
    )
    op.create_index("ix_stack_awards_learner", "stack_awards", ["learner"])
    op.create_index("ix_stack_awards_pathway_iri", "stack_awards", ["pathway_iri"])
    op.create_table(
        "imported_credentials",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("learner", sa.String(500), nullable=False),
        sa.Column("credential_id", sa.String(500), nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("achievement_id", sa.String(500), nullable=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("valid_until", WHEN, nullable=True),
        sa.Column("imported_at", WHEN, nullable=False),
        sa.UniqueConstraint("learner", "credential_id", name="uq_imported_credentials_learner"),
    )
    op.create_index("ix_imported_credentials_learner", "imported_credentials", ["learner"])
    op.create_table(
        "trusted_issuers",
        sa.Column("org_id", sa.String(36), sa.ForeignKey("organizations.id"), primary_key=True),
        sa.Column("issuer", sa.String(500), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("added_at", WHEN, nullable=False),
    )
    op.create_table(
        "articulations",
        sa.Column("id", sa.String(36), primary_key=True),
        _org(),
        sa.Column("program", sa.String(500), nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("achievement_id", sa.String(500), nullable=True),
        sa.Column("alignment", sa.String(500), nullable=True),
        sa.Column("credits", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
    )
    op.create_index("ix_articulations_org_id", "articulations", ["org_id"])


def downgrade() -> None:
    for table in (
        "articulations",
        "trusted_issuers",
        "imported_credentials",
        "stack_awards",
        "enrollments",
        "pathways",
    ):
        op.drop_table(table)
