"""Multi-workspace installs: bolt's installation and OAuth state stores on our database.

In OAuth mode (SLACK_CLIENT_ID) every workspace that adds the app goes through
`/slack/install` -> slack.com -> `/slack/oauth_redirect`; bolt exchanges the code with
`oauth.v2.access` and hands us the `Installation` to keep. Installations and states live in
the shared database (not bolt's default files), so every replica sees every workspace and
any replica can finish an install another one started.

slack_sdk's models are stored as JSON through the neutral installations repository
(`storage.installations.SqlInstallations`, which the composition root passes in: adapters
do not import storage). Like slack_sdk's own stores, an install keeps an installation row
(per installer) and a bot row; the newest `installed_at` wins, and a token refresh (which
keeps `installed_at`) overwrites its rows instead of adding new ones.
"""

from __future__ import annotations

import inspect
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from logging import Logger
from typing import Any, TypeVar
from urllib.parse import urljoin

from slack_bolt.error import BoltError
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from adapters.slack.settings import BOT_SCOPES, SlackSettings
from bot.ports import Installations

log = logging.getLogger(__name__)

PLATFORM = "slack"
INSTALL_PATH = "/slack/install"
REDIRECT_URI_PATH = "/slack/oauth_redirect"
STATE_EXPIRATION_SECONDS = 600
# Refresh a rotating token when it has less than this left. Bolt refreshes only while
# handling a request; without token rotation tokens carry no expiry and this is unused.
TOKEN_REFRESH_MINUTES = 120

Clock = Callable[[], datetime]
Entity = TypeVar("Entity", Installation, Bot)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def to_data(entity: Installation | Bot) -> dict[str, Any]:
    """JSON-ready fields that `Installation(**data)` / `Bot(**data)` rebuild exactly.

    `to_dict_for_copying()` renders timestamps as datetimes; the attributes themselves are
    JSON numbers (`installed_at` a float, `*_token_expires_at` int seconds), so those are
    kept instead: no precision lost on the way through the database.
    """
    data = entity.to_dict_for_copying()
    for key, value in list(data.items()):
        if isinstance(value, datetime):
            data[key] = getattr(entity, key)
        elif value is None and key.endswith("_scopes"):
            del data[key]  # "no scopes" is the constructor's default ""; None would stay None
    return data


def from_data(model: type[Entity], data: dict[str, Any]) -> Entity:
    """Rebuild a model, ignoring fields this slack_sdk version no longer takes."""
    accepted = inspect.signature(model.__init__).parameters
    return model(**{key: value for key, value in data.items() if key in accepted})


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


def _team(team_id: str | None, is_enterprise_install: bool | None) -> str | None:
    # An org-wide install belongs to the enterprise: it is stored and found without a team.
    return None if is_enterprise_install else team_id


# -- stores ---------------------------------------------------------------------------------


