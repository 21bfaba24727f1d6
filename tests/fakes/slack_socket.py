"""A local fake of Slack's Socket Mode WebSocket server (the `wss://` end of `apps.connections.open`).

    socket = FakeSocketMode().start_in_thread()        # sync code / subprocesses
    fake_slack.socket_url = socket.url                 # what apps.connections.open hands out
    ...                                                 # the bot connects; it is greeted with "hello"
    socket.wait_connected_sync()
    sent = socket.push_sync("slash_commands", slash_command("story").payload)
    ack = socket.wait_for_ack_sync(sent.envelope_id, timeout=3)   # ack.elapsed, ack.payload
    socket.stop()

    async with FakeSocketMode() as socket:             # async tests: push / wait_connected / wait_for_ack

Like Slack, the server greets every connection with `{"type": "hello", ...}`, pushes
envelopes `{"envelope_id", "type", "payload", "accepts_response_payload"}` to the newest
open connection, and records what the client sends back: acknowledgements
`{"envelope_id": ..., "payload"?: {...}}` with the time from push to ack. It speaks plain
`ws://` on 127.0.0.1 (slack_sdk's aiohttp client accepts it) and answers only the
`/link/?ticket=...` URL it hands out.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import WSCloseCode, WSMsgType, web

from tests.fakes.threaded import ThreadedServer

__all__ = ["Ack", "Connection", "Envelope", "FakeSocketMode"]


@dataclass
class Connection:
    number: int  # 1, 2, ... in the order the client connected
    query: dict[str, str]
    headers: dict[str, str] = field(repr=False)
    opened_at: float  # time.monotonic()
    closed_at: float | None = None
    close_code: int | None = None  # what the client sent in its close frame (1000: a clean goodbye)

    @property
    def open(self) -> bool:
        return self.closed_at is None


@dataclass(frozen=True)
class Envelope:
    envelope_id: str
    type: str  # "slash_commands" | "interactive" | "events_api"
    payload: dict[str, Any]
    connection: int  # Connection.number it was sent on
    sent_at: float  # time.monotonic() once the frame was written


@dataclass(frozen=True)
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None  # the response payload (e.g. a view_submission's errors), if any
    at: float  # time.monotonic() on arrival
    elapsed: float | None  # seconds from push to ack (None for an envelope we never sent)
    message: dict[str, Any] = field(repr=False)


class FakeSocketMode(ThreadedServer):
    def __init__(self, *, app_id: str = "A_TEST", host: str = "applink-fake-1") -> None:
        self.app_id, self.host = app_id, host
        self.ticket = secrets.token_hex(8)
        self.refused: list[str] = []  # paths + queries of connection attempts we turned away
        self._connections: list[Connection] = []
        self._sockets: dict[int, web.WebSocketResponse] = {}
        self._envelopes: dict[str, Envelope] = {}
        self._acks: list[Ack] = []
        self._other: list[Any] = []  # anything the client sent that is not an ack of ours
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """The WebSocket URL to hand out from `apps.connections.open`."""
        if self._port is None:
            raise RuntimeError("FakeSocketMode is not running")
        return f"ws://127.0.0.1:{self._port}/link/?ticket={self.ticket}&app_id={self.app_id}"

    async def start(self) -> Self:
        self._loop = asyncio.get_running_loop()
        app = web.Application()
        app.router.add_get("/link/", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        for ws in list(self._sockets.values()):  # like Slack going away; a no-op once the client left
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---------------------------------------------------------------- the WebSocket end

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("ticket") != self.ticket:
            self.refused.append(request.path_qs)
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        ws = web.WebSocketResponse(autoping=True)  # answers the client's pings with pongs
        await ws.prepare(request)
        with self._lock:
            connection = Connection(next(self._numbers), dict(request.query), dict(request.headers),
                                    time.monotonic())  # fmt: skip
            self._connections.append(connection)
            self._sockets[connection.number] = ws
        try:
            await ws.send_json({
                "type": "hello", "num_connections": len(self._sockets),
                "debug_info": {"host": self.host, "build_number": 1, "approximate_connection_time": 18060},
                "connection_info": {"app_id": self.app_id},
            })  # fmt: skip
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._receive(message.data)
        finally:
            with self._lock:
                self._sockets.pop(connection.number, None)
                connection.closed_at, connection.close_code = time.monotonic(), ws.close_code
        return ws

    def _receive(self, raw: str) -> None:
        at = time.monotonic()
        try:
            message = json.loads(raw)
        except ValueError:
            message = None
        with self._lock:
            if not isinstance(message, dict) or not message.get("envelope_id"):
                self._other.append(message if message is not None else raw)
                return
            sent = self._envelopes.get(message["envelope_id"])
            elapsed = at - sent.sent_at if sent else None
            self._acks.append(Ack(message["envelope_id"], message.get("payload"), at, elapsed, message))

    # ---------------------------------------------------------------- pushing envelopes

    async def push(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool = True,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
        envelope_id: str | None = None,
    ) -> Envelope:
        """Send an envelope on the newest open connection (on the server's loop)."""
        if self._loop is not asyncio.get_running_loop():
            raise RuntimeError("call push_sync from outside the server's event loop")
        with self._lock:
            if not self._sockets:
                raise RuntimeError("no Socket Mode client is connected")
            number = max(self._sockets)
            ws = self._sockets[number]
        envelope_id = envelope_id or str(uuid.uuid4())
        message: dict[str, Any] = {"envelope_id": envelope_id, "type": type, "payload": payload,
                                   "accepts_response_payload": accepts_response_payload}  # fmt: skip
        if type == "events_api":
            message |= {"retry_attempt": retry_attempt or 0, "retry_reason": retry_reason or ""}
        await ws.send_json(message)
        envelope = Envelope(envelope_id, type, payload, number, time.monotonic())
        with self._lock:
            self._envelopes[envelope_id] = envelope
        return envelope

    def push_sync(self, type: str, payload: dict[str, Any], timeout: float = 5.0, **options: Any) -> Envelope:
        """`push` from another thread (the server runs in its own, see `start_in_thread`)."""
        if self._loop is None:
            raise RuntimeError("FakeSocketMode is not running")
        future = asyncio.run_coroutine_threadsafe(self.push(type, payload, **options), self._loop)
        return future.result(timeout)

    # ---------------------------------------------------------------- what happened

    def connections(self) -> list[Connection]:
        with self._lock:
            return list(self._connections)

    def envelopes(self) -> list[Envelope]:
        with self._lock:
            return list(self._envelopes.values())

    def acks(self, envelope_id: str | None = None) -> list[Ack]:
        with self._lock:
            return [a for a in self._acks if envelope_id is None or a.envelope_id == envelope_id]

    def other_messages(self) -> list[Any]:
        """What the client sent that was not an acknowledgement (Slack would ignore or drop it)."""
        with self._lock:
            return list(self._other)

    def _open_connection(self) -> Connection | None:
        with self._lock:
            return next((c for c in reversed(self._connections) if c.open), None)

    async def wait_connected(self, timeout: float = 10.0) -> Connection:
        """Wait until a client holds an open connection (it has been sent "hello")."""
        deadline = time.monotonic() + timeout
        while (connection := self._open_connection()) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no Socket Mode client connected within {timeout}s (refused: {self.refused})")
            await asyncio.sleep(0.01)
        return connection

    def wait_connected_sync(self, timeout: float = 10.0) -> Connection:
        deadline = time.monotonic() + timeout
        while (connection := self._open_connection()) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no Socket Mode client connected within {timeout}s (refused: {self.refused})")
            time.sleep(0.01)
        return connection

    def _ack_timeout(self, envelope_id: str, timeout: float) -> TimeoutError:
        acked = [a.envelope_id for a in self.acks()]
        return TimeoutError(f"envelope {envelope_id} not acknowledged within {timeout}s; acked: {acked}, "
                            f"other messages: {self.other_messages()}")  # fmt: skip

    async def wait_for_ack(self, envelope_id: str, timeout: float = 3.0) -> Ack:
        """The first acknowledgement of `envelope_id` (Slack retries or fails after 3 s)."""
        deadline = time.monotonic() + timeout
        while not (found := self.acks(envelope_id)):
            if time.monotonic() > deadline:
                raise self._ack_timeout(envelope_id, timeout)
            await asyncio.sleep(0.01)
        return found[0]

    def wait_for_ack_sync(self, envelope_id: str, timeout: float = 3.0) -> Ack:
        deadline = time.monotonic() + timeout
        while not (found := self.acks(envelope_id)):
            if time.monotonic() > deadline:
                raise self._ack_timeout(envelope_id, timeout)
            time.sleep(0.01)
        return found[0]

    def wait_closed_sync(self, connection: Connection, timeout: float = 5.0) -> Connection:
        deadline = time.monotonic() + timeout
        while connection.open:
            if time.monotonic() > deadline:
                raise TimeoutError(f"connection {connection.number} still open after {timeout}s")
            time.sleep(0.01)
        return connection
