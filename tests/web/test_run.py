"""`make run` on a fresh clone without Slack or Teams: the web chat is served and a one-time
sign-in link for the sample leader is printed; following it in a browser opens the chat in
the movement's language."""

from __future__ import annotations

import os
import re
import subprocess
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

from tests.test_cli import COCREATE

ROOT = Path(__file__).resolve().parents[2]


def run(tmp_path: Path, database_url: str, *args: str) -> tuple[subprocess.Popen, list[str]]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "MICROSOFT_", "COCREATE_")) or k == "COCREATE_CACHE_DIR"}
    env.update(DATABASE_URL=database_url, COCREATE_CONFIG=str(ROOT / "app.yaml"))
    process = subprocess.Popen([str(COCREATE), "run", "--port", "0", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    printed: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any("make chat" in line for line in printed):
        line = process.stdout.readline()
        if not line:
            break
        printed.append(line)
    return process, printed


def stop(process: subprocess.Popen) -> str:
    process.terminate()
    _, err = process.communicate(timeout=15)
    return err


class Browser:
    """Cookies kept, redirects followed, the pages' forms posted with their hidden fields."""

    def __init__(self) -> None:
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, url: str) -> tuple[str, str]:
        with self.opener.open(url, timeout=10) as response:
            return response.geturl(), response.read().decode()

    def post(self, url: str, page: str, **fields: str) -> tuple[str, str]:
        hidden = dict(re.findall(r'<input type="hidden" name="(csrf|event)" value="([^"]+)"', page)[:2])
        data = urllib.parse.urlencode({**hidden, **fields}).encode()
        with self.opener.open(urllib.request.Request(url, data=data), timeout=10) as response:
            return response.geturl(), response.read().decode()


def test_make_run_serves_the_web_chat_and_prints_a_sign_in_link(tmp_path, sqlite_url):
    process, printed = run(tmp_path, sqlite_url)
    try:
        text = "".join(printed)
        assert "Sign in as Demo Leader" in text and "`make chat` opens the terminal chat" in text, text
        link = re.search(r"(http://localhost:\d+)/signin/[\w-]{43}", text)
        browser = Browser()
        _, page = browser.get(link.group(0))
        url, page = browser.post(link.group(0), page)
        assert url == f"{link.group(1)}/chat"  # no token left in the address
        assert "Signed in as Demo Leader" in page and 'lang="en"' in page
        _, page = browser.post(f"{link.group(1)}/chat", page, text="help")
        assert "here is what you can do" in page and "invite" in page
        # The link worked once.
        _, again = browser.get(link.group(0))
        try:
            browser.post(link.group(0), again)
            raise AssertionError("a used sign-in link signed in again")
        except urllib.error.HTTPError as error:
            assert error.code == 410
    finally:
        err = stop(process)
    assert "No Slack or Teams settings found" in err and "Traceback" not in err


def test_make_run_with_the_danish_sample_speaks_danish(tmp_path, sqlite_url):
    """`make run ARGS="--config examples/app.da.yaml"` puts --config after `run`."""
    process, printed = run(tmp_path, sqlite_url, "--config", str(ROOT / "examples" / "app.da.yaml"))
    try:
        link = re.search(r"(http://localhost:\d+)/signin/[\w-]{43}", "".join(printed))
        browser = Browser()
        _, page = browser.get(link.group(0))
        _, page = browser.post(link.group(0), page)
        assert 'lang="da"' in page and "Logget ind som Demo Leder · Unge i job" in page
        _, page = browser.post(f"{link.group(1)}/chat", page, text="hjælp")
        assert "deltag i koalitionen, og fortæl" in page and "inviter" in page
    finally:
        assert "Traceback" not in stop(process)
