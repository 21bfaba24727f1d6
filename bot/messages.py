"""What each kind of outbox message says, composed when it is sent (so a progress message
or a summary shows the state at that moment). Texts come from the movement's prompt
library (`config.prompts`), like every flow's.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from bot.ports import SENT, FAILED, Claimed, RoundInfo, Store
from bot.types import DECISION_LABELS
from bot.ui import Block, Button, Buttons, Context, Reply, Text

QUOTED = 8  # effects quoted in a summary; the rest are counted


class Messages:
    def __init__(self, store: Store, config: Any):
        self.store, self.config = store, config

    def t(self, key: str, **values: Any) -> str:
        return self.config.prompts[key].format(**values)

    def when(self, at: datetime, coalition_id: str) -> str:
        local = at.astimezone(ZoneInfo(self.config.zone_of(coalition_id)))
        return local.strftime("%a %d %b %H:%M")

    async def prompt(self, payload: Mapping[str, Any]) -> Reply:
        """A scheduled invitation: the prompt and a button that starts the flow."""
        kind = payload["kind"]
        if kind == "principle":
            p = self.config.principle(payload["number"])
            text = self.t("schedule.principle", number=p.number, title=p.title, question=p.question)
            return _invite(text, self.t("schedule.principle_button"), f"reflect {p.number}")
        command = {"story": "story", "strengths": "strengths"}[kind]
        return _invite(self.t(f"schedule.{kind}"), self.t(f"schedule.{kind}_button"), command)

    async def invite(self, round: RoundInfo, reminder: bool = False) -> Reply:
        experiment = await self._experiment(round)
        coalition = self.config.coalition(round.coalition_id)
        closes = self.when(round.closes_at, round.coalition_id)
        text = (self.t("round.reminder", experiment=experiment, closes=closes) if reminder
                else self.t("round.invite", experiment=experiment, coalition=coalition.name))
        return _invite(text, self.t("round.answer"), f"impact {round.id}", hint=f"Open until {closes}.")

    async def progress(self, round: RoundInfo) -> Reply:
        rows = [r for r in await self.store.outbox(source=f"round:{round.id}") if r.occurrence == "invite"]
        async with self.store.unit() as unit:
            answered = len(await unit.answered(round.id))
        line = self.t(
            "round.progress", experiment=await self._experiment(round), total=len(rows),
            sent=sum(r.state == SENT for r in rows), unreachable=sum(r.state == FAILED for r in rows),
            answered=answered,
        )
        if round.closed_at:
            return Reply(blocks=(Text(line), Context(self.t("round.progress_closed"))))
        closes = self.t("round.progress_open", closes=self.when(round.closes_at, round.coalition_id))
        return Reply(blocks=(Text(line), Context(closes), Buttons((Button(self.t("round.close"), "checkin close"),))))

    async def summary(self, round: RoundInfo) -> Reply:
        """A headline for the channel, the quoted effects and decisions for its thread."""
        experiment = await self._experiment(round)
        answers = await self.store.round_answers(round.id)
        if not answers:
            return Reply(blocks=(Text(self.t("round.summary_none", experiment=experiment)),))
        average = sum(a.citizen_impact for a in answers) / len(answers)
        blocks: list[Block] = [Text(self.t("round.summary", experiment=experiment, answers=len(answers),
                                           average=f"{average:.1f}"))]
        for key, texts in (("intended", [a.intended for a in answers]),
                           ("unintended", [a.unintended for a in answers])):
            said = [t.strip() for t in texts if t and t.strip()]
            if said:
                quotes = "\n".join(f"> {_one_line(t)}" for t in said[:QUOTED])
                more = f"\n_…and {len(said) - QUOTED} more_" if len(said) > QUOTED else ""
                blocks.append(Text(f"*{self.t('round.' + key)}*\n{quotes}{more}"))
        decisions = Counter(a.decision for a in answers)
        lines = "\n".join(f"- {DECISION_LABELS.get(d, d)}: {n}" for d, n in decisions.most_common())
        blocks.append(Text(f"*{self.t('round.decisions')}*\n{lines}"))
        return Reply(blocks=tuple(blocks))

    def notice(self, payload: Mapping[str, Any]) -> Reply:
        name = self.config.member(payload["member"])
        return Reply.text(self.t("delivery.unreachable", name=name.name if name else payload["member"],
                                 platform=payload["platform"].capitalize(), reason=payload["reason"]))

    async def _experiment(self, round: RoundInfo) -> str:
        async with self.store.unit() as unit:
            experiment = await unit.experiment(round.experiment_id)
        return experiment.title if experiment else f"experiment {round.experiment_id}"


def _invite(text: str, label: str, command: str, hint: str | None = None) -> Reply:
    blocks: tuple[Block, ...] = (Text(text),) + ((Context(hint),) if hint else ())
    return Reply(blocks=blocks + (Buttons((Button(label, command, primary=True),)),))


def _one_line(text: str, limit: int = 280) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def target_member(row: Claimed) -> str | None:
    kind, _, id = row.target.partition(":")
    return id if kind == "member" else None
