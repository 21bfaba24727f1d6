"""The dashboard end to end, over HTTP against a real `cocreate serve`: the one-time link that
`dashboard` hands out in chat, who may open which page, what stories each audience sees (never
"only me", never a withdrawn one, never an anonymous author), role changes that count at the
next click, schedules paused from the browser as from the chat, the period picker, the reports
and the headers every page sends.

One server for the module (tests/data/app.yaml with two schedules added), with a small
movement's records added before it starts: stories of every consent level in Harbour Youth, an
experiment with check-ins, treasures, perspectives and members. Tests that change something
(schedules, roles) change what no other test looks at.

The browser side (real Chromium, axe-core, screenshots) is in test_dashboard_browser.py, which
seeds its server with `movement_config` and `seed` from here.
"""

from __future__ import annotations

import html
import http.client
import io
import json
import re
import secrets
import subprocess
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.records import (
    CheckIn,
    CheckInRound,
    Experiment,
    MemberProfile,
    Perspective,
    Reflection,
    Resource,
    SignInLink,
    Story,
    StoryWithdrawal,
)
from bot.tokens import digest, new_token
from storage.repository import open_store
from tests.conftest import _copy_sqlite, run_async
from tests.support import APP_YAML, COCREATE, start_server, stop_server
from tests.web.http import SESSION, Browser, Page, _add, add_invite, add_sign_in, link_path, sql, web_env

ZONE = ZoneInfo("Europe/Copenhagen")  # the test movement's
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SECTORS = ("public", "business", "civil_society", "education", "citizen", "other")
PRINCIPLES = range(1, 8)
FORMATS = ("html", "markdown", "json", "csv")

# Story titles: unique strings, so finding one in a page means the story is on it.
PRIVATE = "Story-only-me-Q7XK"
COALITION = "Story-my-coalition-H3PD"
MOVEMENT = "Story-the-movement-M9TR"
PUBLIC = "Story-public-P2WB"
WITHDRAWN = "Story-withdrawn-W5ZN"
ANONYMOUS = "Story-anonymous-A8LC"  # by Mo Member, who has named stories too
HIDDEN = "Story-anonymous-author-J4VF"  # by Ingrid, who wrote nothing else
HIDDEN_AUTHOR = "Ingrid Hiddenname"
ELDERS = "Story-elders-coalition-E6GS"
MARKUP = "<script>alert('dash')</script> Story-markup-K1RT"
TREASURE = "Sailing club <img src=x onerror=alert(1)>"
NEWCOMER = "Nia Newcomer"  # joined in Slack: not in app.yaml, her name is her profile's
EXPERIMENT = "Harbour job café"


# -- the movement ---------------------------------------------------------------------------------


def movement_config(folder: Path) -> Path:
    """tests/data/app.yaml with two schedules for every coalition, both three days from now (so the
    scheduler never sends one while the tests run)."""
    config = yaml.safe_load(APP_YAML.read_text(encoding="utf-8"))
    day = DAYS[(datetime.now(ZONE).date() + timedelta(days=3)).weekday()]
    config["schedules"] = [
        {"id": "weekly-principle", "kind": "principle", "days": [day], "time": "09:00"},
        {"id": "monthly-story", "kind": "story", "days": [day], "time": "10:00", "every": "1 month"},
    ]
    path = folder / "app.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def add_all(database_url: str, records: list, when: datetime | None = None) -> list[int]:
    """Add records in one unit, as flows do; their ids."""

    async def add() -> list[int]:
        store = open_store(database_url)
        try:
            async with store.unit() as unit:
                return await unit.add(records, when or datetime.now(timezone.utc))
        finally:
            await store.close()

    return run_async(add())


def seed(database_url: str) -> None:
    """A small movement: people at both tables, stories of every consent level in Harbour Youth,
    an experiment with check-ins over two weeks, treasures, perspectives and reflections."""
    now = datetime.now(timezone.utc)
    today = now.astimezone(ZONE).date()
    add_all(database_url, [
        MemberProfile("harbour", "mo", "Mo Member", "citizen", "Youth club", "Time", "console"),
        MemberProfile("harbour", "lea", "Lea Leader", "public", "The town hall", "A budget", "console"),
        MemberProfile("harbour", "ingrid", HIDDEN_AUTHOR, "business", "Harbour Bakery", "Ovens", "console"),
        MemberProfile("harbour", "slack:U_NIA", NEWCOMER, "education", "Harbour School", "Pupils", "slack"),
        MemberProfile("elders", "cora", "Cora Coordinator", "civil_society", "Red Cross", "Volunteers", "console"),
    ], now - timedelta(days=20))

    def story(title: str, consent: str, member: str = "mo", anonymous: bool = False,
              coalition: str = "harbour", principles=(1, 7), sectors=("citizen", "business")) -> Story:
        return Story(coalition, member, title, f"What happened in {title}.", principles, sectors, consent, anonymous)

    ids = add_all(database_url, [
        story(PRIVATE, "private"),
        story(COALITION, "coalition", principles=(2,), sectors=("public",)),
        story(MOVEMENT, "movement", principles=(3,), sectors=("education",)),
        story(PUBLIC, "public"),
        story(WITHDRAWN, "public", principles=(3,), sectors=("education",)),
        story(ANONYMOUS, "movement", anonymous=True, principles=(4,), sectors=("civil_society",)),
        story(HIDDEN, "public", member="ingrid", anonymous=True, principles=(5,), sectors=("other",)),
        story(ELDERS, "coalition", member="cora", coalition="elders", principles=(6,), sectors=("civil_society",)),
        story(MARKUP, "public", member="slack:U_NIA", principles=(6,), sectors=("other",)),
    ])
    add_all(database_url, [StoryWithdrawal(ids[4], "mo")])

    [experiment] = add_all(database_url, [Experiment(
        "harbour", "lea", EXPERIMENT, "Open a job café at the harbour", "Jobs for young people",
        ("young people", "employers"), "Harbour Bakery", today - timedelta(days=18), today + timedelta(days=20),
        "Contracts signed", "lea")], now - timedelta(days=19))
    for days_ago, impact, member in [(15, 3, "mo"), (8, 4, "lea"), (1, 5, "mo")]:
        add_all(database_url, [CheckIn("harbour", member, experiment, impact, (("young people", impact),),
                                       "More visitors", "Queues", "Ten contracts", "continue")],
                now - timedelta(days=days_ago))
    round = CheckInRound("harbour", experiment, "lea", ("mo", "slack:U_NIA"), now + timedelta(days=3), 1, 86400)
    add_all(database_url, [round], now - timedelta(hours=2))  # an open round: its progress is on the page
    add_all(database_url, [
        Resource("harbour", "lea", "The harbour library", "place", "public", "A meeting room on Fridays"),
        Resource("harbour", "mo", TREASURE, "association", "civil_society", "Boats and mentors"),
        Perspective("harbour", "mo", "citizen", "Nobody asked us what we need.", "Ask first"),
        Perspective("harbour", "lea", "partner", "We have jobs nobody applies for.", "A missing bridge"),
        Reflection("harbour", "mo", 1, "We crossed sectors for the first time."),
        Reflection("elders", "cora", 6, "The choir brought people out."),
    ], now - timedelta(days=5))


