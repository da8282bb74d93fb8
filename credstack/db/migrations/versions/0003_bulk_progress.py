"""Bulk jobs: counts of rows found already issued, the reason a job failed, a heartbeat,
and a partial index over the rows still to issue

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 19:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

PENDING = "award_id IS NULL AND error IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("bulk_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("existing", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_bulk_jobs_state", ["state"], unique=False)
    op.create_index(
        "ix_bulk_rows_pending",
        "bulk_rows",
        ["job_id", "number"],
        unique=False,
        sqlite_where=sa.text(PENDING),
        postgresql_where=sa.text(PENDING),
    )


def downgrade() -> None:
    op.drop_index("ix_bulk_rows_pending", table_name="bulk_rows")
    with op.batch_alter_table("bulk_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_bulk_jobs_state")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("error")
        batch_op.drop_column("existing")
