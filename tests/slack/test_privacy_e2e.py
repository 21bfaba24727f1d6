"""`mydata` and `forget me` in Slack, over real HTTP against a real `cocreate serve` and the
fake Web API: the copy arrives as a file in the member's DM (files.uploadV2: an upload URL,
the bytes, the completion), never in the channel they asked in; the erasure is confirmed with
a button and leaves nothing of them behind, not even the reference of the turn that asked."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from tests.fakes.slack_client import block_action, dm_message, event
from tests.slack.test_profile_e2e import stored
from tests.slack.test_slack_e2e import buttons, command, eventually, send, texts

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "mydata.schema.json").read_text())


async def test_mydata_arrives_as_a_file_in_the_dm_and_forget_me_erases_it_all(server, fake_slack):
    await send(server, event(dm_message("reflect 3")))
    await fake_slack.wait_for("chat.postMessage")
    await send(server, event(dm_message("We met the parents at the harbour café")))
    await eventually(lambda: len(fake_slack.calls("chat.postMessage")) >= 2, "the reflection was saved")

    await command(server, fake_slack, "mydata", rid="data")
    [done] = await fake_slack.wait_for("files.completeUploadExternal")
    assert done.args["channel_id"] == "DU_MO"  # the DM (the fake names it so), not C_HARBOUR where they asked
    doc = json.loads(fake_slack.file("DU_MO"))
    jsonschema.validate(doc, SCHEMA)
    assert doc["profile"]["id"] == "mo"
    assert [r["text"] for r in doc["contributions"]["reflections"]] == ["We met the parents at the harbour café"]
    [said] = [c for c in fake_slack.calls("response_url") if c.path.endswith("/data")]
    assert "What Cocreate stores about you" in texts(said) and "file below" in texts(said)
    assert not [c for c in fake_slack.calls("chat.postMessage") if c.args.get("channel") == "C_HARBOUR"]

    await command(server, fake_slack, "forget me", rid="forget")
    asked = await eventually(lambda: [c for c in fake_slack.calls("response_url") if c.path.endswith("/forget")],
                             "the confirmation")
    erase = next(b for b in buttons(asked[-1]) if b["text"]["text"] == "Yes, erase everything")
    await send(server, block_action(erase["action_id"], erase["value"], channel="C_HARBOUR",
                                    response_url=fake_slack.response_url("erased")))
    done = await eventually(lambda: [c for c in fake_slack.calls("response_url") if c.path.endswith("/erased")],
                            "the goodbye")
    assert "is erased" in " ".join(texts(c) for c in done)

    async def leftovers(store):
        return (await store.member_data("mo"), await store.erasures(), await store.reference_for("slack", "mo", None))

    data, audit, reference = await stored(server.database_url, leftovers)
    assert data["contributions"]["reflections"] == [] and data["conversations"] == [] and data["identities"] == []
    assert reference is None  # the turn that asked left no reference behind
    assert [a["by"] for a in audit] == ["member"]
