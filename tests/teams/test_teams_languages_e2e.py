"""Teams in English and Danish, end to end: a real `cocreate serve`, authenticated activities
whose `locale` is what the member's Teams client speaks, replies through the fake connector.

The language of what the bot writes to a member (README, "Languages"): their own choice
(`language da` / `sprog en`) > their Teams client's `locale` (this activity's, else the one
stored from their last message, for proactive sends) > their coalition's `language` > the
movement's.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from storage.repository import open_store
from tests.fakes.teams_client import (
    APP_ID,
    TEAM_ID,
    card_submit,
    conversation_update,
    installation_update,
    personal_conversation_id,
)
from tests.support import APP_YAML
from tests.teams.test_teams_e2e import (
    card_buttons,
    cards,
    eventually,
    inputs,
    post,
    records,
    said,
    say,
    submit_data,
)

DA, EN = "da-DK", "en-US"
MO, LEA = personal_conversation_id("29:mo"), personal_conversation_id("29:lea")


def said_since(connector, conversation, count: int) -> str:
    """What the bot wrote in a conversation after its first `count` messages (texts and cards)."""
    texts = []
    for activity in connector.messages(conversation)[count:]:
        texts.append(activity.get("text") or "")
        for attachment in activity.get("attachments") or []:
            texts.append(str(attachment.get("content")))
    return "\n".join(texts)


async def answer(server, connector, text, user="29:mo", locale=DA, **kw) -> str:
    """`text` from `user`'s Teams client in `locale`; what the bot answered in their chat."""
    chat = personal_conversation_id(user)
    before = len(connector.messages(chat))
    await say(server, connector, text, user=user, locale=locale, **kw)
    return said_since(connector, chat, before)


async def stored_languages(server) -> dict[str, tuple[str | None, str | None]]:
    store = open_store(server.database_url)
    try:
        return await store.languages()
    finally:
        await store.close()


def with_config(tmp_path: Path, env: dict[str, str], change) -> dict[str, str]:
    """`env` with COCREATE_CONFIG pointing at a copy of the tests' app.yaml, changed by `change`."""
    config = yaml.safe_load(APP_YAML.read_text(encoding="utf-8"))
    change(config)
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return env | {"COCREATE_CONFIG": str(path)}


# -- (a) the reply follows the locale of the activity ------------------------------------


async def test_help_is_answered_in_the_language_of_the_activitys_locale(teams_server, connector):
    danish = await answer(teams_server, connector, "hjælp", locale=DA)
    assert "**Test Movement**: det her kan du." in danish
    assert "`deltag`" in danish and "`historie [tilbagetræk]`" in danish and "`hjælp`: denne liste" in danish
    assert "here is what you can do" not in danish and "this list" not in danish

    # The same member on a client set to English: English, whichever word they type.
    english = await answer(teams_server, connector, "help", locale=EN)
    assert "**Test Movement**: here is what you can do." in english
    assert "`join`" in english and "`help`: this list" in english and "denne liste" not in english
    assert "this list" in await answer(teams_server, connector, "hjælp", locale=EN)

    # And back: the activity's own locale always wins over the one stored from before.
    assert "denne liste" in await answer(teams_server, connector, "help", locale="da")
    # A locale the bot does not speak is no language choice: the coalition's (here English).
    assert "this list" in await answer(teams_server, connector, "hjælp", locale="fr-FR")


async def test_the_locale_is_stored_for_what_the_bot_sends_later(teams_server, connector):
    await answer(teams_server, connector, "hjælp", locale=DA)
    await answer(teams_server, connector, "help", user="29:lea", locale=EN)
    assert await stored_languages(teams_server) == {"mo": (None, DA), "lea": (None, EN)}
    await answer(teams_server, connector, "status", locale=EN)  # mo switched their client to English
    assert (await stored_languages(teams_server))["mo"] == (None, EN)


async def test_unknown_words_and_refusals_are_in_danish_too(teams_server, connector):
    unknown = await answer(teams_server, connector, "banan")
    assert "Jeg kender ikke kommandoen 'banan'. Skriv **hjælp** for at se, hvad jeg kan." in unknown
    refused = await answer(teams_server, connector, "indtjek")
    assert "Kun koalitionens ledere kan" in refused and "Lea Leader" in refused


