"""The storage contract the engine and flows depend on; `storage/` implements it.

Flows see only `Reader` (through their step context). The engine opens a `Unit` per
inbound event: one transaction that claims the event id, loads and saves the flow state
with optimistic locking, and adds records — all or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, AsyncContextManager, Mapping, Protocol, Sequence

from bot.records import MemberProfile, Record


class StaleState(Exception):
    """The flow state changed under us (another event won the race); retry or re-ask."""


@dataclass
class FlowState:
    """A member's active flow in one conversation. `data` must stay JSON-serialisable."""

    key: str
    member_id: str
    coalition_id: str
    flow: str
    step: str
    version: int = 1
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExperimentInfo:
    id: int
    coalition_id: str
    member_id: str
    title: str
    stakeholders: tuple[str, ...]
    starts_on: date
    ends_on: date
    owner: str
    checkins: int = 0


@dataclass(frozen=True)
class StatementInfo:
    id: int
    member_id: str
    statement: str
    score: float  # mean of the three transversal ratings


@dataclass(frozen=True)
class FrameInfo:
    id: int
    statement: str
    perspectives: int
    closed_at: datetime


@dataclass(frozen=True)
class StoryInfo:
    id: int
    title: str
    consent: str
    anonymous: bool
    withdrawn: bool
    created_at: datetime


class Reader(Protocol):
    """Read-only queries flows may make."""

    async def member_profile(self, coalition_id: str, member_id: str) -> MemberProfile | None: ...

    async def sector_counts(self, coalition_id: str) -> Mapping[str, int]: ...

    async def experiments(
        self, coalition_id: str, *, running_on: date | None = None, member_id: str | None = None
    ) -> Sequence[ExperimentInfo]: ...

    async def experiment(self, experiment_id: int) -> ExperimentInfo | None: ...

    async def open_statements(self, coalition_id: str) -> Sequence[StatementInfo]: ...

    async def open_perspective_count(self, coalition_id: str) -> int: ...

    async def current_frame(self, coalition_id: str) -> FrameInfo | None: ...

    async def stories(self, coalition_id: str, member_id: str) -> Sequence[StoryInfo]: ...


class Unit(Reader, Protocol):
    """One transaction. Committed when the context exits cleanly, rolled back otherwise."""

    async def claim_event(self, event_id: str) -> bool:
        """Record that this inbound event is being handled; False if it was handled before."""
        ...

    async def load_state(self, key: str) -> FlowState | None: ...

    async def save_state(self, state: FlowState) -> None:
        """Insert (version 1) or update from version-1 to version; StaleState if that fails."""
        ...

    async def delete_state(self, key: str, version: int) -> None:
        """Delete the state if it is still at `version`; StaleState otherwise."""
        ...

    async def add(self, records: Sequence[Record], now: datetime) -> list[int]:
        """Persist records in order; returns their ids (a re-joining member keeps theirs; 0 for withdrawals)."""
        ...


class Store(Protocol):
    def unit(self) -> AsyncContextManager[Unit]: ...

    async def export(self, coalition_id: str) -> dict[str, list[dict[str, Any]]]:
        """Every record of a coalition, by record type, as JSON-ready dicts."""
        ...

    async def ping(self) -> None:
        """Raise if the database cannot be reached (for readiness checks)."""
        ...

    async def close(self) -> None: ...
