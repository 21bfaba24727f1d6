"""Multi-workspace OAuth: the installation and state stores on every storage backend, and
the install flow in-process against the fake Slack.

The store contract follows slack_sdk's own stores (`installation_store/sqlalchemy`,
`file`): an install saves an installation row and a bot row, the latest `installed_at`
wins, a user's installation borrows the workspace's latest bot token, and deletes remove
exactly one workspace's rows of the asked kind.
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import re
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.installations import (
    DbInstallationStore,
    DbOAuthStateStore,
    authorization_url,
    from_data,
    oauth_settings,
    to_data,
)
from adapters.slack.settings import BOT_SCOPES, SlackSettings
from storage.installations import SqlInstallations
from storage.repository import SqlStore
from tests.fakes.slack import FakeSlack
from tests.fakes.slack_client import app_uninstalled, event, sign

T1, T2 = "T_ONE", "T_TWO"
E1 = "E_ORG"
INSTALLED = 1_767_225_600.123456  # 2026-01-01T00:00:00.123456Z, a float as slack_sdk keeps it
NOW = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
SECRET = "signing-secret"


def installation(
    team: str | None = T1,
    *,
    user: str = "U_INSTALLER",
    token: str | None = "xoxb-1",
    at: float = INSTALLED,
    enterprise: str | None = None,
    **fields,
) -> Installation:
    return Installation(
        app_id="A_TEST", enterprise_id=enterprise, team_id=team, team_name=f"Team {team}",
        bot_token=token, bot_id="B_BOT" if token else None, bot_user_id="U_BOT" if token else None,
        bot_scopes=",".join(BOT_SCOPES) if token else "", user_id=user, installed_at=at,
        token_type="bot" if token else None, **fields,
    )  # fmt: skip


@pytest.fixture
def installs(store: SqlStore) -> SqlInstallations:
    return SqlInstallations.of(store)


@pytest.fixture
def slack_store(installs: SqlInstallations) -> DbInstallationStore:
    return DbInstallationStore(installs)


def same(a: Installation | Bot | None, b: Installation | Bot | None) -> bool:
    assert a is not None and b is not None
    return a.to_dict_for_copying() == b.to_dict_for_copying()


# ---------------------------------------------------------------- model <-> JSON


def test_models_round_trip_through_json_exactly() -> None:
    full = installation(
        bot_refresh_token="xoxe-1-r", bot_token_expires_at=1_767_268_800,
        user_token="xoxp-1", user_scopes="search:read", user_refresh_token="xoxe-1-u",
        user_token_expires_in=3600, incoming_webhook_url="https://hooks.slack.com/x",
        incoming_webhook_channel="#general", incoming_webhook_channel_id="C1",
        incoming_webhook_configuration_url="https://slack.com/cfg", custom_values={"plan": "pro"},
    )  # fmt: skip
    for entity in (full, full.to_bot(), installation(token=None)):
        data = json.loads(json.dumps(to_data(entity)))  # what the JSON column hands back
        again = from_data(type(entity), data)
        assert again.to_dict_for_copying() == entity.to_dict_for_copying()
        assert again.installed_at == entity.installed_at  # the float, not a rounded datetime
    bot = from_data(Bot, to_data(full.to_bot()))
    assert bot.bot_token_expires_at == 1_767_268_800 and isinstance(bot.bot_token_expires_at, int)
    scopeless = installation(token=None)
    assert scopeless.bot_scopes == from_data(Installation, to_data(scopeless)).bot_scopes == []
    # Fields a later slack_sdk drops must not make stored rows unreadable.
    assert from_data(Bot, to_data(full.to_bot()) | {"gone_field": 1}).bot_token == "xoxb-1"


def test_authorization_url_follows_the_api_host() -> None:
    assert authorization_url(None) == "https://slack.com/oauth/v2/authorize"
    assert authorization_url("https://slack-gov.com/api/") == "https://slack-gov.com/oauth/v2/authorize"


# ---------------------------------------------------------------- installation store contract


async def test_save_then_find_bot_and_installation(slack_store: DbInstallationStore) -> None:
    saved = installation(custom_values={"plan": "pro"})
    await slack_store.async_save(saved)

    found = await slack_store.async_find_installation(enterprise_id=None, team_id=T1)
    assert same(found, saved)
    bot = await slack_store.async_find_bot(enterprise_id=None, team_id=T1)
    assert same(bot, saved.to_bot())
    assert bot.bot_scopes == list(BOT_SCOPES) and bot.installed_at == INSTALLED
    assert await slack_store.async_find_bot(enterprise_id=None, team_id=T2) is None
    assert await slack_store.async_find_installation(enterprise_id=None, team_id=T2) is None
    assert await slack_store.async_find_bot(enterprise_id="E_OTHER", team_id=T1) is None


async def test_an_install_keeps_one_installation_row_and_one_bot_row(
    slack_store: DbInstallationStore, installs: SqlInstallations
) -> None:
    await slack_store.async_save(installation())
    assert await installs.count("slack") == 2
    await slack_store.async_save(installation(token=None, user="U_USER_ONLY", at=INSTALLED + 1))
    assert await installs.count("slack") == 3  # no bot token: no bot row


async def test_the_latest_install_wins(slack_store: DbInstallationStore) -> None:
    newer = installation(token="xoxb-new", at=INSTALLED + 60)
    await slack_store.async_save(newer)  # saved first: order of saving must not matter
    await slack_store.async_save(installation(token="xoxb-old"))

    assert (await slack_store.async_find_installation(enterprise_id=None, team_id=T1)).bot_token == "xoxb-new"
    assert (await slack_store.async_find_bot(enterprise_id=None, team_id=T1)).bot_token == "xoxb-new"


async def test_a_users_installation_borrows_the_latest_bot_token(slack_store: DbInstallationStore) -> None:
    await slack_store.async_save(installation(user="U_A", token="xoxb-a", user_token="xoxp-a"))
    await slack_store.async_save(installation(user="U_B", token="xoxb-b", at=INSTALLED + 60))

    mine = await slack_store.async_find_installation(enterprise_id=None, team_id=T1, user_id="U_A")
    assert (mine.user_id, mine.user_token, mine.bot_token) == ("U_A", "xoxp-a", "xoxb-b")
    latest = await slack_store.async_find_installation(enterprise_id=None, team_id=T1)
    assert latest.user_id == "U_B"
    assert await slack_store.async_find_installation(enterprise_id=None, team_id=T1, user_id="U_C") is None


async def test_token_rotation_fields_round_trip_and_a_refresh_replaces_its_rows(
    slack_store: DbInstallationStore, installs: SqlInstallations
) -> None:
    expires = int(time.time()) + 43_200
    first = installation(token="xoxe.xoxb-1", bot_refresh_token="xoxe-1-r1", bot_token_expires_at=expires)
    await slack_store.async_save(first)
    found = await slack_store.async_find_installation(enterprise_id=None, team_id=T1)
    bot = await slack_store.async_find_bot(enterprise_id=None, team_id=T1)
    for entity in (found, bot):
        assert (entity.bot_refresh_token, entity.bot_token_expires_at) == ("xoxe-1-r1", expires)

    # What bolt's token rotator saves: a copy with new tokens and the same installed_at.
    refreshed = Installation(**found.to_dict_for_copying())
    refreshed.bot_token, refreshed.bot_refresh_token = "xoxe.xoxb-2", "xoxe-1-r2"
    refreshed.bot_token_expires_at = expires + 43_200
    await slack_store.async_save(refreshed)
    refreshed_bot = Bot(**bot.to_dict_for_copying())
    refreshed_bot.bot_token = "xoxe.xoxb-3"
    await slack_store.async_save_bot(refreshed_bot)  # bolt's bot-only path

    assert await installs.count("slack") == 2
    found = await slack_store.async_find_installation(enterprise_id=None, team_id=T1)
    assert (found.bot_token, found.bot_refresh_token, found.bot_token_expires_at) == (
        "xoxe.xoxb-2", "xoxe-1-r2", expires + 43_200)
    assert (await slack_store.async_find_bot(enterprise_id=None, team_id=T1)).bot_token == "xoxe.xoxb-3"


async def _fill(slack_store: DbInstallationStore) -> None:
    for team in (T1, T2):
        await slack_store.async_save(installation(team, user="U_A", token=f"xoxb-{team}-a"))
        await slack_store.async_save(installation(team, user="U_B", token=f"xoxb-{team}-b", at=INSTALLED + 1))
    await slack_store.async_save(installation(T1, user="U_A", enterprise=E1, token="xoxb-grid"))  # same team id, in an org


async def _left(slack_store: DbInstallationStore, enterprise: str | None, team: str) -> tuple:
    bot = await slack_store.async_find_bot(enterprise_id=enterprise, team_id=team)
    users = [
        await slack_store.async_find_installation(enterprise_id=enterprise, team_id=team, user_id=user)
        for user in ("U_A", "U_B")
    ]
    return bot is not None, [u is not None for u in users]


async def test_delete_bot_removes_only_that_workspaces_bots(slack_store: DbInstallationStore) -> None:
    await _fill(slack_store)
    await slack_store.async_delete_bot(enterprise_id=None, team_id=T1)
    assert await _left(slack_store, None, T1) == (False, [True, True])
    assert await _left(slack_store, None, T2) == (True, [True, True])
    assert await _left(slack_store, E1, T1) == (True, [True, False])


async def test_delete_installation_of_one_user_or_all(slack_store: DbInstallationStore) -> None:
    await _fill(slack_store)
    await slack_store.async_delete_installation(enterprise_id=None, team_id=T1, user_id="U_A")
    assert await _left(slack_store, None, T1) == (True, [False, True])
    await slack_store.async_delete_installation(enterprise_id=None, team_id=T1)
    assert await _left(slack_store, None, T1) == (True, [False, False])
    assert await _left(slack_store, None, T2) == (True, [True, True])
    assert await _left(slack_store, E1, T1) == (True, [True, False])


async def test_delete_all_empties_one_workspace(
    slack_store: DbInstallationStore, installs: SqlInstallations
) -> None:
    await _fill(slack_store)
    before = await installs.count()
    await slack_store.async_delete_all(enterprise_id=None, team_id=T1)
    assert await _left(slack_store, None, T1) == (False, [False, False])
    assert await slack_store.async_find_installation(enterprise_id=None, team_id=T1) is None
    assert await _left(slack_store, None, T2) == (True, [True, True])
    assert await _left(slack_store, E1, T1) == (True, [True, False])
    assert await installs.count() == before - 4  # two installers' rows and their two bot rows


async def test_org_wide_installs_are_found_from_any_workspace(slack_store: DbInstallationStore) -> None:
    org = installation(None, enterprise=E1, token="xoxb-org", is_enterprise_install=True)
    await slack_store.async_save(org)

    for team in (None, "T_ANY_WORKSPACE"):
        found = await slack_store.async_find_installation(
            enterprise_id=E1, team_id=team, is_enterprise_install=True)
        assert same(found, org) and found.is_enterprise_install
        bot = await slack_store.async_find_bot(enterprise_id=E1, team_id=team, is_enterprise_install=True)
        assert bot.bot_token == "xoxb-org" and bot.is_enterprise_install
    assert await slack_store.async_find_bot(enterprise_id=E1, team_id="T_ANY_WORKSPACE") is None
    assert await slack_store.async_find_bot(enterprise_id=None, team_id=None) is None

    await slack_store.async_delete_all(enterprise_id=E1, team_id=None)
    assert await slack_store.async_find_bot(enterprise_id=E1, team_id=None, is_enterprise_install=True) is None


async def test_an_org_install_naming_a_team_is_stored_for_the_org(slack_store: DbInstallationStore) -> None:
    await slack_store.async_save(installation(T1, enterprise=E1, is_enterprise_install=True))
    assert await slack_store.async_find_bot(enterprise_id=E1, team_id=T2, is_enterprise_install=True)
    assert await slack_store.async_find_bot(enterprise_id=E1, team_id=T1) is None


async def test_empty_ids_and_none_are_the_same_id(installs: SqlInstallations) -> None:
    await installs.save("slack", "", T1, "", True, {"n": 1}, NOW)
    await installs.save("slack", None, T1, None, False, {"n": 2}, NOW)
    assert await installs.find("slack", None, T1, is_bot=True) == {"n": 1}
    assert await installs.find("slack", "", T1) == {"n": 2}
    assert await installs.find("slack", "", T1, user_id="") == {"n": 2}  # "" is no user filter
    assert await installs.delete("slack", "", T1) == 2


async def test_platforms_and_kinds_do_not_mix(installs: SqlInstallations) -> None:
    await installs.save("teams", None, T1, None, True, {"platform": "teams"}, NOW)
    await installs.save("slack", None, T1, "U_A", False, {"kind": "user"}, NOW)
    assert await installs.find("slack", None, T1, is_bot=True) is None
    assert await installs.find("teams", None, T1, is_bot=True) == {"platform": "teams"}
    assert await installs.find("slack", None, T1, user_id="U_A", is_bot=True) is None
    assert await installs.delete("slack", None, T1) == 1
    assert await installs.count("teams") == 1


async def test_same_time_same_key_replaces_a_different_time_adds(installs: SqlInstallations) -> None:
    await installs.save("slack", None, T1, "U_IGNORED", True, {"v": 1}, NOW)
    await installs.save("slack", None, T1, None, True, {"v": 2}, NOW)  # bots have no user
    assert await installs.count() == 1
    await installs.save("slack", None, T1, None, True, {"v": 3}, NOW - timedelta(microseconds=1))
    assert await installs.count() == 2
    assert await installs.find("slack", None, T1, user_id="U_X", is_bot=True) == {"v": 2}


# ---------------------------------------------------------------- OAuth state store


async def test_a_state_is_consumed_once(installs: SqlInstallations) -> None:
    states = DbOAuthStateStore(installs)
    state = await states.async_issue()
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", state)
    assert await states.async_issue() != state
    assert await states.async_consume(state) is True
    assert await states.async_consume(state) is False
    assert await states.async_consume("never-issued") is False
    assert await states.async_consume("") is False


async def test_an_expired_state_is_refused_and_swept(installs: SqlInstallations) -> None:
    now = [NOW]
    states = DbOAuthStateStore(installs, expiration_seconds=600, clock=lambda: now[0])
    stale = await states.async_issue()
    now[0] = NOW + timedelta(seconds=599)
    fresh = await states.async_issue()
    now[0] = NOW + timedelta(seconds=600)
    assert await states.async_consume(stale) is False
    now[0] = NOW
    assert await states.async_consume(stale) is False  # swept when refused, not just skipped
    assert await states.async_consume(fresh) is True


async def test_replicas_share_states_and_only_one_wins(store: SqlStore, db_url: str) -> None:
    from storage.repository import open_store

    other = open_store(db_url)  # a second replica: its own engine on the same database
    try:
        here = DbOAuthStateStore(SqlInstallations.of(store))
        there = DbOAuthStateStore(SqlInstallations.of(other))
        state = await here.async_issue()
        results = await asyncio.gather(*(s.async_consume(state) for s in (there, here, there)))
        assert sorted(results) == [False, False, True]
    finally:
        await other.close()


async def test_consume_state_at_the_repository(installs: SqlInstallations) -> None:
    await installs.issue_state("s1", NOW + timedelta(minutes=10))
    assert await installs.consume_state("s1", NOW + timedelta(minutes=10)) is False  # expiry is exclusive
    await installs.issue_state("s2", NOW + timedelta(minutes=10))
    assert await installs.consume_state("s2", NOW) is True
    assert await installs.consume_state("s2", NOW) is False


# ---------------------------------------------------------------- the OAuth flow, in-process


CLIENT_ID, CLIENT_SECRET = "1111.2222", "client-secret"
# slack_sdk 3.48 sends oauth.v2.access's client credentials with aiohttp.BasicAuth, which
# aiohttp 3.14 deprecates (aio-libs/aiohttp#12499; gone in 4.0). Only that warning is let through.
SDK_BASIC_AUTH = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


def oauth_app(installs: SqlInstallations, slack: FakeSlack) -> AsyncApp:
    """An AsyncApp configured like `SlackBot` in OAuth mode."""
    settings = SlackSettings(
        signing_secret=SECRET, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, api_url=slack.url
    )
    return AsyncApp(
        client=AsyncWebClient(base_url=settings.api_url),
        signing_secret=SECRET,
        raise_error_for_unhandled_request=False,
        **oauth_settings(installs, settings),
    )


def get(query: dict[str, str] | None = None, cookie: str | None = None) -> AsyncBoltRequest:
    return AsyncBoltRequest(body="", query=urlencode(query or {}), headers={"cookie": cookie} if cookie else {})


async def start_install(app: AsyncApp) -> tuple[str, str, str]:
    """GET /slack/install: the page's authorize link, its state, and the state cookie."""
    response = await app.oauth_flow.handle_installation(get())
    assert response.status == 200
    [link] = re.findall(r'href="([^"]+/oauth/v2/authorize[^"]*)"', response.body)
    link = html.unescape(link)
    [state] = parse_qs(urlsplit(link).query)["state"]
    [cookie] = response.headers["set-cookie"]
    return link, state, cookie.split(";")[0]