async def test_a_danish_install_is_greeted_in_danish(teams_server, connector):
    install = installation_update("add", service_url=connector.url, locale=DA)
    assert await post(teams_server, connector, install) == 200
    hello = said(connector, install["conversation"]["id"])
    assert "Hej! Jeg hjælper vores koalition med at samskabe. Skriv **hjælp**" in hello


async def test_a_channel_mention_is_answered_in_the_senders_language(teams_server, connector):
    activity = await say(teams_server, connector, "status", user="29:ann", conversation_type="channel",
                         mentions_bot=True, team_id=TEAM_ID, channel_id=TEAM_ID, locale=DA)
    assert "Din status i Harbour Youth" in said(connector, activity["conversation"]["id"])


# -- (b) Danish command words, a Danish card, a Danish record of it ----------------------


async def test_a_danish_story_card_its_errors_and_its_record(teams_server, connector):
    await say(teams_server, connector, "historie", locale=DA)
    [(card_id, card)] = cards(connector, MO)
    assert card["body"][1]["text"] == "Del en ambassadørhistorie"  # body[0] is the intro
    assert inputs(card) == ["title", "body", "principles", "sectors", "consent", "named"]
    labels = {e["id"]: e["label"] for e in card["body"] if e.get("id")}
    assert labels["title"] == "Giv din historie en titel" and labels["consent"] == "Hvem må se historien?"
    assert {e.get("errorMessage") for e in card["body"] if e.get("isRequired")} == {"Her skal du svare."}
    [button] = card_buttons(card)
    assert button["title"] == "Del" and button["style"] == "positive"  # the story's own word (story.submit)
    consent = next(e for e in card["body"] if e.get("id") == "consent")
    assert [c["title"] for c in consent["choices"]][:2] == ["Kun mig", "Min koalition"]

    # Answers the bot cannot accept: the same card, with the reason in Danish above the field.
    data = submit_data(card)
    bad = {**data, "title": "", "body": "Det startede med et spørgsmål", "principles": "1,7",
           "sectors": "citizen", "consent": "coalition", "named": "no"}
    assert await post(teams_server, connector, card_submit(bad, card_id, service_url=connector.url, locale=DA)) == 200
    [update] = connector.calls("update")
    assert update.activity_id == card_id
    errors = [e["text"] for e in update.body["attachments"][0]["content"]["body"] if e.get("color") == "Attention"]
    assert errors == ["Her skal du svare."]
    assert (await records(teams_server))["stories"] == []

    good = {**bad, "title": "Caféen på havnen"}
    assert await post(teams_server, connector, card_submit(good, card_id, service_url=connector.url, locale=DA)) == 200
    [(_, record)] = [(i, c) for i, c in cards(connector, MO) if i == card_id]
    assert not inputs(record) and "actions" not in str(record)
    assert record["body"][0]["text"] == "Del en ambassadørhistorie"
    facts = {f["title"]: f["value"] for f in record["body"][1]["facts"]}
    assert facts["Hvem må se historien?"] == "Min koalition"
    assert facts["Giv din historie en titel"] == "Caféen på havnen"
    assert facts["Skal dit navn stå ved den?"] == "Nej, hold mig anonym"
    assert record["body"][-1]["text"] == "Gemt."
    assert "Din historie **Caféen på havnen** er gemt. Hvem kan se den: Min koalition (anonymt)." in said(connector, MO)
    [story] = (await records(teams_server))["stories"]
    assert (story["title"], story["principles"], story["anonymous"]) == ("Caféen på havnen", [1, 7], True)


async def test_danish_words_for_sub_commands_and_cancel(teams_server, connector):
    await say(teams_server, connector, "historie", locale=DA)
    assert "Del en ambassadørhistorie" in str(cards(connector, MO))
    cancelled = await answer(teams_server, connector, "afbryd")
    assert "Afbrudt: " in cancelled and "Dine halvfærdige svar er ikke gemt." in cancelled
    nothing = await answer(teams_server, connector, "historie tilbagetræk")
    assert "Du har ingen delte historier at trække tilbage." in nothing


