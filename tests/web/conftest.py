"""Fixtures for the web chat's tests: a real `cocreate serve` and a real browser.

- `fresh_server`: a `cocreate serve` with only the web on (no Slack, Teams or email) on the
  test's own SQLite file, on a free port (links point at http://127.0.0.1:<port>), with a fast
  outbox and scheduler (`tests.web.browser.serve_env`).
- `shared_server`: the same, one for a whole module (starting one takes seconds).
- `browser`: Debian's Chromium, headless, one per test module. Missing, its tests skip, except
  when `CI=true`, where they fail: CI must run them (as the PostgreSQL tests, tests/conftest.py).
- `person`: a factory of visitors, each in a browser context of their own at a phone's viewport.

Playwright's sync API marks its event loop as the thread's running loop between calls, so
pytest-asyncio could not run an async test while a browser is open: the browser lives for one
module, and modules that use it hold plain (non-async) tests only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import _copy_sqlite
from tests.support import Server, start_server, stop_server
from tests.web.browser import PHONE, Person, chromium_path, launch, serve_env


def _unavailable(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: the browser tests must run; .ci/run installs Debian's chromium)",
                    pytrace=False)
    pytest.skip(f"{message}; install it (apt-get install chromium) or set CHROMIUM_PATH")


@pytest.fixture(scope="module")
def browser() -> Iterator:
    path, looked = chromium_path()
    if path is None:
        _unavailable(f"Chromium not found at {looked}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:  # the test extra is not installed
        _unavailable(f"Playwright is not installed ({error}); run `make install`")
    with sync_playwright() as playwright:
        browser = launch(playwright, path)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def person(browser) -> Iterator[Callable[..., Person]]:
    """`person()` -> a new visitor (a new browser context: no cookies shared with anyone)."""
    people: list[Person] = []

    def new(**options) -> Person:
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2,
                                      locale="en-GB", **options)
        people.append(Person(context))
        return people[-1]

    yield new
    for someone in people:
        someone.context.close()


@pytest.fixture
def fresh_server(tmp_path, sqlite_url) -> Iterator[Server]:
    """A `cocreate serve` of this test's own, on a fresh database."""
    server = start_server(tmp_path, serve_env(sqlite_url))
    yield server
    _stop(server)


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory, _sqlite_template) -> Iterator[Server]:
    """One `cocreate serve` for a module whose tests each use invite links of their own (so they
    may run in any order); from one address, so joins are not limited."""
    folder = tmp_path_factory.mktemp("web")
    url = _copy_sqlite(_sqlite_template, folder / "cocreate.db")
    server = start_server(folder, serve_env(url, COCREATE_JOINS_PER_HOUR="10000"))
    yield server
    _stop(server)


def _stop(server: Server) -> None:
    stop_server(server)
    assert "Traceback" not in server.logs(), server.logs()
