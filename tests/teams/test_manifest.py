"""The Teams app package: a manifest the published schema accepts, advertising the words the
bot really reads, a localization file the published localization schema accepts, and icons of
the sizes and kinds Teams demands, zipped at the root."""

from __future__ import annotations

import io
import json
import os
import re
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from jsonschema import Draft4Validator, Draft6Validator, validators

from adapters.teams.manifest import (
    COMMANDS, LEFT_OUT, MAX_COMMANDS, MENU, TEXTS, localization, manifest, package,
)
from bot import __version__
from bot.texts import TEXTS as CORE_TEXTS
from bot.types import Role
from flows.prompts import PROMPTS, flat
from flows.registry import all_flows

APP_ID = "6f1c2b7e-3a4d-4e5f-8a9b-0c1d2e3f4a5b"
URL = "https://cocreate.example.org"
SCHEMAS = Path(__file__).resolve().parent.parent / "data" / "schemas"
SCHEMA = SCHEMAS / "teams-manifest-v1.19.schema.json"
# The published localization schema v1.19 (see tests/data/schemas/README.md for its source).
LOCALIZATION_SCHEMA = SCHEMAS / "teams-localization-v1.19.schema.json"
COCREATE = Path(sys.executable).parent / "cocreate"
DANISH_SAMPLE = Path(__file__).resolve().parent.parent.parent / "examples" / "app.da.yaml"

# The schema declares draft-04 but pins manifestVersion with draft-06's `const`, which a plain
# Draft4Validator ignores; add it so a manifest claiming another version fails too.
TeamsValidator = validators.extend(Draft4Validator, {"const": Draft6Validator.VALIDATORS["const"]})


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    TeamsValidator.check_schema(schema)
    return TeamsValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def localization_validator():
    schema = json.loads(LOCALIZATION_SCHEMA.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)