def dashboard_link(database_url: str, member: str, name: str, coalition: str, minutes: float = 10,
                   purpose: str = "dashboard") -> str:
    """A one-time dashboard link made straight in the database (as `dashboard` in chat does): its path."""
    token = new_token()
    _add(database_url, SignInLink(member, name, coalition, digest(token),
                                  datetime.now(timezone.utc) + timedelta(minutes=minutes), purpose=purpose))
    return f"/dashboard/signin/{token}"


# -- the server -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory, _sqlite_template):
    folder = tmp_path_factory.mktemp("dashboard")
    url = _copy_sqlite(_sqlite_template, folder / "cocreate.db")
    config = movement_config(folder)
    seed(url)
    running = start_server(folder, web_env(url, COCREATE_CONFIG=str(config), COCREATE_JOINS_PER_HOUR="1000"))
    running.config = config
    yield running
    stop_server(running)
    assert "Traceback" not in running.logs(), running.logs()


def chat(server, user: str, *typed: str) -> str:
    """`cocreate chat --user <user>` on the server's database and configuration (tests.web.http's
    `chat`, with this module's app.yaml)."""
    env = web_env(server.database_url, COCREATE_PUBLIC_URL=server.url, COCREATE_CONFIG=str(server.config))
    result = subprocess.run([str(COCREATE), "chat", "--user", user], input="".join(f"{t}\n" for t in typed),
                            capture_output=True, text=True, encoding="utf-8", timeout=60, env=env,
                            cwd=server.log.parent)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return result.stdout


def signed_in(server, member: str, name: str, coalition: str) -> Browser:
    browser = Browser(server.url)
    link = dashboard_link(server.database_url, member, name, coalition)
    answer = browser.submit(browser.get(link), link)
    assert (answer.status, answer.location) == (303, "/dashboard"), answer.text
    return browser


@pytest.fixture(scope="module")
def cora(server) -> Browser:
    """The movement's coordinator, who also leads Together Not Alone (not Harbour Youth)."""
    return signed_in(server, "cora", "Cora Coordinator", "elders")


@pytest.fixture(scope="module")
def lea(server) -> Browser:
    """Harbour Youth's leader."""
    return signed_in(server, "lea", "Lea Leader", "harbour")


def ok(browser: Browser, path: str, status: int = 200) -> Page:
    page = browser.get(path)
    assert page.status == status, (path, page.status, page.words[:2000])
    return page


def heading(page: Page) -> str:
    found = re.search(r"<h1[^>]*>(.*?)</h1>", page.text, re.S)
    return html.unescape(re.sub(r"<[^>]*>", "", found.group(1))).strip() if found else ""


def story_items(page: Page) -> list[str]:
    """The text of each story of a page's story list (ul.stories), as read."""
    lists = re.findall(r'<ul class="stories">(.*?)</ul>', page.text, re.S)
    return [html.unescape(re.sub(r"<[^>]*>", " ", li))
            for ul in lists for li in re.findall(r"<li>(.*?)</li>", ul, re.S)]


def titles(page: Page) -> set[str]:
    return {t for t in (PRIVATE, COALITION, MOVEMENT, PUBLIC, WITHDRAWN, ANONYMOUS, HIDDEN, ELDERS)
            if any(t in item for item in story_items(page))}


def unzip(page_bytes: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(page_bytes)) as archive:
        return {name: archive.read(name).decode("utf-8") for name in archive.namelist()}


def download(browser: Browser, path: str) -> tuple[int, dict, bytes]:
    """A report: (status, headers, body as bytes; the Browser helper decodes text)."""
    connection = http.client.HTTPConnection(browser.host, browser.port, timeout=30)
    try:
        cookies = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        connection.request("GET", path, headers={"Cookie": cookies})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def every_page(browser: Browser, coalitions: list[str], coordinator: bool) -> dict[str, str]:
    """Every dashboard page this viewer may open, with the stories page under every filter and
    every report format: {what: text} (a zip's files joined)."""
    pages: dict[str, str] = {}

    def keep(path: str) -> None:
        page = browser.get(path)
        if page.status == 303:  # a leader's /dashboard, a leader's stories without a coalition
            pages[f"{path} -> {page.location}"] = page.text
            page = browser.get(page.location)
        assert page.status == 200, (path, page.status, page.words[:1000])
        pages[path] = page.text

    keep("/dashboard")
    for days in ("", "?days=7", "?days=90"):
        keep(f"/dashboard{days}")
    for c in coalitions:
        keep(f"/dashboard/coalition/{c}")
        keep(f"/dashboard/coalition/{c}?days=90")
        keep(f"/dashboard/coalition/{c}/schedules")
    for c in ["", *coalitions]:
        base = f"/dashboard/stories?coalition={c}"
        keep(base)
        keep(f"{base}&days=7")
        keep(f"{base}&days=366")
        for n in PRINCIPLES:
            keep(f"{base}&principle={n}")
        for s in SECTORS:
            keep(f"{base}&sector={s}")
        keep(f"{base}&principle=1&sector=citizen")
        keep(f"{base}&principle=3&sector=education&page=2")
    for kind in FORMATS:
        for c in (["", *coalitions] if coordinator else coalitions):
            path = f"/dashboard/report?format={kind}&coalition={c}&days=90"
            status, headers, body = download(browser, path)
            assert status == 200, (path, status, body[:500])
            pages[path] = "\n".join(unzip(body).values()) if kind == "csv" else body.decode("utf-8")
    return pages


