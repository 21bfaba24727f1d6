"""The `cocreate` command and composition root: the one place that wires config, storage,
flows and adapters together. Click gives us sub-commands, help text and option checks.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import click
from dotenv import load_dotenv

from bot.config import ConfigError, config_path, load_config
from bot.engine import Engine
from bot.i18n import SUPPORTED
from bot.export import roster, to_json, write_csv_dir

log = logging.getLogger("cocreate")


def library() -> dict[str, str]:
    """Every English text: the core's, the reports' and the flows' (what catalogs translate)."""
    from bot.config import english
    from flows.prompts import PROMPTS, flat

    return english(flat(PROMPTS))


def load(config_file: str | None):
    try:
        return read_config(config_file)
    except ConfigError as error:
        raise click.exceptions.Exit(_fail(str(error)))


def read_config(config_file: str | None):
    """app.yaml (or --config, $COCREATE_CONFIG) with the library's texts; ConfigError if broken."""
    from flows.prompts import PRINCIPLES, PROMPTS, flat

    return load_config(config_path(config_file), flat(PROMPTS), PRINCIPLES)


def _fail(message: str) -> int:
    click.echo(message, err=True)
    return 2


def database_url() -> str:
    from storage.db import default_database_url

    return default_database_url()


async def open_engine(config):
    """The engine on a migrated database, or a clear message saying how to migrate."""
    from flows.registry import all_flows
    from storage.migrate import HEAD, current_revision  # without Alembic: see storage/migrate.py
    from storage.repository import open_store

    from bot.ports import StorageUnavailable

    url = database_url()
    try:
        current = await current_revision(url)
    except StorageUnavailable as error:
        raise click.ClickException(f"cannot use the database ({_safe(url)}): {error}")
    if current != HEAD:
        raise click.ClickException(
            "the database is not set up or not up to date. Run `cocreate db upgrade` (or `make run`)."
        )
    engine = Engine(open_store(url), config, all_flows(), public_url=public_url())
    await engine.refresh_people()  # the identities resolved by email so far
    return engine


def public_url() -> str:
    """Where the web chat is, for the links the bot hands out: COCREATE_PUBLIC_URL, else this
    machine's `serve` port (`cocreate serve` corrects it once it knows where it listens)."""
    from adapters.web.settings import WebSettingsError, public_url as checked

    try:
        return checked(os.environ.get("COCREATE_PUBLIC_URL")) or f"http://localhost:{os.environ.get('PORT') or 3000}"
    except WebSettingsError as error:
        raise click.ClickException(str(error))


# Variables we, slack-bolt or botbuilder read. A blank one (`SLACK_CLIENT_ID=` left in a .env
# template) counts as unset: slack-bolt would otherwise see a client id and switch to OAuth.
OUR_VARIABLES = ("SLACK_", "MICROSOFT_", "COCREATE_", "SMTP_", "DATABASE_URL", "PORT")


def unset_blank(env) -> list[str]:
    """Remove our variables that are set but blank; returns their names."""
    blank = [name for name, value in env.items() if name.startswith(OUR_VARIABLES) and not value.strip()]
    for name in blank:
        del env[name]
    return blank


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_file", metavar="PATH", help="app.yaml to use (default: $COCREATE_CONFIG or ./app.yaml).")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens.")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, verbose: bool) -> None:
    """Cocreate: a chat bot for cross-sector co-creation coalitions."""
    load_dotenv(".env")  # secrets and DATABASE_URL may live in an uncommitted .env
    unset_blank(os.environ)
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = config_file


