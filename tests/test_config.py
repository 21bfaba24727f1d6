"""app.yaml loading: the sample works, and every mistake is reported as `file: key.path: problem`."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import pydantic
import pytest
import yaml

from bot.config import ConfigError, config_path, load_config
from bot.types import Sector

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "config"
MINIMAL = yaml.safe_load((DATA / "minimal.yaml").read_text())

PROMPTS = {"story.title": "Give your story a title", "story.body": "Tell the story", "join.hello": "Welcome"}
PRINCIPLES = [
    {"number": 1, "title": "Cross sectors", "question": "Who else could help?"},
    {"number": 2, "title": "Share what you learn", "question": "Where will you share it?"},
]


def write(tmp_path: Path, content: str | dict) -> str:
    path = tmp_path / "app.yaml"
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False))
    return str(path)


def broken(tmp_path: Path, change: Callable[[dict], Any], **kwargs: Any) -> tuple[str, str]:
    """Write MINIMAL with one change applied; return (path, error message)."""
    data = copy.deepcopy(MINIMAL)
    change(data)
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_config(path, **kwargs)
    return path, str(info.value)


# --- the sample file -----------------------------------------------------------------------


def test_sample_app_yaml_loads_as_given(monkeypatch):
    monkeypatch.chdir(ROOT)
    config = load_config("app.yaml")

    assert len(config.coalitions) == 2
    first = config.coalitions[0]
    assert config.is_leader("demo", first.id)
    demo = config.member_for("console", "demo")
    assert demo is not None and demo.id == "demo" and demo.name == "Demo Leader"
    assert [p.number for p in config.principles] == [1, 2, 3, 4, 5, 6, 7]
    assert all(p.title and p.question for p in config.principles)
    assert config.movement.name == "Sample Co-creation Movement"
    assert str(config.movement.zone) == "Europe/Copenhagen"
    assert any(config.is_coordinator(m.id) for m in config.members)
    assert 5 <= len(config.members) <= 7
    assert all("console" in m.platforms for m in config.members)


def test_sample_principles_win_over_defaults(monkeypatch):
    monkeypatch.chdir(ROOT)
    config = load_config("app.yaml", default_principles=PRINCIPLES)
    assert len(config.principles) == 7


# --- helpers the engine uses ------------------------------------------------------------------


def test_lookups_and_roles(tmp_path):
    config = load_config(write(tmp_path, MINIMAL))

    assert config.member_for("slack", "U0AAA").id == "anna"
    assert config.member_for("teams", "U0AAA") is None
    assert config.member("carla").name == "Carla"
    assert config.member("nobody") is None
    assert config.coalition("second").name == "Second Coalition"
    assert config.coalition("third") is None
    assert [c.id for c in config.coalitions_of("anna")] == ["first", "second"]
    assert [c.id for c in config.coalitions_of("carla")] == ["second"]
    assert config.is_leader("anna", "first") and not config.is_leader("anna", "second")
    assert not config.is_leader("anna", "third")
    assert config.is_coordinator("carla") and not config.is_coordinator("anna")


def test_defaults_fill_what_the_file_leaves_out(tmp_path):
    config = load_config(write(tmp_path, MINIMAL))

    assert config.movement.language == "en"
    assert config.movement.timezone == "Europe/Copenhagen"
    assert config.limits.max_answer_length == 2000
    assert config.limits.max_title_length == 150
    assert config.limits.max_experiment_weeks == 26
    first, second = config.coalitions
    assert Sector.OTHER not in first.wanted_sectors and len(first.wanted_sectors) == 5
    assert second.wanted_sectors == (Sector.PUBLIC, Sector.CITIZEN)
    assert first.channels == {} and first.members == () and first.digest_for_members is False
    assert config.principles == () and config.rewordings == {}
    assert config.movement.language == "en" and config.language_of(first.id) == "en"


def test_blank_optional_keys_mean_the_default(tmp_path):
    # What a user gets by commenting out every line under `channels:` or `limits:`.
    text = (DATA / "minimal.yaml").read_text() + (
        "  - id: third\n    name: Third\n    challenge: Something\n    leaders: [anna]\n"
        "    channels:\n    members:\nlimits:\nprompts:\n"
    )
    config = load_config(write(tmp_path, text))
    assert config.coalitions[2].channels == {} and config.coalitions[2].members == ()
    assert config.limits.max_answer_length == 2000


def test_principles_come_from_defaults_when_the_file_has_none(tmp_path):
    config = load_config(write(tmp_path, MINIMAL), default_principles=PRINCIPLES)
    assert config.principle(2).question == "Where will you share it?"
    assert config.principle(3) is None


def test_config_is_read_only(tmp_path):
    config = load_config(write(tmp_path, MINIMAL))
    with pytest.raises(pydantic.ValidationError):
        config.coalitions[0].name = "Renamed"  # type: ignore[misc]


# --- prompts -----------------------------------------------------------------------------------


def test_prompt_overrides_merge_over_defaults(tmp_path):
    data = copy.deepcopy(MINIMAL) | {"prompts": {"story": {"title": "  What shall we call it?\n"}}}
    config = load_config(write(tmp_path, data), default_prompts=PROMPTS)

    assert config.prompts.items() >= (PROMPTS | {"story.title": "What shall we call it?"}).items()
    assert config.texts("da").t("story.title") != "What shall we call it?"  # only the movement's language
    assert PROMPTS["story.title"] == "Give your story a title"  # the caller's defaults untouched


def test_prompt_overrides_per_language(tmp_path):
    rewording = {"da": {"story": {"title": "Hvad skal den hedde?"}}, "en": {"story": {"title": "Name it"}}}
    config = load_config(write(tmp_path, copy.deepcopy(MINIMAL) | {"prompts": rewording}), default_prompts=PROMPTS)
    assert config.texts("da").t("story.title") == "Hvad skal den hedde?"
    assert config.texts("en").t("story.title") == "Name it"


def test_per_language_overrides_are_checked_like_the_others(tmp_path):
    change = lambda d: d.update(prompts={"da": {"story": {"titel": "x", "body": "{who}"}}, "fr": {"story": {}}})  # noqa: E731
    path, msg = broken(tmp_path, change, default_prompts=PROMPTS)
    assert msg.splitlines() == [
        f"{path}: prompts.da.story.titel: unknown prompt key; known keys for 'story': body, title",
        f"{path}: prompts.da.story.body: unknown placeholder {{who}}; this prompt can use: none",
        f"{path}: prompts.fr: 'fr' is not a supported language; use one of: en, da",
    ]


def test_an_unsupported_language_names_the_key_and_the_choices(tmp_path):
    def change(d):
        d["movement"]["language"] = "fr"
        d["coalitions"][0]["language"] = "dk"
    path, msg = broken(tmp_path, change)
    assert msg.splitlines() == [
        f"{path}: movement.language: 'fr' is not a supported language; use one of: en, da",
        f"{path}: coalitions[0].language: 'dk' is not a supported language; use one of: en, da",
    ]


def test_a_coalition_language_wins_over_the_movements(tmp_path):
    data = copy.deepcopy(MINIMAL)
    data["movement"]["language"] = "da"
    data["coalitions"][0]["language"] = "en"
    config = load_config(write(tmp_path, data))
    assert config.language_of(data["coalitions"][0]["id"]) == "en"
    assert config.language_of(data["coalitions"][1]["id"]) == "da"


def test_without_defaults_any_prompt_key_is_taken(tmp_path):
    data = copy.deepcopy(MINIMAL) | {"prompts": {"story": {"ask": {"title": "Title?"}}}}
    assert load_config(write(tmp_path, data)).rewordings == {"en": {"story.ask.title": "Title?"}}


def test_unknown_prompt_key(tmp_path):
    path, msg = broken(tmp_path, lambda d: d.update(prompts={"story": {"titel": "x"}}), default_prompts=PROMPTS)
    assert msg == f"{path}: prompts.story.titel: unknown prompt key; known keys for 'story': body, title"


def test_unknown_prompt_flow_and_empty_text(tmp_path):
    change = lambda d: d.update(prompts={"storyy": {"title": "x"}, "story": {"body": " "}})  # noqa: E731
    path, msg = broken(tmp_path, change, default_prompts=PROMPTS)
    unknown, empty = msg.splitlines()
    assert unknown.startswith(f"{path}: prompts.storyy.title: unknown flow 'storyy'; known flows: answers, ")
    assert "join" in unknown and "story" in unknown  # the test's own, next to the core's groups
    assert empty == f"{path}: prompts.story.body: expected non-empty text, got ' '"


# --- one mistake at a time ----------------------------------------------------------------------


def test_unknown_leader_names_file_path_and_id(tmp_path):
    path, msg = broken(tmp_path, lambda d: d["coalitions"][1].update(leaders=["bob"]))
    assert msg == f"{path}: coalitions[1].leaders[0]: unknown member id 'bob'"


def test_unknown_coordinator_and_member(tmp_path):
    def change(d):
        d["movement"]["coordinators"] = ["carla", "zoe"]
        d["coalitions"][1]["members"] = ["anna", "bob"]

    path, msg = broken(tmp_path, change)
    assert msg.splitlines() == [
        f"{path}: movement.coordinators[1]: unknown member id 'zoe'",
        f"{path}: coalitions[1].members[1]: unknown member id 'bob'",
    ]


def test_misspelt_key_is_an_error_with_a_suggestion(tmp_path):
    path, msg = broken(tmp_path, lambda d: d["coalitions"][0].update(leeders=d["coalitions"][0].pop("leaders")))
    assert msg.splitlines() == [
        f"{path}: coalitions[0].leaders: required key is missing",
        f"{path}: coalitions[0]: unknown key 'leeders'; did you mean 'leaders'?",
    ]


def test_unknown_top_level_section(tmp_path):
    path, msg = broken(tmp_path, lambda d: d.update(member=[]))
    assert msg == f"{path}: unknown key 'member'; did you mean 'members'?"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.update(limits={"max_answer_length": "lots"}),
         "limits.max_answer_length: expected a whole number, got 'lots'"),
        (lambda d: d.update(limits={"max_answer_length": 2.5}),
         "limits.max_answer_length: expected a whole number, got 2.5"),
        (lambda d: d.update(limits={"max_title_length": 5}),
         "limits.max_title_length: must be at least 10, got 5"),
        (lambda d: d.update(limits={"max_experiment_weeks": 1000}),
         "limits.max_experiment_weeks: must be at most 260, got 1000"),
        (lambda d: d.update(retention={"delivered_messages_days": 3}),
         "retention.delivered_messages_days: must be at least 14, got 3"),
        (lambda d: d.update(retention={"answers_months": "two years"}),
         "retention.answers_months: expected a whole number, got 'two years'"),
        (lambda d: d["coalitions"][0].update(digest_for_members="maybe"),
         "coalitions[0].digest_for_members: expected true or false, got 'maybe'"),
        (lambda d: d["coalitions"][0].update(leaders="anna"),
         "coalitions[0].leaders: expected a list, got 'anna'"),
        (lambda d: d["coalitions"][0].update(leaders=[]),
         "coalitions[0].leaders: must have at least 1 entry"),
        (lambda d: d["members"][0].update(name=""), "members[0].name: must not be empty"),
        (lambda d: d["members"][0].update(name=None), "members[0].name: must not be empty"),
        (lambda d: d["members"][0].update(id="Anna B"),
         "members[0].id: 'Anna B' is not a valid id; use lowercase letters, digits, '-' and '_'"),
        (lambda d: d["members"].append("dave"), "members[2]: expected a mapping (key: value), got 'dave'"),
        (lambda d: d.update(coalitions=[]), "coalitions: must have at least 1 entry"),
        (lambda d: d.pop("movement"), "movement: required section is missing"),
        (lambda d: d["movement"].pop("name"), "movement.name: required key is missing"),
    ],
)
def test_wrong_values_name_the_key_and_the_problem(tmp_path, change, expected):
    path, msg = broken(tmp_path, change)
    assert msg == f"{path}: {expected}"


def test_bad_sector_lists_the_choices(tmp_path):
    path, msg = broken(tmp_path, lambda d: d["coalitions"][1].update(wanted_sectors=["public", "fjord"]))
    assert msg == (
        f"{path}: coalitions[1].wanted_sectors[1]: 'fjord' is not a sector; "
        "choose one of: public, business, civil_society, education, citizen, other"
    )


@pytest.mark.parametrize("zone", ["Mars/Base", "Europe", ""])
def test_bad_time_zone(tmp_path, zone):
    path, msg = broken(tmp_path, lambda d: d["movement"].update(timezone=zone))
    if zone:
        assert msg == f"{path}: movement.timezone: {zone!r} is not a known time zone"
    else:
        assert msg == f"{path}: movement.timezone: must not be empty"


def test_duplicate_ids(tmp_path):
    def change(d):
        d["members"].append({"id": "anna", "name": "Another Anna"})
        d["coalitions"].append(copy.deepcopy(d["coalitions"][0]))

    path, msg = broken(tmp_path, change)
    assert msg.splitlines() == [
        f"{path}: members[2].id: duplicate member id 'anna'",
        f"{path}: coalitions[2].id: duplicate coalition id 'first'",
    ]


def test_platform_user_belongs_to_one_member(tmp_path):
    path, msg = broken(tmp_path, lambda d: d["members"][1]["platforms"].update(slack="U0AAA"))
    assert msg == f"{path}: members[1].platforms.slack: slack user 'U0AAA' already belongs to member 'anna'"


def test_principle_numbering_gap(tmp_path):
    numbers = [1, 2, 4]
    principles = [{"number": n, "title": f"P{n}", "question": "Why?"} for n in numbers]
    path, msg = broken(tmp_path, lambda d: d.update(principles=principles))
    assert msg == f"{path}: principles[2].number: expected 3; principles are numbered 1, 2, 3, … in order"


# --- the file itself ---------------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = str(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: cannot read file: No such file or directory"


def test_yaml_syntax_error_gives_line_and_column(tmp_path):
    path = write(tmp_path, "movement:\n  name: X\n members: [\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: invalid YAML: line 3, column 2: ")


def test_duplicate_yaml_key_is_not_silently_dropped(tmp_path):
    path = write(tmp_path, (DATA / "minimal.yaml").read_text() + "members: []\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: invalid YAML: line 23, column 1: duplicate key 'members'"


@pytest.mark.parametrize(("text", "what"), [("", "empty"), ("# only a comment\n", "empty"), ("- a\n", "a list")])
def test_top_level_must_be_a_mapping(tmp_path, text, what):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: the file is {what}; expected the sections movement, ")


def test_path_is_shown_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("my.yaml").write_text("[")
    with pytest.raises(ConfigError) as info:
        load_config(Path("my.yaml"))
    assert str(info.value).startswith("my.yaml: invalid YAML: line ")  # where libyaml or PyYAML puts the end


# --- several mistakes at once -------------------------------------------------------------------


def test_all_errors_are_reported_together_in_file_order():
    path = str(DATA / "many_errors.yaml")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).splitlines() == [
        f"{path}: movement.timezone: 'Mars/Base' is not a known time zone",
        f"{path}: members[1].id: duplicate member id 'anna'",
        f"{path}: coalitions[0].wanted_sectors[1]: 'fjord' is not a sector; "
        "choose one of: public, business, civil_society, education, citizen, other",
        f"{path}: coalitions[0].leaders: required key is missing",
        f"{path}: coalitions[0]: unknown key 'leeders'; did you mean 'leaders'?",
        f"{path}: coalitions[1].leaders[0]: unknown member id 'bob'",
        f"{path}: principles[1].number: expected 2; principles are numbered 1, 2, 3, … in order",
    ]
    assert len(info.value.problems) == 7


def test_long_error_lists_are_capped(tmp_path):
    path, msg = broken(tmp_path, lambda d: d["coalitions"][0].update(leaders=[f"ghost{i}" for i in range(30)]))
    lines = msg.splitlines()
    assert len(lines) == 21
    assert lines[19] == f"{path}: coalitions[0].leaders[19]: unknown member id 'ghost19'"
    assert lines[20] == "… and 10 more"


@pytest.mark.parametrize(
    "text",
    [
        "movement: {name: X}\nmembers: 3\ncoalitions: {a: 1}\nprinciples: [{number: x}]\nprompts: [1]\n",
        "movement:\n\tname: tab\n",
        "movement: [1, 2\n",
        "\x00",
    ],
)
def test_messages_are_short_and_never_a_traceback(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, default_prompts=PROMPTS)
    msg = str(info.value)
    assert "Traceback" not in msg and "pydantic" not in msg and "errors.pydantic.dev" not in msg
    assert all(line.startswith(f"{path}: ") for line in msg.splitlines())


# --- where the file is --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cli", "env", "expected"),
    [
        ("cli.yaml", "env.yaml", "cli.yaml"),
        (None, "env.yaml", "env.yaml"),
        (None, None, "app.yaml"),
        (None, "", "app.yaml"),
    ],
)
def test_config_path_precedence(monkeypatch, cli, env, expected):
    if env is None:
        monkeypatch.delenv("COCREATE_CONFIG", raising=False)
    else:
        monkeypatch.setenv("COCREATE_CONFIG", env)
    assert config_path(cli) == expected


def test_reworded_prompt_may_only_use_the_placeholders_its_flow_fills(tmp_path):
    from flows.prompts import PRINCIPLES, PROMPTS, flat

    path = tmp_path / "app.yaml"
    path.write_text(
        "movement: {name: M}\nmembers: [{id: a, name: A}]\n"
        "coalitions: [{id: c, name: C, challenge: X, leaders: [a]}]\n"
        "prompts:\n  join:\n    saved: 'Hi {nmae}'\n    title: 'Join {coalition'\n"
        "    missing: 'We lack {sectors}!'\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path, flat(PROMPTS), PRINCIPLES)
    assert str(caught.value).splitlines() == [
        f"{path}: prompts.join.saved: unknown placeholder {{nmae}}; this prompt can use: {{name}}, {{sector}}",
        f"{path}: prompts.join.title: unmatched '{{' or '}}'; write {{{{ or }}}} for a literal brace",
    ]


# --- schedules and delivery ------------------------------------------------------------------


def with_schedule(**fields: Any) -> Callable[[dict], Any]:
    entry = {"id": "weekly", "kind": "principle"} | fields
    return lambda data: data.update(schedules=[entry])


def test_schedules_and_delivery_read_as_a_movement_writes_them(tmp_path):
    data = copy.deepcopy(MINIMAL)
    data["schedules"] = [
        {"id": "weekly", "kind": "principle", "days": ["Monday", "thu"], "time": "9:30"},
        {"id": "monthly", "kind": "story", "every": "month", "coalitions": [data["coalitions"][0]["id"]]},
    ]
    data["delivery"] = {"quiet_hours": "21:00-7:30", "work_days": ["mon", "tue"], "reminders": 2}
    text = yaml.safe_dump(data, sort_keys=False).replace("'9:30'", "9:30")  # unquoted, as people write it
    config = load_config(write(tmp_path, text))
    weekly, monthly = config.schedules
    assert (weekly.weekdays, weekly.time, weekly.period) == (frozenset({0, 3}), "09:30", (1, "week"))
    assert (monthly.days, monthly.time, monthly.period) == (("mon",), "09:00", (1, "month"))
    assert config.delivery.quiet_hours == "21:00-07:30" and config.delivery.work_weekdays == {0, 1}
    assert config.delivery.reminders == 2 and config.delivery.grace_hours == 6


@pytest.mark.parametrize("change,expected", [
    (with_schedule(time="25:00"), "schedules[0].time: '25:00' is not a time of day; write it as HH:MM"),
    (with_schedule(days=["funday"]), "schedules[0].days[0]: 'funday' is not a day; use mon, tue"),
    (with_schedule(every="fortnight"), "schedules[0].every: 'fortnight' is not a period; write week, 2 weeks"),
    (with_schedule(kind="poll"), "schedules[0].kind: "),
    (with_schedule(coalitions=["nowhere"]), "schedules[0].coalitions[0]: unknown coalition id 'nowhere'"),
    (with_schedule(starts_on="soon"), "schedules[0].starts_on: 'soon' is not a date; write YYYY-MM-DD"),
    (lambda d: d.update(delivery={"quiet_hours": "late"}), "delivery.quiet_hours: 'late' is not a time range"),
    (lambda d: d.update(delivery={"reminders": 9}), "delivery.reminders: must be at most 5, got 9"),
    (lambda d: d.update(delivery={"slack": {"per_workspace_per_minute": 0}}),
     "delivery.slack.per_workspace_per_minute: "),
])
def test_bad_schedules_name_the_key_and_the_problem(tmp_path, change, expected):
    path, message = broken(tmp_path, change)
    assert f"{path}: {expected}" in message
    assert "Traceback" not in message


def test_duplicate_schedule_ids(tmp_path):
    entry = {"id": "weekly", "kind": "story"}
    path, message = broken(tmp_path, lambda d: d.update(schedules=[entry, entry]))
    assert f"{path}: schedules[1].id: duplicate schedule id 'weekly'" in message


def test_members_are_reached_by_their_app_yaml_ids_or_as_they_joined_in_chat(tmp_path):
    config = load_config(write(tmp_path, MINIMAL))
    assert config.address("anna", "slack") == "U0AAA" and config.address("anna", "teams") is None
    assert config.platforms_of("anna") == ["console", "slack"]
    # Someone who joined in chat without being listed is "<platform>:<user id>" to the engine.
    assert config.address("teams:29:xyz", "teams") == "29:xyz" and config.address("teams:29:xyz", "slack") is None
    assert config.platforms_of("slack:U0NEW") == ["slack"] and config.platforms_of("nobody") == []


# --- people by email ---------------------------------------------------------------------------


def test_members_may_be_given_by_email_stored_lower_case(tmp_path):
    data = copy.deepcopy(MINIMAL)
    data["members"][0].update(email="  Anna.Berg@Kommune.DK ", prefer="Teams")
    data["members"][0].pop("platforms", None)
    config = load_config(write(tmp_path, data))
    anna = config.member(data["members"][0]["id"])
    assert (anna.email, anna.prefer, anna.platforms) == ("anna.berg@kommune.dk", "teams", {})
    assert config.people.by_email("ANNA.BERG@kommune.dk") == anna.id


def test_a_bad_email_or_platform_names_the_key(tmp_path):
    def change(d):
        d["members"][0]["email"] = "anna.kommune.dk"
        d["members"][1]["prefer"] = "email"

    path, msg = broken(tmp_path, change)
    assert msg.splitlines() == [
        f"{path}: members[0].email: 'anna.kommune.dk' is not an email address; write it as name@example.org",
        f"{path}: members[1].prefer: 'email' is not a platform; use one of: slack, teams, web",
    ]


def test_one_email_for_two_members_is_refused(tmp_path):
    def change(d):
        d["members"][0]["email"] = "shared@kommune.dk"
        d["members"][1]["email"] = "Shared@Kommune.dk"

    path, msg = broken(tmp_path, change)
    first = MINIMAL["members"][0]["id"]
    assert msg == f"{path}: members[1].email: shared@kommune.dk is already the email of member {first!r}"
