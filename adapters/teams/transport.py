"""Bot Connector calls over aiohttp, inside botbuilder's own ConnectorClient.

msrest, under botbuilder's ConnectorClient, sends each call with `requests` in the default
thread pool (min(32, cores + 4) threads): with 150 ms of network latency a process cannot make
more than about 40 connector calls a second, replies and proactive sends together. Here the
client keeps its msrest pipeline (user agent, deserialisation, logging, the operations and their
errors) and only its last step, the sender, is ours: one aiohttp session for the bot, so calls
wait on the event loop, not on a thread.

msrest 0.7.1 has an aiohttp sender (`msrest.pipeline.aiohttp.AioHTTPSender`), but it sends
neither the headers nor the body, and it fails on an empty answer: it cannot be used as is.
What requests did for msrest, this does the same way: the configuration's timeout (for the
connection and for each read), certificates checked against REQUESTS_CA_BUNDLE or certifi's,
proxies from the environment (not .netrc), and msrest's retry policy (a failed connection, and
for methods safe to repeat a 408 or 5xx answer, tried again with the same backoff). A transport
failure is raised as msrest's ClientRequestError around aiohttp's error, as around requests'.
"""

from __future__ import annotations

import asyncio
import functools
import os
import ssl
import urllib.request
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp
from msrest.exceptions import ClientRequestError, raise_with_traceback
from msrest.pipeline import AsyncHTTPPolicy, AsyncHTTPSender, AsyncPipeline, Request, Response
from msrest.pipeline.universal import RawDeserializer
from msrest.universal_http.aiohttp import AioHttpClientResponse
from requests.utils import DEFAULT_CA_BUNDLE_PATH  # certifi's, as requests trusts by default

from adapters.ratelimit import departing

# What urllib3 repeats after an answer arrived (its Retry's default): never a POST, which
# Teams may have acted on.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
# Nothing was sent when these are raised: any method may be tried again.
NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)


class Transport:
    """One aiohttp session for all of a bot's connector clients, opened on first use (on
    the running loop) and closed with `close` (like the Slack adapter's `SlackBot.http`)."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def adopt(self, client: Any) -> Any:
        """Make a fresh botbuilder ConnectorClient send through this transport. Returns the
        requests pipeline it had, for the caller to close (it holds a requests session)."""
        # msrest's client-side validation walks every outgoing Activity (and its card) once more
        # before serialising it, checking the models' `_validation` rules: botbuilder's models
        # have none, so it finds nothing, at about a quarter of the serialisation's CPU (~0.1 ms
        # a send). Off, as in Azure's newer generated clients. A missing id in a URL then fails
        # in msrest as a ValueError instead of a ValidationError, before any request either way.
        client._serialize.client_side_validation = False
        config = client.config
        policies = [config.user_agent_policy, RawDeserializer(), config.http_logger_policy]
        if config.credentials is not None:
            policies.insert(1, _Bearer(config.credentials))
        replaced, config.pipeline = config.pipeline, AsyncPipeline(policies, _Sender(self, config))
        return replaced

    @property
    def session(self) -> aiohttp.ClientSession:
        # Again after `close`: serve closes the bots before the last requests are done.
        if self._session is None or self._session.closed:
            # Not trust_env: it looks up .netrc and the proxy in a thread for every call (`_proxy`).
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class _Sender(AsyncHTTPSender):
    def __init__(self, transport: Transport, config: Any) -> None:
        self.transport = transport
        self.timeout = aiohttp.ClientTimeout(total=None, sock_connect=config.connection.timeout,
                                             sock_read=config.connection.timeout)
        self.verify = config.connection.verify
        retry = config.retry_policy
        self.retries, self.backoff, self.max_backoff = retry.retries, retry.backoff_factor, retry.max_backoff
        self.again = frozenset(retry.policy.status_forcelist or ())

    async def __aenter__(self) -> _Sender:
        return self

    async def __aexit__(self, *exc_details: Any) -> None:
        pass  # the session is the transport's, shared by every client

    def build_context(self) -> None:
        return None

    async def send(self, request: Request, **kwargs: Any) -> Response:
        http = request.http_request
        attempt = 0
        while True:
            try:
                answer = await self._once(http)
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                if attempt == self.retries or not (isinstance(error, NOT_SENT) or http.method in IDEMPOTENT):
                    raise_with_traceback(ClientRequestError, "Error occurred in request.", inner_exception=error)
                pause = self._pause(attempt)
            else:
                if attempt == self.retries or answer.status_code not in self.again or http.method not in IDEMPOTENT:
                    return Response(request, answer)
                pause = _retry_after(answer) or self._pause(attempt)
            attempt += 1
            await asyncio.sleep(pause)

    async def _once(self, http: Any) -> _Answer:
        data = http.data.encode() if isinstance(http.data, str) else http.data
        # aiohttp counts the bytes; msrest's Content-Length counted the characters
        headers = {k: v for k, v in http.headers.items() if k.lower() != "content-length"}
        url = urlsplit(http.url)
        proxy, proxy_headers = _proxy(url.scheme, url.hostname or "")
        await departing()  # the sender's rate limits, counted as the request leaves
        async with self.transport.session.request(
            http.method, http.url, headers=headers, data=data, timeout=self.timeout, proxy=proxy,
            proxy_headers=proxy_headers, ssl=_ssl(self.verify, _ca_bundle()),
        ) as response:
            answer = _Answer(http, response)
            answer._body = await response.read()
        return answer

    def _pause(self, attempt: int) -> float:
        """urllib3's backoff: at once after the first failure, then backoff x 2^n seconds."""
        return 0.0 if attempt == 0 else min(self.max_backoff, self.backoff * 2 ** attempt)


