"""Slack's escaped text read back as typed (adapters.slack.events.unescape): message text
always comes escaped, and slash command text too (the manifest's should_escape)."""

from __future__ import annotations

from adapters.slack.events import from_command, from_dm, mentioned, unescape
from tests.fakes.slack_client import slash_command


def test_entities_links_and_mentions_read_as_typed():
    assert unescape("Bread &amp; butter &lt;3 &gt; fear") == "Bread & butter <3 > fear"
    assert unescape("&amp;lt; stays") == "&lt; stays"  # one level only: what the member typed
    assert unescape("ask <@U123|anna> and <@U456>") == "ask @anna and @U456"
    assert unescape("in <#C1|harbour>, <!here> <!subteam^S1|@leads>") == "in #harbour, @here @@leads"
    assert unescape("<mailto:anna@kommune.dk|anna@kommune.dk>") == "anna@kommune.dk"
    assert unescape("<https://x.dk/a?b=1&amp;c=2>") == "https://x.dk/a?b=1&c=2"
    assert unescape("<https://x.dk|our report>") == "our report (https://x.dk)"
    assert unescape("add <@U9|bo>", lambda user, name: f"member-of-{user}") == "add member-of-U9"
    assert mentioned("add <@U9|bo> and <@W2> <#C1|x>") == ["U9", "W2"]


def test_a_command_and_a_dm_arrive_unescaped():
    body = dict(slash_command("add <mailto:anna@kommune.dk|anna@kommune.dk> Anna &amp; Bo").payload)
    message, _ = from_command(body)
    assert message.text == "add anna@kommune.dk Anna & Bo"
    body = {"event_id": "Ev1", "team_id": "T1"}
    event = {"type": "message", "channel_type": "im", "user": "U1", "channel": "D1", "text": "5 &lt; 7 &amp; more"}
    message, _ = from_dm(body, event)
    assert message.text == "5 < 7 & more"
