"""`cocreate manifest slack` prints a manifest Slack accepts: our URLs, our scopes, no more."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from adapters.slack.manifest import manifest
from adapters.slack.settings import BOT_EVENTS, BOT_SCOPES

COCREATE = Path(sys.executable).parent / "cocreate"


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
        "chat:write", "commands", "im:history", "im:write", "users:read"] == list(BOT_SCOPES)
    assert doc["settings"]["event_subscriptions"]["bot_events"] == list(BOT_EVENTS)
    # message.im and the outbox's look back into a DM (conversations.history) need im:history,
    # conversations.open needs im:write, users.info (a member's time zone) users:read; nothing
    # reads channels, e-mail addresses or files.
    assert not [s for s in BOT_SCOPES if s.startswith(("channels:", "users:read.email", "files:", "groups:"))]


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
