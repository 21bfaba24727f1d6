"""The web chat end to end, in Chromium at a phone's size, against a real `cocreate serve`.

A leader makes an invite link in the terminal chat; someone new opens it, joins with a name
full of markup, emoji and Arabic, answers the join form and shares a story; the leader opens
a check-in round and the web member answers it from the invitation the outbox brought; the
export holds it all once. A second browser on the same link is a second person; an expired
or withdrawn link creates nobody; a personal `web` link signs a chat member in, once.

No script ever runs: every page registers dialogs (`alert`), page errors and refusals by the
Content-Security-Policy, and each test ends with `check_clean()`.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from bot.tokens import digest
from storage.models import WebInvite, WebPersonRow
from tests.web.browser import (SIGN_IN, chat, counts, export, has_session, invite, join, joined_through, new_invite,
                               query, records, take_a_seat)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("browser")]  # no server started without one

NAME = "Nadia <script>alert(1)</script> 🙂 مرحبا"
STORY_TITLE = "Café <b>in</b> the harbour 🌊"
STORY_BODY = "It began with one question. Then: <img src=x onerror=alert(2)> and «مرحبا»."


def test_invited_on_a_phone_join_share_a_story_and_answer_a_check_in(fresh_server, person):
    server = fresh_server
    assert f"the web chat is at {server.url}" in server.logs()  # --host 127.0.0.1, no public URL
    link = invite(server)

    nadia = person()
    qr = nadia.page.request.get(f"{link}/qr.svg")
    assert qr.status == 200 and qr.headers["content-type"] == "image/svg+xml" and qr.text().startswith("<svg")
    join(nadia, link, NAME)
    page = nadia.page
    assert page.viewport_size == {"width": 390, "height": 844}
    # The stylesheet is allowed by the Content-Security-Policy and applied.
    assert page.locator("header.top").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(11, 92, 138)"
    assert page.locator(".who-am-i").inner_text() == f"Signed in as {NAME} · Harbour Youth"
    assert f"Welcome to Harbour Youth, {NAME}! Let's start with who you are and what you bring." in nadia.text()

    nadia.pick("Which sector do you come from?", "Business")
    nadia.fill(re.compile("^Which organisation"), "Harbour Bakery 🥐 مخبز")
    nadia.fill(re.compile("^What do you bring to the table"), "Ovens and apprenticeships <i>free</i>")
    nadia.submit()
    assert f"Welcome aboard, {NAME}! You are at the table for Business." in nadia.text()
    nadia.press("Not right now")
    assert "Business\n1" in nadia.text()  # who is at the table now

    nadia.say("story")
    assert nadia.title_of_ask() == "Share an ambassador story"
    # Sent without a principle (a browser cannot require one of a group of check boxes): the
    # form comes back with the error on that question, and everything typed and ticked is kept.
    nadia.fill("Give your story a title", STORY_TITLE)
    nadia.fill("Tell the story: what happened, who took part, and what changed?", STORY_BODY)
    nadia.pick("Which sectors were involved?", "Business", "Citizen / user")
    nadia.pick("Who may see this story?", "My coalition")
    nadia.pick("Show your name with it?", "Yes, show my name")
    nadia.submit()
    principles = nadia.ask.locator("fieldset", has=page.locator("legend", has_text="Which principles"))
    assert principles.get_attribute("aria-invalid") == "true"
    assert principles.locator("p.error").inner_text().endswith("Please pick at least one option.")
    assert nadia.ask.get_by_label("Give your story a title").input_value() == STORY_TITLE
    assert nadia.ask.get_by_label("Tell the story", exact=False).input_value() == STORY_BODY
    assert nadia.ask.get_by_label("Citizen / user", exact=True).is_checked()
    assert nadia.ask.get_by_label("My coalition", exact=True).is_checked()
    nadia.pick("Which principles does it show?", "#1 New pathways to welfare across sectors",
               "#7 Be an ambassador by sharing knowledge and experiences")
    nadia.submit()
    assert (f"Your story {STORY_TITLE} is saved. Who can see it: My coalition. "
            "You can withdraw it any time with story withdraw.") in nadia.text()
    assert nadia.ask.count() == 0

    # The leader registers an experiment and opens a check-in round in the terminal chat.
    today = date.today()
    out = chat(server, "lea", "experiment", "Job café", "A café run by young people", "Jobs",
               "young people, employers", "Harbour Bakery", today.isoformat(),
               (today + timedelta(days=20)).isoformat(), "Contracts", "", "checkin")
    assert "Check-in round on Job café is open: I am asking 3 members now" in out, out  # lea, mo, Nadia

    # The outbox brings Nadia the invitation; its button opens the check-in as a form.
    nadia.reload_until("Impact check-in: Job café (Harbour Youth)")
    nadia.press("Answer the check-in")
    assert nadia.title_of_ask() == "Impact check-in: Job café"
    nadia.pick("How do citizens perceive the impact so far?", "4")
    nadia.pick("Effect for young people", "5")
    nadia.pick("Effect for employers", "2")
    nadia.fill("Which of the intended effects do you see?", "Two apprenticeships 🎉")
    nadia.pick("What do we do now?", "Adjust")
    nadia.submit()
    assert "Check-in saved for Job café. Decision: Adjust." in nadia.text()
    assert nadia.ask.count() == 0
    page.reload(wait_until="load")  # a reload sends nothing again
    assert nadia.text().count("Check-in saved for Job café") == 1

    # What was typed is text, never markup: no element came from it, no script ran.
    assert page.locator("script, main img, main b, main i").count() == 0
    assert NAME in page.locator("main").text_content()
    nadia.check_clean()

    data = export(server)
    [member] = data["members"]
    member_id = member["member_id"]
    assert member_id.startswith("web:")
    assert (member["name"], member["sector"], member["organisation"], member["brings"], member["platform"]) == (
        NAME, "business", "Harbour Bakery 🥐 مخبز", "Ovens and apprenticeships <i>free</i>", "web")
    [story] = data["stories"]
    assert (story["member_id"], story["title"], story["body"], story["principles"], story["sectors"],
            story["consent"], story["anonymous"]) == (
        member_id, STORY_TITLE, STORY_BODY, [1, 7], ["business", "citizen"], "coalition", False)
    [checkin] = data["checkins"]
    assert (checkin["member_id"], checkin["citizen_impact"], checkin["intended_seen"], checkin["unintended"],
            checkin["evidence"], checkin["decision"]) == (member_id, 4, "Two apprenticeships 🎉", "", "", "adjust")
    assert checkin["effects"] == [{"stakeholder": "young people", "rating": 5},
                                  {"stakeholder": "employers", "rating": 2}]
    [(name,)] = query(server, select(WebPersonRow.name))
    assert name == NAME
    assert counts(server) == (1, 1)


def test_a_second_browser_on_the_same_link_is_a_second_person(shared_server, person):
    server = shared_server
    link = new_invite(server)
    before = counts(server)
    first, second = person(), person()
    join(first, link, "Sam")
    join(second, link, "Sam")  # the same name: still someone else
    take_a_seat(first, "Citizen / user", "myself", "Time on Saturdays")
    take_a_seat(second, "Education / research", "Harbour School", "A classroom")
    # Each sees their own conversation only.
    assert "Time on Saturdays" in first.text() and "A classroom" not in first.text()
    assert "A classroom" in second.text() and "Time on Saturdays" not in second.text()

    people = joined_through(server, link)
    assert len(set(people)) == 2
    members = [m for m in records(server)["members"] if m["member_id"] in people]
    assert [(m["member_id"], m["name"], m["sector"], m["organisation"]) for m in members] == [
        (people[0], "Sam", "citizen", "myself"), (people[1], "Sam", "education", "Harbour School")]
    assert counts(server) == (before[0] + 2, before[1] + 2)
    first.check_clean()
    second.check_clean()


def test_an_expired_or_withdrawn_invite_says_so_and_creates_nobody(shared_server, person):
    server = shared_server
    link = new_invite(server, days=1)
    before, members = counts(server), records(server)["members"]
    late = person()
    assert late.open(link).status == 200
    late.page.fill("#name", "Late Larry")
    # The link expires while the page is open.
    past = datetime.now(timezone.utc) - timedelta(minutes=1)
    token_hash = digest(link.rsplit("/", 1)[1])
    assert query(server, update(WebInvite).where(WebInvite.token_hash == token_hash).values(expires_at=past)) == 1

    with late.page.expect_navigation(wait_until="load"):
        late.page.get_by_role("button", name="Join").click()
    assert late.page.title() == "This link does not work · Test Movement"
    assert late.text() == ("This link does not work\n\n"
                           "This invite link has expired. Ask the person who gave it to you for a new one.")
    assert late.page.locator("form").count() == 0

    assert late.open(link).status == 410  # opened again, or by someone else
    assert "This invite link has expired." in late.text() and late.page.locator("form").count() == 0
    assert late.page.request.get(f"{link}/qr.svg").status == 404

    withdrawn = new_invite(server)
    token_hash = digest(withdrawn.rsplit("/", 1)[1])
    assert query(server, update(WebInvite).where(WebInvite.token_hash == token_hash).values(revoked_at=past)) == 1
    assert late.open(withdrawn).status == 410
    assert "This invite link was withdrawn by the coalition." in late.text()
    assert late.open(f"{server.url}/join/{'A' * 43}").status == 404
    assert "We don't know this invite link." in late.text()

    assert counts(server) == before  # no person, no session
    assert records(server)["members"] == members
    assert joined_through(server, link) == joined_through(server, withdrawn) == []
    assert query(server, select(WebInvite.joins).where(WebInvite.token_hash.in_(
        [digest(link.rsplit("/", 1)[1]), token_hash]))) == [(0,), (0,)]
    assert not has_session(late)
    late.open(f"{server.url}/chat")  # not signed in: the home page
    assert late.page.url == f"{server.url}/" and late.page.locator("#say").count() == 0
    late.check_clean()


def test_a_personal_link_signs_a_chat_member_in_once(shared_server, person):
    server = shared_server
    [link] = SIGN_IN.findall(chat(server, "mo", "web"))
    assert link.startswith(f"{server.url}/signin/")
    people, sessions = counts(server)
    mo = person()
    assert mo.open(link).status == 200  # a page with a button: opening the link signs nobody in
    assert not has_session(mo) and counts(server) == (people, sessions)
    with mo.page.expect_navigation(wait_until="load"):
        mo.page.get_by_role("button", name="Sign in").click()
    assert mo.page.url == f"{server.url}/chat"
    assert mo.page.locator(".who-am-i").inner_text() == "Signed in as Mo Member · Harbour Youth"
    [cookie] = [c for c in mo.context.cookies() if c["name"] == "cocreate_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]  # http: not Secure
    mo.say("status")
    assert "Your status in Harbour Youth" in mo.text()
    assert counts(server) == (people + 1, sessions + 1)

    again = person()  # the same link, a second time: refused
    again.open(link)
    with again.page.expect_navigation(wait_until="load"):
        again.page.get_by_role("button", name="Sign in").click()
    assert "This sign-in link has expired or was used already." in again.text()
    assert not has_session(again) and counts(server) == (people + 1, sessions + 1)

    with mo.page.expect_navigation(wait_until="load"):
        mo.page.get_by_role("button", name="Sign out").click()
    assert mo.page.url == f"{server.url}/" and not has_session(mo)
    assert counts(server) == (people + 1, sessions)  # the session is gone from the database too
    mo.open(f"{server.url}/chat")
    assert mo.page.url == f"{server.url}/"
    mo.check_clean()
    again.check_clean()


def test_text_typed_on_several_lines_is_stored_as_typed(shared_server, person):
    """A browser sends a text area's line breaks as CRLF (the HTML standard); what is stored
    must be what was typed, with the "\\n" line breaks of every other platform."""
    link = new_invite(shared_server)
    poet = person()
    join(poet, link, "Poet")
    typed = "Ovens\nand apprenticeships"
    poet.pick("Which sector do you come from?", "Business")
    poet.fill(re.compile("^Which organisation"), "Bakery")
    poet.fill(re.compile("^What do you bring to the table"), typed)
    assert poet.ask.get_by_label(re.compile("^What do you bring")).input_value() == typed
    poet.submit()
    [member_id] = joined_through(shared_server, link)
    [member] = [m for m in records(shared_server)["members"] if m["member_id"] == member_id]
    assert member["brings"] == typed


def test_an_optional_question_says_optional_once(shared_server, person):
    """Optional fields are marked by the page; a label that says "(optional)" itself reads
    "(optional) (optional)" (strengths, check-in and experiment forms)."""
    someone = person()
    join(someone, new_invite(shared_server), "Kim")
    take_a_seat(someone, "Other", "Kim's Kiosk", "Coffee")
    someone.say("strengths")
    assert someone.title_of_ask() == "Find the experience"
    optional = someone.ask.locator("label", has=someone.page.locator("span.optional"))
    assert optional.count() == 1
    assert optional.inner_text().count("(optional)") == 1, optional.inner_text()
