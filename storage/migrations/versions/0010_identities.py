"""Identities: the platform accounts of each member, resolved by email.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(255)


def upgrade() -> None:
    op.create_table(
        "identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("tenant", ID, nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("how", sa.String(32), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_identities"),
        sa.UniqueConstraint("platform", "user_id", name="uq_identities_platform_user"),
        sqlite_autoincrement=True,  # ids are never reused: replicas learn new rows by id
    )
    op.create_index("ix_identities_member_id", "identities", ["member_id"])


def downgrade() -> None:
    op.drop_table("identities")
