"""The lifecycle the fake servers share: async and sync context managers around `start`/`close`.

    async with Fake() as fake: ...                 # served on the test's own event loop
    fake = Fake().start_in_thread(); ...; fake.stop()
    with Fake() as fake: ...                       # the same, for sync code and subprocesses

A subclass implements `async def start(self) -> Self` (listen, return self) and
`async def close(self) -> None` (stop listening; safe to call when not started).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Self

__all__ = ["ThreadedServer"]


class ThreadedServer:
    # Set while served by `start_in_thread`; `_loop` is the private loop the server runs on.
    _thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _stopped: asyncio.Event | None = None

    async def start(self) -> Self:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def start_in_thread(self) -> Self:
        """Serve on a private event loop in a daemon thread; returns once listening."""
        ready = threading.Event()
        errors: list[BaseException] = []

        async def serve() -> None:
            try:
                self._loop, self._stopped = asyncio.get_running_loop(), asyncio.Event()
                await self.start()
            except BaseException as exc:
                errors.append(exc)
                raise
            finally:
                ready.set()
            try:
                await self._stopped.wait()
            finally:
                await self.close()

        name = type(self).__name__
        self._thread = threading.Thread(target=asyncio.run, args=(serve(),), name=name, daemon=True)
        self._thread.start()
        ready.wait()
        if errors:
            self._thread.join()
            raise errors[0]
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        assert self._loop is not None and self._stopped is not None
        self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join()
        self._thread = self._loop = self._stopped = None

    def __enter__(self) -> Self:
        return self.start_in_thread()

    def __exit__(self, *exc: object) -> None:
        self.stop()
