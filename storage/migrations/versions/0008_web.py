"""The web platform: invite links, one-time links, sessions, the people who use it and
their conversations, and rate-limited attempts.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(255)
HASH = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "web_invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", HASH, nullable=False),
        sa.Column("coalition_id", ID, nullable=False),
        sa.Column("created_by", ID, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("joins", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_web_invites"),
        sa.UniqueConstraint("token_hash", name="uq_web_invites_token_hash"),
    )
    op.create_index("ix_web_invites_coalition_id", "web_invites", ["coalition_id"])
    op.create_table(
        "web_people",
        sa.Column("member_id", ID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("coalition_id", ID, nullable=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("invite_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("unsubscribed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["invite_id"], ["web_invites.id"], ondelete="SET NULL",
                                name="fk_web_people_invite_id_web_invites"),
        sa.PrimaryKeyConstraint("member_id", name="pk_web_people"),
    )
    op.create_index("ix_web_people_email", "web_people", ["email"])
    op.create_table(
        "web_links",
        sa.Column("token_hash", HASH, nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("coalition_id", ID, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name="pk_web_links"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", HASH, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name="pk_web_sessions"),
    )
    op.create_index("ix_web_sessions_member_id", "web_sessions", ["member_id"])
    op.create_table(
        "web_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("who", sa.String(8), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("tag", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("emailed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_web_entries"),
        sa.UniqueConstraint("tag", name="uq_web_entries_tag"),
    )
    op.create_index("ix_web_entries_member", "web_entries", ["member_id", "id"])
    op.create_table(
        "web_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_web_attempts"),
    )
    op.create_index("ix_web_attempts_key", "web_attempts", ["kind", "key", "at"])


def downgrade() -> None:
    op.drop_table("web_attempts")
    op.drop_table("web_entries")
    op.drop_table("web_sessions")
    op.drop_table("web_links")
    op.drop_table("web_people")
    op.drop_table("web_invites")
