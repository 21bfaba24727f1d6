"""The texts of members' data rights (flows/privacy.py, bot/mydata.py), in English."""

from __future__ import annotations

PRIVACY_TEXTS: dict[str, dict[str, str]] = {
    "mydata": {
        "summary_title": "*What Cocreate stores about you*",
        "summary_profile": "- Your profile in {coalitions} coalition(s): name, sector, organisation, what you bring",
        "summary_answers": "- {answers} answer(s) to prompts, {checkins} check-in(s) and {reflections} reflection(s)",
        "summary_stories": "- {stories} story(ies), each with its consent level ({withdrawn} withdrawn)",
        "summary_accounts": "- {accounts} account(s) and conversation(s) I reach you in, and {messages} message(s) I sent you",
        "file": "Everything is in the file below (JSON). Type `forget me` if you want it erased.",
        "file_title": "Your data from Cocreate",
        "link": (
            "Download everything (JSON) here:\n{link}\n"
            "The link works once, within {minutes} minutes. Don't share it: it holds your data. "
            "Type `forget me` if you want it erased."
        ),
    },
    "forget": {
        "title": "Erase your data",
        "what": (
            "This erases what Cocreate stores about you: your name, email and accounts, the places I write to "
            "you, your answers' text, your stories (title and text), and messages waiting for you. Only "
            "anonymous counts stay, so the coalition's numbers stay right. It cannot be undone; `mydata` "
            "gives you a copy first."
        ),
        "ask": "Erase everything about you now?",
        "erase": "Yes, erase everything",
        "keep": "No, keep my data",
        "kept": "Nothing was erased.",
        "erased": (
            "Done: everything Cocreate stored about you is erased. If you write again, you start afresh "
            "as someone new."
        ),
        "listed": (
            "The movement's configuration (app.yaml) still lists you: ask a coordinator to take you out there "
            "too, or you will be invited again."
        ),
    },
}