def found_in(pages: dict[str, str], text: str) -> list[str]:
    return [what for what, page in pages.items() if text in page or text in html.unescape(page)]


# -- signing in ------------------------------------------------------------------------------------


def test_a_coordinator_types_dashboard_and_the_link_opens_the_overview_once(server):
    out = chat(server, "cora", "dashboard")
    assert "Your link to the dashboard:" in out and "It works once, within 10 minutes" in out
    link = link_path(out, "dashboard/signin", server.url)

    browser = Browser(server.url)
    page = browser.get(link)  # a page with a button: opening the link signs nobody in
    assert page.status == 200 and not page.cookie(SESSION)
    assert heading(page) == "Sign in to the dashboard"
    assert "This link opens the dashboard and signs you in on this browser. It works once." in page.words
    assert "Open the dashboard" in page.words
    answer = browser.submit(page, link)
    assert (answer.status, answer.location) == (303, "/dashboard")
    assert answer.cookie(SESSION)

    overview = ok(browser, "/dashboard")
    assert heading(overview) == "Test Movement: every coalition"
    assert "Dashboard · Cora Coordinator" in overview.words
    table = re.search(r'<table class="figures">.*?</table>', overview.text, re.S).group(0)
    assert "Harbour Youth" in table and "Together Not Alone" in table

    again = Browser(server.url)
    refused = again.submit(again.get(link), link)
    assert refused.status == 410 and not refused.cookie(SESSION)
    assert "This sign-in link has expired or was used already." in refused.words
    assert again.get("/dashboard").status == 401
    assert browser.get("/dashboard").status == 200  # the first browser stays signed in


def test_an_expired_dashboard_link_is_refused(server):
    link = dashboard_link(server.database_url, "cora", "Cora Coordinator", "elders", minutes=-1)
    browser = Browser(server.url)
    answer = browser.submit(browser.get(link), link)
    assert answer.status == 410 and "expired or was used already" in answer.words
    assert not answer.cookie(SESSION) and browser.get("/dashboard").status == 401


def test_a_chat_sign_in_link_does_not_open_the_dashboard_nor_the_other_way_round(server):
    chat_link = add_sign_in(server.database_url, "cora", "Cora Coordinator", "elders")
    token = chat_link.rsplit("/", 1)[1]
    browser = Browser(server.url)
    refused = browser.submit(browser.get(f"/dashboard/signin/{token}"), f"/dashboard/signin/{token}")
    assert refused.status == 410 and not refused.cookie(SESSION)
    assert browser.get("/dashboard").status == 401
    # Refused there, it was not spent: it still signs in to the chat.
    answer = browser.submit(browser.get(chat_link), chat_link)
    assert (answer.status, answer.location) == (303, "/chat")

    dashboard = dashboard_link(server.database_url, "cora", "Cora Coordinator", "elders")
    other = Browser(server.url)
    token = dashboard.rsplit("/", 1)[1]
    refused = other.submit(other.get(f"/signin/{token}"), f"/signin/{token}")
    assert refused.status == 410 and not refused.cookie(SESSION)
    answer = other.submit(other.get(dashboard), dashboard)
    assert (answer.status, answer.location) == (303, "/dashboard")


# -- who may open what ----------------------------------------------------------------------------


def test_a_member_who_types_dashboard_is_told_who_may_and_gets_no_link(server):
    out = chat(server, "mo", "dashboard")
    assert ("The dashboard is for movement coordinators and coalition leaders. "
            "Ask one of them for a digest, or type `digest` here.") in out
    assert "/dashboard/signin/" not in out and "Your link" not in out
    assert sql(server.database_url, "SELECT count(*) FROM web_links WHERE member_id = 'mo'") == [(0,)]


def test_a_web_member_who_leads_nothing_is_refused_with_a_clear_message(server):
    browser = Browser(server.url)
    invite = add_invite(server.database_url)
    joined = browser.submit(browser.get(invite), invite, name="Wendy Web")
    assert (joined.status, joined.location) == (303, "/chat")
    for path in ("/dashboard", "/dashboard/coalition/harbour", "/dashboard/coalition/harbour/schedules",
                 "/dashboard/stories", "/dashboard/stories?coalition=harbour", "/dashboard/report?format=json",
                 "/dashboard/report?format=csv&coalition=harbour"):
        page = browser.get(path)
        assert page.status == 403, (path, page.status)
        assert "The dashboard is for movement coordinators and coalition leaders." in page.words, path
        assert PUBLIC not in page.text and EXPERIMENT not in page.text, path
    csrf = browser.get("/chat").form("/signout").fields["csrf"]
    before = sql(server.database_url, "SELECT count(*) FROM schedule_changes")
    posted = browser.post("/dashboard/coalition/harbour/schedules", {
        "csrf": csrf, "schedule": "weekly-principle", "verb": "pause", "event": secrets.token_hex(16)})
    assert posted.status == 403
    assert sql(server.database_url, "SELECT count(*) FROM schedule_changes") == before


