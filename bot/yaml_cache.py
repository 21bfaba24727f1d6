"""A cache of parsed app.yaml files, like Python's .pyc files.

A 10,000-member app.yaml (1.4 MB) takes ~0.9 s to parse even with libyaml, most of a start;
the same data as JSON loads in ~10 ms. So after a successful parse the data is kept as JSON,
keyed by the sha256 of the file's exact bytes (and the parser's version), and a later load of
the same bytes reads that instead. Only the parse is skipped: validation runs every time, so a
broken config gives the same messages. The cache is never needed: any problem reading or
writing it (no home, a read-only disk, a corrupt or foreign file) means parsing the YAML, as
without it.

One file per config path (named after a hash of the resolved path), replaced by the first
load after that path's content changed: a member taken out of app.yaml does not linger in an
old copy beyond the next start or reload.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

# Bump when what is stored, or what the parser returns for the same text (bot.config._Loader),
# changes: files written before are then ignored and rewritten.
FORMAT = 1
MISS = object()

# The JSON holds JSON's own types as they are. What YAML gives beyond them (a key that is not a
# string, a date, bytes, a set, `!!omap`'s tuples) is a mapping with this key; a mapping of the
# file that has the key itself is stored as a list of pairs, so the two are never confused.
_TAG = "!"


def cache_dir() -> Path | None:
    """$COCREATE_CACHE_DIR, else $XDG_CACHE_HOME/cocreate, else ~/.cache/cocreate."""
    if configured := os.environ.get("COCREATE_CACHE_DIR"):
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG spec: a relative path is to be ignored
        base = os.path.join(os.path.expanduser("~"), ".cache")
        if not os.path.isabs(base):  # no home known ("~" stays as it is): no cache, not ./~
            return None
    return Path(base) / "cocreate"


def _file_for(path: str) -> Path | None:
    directory = cache_dir()
    if directory is None:
        return None
    name = hashlib.sha256(os.fsencode(os.path.realpath(path))).hexdigest()[:32]
    return directory / f"{name}.cache"


def _key(data: bytes, parser: str) -> bytes:
    return f"cocreate app.yaml cache {FORMAT}; {parser}; sha256 {hashlib.sha256(data).hexdigest()}".encode()


def get(path: str, data: bytes, parser: str) -> Any:
    """What `path` parsed to when it held exactly `data`, else MISS."""
    try:
        cache = _file_for(path)
        if cache is None:
            return MISS
        with open(cache, "rb") as f:
            stored = f.read()
        key, _, rest = stored.partition(b"\n")
        if key != _key(data, parser):
            return MISS
        mode, _, body = rest.partition(b"\n")
        kind, _, size = mode.decode("ascii").partition(" ")
        if int(size) != len(body):  # cut short (a crash while writing, a full disk)
            return MISS
        if kind == "plain":
            return json.loads(body)
        if kind == "tagged":
            return json.loads(body, object_hook=_decode)
        return MISS
    except (OSError, ValueError, TypeError, KeyError, RecursionError):  # unreadable or corrupt: parse
        return MISS


def put(path: str, data: bytes, parser: str, tree: Any) -> None:
    """Keep `tree`, what `data` (the bytes of `path`) parsed to; silently not if it cannot be."""
    try:
        cache = _file_for(path)
        tagged: list[bool] = []
        body = json.dumps(_encode(tree, tagged, set()), separators=(",", ":")).encode("ascii")
    except (_Uncacheable, RecursionError, ValueError, OSError):  # e.g. an alias cycle; no home
        return
    if cache is None:
        return
    stored = b"%s\n%s %d\n%s" % (_key(data, parser), b"tagged" if tagged else b"plain", len(body), body)
    temporary = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
    try:
        # 0700/0600: the file holds what app.yaml holds (names, emails).
        cache.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "wb") as f:
            f.write(stored)
        # Atomic: another process reads the old file or the new one, never half of one. No fsync:
        # after a crash a torn file fails the size check and is parsed and written again.
        os.replace(temporary, cache)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass


class _Uncacheable(Exception):
    pass


def _encode(value: Any, tagged: list[bool], open_: set[int]) -> Any:
    kind = type(value)
    if value is None or kind in (str, int, float, bool):  # float: JSON's NaN and Infinity load back
        return value
    if kind in (list, dict, set, tuple):
        if id(value) in open_:  # an alias inside itself: JSON cannot say it
            raise _Uncacheable
        open_.add(id(value))
        try:
            if kind is list:
                return [_encode(v, tagged, open_) for v in value]
            if kind is dict and _TAG not in value and all(type(k) is str for k in value):
                return {k: _encode(v, tagged, open_) for k, v in value.items()}
            tagged.append(True)
            if kind is dict:
                return {_TAG: "map", "v": [[_encode(k, tagged, open_), _encode(v, tagged, open_)]
                                           for k, v in value.items()]}
            return {_TAG: kind.__name__, "v": [_encode(v, tagged, open_) for v in value]}
        finally:
            open_.discard(id(value))
    tagged.append(True)
    if kind is datetime:  # before date: a datetime is a date too
        return {_TAG: "datetime", "v": value.isoformat()}
    if kind is date:
        return {_TAG: "date", "v": value.isoformat()}
    if kind is bytes:
        return {_TAG: "bytes", "v": base64.b64encode(value).decode("ascii")}
    raise _Uncacheable  # nothing else comes from a safe loader; if it did, parse every time


_DECODE = {
    "map": lambda v: {k: x for k, x in v},
    "set": set,
    "tuple": tuple,
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "bytes": lambda v: base64.b64decode(v, validate=True),
}


def _decode(mapping: dict) -> Any:
    if _TAG not in mapping:
        return mapping
    return _DECODE[mapping[_TAG]](mapping["v"])
