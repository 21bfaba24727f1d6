"""Members' languages: the one they chose in chat and the locale their platform reports.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "member_languages",
        sa.Column("member_id", sa.String(255), nullable=False),
        sa.Column("chosen", sa.String(16), nullable=True),
        sa.Column("locale", sa.String(35), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("member_id"),
    )


def downgrade() -> None:
    op.drop_table("member_languages")
