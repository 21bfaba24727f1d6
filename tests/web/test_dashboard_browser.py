"""The dashboard in Chromium against a real `cocreate serve`, at a desktop's width and a phone's:
a coordinator's link from the terminal chat opens the movement overview, a leader sees her
coalition and not another, axe-core finds no serious or critical violation on the pages with
their charts and tables drawn, and a schedule paused with its button shows as paused.

No script ever runs (the Content-Security-Policy allows none): `Person` records dialogs, page
errors and refusals by the policy, and the tests end with `check_clean()`. Screenshots of the
overview and a coalition's page are saved under test-artifacts/dashboard/ at the repository's
root, or under $COCREATE_TEST_ARTIFACTS/dashboard/.

Plain sync tests only: Playwright's sync API holds the thread's event loop (tests/web/conftest.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import _copy_sqlite
from tests.support import start_server, stop_server
from tests.web.browser import Person
from tests.web.http import web_env
from tests.web.test_accessibility import axe
from tests.web.test_dashboard import (
    COALITION,
    EXPERIMENT,
    PRIVATE,
    PUBLIC,
    chat,
    dashboard_link,
    movement_config,
    seed,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("browser")]  # no server started without one

DESKTOP = {"width": 1280, "height": 900}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(browser, tmp_path_factory, _sqlite_template):
    folder = tmp_path_factory.mktemp("dashboard-browser")
    url = _copy_sqlite(_sqlite_template, folder / "cocreate.db")
    config = movement_config(folder)
    seed(url)
    running = start_server(folder, web_env(url, COCREATE_CONFIG=str(config)))
    running.config = config
    yield running
    stop_server(running)
    assert "Traceback" not in running.logs(), running.logs()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    base = Path(os.environ.get("COCREATE_TEST_ARTIFACTS") or ROOT / "test-artifacts")
    folder = base / "dashboard"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def desktop(browser):
    """`desktop()` -> a visitor at a desktop's screen, in a browser context of their own."""
    people: list[Person] = []

    def new(**options) -> Person:
        people.append(Person(browser.new_context(viewport=DESKTOP, locale="en-GB", **options)))
        return people[-1]

    yield new
    for someone in people:
        someone.context.close()


def sign_in(someone: Person, link: str) -> None:
    """Open a dashboard link and press its button, as a person would."""
    response = someone.open(link)
    assert response.status == 200
    assert someone.page.locator("h1").inner_text() == "Sign in to the dashboard"
    assert "It works once." in someone.text()
    with someone.page.expect_navigation(wait_until="load"):
        someone.page.get_by_role("button", name="Open the dashboard").click()


def lea_signs_in(server, someone: Person) -> None:
    sign_in(someone, server.url + dashboard_link(server.database_url, "lea", "Lea Leader", "harbour"))
    assert someone.page.url == f"{server.url}/dashboard/coalition/harbour"


def cora_signs_in(server, someone: Person) -> None:
    sign_in(someone, server.url + dashboard_link(server.database_url, "cora", "Cora Coordinator", "elders"))
    assert someone.page.url == f"{server.url}/dashboard"


def test_a_coordinators_link_from_the_chat_opens_the_overview_on_a_desktop_and_a_phone(
        server, desktop, person, artifacts):
    for device, someone in (("desktop", desktop()), ("phone", person())):
        [link] = [line for line in chat(server, "cora", "dashboard").splitlines() if "/dashboard/signin/" in line]
        sign_in(someone, link.strip())
        page = someone.page
        assert page.url == f"{server.url}/dashboard", device
        assert page.title() == "Test Movement: every coalition · Test Movement"
        assert page.locator("h1").inner_text() == "Test Movement: every coalition"
        # Every coalition has its row, with a link to its page.
        table = page.locator("table.figures")
        assert table.get_by_role("link", name="Harbour Youth").is_visible()
        assert table.get_by_role("link", name="Together Not Alone").is_visible()
        # The charts are drawn, their colours from charts.css (the policy allows no inline style).
        assert page.locator("#chart-principles").is_visible()
        bars = page.locator("#chart-sectors svg rect.chart-bar")
        assert bars.count() >= 3
        assert bars.first.evaluate("b => getComputedStyle(b).fill") == "rgb(0, 114, 178)"  # not SVG's black
        assert page.get_by_role("img", name="Members by sector").is_visible()
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= page.viewport_size["width"], f"{device}: the page scrolls sideways ({width} px)"
        page.screenshot(path=str(artifacts / f"overview-{device}.png"), full_page=True)

        with page.expect_navigation(wait_until="load"):
            table.get_by_role("link", name="Harbour Youth").click()
        assert page.locator("h1").inner_text() == "Harbour Youth"
        assert page.locator("#chart-timeline").is_visible() and page.locator("#chart-impact").is_visible()
        assert PUBLIC in someone.text() and PRIVATE not in someone.text()
        assert COALITION not in someone.text()  # cora does not lead Harbour Youth
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= page.viewport_size["width"], f"{device}: the page scrolls sideways ({width} px)"
        page.screenshot(path=str(artifacts / f"coalition-{device}.png"), full_page=True)
        someone.check_clean()

        # The link was spent: a second browser gets the refusal.
        other = person()
        other.open(link.strip())
        with other.page.expect_response(lambda r: r.request.method == "POST") as answer:
            other.page.get_by_role("button", name="Open the dashboard").click()
        assert answer.value.status == 410
        assert "This sign-in link has expired or was used already." in other.text()
        other.check_clean()
    for name in ("overview-desktop", "overview-phone", "coalition-desktop", "coalition-phone"):
        assert (artifacts / f"{name}.png").stat().st_size > 10_000, name


