"""`cocreate members import FILE`, run as an operator would: all rows or none, line numbers
for every problem, and the same file twice changes nothing."""

from __future__ import annotations

import json

from storage.repository import open_store
from tests.test_cli import assert_clean_exit, cocreate

GOOD = """email,name,coalition,role,sector
Anna.Berg@kommune.dk,Anna Berg,harbour,member,public
bo@skole.dk,Bo Nielsen,harbour,leader,
bo@skole.dk,Bo Nielsen,elders,member,education
"""


async def changes(url):
    store = open_store(url)
    try:
        return await store.changes()
    finally:
        await store.close()


async def test_a_file_is_imported_once_however_often_it_is_given(tmp_path, sqlite_url):
    people = tmp_path / "people.csv"
    people.write_text(GOOD, encoding="utf-8")
    result = cocreate(tmp_path, sqlite_url, "members", "import", str(people))
    assert_clean_exit(result)
    assert result.stdout.strip() == f"{people}: 3 rows, 5 change(s)"
    first = await changes(sqlite_url)
    assert sorted((p.member_id, p.name, p.email) for p in first.people) == [
        ("anna-berg", "Anna Berg", "anna.berg@kommune.dk"), ("bo", "Bo Nielsen", "bo@skole.dk")]
    assert sorted((s.coalition_id, s.member_id, s.role, s.sector) for s in first.seats) == [
        ("elders", "bo", "member", "education"), ("harbour", "anna-berg", "member", "public"),
        ("harbour", "bo", "leader", None)]

    again = cocreate(tmp_path, sqlite_url, "members", "import", str(people))
    assert_clean_exit(again)
    assert again.stdout.strip() == f"{people}: 3 rows, 0 change(s) (all were there already)"
    assert await changes(sqlite_url) == first  # the same rows, the same version

    # What was imported is in force: Bo leads the harbour and sees Anna by sector.
    said = cocreate(tmp_path, sqlite_url, "chat", "--user", "lea", input="members\n")
    assert "Public sector: Anna Berg (anna.berg@kommune.dk)" in said.stdout
    assert "Leaders: Bo Nielsen (bo@skole.dk) and Lea Leader" in said.stdout
    exported = cocreate(tmp_path, sqlite_url, "export", "--coalition", "harbour")
    roster = {p["member_id"]: (p["role"], p["email"], p["sector"]) for p in json.loads(exported.stdout)["roster"]}
    assert roster == {"lea": ("leader", "", ""), "bo": ("leader", "bo@skole.dk", ""),
                      "mo": ("member", "", ""), "anna-berg": ("member", "anna.berg@kommune.dk", "public")}


async def test_a_semicolon_file_from_a_danish_excel_with_a_bom(tmp_path, sqlite_url):
    people = tmp_path / "people.csv"
    # Header in any case, the Danish role word, a byte-order mark and semicolons.
    people.write_bytes("\ufeffEmail;Name;Coalition;Role\nsofie@by.dk;Sofie Ærø;harbour;medlem\n".encode())
    result = cocreate(tmp_path, sqlite_url, "members", "import", str(people))
    assert_clean_exit(result)
    [person] = (await changes(sqlite_url)).people
    assert (person.member_id, person.name) == ("sofie", "Sofie Ærø")


async def test_every_problem_is_reported_by_line_and_nothing_is_imported(tmp_path, sqlite_url):
    people = tmp_path / "people.csv"
    people.write_text(GOOD + "not-an-email,X,harbour,member,\nc@d.dk,,nowhere,boss,space\n"
                      "anna.berg@kommune.dk,Anna,harbour,member,\n", encoding="utf-8")
    result = cocreate(tmp_path, sqlite_url, "members", "import", str(people))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{people}: line 5: 'not-an-email' is not an email address",
        f"{people}: line 6: no name; unknown coalition 'nowhere'; the coalitions are: harbour, elders; "
        "role 'boss' must be member or leader; sector 'space' must be one of: public, business, civil_society, "
        "education, citizen, other",
        f"{people}: line 7: anna.berg@kommune.dk is in harbour on line 2 already",
        "Nothing was imported.",
    ]
    assert (await changes(sqlite_url)).seats == ()


async def test_a_file_without_the_columns_says_which(tmp_path, sqlite_url):
    people = tmp_path / "people.csv"
    people.write_text("mail,name\nx@y.dk,X\n", encoding="utf-8")
    result = cocreate(tmp_path, sqlite_url, "members", "import", str(people))
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        f"{people}: line 1: missing column email, coalition, role; unknown column mail "
        "(columns: email, name, coalition, role, sector)")
