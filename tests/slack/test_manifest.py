"""`cocreate manifest slack` prints a manifest Slack accepts: our URLs, our scopes, no more."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from adapters.slack.manifest import DANISH_WORDS, manifest
from adapters.slack.settings import BOT_EVENTS, BOT_SCOPES

COCREATE = Path(sys.executable).parent / "cocreate"
DANISH_SAMPLE = Path(__file__).resolve().parent.parent.parent / "examples" / "app.da.yaml"


def test_http_manifest_points_every_url_at_one_endpoint():
    doc = yaml.safe_load(manifest("https://cocreate.example.org/"))
    url = "https://cocreate.example.org/slack/events"
    [command] = doc["features"]["slash_commands"]
    assert (command["command"], command["url"]) == ("/cocreate", url)
    assert doc["settings"]["event_subscriptions"]["request_url"] == url
    assert doc["settings"]["interactivity"] == {"is_enabled": True, "request_url": url}
    assert doc["settings"]["socket_mode_enabled"] is False
    assert doc["features"]["app_home"]["home_tab_enabled"] is True
    assert "redirect_urls" not in doc["oauth_config"]
    for word in ("story", "checkin", "reflect", "cancel"):
        assert word in command["usage_hint"]
    assert len(doc["display_information"]["name"]) <= 35 and len(command["usage_hint"]) <= 1000


def test_scopes_and_events_are_exactly_what_the_code_uses():
    doc = yaml.safe_load(manifest("https://x.org"))
    assert doc["oauth_config"]["scopes"]["bot"] == [
        "chat:write", "commands", "files:write", "im:history", "im:write", "users:read", "users:read.email",
    ] == list(BOT_SCOPES)
    assert doc["settings"]["event_subscriptions"]["bot_events"] == list(BOT_EVENTS)
    # message.im and the outbox's look back into a DM (conversations.history) need im:history,
    # conversations.open needs im:write, users.info (a member's time zone) users:read, finding
    # people by email (users.lookupByEmail, profile.email) users:read.email, a member's copy of
    # their data in their DM (files.uploadV2) files:write; nothing reads channels or files.
    assert not [s for s in BOT_SCOPES if s.startswith(("channels:", "files:read", "groups:"))]


def test_the_usage_hint_names_every_command_the_bot_reads():
    from flows.registry import all_flows

    [command] = yaml.safe_load(manifest("https://x.org"))["features"]["slash_commands"]
    hinted = command["usage_hint"].split(" | ")
    reads = {word for flow in all_flows() for word in flow.entries} | {"help", "cancel"}
    assert sorted(hinted) == sorted(reads) and hinted[0] == "help" and hinted[-1] == "cancel"


def test_socket_mode_and_oauth_variants():
    socket = yaml.safe_load(manifest("https://x.org", socket_mode=True))
    assert socket["settings"]["socket_mode_enabled"] is True
    assert "url" not in socket["features"]["slash_commands"][0]
    assert "request_url" not in socket["settings"]["interactivity"]
    oauth = yaml.safe_load(manifest("https://x.org", oauth=True, token_rotation=True))
    assert oauth["oauth_config"]["redirect_urls"] == ["https://x.org/slack/oauth_redirect"]
    assert oauth["settings"]["token_rotation_enabled"] is True


def test_the_command_prints_yaml_and_refuses_a_bare_host():
    ok = subprocess.run([str(COCREATE), "manifest", "slack", "--url", "https://x.org"],
                        capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0 and yaml.safe_load(ok.stdout)["features"]["slash_commands"]
    bad = subprocess.run([str(COCREATE), "manifest", "slack", "--url", "x.org"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "starting with https://" in bad.stderr


# -- languages ------------------------------------------------------------------------------

# The English manifest, byte for byte: only the usage hint's `language` differs from before
# the Danish texts came (the bot reads it since the language flow).
ENGLISH = """\
_metadata:
  major_version: 1
  minor_version: 1
display_information:
  name: Cocreate
  description: Co-creation prompts, impact check-ins and ambassador stories for coalitions
  background_color: '#2f5d50'
features:
  app_home:
    home_tab_enabled: true
    messages_tab_enabled: true
    messages_tab_read_only_enabled: false
  bot_user:
    display_name: Cocreate
    always_online: true
  slash_commands:
  - command: /cocreate
    description: Co-create with your coalition
    usage_hint: help | join | map | strengths | frame | experiment | checkin | impact
      | story | reflect | status | digest | dashboard | schedule | invite | web |
      members | add | remove | leader | coalition | coordinator | language | mydata
      | forget | cancel
    should_escape: true
    url: https://cocreate.example.org/slack/events
