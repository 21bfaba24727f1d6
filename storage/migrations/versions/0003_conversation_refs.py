"""Conversation references for proactive messages (Teams needs one stored per member).

Revision ID: 0003
Revises: 0002
Create Date: 2026-03-01 00:00:00
"""

from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(255)
UTC = sa.DateTime(timezone=True)  # storage.models.UTCDateTime's impl; frozen here


def upgrade() -> None:
    op.create_table(
        "conversation_refs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("tenant", ID, nullable=False),
        sa.Column("user", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("conversation", sa.String(512), nullable=False),
        sa.Column("thread", sa.String(512), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("unreachable_reason", sa.Text(), nullable=True),
        sa.Column("unreachable_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_refs"),
        sa.UniqueConstraint(
            "platform", "tenant", "conversation", "user", name="uq_conversation_refs_address"
        ),
    )
    op.create_index(
        "ix_conversation_refs_member",
        "conversation_refs",
        ["platform", "member_id", "updated_at"],
    )


def downgrade() -> None:
    op.drop_table("conversation_refs")  # its index and constraints go with it
