"""A local fake of Slack's Web API (and response URLs), spoken over real HTTP.

    async with FakeSlack() as slack:                    # async tests
        client = AsyncWebClient(token="xoxb-test", base_url=slack.url)
        ...
        [call] = await slack.wait_for("chat.postMessage")

    slack = FakeSlack().start_in_thread()                # sync code / subprocesses
    env["SLACK_API_URL"] = slack.url                     # http://127.0.0.1:<port>/api/
    ...
    slack.wait_for_sync("chat.postMessage"); slack.stop()

Every request is recorded as a `Call`, including the ones answered with a fault.
Faults (`fail`, `rate_limit`, `slow`) queue up per method and are consumed in order;
`limit` enforces a per-key rate (e.g. per channel, or with `key=None` one budget for the
whole workspace; both may hold at once) with 429s; `respond` overrides the default answer
of a method. Posted messages are kept per channel (`messages`, updated by chat.update) and
`conversations.history` answers from them; `real_ts=True` makes their ts the current time
(so `oldest` filters like Slack's) instead of a fixed, repeatable sequence. `latency_ms=150`
delays every Web API and response_url answer by 150 ms (an `asyncio.sleep` after the call
is recorded and counted against the limits, so concurrent calls overlap), like a network.

users.info answers a made-up profile (time zone Europe/Copenhagen) that `users` extends per
user id, e.g. `slack.users["U_MO"] = {"tz": "America/New_York", "locale": "da-DK"}`. As Slack
does, `locale` (default "en-US"; None: the profile has none) is only in the answer when the
call asks with `include_locale`; `lookups()` tells which calls did.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Self
from zoneinfo import ZoneInfo

from aiohttp import web

from tests.fakes.threaded import ThreadedServer

__all__ = ["Call", "FakeSlack"]

# Form fields that slack_sdk and Slack clients send as JSON strings.
JSON_FIELDS = {"blocks", "attachments", "view", "metadata", "unfurls", "user_auth_blocks"}


@dataclass(frozen=True)
class Call:
    method: str  # "chat.postMessage", ... or "response_url"
    args: dict[str, Any]  # query + form/JSON body; JSON-string fields parsed
    token: str | None  # from `Authorization: Bearer ...` or a `token` field
    at: float  # time.monotonic() on arrival
    answered: str | int = "ok"  # "ok", the error string, or 429
    path: str = ""  # e.g. "/api/chat.postMessage", "/response/abc"
    headers: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.answered == "ok"


@dataclass
class _Fault:
    kind: str  # "fail" | "rate_limit" | "slow"
    error: str = ""
    retry_after: int = 1
    seconds: float = 0.0


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class FakeSlack(ThreadedServer):
    def __init__(
        self,
        *,
        team_id: str = "T_TEST",
        team_name: str = "Test Team",
        bot_user_id: str = "U_BOT",
        bot_id: str = "B_BOT",
        app_id: str = "A_TEST",
        token_rotation: bool = False,
        real_ts: bool = False,
        latency_ms: float = 0,
    ) -> None:
        self.team_id, self.team_name = team_id, team_name
        self.bot_user_id, self.bot_id, self.app_id = bot_user_id, bot_id, app_id
        self.token_rotation = token_rotation  # oauth.v2.access returns refresh_token/expires_in
        self.socket_url: str | None = None  # apps.connections.open answers this url
        # Extra users.info fields per user id; "locale" is answered only to include_locale.
        self.users: dict[str, dict[str, Any]] = {}
        # User id -> email: in their users.info profile, and what users.lookupByEmail finds.
        self.emails: dict[str, str] = {}
        self._calls: list[Call] = []
        self._lock = threading.Lock()
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)
        # method -> {args key (None: one bucket for all calls): (rate, burst)}
        self._limits: dict[str, dict[str | None, tuple[float, float]]] = defaultdict(dict)
        self._buckets: dict[tuple[str, Any], _Bucket] = {}
        self._overrides: dict[str, dict | Callable[[Call], dict]] = {}
        self._ids = itertools.count(1)
        self._ts = itertools.count(1_700_000_000_000_100, 100)  # microseconds
        self.real_ts = real_ts
        self.latency = latency_ms / 1000  # seconds every answer waits
        self._last_ts = 0  # microseconds, with real_ts
        self._messages: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)  # channel -> ts -> message
        # files.uploadV2: file id -> the bytes posted to its upload URL; completed ones -> channel
        self.uploads: dict[str, bytes] = {}
        self.shared: dict[str, str] = {}
        self._down: dict[str, tuple[float, int]] = {}  # method -> (until, HTTP status): an outage
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ---------------------------------------------------------------- lifecycle

    @property
    def root(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeSlack is not running")
        return f"http://127.0.0.1:{self._port}"

    @property
    def url(self) -> str:
        """Web API base URL, for `AsyncWebClient(base_url=...)` and `SLACK_API_URL`."""
        return f"{self.root}/api/"

    def response_url(self, id: str = "default") -> str:
        return f"{self.root}/response/{id}"

    async def start(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{id}", self._handle_response_url)
        app.router.add_post("/upload/{id}", self._handle_upload)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---------------------------------------------------------------- recorded calls

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def clear(self) -> None:
        """Forget recorded calls, queued faults, limits and overrides."""
        with self._lock:
            self._calls.clear()
            self._faults.clear()
            self._limits.clear()
            self._buckets.clear()
            self._overrides.clear()
            self._messages.clear()

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The channel's messages as they stand now (thread replies included), oldest first.
        A post to a user id is kept under the app's DM with them (`D<user id>`)."""
        with self._lock:
            return sorted(self._messages.get(_dm(channel), {}).values(), key=lambda m: float(m["ts"]))

    def posted(self, channel: str | None = None) -> int:
        """How many chat.postMessage calls succeeded (to `channel`, or anywhere)."""
        return sum(1 for c in self.calls("chat.postMessage")
                   if c.ok and (channel is None or _dm(str(c.args.get("channel", ""))) == _dm(channel)))

    def rate_limited(self, method: str | None = None) -> int:
        """How many calls (of `method`, or any) were answered 429."""
        return sum(1 for c in self.calls(method) if c.answered == 429)

    def lookups(self, *, with_locale: bool | None = None) -> list[str]:
        """The user ids of the users.info calls so far, in order; `with_locale=True` only those
        that asked for the locale (`include_locale`), False only those that did not."""
        return [str(c.args.get("user", "")) for c in self.calls("users.info")
                if with_locale is None or _true(c.args.get("include_locale")) == with_locale]

    def _timeout(self, method: str, count: int, timeout: float) -> TimeoutError:
        seen = ", ".join(c.method for c in self.calls()) or "nothing"
        return TimeoutError(f"expected {count} x {method} within {timeout}s; got: {seen}")

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until at least `count` calls of `method` arrived; returns them all."""
        deadline = time.monotonic() + timeout
        while len(found := self.calls(method)) < count:
            if time.monotonic() > deadline:
                raise self._timeout(method, count, timeout)
            await asyncio.sleep(0.01)
        return found

    def wait_for_sync(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        while len(found := self.calls(method)) < count:
            if time.monotonic() > deadline:
                raise self._timeout(method, count, timeout)
            time.sleep(0.01)
        return found

    # ---------------------------------------------------------------- behaviour

    def fail(self, method: str, error: str = "invalid_auth", times: int = 1) -> None:
        """Answer `{"ok": false, "error": error}` (HTTP 200) to the next `times` calls."""
        self._queue(method, times, _Fault("fail", error=error))

    def down(self, method: str, seconds: float, status: int = 503) -> None:
        """Answer every call of `method` with HTTP `status` (no JSON) for `seconds`: Slack away."""
        self._down[method] = (time.monotonic() + seconds, status)

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Answer HTTP 429 with `Retry-After: retry_after` to the next `times` calls."""
        self._queue(method, times, _Fault("rate_limit", retry_after=retry_after))

    def slow(self, method: str, seconds: float, times: int = 1) -> None:
        """Delay the (normal) answer to the next `times` calls."""
        self._queue(method, times, _Fault("slow", seconds=seconds))

    def _queue(self, method: str, times: int, fault: _Fault) -> None:
        with self._lock:
            self._faults[method].extend([fault] * times)

    def limit(self, method: str, per_second: float | None, key: str | None = "channel",
              burst: float | None = None) -> None:
        """Token bucket per `args[key]` (`key=None`: one bucket for every call of `method`,
        like a workspace-wide budget): calls beyond the rate get 429 + Retry-After. Limits
        with different keys hold together (a call must fit all); `per_second=None` removes
        the limit of that key. `burst` defaults to one second's worth (at least 1)."""
        with self._lock:
            if per_second is None:
                self._limits[method].pop(key, None)
            else:
                self._limits[method][key] = (per_second, burst or max(1.0, per_second))
            self._buckets = {k: b for k, b in self._buckets.items() if k[0] != method or k[1] != key}

    def respond(self, method: str, answer: dict | Callable[[Call], dict]) -> None:
        """Replace the default answer of `method` (a dict, or a function of the call)."""
        self._overrides[method] = answer

    # ---------------------------------------------------------------- HTTP

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        return await self._answer(request.match_info["method"], request)

    async def _handle_upload(self, request: web.Request) -> web.StreamResponse:
        """The URL files.getUploadURLExternal hands out: the file's bytes, posted as the body."""
        file_id = request.match_info["id"]
        if file_id not in self.uploads:
            return web.Response(status=404, text="unknown upload")
        self.uploads[file_id] = await request.read()
        return web.Response(text="OK - " + str(len(self.uploads[file_id])))

    def file(self, channel: str) -> bytes | None:
        """The newest file shared into `channel` (files.completeUploadExternal)."""
        found = [f for f, c in self.shared.items() if c == channel]
        return self.uploads[found[-1]] if found else None

    async def _handle_response_url(self, request: web.Request) -> web.StreamResponse:
        return await self._answer("response_url", request)

    async def _answer(self, method: str, request: web.Request) -> web.StreamResponse:
        response = await self._reply(method, request)
        if self.latency:
            await asyncio.sleep(self.latency)
        return response

    async def _reply(self, method: str, request: web.Request) -> web.StreamResponse:
        args = await _read_args(request)
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else args.get("token")
        call = Call(method, args, token, time.monotonic(), path=request.path, headers=dict(request.headers))

        until, status = self._down.get(method, (0.0, 0))
        if call.at < until:
            self._record(call, status)
            return web.Response(status=status, text="Service Unavailable")
        with self._lock:
            fault = self._faults[method].popleft() if self._faults.get(method) else None
            if fault and fault.kind == "rate_limit":
                retry_after: int | None = fault.retry_after
            else:
                retry_after = self._over_limit(method, args, call.at)
        if retry_after is not None:
            self._record(call, 429)
            headers = {"Retry-After": str(retry_after)}
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers=headers)

        body = {"ok": False, "error": fault.error} if fault and fault.kind == "fail" else self._default(call)
        self._keep(call, body)
        self._record(call, "ok" if body.get("ok") else body.get("error", "unknown_error"))
        if fault and fault.kind == "slow":
            await asyncio.sleep(fault.seconds)
        return web.json_response(body)

    def _keep(self, call: Call, body: dict[str, Any]) -> None:
        """Remember what chat.postMessage / chat.update left in the channel."""
        if not body.get("ok") or call.method not in ("chat.postMessage", "chat.update"):
            return
        message = dict(body.get("message") or {})
        channel = str(body.get("channel") or "")
        edited = self._next_ts() if call.method == "chat.update" else None
        with self._lock:
            if edited is not None:
                old = self._messages.get(channel, {}).get(message.get("ts", ""))
                if old is None:
                    return
                message = old | {k: v for k, v in message.items() if k != "metadata" or v}
                message["edited"] = {"user": self.bot_user_id, "ts": edited}
            elif call.args.get("thread_ts"):
                message["thread_ts"] = str(call.args["thread_ts"])
            self._messages[channel][message["ts"]] = message

    def _record(self, call: Call, answered: str | int) -> None:
        with self._lock:
            self._calls.append(replace(call, answered=answered))

    def _over_limit(self, method: str, args: dict, now: float) -> int | None:
        """Token buckets; returns Retry-After seconds when the call is over a limit (then
        no bucket is charged)."""
        limits = self._limits.get(method)
        if not limits:
            return None
        retry_after = None
        buckets = []
        for key, (rate, burst) in limits.items():
            value = None if key is None else args.get(key)
            if key == "channel" and value is not None:
                value = _dm(str(value))  # a user id and their DM are the same channel
            bucket = self._buckets.setdefault((method, key, value), _Bucket(burst, now))
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
            buckets.append(bucket)
            if bucket.tokens < 1:
                wait = max(1, math.ceil((1 - bucket.tokens) / rate))
                retry_after = max(retry_after or 0, wait)
        if retry_after is None:
            for bucket in buckets:
                bucket.tokens -= 1
        return retry_after

    # ---------------------------------------------------------------- default answers

    def _next_ts(self) -> str:
        if self.real_ts:
            with self._lock:
                self._last_ts = max(self._last_ts + 1, int(time.time() * 1_000_000))
                micros = self._last_ts
        else:
            micros = next(self._ts)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _default(self, call: Call) -> dict[str, Any]:
        if (answer := self._overrides.get(call.method)) is not None:
            return answer(call) if callable(answer) else answer
        a, ok = call.args, {"ok": True}
        match call.method:
            case "auth.test":
                return ok | {
                    "url": "https://test.slack.com/", "team": self.team_name, "user": "cocreate",
                    "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id,
                    "is_enterprise_install": False,
                }  # fmt: skip
            case "chat.postMessage":
                ts, channel = self._next_ts(), _dm(a.get("channel", ""))
                return ok | {"channel": channel, "ts": ts, "message": self._message(a, ts)}
            case "chat.postEphemeral":
                return ok | {"message_ts": self._next_ts()}
            case "chat.update":
                ts = a.get("ts", "")
                return ok | {"channel": a.get("channel"), "ts": ts, "text": a.get("text", ""),
                             "message": self._message(a, ts)}  # fmt: skip
            case "views.open" | "views.update" | "views.push" | "views.publish":
                return ok | {"view": self._view(call)}
            case "conversations.open":
                user = str(a.get("users", "")).split(",")[0]
                return ok | {"channel": {"id": a.get("channel") or _dm(user)}}
            case "conversations.history":
                return ok | self._history(a)
            case "users.info":
                return ok | {"user": self._user(a.get("user", ""), locale=_true(a.get("include_locale")))}
            case "users.lookupByEmail":  # case-insensitive, as Slack's
                wanted = str(a.get("email", "")).lower()
                found = [u for u, email in self.emails.items() if email.lower() == wanted]
                return ok | {"user": self._user(found[0])} if found else {"ok": False, "error": "users_not_found"}
            case "files.getUploadURLExternal":
                file_id = f"F{next(self._ids):08d}"
                self.uploads[file_id] = b""
                return ok | {"upload_url": f"{self.root}/upload/{file_id}", "file_id": file_id}
            case "files.completeUploadExternal":
                files = json.loads(a.get("files") or "[]") if isinstance(a.get("files"), str) else a.get("files") or []
                if any(self.uploads.get(f.get("id")) in (None, b"") for f in files):
                    return {"ok": False, "error": "file_not_found"}
                for f in files:
                    self.shared[f["id"]] = str(a.get("channel_id", ""))
                return ok | {"files": [{"id": f["id"], "title": f.get("title", "")} for f in files]}
            case "oauth.v2.access":
                return ok | self._installation(refresh=a.get("grant_type") == "refresh_token")
            case "apps.connections.open":
                return ok | {"url": self.socket_url or "wss://wss-primary.slack.invalid/link/?ticket=fake"}
        return ok

    def _message(self, a: dict, ts: str) -> dict[str, Any]:
        message = {"type": "message", "user": self.bot_user_id, "bot_id": self.bot_id, "app_id": self.app_id,
                   "team": self.team_id, "text": a.get("text", ""), "ts": ts}  # fmt: skip
        return message | {k: a[k] for k in ("blocks", "attachments", "metadata") if k in a}

    def _history(self, a: dict) -> dict[str, Any]:
        """Newest first, thread replies left out (as Slack does), metadata only on request."""
        oldest, latest = float(a.get("oldest") or 0), float(a.get("latest") or "inf")
        inclusive = _true(a.get("inclusive"))
        with self._lock:
            found = [m for m in self._messages.get(_dm(str(a.get("channel", ""))), {}).values()
                     if m.get("thread_ts", m["ts"]) == m["ts"]]
        if inclusive:
            found = [m for m in found if oldest <= float(m["ts"]) <= latest]
        else:
            found = [m for m in found if oldest < float(m["ts"]) < latest]
        found.sort(key=lambda m: float(m["ts"]), reverse=True)
        limit = int(a.get("limit") or 100)
        if not _true(a.get("include_all_metadata")):
            found = [{k: v for k, v in m.items() if k != "metadata"} for m in found]
        return {"messages": found[:limit], "has_more": len(found) > limit, "pin_count": 0,
                "response_metadata": {"next_cursor": ""}}

    def _view(self, call: Call) -> dict[str, Any]:
        view = call.args.get("view")
        view = dict(view) if isinstance(view, dict) else {}
        view_id = call.args.get("view_id") if call.method == "views.update" else None
        view_id = view_id or f"V{next(self._ids):010d}"
        defaults = {"type": "home" if call.method == "views.publish" else "modal", "blocks": [],
                    "private_metadata": "", "callback_id": "", "external_id": "", "state": {"values": {}},
                    "clear_on_close": False, "notify_on_close": False, "previous_view_id": None}  # fmt: skip
        return defaults | view | {
            "id": view_id, "team_id": self.team_id, "app_id": self.app_id, "bot_id": self.bot_id,
            "app_installed_team_id": self.team_id, "root_view_id": view_id,
            "hash": f"{time.time():.6f}.{next(self._ids):08x}",
        }  # fmt: skip

    def _user(self, user_id: str, locale: bool = False) -> dict[str, Any]:
        """A profile; like Slack, its `locale` only when asked for (and when it has one)."""
        extra = dict(self.users.get(user_id, {}))
        language = extra.pop("locale", "en-US")
        tz = extra.get("tz", "Europe/Copenhagen")
        offset = datetime.now(ZoneInfo(tz)).utcoffset()
        name = user_id.lower()
        user = {
            "id": user_id, "team_id": self.team_id, "name": name, "real_name": f"User {user_id}",
            "deleted": False, "is_bot": False, "is_admin": False,
            "tz": tz, "tz_label": tz, "tz_offset": int(offset.total_seconds()) if offset else 0,
            "profile": {"real_name": f"User {user_id}", "display_name": name, "team": self.team_id},
        } | extra  # fmt: skip
        if user_id in self.emails:
            user["profile"] = {**user["profile"], "email": self.emails[user_id]}
        if locale and language is not None:
            user["locale"] = language
        return user

    def _installation(self, refresh: bool) -> dict[str, Any]:
        n = next(self._ids)
        scope = "chat:write,commands,im:history,im:write,users:read"
        team = {"id": self.team_id, "name": self.team_name}
        rotate = self.token_rotation or refresh
        body = {
            "access_token": f"xoxe.xoxb-1-fake{n}" if rotate else f"xoxb-{self.team_id}-fake{n}",
            "token_type": "bot", "scope": scope, "bot_user_id": self.bot_user_id, "app_id": self.app_id,
            "team": team, "enterprise": None, "is_enterprise_install": False,
        }  # fmt: skip
        if rotate:
            body |= {"refresh_token": f"xoxe-1-refresh{n}", "expires_in": 43200}
        if not refresh:
            body["authed_user"] = {"id": "U_MO", "scope": "", "token_type": "user"}
        return body


def _true(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def _dm(channel: str) -> str:
    """Posting to a user id lands in the app's DM with that user."""
    return f"D{channel}" if channel[:1] in ("U", "W") else channel


async def _read_args(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        raw = await request.text()
        args.update(json.loads(raw) if raw.strip() else {})
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in (await request.post()).items():
            args[key] = value if isinstance(value, str) else value.file.read()
    for key in JSON_FIELDS & args.keys():
        if isinstance(args[key], str):
            try:
                args[key] = json.loads(args[key])
            except ValueError:
                pass
    return args