def test_without_a_session_the_dashboard_says_how_to_get_a_link(server):
    browser = Browser(server.url)
    for path in ("/dashboard", "/dashboard/coalition/harbour", "/dashboard/coalition/nonexistent",
                 "/dashboard/coalition/harbour/schedules", "/dashboard/stories", "/dashboard/report?format=html"):
        page = browser.get(path)
        assert page.status == 401, (path, page.status)
        assert heading(page) == "Sign in to the dashboard", path
        words = " ".join(page.words.split())
        assert "To open the dashboard, type" in words and "in Slack, Teams or the web chat" in words, path
        assert "you get a link that signs you in on this browser" in words, path
    assert browser.post("/dashboard/coalition/harbour/schedules", {"schedule": "weekly-principle",
                                                                    "verb": "pause"}).status == 401


def test_a_leader_lands_on_her_coalition_and_another_is_not_found(server, lea):
    answer = lea.get("/dashboard")
    assert (answer.status, answer.location) == (303, "/dashboard/coalition/harbour")
    assert lea.get("/dashboard?days=7").location == "/dashboard/coalition/harbour?days=7"  # the period is kept
    page = ok(lea, "/dashboard/coalition/harbour")
    assert heading(page) == "Harbour Youth"
    assert "Young people outside education and work" in page.words
    assert 'href="/dashboard"' not in page.text  # no movement overview in her menu

    unknown = lea.get("/dashboard/coalition/nonexistent")
    for path in ("/dashboard/coalition/elders", "/dashboard/coalition/elders/schedules",
                 "/dashboard/stories?coalition=elders", "/dashboard/report?coalition=elders",
                 "/dashboard/report?format=csv&coalition=elders", "/dashboard/report?format=json",
                 "/dashboard/stories?coalition=nonexistent", "/dashboard/coalition/nonexistent/schedules"):
        page = lea.get(path)
        assert page.status == 404, (path, page.status)
        # The same answer as for a coalition that does not exist: ids cannot be probed.
        assert heading(page) == heading(unknown) == "Not found", path
        assert "There is no such page here, or it is not one you can open." in page.words, path
        assert "Together Not Alone" not in page.words and ELDERS not in page.text, path
    assert unknown.status == 404

    stories = lea.get("/dashboard/stories")  # a leader's stories: her coalition's
    assert (stories.status, stories.location) == (303, "/dashboard/stories?coalition=harbour")


def test_a_coordinator_opens_every_coalition(server, cora):
    for c, name in (("harbour", "Harbour Youth"), ("elders", "Together Not Alone")):
        page = ok(cora, f"/dashboard/coalition/{c}")
        assert heading(page) == name
        assert f'href="/dashboard/coalition/{c}/schedules"' in page.text
    assert cora.get("/dashboard/coalition/nonexistent").status == 404
    assert cora.get("/dashboard/stories?coalition=nonexistent").status == 404
    assert cora.get("/dashboard/report?coalition=nonexistent").status == 404


# -- consent ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pages(server, cora, lea) -> dict[str, dict[str, str]]:
    """Every page cora and lea may open, under every filter, and every report."""
    return {"cora": every_page(cora, ["harbour", "elders"], coordinator=True),
            "lea": every_page(lea, ["harbour"], coordinator=False)}


def test_a_story_shared_with_only_me_or_withdrawn_is_on_no_page(pages):
    for who, theirs in pages.items():
        assert len(theirs) > 50
        assert found_in(theirs, PRIVATE) == [], who
        assert found_in(theirs, WITHDRAWN) == [], who
        assert found_in(theirs, PUBLIC), who  # the pages do show stories
    assert found_in(pages["lea"], "What happened in Story-only-me") == []


def test_an_anonymous_story_names_nobody(pages, cora, lea):
    for who, theirs in pages.items():
        assert found_in(theirs, HIDDEN), who
        assert found_in(theirs, HIDDEN_AUTHOR) == [], who  # her only story is anonymous
        assert found_in(theirs, ANONYMOUS), who
    for browser in (cora, lea):
        page = ok(browser, "/dashboard/stories?coalition=harbour")
        items = {title: next(i for i in story_items(page) if title in i) for title in (ANONYMOUS, HIDDEN, PUBLIC)}
        for title in (ANONYMOUS, HIDDEN):
            assert "Shared anonymously" in items[title], items[title]
            assert "Mo Member" not in items[title] and HIDDEN_AUTHOR not in items[title]
            assert not re.search(r"\bmo\b", items[title])
            assert "ingrid" not in items[title].lower()
        assert "By Mo Member" in items[PUBLIC]  # named stories do show their author
        # The reports say it too, and nothing there names the author.
        status, _, body = download(browser, "/dashboard/report?format=json&coalition=harbour")
        report = json.loads(body)
        [anonymous] = [s for s in report["stories"] if s["title"] == ANONYMOUS]
        assert anonymous["author"] is None and anonymous["anonymous"] is True
        status, _, body = download(browser, "/dashboard/report?format=csv&coalition=harbour")
        [row] = [line for line in unzip(body)["stories.csv"].splitlines() if ANONYMOUS in line]
        assert "Mo Member" not in row and ",mo," not in row
        for kind in ("html", "markdown"):
            _, _, body = download(browser, f"/dashboard/report?format={kind}&coalition=harbour")
            after = body.decode("utf-8").split(f"What happened in {ANONYMOUS}.", 1)[1].split("Story-", 1)[0]
            assert "Shared anonymously" in after and "Mo Member" not in after, (kind, after)


def test_a_story_shared_with_the_coalition_is_for_its_leaders_not_the_movement(pages):
    cora, lea = pages["cora"], pages["lea"]
    assert found_in(cora, COALITION) == []  # cora coordinates the movement but does not lead Harbour Youth
    assert found_in(cora, MOVEMENT) and found_in(cora, PUBLIC)
    seen = found_in(lea, COALITION)
    assert "/dashboard/coalition/harbour" in seen
    assert "/dashboard/stories?coalition=harbour" in seen
    assert "/dashboard/report?format=html&coalition=harbour&days=90" in seen
    assert "/dashboard/report?format=json&coalition=harbour&days=90" in seen
    # What cora's own coalition shared with itself, she sees as its leader; lea never.
    assert "/dashboard/coalition/elders" in found_in(cora, ELDERS)
    assert all("elders" in what for what in found_in(cora, ELDERS)), found_in(cora, ELDERS)  # not the movement's
    assert found_in(lea, ELDERS) == []