# -- (c) proactive sends: each member's invitation in their own language -----------------


async def test_check_in_invitations_reach_each_member_in_their_language(teams_server, connector):
    """A leader (English client) opens a round; the outbox invites Mo, whose last message came
    from a Danish client, in Danish, and the leader in English. Mo answers in Danish."""
    added = conversation_update(members_added=[f"28:{APP_ID}"], team_id=TEAM_ID, service_url=connector.url)
    assert await post(teams_server, connector, added) == 200

    today = date.today()
    await say(teams_server, connector, "experiment", user="29:lea", locale=EN)
    [(card_id, card)] = cards(connector, LEA)
    values = {**submit_data(card), "title": "Job café", "action": "Open a café", "effect": "Apprenticeships",
              "stakeholders": "young people, employers", "partners": "Bakery",
              "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=30)).isoformat(),
              "measures": "Contracts", "owner": ""}
    await post(teams_server, connector, card_submit(values, card_id, user_id="29:lea", service_url=connector.url))

    # Mo writes from a Danish client before the round opens: the bot keeps the locale.
    assert "Din status i Harbour Youth" in await answer(teams_server, connector, "status", locale=DA)
    opened = await answer(teams_server, connector, "checkin", user="29:lea", locale=EN)
    assert "Check-in round on **Job café** is open: I am asking 2 members now" in opened

    def invitation(conversation, title):
        found = [c for _, c in cards(connector, conversation) if title in str(c)]
        return found[:1]

    [danish] = await eventually(lambda: invitation(MO, "Effektindtjek: Job café"), "mo's Danish invitation")
    [english] = await eventually(lambda: invitation(LEA, "Impact check-in: Job café"), "lea's English invitation")
    assert "Impact check-in" not in said(connector, MO) and "Effektindtjek" not in said(connector, LEA)
    assert "(Harbour Youth)\nHvordan lander vores eksperiment hos dem, det er til for?" in danish["body"][0]["text"]
    assert danish["body"][1]["text"].startswith("Åben indtil ") and " kl. " in danish["body"][1]["text"]
    assert english["body"][1]["text"].startswith("Open until ")
    [button] = card_buttons(danish)
    assert button["title"] == "Svar på indtjekket" and button["style"] == "positive"
    command = button["data"]["msteams"]["value"]
    assert re.fullmatch(r"effekt \d+", command)  # the command in Mo's words; the engine knows both
    [english_button] = card_buttons(english)
    assert english_button["title"] == "Answer the check-in"
    assert english_button["data"]["msteams"]["value"] == command.replace("effekt", "impact")
    # The leader's live progress message is in the leader's language.
    await eventually(lambda: [c for _, c in cards(connector, LEA) if "Check-in round on Job café" in str(c)],
                     "the leader's English progress message")

    # Mo presses the button: Teams posts its imBack value as Mo's message, from the Danish client.
    await say(teams_server, connector, command, locale=DA)
    [(form_id, form)] = [(i, c) for i, c in cards(connector, MO) if inputs(c)]
    assert form["body"][0]["text"].startswith("Se på effekten på forskellige niveauer")
    assert form["body"][1]["text"] == "Effektindtjek: Job café"
    labels = {e["id"]: e["label"] for e in form["body"] if e.get("id")}
    assert labels["citizen_impact"] == "Hvordan oplever borgerne effekten indtil nu?"
    assert labels["effect_0"] == "Effekt for young people" and labels["decision"] == "Hvad gør vi nu?"
    decision = next(e for e in form["body"] if e.get("id") == "decision")
    assert "Justér" in [c["title"] for c in decision["choices"]]
    [send] = card_buttons(form)
    assert send["title"] == "Send"  # the check-in has no submit word of its own: the chrome's

    values = {**submit_data(form), "citizen_impact": "4", "effect_0": "5", "effect_1": "2",
              "intended": "To lærepladser", "unintended": "", "evidence": "", "decision": "adjust"}
    submit = card_submit(values, form_id, service_url=connector.url, locale=DA)
    assert await post(teams_server, connector, submit) == 200
    assert "Dit indtjek på **Job café** er gemt. Beslutning: Justér." in said(connector, MO)
    [(_, record)] = [(i, c) for i, c in cards(connector, MO) if i == form_id]
    assert record["body"][-1]["text"] == "Gemt." and not inputs(record)
    [checkin] = (await records(teams_server))["checkins"]
    assert checkin["member_id"] == "mo" and checkin["decision"] == "adjust"

    # The leader's progress, updated in place, stays English; Danish command words work for them.
    await eventually(lambda: [c for c in connector.calls("update", LEA) if "1 answered" in str(c.body)],
                     "the progress message updated to 1 answered")
    closed = await answer(teams_server, connector, "indtjek luk", user="29:lea", locale=EN)
    assert "Closed the check-in round on **Job café**" in closed
    # The channel's summary is in the coalition's language (English here), whoever answered.
    await eventually(lambda: [a for a in connector.messages(TEAM_ID) if "closed: 1 answer(s)" in str(a)],
                     "the English summary in the team channel")


