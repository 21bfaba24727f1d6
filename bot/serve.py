"""`cocreate serve`: one asyncio process, one aiohttp server, every configured platform.

Part of the composition root with bot/cli.py: the only core module that knows adapters.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
from datetime import timedelta

import click
from aiohttp import web

from adapters.server import web_app
from adapters.slack.settings import SlackSettingsError, from_env as slack_from_env
from adapters.teams.settings import TeamsSettingsError, from_env as teams_from_env
from adapters.web.settings import WebSettingsError, from_env as web_from_env
from bot.delivery import Delivery
from bot.scheduler import Planner, Scheduling

log = logging.getLogger("cocreate")


def platform_settings() -> dict:
    """Each platform's settings from the environment (None when it is not configured; the
    web is always on)."""
    try:
        return {"slack": slack_from_env(), "teams": teams_from_env(), "web": web_from_env()}
    except (SlackSettingsError, TeamsSettingsError, WebSettingsError) as error:
        raise click.ClickException(str(error))



def settle_collector() -> None:
    """Start-up objects (modules, config, SDK clients) live for the whole process: keep them out
    of every collection, and collect young objects less often. Under a burst of work the
    collector's full scans otherwise pause every request in flight (bench/slack_ack.py)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


async def serve(config, settings: dict, host: str, port: int, sign_in: str | None = None, reload=None) -> None:
    """`sign_in`: a member id to print a one-time web sign-in link for, once listening.
    `reload`: reads app.yaml again (raising ConfigError), for SIGHUP."""
    from bot.cli import open_engine

    engine = await open_engine(config)
    if settings["web"].public_url:
        engine.public_url = settings["web"].public_url
    try:
        await _serve(engine, settings, host, port, sign_in, reload)
    except SlackSettingsError as error:
        raise click.ClickException(str(error))
    finally:
        await engine.store.close()


async def _serve(engine, settings: dict, host: str, port: int, sign_in: str | None = None, reload=None) -> None:
    app = web_app(engine.store.ping)
    bots = []
    slack = settings.get("slack")
    socket_handler = None
    if slack:
        from adapters.slack.app import SlackBot

        bot = SlackBot(engine, slack, **_slack_oauth(engine, slack), waiting=_backlog())
        bot.mount(app)
        bots.append(bot)
        log.warning("Slack: on (%s mode)", slack.mode)
        socket_handler = bot.socket_mode_handler()
    else:
        log.warning("Slack: off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to turn it on)")
    teams = settings.get("teams")
    if teams:
        from adapters.teams.app import TeamsBot

        bot = TeamsBot(engine, teams)
        bot.mount(app)
        bots.append(bot)
        log.warning("Teams: on at /api/messages (%s)", "authenticated" if teams.authenticated else "NO authentication")
    else:
        log.warning("Teams: off (set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD to turn it on)")

    senders = _senders(bots, engine.config.delivery)
    web_bot = _web(engine, settings["web"], senders)
    web_bot.mount(app)
    senders["web"] = web_bot.sender
    delivery = Delivery(engine.store, engine.config, senders, compose=engine.compose,
                        poll=_seconds("COCREATE_POLL_SECONDS", 1.0),
                        lease=timedelta(seconds=_seconds("COCREATE_LEASE_SECONDS", 120.0)),
                        gather=timedelta(seconds=_seconds("COCREATE_NOTICE_SECONDS", 60.0)))
    scheduling = Scheduling(Planner(engine.store, engine.config, platforms=frozenset(senders)), delivery,
                            _leader_lock(engine.store), tick=_seconds("COCREATE_TICK_SECONDS", 20.0),
                            progress=_seconds("COCREATE_PROGRESS_SECONDS", 5.0))

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    if not settings["web"].public_url:  # links point where we listen
        engine.public_url = f"http://{'localhost' if host in ('0.0.0.0', '::', '') else host}:{bound}"
    settle_collector()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    reloading: set[asyncio.Task] = set()
    if reload is not None:
        def on_hangup() -> None:
            task = asyncio.ensure_future(_reload(engine, reload))
            reloading.add(task)
            task.add_done_callback(reloading.discard)

        loop.add_signal_handler(signal.SIGHUP, on_hangup)
    connecting = None
    stop_sending = asyncio.Event()
    sending = asyncio.ensure_future(delivery.run(stop_sending))
    scheduling.start()
    # People: app.yaml's members given by email are looked up daily; what other replicas
    # resolved is learned every so often.
    finders = [bot.find_listed for bot in bots if hasattr(bot, "find_listed")]
    engine.people_listeners.extend(finders)  # someone added by email in chat: look them up at once
    chores = [asyncio.ensure_future(_every(DAY, find)) for find in finders]
    chores.append(asyncio.ensure_future(_every(_seconds("COCREATE_PEOPLE_SECONDS", 30.0), engine.refresh_people,
                                               first=False)))
    chores.append(asyncio.ensure_future(_every(DAY, lambda: retain(engine))))
    try:
        if socket_handler:
            await bots[0].check_app_token()  # the Slack bot comes first  # a bad token stops here, instead of retrying forever
            connecting = asyncio.ensure_future(socket_handler.connect_async())
        log.warning("cocreate serving on http://%s:%s; the web chat is at %s", host, bound, engine.public_url)
        print(f"cocreate: listening on port {bound}", flush=True)  # tests and scripts wait for this line
        if sign_in:
            link = await _sign_in_link(engine, sign_in)
            print(f"cocreate: the web chat is at {engine.public_url}\n"
                  f"Sign in as {engine.people.get(sign_in, sign_in)} with this link (it works once, within 15 minutes):\n"
                  f"  {link}\nSigned in, leaders and coordinators find the dashboard at {engine.public_url}/dashboard\n"
                  f"(`make chat` opens the terminal chat instead.)", flush=True)
        await stop.wait()
    finally:
        log.warning("cocreate: shutting down")
        for chore in chores:
            chore.cancel()
        await scheduling.stop()
        if connecting and not connecting.done():
            connecting.cancel()
        if socket_handler:
            await socket_handler.close_async()
        await runner.shutdown()  # stop taking requests
        stop_sending.set()
        await sending  # sends in flight finish; the rest stays queued in the outbox
        for bot in [*bots, web_bot]:
            await bot.aclose()  # finish what was acknowledged
        await runner.cleanup()


