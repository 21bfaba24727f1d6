"""Bot Framework authentication that reuses connector clients, sending over aiohttp.

botbuilder's CloudAdapter builds a fresh ConnectorClient and TokenApiClient for every
activity and never closes them: sockets leak, and rebuilding msrest's retry policy costs
about half the CPU of a turn (DESIGN.md). One client per service URL and audience does
the same job; no flow uses user tokens, so no token client is made at all. Each client
sends through the bot's one aiohttp session (`transport`), not requests in threads.
"""

from __future__ import annotations

from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from botframework.connector.auth import ConnectorFactory

from adapters.teams.transport import Transport


class _Reused(ConnectorFactory):
    def __init__(self, inner: ConnectorFactory, clients: dict, transport: Transport):
        self.inner, self.clients, self.transport = inner, clients, transport

    async def create(self, service_url: str, audience: str = None):
        key = (service_url, audience)
        if key not in self.clients:
            client = await self.inner.create(service_url, audience)
            requests_pipeline = self.transport.adopt(client)
            await requests_pipeline.__aexit__(None, None, None)  # its requests session, never used
            self.clients.setdefault(key, client)  # a racing turn may have made one first
            if self.clients[key] is not client:
                await _close(client)
        return self.clients[key]


class ReusingAuthentication(ConfigurationBotFrameworkAuthentication):
    def __init__(self, configuration):
        super().__init__(configuration)
        self._clients: dict = {}
        self.transport = Transport()

    async def authenticate_request(self, activity, auth_header):
        result = await super().authenticate_request(activity, auth_header)
        if result.connector_factory is not None:
            result.connector_factory = _Reused(result.connector_factory, self._clients, self.transport)
        return result

    def create_connector_factory(self, claims_identity):
        return _Reused(super().create_connector_factory(claims_identity), self._clients, self.transport)

    async def create_user_token_client(self, claims_identity):
        return None  # sign-in prompts are not used; the SDK only stores it on the turn

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await _close(client)
        await self.transport.close()


async def _close(client) -> None:
    await client.__aexit__(None, None, None)
    app = getattr(getattr(client.config, "credentials", None), "app", None)
    if app is not None:  # MSAL's own HTTP session, when the bot has credentials
        app.http_client.close()