async def test_the_members_choice_beats_the_client_and_the_coalitions_language(tmp_path, teams_env, connector,
                                                                               servers):
    """Five members of a Danish-speaking coalition invited to one round: each invitation in
    the language the order gives them."""
    def change(config):
        config["members"] += [{"id": "ida", "name": "Ida Danish", "platforms": {"teams": "29:ida"}},
                              {"id": "ole", "name": "Ole Olsen", "platforms": {"teams": "29:ole"}},
                              {"id": "uma", "name": "Uma Unseen", "platforms": {"teams": "29:uma"}}]
        harbour = config["coalitions"][0]
        harbour["members"] += ["ida", "ole", "uma"]
        harbour["language"] = "da"

    server = servers(with_config(tmp_path, teams_env, change))
    # Lea: an English client, no choice -> English (the client beats the coalition).
    assert "here is what you can do" in await answer(server, connector, "help", user="29:lea", locale=EN)
    # Mo: a Danish client who chose English -> English, also on their Danish client.
    assert "From now on I write to you in English." in await answer(server, connector, "language en")
    assert "here is what you can do" in await answer(server, connector, "hjælp")
    # Ida: an English client who chose Danish -> Danish.
    assert "på dansk" in await answer(server, connector, "sprog da", user="29:ida", locale=EN)
    assert "det her kan du" in await answer(server, connector, "help", user="29:ida", locale=EN)
    # Ole: a client whose language the bot does not speak -> the coalition's, Danish.
    assert "det her kan du" in await answer(server, connector, "help", user="29:ole", locale="fr-FR")
    # Uma: only in the team's roster, never wrote -> a new 1:1 chat in the coalition's language.
    added = conversation_update(members_added=[f"28:{APP_ID}", "29:uma"], team_id=TEAM_ID,
                                service_url=connector.url)
    assert await post(server, connector, added) == 200

    today = date.today()
    await say(server, connector, "eksperiment", user="29:lea", locale=EN)
    [(card_id, card)] = cards(connector, LEA)
    values = {**submit_data(card), "title": "Job café", "action": "Open a café", "effect": "Apprenticeships",
              "stakeholders": "young people", "partners": "Bakery", "starts_on": today.isoformat(),
              "ends_on": (today + timedelta(days=30)).isoformat(), "measures": "Contracts", "owner": ""}
    await post(server, connector, card_submit(values, card_id, user_id="29:lea", service_url=connector.url))
    opened = await answer(server, connector, "checkin", user="29:lea", locale=EN)
    assert "I am asking 5 members now" in opened

    def invitation(conversation):
        heads = ("**Impact check-in: Job café**", "**Effektindtjek: Job café**")
        return lambda: [c["body"][0]["text"] for _, c in cards(connector, conversation)
                        if c["body"][0]["text"].startswith(heads)]

    english = "**Impact check-in: Job café** (Harbour Youth)"
    danish = "**Effektindtjek: Job café** (Harbour Youth)"
    for user, expected in [("29:lea", english), ("29:mo", english), ("29:ida", danish), ("29:ole", danish)]:
        [text] = await eventually(invitation(personal_conversation_id(user)), f"the invitation of {user}")
        assert text.startswith(expected), (user, text)
    # Uma's invitation opened a new chat (the fake names it "a:new-<n>").
    [created] = await eventually(lambda: connector.calls("create"), "a new chat with Uma")
    assert created.body["members"][0]["id"] == "29:uma"
    [uma] = await eventually(lambda: list({c.conversation_id for c in connector.calls() if c.kind in ("send", "reply")
                                           and (c.conversation_id or "").startswith("a:new-")}), "Uma's new chat")
    [text] = await eventually(invitation(uma), "Uma's invitation")
    assert text.startswith(danish)


