"""Slack end to end in two languages: a real `cocreate serve` process, signed requests over
real HTTP, the fake Slack Web API. Whom the bot writes to in which language (README,
"Languages"): the member's choice (`language da` / `sprog en`), else the locale of their
Slack profile (read with users.info include_locale after a reply, once a day), else their
coalition's `language:`, else the movement's. Channel news follows the coalition.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import date, timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from storage.repository import open_store
from tests.fakes.slack_client import app_home_opened, block_action, dm_message, event, plain_text
from tests.slack.conftest import APP_YAML, start_server, stop_server
from tests.slack.test_slack_e2e import (
    buttons,
    checks,
    command,
    day,
    eventually,
    opened_view,
    posted,
    radio,
    records,
    send,
    submit,
    texts,
)


async def answer(slack, rid: str) -> str:
    """What the bot answered (ephemerally, at the response_url) to the command sent with `rid`."""
    found = await eventually(lambda: [c for c in slack.calls("response_url") if c.path.endswith(f"/{rid}")],
                             f"an answer to the request {rid!r}")
    return "\n".join(texts(c) for c in found)


async def ask(server, slack, text: str, rid: str, user: str = "U_MO") -> str:
    """Send `/cocreate <text>` and return the answer."""
    await command(server, slack, text, user=user, rid=rid)
    return await answer(slack, rid)


async def languages(server) -> dict:
    store = open_store(server.database_url)
    try:
        return dict(await store.languages())
    finally:
        await store.close()


async def kept(server, member: str, expected: tuple, timeout: float = 5.0) -> None:
    """Wait until the store holds (chosen, platform locale) == `expected` for `member`."""
    deadline = time.monotonic() + timeout
    while (found := (await languages(server)).get(member)) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"{member}'s language is {found}, not {expected}")
        await asyncio.sleep(0.05)


def english_help(said: str) -> bool:
    assert "this list" in said and "`join`" in said and "denne liste" not in said, f"not English help: {said}"
    return True


def danish_help(said: str) -> bool:
    assert ("denne liste" in said and "`deltag`" in said and "`sprog [da|en|auto]`" in said
            and "this list" not in said), f"not Danish help: {said}"
    return True


STORY = {"title": plain_text("Kaffe på havnen"), "body": plain_text("Det begyndte med ét spørgsmål"),
         "principles": checks("1", "7"), "sectors": checks("citizen"),
         "consent": radio("coalition"), "named": radio("no")}


# -- the fake: users.info answers a locale only when asked, as Slack does ----------------------


async def test_the_fake_answers_a_profiles_locale_only_to_include_locale(fake_slack):
    client = AsyncWebClient(token="xoxb-test", base_url=fake_slack.url)
    fake_slack.users["U_MO"] = {"locale": "da-DK", "tz": "America/New_York"}
    fake_slack.users["U_NONE"] = {"locale": None}
    assert "locale" not in (await client.users_info(user="U_MO"))["user"]
    mo = (await client.users_info(user="U_MO", include_locale=True))["user"]
    assert (mo["locale"], mo["tz"]) == ("da-DK", "America/New_York")
    assert (await client.users_info(user="U_LEA", include_locale=True))["user"]["locale"] == "en-US"  # the default
    assert "locale" not in (await client.users_info(user="U_NONE", include_locale=True))["user"]
    assert fake_slack.lookups() == ["U_MO", "U_MO", "U_LEA", "U_NONE"]
    assert fake_slack.lookups(with_locale=True) == ["U_MO", "U_LEA", "U_NONE"]
    assert fake_slack.lookups(with_locale=False) == ["U_MO"]


# -- the Slack profile's locale --------------------------------------------------------------


async def test_a_danish_slack_profile_makes_the_replies_after_the_first_danish(server, fake_slack):
    fake_slack.users["U_MO"] = {"locale": "da-DK"}

    # Nothing is known of mo yet: the first answer is in the coalition's language (English).
    assert english_help(await ask(server, fake_slack, "help", "first"))

    # After answering, the adapter reads mo's profile, asking for the locale, and keeps it.
    [lookup] = await fake_slack.wait_for("users.info")
    assert lookup.args["user"] == "U_MO" and lookup.args["include_locale"] in ("1", "true")
    assert fake_slack.lookups(with_locale=True) == ["U_MO"]
    await kept(server, "mo", (None, "da-DK"))

    # From then on mo is answered in Danish: commands, the App Home, a typed DM.
    assert danish_help(await ask(server, fake_slack, "help", "second"))
    await send(server, event(app_home_opened("U_MO")))
    [home] = await fake_slack.wait_for("views.publish")
    view = json.dumps(home.args["view"], ensure_ascii=False)
    assert "Din status i Harbour Youth" in view and "Du er ikke med endnu" in view and "haven't" not in view
    await send(server, event(dm_message("hjælp")))
    assert danish_help(texts(await posted(fake_slack, "D_MO", "denne liste")))

    # The profile is read once a day, not on every request.
    await asyncio.sleep(0.3)
    assert fake_slack.lookups() == ["U_MO"]


async def test_someone_app_yaml_does_not_list_is_written_to_in_their_profiles_language(server, fake_slack):
    fake_slack.users["U_NEW"] = {"locale": "da-DK"}
    # Who they are is asked (users.info) before their first answer: it is in their language too.
    assert danish_help(await ask(server, fake_slack, "help", "first", user="U_NEW"))
    await kept(server, "slack:U_NEW", (None, "da-DK"))
    assert danish_help(await ask(server, fake_slack, "help", "second", user="U_NEW"))


async def test_a_members_choice_outranks_their_profile_and_auto_goes_back_to_it(server, fake_slack):
    fake_slack.users["U_MO"] = {"locale": "da-DK"}
    await ask(server, fake_slack, "status", "warm-up")
    await kept(server, "mo", (None, "da-DK"))
    assert danish_help(await ask(server, fake_slack, "hjaelp", "danish"))  # the spelling without æ works too

    assert "From now on I write to you in English." in await ask(server, fake_slack, "language en", "en")
    assert english_help(await ask(server, fake_slack, "help", "help-en"))
    await kept(server, "mo", ("en", "da-DK"))

    said = await ask(server, fake_slack, "sprog auto", "auto")
    assert "Fra nu af følger jeg din platforms eller din koalitions sprog: dansk." in said
    assert danish_help(await ask(server, fake_slack, "help", "help-auto"))
    await kept(server, "mo", (None, "da-DK"))


async def test_a_profile_without_a_locale_leaves_the_coalitions_language(server, fake_slack):
    fake_slack.users["U_MO"] = {"locale": None}  # users.info answers no locale at all
    assert english_help(await ask(server, fake_slack, "help", "first"))
    await fake_slack.wait_for("users.info")
    await asyncio.sleep(0.3)
    assert "mo" not in await languages(server)
    assert english_help(await ask(server, fake_slack, "help", "second"))


# -- choosing a language in chat -------------------------------------------------------------


async def test_sprog_da_makes_later_replies_danish_and_language_en_turns_them_back(server, fake_slack):
    # lea's Slack profile says en-US (the fake's default), which tells nothing: only her choice counts.
    assert "Fra nu af skriver jeg til dig på dansk." in await ask(server, fake_slack, "sprog da", "da", user="U_LEA")
    assert danish_help(await ask(server, fake_slack, "help", "help-da", user="U_LEA"))
    said = await ask(server, fake_slack, "status", "status-da", user="U_LEA")
    assert "Din status i Harbour Youth" in said and "Your status" not in said
    said = await ask(server, fake_slack, "language", "which", user="U_LEA")  # the English word works too
    # (`<kode>` arrives escaped for mrkdwn)
    assert "Jeg skriver til dig på dansk. Skift med `sprog &lt;kode&gt;`: `en` (engelsk), `da` (dansk)." in said
    await kept(server, "lea", ("da", None))

    # A typed DM is answered in the chosen language as well.
    await send(server, event(dm_message("status", user="U_LEA", channel="D_LEA")))
    await posted(fake_slack, "D_LEA", "Din status i Harbour Youth")

    said = await ask(server, fake_slack, "language en", "en", user="U_LEA")
    assert "From now on I write to you in English." in said
    assert english_help(await ask(server, fake_slack, "help", "help-en", user="U_LEA"))
    await kept(server, "lea", ("en", None))

    # An unknown code is refused, in the member's language, and changes nothing.
    said = await ask(server, fake_slack, "language sv", "sv", user="U_LEA")
    assert "I don't speak 'sv' yet." in said
    await kept(server, "lea", ("en", None))


# -- Danish command words and forms -----------------------------------------------------------


async def test_danish_command_words_open_danish_forms(server, fake_slack):
    assert "dansk" in await ask(server, fake_slack, "sprog da", "da")

    # A Danish sub-word, through the slash command.
    said = await ask(server, fake_slack, "historie tilbagetræk", "withdraw")
    assert "Du har ingen delte historier at trække tilbage." in said

    # `historie` opens the story modal, all in Danish: title, labels, options, buttons.
    assert await command(server, fake_slack, "historie", rid="story") == ""
    view = await opened_view(fake_slack)
    assert view["title"]["text"].startswith("Del en ambassadørhistor") and len(view["title"]["text"]) <= 24
    assert (view["submit"]["text"], view["close"]["text"]) == ("Del", "Annullér")
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert inputs["title"]["label"]["text"] == "Giv din historie en titel"
    assert [o["text"]["text"] for o in inputs["consent"]["element"]["options"]][:2] == ["Kun mig", "Min koalition"]
    assert "Ja" in json.dumps(inputs["named"], ensure_ascii=False)

    # A missing answer is refused on its input, in Danish.
    refused = await submit(server, view, {**STORY, "title": plain_text(None)})
    assert refused == {"response_action": "errors", "errors": {"title": "Her skal du svare."}}
    assert await submit(server, view, STORY) == {}
    saved = await posted(fake_slack, "U_MO", "er gemt")
    assert "Din historie *Kaffe på havnen* er gemt" in texts(saved) and "historie tilbagetræk" in texts(saved)
    await posted(fake_slack, "C_HARBOUR", "Kaffe på havnen")  # the channel's news: its language, see below
    [story] = (await records(server))["stories"]
    assert (story["title"], story["consent"]) == ("Kaffe på havnen", "coalition")

    # A form without a button label of its own gets the language's: Send / Annullér.
    assert await command(server, fake_slack, "refleksion 4", rid="reflect") == ""
    view = await opened_view(fake_slack, count=2)
    assert view["title"]["text"].startswith("Princip nr. 4")
    assert (view["submit"]["text"], view["close"]["text"]) == ("Send", "Annullér")

    # The Danish words work for everyone; an English member's form stays English.
    assert await command(server, fake_slack, "historie", user="U_LEA", rid="lea") == ""
    view = await opened_view(fake_slack, count=3)
    assert view["title"]["text"] == "Share an ambassador sto…"
    assert (view["submit"]["text"], view["close"]["text"]) == ("Share", "Cancel")


# -- the outbox ---------------------------------------------------------------------------


async def test_check_in_invitations_reach_each_member_in_their_language(server, fake_slack):
    fake_slack.users["U_MO"] = {"locale": "da-DK"}
    await ask(server, fake_slack, "status", "mo")  # mo's profile is read after this answer
    await kept(server, "mo", (None, "da-DK"))

    today = date.today()
    await command(server, fake_slack, "experiment", user="U_LEA")
    view = await opened_view(fake_slack)
    assert await submit(server, view, {
        "title": plain_text("Job café"), "action": plain_text("A café run by young people"),
        "effect": plain_text("Three apprenticeships"), "stakeholders": plain_text("young people, employers"),
        "partners": plain_text("Harbour Bakery"), "starts_on": day(today.isoformat()),
        "ends_on": day((today + timedelta(days=30)).isoformat()), "measures": plain_text("Contracts"),
        "owner": plain_text(None)}, user="U_LEA") == {}
    said = await ask(server, fake_slack, "checkin", "leader", user="U_LEA")
    assert "Check-in round on *Job café* is open: I am asking 2 members now" in said

    # mo's invitation is Danish, its button types the Danish command; lea's is English.
    danish = await posted(fake_slack, "U_MO", "Effektindtjek: Job café")
    assert "Hvordan lander vores eksperiment" in texts(danish) and "Impact check-in" not in texts(danish)
    [button] = buttons(danish)
    assert button["text"]["text"] == "Svar på indtjekket" and button["value"].startswith("effekt ")
    english = await posted(fake_slack, "U_LEA", "Impact check-in: Job café")
    [lea_button] = buttons(english)
    assert lea_button["text"]["text"] == "Answer the check-in" and lea_button["value"].startswith("impact ")
    assert button["value"].split()[1] == lea_button["value"].split()[1]  # the same round
    await posted(fake_slack, "U_LEA", "Check-in round on Job café")  # the leader's progress message

    # mo clicks the Danish button: the check-in form opens in Danish and is answered.
    click = block_action("command_0", button["value"], user="U_MO", channel=danish.args["channel"],
                         message_ts="1700000000.000900", response_url=fake_slack.response_url("click"))
    assert (await send(server, click))[0] == 200
    view = await opened_view(fake_slack, count=2)
    assert view["title"]["text"] == "Effektindtjek: Job café"
    assert (view["submit"]["text"], view["close"]["text"]) == ("Send", "Annullér")
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert inputs["citizen_impact"]["label"]["text"] == "Hvordan oplever borgerne effekten indtil nu?"
    assert await submit(server, view, {
        "citizen_impact": radio("4"), "effect_0": radio("5"), "effect_1": radio("2"),
        "intended": plain_text("To lærepladser"), "unintended": plain_text(None),
        "evidence": plain_text(None), "decision": radio("scale_up")}) == {}
    saved = await posted(fake_slack, "U_MO", "Dit indtjek på *Job café* er gemt")
    assert "Beslutning: Skalér op" in texts(saved)

    # The leader's progress message stays English.
    await eventually(lambda: [c for c in fake_slack.calls("chat.update") if "1 answered" in texts(c)],
                     "the progress message updated to 1 answered")


# -- a Danish coalition -----------------------------------------------------------------------


@pytest.fixture
def danish_server(tmp_path, slack_env):
    """The test movement with Harbour Youth speaking Danish (`language: da` in app.yaml)."""
    yaml = APP_YAML.read_text(encoding="utf-8")
    assert "    name: Harbour Youth\n" in yaml
    config = tmp_path / "app.yaml"
    config.write_text(yaml.replace("    name: Harbour Youth\n", "    name: Harbour Youth\n    language: da\n"),
                      encoding="utf-8")
    server = start_server(tmp_path, {**slack_env, "COCREATE_CONFIG": str(config)})
    yield server
    stop_server(server)
    assert "Traceback" not in server.logs(), server.logs()


async def test_a_danish_coalition_writes_danish_until_a_member_chooses_otherwise(danish_server, fake_slack):
    server = danish_server
    fake_slack.users["U_MO"] = {"locale": None}  # mo's profile has no locale: the coalition decides
    assert danish_help(await ask(server, fake_slack, "help", "mo-1"))
    assert danish_help(await ask(server, fake_slack, "help", "lea-1", user="U_LEA"))
    await fake_slack.wait_for("users.info", count=2)
    assert danish_help(await ask(server, fake_slack, "help", "mo-2"))
    # lea's Slack runs in English (en-US), as every Danish member's does (Slack has no Danish):
    # that says nothing about lea, so the coalition's Danish stays until lea chooses.
    await asyncio.sleep(0.3)
    assert await languages(server) == {}
    assert danish_help(await ask(server, fake_slack, "help", "lea-2", user="U_LEA"))
    await ask(server, fake_slack, "language en", "lea-en", user="U_LEA")
    assert english_help(await ask(server, fake_slack, "help", "lea-3", user="U_LEA"))

    # A check-in round: each member is invited in their language, the summary goes to the
    # channel in the coalition's.
    today = date.today()
    await command(server, fake_slack, "experiment", user="U_LEA", rid="experiment")
    view = await opened_view(fake_slack)
    assert view["submit"]["text"] == "Register"  # lea's own form: English
    assert await submit(server, view, {
        "title": plain_text("Jobcafé"), "action": plain_text("En café drevet af unge"),
        "effect": plain_text("Tre lærepladser"), "stakeholders": plain_text("unge, arbejdsgivere"),
        "partners": plain_text("Havnebageriet"), "starts_on": day(today.isoformat()),
        "ends_on": day((today + timedelta(days=30)).isoformat()), "measures": plain_text("Kontrakter"),
        "owner": plain_text(None)}, user="U_LEA") == {}
    assert "is open: I am asking 2 members now" in await ask(server, fake_slack, "checkin", "open", user="U_LEA")
    await posted(fake_slack, "U_MO", "Effektindtjek: Jobcafé")
    await posted(fake_slack, "U_LEA", "Impact check-in: Jobcafé")
    assert "Closed the check-in round" in await ask(server, fake_slack, "checkin close", "close", user="U_LEA")
    summary = await posted(fake_slack, "C_HARBOUR", "Effektindtjekket på *Jobcafé* er lukket uden svar")
    assert "thread_ts" not in summary.args


# -- what others read, and the adapters' own notes ----------------------------------------


async def test_channel_news_is_in_the_coalitions_language_whoever_shared_it(server, fake_slack):
    """README: 'Channel posts and reports use the coalition's (or the movement's) language'."""
    assert "dansk" in await ask(server, fake_slack, "sprog da", "da")
    await command(server, fake_slack, "historie", rid="story")
    assert await submit(server, await opened_view(fake_slack), STORY) == {}
    await posted(fake_slack, "U_MO", "Din historie *Kaffe på havnen* er gemt")
    headline = await posted(fake_slack, "C_HARBOUR", "Kaffe på havnen")
    assert "New ambassador story" in texts(headline) and "a member (anonymously)" in texts(headline), texts(headline)


async def test_the_moved_on_note_of_an_outdated_answer_button_is_in_the_members_language(server, fake_slack):
    assert "dansk" in await ask(server, fake_slack, "sprog da", "da")
    await send(server, event(dm_message("refleksion 2")))
    question = await posted(fake_slack, "D_MO", "Princip nr. 2")
    [open_form] = [b for b in buttons(question) if b["action_id"] == "open_form"]
    assert open_form["text"]["text"] == "Svar"
    await send(server, event(dm_message("afbryd")))
    await posted(fake_slack, "D_MO", "Afbrudt")
    # The old "Svar" button is clicked after the question was cancelled: a note says so.
    click = block_action("open_form", open_form["value"], channel="D_MO", response_url=fake_slack.response_url("old"))
    assert (await send(server, click))[0] == 200
    note = await answer(fake_slack, "old")
    assert "Det spørgsmål er vi kommet videre fra" in note, note
