"""Members' data rights (`mydata`, `forget me`) and retention, through the real engine on a
real database (SQLite and PostgreSQL): what a member gets is everything stored about them and
fits its schema; after an erasure no row holds their words, name or id, and the counts stay."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import jsonschema
from sqlalchemy import select

from bot.config import Retention
from bot.people import Identity
from bot.ports import Outgoing
from bot.tokens import digest
from bot.types import Capabilities, ConversationRef
from bot.ui import File
from storage.models import Base
from storage.web import SqlWeb

from tests.support import Chat

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "mydata.schema.json").read_text())
FILES = Capabilities(can_take_files=True)
# What Mo tells the bot: none of it may be anywhere after `forget me`.
MO_SAID = ("Harbour Bakery", "Apprenticeships and a kitchen", "The summer job fair", "Employers came to the club",
           "Do it every quarter", "Café in the harbour", "It started with one question", "The parents' evening",
           "The old library", "Rooms in the evening", "Mo Member", "mo@harbour.dk")


async def mo_shares(engine) -> Chat:
    mo = Chat(engine, "mo")
    out = await mo.answer("join", "business", "Harbour Bakery", "Apprenticeships and a kitchen",
                          "1", "The old library", "1", "civil_society", "Rooms in the evening", "2")
    assert not (await mo.engine.current(mo.ref, mo.caps)), out
    out = await mo.answer("strengths", "The summer job fair", "Employers came to the club", "Do it every quarter", "skip")
    assert "Your experience is saved" in out, out
    assert "Thank you" in await mo.answer("reflect 3", "The parents' evening changed our plan")
    out = await mo.answer("story", "Café in the harbour", "It started with one question", "1, 7", "2 5", "coalition", "1")
    assert "Who can see it: My coalition" in out, out
    assert mo.engine and not (await mo.engine.current(mo.ref, mo.caps))  # nothing left open
    return mo


async def dump(store) -> list[tuple[str, dict]]:
    """Every row of every table, as (table, row)."""
    rows = []
    async with store.engine.connect() as db:
        for table in Base.metadata.sorted_tables:
            rows += [(table.name, dict(r._mapping)) for r in await db.execute(select(table))]
    return rows


def mentions(rows, *needles: str) -> list[tuple[str, str]]:
    found = []
    for table, row in rows:
        text = json.dumps(row, default=str, ensure_ascii=False)
        found += [(table, n) for n in needles if n in text]
    return found


def names_member(rows, member_id: str) -> list[tuple[str, str]]:
    """Columns whose value is the member's id (or an outbox target of them)."""
    return [(table, k) for table, row in rows for k, v in row.items()
            if v == member_id or v == f"member:{member_id}"]


async def test_mydata_is_everything_stored_about_me_and_fits_its_schema(engine, store):
    await mo_shares(engine)
    await Chat(engine, "lea").answer("reflect 2", "Lea's own thought")
    chat = Chat(engine, "mo", FILES)
    out = await chat.say("mydata")
    assert "What Cocreate stores about you" in out and "1 story(ies), each with its consent level" in out
    [file] = [b for r in chat.replies for b in r.blocks if isinstance(b, File)]
    doc = json.loads(file.data)
    jsonschema.validate(doc, SCHEMA)
    assert doc["format"] == "cocreate.mydata/1" and doc["profile"]["id"] == "mo"
    assert doc["profile"]["name"] == "Mo Member" and doc["profile"]["member_of"] == ["harbour"]
    [membership] = doc["memberships"]
    assert (membership["organisation"], membership["sector"]) == ("Harbour Bakery", "business")
    c = doc["contributions"]
    assert [r["text"] for r in c["reflections"]] == ["The parents' evening changed our plan"]  # not Lea's
    [story] = c["stories"]
    assert (story["title"], story["consent"], story["principles"]) == ("Café in the harbour", "coalition", [1, 7])
    assert c["strengths"][0]["success"] == "The summer job fair" and c["resources"][0]["name"] == "The old library"
    assert file.name.startswith("cocreate-mydata-mo-") and file.name.endswith(".json")


async def test_mydata_without_files_is_a_one_time_download_link(engine, store, clock):
    await Chat(engine, "mo").answer("reflect 1", "A thought")
    out = await Chat(engine, "mo").say("mydata")
    assert "1 reflection(s)" in out and "works once, within 15 minutes" in out
    token = re.search(r"/mydata/([\w-]+)", out).group(1)
    web = SqlWeb.of(store)
    assert await web.spend_link(digest(token), "signin", clock()) is None  # not a sign-in link
    assert await web.spend_link(digest(token), "mydata", clock()) == "mo"
    assert await web.spend_link(digest(token), "mydata", clock()) is None  # once
    late = await Chat(engine, "mo").say("mydata")
    token = re.search(r"/mydata/([\w-]+)", late).group(1)
    assert await web.spend_link(digest(token), "mydata", clock() + timedelta(minutes=16)) is None


