"""The Teams app package: a manifest the published schema accepts, advertising the words the
bot really reads, and icons of the sizes and kinds Teams demands, zipped at the root."""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from jsonschema import Draft4Validator, Draft6Validator, validators

from adapters.teams.manifest import COMMANDS, LEFT_OUT, MAX_COMMANDS, manifest, package
from bot import __version__
from bot.types import Role
from flows.registry import all_flows

APP_ID = "6f1c2b7e-3a4d-4e5f-8a9b-0c1d2e3f4a5b"
URL = "https://cocreate.example.org"
SCHEMA = Path(__file__).resolve().parent.parent / "data" / "schemas" / "teams-manifest-v1.19.schema.json"

# The schema declares draft-04 but pins manifestVersion with draft-06's `const`, which a plain
# Draft4Validator ignores; add it so a manifest claiming another version fails too.
TeamsValidator = validators.extend(Draft4Validator, {"const": Draft6Validator.VALIDATORS["const"]})


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    TeamsValidator.check_schema(schema)
    return TeamsValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)


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
    """Words and help lines come from the flows (adapters may not import them, so the manifest
    keeps a copy: this test keeps it honest)."""
    flows = {word: flow for flow in all_flows() for word in flow.entries}
    reads = set(flows) | {"help", "cancel"}
    words = [word for word, _ in COMMANDS]
    assert sorted(words + list(LEFT_OUT)) == sorted(reads) and len(reads) == 15
    assert len(words) == MAX_COMMANDS and words[0] == "help" and words[-1] == "cancel"
    # Left out: what a member never needs to type (map follows join; impact is sent by the
    # invitation's button) and what only leaders and coordinators may use.
    assert LEFT_OUT == ("map", "impact", "digest", "schedule", "coordinator")
    assert flows["map"] is flows["join"] and (flows["schedule"].role, flows["coordinator"].role) == (
        Role.LEADER, Role.COORDINATOR)
    for word, text in COMMANDS:
        if word in flows:
            assert text == flows[word].describe(word), word
        assert 0 < len(text) <= 128
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


def test_the_package_holds_exactly_the_manifest_and_two_icons_at_its_root(zipped, validator):
    with zipfile.ZipFile(zipped) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        doc = json.loads(archive.read("manifest.json").decode("utf-8"))
    assert doc == manifest(APP_ID, URL) and errors(validator, doc) == []


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