def errors(validator, document) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_the_manifest_validates_against_the_published_schema(validator):
    doc = manifest(APP_ID, URL)
    assert errors(validator, doc) == []
    assert doc["$schema"] == "https://developer.microsoft.com/json-schemas/teams/v1.19/MicrosoftTeams.schema.json"
    assert (doc["manifestVersion"], doc["version"], doc["id"]) == ("1.19", __version__, APP_ID)
    assert doc["developer"] == {
        "name": "Cocreate",
        "websiteUrl": "https://cocreate.example.org/",
        "privacyUrl": "https://cocreate.example.org/privacy",
        "termsOfUseUrl": "https://cocreate.example.org/terms",
    }
    assert doc["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert doc["validDomains"] == ["cocreate.example.org"]
    assert "webApplicationInfo" not in doc  # a plain bot signs nobody in
    # The schema does not require `bots` (a tab-only app is valid), so check ours is there.
    [bot] = doc["bots"]
    assert bot["botId"] == APP_ID and bot["scopes"] == ["personal", "team"]
    assert (bot["supportsFiles"], bot["isNotificationOnly"]) == (False, False)
    assert [lst["scopes"] for lst in bot["commandLists"]] == [["personal"], ["team"]]
    assert len(doc["name"]["short"]) <= 30 and len(doc["description"]["short"]) <= 80
    assert "co-creation" in doc["description"]["full"] and len(doc["description"]["full"]) <= 4000


def _eleven_commands(doc):
    doc["bots"][0]["commandLists"][0]["commands"].append({"title": "map", "description": "map a hidden treasure"})


def _no_developer(doc):
    del doc["developer"]


def _bad_bot_id(doc):
    doc["bots"][0]["botId"] = "cocreate-bot"


def _long_name(doc):
    doc["name"]["short"] = "C" * 31


def _long_description(doc):
    doc["bots"][0]["commandLists"][1]["commands"][0]["description"] = "x" * 129


def _other_version(doc):
    doc["manifestVersion"] = "1.25"


def _unknown_field(doc):
    doc["bots"][0]["slashCommands"] = []


@pytest.mark.parametrize("breaks,where,complaint", [
    pytest.param(_eleven_commands, "bots/0/commandLists/0/commands", "is too long", id="eleven_commands"),
    pytest.param(_no_developer, "", "'developer' is a required property", id="no_developer"),
    pytest.param(_bad_bot_id, "bots/0/botId", "does not match", id="bad_bot_id"),
    pytest.param(_long_name, "name/short", "is too long", id="long_name"),
    pytest.param(_long_description, "bots/0/commandLists/1/commands/0/description", "is too long",
                 id="long_description"),
    pytest.param(_other_version, "manifestVersion", "'1.19' was expected", id="other_version"),
    pytest.param(_unknown_field, "bots/0", "Additional properties are not allowed ('slashCommands'",
                 id="unknown_field"),
])
def test_the_schema_has_teeth(validator, breaks, where, complaint):
    doc = manifest(APP_ID, URL)
    breaks(doc)
    found = errors(validator, doc)
    assert len(found) == 1 and found[0].startswith(f"{where}: ") and complaint in found[0], found


def test_command_lists_advertise_what_the_bot_reads():
    """Words and help lines come from the flows and the text library (adapters may not import
    flows, so the manifest keeps a copy: this test keeps it honest)."""
    flows = {word: flow for flow in all_flows() for word in flow.entries}
    reads = set(flows) | {"help", "cancel"}
    words = [word for word, _ in COMMANDS]
    assert sorted(words + list(LEFT_OUT)) == sorted(reads) == sorted(CORE_TEXTS["commands"]) and len(reads) == 26
    assert words == list(MENU) and len(words) == MAX_COMMANDS and words[0] == "help" and words[-1] == "cancel"
    # Left out: what a member never needs to type (map follows join; impact is sent by the
    # invitation's button; language, the web link, a copy of one's data and its erasure are asked
    # for once), and what only leaders and coordinators may use.
    assert LEFT_OUT == ("map", "impact", "digest", "dashboard", "schedule", "invite", "members", "add", "remove",
                        "leader", "coalition", "coordinator", "language", "web", "mydata", "forget")
    assert flows["map"] is flows["join"] and (flows["schedule"].role, flows["coordinator"].role) == (
        Role.LEADER, Role.COORDINATOR)
    assert {flows[w].role for w in ("members", "add", "remove")} == {Role.LEADER}
    assert {flows[w].role for w in ("leader", "coalition")} == {Role.COORDINATOR}
    library = flat(PROMPTS) | flat(CORE_TEXTS)
    for word, text in COMMANDS:
        if word in flows:
            assert text == library[f"help.{word}"], word
        assert 0 < len(text) <= 128
    assert dict(COMMANDS)["cancel"] == library["engine.help_cancel"]
    for word in LEFT_OUT:  # help is where the left-out words are found
        assert word in dict(COMMANDS)["help"], word
    for command_list in manifest(APP_ID, URL)["bots"][0]["commandLists"]:
        assert command_list["commands"] == [{"title": w, "description": t} for w, t in COMMANDS]


def test_urls_come_from_the_base_url():
    doc = manifest(APP_ID, "https://Bots.Example.org:8443/cocreate/", name="Coalition Lab", version="2.3.4")
    assert doc["developer"]["websiteUrl"] == "https://Bots.Example.org:8443/cocreate/"
    assert doc["developer"]["termsOfUseUrl"] == "https://Bots.Example.org:8443/cocreate/terms"
    assert doc["validDomains"] == ["bots.example.org"]
    assert doc["name"]["short"] == "Coalition Lab" and doc["version"] == "2.3.4"


@pytest.mark.parametrize("app_id", ["", "cocreate", APP_ID[:-1], APP_ID.replace("-", ""), "{" + APP_ID + "}",
                                    "urn:uuid:" + APP_ID, APP_ID.replace("a", "g")])
def test_a_non_guid_app_id_is_refused(app_id, tmp_path):
    with pytest.raises(ValueError, match=r"app id must be the bot's Microsoft App ID, a GUID like 0000"):
        manifest(app_id, URL)
    with pytest.raises(ValueError, match="GUID"):
        package(app_id, URL, tmp_path / "app.zip")
    assert not (tmp_path / "app.zip").exists()


@pytest.mark.parametrize("url", ["http://cocreate.example.org", "cocreate.example.org", "ftp://x.org",
                                 "https://", "//cocreate.example.org", ""])
def test_a_url_that_is_not_https_is_refused(url, tmp_path):
    with pytest.raises(ValueError, match=r"must start with https:// \(Teams accepts only https links\)"):
        manifest(APP_ID, url)
    with pytest.raises(ValueError, match="https://"):
        package(APP_ID, url, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_other_bad_input_is_refused():
    with pytest.raises(ValueError, match="plain base URL"):
        manifest(APP_ID, "https://x.org/?next=1")
    with pytest.raises(ValueError, match="1 to 30 characters"):
        manifest(APP_ID, URL, name="A coalition name far too long to fit")
    with pytest.raises(ValueError, match="MAJOR.MINOR.PATCH"):
        manifest(APP_ID, URL, version="1.0")
    with pytest.raises(ValueError, match="language must be one of en, da, not 'sv'"):
        manifest(APP_ID, URL, language="sv")
    with pytest.raises(ValueError, match="one of en, da"):
        localization("sv")


# -- languages ----------------------------------------------------------------------------------

# The Danish command words, as the lead gave them, for the ten in the menu.
DANISH_TITLES = {
    "help": "hjælp", "join": "deltag", "strengths": "styrker", "frame": "ramme", "experiment": "eksperiment",
    "checkin": "indtjek", "story": "historie", "reflect": "refleksion", "status": "status", "cancel": "afbryd",
}
DANISH_LEFT_OUT = {"map": "kortlæg", "impact": "effekt", "digest": "overblik", "dashboard": "dashboard", "schedule": "tidsplan",
                   "invite": "inviter", "members": "medlemmer", "add": "tilføj", "remove": "fjern", "leader": "leder",
                   "coalition": "koalition", "coordinator": "koordinator", "language": "sprog", "web": "web",
                   "mydata": "minedata", "forget": "glem"}


@pytest.mark.parametrize("default,other", [("en", "da"), ("da", "en")])
def test_both_languages_are_in_every_package(default, other, validator, localization_validator):
    doc = manifest(APP_ID, URL, language=default)
    assert errors(validator, doc) == []
    assert doc["localizationInfo"] == {
        "defaultLanguageTag": default,
        "additionalLanguages": [{"languageTag": other, "file": f"{other}.json"}],
    }
    texts = localization(other)
    assert errors(localization_validator, texts) == []
    assert texts["$schema"] == (
        "https://developer.microsoft.com/json-schemas/teams/v1.19/MicrosoftTeams.Localization.schema.json")
    # The localization file is exactly the other language's manifest, key by key.
    assert texts == localization(other) == _as_localization(manifest(APP_ID, URL, language=other))
    # Only the words and texts differ between the two manifests.
    english, danish = (manifest(APP_ID, URL, language=code) for code in ("en", "da"))
    for doc in (english, danish):
        for key in _as_localization(doc):
            _drop(doc, key)
        del doc["localizationInfo"]
    assert english == danish


def test_every_localized_key_names_a_text_of_the_manifest():
    for code in ("en", "da"):
        doc = manifest(APP_ID, URL, language=code)
        keys = [key for key in localization(code) if key != "$schema"]
        assert len(keys) == 4 + 2 * 2 * MAX_COMMANDS  # name, description; title and description per command
        for key in keys:
            assert isinstance(_at(doc, key), str), key


def test_the_danish_texts(localization_validator):
    danish = localization("da")
    for i in (0, 1):
        titles = [danish[f"bots[0].commandLists[{i}].commands[{j}].title"] for j in range(MAX_COMMANDS)]
        assert titles == [DANISH_TITLES[word] for word in MENU]
    help_line = danish["bots[0].commandLists[0].commands[0].description"]
    for word in DANISH_LEFT_OUT.values():  # help names the left-out words, in Danish
        assert word in help_line, word
    assert danish["name.short"] == "Cocreate"
    assert danish["name.full"] == "Cocreate: samskabelse for tværsektorielle koalitioner"
    assert danish["description.short"] == "Samskabelse, effekt-indtjek og ambassadørhistorier for koalitioner"
    assert "Skriv hjælp" in danish["description.full"] and "ambassadørhistorier" in danish["description.full"]
    for code in ("en", "da"):
        assert sorted(TEXTS[code]["commands"]) == sorted(MENU)
    # A name of 30 characters still fits the full name (100) in both languages.
    for code in ("en", "da"):
        assert errors(localization_validator, localization(code, name="C" * 30)) == []


def test_the_danish_titles_are_the_words_the_bot_reads_in_danish():
    """The Danish catalog's command words (the first of each is what `help` shows), once it has them."""
    from bot.i18n import translations

    catalog = translations("da")
    known = {word: catalog[f"commands.{word}"] for word in [*MENU, *LEFT_OUT] if f"commands.{word}" in catalog}
    if not known:
        pytest.skip("the Danish catalog has no command words yet")
    for word, words in known.items():
        assert (DANISH_TITLES | DANISH_LEFT_OUT)[word] == words.split("|")[0].strip(), word


def _long_short_name(doc):
    doc["name.short"] = "C" * 31


def _no_full_name(doc):
    del doc["name.full"]


def _eleventh_command(doc):
    doc["bots[0].commandLists[0].commands[10].title"] = "kortlæg"


def _long_title(doc):
    doc["bots[0].commandLists[1].commands[2].title"] = "x" * 33


def _unknown_key(doc):
    doc["name.medium"] = "Cocreate"


@pytest.mark.parametrize("breaks,where,complaint", [
    pytest.param(_long_short_name, "name.short", "is too long", id="long_short_name"),
    pytest.param(_no_full_name, "", "'name.full' is a required property", id="no_full_name"),
    pytest.param(_eleventh_command, "", "'bots[0].commandLists[0].commands[10].title' does not match any of "
                 "the regexes", id="eleventh_command"),
    pytest.param(_long_title, "bots[0].commandLists[1].commands[2].title", "is too long", id="long_title"),
    pytest.param(_unknown_key, "", "'name.medium' does not match any of the regexes", id="unknown_key"),
])
def test_the_localization_schema_has_teeth(localization_validator, breaks, where, complaint):
    doc = localization("da")
    breaks(doc)
    found = errors(localization_validator, doc)
    assert len(found) == 1 and found[0].startswith(f"{where}: ") and complaint in found[0], found


def _as_localization(doc: dict) -> dict:
    """The keys a localization file gives, read from a manifest."""
    texts = {
        "$schema": "https://developer.microsoft.com/json-schemas/teams/v1.19/MicrosoftTeams.Localization.schema.json",
        "name.short": doc["name"]["short"], "name.full": doc["name"]["full"],
        "description.short": doc["description"]["short"], "description.full": doc["description"]["full"],
    }
    for i, command_list in enumerate(doc["bots"][0]["commandLists"]):
        for j, command in enumerate(command_list["commands"]):
            texts[f"bots[0].commandLists[{i}].commands[{j}].title"] = command["title"]
            texts[f"bots[0].commandLists[{i}].commands[{j}].description"] = command["description"]
    return texts


def _path(key: str) -> list[str | int]:
    """A key as steps into the manifest: bots[0].commandLists[1].title -> bots, 0, commandLists, 1, title."""
    steps: list[str | int] = []
    for part in key.split("."):
        name, *indexes = re.findall(r"[^\[\]]+", part)
        steps += [name, *map(int, indexes)]
    return steps


def _at(doc, key: str):
    for step in _path(key):
        doc = doc[step]
    return doc


def _drop(doc, key: str) -> None:
    if key == "$schema":
        return
    *parents, last = _path(key)
    for step in parents:
        doc = doc[step]
    del doc[last]


def test_the_command_takes_the_default_language_from_the_option_or_the_movement(tmp_path):
    def build(*options: str, config: Path | None = None) -> dict[str, dict]:
        out = tmp_path / "app.zip"
        env = {k: v for k, v in os.environ.items() if k != "COCREATE_CONFIG"}
        before = ("--config", str(config)) if config else ()
        result = subprocess.run(
            [str(COCREATE), *before, "manifest", "teams", "--app-id", APP_ID, "--url", URL, "--out", str(out), *options],
            capture_output=True, text=True, encoding="utf-8", timeout=60, cwd=tmp_path, env=env)
        assert result.returncode == 0 and "wrote" in result.stdout, result.stderr
        with zipfile.ZipFile(out) as archive:
            return {name: json.loads(archive.read(name)) for name in archive.namelist() if name.endswith(".json")}

    english = build()  # no app.yaml in tmp_path: English
    assert sorted(english) == ["da.json", "manifest.json"] and english["manifest.json"] == manifest(APP_ID, URL)
    assert build("--language", "en", config=DANISH_SAMPLE) == english
    danish = build("--language", "da")
    assert sorted(danish) == ["en.json", "manifest.json"]
    assert danish["manifest.json"] == manifest(APP_ID, URL, language="da") and danish["en.json"] == localization("en")
    assert build(config=DANISH_SAMPLE) == danish  # the Danish sample movement: Danish by default


# -- the package --------------------------------------------------------------------------------

def png(data: bytes) -> tuple[int, int, int, list[list[tuple[int, ...]]]]:
    """Width, height, colour type and pixel rows of an 8-bit, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        chunks.append((kind, data[at + 8:at + 8 + length]))
        at += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, interlace) == (8, 0)
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride, rows, previous = width * channels, [], bytes(width * channels)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b = previous[x]
            c = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + a) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + b) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append([tuple(line[i:i + channels]) for i in range(0, stride, channels)])
        previous = bytes(line)
    return width, height, colour, rows


@pytest.fixture(scope="module")
def zipped(tmp_path_factory) -> Path:
    return package(APP_ID, URL, tmp_path_factory.mktemp("teams") / "cocreate.zip")


def test_the_package_holds_exactly_the_manifest_the_danish_texts_and_two_icons_at_its_root(
        zipped, validator, localization_validator):
    with zipfile.ZipFile(zipped) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == ["color.png", "da.json", "manifest.json", "outline.png"]
        doc = json.loads(archive.read("manifest.json").decode("utf-8"))
        danish = json.loads(archive.read("da.json").decode("utf-8"))
    assert doc == manifest(APP_ID, URL) and errors(validator, doc) == []
    assert danish == localization("da") and errors(localization_validator, danish) == []


def test_the_colour_icon_is_192_full_colour(zipped):
    with zipfile.ZipFile(zipped) as archive:
        width, height, colour, rows = png(archive.read("color.png"))
    assert (width, height) == (192, 192) and colour in (2, 6)  # truecolour, not grey or palette
    pixels = {p[:3] for row in rows for p in row}
    assert len(pixels) > 50 and any(len(set(p)) > 1 for p in pixels)
    if colour == 6:
        assert all(p[3] == 255 for row in rows for p in row)  # no see-through holes


def test_the_outline_icon_is_32_white_on_transparent(zipped):
    with zipfile.ZipFile(zipped) as archive:
        width, height, colour, rows = png(archive.read("outline.png"))
    assert (width, height, colour) == (32, 32, 6)  # RGBA
    pixels = [p for row in rows for p in row]
    assert all(p[:3] == (255, 255, 255) for p in pixels if p[3] > 0), "only white (or transparent) pixels"
    assert sum(p[3] == 0 for p in pixels) > len(pixels) // 2  # a transparent background
    assert any(p[3] == 255 for p in pixels)  # and a visible mark
    assert all(p[3] == 0 for p in rows[0] + rows[-1])  # nothing touches the top or bottom edge


def test_a_directory_gets_a_named_package_and_the_bytes_are_reproducible(tmp_path, zipped):
    made = package(APP_ID, URL, tmp_path)
    assert made == tmp_path / "cocreate-teams.zip"
    assert made.read_bytes() == zipped.read_bytes()
    with zipfile.ZipFile(io.BytesIO(made.read_bytes())) as archive:
        assert all("/" not in name for name in archive.namelist())
