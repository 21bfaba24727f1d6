"""SQLite on a full disk, then a read-only one (fault suite), with the database on a small
tmpfs of this test's own. A running `cocreate serve` whose disk fills up tells the member that
nothing was saved and to send it again, says why in one log line (no traceback), keeps nothing
half-written, and saves the same answer once there is room. On a read-only disk the server
refuses to start, in one line, and starts once the disk is writable. (A disk that turns
read-only under a running server cannot be made here: Linux refuses to remount a disk read-only
while SQLite holds its files open for writing.)"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.support import COCREATE, start_server, stop_server
from tests.web.http import Browser, web_env
from tests.web.test_privacy_web import say, signed_in

SIZE = "24m"


@pytest.fixture
def disk(tmp_path):
    """A tmpfs of `SIZE` mounted for this test (root's `mount`); skipped where that is not allowed."""
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small disk here ({mounted.stderr.strip()}): needs root")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Take every free byte of the disk."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def reflections(db: Path) -> list[str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        return [text for (text,) in connection.execute("SELECT text FROM reflections")]


def test_a_full_then_read_only_disk_saves_nothing_says_so_and_recovers(disk, _sqlite_template, tmp_path):
    db = disk / "cocreate.db"
    shutil.copy(_sqlite_template, db)
    url = f"sqlite+aiosqlite:///{db}"
    server = start_server(tmp_path, web_env(url))
    try:
        mo = signed_in(server, "mo", "Mo Member")
        say(mo, "reflect 2")
        assert "Principle #2" in mo.get("/chat").words

        filler = fill(disk)
        answer = say(mo, "We asked the parents first")
        assert answer.status == 503 and "Nothing was recorded; please send it again" in answer.words
        assert reflections(db) == []  # nothing half-saved
        assert "not handled: the disk is full" in server.logs()

        os.remove(filler)  # room again: the same question is still open, the answer is saved
        say(mo, "We asked the parents first")
        assert reflections(db) == ["We asked the parents first"]
        cookies = dict(mo.cookies)
    finally:
        stop_server(server)
    assert "Traceback" not in server.logs(), server.logs()

    # Read-only: the disk remounted so (no writer may hold it open). A server refuses to start
    # on it, in one line; once the disk is writable again it starts and saves the answer.
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    try:
        refused = subprocess.run([str(COCREATE), "serve", "--port", "0"], capture_output=True, text=True, timeout=60,
                                 cwd=tmp_path, env=web_env(url))
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr, refused.stderr
    assert "cannot use the database" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert "the database file cannot be opened" in refused.stderr or "read-only" in refused.stderr
    server = start_server(tmp_path, web_env(url), "writable")
    try:
        mo = Browser(server.url)
        mo.cookies = dict(cookies)  # still signed in: the session is in the database
        say(mo, "reflect 3")
        say(mo, "Our street party worked")
        assert reflections(db) == ["We asked the parents first", "Our street party worked"]
    finally:
        stop_server(server)
    assert "Traceback" not in server.logs(), server.logs()
