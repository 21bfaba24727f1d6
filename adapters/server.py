"""The one aiohttp web server every platform adapter mounts its endpoint on, with health
endpoints for load balancers: /healthz (the process is up) and /readyz (the database answers).
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # Slack payloads are far smaller; anything bigger is refused with 413


def web_app(ready: Callable[[], Awaitable[None]]) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        try:
            await ready()
        except Exception as error:  # any failure means "don't send traffic here"
            log.warning("not ready: %s", error)
            return web.json_response({"status": "unavailable", "reason": type(error).__name__}, status=503)
        return web.json_response({"status": "ready"})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app