DAY = 24 * 3600.0


async def _reload(engine, read) -> None:
    """SIGHUP: put app.yaml in force again without a restart; a broken file is refused with
    the same lines as at start-up, and the running configuration stays."""
    from bot.config import ConfigError

    try:
        config = await asyncio.to_thread(read)  # a large member list takes a moment to parse
    except ConfigError as error:
        for line in str(error).splitlines():
            log.error("%s", line)
        log.error("cocreate: app.yaml was not reloaded; the running configuration stays")
        return
    engine.config.use(file=config)
    log.warning("cocreate: app.yaml reloaded: %d members, %d coalitions",
                len(engine.config.members), len(engine.config.coalitions))


async def retain(engine) -> dict[str, int]:
    """app.yaml's `retention:`, applied (at start and daily); what went is logged as counts."""
    cutoffs = engine.config.retention.cutoffs(engine.clock())
    if not any(cutoffs.values()):
        return {}
    counts = await engine.store.expire(cutoffs, engine.clock())
    if counts:
        log.warning("cocreate: retention: %s", ", ".join(f"{k} {n}" for k, n in sorted(counts.items())))
    return counts


async def _every(seconds: float, work, first: bool = True) -> None:
    """Run `work` every `seconds` (at once too if `first`) until cancelled; a failure is
    logged and tried again next time."""
    if not first:
        await asyncio.sleep(seconds)
    while True:
        try:
            await work()
        except Exception:
            log.exception("cocreate: %s failed", getattr(work, "__qualname__", work))
        await asyncio.sleep(seconds)


def _senders(bots, limits) -> dict:
    """Each connected platform's outbound side, for the outbox."""
    if not bots:  # web only: slack-bolt and botbuilder are never imported (0.24 s, 29 MB)
        return {}
    from adapters.slack.app import SlackBot
    from adapters.slack.sender import SlackSender
    from adapters.teams.sender import TeamsSender

    senders = {}
    for bot in bots:
        if isinstance(bot, SlackBot):
            senders["slack"] = SlackSender(bot, limits.slack)
        else:
            senders["teams"] = TeamsSender(bot, limits.teams)
    return senders


def _web(engine, settings, senders: dict):
    """The web chat. Coalition news said there goes to the coalition's Slack or Teams channel."""
    import uuid

    from adapters.web.app import WebBot
    from storage.web import SqlWeb

    def announcer(sender):
        async def announce(reply) -> None:
            await sender.to_channel(reply.to_coalition, reply, f"web-{uuid.uuid4().hex}")
        return announce

    return WebBot(engine, settings, SqlWeb.of(engine.store), announcers=[announcer(s) for s in senders.values()])


async def _sign_in_link(engine, member_id: str) -> str:
    """A one-time web sign-in link for an app.yaml member (`make run`'s sample leader)."""
    from bot.records import SignInLink
    from bot.tokens import digest, new_token
    from flows.web import VALID

    token, now = new_token(), engine.clock()
    coalition = (engine.config.coalitions_of(member_id) or engine.config.coalitions)[0]
    async with engine.store.unit() as unit:
        await unit.add([SignInLink(member_id, engine.people.get(member_id, member_id), coalition.id,
                                   digest(token), now + VALID)], now)
    return f"{engine.public_url}/signin/{token}"


def _leader_lock(store):
    from storage.leader import AdvisoryLock

    return AdvisoryLock(store.engine)


def _seconds(name: str, default: float) -> float:
    """Scheduler timings; tests shorten them through the environment."""
    try:
        return max(0.05, float(os.environ.get(name) or default))
    except ValueError:
        raise click.ClickException(f"{name} must be a number of seconds, got {os.environ[name]!r}")


def _backlog() -> int:
    """How many acknowledged events may wait for the engine before new ones are refused
    (adapters/backlog.py)."""
    from adapters.backlog import WAITING

    raw = (os.environ.get("COCREATE_BACKLOG") or "").strip()
    if raw.isdigit():
        return int(raw)
    if not raw:
        return WAITING
    raise click.ClickException(f"COCREATE_BACKLOG must be a whole number of events (0 or more), got {raw!r}")


def _slack_oauth(engine, slack) -> dict:
    if slack.mode != "oauth":
        return {}
    from adapters.slack.installations import oauth_settings
    from storage.installations import SqlInstallations

    return oauth_settings(SqlInstallations.of(engine.store), slack)
