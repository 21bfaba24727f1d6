"""Multi-workspace install through the real server: install page, Slack's redirect back,
the token kept in our database, used for that workspace's requests, removed on uninstall.
"""

from __future__ import annotations

import asyncio
import html
import re

import aiohttp

from storage.installations import SqlInstallations
from storage.repository import open_store
from tests.fakes.slack_client import SlackSender, app_uninstalled, event, slash_command
from tests.slack.conftest import SECRET, start_server, stop_server


async def installations(database_url: str) -> int:
    store = open_store(database_url)
    try:
        return await SqlInstallations.of(store).count("slack")
    finally:
        await store.close()


async def test_install_use_and_uninstall(tmp_path, slack_env, fake_slack):
    env = {k: v for k, v in slack_env.items() if k != "SLACK_BOT_TOKEN"}
    env.update(SLACK_CLIENT_ID="111.222", SLACK_CLIENT_SECRET="client-secret")
    server = start_server(tmp_path, env)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(server.url + "/slack/install", allow_redirects=False) as page:
                assert page.status in (200, 302)
                body = await page.text()
                link = html.unescape(page.headers.get("Location") or body)
                state = re.search(r"state=([\w-]+)", link).group(1)
                assert "client_id=111.222" in link and "scope=chat:write,commands,files:write,im:history" in link
                # The browser returns the (Secure) state cookie, as it would over HTTPS.
                cookie = {"Cookie": "; ".join(f"{c.key}={c.value}" for c in page.cookies.values())}
            redirect = server.url + "/slack/oauth_redirect?code={}&state=" + state
            async with http.get(redirect.format("the-code"), headers=cookie) as done:
                assert done.status == 200, await done.text()
            # The same state a second time is refused: no second install.
            async with http.get(redirect.format("again"), headers=cookie) as again:
                assert again.status != 200
        [exchange] = fake_slack.calls("oauth.v2.access")
        assert exchange.args["code"] == "the-code"
        assert await installations(server.database_url) >= 1

        async with SlackSender(secret=SECRET) as sender:
            status, _ = await sender.post(server.url, slash_command("dance", response_url=fake_slack.response_url("o")))
            assert status == 200
            await fake_slack.wait_for("response_url")
            assert "I don't know the command" in str(fake_slack.calls("response_url")[0].args)

            assert (await sender.post(server.url, event(app_uninstalled())))[0] == 200
        for _ in range(50):
            if await installations(server.database_url) == 0:
                break
            await asyncio.sleep(0.1)
        assert await installations(server.database_url) == 0
    finally:
        stop_server(server)
    assert "Traceback" not in server.logs(), server.logs()
