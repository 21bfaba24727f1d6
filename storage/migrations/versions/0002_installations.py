"""Platform installations (multi-workspace OAuth) and OAuth states.

Revision ID: 0002
Revises: 0001
Create Date: 2025-06-01 00:00:00
"""

from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(255)
UTC = sa.DateTime(timezone=True)  # storage.models.UTCDateTime's impl; frozen here


def upgrade() -> None:
    op.create_table(
        "installations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("enterprise_id", ID, nullable=True),
        sa.Column("team_id", ID, nullable=True),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("is_bot", sa.Boolean(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("installed_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_installations"),
    )
    op.create_index(
        "ix_installations_lookup",
        "installations",
        ["platform", "enterprise_id", "team_id", "is_bot", "installed_at"],
    )
    op.create_table(
        "oauth_states",
        sa.Column("state", sa.String(255), nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("state", name="pk_oauth_states"),
    )


def downgrade() -> None:
    op.drop_table("oauth_states")
    op.drop_table("installations")  # its index goes with it
