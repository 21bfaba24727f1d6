"""Which replica runs the scheduler: the one holding a PostgreSQL advisory lock.

The lock belongs to one database connection, held open by the leader. When the leader
dies its connection closes, PostgreSQL releases the lock, and the next replica to try
(every scheduler tick) takes over. SQLite is one process by nature: it always leads.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

LOCK_KEY = 0x636F_6372  # "cocr": an arbitrary, fixed 64-bit key for the scheduler


class AdvisoryLock:
    def __init__(self, engine: AsyncEngine, key: int = LOCK_KEY):
        self.engine, self.key = engine, key
        self._held: AsyncConnection | None = None

    async def acquire(self) -> bool:
        if self.engine.dialect.name != "postgresql":
            return True
        if self._held is not None:
            try:
                await self._held.execute(text("SELECT 1"))  # still connected, so still ours
                await self._held.commit()  # never sit "idle in transaction"
                return True
            except Exception as error:
                log.warning("scheduler lock: lost the database connection (%s)", error)
                await self._drop()
        connection = await self.engine.connect()
        try:
            got = (await connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})).scalar()
            await connection.commit()  # the lock is session-level: it outlives the transaction
        except Exception:
            await connection.close()
            raise
        if got:
            self._held = connection
            return True
        await connection.close()
        return False

    async def release(self) -> None:
        if self._held is None:
            return
        try:
            await self._held.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            await self._held.commit()
        except Exception:
            pass  # closing the connection releases it too
        await self._drop()

    async def _drop(self) -> None:
        held, self._held = self._held, None
        try:
            # Invalidate, not close: a pooled connection would keep the lock for its next user.
            await held.invalidate()
            await held.close()
        except Exception:
            pass
