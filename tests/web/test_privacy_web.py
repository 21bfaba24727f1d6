"""`mydata` and `forget me` in the web chat, over HTTP against a real `cocreate serve`: the copy
is a one-time download link (a page with a button, then the JSON as an attachment, once), and
`forget me` ends the session along with everything else."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import jsonschema

from tests.web.http import Browser, SESSION, add_sign_in, count

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "mydata.schema.json").read_text())


def signed_in(server, member: str, name: str) -> Browser:
    browser = Browser(server.url)
    link = add_sign_in(server.database_url, member, name)
    answer = browser.submit(browser.get(link), link)
    assert (answer.status, answer.location) == (303, "/chat")
    return browser


def say(browser: Browser, text: str):
    csrf = browser.get("/chat").form("/signout").fields["csrf"]
    return browser.post("/chat", {"csrf": csrf, "event": secrets.token_hex(16), "text": text})


def test_mydata_is_a_one_time_download_and_forget_me_signs_out_for_good(shared_server):
    server = shared_server
    mo = signed_in(server, "mo", "Mo Member")
    say(mo, "reflect 4")
    say(mo, "One more neighbour joined the walk")
    say(mo, "mydata")
    chat = mo.get("/chat").words
    assert "What Cocreate stores about you" in chat and "1 reflection(s)" in chat
    [path] = set(re.findall(r"/mydata/[A-Za-z0-9_-]{43}", chat))

    other = Browser(server.url)  # the link alone is the authority, on any device, once
    page = other.get(path)
    assert page.status == 200 and "Download my data" in page.words  # a button: scanners spend nothing
    answer = other.submit(page, path)
    assert answer.status == 200 and answer.header("Content-Type").startswith("application/json")
    assert re.match(r'attachment; filename="cocreate-mydata-mo-\d{4}-\d\d-\d\d\.json"',
                    answer.header("Content-Disposition"))
    assert answer.header("Cache-Control") == "no-store"
    doc = json.loads(answer.text)
    jsonschema.validate(doc, SCHEMA)
    assert [r["text"] for r in doc["contributions"]["reflections"]] == ["One more neighbour joined the walk"]
    assert [e["who"] for e in doc["web_conversation"]][:2] == ["member", "bot"]
    again = other.submit(other.get(path), path)
    assert again.status == 410 and "used already or is too old" in again.words

    say(mo, "forget me")
    [form] = [f for f in mo.get("/chat").forms() if f.fields.get("action", "").startswith("forget:")]
    gone = mo.post("/chat", {**form.fields, "f-confirm": "erase"})
    assert gone.status == 200 and "Your data is erased" in gone.words and "is erased" in gone.words
    assert "app.yaml) still lists you" in gone.words
    assert gone.cookie(SESSION)  # deleted
    assert mo.get("/chat").status == 303  # signed out: the session went with the rest
    assert count(server.database_url, "web_entries WHERE member_id = 'mo'") == 0
