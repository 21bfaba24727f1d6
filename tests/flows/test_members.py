"""Membership managed in chat (`members`, `add`, `remove`, `leader`, `coalition`), through the
real engine on a real database: changes are in force at once, survive a restart, and what
was refused changed nothing."""

from __future__ import annotations

from bot.config import load_config
from bot.engine import Engine
from flows.prompts import PRINCIPLES, PROMPTS, flat
from flows.registry import all_flows

from tests.flows.conftest import DATA
from tests.support import Chat


def harbour(engine):
    return engine.config.coalition("harbour")


async def test_a_leader_sees_who_is_in_the_coalition_by_sector(engine):
    lea, mo = Chat(engine, "lea"), Chat(engine, "mo")
    await mo.answer("join", "business", "Harbour Bakery", "Apprenticeships", "no")
    out = await lea.say("members")
    assert "Harbour Youth: 2 at the table" in out
    assert "Leaders: Lea Leader" in out and "Business: Mo Member" in out
    assert "Not joined yet (no sector): Lea Leader" in out
    assert "Not reached yet" not in out  # both have accounts in app.yaml
    # Members may not: the leader-only refusal, nothing else.
    assert "Only coalition leaders" in await mo.say("members")
    assert "Only coalition leaders" in await mo.say("add x@y.dk")


async def test_adding_someone_by_email_puts_them_in_the_coalition_at_once(engine, store):
    lea = Chat(engine, "lea")
    out = await lea.say("add Anna.Berg@Kommune.dk")
    assert "Anna Berg (anna.berg@kommune.dk) is now a member of Harbour Youth." in out
    assert "anna-berg" in harbour(engine).members and engine.people["anna-berg"] == "Anna Berg"
    assert engine.config.people.by_email("anna.berg@kommune.dk") == "anna-berg"
    out = await lea.say("members")
    assert "Anna Berg (anna.berg@kommune.dk)" in out
    assert "Not reached yet (I know none of their accounts" in out and out.count("Anna Berg") == 2
    # Again, by email or by name: already in, nothing changes.
    before = await store.changes()
    assert "Anna Berg is already in Harbour Youth." in await lea.say("add anna.berg@kommune.dk")
    assert "Anna Berg is already in Harbour Youth." in await lea.say("add @anna berg")
    assert await store.changes() == before
    # A known member by id, and a name given with the email.
    assert "Cora Coordinator is now a member of Harbour Youth." in await lea.say("add cora")
    assert "Bo Nielsen (bo@skole.dk) is now" in await lea.say("add bo@skole.dk Bo Nielsen")


async def test_removing_someone_and_the_last_leader_stays(engine, store):
    lea = Chat(engine, "lea")
    assert "Mo Member is no longer in Harbour Youth. What they shared stays." in await lea.say("remove mo")
    assert "mo" not in harbour(engine).members
    assert "Mo Member is not in Harbour Youth." in await lea.say("remove mo")
    out = await lea.say("remove lea")
    assert "Lea Leader is the last leader of Harbour Youth" in out and harbour(engine).leaders == ("lea",)
    assert "I don't know nobody@else.dk" in await lea.say("remove nobody@else.dk")
    assert "Try `remove <member id, email or name>`" in await lea.say("remove")
    # Mo, removed, is not asked in a round (they are in no list the round is drawn from).
    assert "mo" not in await store_joined(store)


async def store_joined(store):
    async with store.unit() as unit:
        return await unit.joined("harbour")


async def test_coordinators_name_leaders_and_create_coalitions(engine):
    cora = Chat(engine, "cora", coalition="harbour")
    assert "Mo Member now leads Harbour Youth." in await cora.say("leader add mo")
    assert harbour(engine).leaders == ("lea", "mo") and "mo" not in harbour(engine).members
    assert "Mo Member leads Harbour Youth already." in await cora.say("leader add mo")
    assert "Lea Leader no longer leads Harbour Youth and stays a member." in await cora.say("leader remove lea")
    assert harbour(engine).leaders == ("mo",) and "lea" in harbour(engine).members
    assert "Mo Member is the last leader of Harbour Youth" in await cora.say("leader remove mo")
    # Mo leads now: the leader-only commands are theirs, and Lea's are gone.
    assert "Only coalition leaders" in await Chat(engine, "lea").say("members")
    assert "Harbour Youth: " in await Chat(engine, "mo").say("members")

    out = await cora.say("coalition create green-schools Green schools")
    assert "Green schools (green-schools) is created, with you as its leader." in out
    green = engine.config.coalition("green-schools")
    assert (green.name, green.leaders) == ("Green schools", ("cora",))
    out = await cora.say("coalition challenge green-schools Fewer cars at the school gates")
    assert "The challenge of Green schools is now: Fewer cars at the school gates" in out
    assert engine.config.coalition("green-schools").challenge == "Fewer cars at the school gates"
    assert "There is a coalition 'harbour' already: Harbour Youth." in await cora.say("coalition create harbour X")
    assert "'Bad!' cannot be a coalition id" in await cora.say("coalition create Bad! X")
    assert "There is no coalition 'nope'" in await cora.say("coalition challenge nope Text")
    assert "Try `coalition create <id> <name>`" in await cora.say("coalition create onlyid")
    # Leaders who are not coordinators may not.
    assert "Only movement coordinators" in await Chat(engine, "lea").say("coalition create x Y")


async def test_changes_survive_a_restart_and_reach_other_processes(engine, store, config, clock):
    lea = Chat(engine, "lea")
    await lea.say("add anna.berg@kommune.dk")
    await lea.say("remove mo")
    # A second process on the same database (a restart, or another replica) learns them.
    other = Engine(store, load_config(DATA / "app.yaml", flat(PROMPTS), PRINCIPLES), all_flows(), clock)
    assert "anna-berg" not in harbour(other).members
    await other.refresh_people()
    assert harbour(other).members == ("anna-berg",) and other.people["anna-berg"] == "Anna Berg"
    assert "Anna Berg is already in Harbour Youth." in await Chat(other, "lea").say("add anna.berg@kommune.dk")


async def test_the_last_coordinator_cannot_remove_themselves(engine, config):
    cora = Chat(engine, "cora")
    assert "is now a movement coordinator" in await cora.say("coordinator add mo")
    # app.yaml no longer names Cora (reloaded): Mo, named in chat, is the last one.
    engine.config.use(file=config.model_copy(update={"movement": config.movement.model_copy(update={"coordinators": ()})}))
    assert "You are the last movement coordinator" in await Chat(engine, "mo").say("coordinator remove mo")


async def test_the_commands_work_in_danish(engine):
    lea = Chat(engine, "lea")
    await lea.say("sprog da")
    assert "Anna Berg (anna.berg@kommune.dk) er nu medlem af Harbour Youth." in await lea.say("tilføj anna.berg@kommune.dk")
    assert "Ledere: Lea Leader" in await lea.say("medlemmer")
    assert "Mo Member er ikke længere med i Harbour Youth." in await lea.say("fjern mo")
