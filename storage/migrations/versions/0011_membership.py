"""Membership managed in chat: people added, seats given or taken, coalitions created.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(255)


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("member_id", ID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("added_by", ID, nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", name="pk_people"),
        sa.UniqueConstraint("email", name="uq_people_email"),
    )
    op.create_table(
        "seats",
        sa.Column("coalition_id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("sector", sa.String(32), nullable=True),
        sa.Column("changed_by", ID, nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("coalition_id", "member_id", name="pk_seats"),
    )
    op.create_table(
        "coalition_changes",
        sa.Column("coalition_id", ID, nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("challenge", sa.Text(), nullable=True),
        sa.Column("created", sa.Boolean(), nullable=False),
        sa.Column("changed_by", ID, nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("coalition_id", name="pk_coalition_changes"),
    )
    op.create_table(
        "versions",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_versions"),
    )


def downgrade() -> None:
    for table in ("versions", "coalition_changes", "seats", "people"):
        op.drop_table(table)