def config_here(command):
    """`--config` after the sub-command too, so `make run ARGS="--config other.yaml"` works."""
    def use(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        if value:
            ctx.obj = value

    return click.option("--config", metavar="PATH", expose_value=False, is_eager=True, callback=use,
                        help="app.yaml to use (the same as `cocreate --config PATH`).")(command)


@cli.command()
@config_here
@click.option("--user", default="demo", show_default=True, help="Your member id (the console id in app.yaml).")
@click.option("--coalition", metavar="ID", help="Which coalition to talk in (default: your first).")
@click.pass_obj
def chat(config_file: str | None, user: str, coalition: str | None) -> None:
    """Talk to the bot in this terminal: every flow, no Slack or Teams needed."""
    from adapters.console.chat import conversation, run_chat

    config = load(config_file)
    if coalition and config.coalition(coalition) is None:
        raise click.BadParameter(f"unknown coalition '{coalition}'; known: {_ids(config)}", param_hint="--coalition")

    async def main() -> None:
        engine = await open_engine(config)
        # Undecodable bytes become U+FFFD instead of ending the chat.
        sys.stdin.reconfigure(errors="replace")
        ref = conversation(user, coalition)
        try:
            await run_chat(engine, ref, sys.stdin, sys.stdout, sys.stdin.isatty(), _console_outbox(engine, ref))
        finally:
            await engine.store.close()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        click.echo("\nBye. Your answers so far are saved.")


def _console_outbox(engine, ref):
    """Schedules and check-ins in the terminal chat: plan, then deliver what is due for the
    person at the keyboard (others' messages wait until they open the chat)."""
    from adapters.console.sender import ConsoleSender
    from bot.delivery import Delivery
    from bot.scheduler import Planner

    member = engine.actor(ref).member_id
    planner = Planner(engine.store, engine.config, engine.clock, platforms=frozenset({"console"}))

    async def deliver(show) -> None:
        sender = ConsoleSender(engine.config, member, show)
        await planner.tick()
        delivery = Delivery(engine.store, engine.config, {"console": sender}, clock=engine.clock,
                            compose=engine.compose, targets=frozenset({f"member:{member}"}))
        await delivery.run_once()
        await delivery.refresh_progress()

    return deliver


@cli.command()
@config_here
@click.option("--port", type=int, envvar="PORT", default=3000, show_default=True, help="Port to listen on (or PORT).")
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.pass_obj
def serve(config_file: str | None, port: int, host: str) -> None:
    """Run the bot server: Slack at /slack/events, Teams at /api/messages, the web chat at /,
    health at /healthz and /readyz."""
    from bot.serve import serve as run_server, platform_settings

    from bot.ports import StorageUnavailable

    config = load(config_file)
    settings = platform_settings()
    try:
        asyncio.run(run_server(config, settings, host, port, reload=lambda: read_config(config_file)))
    except KeyboardInterrupt:
        pass
    except StorageUnavailable as error:  # at start: a read-only disk, a server that is not there
        raise click.exceptions.Exit(_fail(f"cocreate serve: cannot use the database ({_safe(database_url())}): "
                                          f"{error}. Nothing was started."))


@cli.command()
@config_here
@click.option("--port", type=int, envvar="PORT", default=3000, show_default=True)
@click.option("--user", default="demo", show_default=True, help="Member id to print a web sign-in link for.")
@click.pass_context
def run(ctx: click.Context, port: int, user: str) -> None:
    """Serve every platform: Slack and Teams when configured (environment or .env), and the web
    chat always; without Slack or Teams, print a one-time web sign-in link for --user."""
    from bot.serve import platform_settings, serve as run_server

    config = load(ctx.obj)
    settings = platform_settings()
    web_only = not (settings["slack"] or settings["teams"])
    if web_only:
        click.echo("No Slack or Teams settings found (see the README): serving the web chat.", err=True)
        if config.member(user) is None:
            raise click.BadParameter(f"unknown member '{user}' in app.yaml", param_hint="--user")
    try:
        asyncio.run(run_server(config, settings, "0.0.0.0", port, sign_in=user if web_only else None,
                               reload=lambda: read_config(ctx.obj)))
    except KeyboardInterrupt:
        pass


@cli.command()
@click.option("--member", required=True, metavar="ID", help="Member id from app.yaml.")
@click.argument("text")
@click.pass_obj
def notify(config_file: str | None, member: str, text: str) -> None:
    """Send TEXT to a member in Teams now, through their stored conversation (they must
    have installed the app or written to the bot, or be in a team where it is installed)."""
    from bot.serve import platform_settings
    from bot.ui import Reply

    config = load(config_file)
    if config.member(member) is None:
        raise click.BadParameter(f"unknown member id '{member}'", param_hint="--member")
    teams = platform_settings()["teams"]
    if teams is None:
        raise click.ClickException("Teams is not configured (MICROSOFT_APP_ID or TEAMS_LOCAL_TESTING).")

    async def main() -> list[str]:
        from adapters.teams.app import TeamsBot

        engine = await open_engine(config)
        bot = TeamsBot(engine, teams)
        try:
            return await bot.send_to_member(member, [Reply.text(text)])
        finally:
            await bot.aclose()
            await engine.store.close()

    if not asyncio.run(main()):
        raise click.ClickException(f"nothing was delivered to {member} (see the log above)")
    click.echo(f"delivered to {member}")


@cli.group()
def manifest() -> None:
    """App manifests to register the bot with a platform."""


@manifest.command("slack")
@click.option("--url", required=True, help="Public base URL of this server, e.g. https://cocreate.example.org")
@click.option("--socket-mode", is_flag=True, help="Use Socket Mode (no public URL needed).")
@click.option("--oauth", is_flag=True, help="Multi-workspace install (adds the OAuth redirect URL).")
@click.option("--token-rotation", is_flag=True, help="Turn on token rotation (OAuth installs).")
@click.option("--language", type=click.Choice(["en", "da"]),
              help="Language of the app's description and usage hint "
                   "(default: the movement's language in app.yaml, else en).")
@click.pass_obj
def manifest_slack(config_file: str | None, url: str, socket_mode: bool, oauth: bool, token_rotation: bool,
                   language: str | None) -> None:
    """Print a Slack app manifest (YAML) for "Create an app -> From a manifest"."""
    from adapters.slack.manifest import manifest as slack_manifest

    if not url.startswith(("https://", "http://")):
        raise click.BadParameter("give the full URL, starting with https://", param_hint="--url")
    language = language or _manifest_language(config_file)
    click.echo(slack_manifest(url, socket_mode, oauth, token_rotation, language=language), nl=False)


@manifest.command("teams")
@click.option("--app-id", envvar="MICROSOFT_APP_ID", required=True, metavar="GUID",
              help="The bot's Microsoft App ID from its Azure Bot registration (or MICROSOFT_APP_ID).")
@click.option("--url", required=True, help="Public base URL of this server, e.g. https://cocreate.example.org")
@click.option("--out", type=click.Path(path_type=Path), default=Path("cocreate-teams.zip"), show_default=True,
              help="The zip to write (or a directory to write cocreate-teams.zip into).")
@click.option("--language", type=click.Choice(["en", "da"]),
              help="Default language of the app; the other gets a localization file "
                   "(default: the movement's language in app.yaml, else en).")
@click.pass_obj
def manifest_teams(config_file: str | None, app_id: str, url: str, out: Path, language: str | None) -> None:
    """Write the Teams app package (manifest.json in English and Danish, and two icons, zipped) to upload in Teams."""
    from adapters.teams.manifest import package

    try:
        path = package(app_id, url, out, language=language or _manifest_language(config_file))
    except ValueError as error:
        raise click.UsageError(str(error))
    except OSError as error:
        raise click.ClickException(f"cannot write {error.filename or out}: {error.strerror or error}")
    click.echo(f"wrote {path}: upload it in Teams (Apps > Manage your apps > Upload an app)")


def _manifest_language(config_file: str | None) -> str:
    """The movement's language from app.yaml if it loads and is one the manifests have, else en."""
    from flows.prompts import PRINCIPLES, PROMPTS, flat

    try:
        config = load_config(config_path(config_file), flat(PROMPTS), PRINCIPLES)
    except ConfigError:
        return "en"
    code = config.movement.language.strip().replace("_", "-").split("-")[0].lower()
    return code if code in ("en", "da") else "en"


@cli.group()
def members() -> None:
    """People and their coalitions, besides app.yaml."""


@members.command("import")
@click.argument("csv_file", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def members_import(config_file: str | None, csv_file: Path) -> None:
    """Add the people of a CSV file to their coalitions, all rows or none.

    Columns (header row): email, name, coalition, role (member or leader), sector (optional).
    Comma or semicolon separated. Importing the same file again changes nothing."""
    from bot.records import MembershipChange
    from bot.roster import read_roster

    config = load(config_file)
    try:
        lines = csv_file.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as error:
        raise click.exceptions.Exit(_fail(f"{csv_file}: not UTF-8 text (byte {error.start}); save it as CSV UTF-8"))

    async def run() -> tuple[int, int]:
        engine = await open_engine(config)  # app.yaml with the changes made in chat so far
        try:
            roster = read_roster(lines, engine.config)
            if roster.problems:
                raise click.exceptions.Exit(_fail("\n".join(f"{csv_file}: {p}" for p in roster.problems)
                                                  + "\nNothing was imported."))
            changes = [MembershipChange(c, "import") for c in (*roster.people, *roster.seats)]
            async with engine.store.unit() as unit:  # one transaction: all rows or none
                changed = sum(await unit.add(changes, engine.clock()))
            return roster.rows, changed
        finally:
            await engine.store.close()

    rows, changed = asyncio.run(run())
    click.echo(f"{csv_file}: {rows} rows, {changed} change(s)" + ("" if changed else " (all were there already)"))


@cli.group()
def member() -> None:
    """One member's data rights: a copy of their data, or its erasure (answering a request by letter)."""


@member.command("export")
@click.option("--member", "member_id", required=True, metavar="ID", help="The member's id (as `members` lists it).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The JSON file to write.")
@click.pass_obj
def member_export(config_file: str | None, member_id: str, out: Path) -> None:
    """Everything stored about a member, as the JSON file `mydata` gives them in chat
    (docs/mydata-json.md). It holds personal data: hand it to the member alone."""
    from bot import mydata

    config = load(config_file)

    async def fetch() -> dict:
        engine = await open_engine(config)
        try:
            return await mydata.of(engine.store, engine.config, member_id, engine.clock())
        finally:
            await engine.store.close()

    doc = asyncio.run(fetch())
    stored = sum(len(v) for v in doc["contributions"].values()) + len(doc["memberships"]) + len(doc["identities"])
    if not stored and not config.people.listed(member_id):
        raise click.exceptions.Exit(_fail(f"no member '{member_id}': not in app.yaml and nothing stored; "
                                          "`cocreate export --coalition ID` lists a coalition's members"))
    try:
        out.touch(mode=0o600)
        out.write_bytes(mydata.encoded(doc))
    except OSError as error:
        raise click.ClickException(f"cannot write {error.filename or out}: {error.strerror or error}")
    click.echo(f"wrote {out} ({stored} record(s) about {member_id})")


@member.command("erase")
@click.option("--member", "member_id", required=True, metavar="ID", help="The member's id (as `members` lists it).")
@click.option("--yes", is_flag=True, help="Confirm: this cannot be undone.")
@click.option("--by", default=lambda: f"cli:{getpass.getuser()}", show_default="cli:<your user name>",
              help="Who erases, for the audit record.")
@click.pass_obj
def member_erase(config_file: str | None, member_id: str, yes: bool, by: str) -> None:
    """Erase a member as `forget me` does: their profile, email, accounts, conversation
    references, answers' and stories' text and pending messages; anonymous counts stay. An
    audit record keeps when, by whom and how many rows, not whose. Running it again is harmless."""
    if not yes:
        raise click.UsageError("erasing cannot be undone: add --yes (`cocreate member export` makes a copy first).")
    config = load(config_file)

    async def run() -> dict[str, int]:
        engine = await open_engine(config)
        try:
            return await engine.store.erase(member_id, by, engine.clock())
        finally:
            await engine.store.close()

    counts = asyncio.run(run())
    if counts:
        click.echo(f"erased {member_id}: " + ", ".join(f"{k} {n}" for k, n in sorted(counts.items())))
    else:
        click.echo(f"nothing is stored about {member_id} (erased already, or never here)")
    if config.people.listed(member_id):
        click.echo(f"{member_id} is still in app.yaml: remove them there too, or they will be invited again", err=True)


@cli.command()
@click.option("--dry-run", is_flag=True, help="Only count what would go.")
@click.pass_obj
def retention(config_file: str | None, dry_run: bool) -> None:
    """Apply app.yaml's `retention:` now (`cocreate serve` does it daily)."""
    config = load(config_file)
    cutoffs = config.retention.cutoffs(datetime.now(timezone.utc))
    if not any(cutoffs.values()):
        click.echo("app.yaml sets no retention: nothing is deleted automatically (see README, Data protection).")
        return

    async def run() -> dict[str, int]:
        engine = await open_engine(config)
        try:
            return await engine.store.expire(cutoffs, engine.clock(), dry_run=dry_run)
        finally:
            await engine.store.close()

    counts = asyncio.run(run())
    verb = "would go" if dry_run else "went"
    click.echo(f"{verb}: " + (", ".join(f"{k} {n}" for k, n in sorted(counts.items())) if counts else "nothing"))


@cli.group()
def db() -> None:
    """Database set-up."""


@db.command()
def upgrade() -> None:
    """Create or migrate the database to the latest schema (DATABASE_URL, default SQLite)."""
    from storage.migrate import upgrade as run_upgrade

    url = database_url()
    asyncio.run(run_upgrade(url))
    click.echo(f"Database is up to date ({_safe(url)}).")


@cli.command()
@click.option("--coalition", required=True, metavar="ID", help="The coalition to export.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), help="File (json) or directory (csv, one file per record type).")
@click.pass_obj
def export(config_file: str | None, coalition: str, fmt: str, out: Path | None) -> None:
    """Write every record of a coalition: members, resources, perspectives, frames,
    experiments, check-ins, reflections and stories (with their consent level).

    The export is a full copy for the coalition's own use: it includes stories shared
    with 'only me', so keep it as carefully as the database itself."""
    config = load(config_file)
    if fmt == "csv" and out is None:
        raise click.UsageError("CSV export writes one file per record type: give a directory with --out DIR.")

    async def fetch():
        engine = await open_engine(config)  # with the coalitions created in chat
        try:
            found = engine.config.coalition(coalition)
            if found is None:
                raise click.BadParameter(f"unknown coalition '{coalition}'; known: {_ids(engine.config)}",
                                         param_hint="--coalition")
            async with engine.store.unit() as unit:  # who is in it now, and the names they joined with
                seated, joined = await unit.seated(coalition), await unit.names(coalition)
            people = roster(found, {**joined, **engine.people}, engine.config.people, seated)
            return found, {"roster": people, **await engine.store.export(coalition)}
        finally:
            await engine.store.close()

    found, records = asyncio.run(fetch())
    about = {"id": found.id, "name": found.name, "challenge": found.challenge}
    try:
        if fmt == "csv":
            for path in write_csv_dir(out, records):
                click.echo(f"wrote {path}", err=True)
        elif out:
            out.write_text(to_json(about, records), encoding="utf-8")
            click.echo(f"wrote {out}", err=True)
        else:
            click.echo(to_json(about, records), nl=False)
    except OSError as error:
        raise click.ClickException(f"cannot write {error.filename or out}: {error.strerror or error}")


@cli.command()
@click.option("--coalition", metavar="ID", help="One coalition's digest.")
@click.option("--all", "everyone", is_flag=True, help="The whole movement.")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Start date (YYYY-MM-DD).")
@click.option("--days", type=click.IntRange(1, 3660), default=30, show_default=True, help="Or: the last N days.")
@click.option("--format", "fmt", type=click.Choice(["md", "html", "json", "csv"]), default="md", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), help="File to write (a directory for csv).")
@click.option("--audience", type=click.Choice(["coalition", "movement", "public"]),
              help="Whose consent decides which stories appear (default: coalition with --coalition, "
                   "movement with --all). 'public' shows only stories shared publicly.")
@click.option("--language", type=click.Choice(list(SUPPORTED)),
              help="Language of the report's words, dates and numbers (default: the coalition's language "
                   "with --coalition, else the movement's). JSON keys, CSV columns and codes stay English.")
@click.pass_obj
def digest(config_file, coalition, everyone, since, days, fmt, out, audience, language) -> None:
    """A report of what coalitions shared in a period: stories (as their consent allows),
    principle coverage, experiments and impact, mobilisation, outside-in voices, strengths.

    Reports cover the whole period (chat digests show only what is new to their audience)."""
    from datetime import datetime, timedelta, timezone

    from adapters.report import render
    from bot.digest import Audience, Scope

    config = load(config_file)
    if bool(coalition) == everyone:
        raise click.UsageError("give either --coalition ID or --all")
    if coalition and config.coalition(coalition) is None:
        raise click.BadParameter(f"unknown coalition '{coalition}'; known: {_ids(config)}", param_hint="--coalition")
    chosen = Audience(audience or ("movement" if everyone else "coalition"))
    if chosen is Audience.COALITION and everyone:
        raise click.UsageError("a coalition audience needs --coalition ID (or use --audience movement)")
    if fmt == "csv" and out is None:
        raise click.UsageError("CSV writes one file per record type: give a directory with --out DIR.")
    now = datetime.now(timezone.utc)
    start = since.replace(tzinfo=timezone.utc) if since else now - timedelta(days=days)
    ids = tuple(c.id for c in config.coalitions) if everyone else (coalition,)
    scope = Scope(chosen, ids, start, now)
    texts = config.texts(language or config.language_of(coalition))
    principles = [(p.number, p.title) for p in config.principles_in(texts)]
    wanted = {c.id: tuple(c.wanted_sectors) for c in config.coalitions}
    today = now.astimezone(config.movement.zone).date()

    async def compute():
        engine = await open_engine(config)
        try:
            return await engine.store.digest(scope, principles, wanted, today)
        finally:
            await engine.store.close()

    result = asyncio.run(compute()).with_names({m.id: m.name for m in config.members})
    names = {c.id: c.name for c in config.coalitions}
    output = render(fmt, result, names, config.movement.name, texts)
    try:
        if fmt == "csv":
            from adapters.report.csvout import write_dir

            for path in write_dir(out, output):
                click.echo(f"wrote {path}", err=True)
        elif out:
            out.write_text(output, encoding="utf-8")
            click.echo(f"wrote {out}", err=True)
        else:
            click.echo(output, nl=False)
    except OSError as error:
        raise click.ClickException(f"cannot write {error.filename or out}: {error.strerror or error}")


@cli.command()
@click.option("--language", type=click.Choice(list(SUPPORTED)), help="Print the texts in this language "
              "(default: the movement's).")
@click.option("--update-catalogs", is_flag=True, help="Write bot/locale/cocreate.pot from the English texts "
              "and bring every language's catalog up to date with it (for translators).")
@click.pass_obj
def prompts(config_file: str | None, language: str | None, update_catalogs: bool) -> None:
    """Print the text library in effect, ready to reword under `prompts:` in app.yaml."""
    import yaml

    config = load(config_file)
    if update_catalogs:
        from bot.i18n import update_catalogs as update

        for path in update(config.library):
            click.echo(f"wrote {path}", err=True)
        return
    texts = config.texts(language)
    nested: dict[str, dict[str, str]] = {}
    for key, text in texts.library.items():
        flow, _, name = key.partition(".")
        nested.setdefault(flow, {})[name] = text
    document = {"prompts": {texts.code: nested}} if language else {"prompts": nested}
    click.echo(yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100), nl=False)


def _ids(config) -> str:
    return ", ".join(c.id for c in config.coalitions)


def _safe(url: str) -> str:
    """The URL without a password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    cli(prog_name="cocreate")
