"""Delivery and scheduling: the outbox, check-in rounds, leaders' schedule overrides, the
scheduler's marks, members' time zones and delivery workers' heartbeats.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(255)


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("occurrence", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("coalition_id", ID, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("claimed_by", ID, nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("interrupted_at", UTCDateTime(), nullable=True),
        sa.Column("platform", sa.String(32), nullable=True),
        sa.Column("conversation", sa.String(512), nullable=True),
        sa.Column("message_id", ID, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("source", "occurrence", "target", name="uq_outbox_key"),
    )
    op.create_index("ix_outbox_state_due", "outbox", ["state", "due_at"])

    op.create_table(
        "rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("coalition_id", ID, nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("opened_by", ID, nullable=True),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("closes_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("remind_after_s", sa.Integer(), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["experiment_id"], ["experiments.id"], name="fk_rounds_experiment_id_experiments"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_rounds"),
        sa.UniqueConstraint("origin", name="uq_rounds_origin"),
    )
    op.create_index("ix_rounds_coalition_id", "rounds", ["coalition_id"])
    op.create_index("ix_checkins_round", "checkins", ["round_id"])

    op.create_table(
        "schedule_overrides",
        sa.Column("schedule_id", sa.String(255), nullable=False),
        sa.Column("coalition_id", ID, nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("time", sa.String(5), nullable=True),
        sa.Column("changed_by", ID, nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("schedule_id", "coalition_id", name="pk_schedule_overrides"),
    )
    op.create_table(
        "schedule_marks",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("planned_until", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_schedule_marks"),
    )
    op.create_table(
        "member_zones",
        sa.Column("member_id", ID, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", name="pk_member_zones"),
    )
    op.create_table(
        "delivery_workers",
        sa.Column("worker", sa.String(255), nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("worker", name="pk_delivery_workers"),
    )


def downgrade() -> None:
    for table in ("delivery_workers", "member_zones", "schedule_marks", "schedule_overrides"):
        op.drop_table(table)
    op.drop_index("ix_checkins_round", table_name="checkins")
    op.drop_table("rounds")  # its index and constraints go with it
    op.drop_table("outbox")
