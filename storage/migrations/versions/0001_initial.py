"""Initial schema.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(255)
UTC = sa.DateTime(timezone=True)  # storage.models.UTCDateTime's impl; frozen here

# Tables with the usual coalition record columns, and their (coalition_id, created_at) index.
CONTRIBUTIONS = (
    "resources", "strengths", "perspectives", "problem_statements", "frames",
    "experiments", "checkins", "reflections", "stories",
)


def _contribution(name: str, *columns: sa.SchemaItem) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("coalition_id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        *columns,
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
    )


def _text(*names: str) -> list[sa.Column]:
    return [sa.Column(name, sa.Text(), nullable=False) for name in names]


def _fk(table: str, column: str, target: str, **kwargs: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", **kwargs
    )


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"

    op.create_table(
        "processed_events",
        sa.Column("event_id", ID, nullable=False),
        sa.Column("processed_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_processed_events"),
    )
    op.create_table(
        "flow_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("coalition_id", ID, nullable=False),
        sa.Column("flow", sa.String(255), nullable=False),
        sa.Column("step", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_flow_states"),
        sa.UniqueConstraint("key", name="uq_flow_states_key"),
    )
    op.create_index("ix_flow_states_coalition_id", "flow_states", ["coalition_id"])
    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("coalition_id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        *_text("name", "sector", "organisation", "brings", "platform"),
        sa.Column("joined_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_members"),
        sa.UniqueConstraint("coalition_id", "member_id", name="uq_members_coalition_member"),
    )

    _contribution("resources", *_text("name", "kind", "sector", "offer"))
    _contribution("strengths", *_text("success", "why", "enlarge", "challenge"))
    # problem_statements and frames reference each other. SQLite accepts a forward
    # reference but cannot ALTER TABLE ADD CONSTRAINT; other databases need the
    # referenced table first, so they get the constraint once frames exists.
    _contribution(
        "problem_statements",
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("cross_sector", sa.Integer(), nullable=False),
        sa.Column("complex", sa.Integer(), nullable=False),
        sa.Column("not_solved", sa.Integer(), nullable=False),
        sa.Column("frame_id", sa.Integer(), nullable=True),
        *([_fk("problem_statements", "frame_id", "frames")] if sqlite else []),
    )
    _contribution(
        "frames",
        sa.Column("statement_id", sa.Integer(), nullable=False),
        _fk("frames", "statement_id", "problem_statements"),
    )
    if not sqlite:
        op.create_foreign_key(
            "fk_problem_statements_frame_id_frames",
            "problem_statements", "frames", ["frame_id"], ["id"],
        )
    _contribution(
        "perspectives",
        *_text("voice", "said", "shows"),
        sa.Column("frame_id", sa.Integer(), nullable=True),
        _fk("perspectives", "frame_id", "frames"),
    )
    _contribution(
        "experiments",
        *_text("title", "action", "intended_effect"),
        sa.Column("stakeholders", sa.JSON(), nullable=False),
        *_text("partners"),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        *_text("measures", "owner"),
    )
    _contribution(
        "checkins",
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("citizen_impact", sa.Integer(), nullable=False),
        *_text("intended_seen", "unintended", "evidence", "decision"),
        sa.Column("round_id", ID, nullable=True),
        _fk("checkins", "experiment_id", "experiments"),
    )
    op.create_table(
        "checkin_effects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checkin_id", sa.Integer(), nullable=False),
        sa.Column("stakeholder", sa.Text(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_checkin_effects"),
        _fk("checkin_effects", "checkin_id", "checkins", ondelete="CASCADE"),
    )
    _contribution(
        "reflections",
        sa.Column("principle", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
    )
    _contribution(
        "stories",
        *_text("title", "body", "consent"),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("withdrawn_at", UTC, nullable=True),
    )
    for table, column, type_ in (
        ("story_principles", "principle", sa.Integer()),
        ("story_sectors", "sector", sa.Text()),
    ):
        op.create_table(
            table,
            sa.Column("story_id", sa.Integer(), nullable=False),
            sa.Column(column, type_, nullable=False),
            sa.PrimaryKeyConstraint("story_id", column, name=f"pk_{table}"),
            _fk(table, "story_id", "stories", ondelete="CASCADE"),
        )

    for table in CONTRIBUTIONS:
        op.create_index(f"ix_{table}_coalition_created", table, ["coalition_id", "created_at"])
    op.create_index("ix_experiments_coalition_ends", "experiments", ["coalition_id", "ends_on"])
    op.create_index("ix_stories_coalition_member", "stories", ["coalition_id", "member_id"])
    for table, column in (
        ("problem_statements", "frame_id"),
        ("frames", "statement_id"),
        ("perspectives", "frame_id"),
        ("checkins", "experiment_id"),
        ("checkin_effects", "checkin_id"),
    ):
        op.create_index(f"ix_{table}_{column}", table, [column])


def downgrade() -> None:
    # Indexes go with their tables. Children first; then break the frames <->
    # problem_statements cycle (SQLite keeps a dangling reference, which it allows
    # for a table about to be dropped).
    for table in (
        "story_sectors", "story_principles", "stories", "reflections", "checkin_effects",
        "checkins", "experiments", "perspectives",
    ):
        op.drop_table(table)
    op.execute("UPDATE problem_statements SET frame_id = NULL")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(
            "fk_problem_statements_frame_id_frames", "problem_statements", type_="foreignkey"
        )
    for table in (
        "frames", "problem_statements", "strengths", "resources", "members", "flow_states",
        "processed_events",
    ):
        op.drop_table(table)
