"""The Teams app package to upload ("Apps -> Manage your apps -> Upload an app", or the
Teams admin centre): manifest.json plus the two icons, zipped at the root.

Teams has no slash commands: the bot reads command words from messages, and the manifest's
`commandLists` advertises them in the compose box. Manifest schema v1.19 allows at most 10
commands per list and the bot reads 15, so five are left out: `map` (`join` offers to map a
hidden treasure right after you join), `impact` (the button on a check-in invitation sends it
for the member: nobody needs to type it), and `digest`, `schedule` and `coordinator`, which are
for leaders and coordinators (`checkin` stays: it is how leaders start a round, the heart of
the method). `help` (the first command) names each left-out word and lists every one. `cancel`
stays because the menu is where someone stuck in the middle of a flow looks.
"""

from __future__ import annotations

import json
import re
import zipfile
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit

from bot import __version__
from adapters.teams.settings import GUID

MANIFEST_VERSION = "1.19"  # v1.25's schema has a \p{L} regex Python's `re` cannot compile
SCHEMA_URL = f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
ACCENT_COLOR = "#2F5D50"  # the Slack app's background colour
ICONS = {"color": "color.png", "outline": "outline.png"}  # 192x192 colour, 32x32 white on transparent
SCOPES = ("personal", "team")
MAX_COMMANDS = 10  # per command list, in the v1.19 schema
PACKAGE_NAME = "cocreate-teams.zip"

# The words the bot reads (flows' `describe()`, plus the engine's help and cancel), in menu order.
COMMANDS = (
    ("help", "list everything you can do here, including map (a hidden treasure), impact, digest, schedule, "
             "coordinator"),
    ("join", "join the coalition and say what you bring"),
    ("strengths", "share when co-creation worked, and how to do more of it"),
    ("frame", "frame the problem from the outside in"),
    ("experiment", "register a small, timeboxed test action"),
    ("checkin", "ask every member of the coalition to check in on an experiment's impact"),
    ("story", "share an ambassador story (or withdraw one of yours)"),
    ("reflect", "reflect on one of the movement's principles"),
    ("status", "see your open items, experiments and stories"),
    ("cancel", "stop what you are in the middle of (nothing half-done is saved)"),
)
# Reachable from `join`, sent by the invitation's button, for leaders and coordinators; `help`
# names them all.
LEFT_OUT = ("map", "impact", "digest", "schedule", "coordinator")

SHORT_DESCRIPTION = "Co-creation prompts, impact check-ins and stories for coalitions"
FULL_DESCRIPTION = (
    "Cocreate helps cross-sector coalitions (municipalities, regions, schools, NGOs, businesses "
    "and citizens) practise co-creation together in Teams. Members join and say what they bring, "
    "map the hidden treasures nearby and notice which sectors are missing. Together they share when "
    "co-creation worked, frame the problem from the outside in, and register small, timeboxed test "
    "actions. Leaders check in on the impact each experiment has for different stakeholders, and "
    "members reflect on the movement's principles and share ambassador stories, with a consent level "
    "they choose. Type help to see every command."
)

_SEMVER = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")


def manifest(app_id: str, url: str, name: str = "Cocreate", version: str = __version__) -> dict:
    """manifest.json for a bot registered as `app_id` (the Microsoft App ID, a GUID) and served
    at `url` (public https base URL: the developer pages hang off it, its host is the valid domain)."""
    app_id = _guid(app_id)
    base, host = _https(url)
    if not 0 < len(name) <= 30:
        raise ValueError(f"the Teams app name must be 1 to 30 characters, not {len(name)}: {name!r}")
    if not _SEMVER.fullmatch(version):
        raise ValueError(f"the Teams app version must be MAJOR.MINOR.PATCH, like 1.0.0, not {version!r}")
    return {
        "$schema": SCHEMA_URL,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id,
        "developer": {
            "name": "Cocreate",
            "websiteUrl": f"{base}/",
            "privacyUrl": f"{base}/privacy",
            "termsOfUseUrl": f"{base}/terms",
        },
        "name": {"short": name, "full": f"{name}: co-creation for cross-sector coalitions"},
        "description": {"short": SHORT_DESCRIPTION, "full": FULL_DESCRIPTION},
        "icons": dict(ICONS),
        "accentColor": ACCENT_COLOR,
        "bots": [{
            "botId": app_id,
            "scopes": list(SCOPES),
            "supportsFiles": False,
            "isNotificationOnly": False,
            # One list per scope, as the schema asks; the same words work in both.
            "commandLists": [{"scopes": [scope], "commands": _commands()} for scope in SCOPES],
        }],
        "validDomains": [host],
    }


def package(app_id: str, url: str, out: Path, name: str = "Cocreate", version: str = __version__) -> Path:
    """Write the app package (a zip with manifest.json, color.png and outline.png at its root)
    to `out`, or to `out`/cocreate-teams.zip if `out` is a directory. Returns the zip's path."""
    document = manifest(app_id, url, name, version)  # refuses bad input before touching `out`
    out = Path(out)
    if out.is_dir():
        out = out / PACKAGE_NAME
    icons = files(__package__).joinpath("icons")
    entries = {"manifest.json": (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")}
    entries.update({filename: icons.joinpath(filename).read_bytes() for filename in ICONS.values()})
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for filename, data in entries.items():
            entry = zipfile.ZipInfo(filename, date_time=(1980, 1, 1, 0, 0, 0))  # same input, same bytes
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, data, compress_type=zipfile.ZIP_DEFLATED)
    return out


def _commands() -> list[dict]:
    return [{"title": word, "description": text} for word, text in COMMANDS]


def _guid(app_id: str) -> str:
    value = app_id.strip()
    if not GUID.fullmatch(value):
        raise ValueError(
            "the Teams app id must be the bot's Microsoft App ID, a GUID like "
            f"00000000-0000-0000-0000-000000000000, not {app_id!r}"
        )
    return value


def _https(url: str) -> tuple[str, str]:
    """The base URL without a trailing slash, and its host."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ValueError(f"the public URL must start with https:// (Teams accepts only https links), not {url!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"the public URL must be a plain base URL, like https://cocreate.example.org, not {url!r}")
    return f"https://{parts.netloc}{parts.path.rstrip('/')}", parts.hostname