async def until(condition, timeout: float = 5.0) -> None:
    """Bolt runs event listeners after the ack: wait for their effect."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_oauth_settings_shape(installs: SqlInstallations) -> None:
    settings = SlackSettings(
        signing_secret=SECRET, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, token_rotation=True)
    kwargs = oauth_settings(installs, settings)
    assert set(kwargs) == {"installation_store", "oauth_settings"}
    o = kwargs["oauth_settings"]
    assert isinstance(o, AsyncOAuthSettings) and isinstance(kwargs["installation_store"], DbInstallationStore)
    assert o.installation_store is kwargs["installation_store"] and isinstance(o.state_store, DbOAuthStateStore)
    assert (o.install_path, o.redirect_uri_path) == ("/slack/install", "/slack/oauth_redirect")
    assert (o.scopes, o.user_scopes, o.token_rotation_expiration_minutes) == (list(BOT_SCOPES), [], 120)
    assert o.state_expiration_seconds == o.state_store.expiration_seconds == 600
    assert o.authorization_url == "https://slack.com/oauth/v2/authorize"
    with pytest.raises(ValueError):
        oauth_settings(installs, SlackSettings(client_id=CLIENT_ID))
    with pytest.raises(TypeError, match="SqlInstallations.of"):
        oauth_settings(object(), settings)  # e.g. the SqlStore itself


@SDK_BASIC_AUTH
async def test_install_flow_stores_the_workspace(
    installs: SqlInstallations, slack_store: DbInstallationStore
) -> None:
    async with FakeSlack() as slack:
        app = oauth_app(installs, slack)
        link, state, cookie = await start_install(app)
        assert link.startswith(slack.root + "/oauth/v2/authorize?")  # SLACK_API_URL's host (slack.com by default)
        query = parse_qs(urlsplit(link).query)
        assert query["client_id"] == [CLIENT_ID] and query["scope"] == [",".join(BOT_SCOPES)]

        response = await app.oauth_flow.handle_callback(get({"code": "x", "state": state}, cookie))
        assert response.status == 200, response.body

        [access] = slack.calls("oauth.v2.access")
        assert access.args["code"] == "x"
        basic = base64.b64decode(access.headers["Authorization"].removeprefix("Basic ")).decode()
        assert basic == f"{CLIENT_ID}:{CLIENT_SECRET}"
        [auth_test] = slack.calls("auth.test")
        assert auth_test.token == "xoxb-T_TEST-fake1"

    found = await slack_store.async_find_installation(enterprise_id=None, team_id="T_TEST")
    assert (found.bot_token, found.bot_id, found.bot_user_id, found.user_id) == (
        "xoxb-T_TEST-fake1", "B_BOT", "U_BOT", "U_MO")
    bot = await slack_store.async_find_bot(enterprise_id=None, team_id="T_TEST")
    assert bot.bot_token == "xoxb-T_TEST-fake1" and bot.team_name == "Test Team"

    # The state was used up: replaying the redirect is refused and stores nothing more.
    before = await installs.count()
    replay = await app.oauth_flow.handle_callback(get({"code": "x", "state": state}, cookie))
    assert replay.status == 401
    assert await installs.count() == before


@SDK_BASIC_AUTH
async def test_unknown_state_or_missing_cookie_or_bad_code_is_refused(installs: SqlInstallations) -> None:
    async with FakeSlack() as slack:
        app = oauth_app(installs, slack)
        forged = await app.oauth_flow.handle_callback(
            get({"code": "x", "state": "made-up"}, "slack-app-oauth-state=made-up"))
        assert forged.status == 401

        _, state, cookie = await start_install(app)
        no_cookie = await app.oauth_flow.handle_callback(get({"code": "x", "state": state}))
        assert no_cookie.status == 400  # not the browser that started the install

        slack.fail("oauth.v2.access", "invalid_code")
        bad_code = await app.oauth_flow.handle_callback(get({"code": "x", "state": state}, cookie))
        assert bad_code.status == 401
        assert slack.calls("oauth.v2.access") and not slack.calls("auth.test")
    assert await installs.count() == 0


def signed(body: bytes) -> AsyncBoltRequest:
    headers = {"content-type": "application/json", **{k.lower(): v for k, v in sign(body, SECRET).items()}}
    return AsyncBoltRequest(body=body.decode(), headers=headers)


@SDK_BASIC_AUTH
async def test_bolt_refreshes_an_expiring_token_through_the_fake_and_saves_it(
    installs: SqlInstallations, slack_store: DbInstallationStore
) -> None:
    async with FakeSlack(token_rotation=True) as slack:
        app = oauth_app(installs, slack)
        seen: list[str] = []

        @app.event("app_home_opened")
        async def home(context) -> None:
            seen.append(context.bot_token)

        expiring = int(time.time()) + 60  # inside the 120-minute refresh window
        await slack_store.async_save(installation(
            "T_TEST", token="xoxe.xoxb-old", bot_refresh_token="xoxe-1-old", bot_token_expires_at=expiring))
        rows = await installs.count()

        body = event({"type": "app_home_opened", "user": "U_MO", "channel": "D_MO", "tab": "home"}).body
        response = await app.async_dispatch(signed(body))
        assert response.status == 200

        [refresh] = slack.calls("oauth.v2.access")  # at SLACK_API_URL, not slack.com
        assert (refresh.args["grant_type"], refresh.args["refresh_token"]) == ("refresh_token", "xoxe-1-old")
        new_token = "xoxe.xoxb-1-fake1"
        await until(lambda: seen)
        assert seen == [new_token]

    assert await installs.count() == rows  # replaced, not added
    found = await slack_store.async_find_installation(enterprise_id=None, team_id="T_TEST")
    assert (found.bot_token, found.bot_refresh_token) == (new_token, "xoxe-1-refresh1")
    assert found.bot_token_expires_at >= expiring + 40_000
    assert (await slack_store.async_find_bot(enterprise_id=None, team_id="T_TEST")).bot_token == new_token


async def test_app_uninstalled_deletes_the_workspace_through_bolt(
    installs: SqlInstallations, slack_store: DbInstallationStore
) -> None:
    async with FakeSlack() as slack:
        app = oauth_app(installs, slack)
        app.enable_token_revocation_listeners()  # bolt's own: async_delete_all on app_uninstalled
        await slack_store.async_save(installation("T_TEST", token="xoxb-T_TEST-1"))
        await slack_store.async_save(installation(T2, token="xoxb-two"))

        response = await app.async_dispatch(signed(event(app_uninstalled()).body))
        assert response.status == 200

    assert await slack_store.async_find_bot(enterprise_id=None, team_id="T_TEST") is None
    assert await slack_store.async_find_installation(enterprise_id=None, team_id="T_TEST") is None
    assert (await slack_store.async_find_bot(enterprise_id=None, team_id=T2)).bot_token == "xoxb-two"
