"""What each kind of outbox message says, composed when it is sent (so a progress message
or a summary shows the state at that moment), in the recipient's language: a member's
own, a channel's coalition's. Texts come from the library, like every flow's.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Mapping

from bot.i18n import Texts
from bot.ports import SENT, FAILED, Claimed, RoundInfo, Store
from bot.ui import Block, Button, Buttons, Context, Reply, Text

QUOTED = 8  # effects quoted in a summary; the rest are counted


class Messages:
    def __init__(self, store: Store, config: Any):
        self.store, self.config = store, config

    async def texts(self, member_id: str | None, coalition_id: str) -> Texts:
        return await recipient_texts(self.store, self.config, member_id, coalition_id)

    async def prompt(self, payload: Mapping[str, Any], t: Texts) -> Reply:
        """A scheduled invitation: the prompt and a button that starts the flow."""
        kind = payload["kind"]
        if kind == "principle":
            p = next(p for p in self.config.principles_in(t) if p.number == payload["number"])
            text = t("schedule.principle", number=p.number, title=p.title, question=p.question)
            return _invite(text, t("schedule.principle_button"), f"reflect {p.number}")
        command = {"story": "story", "strengths": "strengths"}[kind]
        return _invite(t(f"schedule.{kind}"), t(f"schedule.{kind}_button"), command)

    async def invite(self, round: RoundInfo, t: Texts, reminder: bool = False) -> Reply:
        experiment = await self._experiment(round, t)
        coalition = self.config.coalition(round.coalition_id)
        closes = t.when(round.closes_at, self.config.zone_of(round.coalition_id))
        text = (t("round.reminder", experiment=experiment, closes=closes) if reminder
                else t("round.invite", experiment=experiment, coalition=coalition.name))
        return _invite(text, t("round.answer"), f"impact {round.id}", hint=t("round.progress_open", closes=closes))

    async def progress(self, round: RoundInfo, t: Texts) -> Reply:
        rows = [r for r in await self.store.outbox(source=f"round:{round.id}") if r.occurrence == "invite"]
        async with self.store.unit() as unit:
            answered = len(await unit.answered(round.id))
        line = t(
            "round.progress", experiment=await self._experiment(round, t), total=len(rows),
            sent=sum(r.state == SENT for r in rows), unreachable=sum(r.state == FAILED for r in rows),
            answered=answered,
        )
        if round.closed_at:
            return Reply(blocks=(Text(line), Context(t("round.progress_closed"))))
        closes = t("round.progress_open", closes=t.when(round.closes_at, self.config.zone_of(round.coalition_id)))
        return Reply(blocks=(Text(line), Context(closes), Buttons((Button(t("round.close"), "checkin close"),))))

    async def summary(self, round: RoundInfo, t: Texts) -> Reply:
        """A headline for the channel, the quoted effects and decisions for its thread."""
        experiment = await self._experiment(round, t)
        answers = await self.store.round_answers(round.id)
        if not answers:
            return Reply(blocks=(Text(t("round.summary_none", experiment=experiment)),))
        average = sum(a.citizen_impact for a in answers) / len(answers)
        blocks: list[Block] = [Text(t("round.summary", experiment=experiment, answers=len(answers),
                                      average=t.number(average)))]
        for key, texts in (("intended", [a.intended for a in answers]),
                           ("unintended", [a.unintended for a in answers])):
            said = [x.strip() for x in texts if x and x.strip()]
            if said:
                quotes = "\n".join(f"> {_one_line(x)}" for x in said[:QUOTED])
                more = f"\n_{t('ui.more', count=len(said) - QUOTED)}_" if len(said) > QUOTED else ""
                blocks.append(Text(f"*{t('round.' + key)}*\n{quotes}{more}"))
        decisions = Counter(a.decision for a in answers)
        lines = "\n".join(f"- {t.get(f'labels.decision.{d}', d)}: {n}" for d, n in decisions.most_common())
        blocks.append(Text(f"*{t('round.decisions')}*\n{lines}"))
        return Reply(blocks=tuple(blocks))

    async def notice(self, payload: Mapping[str, Any], coalition_id: str, leader: str | None,
                     t: Texts) -> Reply | None:
        """Who of the coalition could not be reached in the hour from `since` (None: nobody
        still to report); one member in a sentence, several as a list."""
        if "member" in payload:  # queued before summaries: one member each
            failed = [(payload["member"], payload["platform"], payload["reason"])]
        else:
            since = datetime.fromisoformat(payload["since"])
            failed = [f for f in await self.store.failures(coalition_id, since, since + timedelta(hours=1))
                      if f[0] != leader]
        if not failed:
            return None

        def said(member: str, platform: str, why: str) -> dict[str, str]:
            return {"name": self.config.names.get(member, member), "platform": platform.capitalize(), "reason": reason(why, t)}

        if len(failed) == 1:
            return Reply.text(t("delivery.unreachable", **said(*failed[0])))
        coalition = self.config.coalition(coalition_id)
        lines = [t("delivery.unreachable_many", count=len(failed), coalition=coalition.name if coalition else coalition_id)]
        lines += [t("delivery.unreachable_line", **said(*f)) for f in failed]
        return Reply.text("\n".join(lines))

    async def _experiment(self, round: RoundInfo, t: Texts) -> str:
        async with self.store.unit() as unit:
            experiment = await unit.experiment(round.experiment_id)
        return experiment.title if experiment else t("format.experiment", id=round.experiment_id)


def reason(code: str, t: Texts) -> str:
    """Why a send failed, in the reader's words where the library knows the code."""
    return t.get(f"reasons.{code}") or f"`{code}`"


async def recipient_texts(store: Store, config: Any, member_id: str | None, coalition_id: str) -> Texts:
    """Whom the bot writes to on its own, in which language: a member's choice or platform
    locale, else the coalition's (a channel's is always the coalition's)."""
    chosen = locale = None
    if member_id is not None:
        async with store.unit() as unit:
            chosen, locale = await unit.language_of(member_id)
    return config.texts(chosen, locale, config.language_of(coalition_id))


def _invite(text: str, label: str, command: str, hint: str | None = None) -> Reply:
    blocks: tuple[Block, ...] = (Text(text),) + ((Context(hint),) if hint else ())
    return Reply(blocks=blocks + (Buttons((Button(label, command, primary=True),)),))


def _one_line(text: str, limit: int = 280) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def target_member(row: Claimed) -> str | None:
    kind, _, id = row.target.partition(":")
    return id if kind == "member" else None
