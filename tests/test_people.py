"""The directory of people (bot.people): who a platform account is, by app.yaml and by email."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.people import Directory, Identity, normal_email


@dataclass
class Listed:
    id: str
    platforms: dict[str, str] = field(default_factory=dict)
    email: str | None = None
    prefer: str | None = None


def directory() -> Directory:
    return Directory([
        Listed("anna", {"slack": "U_ANNA"}, "anna@kommune.dk"),
        Listed("bo", email="bo@skole.dk", prefer="teams"),
        Listed("carl", {"teams": "29:carl"}),
    ])


def test_emails_are_normalised_and_checked():
    assert normal_email("  Anna@Kommune.DK ") == "anna@kommune.dk"
    for bad in ("anna", "anna@", "@kommune.dk", "anna@kommune", "an na@kommune.dk", "a@b\n.dk", None, 3, "x" * 250 + "@a.dk"):
        assert normal_email(bad) is None, bad


def test_an_account_is_found_by_the_email_its_platform_tells():
    people = directory()
    assert people.resolve("teams", "29:anna", "ANNA@kommune.dk") == ("anna", None)
    assert people.resolve("slack", "U_X", None) == ("slack:U_X", None)
    assert people.resolve("slack", "U_X", "someone@else.org") == ("slack:U_X", None)
    # app.yaml's account keeps its member, whatever the email says.
    assert people.resolve("teams", "29:carl", "anna@kommune.dk") == ("carl", None)


def test_a_second_account_with_one_email_on_one_platform_is_not_linked():
    member, problem = directory().resolve("slack", "U_ANNA2", "anna@kommune.dk")
    assert member == "slack:U_ANNA2"
    assert problem and "U_ANNA2" in problem and "anna" in problem and "@" not in problem  # no address in logs


def test_learned_identities_give_addresses_and_platforms():
    people = directory()
    people.learn([(1, Identity("teams", "29:anna", "anna", "anna@kommune.dk", "roster")),
                  (2, Identity("slack", "U_BO", "bo", "bo@skole.dk", "users.lookupByEmail")),
                  (3, Identity("teams", "29:bo", "bo", "bo@skole.dk", "roster"))])
    assert people.last_id == 3
    assert people.member_id("teams", "29:anna") == "anna" and people.known("teams", "29:anna")
    assert people.address("anna", "teams") == "29:anna" and people.address("anna", "slack") == "U_ANNA"
    assert people.platforms_of("anna") == ["slack", "teams"]  # app.yaml's first
    assert people.platforms_of("bo") == ["teams", "slack"]  # prefer: teams
    assert people.address("carl", "slack") is None


def test_unlisted_people_are_one_member_by_email_across_platforms():
    people = directory()
    people.learn([(1, Identity("slack", "U_SAM", "slack:U_SAM", "sam@by.dk", "users.info"))])
    assert people.resolve("teams", "29:sam", "Sam@By.dk") == ("slack:U_SAM", None)
    people.learn([(2, Identity("teams", "29:sam", "slack:U_SAM", "sam@by.dk", "roster"))])
    assert people.platforms_of("slack:U_SAM") == ["slack", "teams"]
    assert people.address("slack:U_SAM", "teams") == "29:sam"
    # Someone nobody resolved is still reached by their own id.
    assert people.address("teams:29:x", "teams") == "29:x" and people.platforms_of("teams:29:x") == ["teams"]


def test_someone_first_seen_unlisted_becomes_the_member_their_email_names():
    """They wrote before app.yaml listed them (or before the email scope was granted)."""
    people = directory()
    people.learn([(1, Identity("teams", "29:bo", "teams:29:bo", None, "roster"))])
    assert people.member_id("teams", "29:bo") == "teams:29:bo"
    assert people.resolve("teams", "29:bo", "bo@skole.dk") == ("bo", None)
    people.learn([(2, Identity("teams", "29:bo", "bo", "bo@skole.dk", "roster"))])  # the row that replaced it
    assert people.member_id("teams", "29:bo") == "bo"
    # An identity stored unlisted with an email app.yaml now lists is that member at once.
    people.learn([(3, Identity("slack", "U_BO", "slack:U_BO", "bo@skole.dk", "users.info"))])
    assert people.member_id("slack", "U_BO") == "bo"


def test_an_own_row_is_learned_at_once_and_a_refresh_still_brings_the_rows_before_it():
    people = directory()
    own = (7, Identity("slack", "U_NEW", "slack:U_NEW", None, "users.info"))
    people.learn([own], every=False)  # stored by this process: known now
    assert people.member_id("slack", "U_NEW") == "slack:U_NEW" and people.last_id == 0
    # Rows 5 and 6 (other tasks or replicas) come with the next refresh, 7 is not learned twice.
    people.learn([(5, Identity("teams", "29:bo", "bo", "bo@skole.dk", "roster")),
                  (6, Identity("slack", "U_X", "slack:U_X", None, "users.info")), own])
    assert people.last_id == 7 and people.member_id("teams", "29:bo") == "bo"
    again = people.rebuilt([Listed("anna", {"slack": "U_ANNA"}, "anna@kommune.dk")])
    assert again.last_id == 7 and again.member_id("slack", "U_NEW") == "slack:U_NEW"
    assert len(again._rows) == 3  # each row once