class _Answer(AioHttpClientResponse):
    """msrest's aiohttp response, read in full; an empty body is an empty text, not an error."""

    def body(self) -> bytes:
        return self._body or b""


class _Bearer(AsyncHTTPPolicy):
    """The bot's token on each call (none with authentication off). botbuilder's credentials
    ask MSAL synchronously, and now and then that is an HTTP call to Entra ID: so it is asked
    in a thread, by one call at a time, and its answer kept for 4 minutes (MSAL hands out
    tokens with at least 5 minutes left)."""

    KEEP = 240.0

    def __init__(self, credentials: Any) -> None:
        super().__init__()
        self.credentials = credentials
        self._header: str | None = None
        self._until = float("-inf")
        self._lock = asyncio.Lock()

    async def send(self, request: Request, **kwargs: Any) -> Response:
        header = await self._authorization()
        if header:
            request.http_request.headers["Authorization"] = header
        return await self.next.send(request, **kwargs)

    async def _authorization(self) -> str | None:
        loop = asyncio.get_running_loop()
        if loop.time() < self._until:
            return self._header
        async with self._lock:
            if loop.time() >= self._until:  # not fetched meanwhile by another call
                signed = SimpleNamespace(headers={})  # what msrest's signed_session writes to
                await asyncio.to_thread(self.credentials.signed_session, signed)
                self._header, self._until = signed.headers.get("Authorization"), loop.time() + self.KEEP
        return self._header


def _ca_bundle() -> str | None:
    """The CA bundle requests' environment variables name, if any."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None


@functools.lru_cache(maxsize=8)
def _ssl(verify: bool | str, bundle: str | None) -> ssl.SSLContext | bool:
    """requests' `verify`: False, True (the bundle above), or a CA file or directory."""
    if verify is False:
        return False
    where = verify if isinstance(verify, str) else bundle or DEFAULT_CA_BUNDLE_PATH
    if os.path.isdir(where):
        return ssl.create_default_context(capath=where)
    return ssl.create_default_context(cafile=where)


@functools.lru_cache(maxsize=64)
def _proxy(scheme: str, host: str) -> tuple[str | None, dict[str, str] | None]:
    """(proxy URL, its headers) from HTTP(S)_PROXY and NO_PROXY, as requests honours them,
    read once per host: aiohttp's trust_env would read them, and .netrc, in a thread per call."""
    proxy = urllib.request.getproxies().get(scheme)
    if not proxy or urllib.request.proxy_bypass(host):
        return None, None
    parts = urlsplit(proxy)
    if not parts.username:
        return proxy, None
    login = aiohttp.BasicAuth(unquote(parts.username), unquote(parts.password or ""))
    bare = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    return bare, {"Proxy-Authorization": login.encode()}


def _retry_after(answer: AioHttpClientResponse) -> float | None:
    try:
        return max(0.0, float(answer.headers.get("Retry-After")))
    except (TypeError, ValueError):
        return None