async def test_forget_me_asks_first_and_no_keeps_everything(engine, store):
    mo = await mo_shares(engine)
    before = await dump(store)
    out = await mo.say("forget me")
    assert "This erases what Cocreate stores about you" in out and "1) Yes, erase everything" in out
    assert "Nothing was erased." in await mo.say("2")
    after = await dump(store)
    assert [r for r in after if r[0] != "processed_events"] == [r for r in before if r[0] != "processed_events"]


async def test_forget_me_erases_every_trace_and_keeps_the_counts(engine, store, clock):
    mo = await mo_shares(engine)
    await Chat(engine, "lea").answer("reflect 2", "Lea's own thought")
    async with store.unit() as unit:  # where the bot reaches Mo, and who Mo is on Slack
        await unit.save_reference(ConversationRef("slack", "T1", "D_MO", "U_MO"), "mo", "personal", clock())
    await store.identify(Identity("slack", "U_MO2", "mo", "mo@harbour.dk", "users.info", "T1"), clock())
    counted = {t: len([r for r in await dump(store) if r[0] == t])
               for t in ("strengths", "reflections", "stories", "resources")}

    await mo.say("forget me")
    out = await mo.say("1")
    assert "everything Cocreate stored about you is erased" in out
    assert "app.yaml) still lists you" in out  # Mo is in tests/data/app.yaml

    rows = await dump(store)
    assert mentions(rows, *MO_SAID) == []
    assert names_member(rows, "mo") == []
    assert {t: len([r for r in rows if r[0] == t]) for t in counted} == counted  # the counts stay
    assert mentions(rows, "Lea's own thought") == [("reflections", "Lea's own thought")]  # others' untouched
    [audit] = [row for table, row in rows if table == "erasures"]
    assert audit["by"] == "member" and audit["reason"] == "request" and audit["counts"]["reflections"] == 1
    # Writing again: a fresh start, nothing of before.
    out = await mo.say("status")
    assert "You haven't joined yet" in out and "Café in the harbour" not in out
    assert await store.erase("mo", "cli:test", clock()) == {}  # again: nothing left, no second record
    assert len([r for r in await dump(store) if r[0] == "erasures"]) == 1


async def test_erased_stories_and_answers_are_never_listed_again(engine, store, clock):
    await mo_shares(engine)
    lea = Chat(engine, "lea")
    assert "Café in the harbour" in await lea.say("digest")
    await store.erase("mo", "cli:test", clock())
    assert "Café in the harbour" not in await lea.say("digest")
    treasures = await _treasures(store, clock)
    assert treasures == ()


async def _treasures(store, clock):
    async with store.unit() as unit:
        return await unit.treasures("harbour", clock() - timedelta(days=1), clock() + timedelta(days=1), 10)


async def test_retention_empties_old_answers_and_deletes_what_it_names(engine, store, clock):
    mo = Chat(engine, "mo")
    await mo.answer("reflect 1", "An old thought")
    await mo.answer("story", "An old story", "Withdrawn later", "1", "2", "coalition", "1")
    assert "Withdrawn: An old story" in await mo.answer("story withdraw", "1", "withdraw it")
    await store.enqueue([Outgoing("test", "1", "member:mo", "harbour", "notice", {"n": 1}, clock()),
                         Outgoing("test", "2", "member:mo", "harbour", "notice", {"n": 2}, clock())], clock())
    [claimed] = await store.claim("w", clock(), 1, timedelta(minutes=1))
    await store.sent(claimed.id, "w", "console", None, None, clock())
    clock.now += timedelta(days=400)
    await Chat(engine, "lea").answer("reflect 2", "A new thought")
    cutoffs = Retention(answers_months=12, withdrawn_stories_days=30, delivered_messages_days=30).cutoffs(clock())

    before = await dump(store)
    would = await store.expire(cutoffs, clock(), dry_run=True)
    assert would == {"answers.reflections": 1, "answers.stories": 1, "withdrawn_stories": 1, "delivered_messages": 1}
    assert await dump(store) == before  # a dry run changes nothing

    assert await store.expire(cutoffs, clock()) == would
    rows = await dump(store)
    assert mentions(rows, "An old thought", "An old story", "Withdrawn later") == []
    assert mentions(rows, "A new thought") == [("reflections", "A new thought")]
    assert len([r for r in rows if r[0] == "reflections"]) == 2  # counted still
    assert [r["occurrence"] for t, r in rows if t == "outbox"] == ["2"]  # the one not yet sent stays
    assert [r["reason"] for t, r in rows if t == "erasures"] == ["retention"]
    assert await store.expire(cutoffs, clock()) == {}  # nothing left to do


async def test_another_replica_forgets_the_erased_accounts_too(engine, store, config, clock):
    from bot.engine import Engine
    from flows.registry import all_flows

    other = Engine(store, config, all_flows(), clock)  # a second `cocreate serve` on the database
    await store.identify(Identity("slack", "U_SAM", "sam", "sam@by.dk", "users.info", "T1"), clock())
    await other.refresh_people()
    assert other.config.people.member_id("slack", "U_SAM") == "sam"
    await store.erase("sam", "cli:test", clock())
    await other.refresh_people()  # what every replica does every 30 s
    assert other.config.people.member_id("slack", "U_SAM") is None
