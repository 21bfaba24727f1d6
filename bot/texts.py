"""The core's own words, in English (the source language): what the engine, answer
validation, scheduled messages, every adapter's chrome and the reports (`bot/report_texts.py`)
say. Flows' texts are in `flows/prompts.py`; `bot.config.english` merges both into the one
library that every catalog translates (`bot/i18n.py`).
"""

from __future__ import annotations

from bot.report_texts import REPORT_TEXTS

TEXTS: dict[str, dict[str, str]] = {
    # Command words. A catalog may give several, separated by '|': the first is shown in
    # `help`, all of them work. English words work in every language.
    "commands": {
        "join": "join", "map": "map", "strengths": "strengths", "frame": "frame",
        "experiment": "experiment", "checkin": "checkin", "impact": "impact",
        "reflect": "reflect", "story": "story", "status": "status", "digest": "digest",
        "schedule": "schedule", "coordinator": "coordinator", "language": "language",
        "help": "help", "cancel": "cancel",
    },
    # The first word after a command, where a command takes a sub-command.
    "words": {
        "close": "close", "withdraw": "withdraw", "all": "all", "pause": "pause",
        "resume": "resume", "time": "time", "list": "list", "add": "add", "remove": "remove",
        "auto": "auto",
    },
    "labels": {
        "sector.public": "Public sector",
        "sector.business": "Business",
        "sector.civil_society": "Civil society / association",
        "sector.education": "Education / research",
        "sector.citizen": "Citizen / user",
        "sector.other": "Other",
        "voice.citizen": "A citizen",
        "voice.user": "A user of a service",
        "voice.partner": "A partner",
        "voice.employee": "An employee",
        "voice.other": "Someone else",
        "decision.continue": "Continue",
        "decision.adjust": "Adjust",
        "decision.stop": "Stop",
        "decision.scale_up": "Scale up",
        "consent.private": "Only me",
        "consent.coalition": "My coalition",
        "consent.movement": "The whole movement",
        "consent.public": "Public",
        "yes": "Yes",
        "no": "No",
        "scale_low": "not at all",
        "scale_high": "very much",
        "role.leader": "coalition leaders",
        "role.coordinator": "movement coordinators",
    },
    "engine": {
        "busy": "Several answers arrived at once. Please send yours again.",
        "welcome_back": "Welcome back. We were in the middle of: *{flow}*",
        "waiting": "*Waiting for your answer:* {flow}",
        "carry_on": "You can carry on below.",
        "nothing_to_cancel": "There is nothing to cancel. Type *help* to see what you can do.",
        "cancelled": "Cancelled: {flow}. Your unfinished answers were not saved.",
        "unknown_command": "I don't know the command '{word}'. Type *help* to see what I can do.",
        "where_were_we": "Now, where were we:",
        "in_the_middle": (
            "You are in the middle of: *{flow}*. Answer the question below, or type *cancel* to stop it first."
        ),
        "moved_on": "That question has moved on, so I didn't record that answer. Here is where we are now.",
        "moved_on_idle": "That question has moved on, so I didn't record that answer. Type *help* to start something new.",
        "use_form": "Please answer with the form above (or type *cancel* to stop).",
        "done": "Done, thank you.",
        "help_title": "*{movement}*: here is what you can do.",
        "help_cancel": "stop what you are in the middle of (nothing half-done is saved)",
        "help_help": "this list",
        "help_hint": "Answer a question by typing, or pick a number.",
        "refusal": "Only {role} can {what}.",
        "refusal_leaders": "The leaders of {coalition} are: {names}.",
    },
    "answers": {
        "required": "This one needs an answer.",
        "just_one": "Please pick just one option.",
        "at_least_one": "Please pick at least one option.",
        "too_long": "That is {length} characters; please keep it to {limit} or fewer.",
        "scale": "Please answer with a whole number from 1 to 5.",
        "date": "Please give a date like {example} (year-month-day).",
        "choice": "I didn't recognise '{text}'. Please answer with a number from 1 to {count} or the name of an option.",
        # Words that leave an optional question blank, separated by '|'.
        "skip_words": "skip|-|none|n/a",
    },
    "language": {
        "current": "I write to you in {language}. Change it with `language <code>`: {choices}.",
        "set": "From now on I write to you in English.",
        "auto": "From now on I follow your platform's or your coalition's language: {language}.",
        "unknown": "I don't speak '{code}' yet. Choose one of: {choices}.",
        "name.en": "English",
        "name.da": "Danish",
    },
    # What `help` says of the commands the core offers (the flows' own are in flows/prompts.py).
    "help": {"language": "choose the language I write to you in"},
    "usage": {"language": "language [en|da|auto]"},
    "flows": {"language": "choose your language"},
    # The chrome of the platforms' messages and forms.
    "ui": {
        "title": "Cocreate",
        "submit": "Submit",
        "cancel": "Cancel",
        "answer": "Answer",
        "choose": "Choose…",
        "reply_here": "Or reply here in this chat.",
        "saved": "Saved.",
        "empty_home": "Nothing to show yet.",
        "scale_ends": "1 = {low} … 5 = {high}",
        "required": "This one needs an answer.",
        "more": "…and {count} more",
        "more_not_shown": "… {n} more not shown. Type status or export for the rest.",
        "more_not_shown_slack": "… {n} more not shown. Use `/cocreate status` or an export for the rest.",
        "many_hint": "one or more, e.g. 1,3",
        "date_hint": "a date like {example}",
        "optional_hint": "optional: type skip",
        "error": "Something went wrong on our side; nothing was saved. Please try again.",
        "too_slow": "That took too long to save. Please try again.",
        "moved_on": "That question has moved on. Type `/cocreate status` to see where you are.",
        "sent_to_dm": "Sent to our direct messages, with the details in a thread.",
        "hello": "Hello! I help our coalition co-create. Type *help* to see what you can do.",
        "unreachable_teams": "I could not reach {name} in Teams ({reason}). They may need to install the app or unblock it.",
        "console_button": "[{label}: type '{command}']",
        "console_banner": "You are {name}. Type help to see what you can do, cancel to stop a flow.",
        "console_banner_tty": "You are {name}. Type help to see what you can do, cancel to stop a flow, Ctrl-D to leave.",
        "console_coalition": "[to everyone in {coalition}]",
        "console_details": "[details]",
        "console_from_bot": "[a message from the bot]",
        "console_updated": "[updated]",
    },
    # Why a member could not be reached, as leaders are told (`{reason}`): the codes the
    # senders and the platforms give. A code not listed here is shown as it is.
    "reasons": {
        "no_address": "they have no chat with the app yet; they must install it or write to it once",
        "no_account": "app.yaml gives no account of theirs on this platform",
        "no_installation": "the app is not installed in their Slack workspace yet",
        "no_platform": "none of their chat platforms is connected to the bot",
        "no_token": "the bot has no Slack token (SLACK_BOT_TOKEN)",
        "account_inactive": "their account is deactivated",
        "user_not_found": "the account is not found",
        "user_disabled": "their account is disabled",
        "cannot_dm_bot": "the app cannot write to them",
        "messages_tab_disabled": "the app's Messages tab is turned off",
        "ConversationBlockedByUser": "they blocked the app",
        "BotNotInConversationRoster": "the app is not in their team or chat",
    },
    "format": {
        "when": "{day} at {time}",
        "experiment": "experiment {id}",
    },
}

TEXTS.update(REPORT_TEXTS)
