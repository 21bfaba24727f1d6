"""The Slack app manifest for "Create an app -> From a manifest", built from what the code
actually uses: one slash command, its subcommands as the usage hint, the scopes and events.

Slack manifests have no localization: an app has one description, so the manifest is printed
in one language, chosen with `language`. The texts are store listings, not chat, so they live
here in `TEXTS`, one dict per language.
"""

from __future__ import annotations

import yaml

from adapters.slack.settings import BOT_EVENTS, BOT_SCOPES

LANGUAGES = ("en", "da")  # the first is the default

SUBCOMMANDS = ("help | join | map | strengths | frame | experiment | checkin | impact | story | reflect"
               " | status | digest | dashboard | schedule | invite | web | members | add | remove | leader | coalition"
               " | coordinator | language | mydata | forget | cancel")

# The command words in Danish (what the Danish `help` shows; the English words work too).
DANISH_WORDS = {
    "help": "hjælp", "join": "deltag", "map": "kortlæg", "strengths": "styrker", "frame": "ramme",
    "experiment": "eksperiment", "checkin": "indtjek", "impact": "effekt", "story": "historie",
    "reflect": "refleksion", "status": "status", "digest": "overblik", "dashboard": "dashboard", "schedule": "tidsplan",
    "invite": "inviter", "web": "web", "members": "medlemmer", "add": "tilføj", "remove": "fjern", "leader": "leder",
    "coalition": "koalition", "coordinator": "koordinator", "language": "sprog", "mydata": "minedata",
    "forget": "glem", "cancel": "afbryd",
}

# Limits: description 140 characters, slash command description 2000, usage hint 1000.
TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "description": "Co-creation prompts, impact check-ins and ambassador stories for coalitions",
        "command": "Co-create with your coalition",
        "usage_hint": SUBCOMMANDS,
    },
    "da": {
        "description": "Spørgsmål til samskabelse, effekt-indtjek og ambassadørhistorier for koalitioner",
        "command": "Samskab med din koalition",
        "usage_hint": " | ".join(DANISH_WORDS[word] for word in SUBCOMMANDS.split(" | ")),
    },
}


def manifest(url: str, socket_mode: bool = False, oauth: bool = False, token_rotation: bool = False,
             name: str = "Cocreate", language: str = LANGUAGES[0]) -> str:
    if language not in TEXTS:
        raise ValueError(f"the Slack manifest's language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    texts = TEXTS[language]
    events_url = url.rstrip("/") + "/slack/events"
    command = {
        "command": "/cocreate",
        "description": texts["command"],
        "usage_hint": texts["usage_hint"],
        # Mentions arrive as user ids (`add @Anna` -> <@U123|anna>); events.unescape reads them.
        "should_escape": True,
    }
    settings: dict = {
        "event_subscriptions": {"bot_events": list(BOT_EVENTS)},
        "interactivity": {"is_enabled": True},
        "org_deploy_enabled": False,
        "socket_mode_enabled": socket_mode,
        "token_rotation_enabled": token_rotation,
    }
    if not socket_mode:  # over Socket Mode, Slack needs no public URL at all
        command["url"] = events_url
        settings["event_subscriptions"]["request_url"] = events_url
        settings["interactivity"]["request_url"] = events_url
    oauth_config: dict = {"scopes": {"bot": list(BOT_SCOPES)}}
    if oauth:
        oauth_config["redirect_urls"] = [url.rstrip("/") + "/slack/oauth_redirect"]
    document = {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": name,
            "description": texts["description"],
            "background_color": "#2f5d50",
        },
        "features": {
            "app_home": {"home_tab_enabled": True, "messages_tab_enabled": True,
                         "messages_tab_read_only_enabled": False},
            "bot_user": {"display_name": name, "always_online": True},
            "slash_commands": [command],
        },
        "oauth_config": oauth_config,
        "settings": settings,
    }
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
