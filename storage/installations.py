"""Platform installations and OAuth states, for multi-workspace installs.

Neutral on purpose: an installation is the platform adapter's JSON (`data`) under a few
key columns (platform, enterprise, team, user, bot or not). The Slack adapter maps
slack_sdk's `Installation`/`Bot` onto it; nothing here knows their fields.

Ids are normalised: "" and None both mean "no such id" and are stored as NULL, so a
lookup with "" finds a row saved with None and the other way round.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import InstallationRow, OAuthState
from storage.repository import SqlStore

T = InstallationRow


def _id(value: str | None) -> str | None:
    return value or None


def _where(
    platform: str, enterprise_id: str | None, team_id: str | None
) -> list[ColumnElement[bool]]:
    # `== None` compiles to IS NULL, which the lookup index serves on both backends.
    return [
        T.platform == platform,
        T.enterprise_id == _id(enterprise_id),
        T.team_id == _id(team_id),
    ]


class SqlInstallations:
    """Installations and OAuth states on the same database as the `SqlStore`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @classmethod
    def of(cls, store: SqlStore) -> SqlInstallations:
        return cls(store.engine)

    # -- installations -----------------------------------------------------------------

    async def save(
        self,
        platform: str,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        is_bot: bool,
        data: dict[str, Any],
        installed_at: datetime,
    ) -> None:
        """Add an installation; one with the same key *and* `installed_at` is replaced.

        Replacing is what token rotation needs: the refreshed installation keeps its
        `installed_at`, so it overwrites its row instead of piling up a new one per refresh.
        A bot row has no user.
        """
        key = [*_where(platform, enterprise_id, team_id), T.is_bot == is_bot]
        user = None if is_bot else _id(user_id)
        key.append(T.user_id == user)
        async with self.engine.begin() as db:
            replaced = await db.execute(
                update(T).where(*key, T.installed_at == installed_at).values(data=data)
            )
            if replaced.rowcount == 0:
                await db.execute(
                    insert(T).values(
                        platform=platform,
                        enterprise_id=_id(enterprise_id),
                        team_id=_id(team_id),
                        user_id=user,
                        is_bot=is_bot,
                        data=data,
                        installed_at=installed_at,
                    )
                )

    async def find(
        self,
        platform: str,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_bot: bool = False,
    ) -> dict[str, Any] | None:
        """The latest installation's data; for a user's if `user_id` (ignored for bots)."""
        where = [*_where(platform, enterprise_id, team_id), T.is_bot == is_bot]
        if user_id and not is_bot:
            where.append(T.user_id == user_id)
        statement = (
            select(T.data).where(*where).order_by(T.installed_at.desc(), T.id.desc()).limit(1)
        )
        async with self.engine.connect() as db:
            return (await db.execute(statement)).scalar_one_or_none()

    async def delete(
        self,
        platform: str,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_bot: bool | None = None,
    ) -> int:
        """Delete a team's installations: bots, users' (only `user_id`'s if given), or both (None).

        Returns how many rows went.
        """
        where = _where(platform, enterprise_id, team_id)
        if is_bot is not None:
            where.append(T.is_bot == is_bot)
        if user_id:
            where.append(T.user_id == user_id)
        async with self.engine.begin() as db:
            return (await db.execute(delete(T).where(*where))).rowcount

    async def count(self, platform: str | None = None) -> int:
        """Rows stored (all platforms unless given); for tests and health pages."""
        statement = select(func.count()).select_from(T)
        if platform is not None:
            statement = statement.where(T.platform == platform)
        async with self.engine.connect() as db:
            return (await db.execute(statement)).scalar_one()

    # -- OAuth states ------------------------------------------------------------------

    async def issue_state(self, state: str, expires_at: datetime) -> None:
        async with self.engine.begin() as db:
            await db.execute(insert(OAuthState).values(state=state, expires_at=expires_at))

    async def consume_state(self, state: str, now: datetime) -> bool:
        """True exactly once for a state issued and not expired at `now`.

        One DELETE decides, so two replicas racing on the same state cannot both win.
        Expired states (abandoned installs) are swept out on the way.
        """
        async with self.engine.begin() as db:
            consumed = await db.execute(
                delete(OAuthState).where(OAuthState.state == state, OAuthState.expires_at > now)
            )
            await db.execute(delete(OAuthState).where(OAuthState.expires_at <= now))
            return consumed.rowcount == 1
