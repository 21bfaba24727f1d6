"""`cocreate serve`: one asyncio process, one aiohttp server, every configured platform.

Part of the composition root with bot/cli.py: the only core module that knows adapters.
"""

from __future__ import annotations

import asyncio
import logging
import signal

import click
from aiohttp import web

from adapters.server import web_app
from adapters.slack.settings import SlackSettingsError, from_env as slack_from_env

log = logging.getLogger("cocreate")


def platform_settings() -> dict:
    """Each platform's settings from the environment (None when it is not configured)."""
    try:
        return {"slack": slack_from_env()}
    except SlackSettingsError as error:
        raise click.ClickException(str(error))


async def serve(config, settings: dict, host: str, port: int) -> None:
    from bot.cli import open_engine

    engine = await open_engine(config)
    app = web_app(engine.store.ping)
    bots = []
    slack = settings.get("slack")
    socket_handler = None
    if slack:
        from adapters.slack.app import SlackBot

        bot = SlackBot(engine, slack, **_slack_oauth(engine, slack))
        bot.mount(app)
        bots.append(bot)
        log.warning("Slack: on (%s mode)", slack.mode)
        socket_handler = bot.socket_mode_handler()
    else:
        log.warning("Slack: off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to turn it on)")

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    log.warning("cocreate serving on http://%s:%s", host, bound)
    print(f"cocreate: listening on port {bound}", flush=True)  # tests and scripts wait for this line
    if socket_handler:
        await socket_handler.connect_async()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.warning("cocreate: shutting down")
        if socket_handler:
            await socket_handler.close_async()
        await runner.shutdown()  # stop taking requests
        for bot in bots:
            await bot.aclose()  # finish what was acknowledged
        await runner.cleanup()
        await engine.store.close()


def _slack_oauth(engine, slack) -> dict:
    if slack.mode != "oauth":
        return {}
    from adapters.slack.installations import oauth_settings

    return oauth_settings(engine.store, slack)
