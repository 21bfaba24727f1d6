"""The flows' texts in English, the source language. A movement rewords any of these under
`prompts:` in app.yaml (`cocreate prompts` prints them all); every other language is a
gettext catalog of the same keys (`bot/i18n.py`). {placeholders} are filled in by the flows.

Besides one group per flow: `flows` (what each flow does, and its leader-only steps),
`help` and `usage` (a line and the typed form per command word, for `help`), and
`principles` (the movement's default seven principles).
"""

from __future__ import annotations

from flows.digest_texts import DIGEST_TEXTS
from flows.members_texts import MEMBERS_TEXTS
from flows.privacy_texts import PRIVACY_TEXTS

PROMPTS: dict[str, dict[str, str]] = {
    "join": {
        "title": "Join {coalition}",
        "intro": (
            "Welcome to *{coalition}*. Together we work on: {challenge}\n"
            "Co-creation needs the whole picture, so tell us who you are and what you bring."
        ),
        "sector": "Which sector do you come from?",
        "organisation": "Which organisation, association or network are you part of? (As a citizen, write 'myself'.)",
        "brings": "What do you bring to the table: knowledge, time, places, contacts, ideas?",
        "saved": "Welcome aboard, {name}! You are at the table for {sector}.",
        "treasure_offer": (
            "Do you know a hidden treasure nearby: a place, an association, a business or a "
            "person whose resources could help with our task? Think of the local restaurant, "
            "the library, the care centre or the sports club."
        ),
        "treasure_yes": "Yes, let me map one",
        "treasure_no": "Not right now",
        "balance_title": "Who is at the table in {coalition}",
        "missing": "Still missing: {sectors}. Who could you invite from there? Ask them to write *join*.",
        "announce": "{name} joined the table for {sector} ({organisation}). Welcome!",
        "all_there": "Every sector we hoped for is at the table. Who else could bring a fresh view? Ask them to write *join*.",
        "submit": "Join",
    },
    "map": {
        "title": "Map a hidden treasure",
        "name": "What is it called?",
        "kind": "What kind of resource is it?",
        "sector": "Which sector does it belong to?",
        "offer": "What could it offer our work?",
        "saved": "Mapped *{name}* as a hidden treasure. Thank you!",
        "another": "Map another hidden treasure?",
        "done": "Thank you for mapping the resources around us.",
        "submit": "Map it",
        "resource.place": "A place",
        "resource.association": "An association or network",
        "resource.business": "A business",
        "resource.institution": "A public institution",
        "resource.person": "A person",
        "resource.knowledge": "Knowledge or skills",
        "resource.other": "Something else",
    },
    "strengths": {
        "title": "Find the experience",
        "intro": "Before we start anything new, let's look closely at what already works.",
        "success": "Tell us about a time co-creation worked for you. What happened?",
        "why": "Why did it work?",
        "enlarge": "How could we do more of it? Where could that strength take us next?",
        "challenge": "Where do we struggle, and how could this strength help there?",
        "saved": "Thank you. Your experience is saved, and others can build on it.",
    },
    "frame": {
        "menu": "Let's frame the problem from the outside in. What would you like to do?",
        "title": "Frame the problem",
        "current": "Our agreed frame so far: \"{statement}\"",
        "open": "This round has {perspectives} outside-in perspective(s) and {statements} proposed statement(s).",
        "add_perspective": "Add an outside-in perspective",
        "add_statement": "Propose a problem statement",
        "close_round": "Close the framing round (leaders)",
        "perspective_title": "An outside-in perspective",
        "voice": "Whose voice is this?",
        "said": "What did they say or experience? Use their own words where you can.",
        "shows": "What problem or potential does it show us?",
        "perspective_saved": "Perspective saved. This round now has {count} open perspective(s).",
        "next": "What next?",
        "next_perspective": "Add another perspective",
        "next_statement": "Propose a problem statement",
        "next_done": "That's all for now",
        "statement_title": "Propose a problem statement",
        "statement": "Frame the problem as the people it concerns would see it:",
        "cross_sector": "Does it cut across sectors and professions?",
        "complex": "Is it complex: more than any one of us can solve alone?",
        "not_solved": "Is it left unsolved by everyday operations?",
        "statement_saved": "Problem statement saved. Transversal score: {score}/5.",
        "weak": (
            "A low score can mean everyday operations are the better tool here. Co-creation "
            "pays off on problems that are transversal, complex and not already solved."
        ),
        "close_pick": "Which statement becomes the coalition's agreed frame?",
        "close_intro": "Closing the round links the {count} open perspective(s) to the frame you choose.",
        "nothing_to_close": "There is nothing to close yet: no problem statement has been proposed in this round.",
        "gone": "That statement is no longer open; someone may have closed the round already.",
        "closed": "The framing round is closed. Our agreed frame: \"{statement}\", built on {count} outside-in perspective(s).",
        "announce": "The framing round is closed. Our agreed frame: \"{statement}\"",
        "thanks": "Thank you. Every outside-in voice makes the problem more real for all of us.",
        "close_title": "Close the framing round",
        "close_submit": "Close the round",
        "option": "{statement} ({score}/5)",
    },
    "experiment": {
        "title": "Start small",
        "intro": "Think big, start small: register a delimited test action with its effect in the centre from the start.",
        "name": "A short title",
        "action": "What will you do?",
        "effect": "What effect do you want to achieve?",
        "stakeholders": "For whom? Name the stakeholder groups, separated by commas (e.g. young people, parents, teachers).",
        "partners": "Which partners take part?",
        "starts_on": "Start date",
        "ends_on": "End date",
        "measures": "How will you know whether it works?",
        "owner": "Who owns it? (leave empty for yourself)",
        "end_before_start": "The end date is before the start date. Please choose an end on or after {starts}.",
        "too_long": "That timebox is {weeks} weeks. Start small: keep it to {max} weeks or less.",
        "too_many_groups": "Please name at most {max} stakeholder groups, so each can be checked on.",
        "announce": "New experiment: *{title}*, running {starts} to {ends}. Owner: {owner}.",
        "announce_details": "What we will do: {action}\nIntended effect: {effect}\nFor whom: {stakeholders}",
        "saved": "Experiment *{title}* is registered, running {starts} to {ends}. Leaders check in on its impact with *checkin*.",
        "submit": "Register",
    },
    "checkin": {
        "pick": "Which experiment should the coalition check in on?",
        "pick_title": "Impact check-in",
        "option": "{title} (until {ends})",
        "an_experiment": "an experiment",
        "opened": (
            "Check-in round on *{experiment}* is open: I am asking {count} members now. "
            "Your progress message follows and updates itself. It closes {closes}, or type *checkin close*."
        ),
        "already_open": "A check-in round on *{experiment}* is still open. Close it first with *checkin close*.",
        "no_round": "There is no open check-in round in {coalition}. Start one with *checkin*.",
        "closed": "Closed the check-in round on *{experiment}*. The summary goes to the coalition's channel.",
        "round_closed": "The check-in round on *{experiment}* has closed, so I can't take answers for it any more. Thank you all the same!",
        "answered_before": "You already answered this check-in on *{experiment}*. Thank you!",
        "nothing_to_answer": "There is no open check-in for you in {coalition} right now.",
        "none": "There is no running experiment in {coalition} right now. Register one with *experiment*.",
        "unknown": "I couldn't find a running experiment called '{name}'.",
        "title": "Impact check-in: {experiment}",
        "intro": "Look at the effect at different levels and for different stakeholders, including what nobody intended.",
        "citizen_impact": "How do citizens perceive the impact so far?",
        "impact_low": "none",
        "impact_high": "a lot",
        "effect": "Effect for {group}",
        "effect_low": "no effect",
        "effect_high": "large effect",
        "intended": "Which of the intended effects do you see?",
        "unintended": "Any unintended effects, good or bad?",
        "evidence": "Evidence: a link or a short description",
        "decision": "What do we do now?",
        "saved": "Check-in saved for *{experiment}*. Decision: {decision}.",
        "announce": "Impact check-in on *{experiment}*: citizens' perceived impact {impact}/5. Decision: {decision}.",
    },
    "round": {
        "invite": (
            "*Impact check-in: {experiment}* ({coalition})\n"
            "How is our experiment landing for the people it is for? Your view counts, "
            "including the effects nobody planned. It takes about three minutes."
        ),
        "reminder": (
            "A gentle reminder: the impact check-in on *{experiment}* is still open until {closes}. "
            "Every voice helps the coalition decide what to do next."
        ),
        "answer": "Answer the check-in",
        "close": "Close the round",
        "progress": "*Check-in round on {experiment}*: sent {sent}/{total} · {unreachable} unreachable · {answered} answered",
        "progress_open": "Open until {closes}.",
        "progress_closed": "Closed. The summary is in the coalition's channel.",
        "summary": "Impact check-in on *{experiment}* closed: {answers} answer(s), citizens' perceived impact {average}/5 on average.",
        "summary_none": "Impact check-in on *{experiment}* closed without answers.",
        "intended": "Intended effects people see",
        "unintended": "Unintended effects",
        "decisions": "What people think we should do",
    },
    "schedule": {
        "principle": "*This week's principle, #{number}: {title}*\n{question}",
        "principle_button": "Reflect now",
        "story": (
            "*Time for an ambassador story.* What happened lately in our co-creation that others "
            "could learn from? A small story is enough: who met, what changed, what surprised you."
        ),
        "story_button": "Share a story",
        "strengths": (
            "*A strengths round.* Think of a recent success in our coalition, large or small. "
            "What made it work, and how could we do more of it?"
        ),
        "strengths_button": "Share a success",
        "list_title": "Schedules for {coalition}",
        "none": "No schedules are set up. A movement defines them under `schedules:` in app.yaml.",
        "unknown": "I don't know a schedule called '{name}'. Type *schedule* to see them.",
        "paused": "Paused *{name}* for {coalition}. Type *schedule resume {name}* to start it again.",
        "resumed": "Resumed *{name}* for {coalition}. The next one is {next}.",
        "moved": "*{name}* now goes out at {time} (each member's local time) for {coalition}. The next one is {next}.",
        "usage": "Try `schedule`, `schedule pause <name>`, `schedule resume <name>` or `schedule time <name> HH:MM`.",
        "bad_time": "'{time}' is not a time of day. Write it as HH:MM, e.g. 09:30.",
        "kind.principle": "principle of the week",
        "kind.story": "ambassador story invitation",
        "kind.checkin": "impact check-in on running experiments",
        "kind.strengths": "strengths round",
        "kind.digest": "digest for leaders",
        "every_week": "every week",
        "every_weeks": "every {n} weeks",
        "every_month": "every month (first in the month)",
        "every_months": "every {n} months (first in the month)",
        "when": "{days} at {time}, {every}",
        "state_paused": "*paused*",
        "state_next": "next: {next}",
        "line": "- `{id}`: {kind}, {when}; {state}",
        "next": "{when} ({zone})",
        "never": "not within a year",
        "hint": "Times are each member's local time. Change one: `schedule pause|resume <name>`, `schedule time <name> HH:MM`.",
    },
    "delivery": {
        "unreachable": "I could not reach {name} on {platform}: {reason}. They may need to install or unblock the app, or write to it once.",
        "unreachable_many": "I could not reach {count} members of {coalition} in the last hour. They may need to install or unblock the app, or write to it once:",
        "unreachable_line": "- {name} on {platform}: {reason}",
    },
    "reflect": {
        "pick": "Which principle would you like to reflect on?",
        "pick_title": "Reflect",
        "option": "#{number} {title}",
        "title": "Principle #{number}: {title}",
        "bad_number": "There are {count} principles: pick a number from 1 to {count}.",
        "saved": "Thank you for reflecting on principle #{number}.",
    },
    "story": {
        "title": "Share an ambassador story",
        "intro": "Be an ambassador for co-creation: share what happened so others can learn from it.",
        "name": "Give your story a title",
        "body": "Tell the story: what happened, who took part, and what changed?",
        "principles": "Which principles does it show?",
        "sectors": "Which sectors were involved?",
        "consent": "Who may see this story?",
        "anonymous": "Show your name with it?",
        "named": "Yes, show my name",
        "anon": "No, keep me anonymous",
        "saved": "Your story *{title}* is saved. Who can see it: {consent}{anonymous}. You can withdraw it any time with *story withdraw*.",
        "announce": "New ambassador story: *{title}*, shared by {author}.",
        "someone": "a member (anonymously)",
        "withdraw_pick": "Which story do you want to withdraw?",
        "withdraw_confirm": "Withdraw *{title}*? It will not appear in any digest or report from now on.",
        "withdrawn": "Withdrawn: *{title}*. It will not be shown anywhere from now on.",
        "kept": "Kept: *{title}* stays shared.",
        "none": "You have no shared stories to withdraw.",
        "submit": "Share",
        "anonymous_mark": "(anonymous)",
        "withdraw_title": "Withdraw a story",
        "withdraw_option": "{title} ({consent})",
        "withdraw_yes": "Withdraw it",
        "withdraw_no": "Keep it",
    },
    "status": {
        "title": "Your status in {coalition}",
        "not_joined": "You haven't joined yet. Write *join* to take your seat at the table.",
        "experiments": "Your experiments",
        "no_experiments": "You have no experiments yet. Start small with *experiment*.",
        "stories": "Your stories",
        "at_table": "At the table for",
        "where": "{sector}, {organisation}",
        "experiment": "- *{title}*: {state}, {starts} to {ends}, {checkins} check-in(s)",
        "running": "running",
        "not_started": "not started",
        "ended": "ended",
        "story": "- *{title}* ({consent})",
    },
    "invite": {
        "created": (
            "Invite link for *{coalition}*, valid until {until}:\n{link}\n"
            "Anyone with the link can join in a browser, no Slack or Teams needed. Share it where the "
            "people you are missing at the table will see it.\nA QR code for a poster: {qr}"
        ),
        "usage": "Try `invite` (valid 14 days), `invite 30d` (1 to {max} days), `invite list` or `invite revoke <number>`.",
        "none": "{coalition} has no invite links yet. Type `invite` to make one.",
        "list_title": "*Invite links for {coalition}*",
        "line": "- #{id}: {state}, until {until}, {joins} joined (made by {by})",
        "state.open": "open",
        "state.expired": "expired",
        "state.revoked": "revoked",
        "unknown": "{coalition} has no invite link #{id}. Type `invite list` to see them.",
        "already_revoked": "Invite link #{id} was revoked already.",
        "revoked": "Invite link #{id} is revoked: nobody can join with it any more. {joins} joined through it; they stay members.",
    },
    "dashboard": {
        "link": (
            "Your link to the dashboard:\n{link}\n"
            "It works once, within {minutes} minutes, and signs you in on that browser. Don't share it."
        ),
        "refused": "The dashboard is for movement coordinators and coalition leaders. Ask one of them for a digest, or type `digest` here.",
    },
    "signin": {
        "link": (
            "Your personal link to the web chat, for a phone or another computer:\n{link}\n"
            "It works once, within {minutes} minutes. Don't share it: it signs in as you."
        ),
    },
    # The digest command's texts live beside it, in flows/digest_texts.py.
    **DIGEST_TEXTS,
    **MEMBERS_TEXTS,
    **PRIVACY_TEXTS,
    "coordinator": {
        "list": "Coordinators named in chat: {names}. Those in app.yaml are coordinators too.",
        "none_yet": "none yet",
        "usage": "Try `coordinator list`, `coordinator add <member id>` or `coordinator remove <member id>`.",
        "unknown": "I don't know the member '{member}'. Use the id from app.yaml (or platform:user for someone who only joined in chat).",
        "added": "{name} is now a movement coordinator and can pull movement-wide digests.",
        "not_granted": "{name} was not named in chat; coordinators in app.yaml are changed there.",
        "removed": "{name} is no longer a coordinator named in chat.",
        "last": "You are the last movement coordinator. Name another one first: `coordinator add <member id>`.",
    },
    # What each flow does, for "Cancelled: …", "You are in the middle of: …" and refusals
    # ("Only … can …"); the language flow's are in bot/texts.py.
    # "<flow>.<step>" names a step only some roles may reach.
    "flows": {
        "join": "join the coalition and say what you bring",
        "strengths": "share when co-creation worked, and how to do more of it",
        "frame": "frame the problem from the outside in",
        "frame.close": "close a framing round",
        "experiment": "register a small, timeboxed test action",
        "checkin": "ask every member of the coalition to check in on an experiment's impact",
        "impact": "answer an impact check-in on an experiment",
        "reflect": "reflect on one of the movement's principles",
        "story": "share an ambassador story",
        "status": "see your open items, experiments and stories",
        "digest": "get a digest of what coalitions shared lately",
        "dashboard": "open the dashboard",
        "schedule": "see the coalition's schedules; pause, resume or move one",
        "invite": "invite people to the coalition with a link",
        "web": "get a link to the web chat",
        "members": "see and change who is in the coalition",
        "leadership": "name a coalition's leaders, or create a coalition",
        "coordinator": "name or remove movement coordinators",
        "mydata": "get a copy of your data",
        "forget": "erase your data",
    },
    # One line per command word in `help`.
    "help": {
        "join": "join the coalition and say what you bring",
        "map": "map a hidden treasure: a local resource that could help",
        "strengths": "share when co-creation worked, and how to do more of it",
        "frame": "frame the problem from the outside in",
        "experiment": "register a small, timeboxed test action",
        "checkin": "ask every member of the coalition to check in on an experiment's impact",
        "impact": "answer an impact check-in on an experiment",
        "reflect": "reflect on one of the movement's principles",
        "story": "share an ambassador story (or withdraw one of yours)",
        "status": "see your open items, experiments and stories",
        "digest": "a digest of what coalitions shared lately",
        "dashboard": "a link to the dashboard in your browser (coordinators and leaders)",
        "schedule": "see the coalition's schedules; pause, resume or move one",
        "invite": "a link (and QR code) anyone can use to join the coalition in a browser",
        "web": "a personal link to carry on in the web chat, on a phone or another computer",
        "members": "who is in the coalition, by sector, and who was not reached yet",
        "add": "add someone to the coalition by email, or a member by id or name",
        "remove": "take someone out of the coalition; what they shared stays",
        "leader": "name or remove a leader of the coalition",
        "coalition": "create a coalition, or give one its challenge",
        "coordinator": "name or remove movement coordinators",
        "mydata": "a copy of everything Cocreate stores about you (JSON)",
        "forget": "erase everything Cocreate stores about you (asks first)",
    },
    # How each command word is typed, shown in `help` (in the member's language's words).
    "usage": {
        "join": "join",
        "map": "map",
        "strengths": "strengths",
        "frame": "frame [close]",
        "experiment": "experiment",
        "checkin": "checkin [experiment] | checkin close",
        "impact": "impact [round]",
        "reflect": "reflect [number]",
        "story": "story [withdraw]",
        "status": "status",
        "digest": "digest [all|coalition] [30d]",
        "dashboard": "dashboard",
        "schedule": "schedule [pause|resume|time] [name] [HH:MM]",
        "invite": "invite [30d] | invite list | invite revoke <number>",
        "web": "web",
        "members": "members",
        "add": "add <email> [name] | add <member>",
        "remove": "remove <member>",
        "leader": "leader add|remove <member>",
        "coalition": "coalition create <id> <name> | coalition challenge <id> <text>",
        "coordinator": "coordinator list|add|remove [member]",
        "mydata": "mydata",
        "forget": "forget me",
    },
    # The seven principles of the co-creation movement, each with a reflection question
    # (the defaults, when app.yaml names no principles of its own).
    "principles": {
        "1.title": "New pathways to welfare across sectors",
        "1.question": "Where have you seen a new way to welfare open up because sectors worked together? What made it possible?",
        "2.title": "Solve societal problems and challenge habitual thinking",
        "2.question": "Which habit of thought did our work challenge lately, and what did the new community see that we didn't?",
        "3.title": "An equal partnership where everyone brings knowledge and ideas",
        "3.question": "Whose knowledge or ideas shaped a decision recently? Whose voice have we not heard yet?",
        "4.title": "More collective action through active participation",
        "4.question": "Who took part actively this week, and what would make it easier for one more person to join in?",
        "5.title": "Public value through a diversity of ideas and resources",
        "5.question": "Which idea or resource from outside your own organisation added value lately?",
        "6.title": "Measurable effects through concrete interactions",
        "6.question": "What concrete effect did you notice from one of our interactions, and how could we measure it?",
        "7.title": "Be an ambassador by sharing knowledge and experiences",
        "7.question": "What have you learned that someone outside our coalition should hear about? Who will you tell?",
    },
}


def flat(library: dict[str, dict[str, str]] = PROMPTS) -> dict[str, str]:
    """`{"story": {"title": ...}}` -> `{"story.title": ...}`, the form the engine looks up."""
    return {f"{flow}.{key}": text for flow, keys in library.items() for key, text in keys.items()}


# The seven principles as the config takes them (number, title, question), built from the
# "principles" group above so each text exists once.
PRINCIPLE_COUNT = 7
PRINCIPLES: list[dict] = [
    {"number": n, "title": PROMPTS["principles"][f"{n}.title"],
     "question": PROMPTS["principles"][f"{n}.question"]}
    for n in range(1, PRINCIPLE_COUNT + 1)
]