def test_each_audience_sees_what_it_may_on_the_story_pages(cora, lea):
    assert titles(ok(lea, "/dashboard/stories?coalition=harbour")) == {COALITION, MOVEMENT, PUBLIC, ANONYMOUS, HIDDEN}
    assert titles(ok(lea, "/dashboard/coalition/harbour")) == {COALITION, MOVEMENT, PUBLIC, ANONYMOUS, HIDDEN}
    assert titles(ok(cora, "/dashboard/stories?coalition=harbour")) == {MOVEMENT, PUBLIC, ANONYMOUS, HIDDEN}
    assert titles(ok(cora, "/dashboard/stories")) == {MOVEMENT, PUBLIC, ANONYMOUS, HIDDEN}
    assert titles(ok(cora, "/dashboard/stories?coalition=elders")) == {ELDERS}
    page = ok(cora, "/dashboard/stories?principle=3&sector=education")
    assert titles(page) == {MOVEMENT} and "1 stories" in page.words


def test_what_people_typed_is_shown_as_text(cora, lea):
    for browser, path in ((lea, "/dashboard/coalition/harbour"), (lea, "/dashboard/stories?coalition=harbour"),
                          (cora, "/dashboard/stories"), (cora, "/dashboard/coalition/harbour")):
        page = ok(browser, path)
        assert "&lt;script&gt;alert(&#39;dash&#39;)&lt;/script&gt; Story-markup-K1RT" in page.text, path
        assert "<script" not in page.text, path
    page = ok(lea, "/dashboard/coalition/harbour")
    assert "Sailing club &lt;img src=x onerror=alert(1)&gt;" in page.text and "<img" not in page.text
    _, _, body = download(lea, "/dashboard/report?format=html&coalition=harbour")
    report = body.decode("utf-8")
    assert "Story-markup-K1RT" in report and "<script>alert" not in report and "<img src=x" not in report


def heatmap_rows(page: Page) -> dict[str, list[str]]:
    table = re.search(r'<table class="heatmap".*?</table>', page.text, re.S).group(0)
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        name = re.search(r'<th scope="row">(.*?)</th>', row)
        if name:
            rows[html.unescape(name.group(1))] = re.findall(r"<td[^>]*>(.*?)</td>", row)
    return rows


