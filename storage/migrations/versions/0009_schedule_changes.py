"""Schedule history: every change a leader made to a schedule, for the dashboard.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(255)


def upgrade() -> None:
    op.create_table(
        "schedule_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.String(255), nullable=False),
        sa.Column("coalition_id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=True),
        sa.Column("time", sa.String(5), nullable=True),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_schedule_changes"),
    )
    op.create_index(
        "ix_schedule_changes_coalition_changed", "schedule_changes", ["coalition_id", "changed_at"]
    )


def downgrade() -> None:
    op.drop_table("schedule_changes")
