"""The Teams app package to upload ("Apps -> Manage your apps -> Upload an app", or the
Teams admin centre): manifest.json, a localization file and the two icons, zipped at the root.

Teams has no slash commands: the bot reads command words from messages, and the manifest's
`commandLists` advertises them in the compose box. Manifest schema v1.19 allows at most 10
commands per list and the bot reads 18, so eight are left out: `map` (`join` offers to map a
hidden treasure right after you join), `impact` (the button on a check-in invitation sends it
for the member: nobody needs to type it), `digest`, `schedule` and `coordinator`, which are for
leaders and coordinators (`checkin` stays: it is how leaders start a round, the heart of the
method), `invite` (leaders), and `language` and `web`, which a member types once if ever. `help` (the first command) names
each left-out word and lists every one. `cancel` stays because the menu is where someone stuck
in the middle of a flow looks.

The package is bilingual: manifest.json holds the texts of its default language (English unless
asked) and its `localizationInfo` points Teams at a localization file for the other language
(`da.json`, or `en.json` when Danish is the default), which replaces the store listing and the
command menu for people whose Teams speaks that language. These texts are store listings, not
chat, so they live here in `TEXTS`, one dict per language.
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

# The words the bot reads (flows' entries, plus the engine's help and cancel): the ten in the
# menu, in menu order, and the rest, which `help` names.
MENU = ("help", "join", "strengths", "frame", "experiment", "checkin", "story", "reflect", "status", "cancel")
# Reachable from `join`, sent by the invitation's button, for leaders and coordinators, typed
# once if ever; `help` names them all.
LEFT_OUT = ("map", "impact", "digest", "dashboard", "schedule", "invite", "members", "add", "remove", "leader",
            "coalition", "coordinator", "language", "web", "mydata", "forget")

LANGUAGES = ("en", "da")  # language tags; the first is the default
LOCALIZATION_SCHEMA_URL = (
    f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.Localization.schema.json"
)

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

# The store listing and the command menu per language: `name` is the full name ({name} is the
# short one), `commands` maps each MENU word to its title (the word the bot reads in that
# language) and its line in the menu. Limits (v1.19): full name 100, short description 80,
# full description 4000, command title 32, command description 128 characters.
TEXTS: dict[str, dict] = {
    "en": {
        "name": "{name}: co-creation for cross-sector coalitions",
        "short": SHORT_DESCRIPTION,
        "full": FULL_DESCRIPTION,
        "commands": {
            # At most 128 characters, and every word left out of the menu named.
            # Every word left out of the menu, in 128 characters: separated by spaces alone.
            "help": ("help", "map impact digest dashboard schedule invite members add remove leader coalition "
                             "coordinator language web mydata forget"),
            "join": ("join", "join the coalition and say what you bring"),
            "strengths": ("strengths", "share when co-creation worked, and how to do more of it"),
            "frame": ("frame", "frame the problem from the outside in"),
            "experiment": ("experiment", "register a small, timeboxed test action"),
            "checkin": ("checkin", "ask every member of the coalition to check in on an experiment's impact"),
            "story": ("story", "share an ambassador story (or withdraw one of yours)"),
            "reflect": ("reflect", "reflect on one of the movement's principles"),
            "status": ("status", "see your open items, experiments and stories"),
            "cancel": ("cancel", "stop what you are in the middle of (nothing half-done is saved)"),
        },
    },
    "da": {
        "name": "{name}: samskabelse for tværsektorielle koalitioner",
        "short": "Samskabelse, effekt-indtjek og ambassadørhistorier for koalitioner",
        "full": (
            "Cocreate hjælper tværsektorielle koalitioner (kommuner, regioner, skoler, foreninger, "
            "virksomheder og borgere) med at samskabe i Teams. Medlemmerne melder sig til og fortæller "
            "hvad de bidrager med, kortlægger skjulte skatte i nærområdet og ser hvilke sektorer der "
            "mangler. Sammen deler de hvornår samskabelse er lykkedes, rammesætter problemet udefra og "
            "ind og registrerer små, tidsafgrænsede testhandlinger. Lederne laver effekt-indtjek på hvad "
            "hvert eksperiment betyder for forskellige interessenter, og medlemmerne reflekterer over "
            "bevægelsens principper og deler ambassadørhistorier med et samtykkeniveau de selv vælger. "
            "Skriv hjælp for at se alle kommandoer."
        ),
        "commands": {
            "help": ("hjælp", "kortlæg effekt overblik dashboard tidsplan inviter medlemmer tilføj fjern leder "
                              "koalition koordinator sprog web minedata glem"),
            "join": ("deltag", "bliv en del af koalitionen og fortæl hvad du bidrager med"),
            "strengths": ("styrker", "del hvornår samskabelse er lykkedes og hvordan vi gør mere af det"),
            "frame": ("ramme", "rammesæt problemet udefra og ind"),
            "experiment": ("eksperiment", "registrér en lille, tidsafgrænset testhandling"),
            "checkin": ("indtjek", "bed alle i koalitionen om et effekt-indtjek på et eksperiment"),
            "story": ("historie", "del en ambassadørhistorie (eller træk en af dine tilbage)"),
            "reflect": ("refleksion", "reflektér over et af bevægelsens principper"),
            "status": ("status", "se dine åbne punkter, eksperimenter og historier"),
            "cancel": ("afbryd", "stop det du er i gang med (intet halvfærdigt bliver gemt)"),
        },
    },
}

# The English menu as (word, help line) pairs.
COMMANDS = tuple(TEXTS["en"]["commands"][word] for word in MENU)

_SEMVER = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")


def manifest(app_id: str, url: str, name: str = "Cocreate", version: str = __version__,
             language: str = LANGUAGES[0]) -> dict:
    """manifest.json for a bot registered as `app_id` (the Microsoft App ID, a GUID) and served
    at `url` (public https base URL: the developer pages hang off it, its host is the valid domain),
    with its texts in `language` and a localization file named for each other language."""
    app_id = _guid(app_id)
    base, host = _https(url)
    if not 0 < len(name) <= 30:
        raise ValueError(f"the Teams app name must be 1 to 30 characters, not {len(name)}: {name!r}")
    if not _SEMVER.fullmatch(version):
        raise ValueError(f"the Teams app version must be MAJOR.MINOR.PATCH, like 1.0.0, not {version!r}")
    texts = TEXTS[_language(language)]
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
        "name": {"short": name, "full": texts["name"].format(name=name)},
        "description": {"short": texts["short"], "full": texts["full"]},
        "icons": dict(ICONS),
        "accentColor": ACCENT_COLOR,
        "bots": [{
            "botId": app_id,
            "scopes": list(SCOPES),
            "supportsFiles": False,
            "isNotificationOnly": False,
            # One list per scope, as the schema asks; the same words work in both.
            "commandLists": [{"scopes": [scope], "commands": _commands(language)} for scope in SCOPES],
        }],
        "validDomains": [host],
        "localizationInfo": {
            "defaultLanguageTag": language,
            "additionalLanguages": [{"languageTag": other, "file": f"{other}.json"}
                                    for other in LANGUAGES if other != language],
        },
    }


def localization(language: str, name: str = "Cocreate") -> dict:
    """The localization file (`<language>.json` in the package) that gives the store listing and
    the command menu in `language` to people whose Teams speaks it. Keys are paths into the
    manifest, like "bots[0].commandLists[0].commands[0].title"."""
    texts = TEXTS[_language(language)]
    document = {
        "$schema": LOCALIZATION_SCHEMA_URL,
        "name.short": name,
        "name.full": texts["name"].format(name=name),
        "description.short": texts["short"],
        "description.full": texts["full"],
    }
    for i, _ in enumerate(SCOPES):  # one command list per scope, as in the manifest
        for j, command in enumerate(_commands(language)):
            document[f"bots[0].commandLists[{i}].commands[{j}].title"] = command["title"]
            document[f"bots[0].commandLists[{i}].commands[{j}].description"] = command["description"]
    return document


def package(app_id: str, url: str, out: Path, name: str = "Cocreate", version: str = __version__,
            language: str = LANGUAGES[0]) -> Path:
    """Write the app package (a zip with manifest.json in `language`, a localization file for each
    other language, color.png and outline.png at its root) to `out`, or to `out`/cocreate-teams.zip
    if `out` is a directory. Returns the zip's path."""
    document = manifest(app_id, url, name, version, language)  # refuses bad input before touching `out`
    out = Path(out)
    if out.is_dir():
        out = out / PACKAGE_NAME
    icons = files(__package__).joinpath("icons")
    entries = {"manifest.json": _json(document)}
    entries.update({item["file"]: _json(localization(item["languageTag"], name))
                    for item in document["localizationInfo"]["additionalLanguages"]})
    entries.update({filename: icons.joinpath(filename).read_bytes() for filename in ICONS.values()})
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for filename, data in entries.items():
            entry = zipfile.ZipInfo(filename, date_time=(1980, 1, 1, 0, 0, 0))  # same input, same bytes
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, data, compress_type=zipfile.ZIP_DEFLATED)
    return out


def _commands(language: str) -> list[dict]:
    commands = TEXTS[language]["commands"]
    return [{"title": commands[word][0], "description": commands[word][1]} for word in MENU]


def _language(language: str) -> str:
    if language not in TEXTS:
        raise ValueError(f"the Teams app's language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    return language


def _json(document: dict) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


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
