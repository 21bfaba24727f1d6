"""A local fake of the Bot Connector service Teams bots talk to, and of its auth, over real HTTP.

    async with FakeConnector() as teams:                 # async tests (see the warning below)
        activity = message("hi", service_url=teams.url)  # tests/fakes/teams_client.py
        ... the bot replies ...
        [reply] = await teams.wait_for("reply")

    teams = FakeConnector(tls=True).start_in_thread()    # sync code / subprocesses
    env |= teams.env() | {...}                           # REQUESTS_CA_BUNDLE, see "Auth" below
    ...
    teams.wait_for_sync("send"); teams.stop()

`url` is the service URL to put in activities (`http://127.0.0.1:<port>/`, or `service_url("emea")`
for a realistic `/emea/` prefix). Every request is recorded as a `Call` of a kind: "create",
"send", "reply", "update", "delete", "history", "members", "member", "paged_members",
"activity_members", "delete_member", "attachment", "conversations", "team", "channels", and for
auth "openid" (metadata), "keys" (JWKS), "authority" (MSAL discovery), "token"; else "unknown"
(404). Conversation ids are matched percent-decoded (`19:x@thread.tacv2;messageid=1`). Faults
(`fail`, `throttle`, `slow`) queue up per kind and are consumed in order; `limit` enforces Teams'
per-conversation rate with 429s, `limit_tenant` a budget shared by every conversation (writes and
creates); `respond` overrides the default answer of a kind. `latency_ms` delays every Bot
Connector answer (not the auth endpoints') by that much, as a real network would: the delay
is an `asyncio.sleep`, so concurrent calls overlap.

Auth findings (botbuilder 4.17.1, msal 1.39, PyJWT 2), all checked by test_teams_fakes.py:

* Inbound. `ConfigurationBotFrameworkAuthentication(config)` reads UPPER_SNAKE attributes of
  `config`; setting any of TO_CHANNEL_FROM_BOT_LOGIN_URL, TO_CHANNEL_FROM_BOT_OAUTH_SCOPE,
  TO_BOT_FROM_CHANNEL_TOKEN_ISSUER, OAUTH_URL, TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL,
  TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL or CALLER_ID switches it to the "parameterized"
  authenticator, the only one whose metadata URLs can be overridden (CHANNEL_SERVICE only picks
  public/US-gov constants). Then TO_BOT_FROM_CHANNEL_TOKEN_ISSUER is REQUIRED (unset, the allowed
  issuer list is [None] and every token is refused). A channel token is accepted when: issuer is
  in that list; header `kid` is in the JWKS found via metadata -> `jwks_uri` (fetched with blocking
  `requests.get`, cached per metadata URL for 24 h, process-wide, in JwtTokenExtractor.metadataCache);
  if that key has `endorsements`, the activity's channelId ("msteams") is one of them; RS256
  signature; `exp`/`nbf` with 300 s leeway; `aud` == APP_ID; `serviceurl` claim == activity
  serviceUrl. `bot_config(app_id, password)` returns exactly these keys; pass
  `SimpleNamespace(**teams.bot_config(...))` as the config.
* Rejections (what `CloudAdapter.process` makes of them). PermissionError -> 401: wrong audience,
  issuer or serviceurl, a non-Bearer scheme. Anything else escapes `process` -> aiohttp's 500:
  a MISSING header (the parameterized authenticator dereferences a None identity:
  AttributeError), a malformed token (jwt.DecodeError), a bad signature
  (jwt.InvalidSignatureError), an expired token (jwt.ExpiredSignatureError), an unknown `kid`
  (IndexError: the SDK's key lookup indexes an empty list), a missing endorsement (Exception).
  A server that wants 401s must catch these around `process` itself.
* Auth off. With no APP_ID the SDK accepts requests without Authorization, but only with NONE of
  the parameterized keys set: the parameterized authenticator validates even an empty header
  (aiohttp's CloudAdapter passes "" not None) and crashes (500). `bot_config()` is then {}.
  Replies carry no Authorization header ("Emulator mode").
* Outbound (bot -> connector) with APP_ID + APP_PASSWORD: the SDK asks MSAL (blocking `requests`)
  for a client-credentials token at TO_CHANNEL_FROM_BOT_LOGIN_URL, used as the MSAL authority.
  MSAL refuses any non-https authority (ValueError "should consist of an https url"), and for
  hosts it does not know it first calls login.microsoftonline.com for instance discovery
  (unreachable here); the SDK ignores VALIDATE_AUTHORITY. Both are avoided by an https authority
  whose tenant is `adfs` (MSAL skips instance discovery for ADFS):
  `FakeConnector(tls=True)` serves everything on a second, TLS port with a self-signed cert for
  127.0.0.1; `login_url` is `https://127.0.0.1:<tls port>/adfs`; the server process needs
  `REQUESTS_CA_BUNDLE=teams.ca_file` (certifi's bundle plus the fake's cert: `env()`). MSAL then
  GETs `/adfs/.well-known/openid-configuration` (kind "authority") and POSTs
  `/adfs/oauth2/v2.0/token` (kind "token"), once per turn (the SDK builds new credentials per
  turn). With `require_auth=True` connector calls without a token the fake issued get 401.
  Without tls, keep outbound auth off (no APP_ID) or the bot's replies try Microsoft.
* In-process tests: the SDK fetches metadata and MSAL tokens with blocking `requests` calls ON the
  event loop, so a fake served on the same loop deadlocks them: use `start_in_thread()` (or
  `with FakeConnector() as teams`) for CloudAdapter tests; a plain ConnectorClient runs requests
  in an executor and works with `async with FakeConnector()`. `requests` honours HTTP(S)_PROXY:
  keep 127.0.0.1 in NO_PROXY if a proxy is set.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import ipaddress
import itertools
import json
import math
import os
import shutil
import ssl
import tempfile
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Self
from urllib.parse import parse_qsl, unquote

import jwt
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

from tests.fakes.teams_client import personal_conversation_id
from tests.fakes.threaded import ThreadedServer

__all__ = [
    "BOT_FRAMEWORK_ISSUER", "BOT_FRAMEWORK_SCOPE", "TEAMS_ERRORS", "WRITE_KINDS", "Call",
    "FakeConnector", "SigningKey",
]  # fmt: skip

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"  # iss of channel -> bot tokens
BOT_FRAMEWORK_SCOPE = "https://api.botframework.com"  # audience of bot -> channel tokens
WRITE_KINDS = ("send", "reply", "update", "delete")  # what Teams rate-limits per conversation
LEEWAY = 5 * 60  # botbuilder's clock tolerance

# Teams' documented error codes per status (learn.microsoft.com, "Status codes from bot
# conversational APIs"); 400/5xx codes are the ones the service is seen to use.
TEAMS_ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadSyntax", "Incorrect conversation creation parameters"),
    401: ("BotNotRegistered", "No registration found for this bot."),
    403: ("BotNotInConversationRoster", "The bot is not part of the conversation roster."),
    404: ("ConversationNotFound", "Conversation not found."),
    412: ("PreconditionFailed", "Precondition failed, please try again."),
    413: ("MessageSizeTooBig", "Message size too large."),
    429: ("Throttled", "Too many requests. Also returns when to retry after."),
    500: ("ServiceError", "Unknown error."),
    502: ("ServiceError", "Bad gateway."),
    503: ("ServiceUnavailable", "Service unavailable."),
    504: ("GatewayTimeout", "Gateway timeout."),
}
ERROR_MESSAGES = {code: message for code, message in TEAMS_ERRORS.values()} | {
    "ConversationBlockedByUser": "User blocked the conversation with the bot.",
    "BotDisabledByAdmin": "The tenant admin disabled this bot.",
    "MemberNotFoundInConversation": "The member is not part of the conversation.",
}
AUTH_KINDS = ("openid", "keys", "authority", "token")


@dataclass(frozen=True)
class Call:
    kind: str  # "send", "reply", ... (see the module docstring)
    method: str  # HTTP verb
    path: str  # raw path, e.g. "/v3/conversations/a%3A1/activities"
    conversation_id: str | None  # percent-decoded
    activity_id: str | None
    body: Any  # parsed JSON (dict/list), the form of a token request, or None
    at: float  # time.monotonic() on arrival
    answered: int = 0  # HTTP status of the answer
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    member_id: str | None = None
    team_id: str | None = None
    tenant: str | None = None  # of "authority" and "token" calls
    query: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return 200 <= self.answered < 300

    @property
    def authorization(self) -> str | None:
        return self.headers.get("Authorization")

    @property
    def token(self) -> str | None:
        """The bearer token, if any."""
        auth = self.authorization or ""
        return auth[7:] if auth.startswith("Bearer ") else None

    @property
    def text(self) -> str | None:
        return self.body.get("text") if isinstance(self.body, dict) else None


@dataclass
class _Fault:
    kind: str  # "fail" | "throttle" | "slow"
    status: int = 500
    code: str | None = None
    message: str | None = None
    retry_after: float | None = None
    seconds: float = 0.0


class SigningKey:
    """An RSA key that signs Bot Framework style JWTs and publishes itself as a JWK."""

    def __init__(self, kid: str | None = None) -> None:
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = kid or uuid.uuid4().hex

    def jwk(self, endorsements: Iterable[str] | None = None) -> dict[str, Any]:
        key = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        key |= {"kid": self.kid, "use": "sig", "alg": "RS256"}
        if endorsements is not None:
            key["endorsements"] = list(endorsements)
        return key

    def sign(self, claims: dict[str, Any], kid: str | None = None, algorithm: str = "RS256") -> str:
        headers = {"kid": kid or self.kid, "typ": "JWT"}
        return jwt.encode(claims, self.private_key, algorithm=algorithm, headers=headers)


_other_key: SigningKey | None = None


def _forger() -> SigningKey:
    """A key nobody publishes (one per process: RSA generation costs ~50 ms)."""
    global _other_key
    if _other_key is None:
        _other_key = SigningKey()
    return _other_key


class FakeConnector(ThreadedServer):
    def __init__(
        self,
        *,
        app_id: str | None = None,  # if set, the token endpoint checks client_id (and secret)
        app_password: str | None = None,
        tls: bool = False,  # also serve on an https port (needed for MSAL, see the docstring)
        endorsements: Iterable[str] | None = ("msteams",),  # None: keys carry no endorsements
        require_auth: bool = False,  # 401 connector calls without a token issued by `token`
        tenant_id: str = "t-1",
        latency_ms: float = 0,  # every Bot Connector answer comes this much later (see the docstring)
    ) -> None:
        self.app_id, self.app_password, self.tls, self.tenant_id = app_id, app_password, tls, tenant_id
        self.latency_ms = latency_ms
        self.endorsements = None if endorsements is None else list(endorsements)
        self.require_auth = require_auth
        self.key = SigningKey()
        self.nonce = uuid.uuid4().hex[:12]  # keeps the SDK's process-wide metadata cache per fake
        self.members: dict[str, list[dict[str, Any]]] = {}  # roster per conversation id
        self.issued_tokens: list[str] = []
        self._calls: list[Call] = []
        self._lock = threading.Lock()
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)
        self._limits: list[tuple[int, float]] = []
        self._limit_kinds: tuple[str, ...] = WRITE_KINDS
        self._windows: dict[str, deque[float]] = defaultdict(deque)
        self._tenant_limits: list[tuple[int, float]] = []
        self._tenant_kinds: tuple[str, ...] = (*WRITE_KINDS, "create")
        self._tenant_window: deque[float] = deque()
        self._overrides: dict[str, Any] = {}
        self._refused: dict[str, _Fault] = {}  # user id -> how every chat with them is refused
        self._conversations: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self._activity_ids = itertools.count(1_700_000_000_000)
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._tls_port: int | None = None
        self._tmp: str | None = None
        self.ca_file: str | None = None  # certifi's CAs + ours, for REQUESTS_CA_BUNDLE

    # ---------------------------------------------------------------- lifecycle

    @property
    def root(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeConnector is not running")
        return f"http://127.0.0.1:{self._port}"

    @property
    def tls_root(self) -> str:
        if self._tls_port is None:
            raise RuntimeError("FakeConnector is not running with tls=True")
        return f"https://127.0.0.1:{self._tls_port}"

    @property
    def url(self) -> str:
        """The service URL to put in activities (`serviceUrl`)."""
        return f"{self.root}/"

    def service_url(self, region: str = "emea", tls: bool = False) -> str:
        """A service URL with a region prefix like Teams' `https://smba.trafficmanager.net/emea/`."""
        return f"{self.tls_root if tls else self.root}/{region}/"

    @property
    def openid_metadata_url(self) -> str:
        """For TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL (unique per fake, see the docstring)."""
        return f"{self.root}/openid/{self.nonce}/.well-known/openidconfiguration"

    @property
    def jwks_url(self) -> str:
        return f"{self.root}/keys"

    @property
    def login_url(self) -> str:
        """For TO_CHANNEL_FROM_BOT_LOGIN_URL: an MSAL authority (needs tls=True)."""
        return f"{self.tls_root}/adfs"

    async def start(self) -> Self:
        app = web.Application(client_max_size=64 * 1024**2)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]
        if self.tls:
            context = self._make_tls()
            await web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context).start()
            self._tls_port = self._runner.addresses[1][1]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._port = self._tls_port = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = self.ca_file = None

    def _make_tls(self) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "FakeConnector")])
        now = dt.datetime.now(dt.timezone.utc)
        san = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
        cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )  # fmt: skip
        self._tmp = tempfile.mkdtemp(prefix="fake-connector-")
        pem = cert.public_bytes(serialization.Encoding.PEM)
        cert_file, key_file = os.path.join(self._tmp, "cert.pem"), os.path.join(self._tmp, "key.pem")
        with open(cert_file, "wb") as f:
            f.write(pem)
        with open(key_file, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))  # fmt: skip
        self.ca_file = os.path.join(self._tmp, "ca-bundle.pem")
        with open(self.ca_file, "wb") as f:
            f.write(_certifi_bundle() + b"\n" + pem)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_file, key_file)
        return context

    # ---------------------------------------------------------------- configuration for the bot

    def bot_config(self, app_id: str | None = None, app_password: str | None = None) -> dict[str, str]:
        """The botbuilder configuration attributes for a bot talking to this fake.

        No app id: {} (auth off; see the docstring: override keys would break auth-off). With an
        app id: inbound validation against this fake's keys, and with tls=True outbound tokens
        from its token endpoint too (then also set `env()` in the bot's process)."""
        if not app_id:
            return {}
        config = {
            "APP_ID": app_id,
            "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": self.openid_metadata_url,
            "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL": self.openid_metadata_url,
            "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": BOT_FRAMEWORK_ISSUER,
            "TO_CHANNEL_FROM_BOT_OAUTH_SCOPE": BOT_FRAMEWORK_SCOPE,
        }
        if app_password:
            config["APP_PASSWORD"] = app_password
        if self._tls_port is not None:
            config["TO_CHANNEL_FROM_BOT_LOGIN_URL"] = self.login_url
        return config

    def env(self) -> dict[str, str]:
        """Environment the bot's process needs to trust this fake's TLS port."""
        return {"REQUESTS_CA_BUNDLE": self.ca_file} if self.ca_file else {}

    # ---------------------------------------------------------------- tokens

    def claims_for(self, app_id: str, service_url: str, issuer: str = BOT_FRAMEWORK_ISSUER,
                   expires_in: float = 3600) -> dict[str, Any]:  # fmt: skip
        now = int(time.time())
        return {"serviceurl": service_url, "nbf": now - 5, "exp": now + int(expires_in), "iss": issuer, "aud": app_id}

    def token_for(
        self,
        app_id: str,
        service_url: str,
        issuer: str = BOT_FRAMEWORK_ISSUER,
        expires_in: float = 3600,
        key: SigningKey | None = None,
        *,
        kid: str | None = None,
        claims: dict[str, Any] | None = None,  # extra or replacement claims
    ) -> str:
        """An RS256 channel -> bot token (what Teams sends in `Authorization: Bearer ...`).

        Signed by this fake's published key unless `key` is given; `kid` defaults to the
        published key's id (so a foreign `key` makes a bad signature, not an unknown key).
        botbuilder allows 300 s of clock skew: an expired token needs expires_in < -300."""
        body = self.claims_for(app_id, service_url, issuer, expires_in) | (claims or {})
        return (key or self.key).sign(body, kid=kid or self.key.kid)

    def forged_token(self, how: str, app_id: str, service_url: str) -> str:
        """A token botbuilder must refuse. `how`:
        "signature" (another key, published kid), "audience" (another app id), "expired"
        (an hour ago), "issuer", "serviceurl" (another service URL), "unknown_key" (kid unknown)."""
        match how:
            case "signature":
                return self.token_for(app_id, service_url, key=_forger())
            case "audience":
                return self.token_for("some-other-app", service_url)
            case "expired":
                return self.token_for(app_id, service_url, expires_in=-3600)
            case "issuer":
                return self.token_for(app_id, service_url, issuer="https://evil.example.com")
            case "serviceurl":
                return self.token_for(app_id, "https://evil.example.com/")
            case "unknown_key":
                return self.token_for(app_id, service_url, key=_forger(), kid=_forger().kid)
        raise ValueError(f"unknown forgery {how!r}")

    def authorization(self, app_id: str, service_url: str, **options: Any) -> str:
        """`Bearer <token_for(...)>`."""
        return f"Bearer {self.token_for(app_id, service_url, **options)}"

    # ---------------------------------------------------------------- recorded calls

    def calls(self, kind: str | None = None, conversation_id: str | None = None) -> list[Call]:
        with self._lock:
            return [
                c for c in self._calls
                if (kind is None or c.kind == kind)
                and (conversation_id is None or c.conversation_id == conversation_id)
            ]  # fmt: skip

    def clear(self) -> None:
        """Forget recorded calls, stored messages, faults, limits and overrides (not rosters)."""
        with self._lock:
            self._calls.clear()
            self._faults.clear()
            self._limits.clear()
            self._windows.clear()
            self._tenant_limits.clear()
            self._tenant_window.clear()
            self._overrides.clear()
            self._conversations.clear()

    def messages(self, conversation_id: str) -> list[dict[str, Any]]:
        """The conversation's activities as the bot left them: sent, updated, not deleted."""
        with self._lock:
            return list(self._conversations.get(conversation_id, {}).values())

    def _timeout(self, kind: str, count: int, timeout: float) -> TimeoutError:
        seen = ", ".join(f"{c.kind}:{c.answered}" for c in self.calls()) or "nothing"
        return TimeoutError(f"expected {count} x {kind} within {timeout}s; got: {seen}")

    async def wait_for(self, kind: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until at least `count` calls of `kind` arrived; returns them all."""
        deadline = time.monotonic() + timeout
        while len(found := self.calls(kind)) < count:
            if time.monotonic() > deadline:
                raise self._timeout(kind, count, timeout)
            await asyncio.sleep(0.01)
        return found

    def wait_for_sync(self, kind: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        while len(found := self.calls(kind)) < count:
            if time.monotonic() > deadline:
                raise self._timeout(kind, count, timeout)
            time.sleep(0.01)
        return found

    # ---------------------------------------------------------------- behaviour

    def fail(
        self,
        kind: str,
        status: int = 500,
        times: int = 1,
        error_code: str | None = None,
        message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Answer the next `times` calls of `kind` with `status` and Teams' error body
        `{"error": {"code": ..., "message": ...}}` (code/message default from TEAMS_ERRORS)."""
        self._queue(kind, times, _Fault("fail", status, error_code, message, retry_after))

    def throttle(self, kind: str, retry_after: float = 1, times: int = 1) -> None:
        """Answer HTTP 429 `Throttled` with `Retry-After: retry_after` to the next `times` calls."""
        self._queue(kind, times, _Fault("fail", 429, retry_after=retry_after))

    def slow(self, kind: str, seconds: float, times: int = 1) -> None:
        """Delay the (normal) answer to the next `times` calls."""
        self._queue(kind, times, _Fault("slow", seconds=seconds))

    def _queue(self, kind: str, times: int, fault: _Fault) -> None:
        with self._lock:
            self._faults[kind].extend([fault] * times)

    def limit(
        self,
        per_conversation: tuple[int, float] | list[tuple[int, float]] | None = (7, 1.0),
        kinds: Iterable[str] = WRITE_KINDS,
    ) -> None:
        """At most `n` calls per `seconds` (sliding window) per conversation, for `kinds`;
        beyond: 429 with Retry-After. Several windows may be given, e.g. Teams' documented
        per-thread limits [(7, 1), (8, 2), (60, 30), (1800, 3600)]. None removes the limit.
        Refused calls don't count."""
        with self._lock:
            if per_conversation is None:
                self._limits = []
            else:
                windows = [per_conversation] if isinstance(per_conversation, tuple) else list(per_conversation)
                self._limits = [(int(n), float(s)) for n, s in windows]
            self._limit_kinds = tuple(kinds)
            self._windows.clear()

    def limit_tenant(
        self,
        windows: tuple[int, float] | list[tuple[int, float]] | None = (50, 1.0),
        kinds: Iterable[str] = (*WRITE_KINDS, "create"),
    ) -> None:
        """At most `n` calls per `seconds` (sliding window) over ALL conversations together, for
        `kinds` (Teams' per-bot budget in a tenant: this fake is one tenant); beyond: 429 with
        Retry-After. Holds together with `limit`. None removes it. Refused calls don't count."""
        with self._lock:
            if windows is None:
                self._tenant_limits = []
            else:
                listed = [windows] if isinstance(windows, tuple) else list(windows)
                self._tenant_limits = [(int(n), float(s)) for n, s in listed]
            self._tenant_kinds = tuple(kinds)
            self._tenant_window.clear()

    def throttled(self, kind: str | None = None) -> int:
        """How many calls (of `kind`, or any) were answered 429."""
        return sum(1 for c in self.calls(kind) if c.answered == 429)

    def refuse(self, users: Iterable[str], status: int = 403, error_code: str = "ConversationBlockedByUser") -> None:
        """From now on, refuse opening or writing to a 1:1 chat with any of `users` (an app
        removed or blocked: Teams answers every such call the same way)."""
        for user in users:
            self._refused[user] = _Fault("fail", status, error_code)

    def _refusal_for(self, call: Call) -> _Fault | None:
        if call.kind == "create" and isinstance(call.body, dict):
            users = [m.get("id") for m in call.body.get("members") or []]
        elif call.kind in ("send", "reply"):
            users = [u for u in self._refused if call.conversation_id == personal_conversation_id(u)]
            users += [m.get("id") for m in self.members.get(call.conversation_id or "", [])
                      if (call.conversation_id or "").startswith("a:new-")]
        else:
            return None
        return next((self._refused[u] for u in users if u in self._refused), None)

    def respond(self, kind: str, answer: Any | Callable[[Call], Any], status: int = 200) -> None:
        """Replace the default answer of `kind` (a JSON body, or a function of the call)."""
        self._overrides[kind] = (answer, status)

    def set_members(self, conversation_id: str, members: list[dict[str, Any] | str]) -> None:
        """The roster `members`/`member` answer for the conversation (else made up per id)."""
        self.members[conversation_id] = [self.member(m) if isinstance(m, str) else m for m in members]

    def member(self, user_id: str, **extra: Any) -> dict[str, Any]:
        """A TeamsChannelAccount as the roster APIs return it."""
        short = user_id.split(":", 1)[-1]
        name = short.replace("-", " ").replace("_", " ").title()
        return {
            "id": user_id, "name": name, "aadObjectId": _aad(user_id), "givenName": name.split(" ")[0],
            "surname": None, "email": f"{short}@example.com", "userPrincipalName": f"{short}@example.com",
            "tenantId": self.tenant_id, "userRole": "user",
        } | extra  # fmt: skip

    # ---------------------------------------------------------------- HTTP

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw_path = request.raw_path.split("?", 1)[0]
        route = _route(request.method, [unquote(s) for s in raw_path.split("/") if s])
        body = await _read_body(request)
        call = Call(
            kind=route["kind"], method=request.method, path=raw_path, conversation_id=route.get("conversation"),
            activity_id=route.get("activity"), body=body, at=time.monotonic(), headers=dict(request.headers),
            member_id=route.get("member"), team_id=route.get("team"), tenant=route.get("tenant"),
            query=dict(request.query),
        )  # fmt: skip
        if self.latency_ms and call.kind not in AUTH_KINDS:
            await asyncio.sleep(self.latency_ms / 1000)  # recorded on arrival, answered after the delay

        with self._lock:
            faults = self._faults.get(call.kind)
            fault = faults.popleft() if faults else None
            retry_after = None if fault else self._over_limit(call)
        if retry_after is not None:
            fault = _Fault("fail", 429, retry_after=retry_after)
        if fault and fault.kind == "slow":
            await asyncio.sleep(fault.seconds)
        fault = fault or self._refusal_for(call)
        if fault and fault.kind == "fail":
            return self._answer(call, fault.status, self._error(call, fault), retry_after=fault.retry_after)
        if (
            self.require_auth and call.kind not in AUTH_KINDS and call.kind != "unknown"
            and call.token not in self.issued_tokens
        ):  # fmt: skip
            return self._answer(call, 401, {"message": "Authorization has been denied for this request."})
        if (override := self._overrides.get(call.kind)) is not None:
            answer, status = override
            return self._answer(call, status, answer(call) if callable(answer) else answer)
        status, answer = self._default(call, request)
        return self._answer(call, status, answer)

    def _answer(self, call: Call, status: int, body: Any, retry_after: float | None = None) -> web.Response:
        with self._lock:
            self._calls.append(replace(call, answered=status))
        headers = {"Retry-After": _seconds(retry_after)} if retry_after is not None else None
        if body is None:
            return web.Response(status=status, headers=headers)
        return web.json_response(body, status=status, headers=headers)

    def _error(self, call: Call, fault: _Fault) -> dict[str, Any]:
        if call.kind in ("token", "authority"):  # Entra ID's OAuth error shape
            return {"error": fault.code or ("invalid_client" if fault.status == 401 else "temporarily_unavailable"),
                    "error_description": fault.message or f"AADSTS: fake failure {fault.status}"}  # fmt: skip
        code = fault.code or TEAMS_ERRORS.get(fault.status, ("ServiceError", ""))[0]
        message = fault.message or ERROR_MESSAGES.get(code) or f"Fake failure {fault.status}"
        return {"error": {"code": code, "message": message}}

    def _over_limit(self, call: Call) -> float | None:
        """Sliding windows per conversation and for the tenant; returns Retry-After seconds
        when over either (lock held). Only an accepted call is counted."""
        checks = []
        if self._limits and call.kind in self._limit_kinds and call.conversation_id is not None:
            checks.append((self._windows[call.conversation_id], self._limits))
        if self._tenant_limits and call.kind in self._tenant_kinds:
            checks.append((self._tenant_window, self._tenant_limits))
        wait = 0.0
        for stamps, limits in checks:
            wait = max(wait, _window_wait(stamps, limits, call.at))
        if wait > 0:
            return wait
        for stamps, _ in checks:
            stamps.append(call.at)
        return None

    # ---------------------------------------------------------------- default answers

    def _next_activity_id(self) -> str:
        return str(next(self._activity_ids))

    def _store(self, conversation_id: str | None, activity_id: str, body: Any) -> None:
        if conversation_id is not None and isinstance(body, dict):
            with self._lock:
                self._conversations[conversation_id][activity_id] = body | {"id": activity_id}

    def _default(self, call: Call, request: web.Request) -> tuple[int, Any]:
        body = call.body if isinstance(call.body, dict) else {}
        conversation = call.conversation_id or ""
        match call.kind:
            case "send" | "reply" | "history":
                activity_id = self._next_activity_id()
                if call.kind != "history":
                    self._store(conversation, activity_id, body)
                return 201, {"id": activity_id}
            case "update":
                activity_id = call.activity_id or ""
                self._store(conversation, activity_id, body)
                return 200, {"id": activity_id}
            case "delete":
                with self._lock:
                    self._conversations.get(conversation, {}).pop(call.activity_id or "", None)
                return 200, None
            case "create":
                return 201, self._create(body)
            case "members" | "activity_members":
                return 200, self._roster(conversation)
            case "paged_members":
                return 200, {"members": self._roster(conversation)}
            case "member":
                member_id = call.member_id or ""
                if conversation in self.members:
                    found = [m for m in self.members[conversation] if m.get("id") == member_id]
                    if not found:
                        code = "MemberNotFoundInConversation"
                        return 404, {"error": {"code": code, "message": ERROR_MESSAGES[code]}}
                    return 200, found[0]
                return 200, self.member(member_id)
            case "delete_member":
                return 200, None
            case "attachment":
                return 201, {"id": f"attachment-{next(self._ids)}"}
            case "conversations":
                with self._lock:
                    ids = list(self._conversations)
                return 200, {"conversations": [{"id": i, "members": []} for i in ids], "continuationToken": None}
            case "team":
                team = call.team_id or ""
                return 200, {"id": team, "name": f"Team {team.split(':')[-1].split('@')[0]}",
                             "aadGroupId": _aad(team), "type": "standard"}  # fmt: skip
            case "channels":
                return 200, {"conversations": [{"id": call.team_id, "name": None}]}
            case "openid":
                return 200, {
                    "issuer": BOT_FRAMEWORK_ISSUER, "authorization_endpoint": "https://invalid.botframework.com",
                    "jwks_uri": self.jwks_url, "id_token_signing_alg_values_supported": ["RS256"],
                    "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                }  # fmt: skip
            case "keys":
                return 200, {"keys": [self.key.jwk(self.endorsements)]}
            case "authority":
                base = f"{request.scheme}://{request.host}/{call.tenant}"
                return 200, {
                    "issuer": f"{base}/v2.0", "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{base}/oauth2/v2.0/token", "token_endpoint_auth_methods_supported":
                    ["client_secret_post", "private_key_jwt", "client_secret_basic"],
                }  # fmt: skip
            case "token":
                return self._token(body)
        return 404, {"error": {"code": "NotFound", "message": f"FakeConnector has no {call.method} {call.path}"}}

    def _create(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = ((params.get("channelData") or {}).get("channel") or {}).get("id")
        answer: dict[str, Any] = {"serviceUrl": self.url}
        activity = params.get("activity")
        if channel:  # a new thread in a channel: the thread id names its first message
            activity_id = self._next_activity_id()
            answer |= {"id": f"{channel};messageid={activity_id}", "activityId": activity_id}
        else:
            answer["id"] = f"a:new-{next(self._ids)}"
            if activity:
                answer["activityId"] = self._next_activity_id()
        members = params.get("members") or []
        if members and answer["id"] not in self.members:
            self.members[answer["id"]] = [self.member(m["id"]) | m for m in members if m.get("id")]
        if activity:
            self._store(answer["id"], answer["activityId"], activity)
        return answer

    def _roster(self, conversation_id: str) -> list[dict[str, Any]]:
        return self.members.get(conversation_id) or [self.member("29:mo")]

    def _token(self, form: dict[str, Any]) -> tuple[int, Any]:
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type", "error_description": "AADSTS70003: fake"}
        client_ok = self.app_id is None or form.get("client_id") == self.app_id
        secret_ok = self.app_password is None or form.get("client_secret") == self.app_password
        if not (client_ok and secret_ok):
            return 401, {"error": "invalid_client",
                         "error_description": "AADSTS7000215: Invalid client secret provided."}  # fmt: skip
        token = f"fake-bf-token-{next(self._ids)}-{uuid.uuid4().hex[:8]}"
        with self._lock:
            self.issued_tokens.append(token)
        return 200, {"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": token}


def _window_wait(stamps: deque[float], limits: list[tuple[int, float]], now: float) -> float:
    """Seconds until one more call fits every sliding window (0: it fits now)."""
    longest = max(seconds for _, seconds in limits)
    while stamps and stamps[0] <= now - longest:
        stamps.popleft()
    wait = 0.0
    for n, seconds in limits:
        recent = [t for t in stamps if t > now - seconds]
        if len(recent) >= n:
            wait = max(wait, recent[-n] + seconds - now)
    return wait


def _route(method: str, parts: list[str]) -> dict[str, Any]:
    """Which API a (decoded) path is; tolerates a service URL prefix such as /emea/."""
    unknown = {"kind": "unknown"}
    if parts[:1] == ["keys"] and method == "GET":
        return {"kind": "keys"}
    if parts[:1] == ["openid"] and parts[-2:] == [".well-known", "openidconfiguration"] and method == "GET":
        return {"kind": "openid"}
    if len(parts) >= 3 and parts[-2:] == [".well-known", "openid-configuration"] and method == "GET":
        return {"kind": "authority", "tenant": parts[0]}
    if len(parts) in (3, 4) and parts[1] == "oauth2" and parts[-1] == "token" and method == "POST":
        return {"kind": "token", "tenant": parts[0]}
    if "v3" not in parts:
        return unknown
    p = parts[parts.index("v3") + 1 :]
    if p[:1] == ["teams"] and len(p) >= 2:
        if len(p) == 2 and method == "GET":
            return {"kind": "team", "team": p[1]}
        if p[2:] == ["conversations"] and method == "GET":
            return {"kind": "channels", "team": p[1]}
        return unknown
    if p[:1] != ["conversations"]:
        return unknown
    if len(p) == 1:
        return {"kind": {"POST": "create", "GET": "conversations"}.get(method, "unknown")}
    conversation, rest = p[1], p[2:]
    found: dict[str, Any] = {"conversation": conversation}
    match rest, method:
        case ["activities"], "POST":
            return found | {"kind": "send"}
        case ["activities", "history"], "POST":
            return found | {"kind": "history"}
        case ["activities", activity], "POST":
            return found | {"kind": "reply", "activity": activity}
        case ["activities", activity], "PUT":
            return found | {"kind": "update", "activity": activity}
        case ["activities", activity], "DELETE":
            return found | {"kind": "delete", "activity": activity}
        case ["activities", activity, "members"], "GET":
            return found | {"kind": "activity_members", "activity": activity}
        case ["members"], "GET":
            return found | {"kind": "members"}
        case ["members", member], "GET":
            return found | {"kind": "member", "member": member}
        case ["members", member], "DELETE":
            return found | {"kind": "delete_member", "member": member}
        case ["pagedmembers"], "GET":
            return found | {"kind": "paged_members"}
        case ["attachments"], "POST":
            return found | {"kind": "attachment"}
    return found | unknown


async def _read_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    text = raw.decode("utf-8", "replace")
    if request.content_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(text, keep_blank_values=True))
    try:
        return json.loads(text)
    except ValueError:
        return text


def _seconds(value: float) -> str:
    return str(max(0, math.ceil(value)))


def _aad(value: str) -> str:
    """A stable AAD object id (GUID) for a user/team id."""
    return str(uuid.UUID(hashlib.sha256(value.encode()).hexdigest()[:32]))


def _certifi_bundle() -> bytes:
    try:
        import certifi
    except ImportError:  # pragma: no cover - requests depends on certifi
        return b""
    with open(certifi.where(), "rb") as f:
        return f.read()