# -- (d) a member's own choice ----------------------------------------------------------


async def test_language_en_from_a_danish_client_switches_the_replies_to_english(teams_server, connector):
    assert "denne liste" in await answer(teams_server, connector, "hjælp")
    current = await answer(teams_server, connector, "sprog")
    assert "Jeg skriver til dig på dansk. Skift med `sprog <kode>`" in current

    switched = await answer(teams_server, connector, "language en")
    assert "From now on I write to you in English." in switched
    assert await stored_languages(teams_server) == {"mo": ("en", DA)}
    for word in ("hjælp", "help"):
        reply = await answer(teams_server, connector, word)
        assert "**Test Movement**: here is what you can do." in reply and "denne liste" not in reply
    assert "I write to you in English." in await answer(teams_server, connector, "language")

    # Forms follow the choice too: English card, English chrome, English record.
    await say(teams_server, connector, "historie", locale=DA)
    [(card_id, card)] = cards(connector, MO)
    assert card["body"][1]["text"] == "Share an ambassador story"
    assert {e.get("errorMessage") for e in card["body"] if e.get("isRequired")} == {"This one needs an answer."}
    good = {**submit_data(card), "title": "Harbour café", "body": "It began", "principles": "1",
            "sectors": "citizen", "consent": "coalition", "named": "no"}
    assert await post(teams_server, connector, card_submit(good, card_id, service_url=connector.url, locale=DA)) == 200
    [(_, record)] = [(i, c) for i, c in cards(connector, MO) if i == card_id]
    assert record["body"][-1]["text"] == "Saved."

    # `sprog auto` gives the choice back to the client: Danish again.
    auto = await answer(teams_server, connector, "sprog auto")
    assert "Fra nu af følger jeg din platforms eller din koalitions sprog: dansk." in auto
    assert "denne liste" in await answer(teams_server, connector, "help")
    assert await stored_languages(teams_server) == {"mo": (None, DA)}


# -- what others read: in the reader's language -----------------------------------------


async def test_channel_news_is_in_the_coalitions_language_whoever_wrote_it(teams_server, connector):
    added = conversation_update(members_added=[f"28:{APP_ID}"], team_id=TEAM_ID, service_url=connector.url)
    assert await post(teams_server, connector, added) == 200
    await say(teams_server, connector, "historie", locale=DA)
    [(card_id, card)] = cards(connector, MO)
    good = {**submit_data(card), "title": "Caféen på havnen", "body": "Det startede med et spørgsmål",
            "principles": "1", "sectors": "citizen", "consent": "coalition", "named": "yes"}
    assert await post(teams_server, connector, card_submit(good, card_id, service_url=connector.url, locale=DA)) == 200
    [headline] = await eventually(lambda: [a for a in connector.messages(TEAM_ID) if "Caféen på havnen" in str(a)],
                                  "the story's news in the team channel")
    # Harbour Youth has no `language:` and the movement's is English.
    assert "New ambassador story: **Caféen på havnen**, shared by Mo Member." in headline["text"]


async def test_a_leader_is_told_of_an_unreachable_member_in_the_leaders_language(tmp_path, teams_env, connector,
                                                                                 teams_server):
    from tests.teams.test_teams_e2e import notify

    await say(teams_server, connector, "help")
    await say(teams_server, connector, "hjælp", user="29:lea", locale=DA)
    connector.clear()
    connector.fail("reply", 403, error_code="ConversationBlockedByUser")
    result = notify(teams_env, tmp_path, "mo", "Are you there?")
    assert result.returncode == 1
    [told] = [c for c in connector.calls() if c.conversation_id == LEA]
    assert "Jeg kunne ikke nå Mo Member i Teams (vedkommende har blokeret appen)" in told.text
