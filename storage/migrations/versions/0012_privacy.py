"""Members' data rights: a contribution's text can be erased (`erased_at`) while the row stays
counted, and every erasure leaves an audit record without personal data; where the app was
uninstalled (`departures`).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONTRIBUTIONS = ("resources", "strengths", "perspectives", "problem_statements", "frames", "experiments",
                 "checkins", "reflections", "stories")


def upgrade() -> None:
    for table in CONTRIBUTIONS:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("erased_at", UTCDateTime(), nullable=True))
    op.create_table(
        "erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("by", sa.String(255), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_erasures"),
    )
    op.create_table(
        "departures",
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("scope", sa.String(255), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("platform", "scope", name="pk_departures"),
    )


def downgrade() -> None:
    op.drop_table("departures")
    op.drop_table("erasures")
    for table in CONTRIBUTIONS:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("erased_at")