oauth_config:
  scopes:
    bot:
    - chat:write
    - commands
    - files:write
    - im:history
    - im:write
    - users:read
    - users:read.email
settings:
  event_subscriptions:
    bot_events:
    - app_home_opened
    - app_uninstalled
    - message.im
    - tokens_revoked
    request_url: https://cocreate.example.org/slack/events
  interactivity:
    is_enabled: true
    request_url: https://cocreate.example.org/slack/events
  org_deploy_enabled: false
  socket_mode_enabled: false
  token_rotation_enabled: false
"""

# The Danish command words, as the lead gave them (and the Danish `help` shows them).
DANISH = ("hjælp | deltag | kortlæg | styrker | ramme | eksperiment | indtjek | effekt | historie | refleksion"
          " | status | overblik | dashboard | tidsplan | inviter | web | medlemmer | tilføj | fjern | leder | koalition"
          " | koordinator | sprog | minedata | glem | afbryd")


def test_english_is_the_default_and_unchanged():
    assert manifest("https://cocreate.example.org/") == ENGLISH
    assert manifest("https://cocreate.example.org/", language="en") == ENGLISH


def test_danish_changes_only_the_texts_people_read():
    english = yaml.safe_load(manifest("https://x.org", oauth=True))
    danish = yaml.safe_load(manifest("https://x.org", oauth=True, language="da"))
    [command] = danish["features"]["slash_commands"]
    assert danish["display_information"]["description"] == (
        "Spørgsmål til samskabelse, effekt-indtjek og ambassadørhistorier for koalitioner")
    assert command["description"] == "Samskab med din koalition"
    assert command["usage_hint"] == DANISH
    # Slack's limits: description 140 characters, usage hint 1000.
    assert len(danish["display_information"]["description"]) <= 140 and len(command["usage_hint"]) <= 1000
    # Everything else is the same: name, URLs, scopes, events, settings.
    for doc in (english, danish):
        del doc["display_information"]["description"]
        del doc["features"]["slash_commands"][0]["description"]
        del doc["features"]["slash_commands"][0]["usage_hint"]
    assert danish == english


def test_the_danish_hint_names_the_same_commands_in_the_same_order():
    english = yaml.safe_load(manifest("https://x.org"))["features"]["slash_commands"][0]["usage_hint"].split(" | ")
    danish = yaml.safe_load(manifest("https://x.org", language="da"))["features"]["slash_commands"][0]["usage_hint"]
    assert danish.split(" | ") == [DANISH_WORDS[word] for word in english]
    assert sorted(DANISH_WORDS) == sorted(english) and len(set(DANISH_WORDS.values())) == len(DANISH_WORDS)


def test_the_danish_words_are_the_ones_the_bot_reads_in_danish():
    """The Danish catalog's command words (the first of each is what `help` shows), once it has them."""
    from bot.i18n import translations

    catalog = translations("da")
    known = {word: catalog[f"commands.{word}"] for word in DANISH_WORDS if f"commands.{word}" in catalog}
    if not known:
        pytest.skip("the Danish catalog has no command words yet")
    for word, words in known.items():
        assert DANISH_WORDS[word] == words.split("|")[0].strip(), word


def test_an_unknown_language_is_refused():
    with pytest.raises(ValueError, match="one of en, da"):
        manifest("https://x.org", language="sv")


def test_the_command_takes_the_language_from_the_option_or_the_movement(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k != "COCREATE_CONFIG"}
        return subprocess.run([str(COCREATE), *args], capture_output=True, text=True, encoding="utf-8",
                              timeout=60, cwd=tmp_path, env=env)

    def hint(result: subprocess.CompletedProcess) -> str:
        assert result.returncode == 0, result.stderr
        return yaml.safe_load(result.stdout)["features"]["slash_commands"][0]["usage_hint"]

    url = ("manifest", "slack", "--url", "https://x.org")
    assert hint(run(*url, "--language", "da")) == DANISH
    # No app.yaml in tmp_path: English, and no complaint about the missing file.
    plain = run(*url)
    assert hint(plain).startswith("help | join") and plain.stderr == ""
    # The Danish sample movement: Danish, unless asked otherwise.
    assert hint(run("--config", str(DANISH_SAMPLE), *url)) == DANISH
    assert hint(run("--config", str(DANISH_SAMPLE), *url, "--language", "en")).startswith("help | join")
    bad = run(*url, "--language", "sv")
    assert bad.returncode == 2 and "'sv' is not one of 'en', 'da'" in bad.stderr
