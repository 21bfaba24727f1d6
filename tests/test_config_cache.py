"""app.yaml's parse cache (bot/yaml_cache.py): the same bytes are parsed once, what comes back
is what the parser gave, and the cache never stands between the user and their config."""

from __future__ import annotations

import os
import stat
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import yaml_cache
from bot.config import _PARSER, ConfigError, load_config
from flows.prompts import PRINCIPLES, PROMPTS, flat

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = (Path(__file__).parent / "data" / "config" / "minimal.yaml").read_text(encoding="utf-8")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("COCREATE_CACHE_DIR", str(directory))
    return directory


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the YAML parses (bot.config calls yaml.load for each)."""
    calls: list[int] = []
    load = yaml.load

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return load(*args, **kwargs)

    monkeypatch.setattr(yaml, "load", counted)
    return calls


def load(path: Path | str):
    return load_config(path, flat(PROMPTS), PRINCIPLES)


def message(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load(path)
    return str(info.value)


def test_the_same_file_is_parsed_once_and_loads_the_same_config(cache, parses):
    path = ROOT / "app.yaml"
    first = load(path)
    second = load(path)
    assert len(parses) == 1
    assert second.model_dump() == first.model_dump()
    assert second.prompts == first.prompts and second.names == first.names
    assert [p.name for p in cache.iterdir()] != []  # where COCREATE_CACHE_DIR says


def test_what_json_cannot_say_comes_back_as_the_parser_gave_it(tmp_path, cache, parses):
    # A date and a number as a key reach the checks as YAML typed them: the same messages.
    path = tmp_path / "app.yaml"
    path.write_text(MINIMAL + "schedules:\n  - {id: s, kind: story, starts_on: 2026-01-05}\n"
                              "prompts:\n  7: x\n", encoding="utf-8")
    first = message(path)
    assert "schedules[0].starts_on: expected text, got datetime.date(2026, 1, 5)" in first
    assert message(path) == first
    assert len(parses) == 1


@pytest.mark.parametrize("tree", [
    {"date": date(2026, 1, 5), "naive": datetime(2026, 1, 5, 9, 30, 0, 100000),
     "aware": datetime(2026, 1, 5, 9, 30, tzinfo=timezone(timedelta(hours=-5))), "utc": datetime(2026, 1, 5, tzinfo=timezone.utc)},
    {1: "one", 1.5: "x", False: "no", None: "null", date(2026, 1, 1): "d"},
    {"!": "a mapping with the cache's own tag key", "v": [1]},
    {"set": {"a", "b"}, "omap": [("one", 1), ("two", 2)], "bytes": b"GIF89a\x00\xff"},
    {"numbers": [0, -0.0, 1e300, float("inf"), 2**80, True], "text": "æøå \x01 \u2028 🍎", "empty": [{}, [], ""]},
    ["not", "a", "mapping"],
    None,
], ids=["dates", "keys", "tag-key", "set-omap-bytes", "numbers-text", "list", "empty"])
def test_the_cache_gives_back_exactly_what_it_was_given(cache, tree):
    data = b"the file's bytes"
    yaml_cache.put("app.yaml", data, _PARSER, tree)
    back = yaml_cache.get("app.yaml", data, _PARSER)
    assert back == tree and typed(back) == typed(tree)  # the same types: True is not 1, tuples stay


def typed(value):
    """The value with every part's type beside it; a set's order left out (it follows the hash seed)."""
    if isinstance(value, dict):
        return (dict, [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, (set, frozenset)):
        return (type(value), sorted(map(repr, map(typed, value))))
    if isinstance(value, (list, tuple)):
        return (type(value), [typed(v) for v in value])
    return (type(value), repr(value))


def test_an_edited_file_is_parsed_again_even_with_the_same_size_and_time(tmp_path, cache, parses):
    path = tmp_path / "app.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    assert load(path).movement.name == "Test Movement"
    stat_before = path.stat()
    path.write_text(MINIMAL.replace("Test Movement", "Test Movemenu"), encoding="utf-8")  # one byte
    os.utime(path, ns=(stat_before.st_atime_ns, stat_before.st_mtime_ns))
    assert load(path).movement.name == "Test Movemenu"
    assert load(path).movement.name == "Test Movemenu"
    assert len(parses) == 2
    assert len(list(cache.iterdir())) == 1  # one file per config path: the old content is gone


def test_a_config_at_another_path_does_not_take_the_first_ones_place(tmp_path, cache, parses):
    (tmp_path / "a.yaml").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(MINIMAL.replace("Test Movement", "Other"), encoding="utf-8")
    for _ in range(2):
        assert load(tmp_path / "a.yaml").movement.name == "Test Movement"
        assert load(tmp_path / "b.yaml").movement.name == "Other"
    assert len(parses) == 2


def corrupt(cache: Path, change) -> None:
    (file,) = cache.iterdir()
    file.write_bytes(change(file.read_bytes()))


@pytest.mark.parametrize("change", [
    lambda b: b"",
    lambda b: b"\x00\xff garbage",
    lambda b: b[:-10],  # cut short
    lambda b: b[:-10] + b"}}}}}}}}}}",  # the right size, not JSON
    lambda b: b.replace(b"\nplain ", b"\nwhat? ", 1),
    lambda b: b.replace(b"\nplain ", b"\nplain x", 1),
    lambda b: b.replace(b"cache 1;", b"cache 0;", 1),  # another format
], ids=["empty", "garbage", "cut", "not-json", "mode", "size", "format"])
def test_a_corrupt_cache_file_is_ignored_and_rewritten(tmp_path, cache, parses, change):
    path = tmp_path / "app.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    first = load(path)
    corrupt(cache, change)
    assert load(path).model_dump() == first.model_dump()
    assert len(parses) == 2
    assert load(path).model_dump() == first.model_dump()
    assert len(parses) == 2  # written again, and good


def test_a_tagged_cache_file_with_an_unknown_tag_is_ignored(tmp_path, cache, parses):
    path = tmp_path / "app.yaml"
    path.write_text(MINIMAL + "retention: {answers_months: 2026-01-05}\n", encoding="utf-8")
    first = message(path)
    corrupt(cache, lambda b: b.replace(b'"!":"date"', b'"!":"dote"'))
    assert message(path) == first
    assert len(parses) == 2


@pytest.mark.parametrize("where", ["under-a-file", "is-a-file", "file-is-a-directory"])
def test_a_cache_that_cannot_be_written_or_read_is_done_without(tmp_path, monkeypatch, parses, where):
    # Like a read-only home or a container: the config loads, the YAML is parsed every time.
    # (A file in the way rather than permissions: the tests may run as root.)
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    directory = {"under-a-file": blocker / "cache", "is-a-file": blocker}.get(where, tmp_path / "cache")
    monkeypatch.setenv("COCREATE_CACHE_DIR", str(directory))
    path = tmp_path / "app.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    if where == "file-is-a-directory":
        yaml_cache.put(str(path), b"", _PARSER, {})
        (file,) = directory.iterdir()
        file.unlink()
        file.mkdir()
    first = load(path)
    assert load(path).model_dump() == first.model_dump()
    assert len(parses) == 2
    assert [p.name for p in tmp_path.rglob("*.tmp")] == []  # no temporary file left behind


@pytest.mark.parametrize("text", [
    "movement:\n  name: X\n members: [\n",  # a syntax error
    MINIMAL + "members: []\n",  # a key given twice
])
def test_a_file_with_a_yaml_error_is_not_cached_and_says_the_same_twice(tmp_path, cache, parses, text):
    path = tmp_path / "app.yaml"
    path.write_text(text, encoding="utf-8")
    first = message(path)
    assert first.startswith(f"{path}: invalid YAML: line ")
    assert message(path) == first
    assert len(parses) == 2
    assert not cache.exists() or list(cache.iterdir()) == []


def test_a_file_that_is_not_utf8_is_still_refused_with_the_byte(tmp_path, cache):
    path = tmp_path / "app.yaml"
    path.write_bytes(MINIMAL.encode() + b"# caf\xe9\n")
    assert message(path) == f"{path}: cannot read file: not UTF-8 text (byte {len(MINIMAL.encode()) + 5})"
    assert not cache.exists()


def test_windows_line_ends_read_as_before(tmp_path, cache, parses):
    # The file is read as bytes (for their hash), then decoded as text mode did: \r\n -> \n.
    path = tmp_path / "app.yaml"
    path.write_bytes(MINIMAL.replace("\n", "\r\n").encode() + b'prompts:\r\n  story: {title: "Two\r\n    lines"}\r\n')
    for _ in range(2):
        assert load(path).prompts["story.title"] == "Two lines"
    assert len(parses) == 1


def test_only_the_bots_user_can_read_the_cache(tmp_path, cache):
    # It holds what app.yaml holds: names, emails.
    path = tmp_path / "app.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    load(path)
    (file,) = cache.iterdir()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert stat.S_IMODE(file.stat().st_mode) == 0o600


@pytest.mark.parametrize(("env", "expected"), [
    ({"COCREATE_CACHE_DIR": "/srv/cache", "XDG_CACHE_HOME": "/xdg"}, "/srv/cache"),
    ({"XDG_CACHE_HOME": "/xdg"}, "/xdg/cocreate"),
    ({"XDG_CACHE_HOME": "relative"}, "{home}/.cache/cocreate"),  # the XDG spec: ignored
    ({}, "{home}/.cache/cocreate"),
])
def test_where_the_cache_is(monkeypatch, tmp_path, env, expected):
    monkeypatch.delenv("COCREATE_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert yaml_cache.cache_dir() == Path(expected.format(home=tmp_path))
