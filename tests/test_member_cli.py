"""`cocreate member export|erase` and `cocreate retention`, run as a coordinator answering a
request by letter would: clear words, a file that fits its schema, an audit record, and
nothing done without --yes."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import yaml

from storage.repository import open_store
from tests.conftest import run_async
from tests.support import start_server, stop_server
from tests.test_cli import APP_YAML, assert_clean_exit, chat, cocreate
from tests.web.http import sql, web_env

SCHEMA = json.loads((Path(__file__).parents[1] / "docs" / "mydata.schema.json").read_text())


async def audit(url):
    store = open_store(url)
    try:
        return await store.erasures()
    finally:
        await store.close()


async def test_a_member_is_exported_then_erased_once(tmp_path, sqlite_url):
    assert_clean_exit(chat(tmp_path, sqlite_url, "mo", "reflect 2", "Our street party worked"))
    out = tmp_path / "mo.json"
    result = cocreate(tmp_path, sqlite_url, "member", "export", "--member", "mo", "--out", str(out))
    assert_clean_exit(result)
    assert result.stdout.strip() == f"wrote {out} (1 record(s) about mo)"
    doc = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(doc, SCHEMA)
    assert doc["contributions"]["reflections"][0]["text"] == "Our street party worked"
    assert out.stat().st_mode & 0o077 == 0  # personal data: readable by this account alone

    refused = cocreate(tmp_path, sqlite_url, "member", "erase", "--member", "mo")
    assert refused.returncode == 2 and "add --yes" in refused.stderr and "Traceback" not in refused.stderr
    assert await audit(sqlite_url) == []

    erased = cocreate(tmp_path, sqlite_url, "member", "erase", "--member", "mo", "--yes", "--by", "cora")
    assert_clean_exit(erased)
    assert erased.stdout.strip() == "erased mo: reflections 1"
    assert "mo is still in app.yaml: remove them there too" in erased.stderr
    [record] = await audit(sqlite_url)
    assert (record["by"], record["reason"], record["counts"]) == ("cora", "request", {"reflections": 1})

    again = cocreate(tmp_path, sqlite_url, "member", "erase", "--member", "mo", "--yes")
    assert_clean_exit(again)
    assert "nothing is stored about mo" in again.stdout and len(await audit(sqlite_url)) == 1
    said = chat(tmp_path, sqlite_url, "mo", "status")
    assert "You haven't joined yet" in said.stdout

    unknown = cocreate(tmp_path, sqlite_url, "member", "export", "--member", "nobody", "--out", str(tmp_path / "x"))
    assert unknown.returncode == 2 and "no member 'nobody'" in unknown.stderr
    assert not (tmp_path / "x").exists()


def test_retention_says_what_it_would_do_and_needs_a_policy(tmp_path, sqlite_url):
    none = cocreate(tmp_path, sqlite_url, "retention", "--dry-run")
    assert_clean_exit(none)
    assert "app.yaml sets no retention" in none.stdout
    config = yaml.safe_load(APP_YAML.read_text(encoding="utf-8"))
    config["retention"] = {"answers_months": 1, "delivered_messages_days": 30}
    kept = tmp_path / "app.yaml"
    kept.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    assert_clean_exit(chat(tmp_path, sqlite_url, "mo", "reflect 2", "Fresh today"))
    dry = cocreate(tmp_path, sqlite_url, "--config", str(kept), "retention", "--dry-run")
    assert_clean_exit(dry)
    assert dry.stdout.strip() == "would go: nothing"  # everything is newer than a month


def test_the_server_applies_retention_at_start_and_logs_only_counts(tmp_path, sqlite_url):
    assert_clean_exit(chat(tmp_path, sqlite_url, "mo", "reflect 2", "A thought from long ago"))
    old = (datetime.now(timezone.utc) - timedelta(days=100)).strftime("%Y-%m-%d %H:%M:%S.%f")
    sql(sqlite_url, "UPDATE reflections SET created_at = :old", old=old)
    config = yaml.safe_load(APP_YAML.read_text(encoding="utf-8"))
    config["retention"] = {"answers_months": 2}
    kept = tmp_path / "app.yaml"
    kept.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    server = start_server(tmp_path, web_env(sqlite_url, COCREATE_CONFIG=str(kept)))
    try:
        deadline = time.monotonic() + 10
        while "retention:" not in server.logs() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop_server(server)
    assert "cocreate: retention: answers.reflections 1" in server.logs()
    assert "A thought from long ago" not in server.logs()
    assert sql(sqlite_url, "SELECT text FROM reflections") == [("",)]
    assert [r["reason"] for r in run_async(audit(sqlite_url))] == ["retention"]