def test_a_leader_sees_her_coalition_and_not_another(server, person, desktop):
    for lea in (person(), desktop()):
        lea_signs_in(server, lea)
        page = lea.page
        assert page.locator("h1").inner_text() == "Harbour Youth"
        nav = page.get_by_role("navigation", name="Dashboard")
        assert nav.get_by_role("link", name="Harbour Youth").get_attribute("aria-current") == "page"
        assert nav.get_by_role("link", name="Movement overview").count() == 0
        assert COALITION in lea.text() and PRIVATE not in lea.text()
        assert EXPERIMENT in page.locator("#chart-timeline").inner_text()

        response = lea.open(f"{server.url}/dashboard/coalition/elders")
        assert response.status == 404
        assert page.locator("h1").inner_text() == "Not found"
        assert "There is no such page here, or it is not one you can open." in lea.text()
        assert "Together Not Alone" not in lea.text()
        assert lea.open(f"{server.url}/dashboard/stories?coalition=elders").status == 404
        lea.open(f"{server.url}/dashboard")
        assert page.url == f"{server.url}/dashboard/coalition/harbour"
        lea.check_clean()


def test_the_dashboards_pages_have_no_serious_accessibility_problems(server, person, desktop):
    """axe-core, injected in contexts that bypass the policy (as test_accessibility.py does). Every
    page is checked before the test fails, so one run lists every page with a problem."""
    problems: list[str] = []

    def check(someone: Person, what: str) -> None:
        try:
            axe(someone, what)
        except AssertionError as error:
            problems.append(str(error).split("\nassert ")[0])

    cora = person(bypass_csp=True)
    cora_signs_in(server, cora)
    assert cora.page.locator("#chart-participation").count() == 1  # the charts are on the page
    check(cora, "the overview (phone)")
    cora.open(f"{server.url}/dashboard?days=0")  # with the period's error
    assert cora.page.locator("#period-error").is_visible()
    check(cora, "the overview with a period error (phone)")
    cora.open(f"{server.url}/dashboard/stories")
    check(cora, "the movement's stories (phone)")

    lea = person(bypass_csp=True)
    lea_signs_in(server, lea)
    page = lea.page
    assert page.locator("#chart-timeline").count() == page.locator("#chart-impact").count() == 1
    assert page.locator("#round-heading ~ div table tbody tr").count() == 2  # the round's progress
    assert "The harbour library" in lea.text()  # a treasure
    check(lea, "a coalition's page (phone)")
    lea.open(f"{server.url}/dashboard/stories?coalition=harbour&principle=1")
    check(lea, "the stories page, filtered (phone)")
    lea.open(f"{server.url}/dashboard/coalition/harbour/schedules")
    assert page.get_by_role("button", name="Pause weekly-principle").is_visible()
    check(lea, "the schedules page (phone)")
    page.get_by_label("New time").first.fill("07:30")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Move weekly-principle").click()
    assert "Lea Leader moved weekly-principle to 07:30" in lea.text()
    check(lea, "the schedules page with a change (phone)")

    wide = desktop(bypass_csp=True)
    cora_signs_in(server, wide)
    check(wide, "the overview (desktop)")
    wide.open(f"{server.url}/dashboard/coalition/harbour")
    check(wide, "a coalition's page (desktop)")
    wide.open(f"{server.url}/dashboard/stories")
    check(wide, "the movement's stories (desktop)")
    wide.open(f"{server.url}/dashboard/coalition/harbour/schedules")
    check(wide, "the schedules page, read only (desktop)")
    assert not problems, "\n\n".join(problems)


def test_a_leader_pauses_a_schedule_with_its_button(server, person):
    lea = person()
    lea_signs_in(server, lea)
    page = lea.page
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name="Schedules").click()
    assert page.locator("h1").inner_text() == "Harbour Youth: schedules"
    story = page.locator("#schedule-monthly-story")
    assert "Next:" in story.inner_text()
    with page.expect_navigation(wait_until="load"):
        story.get_by_role("button", name="Pause monthly-story").click()
    assert page.url == f"{server.url}/dashboard/coalition/harbour/schedules#schedule-monthly-story"
    story = page.locator("#schedule-monthly-story")
    assert "Paused" in story.inner_text() and "Next:" not in story.inner_text()
    assert story.get_by_role("button", name="Resume monthly-story").is_visible()
    assert "Lea Leader paused monthly-story" in page.locator("#history-heading + ul").inner_text()
    assert "Next:" in page.locator("#schedule-weekly-principle").inner_text()  # the other is not paused
    assert "; paused" in chat(server, "lea", "schedule").split("`monthly-story`")[1].splitlines()[0]

    with page.expect_navigation(wait_until="load"):
        page.locator("#schedule-monthly-story").get_by_role("button", name="Resume monthly-story").click()
    assert "Next:" in page.locator("#schedule-monthly-story").inner_text()
    assert "Lea Leader resumed monthly-story" in page.locator("#history-heading + ul").inner_text()
    lea.check_clean()
