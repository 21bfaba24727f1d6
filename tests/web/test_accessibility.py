"""The web chat's pages checked by axe-core (tests/data/axe, vendored) in Chromium at a phone's
size: no violation of impact "serious" or "critical" on any page a person sees, from the join
page to a check-in form.

The pages' Content-Security-Policy allows no script, so axe is injected in browser contexts
that bypass it (`bypass_csp=True`); the other web tests run with the policy on.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.web.browser import AXE, SIGN_IN, Person, chat, join, new_invite, take_a_seat

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("browser")]  # no server started without one

BLOCKING = ("serious", "critical")


@pytest.fixture
def server(shared_server):
    """One server for the module: these tests look at pages, not at what is stored."""
    return shared_server


@pytest.fixture
def visitor(person):
    """Someone whose browser lets axe in (the page's policy would refuse its script)."""
    return lambda: person(bypass_csp=True)


def axe(someone: Person, what: str) -> list[dict]:
    """Run axe on the page as it is now; fail on serious or critical violations. Returns all."""
    page = someone.page
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    violations = results["violations"]
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, f"axe on {what} ({page.url}):\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} [{v['helpUrl']}]\n"
        + "\n".join(f"    {n['target']}: {n['html'][:200]}\n      {n['failureSummary']}" for n in v["nodes"])
        for v in blocking)
    return violations


def test_join_page(server, visitor):
    someone = visitor()
    someone.open(new_invite(server))
    axe(someone, "the join page")


def test_join_page_with_a_validation_error(server, visitor):
    someone = visitor()
    someone.open(new_invite(server))
    with someone.page.expect_navigation(wait_until="load"):
        someone.page.get_by_role("button", name="Join").click()  # no name
    assert someone.page.locator("#name").get_attribute("aria-invalid") == "true"
    assert "Please give the name you want to be shown." in someone.text()
    axe(someone, "the join page with an error")


def test_chat_with_the_join_form_open(server, visitor):
    someone = visitor()
    join(someone, new_invite(server), "Aya 🙂 مرحبا")
    axe(someone, "the chat with the join form")


def test_chat_with_a_few_messages_a_form_error_and_the_menu(server, visitor):
    someone = visitor()
    join(someone, new_invite(server), "Bo")
    take_a_seat(someone, "Public sector", "The town hall", "Rooms and a budget")
    someone.say("status")
    axe(someone, "the chat with a few messages")

    someone.page.locator("details.menu summary").click()  # the command menu, open
    assert someone.page.get_by_role("button", name=re.compile("^story")).is_visible()
    axe(someone, "the chat with the command menu open")

    someone.page.locator("details.menu summary").click()
    someone.say("story")
    someone.fill("Give your story a title", "A title")
    someone.fill("Tell the story: what happened, who took part, and what changed?", "A story")
    someone.pick("Who may see this story?", "Only me")
    someone.pick("Show your name with it?", "Yes, show my name")
    someone.submit()  # no principle, no sector: the form comes back with two errors
    assert someone.ask.locator("p.error").count() == 2
    axe(someone, "a chat form with errors")


def test_a_leader_on_the_web_date_fields_and_a_check_in_form(server, visitor):
    """The other kinds of question: dates (a leader's experiment, over a personal link) and
    1–5 ratings (the check-in the outbox brings to her web chat)."""
    [link] = SIGN_IN.findall(chat(server, "lea", "web"))
    lea = visitor()
    lea.open(link)
    axe(lea, "the sign-in page")
    with lea.page.expect_navigation(wait_until="load"):
        lea.page.get_by_role("button", name="Sign in").click()
    lea.say("experiment")
    assert lea.ask.locator("input[type=date]").count() == 2
    axe(lea, "the experiment form (dates)")

    today = date.today()
    for label, value in [("A short title", "Job café"), ("What will you do?", "Open a café"),
                         ("What effect do you want to achieve?", "Jobs"), ("For whom?", "young people, employers"),
                         ("Which partners take part?", "Bakery"), ("Start date", today.isoformat()),
                         ("End date", (today + timedelta(days=20)).isoformat()),
                         ("How will you know whether it works?", "Contracts")]:
        lea.fill(re.compile("^" + re.escape(label)), value)
    lea.submit()
    assert "Experiment Job café is registered" in lea.text(), lea.text()
    lea.say("checkin")
    assert "Check-in round on Job café is open" in lea.text()
    lea.reload_until("Impact check-in: Job café (Harbour Youth)")
    lea.press("Answer the check-in")
    assert lea.ask.locator("label.chip").count() == 15
    axe(lea, "the check-in form (ratings)")


def test_the_command_menu_fits_on_a_phone(server, person):
    """Reflow (WCAG 1.4.10): the open menu of commands lies within a 390 px wide screen, so every
    command can be read and pressed without scrolling sideways (axe does not check this)."""
    someone = person()
    join(someone, new_invite(server), "Cy")
    someone.page.locator("details.menu summary").click()
    menu = someone.page.locator("details.menu ul").bounding_box()
    width = someone.page.viewport_size["width"]
    assert menu["x"] >= 0 and menu["x"] + menu["width"] <= width, (
        f"the open menu spans x={menu['x']:.0f} to {menu['x'] + menu['width']:.0f} on a screen {width} px wide")


def test_a_page_that_says_a_link_does_not_work(server, visitor):
    someone = visitor()
    assert someone.open(f"{server.url}/join/{'A' * 43}").status == 404
    axe(someone, "the unknown invite page")
    someone.open(f"{server.url}/")
    axe(someone, "the home page")


def test_axe_finds_what_it_should(server, visitor):
    """The check itself works: a page with an unlabelled field fails it."""
    someone = visitor()
    someone.open(new_invite(server))
    someone.page.locator("label[for=name]").evaluate("label => label.remove()")
    with pytest.raises(AssertionError, match=r"label \(critical\)"):
        axe(someone, "a broken join page")
