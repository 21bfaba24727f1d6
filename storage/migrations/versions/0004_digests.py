"""Digests: each audience's marks (what it was shown), and the indexes digests query by.

Revision ID: 0004
Revises: 0003
Create Date: 2026-03-15 00:00:00
"""

from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)  # storage.models.UTCDateTime's impl; frozen here

# (name, table, columns)
INDEXES = (
    ("ix_stories_coalition_consent_created", "stories", ["coalition_id", "consent", "created_at"]),
    # Covering what digests aggregate per experiment (weekly impact, decisions).
    (
        "ix_checkins_experiment_created",
        "checkins",
        ["experiment_id", "created_at", "citizen_impact", "decision"],
    ),
    (
        "ix_reflections_coalition_principle_created",
        "reflections",
        ["coalition_id", "principle", "created_at"],
    ),
)


def upgrade() -> None:
    op.create_table(
        "digest_marks",
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("key", "kind", name="pk_digest_marks"),
    )
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    # (experiment_id, created_at, ...) serves everything (experiment_id) did.
    op.drop_index("ix_checkins_experiment_id", table_name="checkins")


def downgrade() -> None:
    op.create_index("ix_checkins_experiment_id", "checkins", ["experiment_id"])
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_table("digest_marks")
