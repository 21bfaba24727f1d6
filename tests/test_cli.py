"""The installed `cocreate` command, run as a member or operator would run it, with piped input."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from flows.prompts import PROMPTS

COCREATE = Path(sys.executable).parent / "cocreate"
APP_YAML = (Path(__file__).parent / "data" / "app.yaml").resolve()

WEIRD = "Æblegrød på Ærø 🍎 «مرحبا بكم» '; DROP TABLE stories; --"
FORMULA = '=HYPERLINK("x")'


def cocreate(cwd: Path, database_url: str, *args: str, input: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "COCREATE_CONFIG": str(APP_YAML)}
    return subprocess.run(
        [str(COCREATE), *args], input=input, capture_output=True, text=True, encoding="utf-8",
        timeout=60, cwd=cwd, env=env,
    )


def lines(*typed: str) -> str:
    return "".join(f"{line}\n" for line in typed)


def chat(cwd: Path, database_url: str, user: str, *typed: str) -> subprocess.CompletedProcess:
    return cocreate(cwd, database_url, "chat", "--user", user, input=lines(*typed))


def assert_clean_exit(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_chat_needs_an_upgraded_database_and_upgrade_provides_it(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
    before = chat(tmp_path, url, "mo", "status")
    assert before.returncode != 0
    assert "Run `cocreate db upgrade`" in before.stderr
    assert "Traceback" not in before.stderr
    assert "Your status" not in before.stdout

    for _ in range(2):  # upgrading an up-to-date database is harmless
        upgrade = cocreate(tmp_path, url, "db", "upgrade")
        assert_clean_exit(upgrade)
        assert upgrade.stdout.startswith("Database is up to date (")
        assert str(tmp_path / "new.db") in upgrade.stdout

    after = chat(tmp_path, url, "mo", "status")
    assert_clean_exit(after)
    assert "Your status in Harbour Youth" in after.stdout and "You haven't joined yet" in after.stdout


def test_a_start_checks_the_database_without_importing_alembic(tmp_path, sqlite_url):
    # Alembic (with Mako and Pygments) cost every start ~0.09 s and ~11 MB: only `db upgrade` needs it.
    probe = (
        "import asyncio, sys\n"
        "from bot.cli import open_engine, read_config\n"
        "async def start():\n"
        "    engine = await open_engine(read_config(None))\n"
        "    await engine.store.close()\n"
        "asyncio.run(start())\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'mako', 'pygments'}))\n"
    )
    env = {**os.environ, "DATABASE_URL": sqlite_url, "COCREATE_CONFIG": str(APP_YAML)}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[]\n"


def test_a_scripted_session_joins_shares_a_story_and_shows_status(tmp_path, sqlite_url):
    typed = [
        "join", "business", "Harbour Bakery", "Apprenticeships and a kitchen", "2",
        "story", "Café in the harbour", "It started with one question", "1, 7",
        "Business; Citizen / user", "coalition", "no",
        "status",
    ]
    result = chat(tmp_path, sqlite_url, "mo", *typed)
    assert_clean_exit(result)
    out = result.stdout
    assert out.startswith(
        "Cocreate · Test Movement · Harbour Youth\n"
        "You are Mo Member. Type help to see what you can do, cancel to stop a flow.\n\n"
    )
    assert "Ctrl-D" not in out and "\033" not in out  # piped: no prompt hints, no colour

    # Every typed line is echoed once, in order, so the transcript reads like a chat.
    echoed = [line[2:] for line in out.splitlines() if line.startswith("> ")]
    assert echoed == typed

    assert ("(1/3)\nWhich sector do you come from?\n  1) Public sector\n  2) Business\n"
            "  3) Civil society / association\n  4) Education / research\n  5) Citizen / user\n"
            "  6) Other\n\n> business\n(2/3)\nWhich organisation") in out
    assert "> Apprenticeships and a kitchen\nWelcome aboard, Mo Member! You are at the table for Business." in out
    assert ("  1) Yes, let me map one\n  2) Not right now\n\n"
            "[to everyone in Harbour Youth]\nMo Member joined the table for Business (Harbour Bakery). Welcome!\n\n"
            "> 2\nWho is at the table in Harbour Youth\n  Business: 1\n") in out
    assert "Still missing: Public sector, Civil society / association, Education / research, and Citizen / user." in out
    assert "What is it called?" not in out  # declined to map a treasure
    assert "> story\nShare an ambassador story\n" in out
    assert "(3/6)\nWhich principles does it show? (one or more, e.g. 1,3)\n  1) #1 New pathways" in out
    assert "> 1, 7\n(4/6)\nWhich sectors were involved?" in out
    assert "> coalition\n(6/6)\nShow your name with it?\n  1) Yes, show my name\n  2) No, keep me anonymous\n" in out
    assert ("> no\nYour story Café in the harbour is saved. Who can see it: My coalition (anonymous). "
            "You can withdraw it any time with story withdraw.") in out
    status = out.split("> status\n", 1)[1]
    assert status.startswith("Your status in Harbour Youth\n  At the table for: Business, Harbour Bakery\n")
    assert "Your stories\n- Café in the harbour (My coalition)" in status
    assert not [line for line in out.splitlines() if line.startswith("! ")]  # no answer was refused


def test_end_of_input_keeps_the_place_and_the_next_run_carries_on(tmp_path, sqlite_url):
    first = chat(tmp_path, sqlite_url, "lea", "experiment", "Job café", "Open a café run by young people",
                 "Three get an apprenticeship", "young people, employers")
    assert_clean_exit(first)
    assert first.stdout.endswith("> young people, employers\n(5/9)\nWhich partners take part?\n\n")

    second = chat(tmp_path, sqlite_url, "lea", "Harbour Bakery", "2026-03-10", "10.05.2026",
                  "Count contracts signed", "skip", "status")
    assert_clean_exit(second)
    out = second.stdout
    assert ("Welcome back. We were in the middle of: register a small, timeboxed test action\n"
            "(5/9)\nWhich partners take part?\n\n> Harbour Bakery\n(6/9)\nStart date") in out
    assert "A short title" not in out and "What will you do?" not in out  # not asked again
    assert "> skip\nExperiment Job café is registered, running Mar 10, 2026 to May 10, 2026." in out
    assert "Your experiments\n- Job café: " in out and ", Mar 10, 2026 to May 10, 2026, 0 check-in(s)" in out

    third = chat(tmp_path, sqlite_url, "lea")
    assert_clean_exit(third)
    assert "Welcome back" not in third.stdout  # the finished flow does not come back


def test_export_gives_back_exactly_what_was_typed(tmp_path, sqlite_url):
    typed = chat(
        tmp_path, sqlite_url, "mo",
        "story", "Sømand 🌊 مرحبا", WEIRD, "2", "5", "coalition", "no",
        "story", FORMULA, "'; DROP TABLE stories; --", "1 3", "business", "1", "yes",
        "reflect 5", WEIRD,
    )
    assert_clean_exit(typed)
    assert "Thank you for reflecting on principle #5." in typed.stdout

    exported = cocreate(tmp_path, sqlite_url, "export", "--coalition", "harbour")
    assert_clean_exit(exported)
    assert json.dumps(WEIRD, ensure_ascii=False) in exported.stdout  # readable, not \u-escaped
    data = json.loads(exported.stdout)
    assert data["coalition"] == {
        "id": "harbour", "name": "Harbour Youth", "challenge": "Young people outside education and work"}
    stories = [(s["member_id"], s["title"], s["body"], s["principles"], s["sectors"], s["consent"], s["anonymous"])
               for s in data["stories"]]
    assert stories == [
        ("mo", "Sømand 🌊 مرحبا", WEIRD, [2], ["citizen"], "coalition", True),
        ("mo", FORMULA, "'; DROP TABLE stories; --", [1, 3], ["business"], "private", False),
    ]
    assert [(r["principle"], r["text"]) for r in data["reflections"]] == [(5, WEIRD)]
    assert data["members"] == [] and data["experiments"] == []
    # Who is in the coalition as it stands, with the platforms the bot reaches them on.
    assert [(p["member_id"], p["name"], p["role"], p["platforms"]) for p in data["roster"]] == [
        ("lea", "Lea Leader", "leader", ["console", "slack", "teams"]),
        ("mo", "Mo Member", "member", ["console", "slack", "teams"])]

    other = cocreate(tmp_path, sqlite_url, "export", "--coalition", "elders")
    assert_clean_exit(other)
    assert json.loads(other.stdout)["stories"] == [] and json.loads(other.stdout)["reflections"] == []

    out_dir = tmp_path / "export"
    written = cocreate(tmp_path, sqlite_url, "export", "--coalition", "harbour", "--format", "csv", "--out", str(out_dir))
    assert_clean_exit(written)
    record_types = set(data) - {"coalition"}
    assert {p.name for p in out_dir.iterdir()} == {f"{kind}.csv" for kind in record_types}
    assert sorted(written.stderr.splitlines()) == sorted(f"wrote {out_dir / kind}.csv" for kind in record_types)

    tables = {}
    for kind in record_types:
        with open(out_dir / f"{kind}.csv", newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        assert all(len(row) == len(rows[0]) for row in rows), kind
        tables[kind] = [dict(zip(rows[0], row)) for row in rows[1:]]
        for row in rows:
            for cell in row:  # nothing a spreadsheet would run as a formula
                assert not cell.startswith(("=", "+", "-", "@")), (kind, cell)
    stories_csv = [(r["title"], r["body"], r["principles"], r["sectors"], r["consent"], r["anonymous"])
                   for r in tables["stories"]]
    assert stories_csv == [
        ("Sømand 🌊 مرحبا", WEIRD, "2", "citizen", "coalition", "True"),
        ("'" + FORMULA, "'; DROP TABLE stories; --", "1; 3", "business", "private", "False"),
    ]
    assert [r["text"] for r in tables["reflections"]] == [WEIRD]

    refused = cocreate(tmp_path, sqlite_url, "export", "--coalition", "harbour", "--format", "csv")
    assert refused.returncode == 2
    assert "Usage: cocreate export" in refused.stderr
    assert "give a directory with --out DIR" in refused.stderr
    assert refused.stdout == "" and not list(tmp_path.glob("*.csv"))

    unknown = cocreate(tmp_path, sqlite_url, "export", "--coalition", "nope")
    assert unknown.returncode == 2
    assert "unknown coalition 'nope'; known: harbour, elders" in unknown.stderr
    assert unknown.stdout == "" and "Traceback" not in unknown.stderr


def test_a_bad_config_is_reported_by_key_path_without_a_traceback(tmp_path, sqlite_url):
    text = APP_YAML.read_text(encoding="utf-8")
    assert text.count("leaders: [lea]") == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("leaders: [lea]", "leaders: [bob]"), encoding="utf-8")
    result = cocreate(tmp_path, sqlite_url, "--config", str(bad), "chat", "--user", "mo", input="status\n")
    assert result.returncode == 2
    assert f"{bad}: coalitions[0].leaders[0]: unknown member id 'bob'" in result.stderr.splitlines()
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_prompts_prints_the_library_in_effect_as_yaml(tmp_path, sqlite_url):
    default = cocreate(tmp_path, sqlite_url, "prompts")
    assert_clean_exit(default)
    assert default.stdout.startswith("prompts:\n")
    printed = yaml.safe_load(default.stdout)
    assert printed["prompts"]["story"]["title"] == "Share an ambassador story"
    for group, texts in PROMPTS.items():  # every text, multi-line and {placeholders} included
        assert {k: printed["prompts"][group][k] for k in texts} == texts
    assert printed["prompts"]["engine"]["cancelled"] == "Cancelled: {flow}. Your unfinished answers were not saved."

    danish = cocreate(tmp_path, sqlite_url, "prompts", "--language", "da")
    assert_clean_exit(danish)
    texts = yaml.safe_load(danish.stdout)["prompts"]["da"]
    assert texts["story"]["title"] == "Del en ambassadørhistorie"
    assert texts.keys() == printed["prompts"].keys()

    reworded = tmp_path / "reworded.yaml"
    reworded.write_text(APP_YAML.read_text(encoding="utf-8")
                        + "prompts:\n  story:\n    title: Tell us what happened 🌱\n", encoding="utf-8")
    custom = cocreate(tmp_path, sqlite_url, "--config", str(reworded), "prompts")
    assert_clean_exit(custom)
    prompts = yaml.safe_load(custom.stdout)["prompts"]
    assert prompts["story"]["title"] == "Tell us what happened 🌱"
    assert prompts["story"]["intro"] == PROMPTS["story"]["intro"]

    talk = cocreate(tmp_path, sqlite_url, "--config", str(reworded), "chat", "--user", "mo", input="story\n")
    assert_clean_exit(talk)
    assert "> story\nTell us what happened 🌱\n" in talk.stdout


def test_a_transcript_that_is_not_utf8_does_not_crash_the_chat(tmp_path, sqlite_url):
    env = {**os.environ, "DATABASE_URL": sqlite_url, "COCREATE_CONFIG": str(APP_YAML)}
    result = subprocess.run(
        [str(COCREATE), "chat", "--user", "mo"], input="reflect 1\ncafé\n".encode("latin-1"),
        capture_output=True, timeout=60, cwd=tmp_path, env=env,
    )
    assert b"Traceback" not in result.stderr and result.returncode == 0
    assert "Thank you for reflecting" in result.stdout.decode()
    exported = json.loads(cocreate(tmp_path, sqlite_url, "export", "--coalition", "harbour").stdout)
    assert [r["text"] for r in exported["reflections"]] == ["caf\ufffd"]  # stored, marked as unreadable


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_an_export_target_that_cannot_be_written_is_reported_plainly(tmp_path, sqlite_url, fmt):
    (tmp_path / "taken").write_text("not a directory", encoding="utf-8")
    out = tmp_path / "taken" if fmt == "csv" else tmp_path / "missing-dir" / "harbour.json"
    result = cocreate(tmp_path, sqlite_url, "export", "--coalition", "harbour", "--format", fmt, "--out", str(out))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert str(out) in result.stderr


def test_digest_reports_in_every_format_honour_consent(tmp_path, sqlite_url):
    from datetime import date, timedelta

    today = date.today()
    assert_clean_exit(chat(tmp_path, sqlite_url, "lea",
                           "experiment", "Job café", "A café", "Jobs", "young people", "Bakery",
                           today.isoformat(), (today + timedelta(days=20)).isoformat(), "Contracts", "",
                           "checkin", "impact", "4", "5", "Two jobs", "skip", "skip", "continue"))
    assert_clean_exit(chat(tmp_path, sqlite_url, "mo",
                           "join", "business", "Bakery", "Bread", "no",
                           "story", "For us", "Coalition eyes only", "1", "citizen", "coalition", "yes",
                           "story", "For everyone", "Open to all", "7", "business", "public", "no",
                           "story", "Mine", "Private notes", "2", "other", "only me", "yes"))
    html = tmp_path / "digest.html"
    assert_clean_exit(cocreate(tmp_path, sqlite_url, "digest", "--coalition", "harbour", "--format", "html",
                               "--out", str(html)))
    page = html.read_text(encoding="utf-8")
    assert page.count("<svg") == 3 and "<script" not in page
    assert "For us" in page and "For everyone" in page and "Mine" not in page and "Private notes" not in page

    public = cocreate(tmp_path, sqlite_url, "digest", "--all", "--audience", "public", "--format", "json")
    assert_clean_exit(public)
    shown = json.loads(public.stdout)
    assert [s["title"] for s in shown["stories"]] == ["For everyone"]
    assert "Mo Member" not in public.stdout  # that story is anonymous
    import jsonschema

    schema = json.loads((APP_YAML.parent.parent.parent / "docs" / "digest.schema.json").read_text())
    jsonschema.validate(shown, schema)

    md = cocreate(tmp_path, sqlite_url, "digest", "--coalition", "harbour", "--days", "7")
    assert_clean_exit(md)
    assert "For us" in md.stdout and "Mine" not in md.stdout

    csv_dir = tmp_path / "csv"
    assert_clean_exit(cocreate(tmp_path, sqlite_url, "digest", "--all", "--format", "csv", "--out", str(csv_dir)))
    with (csv_dir / "stories.csv").open(encoding="utf-8", newline="") as handle:
        titles = [row["title"] for row in csv.DictReader(handle)]
    assert titles == ["For everyone"]  # the movement sees neither the coalition's nor the private one

    assert cocreate(tmp_path, sqlite_url, "digest", "--all", "--format", "csv").returncode == 2
    both = cocreate(tmp_path, sqlite_url, "digest", "--all", "--coalition", "harbour")
    assert both.returncode == 2 and "either --coalition ID or --all" in both.stderr


def test_in_the_terminal_chat_each_member_gets_the_check_in_when_they_open_it(tmp_path, sqlite_url):
    from datetime import date, timedelta

    config = yaml.safe_load(APP_YAML.read_text())
    config["delivery"] = {"quiet_hours": "off", "work_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
    (tmp_path / "always.yaml").write_text(yaml.safe_dump(config))
    env = {**os.environ, "DATABASE_URL": sqlite_url, "COCREATE_CONFIG": str(tmp_path / "always.yaml")}

    def as_member(user: str, *typed: str) -> str:
        result = subprocess.run([str(COCREATE), "chat", "--user", user], input=lines(*typed), capture_output=True,
                                text=True, encoding="utf-8", timeout=60, cwd=tmp_path, env=env)
        assert_clean_exit(result)
        return result.stdout

    today = date.today()
    out = as_member("lea", "experiment", "Job café", "A café", "Jobs", "young people", "Bakery",
                    today.isoformat(), (today + timedelta(days=20)).isoformat(), "Contracts", "", "checkin")
    assert "Check-in round on Job café is open: I am asking 2 members now" in out
    assert "[a message from the bot]\nImpact check-in: Job café (Harbour Youth)" in out  # her own
    assert "sent 0/2 · 0 unreachable · 0 answered" in out
    out = as_member("mo", "status")
    assert out.count("Impact check-in: Job café") == 1 and "[Answer the check-in: type 'impact 1']" in out
    out = as_member("mo", "impact 1", "4", "5", "Two jobs", "skip", "skip", "continue", "status")
    assert "Check-in saved for Job café" in out and "Impact check-in: Job café (Harbour" not in out  # not twice
    out = as_member("lea", "checkin close")
    assert "[updated]\nCheck-in round on Job café: sent 2/2 · 0 unreachable · 1 answered" in out
    assert "Impact check-in on Job café closed: 1 answer(s), citizens' perceived impact 4.0/5" in out