class DbInstallationStore(AsyncInstallationStore):
    """bolt's `AsyncInstallationStore` on the installations table."""

    def __init__(self, installations: Installations, logger: Logger = log) -> None:
        self.installations = installations
        self._logger = logger

    @property
    def logger(self) -> Logger:
        return self._logger

    async def async_save(self, installation: Installation) -> None:
        try:
            await self.installations.save(
                PLATFORM,
                installation.enterprise_id,
                _team(installation.team_id, installation.is_enterprise_install),
                installation.user_id,
                False,
                to_data(installation),
                _utc(installation.installed_at),
            )
            if installation.bot_token:
                await self.async_save_bot(installation.to_bot())
        except Exception as error:
            # bolt turns a BoltError into its "storage_error" page for the installer.
            self._logger.exception("slack: saving the installation of team %s failed", installation.team_id)
            raise BoltError(f"could not save the installation: {error!r}") from error

    async def async_save_bot(self, bot: Bot) -> None:
        if not bot.bot_token:
            self._logger.debug("slack: not saving a bot without a token (team %s)", bot.team_id)
            return
        await self.installations.save(
            PLATFORM,
            bot.enterprise_id,
            _team(bot.team_id, bot.is_enterprise_install),
            None,
            True,
            to_data(bot),
            _utc(bot.installed_at),
        )

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        data = await self.installations.find(
            PLATFORM, enterprise_id, _team(team_id, is_enterprise_install), is_bot=True
        )
        return None if data is None else from_data(Bot, data)

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        team = _team(team_id, is_enterprise_install)
        data = await self.installations.find(PLATFORM, enterprise_id, team, user_id=user_id)
        if data is None:
            return None
        installation = from_data(Installation, data)
        if user_id is not None or installation.bot_token is None:
            # As slack_sdk's stores do (bolt-python#664): a user's (or a bot-less) install
            # gets the workspace's latest bot token, which a later install may have replaced.
            bot = await self.async_find_bot(
                enterprise_id=enterprise_id, team_id=team, is_enterprise_install=is_enterprise_install
            )
            if bot is not None and bot.bot_token != installation.bot_token:
                installation.bot_id = bot.bot_id
                installation.bot_user_id = bot.bot_user_id
                installation.bot_token = bot.bot_token
                installation.bot_scopes = bot.bot_scopes
                installation.bot_refresh_token = bot.bot_refresh_token
                installation.bot_token_expires_at = bot.bot_token_expires_at
        return installation

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.installations.delete(PLATFORM, enterprise_id, team_id, is_bot=True)

    async def async_delete_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
    ) -> None:
        await self.installations.delete(PLATFORM, enterprise_id, team_id, user_id=user_id, is_bot=False)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.installations.delete(PLATFORM, enterprise_id, team_id)  # one statement: both kinds


class DbOAuthStateStore(AsyncOAuthStateStore):
    """OAuth `state` values in the database: issued by one replica, consumed once by any."""

    def __init__(
        self,
        installations: Installations,
        expiration_seconds: int = STATE_EXPIRATION_SECONDS,
        clock: Clock = utcnow,
        logger: Logger = log,
    ) -> None:
        self.installations = installations
        self.expiration_seconds = expiration_seconds
        self.clock = clock
        self._logger = logger

    @property
    def logger(self) -> Logger:
        return self._logger

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(24)  # URL-safe: bolt puts it into the URL unescaped
        expires_at = self.clock() + timedelta(seconds=self.expiration_seconds)
        await self.installations.issue_state(state, expires_at)
        return state

    async def async_consume(self, state: str) -> bool:
        if not state:
            return False
        consumed = await self.installations.consume_state(state, self.clock())
        if not consumed:
            self._logger.info("slack: refused an unknown, used or expired OAuth state")
        return consumed


# -- wiring ---------------------------------------------------------------------------------


def authorization_url(api_url: str | None) -> str:
    """Where installers authorise the app: on the Web API's host (GovSlack: slack-gov.com)."""
    return urljoin(api_url or "https://slack.com/api/", "/oauth/v2/authorize")


def oauth_settings(installations: Installations, settings: SlackSettings) -> dict[str, Any]:
    """`AsyncApp` keyword arguments for OAuth mode: `AsyncApp(client=..., **oauth_settings(...))`.

    bolt runs `oauth.v2.access` (install) and token refreshes with the `client` given to
    `AsyncApp`, so a client built with `base_url=settings.api_url` covers both.
    """
    if not isinstance(installations, Installations):
        raise TypeError(
            f"oauth_settings() needs the installations repository, not {type(installations).__name__}: "
            "pass storage.installations.SqlInstallations.of(store)"
        )
    if not (settings.client_id and settings.client_secret):
        raise ValueError("OAuth mode needs SLACK_CLIENT_ID and SLACK_CLIENT_SECRET")
    store = DbInstallationStore(installations)
    return {
        "installation_store": store,
        "oauth_settings": AsyncOAuthSettings(
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            scopes=list(BOT_SCOPES),
            user_scopes=[],  # explicit: bolt would read SLACK_USER_SCOPES otherwise
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_URI_PATH,
            authorization_url=authorization_url(settings.api_url),
            installation_store=store,
            token_rotation_expiration_minutes=TOKEN_REFRESH_MINUTES,
            state_store=DbOAuthStateStore(installations, STATE_EXPIRATION_SECONDS),
            state_expiration_seconds=STATE_EXPIRATION_SECONDS,  # the state cookie's Max-Age
        ),
    }
