"""Coordinators granted in chat by another coordinator.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "coordinator_grants",
        sa.Column("member_id", sa.String(255), nullable=False),
        sa.Column("granted_by", sa.String(255), nullable=False),
        sa.Column("granted_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", name="pk_coordinator_grants"),
    )


def downgrade() -> None:
    op.drop_table("coordinator_grants")
