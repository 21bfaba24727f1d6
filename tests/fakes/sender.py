"""The HTTP end the fake platforms' senders share (SlackSender, TeamsSender).

`async with` a sender to reuse one connection pool; otherwise each post opens and closes its
own session. The sync variant uses urllib, never via a proxy.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Self

import aiohttp

__all__ = ["Sender"]


class Sender:
    timeout: float
    _session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _post(self, url: str, data: bytes, headers: dict[str, str]) -> tuple[int, str]:
        """POST on the shared session if there is one, else on a session of its own."""
        if self._session is not None:
            return await self._send(self._session, url, data, headers)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout)) as session:
            return await self._send(session, url, data, headers)

    @staticmethod
    async def _send(
        session: aiohttp.ClientSession, url: str, data: bytes, headers: dict[str, str]
    ) -> tuple[int, str]:
        async with session.post(url, data=data, headers=headers) as response:
            return response.status, await response.text()

    def _post_sync(self, url: str, data: bytes, headers: dict[str, str]) -> tuple[int, str]:
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
        try:
            with opener.open(request, timeout=self.timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read().decode()