def test_the_overview_counts_only_what_the_movement_may_see(cora):
    """Principles #1 to #7, from reflections and the stories the movement may see: not the
    private one (#1, #7), the withdrawn one (#3), nor those shared with a coalition only (#2, #6)."""
    page = ok(cora, "/dashboard")
    assert heatmap_rows(page) == {
        "Harbour Youth": ["2", "0", "1", "1", "1", "1", "1"],
        "Together Not Alone": ["0", "0", "0", "0", "0", "1", "0"],
        "All coalitions": ["2", "0", "1", "1", "1", "2", "1"],
    }
    harbour = r'<tr>\s*<th scope="row"><a href="/dashboard/coalition/harbour[^"]*">Harbour Youth</a></th>(.*?)</tr>'
    row = re.search(harbour, page.text, re.S).group(1)
    cells = [html.unescape(re.sub(r"<[^>]*>", "", c)).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
    # members, new, missing sectors, treasures, answers, response rate, principles, outside-in, running, overdue
    assert cells[0] == "4" and cells[3] == "2" and cells[6] == "6 of 7" and cells[8] == "1", cells


def progress_rows(page: Page) -> list[list[str]]:
    section = page.text.split('id="round-heading"')[1].split("</section>")[0]
    return [[html.unescape(re.sub(r"<[^>]*>", "", cell)).strip()
             for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", section.split("<tbody>")[1], re.S)]


def test_the_open_round_shows_each_invited_members_progress(lea, cora):
    for browser in (lea, cora):
        page = ok(browser, "/dashboard/coalition/harbour")
        words = " ".join(page.words.split())
        assert f"On “{EXPERIMENT}”: opened" in words and "0 of 2 invited members answered." in words
        rows = progress_rows(page)
        assert len(rows) == 2
        [mo] = [row for row in rows if row[0] == "Mo Member"]
        # No Slack or Teams here: his invitation is unreachable (or, just after the start, not sent yet).
        assert mo[1] in ("unreachable", "waiting to be sent") and mo[2:] == ["0", "not yet"], mo
    assert "No check-in round is open." in ok(cora, "/dashboard/coalition/elders").words


def test_the_open_round_names_members_who_joined_in_chat(lea):
    """Nia joined in Slack (she is not in app.yaml): the page names her by her profile, as it names
    her as a story's author, not by her member id."""
    page = ok(lea, "/dashboard/coalition/harbour")
    [markup] = [i for i in story_items(page) if "Story-markup-K1RT" in i]
    assert f"By {NEWCOMER}" in markup
    names = [row[0] for row in progress_rows(page)]
    assert "slack:U_NIA" not in names, f"the round's progress shows a member id: {names}"
    assert sorted(names) == ["Mo Member", NEWCOMER]


# -- roles ------------------------------------------------------------------------------------------


def test_a_role_change_counts_at_the_next_request(server):
    lea = signed_in(server, "lea", "Lea Leader", "harbour")
    assert lea.get("/dashboard").status == 303
    try:
        assert "Lea Leader" in chat(server, "cora", "coordinator add lea")
        page = lea.get("/dashboard")  # the same session
        assert page.status == 200, page.location
        assert heading(page) == "Test Movement: every coalition"
        assert ok(lea, "/dashboard/coalition/elders").status == 200
    finally:
        out = chat(server, "cora", "coordinator remove lea")
    assert "Lea Leader" in out
    answer = lea.get("/dashboard")
    assert (answer.status, answer.location) == (303, "/dashboard/coalition/harbour")
    assert lea.get("/dashboard/coalition/elders").status == 404


# -- schedules --------------------------------------------------------------------------------------


def schedule_form(page: Page, schedule: str, verb: str) -> dict[str, str]:
    [form] = [f for f in page.forms() if f.fields.get("schedule") == schedule and f.fields.get("verb") == verb]
    assert form.action == "/dashboard/coalition/harbour/schedules"
    return dict(form.fields)


def schedule_item(page: Page, schedule: str) -> str:
    found = re.search(rf'<li id="schedule-{schedule}">(.*?)</li>', page.text, re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", found.group(1))).split())


def changes(server, schedule: str, coalition: str = "harbour") -> list[tuple]:
    rows = sql(server.database_url, "SELECT member_id, paused, time FROM schedule_changes "
               "WHERE schedule_id = :s AND coalition_id = :c ORDER BY id", s=schedule, c=coalition)
    return [(member, None if paused is None else bool(paused), at) for member, paused, at in rows]


def override(server, schedule: str, coalition: str = "harbour") -> list[tuple]:
    rows = sql(server.database_url, "SELECT paused, time, changed_by FROM schedule_overrides "
               "WHERE schedule_id = :s AND coalition_id = :c", s=schedule, c=coalition)
    return [(bool(paused), at, by) for paused, at, by in rows]


def test_a_leader_pauses_a_schedule_in_the_browser_as_in_the_chat(server, lea):
    page = ok(lea, "/dashboard/coalition/harbour/schedules")
    assert heading(page) == "Harbour Youth: schedules"
    item = schedule_item(page, "weekly-principle")
    assert "Next:" in item and "Paused" not in item and "Pause weekly-principle" in item
    assert "paused weekly-principle" not in page.words
    form = schedule_form(page, "weekly-principle", "pause")
    assert re.fullmatch(r"[0-9a-f]{32}", form["event"])

    answer = lea.post("/dashboard/coalition/harbour/schedules", form)
    assert (answer.status, answer.location) == (303, "/dashboard/coalition/harbour/schedules#schedule-weekly-principle")
    page = ok(lea, "/dashboard/coalition/harbour/schedules")
    item = schedule_item(page, "weekly-principle")
    assert "Paused" in item and "Resume weekly-principle" in item and "Next:" not in item
    assert "Lea Leader paused weekly-principle" in " ".join(page.words.split())
    assert override(server, "weekly-principle") == [(True, None, "lea")]
    assert changes(server, "weekly-principle") == [("lea", True, None)]
    listed = chat(server, "lea", "schedule")  # the scheduler and the chat read the same rows
    assert re.search(r"`weekly-principle`: principle of the week, .*; paused", listed), listed
    assert re.search(r"`monthly-story`: .*; next: ", listed), listed

    # The same form again (a double click, a reload): nothing more happens.
    again = lea.post("/dashboard/coalition/harbour/schedules", form)
    assert again.status == 303
    assert len(changes(server, "weekly-principle")) == 1
    assert "Paused" in schedule_item(ok(lea, "/dashboard/coalition/harbour/schedules"), "weekly-principle")


def test_a_schedule_form_without_its_csrf_token_changes_nothing(server, lea, cora):
    page = ok(lea, "/dashboard/coalition/harbour/schedules")
    form = schedule_form(page, "monthly-story", "pause")
    before = changes(server, "monthly-story"), override(server, "monthly-story")
    for csrf in (None, "", "0" * 32, cora.get("/dashboard").form("/signout").fields["csrf"]):
        data = {k: v for k, v in form.items() if k != "csrf"} | ({"csrf": csrf} if csrf is not None else {})
        data["event"] = secrets.token_hex(16)
        refused = lea.post("/dashboard/coalition/harbour/schedules", data)
        assert refused.status == 403, csrf
        assert "This form has expired." in refused.words
    assert (changes(server, "monthly-story"), override(server, "monthly-story")) == before
    assert "Paused" not in schedule_item(ok(lea, "/dashboard/coalition/harbour/schedules"), "monthly-story")


def test_a_bad_time_is_shown_again_with_the_error_and_changes_nothing(server, lea):
    page = ok(lea, "/dashboard/coalition/harbour/schedules")
    form = schedule_form(page, "monthly-story", "time")
    before = changes(server, "monthly-story"), override(server, "monthly-story")
    answer = lea.post("/dashboard/coalition/harbour/schedules", form | {"time": "25:99"})
    assert answer.status == 400
    assert heading(answer) == "Harbour Youth: schedules"
    assert "Give the time as hours and minutes, for example 09:30." in schedule_item(answer, "monthly-story")
    assert 'aria-invalid="true" aria-describedby="time-monthly-story-error"' in answer.text
    for bad in ("", "9:3", "noon", "24:00"):
        assert lea.post("/dashboard/coalition/harbour/schedules", form | {"time": bad,
                                                                          "event": secrets.token_hex(16)}).status == 400
    assert (changes(server, "monthly-story"), override(server, "monthly-story")) == before

    moved = lea.post("/dashboard/coalition/harbour/schedules", form | {"time": "07:45", "event": secrets.token_hex(16)})
    assert moved.status == 303
    page = ok(lea, "/dashboard/coalition/harbour/schedules")
    assert "7:45" in schedule_item(page, "monthly-story")
    assert "Lea Leader moved monthly-story to 07:45" in " ".join(page.words.split())
    assert changes(server, "monthly-story")[len(before[0]):] == [("lea", None, "07:45")]
    assert override(server, "monthly-story") == [(False, "07:45", "lea")]


def test_a_coordinator_sees_another_coalitions_schedules_read_only(server, cora):
    page = ok(cora, "/dashboard/coalition/harbour/schedules")
    assert "Only the coalition's leaders change its schedules." in page.words
    assert not [f for f in page.forms() if f.fields.get("verb")]  # no buttons
    assert "weekly-principle" in page.words and "monthly-story" in page.words
    csrf = page.form("/signout").fields["csrf"]
    before = sql(server.database_url, "SELECT count(*) FROM schedule_changes")
    refused = cora.post("/dashboard/coalition/harbour/schedules",
                        {"csrf": csrf, "schedule": "monthly-story", "verb": "pause", "event": secrets.token_hex(16)})
    assert refused.status == 403
    assert sql(server.database_url, "SELECT count(*) FROM schedule_changes") == before

    # Her own coalition's she changes: the change belongs to Together Not Alone only.
    page = ok(cora, "/dashboard/coalition/elders/schedules")
    [form] = [f for f in page.forms() if (f.fields.get("schedule"), f.fields.get("verb")) == ("monthly-story", "pause")]
    assert form.action == "/dashboard/coalition/elders/schedules"
    answer = cora.post(form.action, form.fields)
    assert (answer.status, answer.location) == (303, "/dashboard/coalition/elders/schedules#schedule-monthly-story")
    assert [m for m, *_ in changes(server, "monthly-story", "elders")] == ["cora"]
    assert override(server, "monthly-story", "elders") == [(True, None, "cora")]
    assert "Paused" in schedule_item(ok(cora, "/dashboard/coalition/elders/schedules"), "monthly-story")
    assert "Paused" not in schedule_item(ok(cora, "/dashboard/coalition/harbour/schedules"), "monthly-story")


# -- the period ----------------------------------------------------------------------------------------


def test_the_period_picker(cora, lea):
    today = datetime.now(ZONE).date()
    page = ok(cora, "/dashboard?days=7")
    assert re.search(r'<a href="/dashboard\?days=7" aria-current="true">Last 7 days</a>', page.text)
    assert f'id="period-from" name="from" value="{(today - timedelta(days=7)).isoformat()}"' in page.text
    first, last = today - timedelta(days=40), today - timedelta(days=2)
    page = ok(cora, f"/dashboard?from={first.isoformat()}&to={last.isoformat()}")
    assert f'value="{first.isoformat()}"' in page.text and f'value="{last.isoformat()}"' in page.text
    assert 'aria-current="true"' not in page.text.split('class="presets"')[1].split("</ul>")[0]
    ok(lea, f"/dashboard/coalition/harbour?from={first.isoformat()}&to={last.isoformat()}")
    # A period before anything happened shows nothing of it.
    assert titles(ok(lea, "/dashboard/stories?coalition=harbour&from=2020-01-01&to=2020-02-01")) == set()

    problems = {
        "?days=0": "The number of days must be between 1 and 366. Showing the last 30 days.",
        "?days=abc": "The number of days must be between 1 and 366. Showing the last 30 days.",
        "?days=367": "The number of days must be between 1 and 366. Showing the last 30 days.",
        "?from=2026-05-01&to=2026-04-01": "The period must start before it ends and be at most 366 days. "
                                          "Showing the last 30 days.",
        "?from=2024-01-01&to=2026-01-01": "The period must start before it ends and be at most 366 days. "
                                          "Showing the last 30 days.",
        "?from=May&to=2026-04-01": "Give both dates, as on a calendar (year-month-day). Showing the last 30 days.",
        "?from=2026-04-01": "Give both dates, as on a calendar (year-month-day). Showing the last 30 days.",
    }
    for query, message in problems.items():
        for browser, path, title in ((cora, "/dashboard", "Test Movement: every coalition"),
                                     (lea, "/dashboard/coalition/harbour", "Harbour Youth"),
                                     (lea, "/dashboard/stories", "Stories")):
            page = browser.get(path + query + ("&coalition=harbour" if path.endswith("stories") else ""))
            assert page.status == 400, (path, query, page.status)
            assert message in " ".join(page.words.split()), (path, query)
            assert '<p class="error" id="period-error" role="alert">' in page.text
            assert heading(page) == title, (path, query)  # the page is still there, for the last 30 days
            assert f'value="{(today - timedelta(days=30)).isoformat()}"' in page.text
        assert cora.get(f"/dashboard/report?format=json{query.replace('?', '&')}").status == 400
    assert "Harbour Youth" in ok(cora, "/dashboard?days=0", 400).words  # the overview's table is drawn


# -- reports -------------------------------------------------------------------------------------------


def test_the_reports(cora, lea):
    status, headers, body = download(cora, "/dashboard/report?format=csv&days=30")
    assert status == 200 and headers["Content-Type"] == "application/zip"
    assert re.fullmatch(r'attachment; filename="cocreate-movement-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.zip"',
                        headers["Content-Disposition"])
    files = unzip(body)
    assert files and all(name.endswith(".csv") for name in files)
    assert "stories.csv" in files and "experiments.csv" in files
    assert EXPERIMENT in files["experiments.csv"] and PUBLIC in files["stories.csv"]

    status, headers, body = download(lea, "/dashboard/report?format=html&coalition=harbour")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert re.fullmatch(r'attachment; filename="cocreate-harbour-[\d-]+\.html"', headers["Content-Disposition"])
    text = body.decode("utf-8")
    assert text.lstrip().lower().startswith("<!doctype html") and "Harbour Youth" in text and COALITION in text

    status, headers, body = download(lea, "/dashboard/report?format=markdown&coalition=harbour")
    assert status == 200 and headers["Content-Type"].startswith("text/markdown") and PUBLIC in body.decode()
    status, headers, body = download(cora, "/dashboard/report?format=json")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert PUBLIC in body.decode() and json.loads(body)
    assert 'filename="cocreate-movement-' in headers["Content-Disposition"]

    status, headers, body = download(cora, "/dashboard/report?format=xml")
    assert status == 400 and b"html, markdown, json, csv" in body
    assert download(lea, "/dashboard/report?format=html")[0] == 404  # a leader's report is her coalition's


def test_the_overview_page_links_to_each_report(cora):
    page = ok(cora, "/dashboard?days=7")
    for kind in FORMATS:
        assert f'href="/dashboard/report?days=7&amp;format={kind}" download' in page.text, kind
    page = ok(cora, "/dashboard/coalition/harbour?days=90")
    assert 'href="/dashboard/report?days=90&amp;format=csv&amp;coalition=harbour"' in page.text


# -- headers ---------------------------------------------------------------------------------------------


def directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.split()}


def test_every_dashboard_page_sends_the_chats_strict_policy_and_no_store(server, cora, lea):
    chat_policy = Browser(server.url).get("/").header("Content-Security-Policy")
    assert chat_policy
    stranger = Browser(server.url)
    link = dashboard_link(server.database_url, "cora", "Cora Coordinator", "elders")
    pages = {
        "sign-in page": stranger.get(link),
        "sign-in, used link": stranger.submit(stranger.get(f"/dashboard/signin/{new_token()}")),
        "signed out": stranger.get("/dashboard"),
        "overview": cora.get("/dashboard"),
        "overview, bad period": cora.get("/dashboard?days=0"),
        "coalition": cora.get("/dashboard/coalition/harbour"),
        "schedules": lea.get("/dashboard/coalition/harbour/schedules"),
        "schedules, bad time": lea.post("/dashboard/coalition/harbour/schedules",
                                        schedule_form(lea.get("/dashboard/coalition/harbour/schedules"),
                                                      "weekly-principle", "time") | {"time": "25:99"}),
        "schedules, no csrf": lea.post("/dashboard/coalition/harbour/schedules", {"schedule": "weekly-principle"}),
        "stories": cora.get("/dashboard/stories"),
        "not found": lea.get("/dashboard/coalition/elders"),
        "leader's redirect": lea.get("/dashboard"),
    }
    assert {k: p.status for k, p in pages.items()} == {
        "sign-in page": 200, "sign-in, used link": 410, "signed out": 401, "overview": 200,
        "overview, bad period": 400, "coalition": 200, "schedules": 200, "schedules, bad time": 400,
        "schedules, no csrf": 403, "stories": 200, "not found": 404, "leader's redirect": 303,
    }
    for name, page in pages.items():
        if page.status == 303:
            continue  # aiohttp's redirect: no body to protect
        assert page.header("Content-Security-Policy") == chat_policy, name
        policy = directives(page.header("Content-Security-Policy"))
        assert policy["default-src"] == ["'none'"], name
        assert all("'unsafe-inline'" not in v and "'unsafe-eval'" not in v for v in policy.values()), name
        assert policy.get("script-src", ["'none'"]) == ["'none'"] and policy["frame-ancestors"] == ["'none'"], name
        assert page.header("Cache-Control") == "no-store", name
        assert page.header("X-Content-Type-Options") == "nosniff" and page.header("Referrer-Policy") == "no-referrer"
        assert "<script" not in page.text.lower() and " style=" not in page.text and "<style" not in page.text, name
    for kind in FORMATS:
        status, headers, _ = download(cora, f"/dashboard/report?format={kind}")
        assert status == 200 and headers["Cache-Control"] == "no-store", kind
        assert headers["Content-Security-Policy"] == chat_policy and headers["X-Content-Type-Options"] == "nosniff"


def test_refusals_in_plain_text_send_the_same_headers(server, cora, lea):
    """What no form of the dashboard sends (a post to a coalition one does not lead, a report in a
    format there is none of, a form missing its fields) is refused with a short text: with the same
    headers as every other answer of the dashboard."""
    csrf = ok(cora, "/dashboard").form("/signout").fields["csrf"]
    leas = ok(lea, "/dashboard/coalition/harbour").form("/signout").fields["csrf"]
    answers = {
        "schedules, not her coalition": cora.post("/dashboard/coalition/harbour/schedules",
                                                  {"csrf": csrf, "schedule": "monthly-story", "verb": "pause"}),
        "schedules, malformed": lea.post("/dashboard/coalition/harbour/schedules",
                                         {"csrf": leas, "schedule": "no-such-schedule", "verb": "pause"}),
        "report, unknown format": cora.get("/dashboard/report?format=xml"),
    }
    assert {k: a.status for k, a in answers.items()} == {
        "schedules, not her coalition": 403, "schedules, malformed": 400, "report, unknown format": 400}
    missing = {what: [h for h in ("Content-Security-Policy", "Cache-Control", "X-Content-Type-Options")
                      if not answer.header(h)] for what, answer in answers.items()}
    assert missing == {what: [] for what in answers}, f"answers without the dashboard's headers: {missing}"


def test_signing_out_of_the_dashboard(server):
    browser = signed_in(server, "cora", "Cora Coordinator", "elders")
    page = ok(browser, "/dashboard")
    assert 'href="/chat"' in page.text and ok(browser, "/chat").status == 200  # the menu's Chat
    answer = browser.submit(page, "/signout")
    assert (answer.status, answer.location) == (303, "/")
    assert SESSION not in browser.cookies
    assert browser.get("/dashboard").status == 401


# -- the digest -------------------------------------------------------------------------------------------


def test_a_coordinators_digest_opens_in_the_dashboard(server, cora):
    out = chat(server, "cora", "digest all")
    assert f"Open in the dashboard: {server.url}/dashboard?days=30" in out, out
    assert "type `dashboard` for a sign-in link" in out
    [link] = re.findall(rf"Open in the dashboard: {re.escape(server.url)}(\S+)", out)
    page = ok(cora, link)
    assert heading(page) == "Test Movement: every coalition"
    out = chat(server, "cora", "digest harbour 7d")
    assert f"Open in the dashboard: {server.url}/dashboard/coalition/harbour?days=7" in out, out
    assert heading(ok(cora, "/dashboard/coalition/harbour?days=7")) == "Harbour Youth"
    assert "Open in the dashboard" not in chat(server, "mo", "digest")
