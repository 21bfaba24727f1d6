"""The scheduler: turns app.yaml's schedules and open check-in rounds into outbox rows.

Only one replica plans at a time (the holder of the leader lock); planning is idempotent
anyway, because every row has a unique key (schedule or round, occurrence, member). Each
schedule remembers up to when it was planned, so after downtime the occurrences missed
within the grace window are queued once, and older ones are skipped and logged.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable, Protocol
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.ports import SENT, Outgoing, RoundInfo, StorageUnavailable, Store
from bot.timing import DEFAULT_ANCHOR, fire_time, occurrences, period_index, utcnow

log = logging.getLogger(__name__)
# A tick that finds the previous one still running is skipped by design (max_instances=1);
# APScheduler would log each skip as a warning.
logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)

SUMMARY_WINDOW = timedelta(days=2)  # closed rounds still checked for a summary to queue


class Planner:
    def __init__(self, store: Store, config: Any, clock: Callable[[], datetime] = utcnow,
                 platforms: frozenset[str] = frozenset()):
        self.store, self.config, self.clock = store, config, clock
        self.platforms = platforms  # where channel posts can go (the connected platforms)

    async def tick(self) -> int:
        """Plan schedules and run rounds; returns how many rows were queued."""
        now = self.clock()
        return await self.plan(now) + await self.run_rounds(now)

    # -- schedules ------------------------------------------------------------------------

    async def plan(self, now: datetime) -> int:
        async with self.store.unit() as unit:
            overrides = await unit.overrides()
        zones = await self.store.zones()
        grace = timedelta(hours=self.config.delivery.grace_hours)
        queued = 0
        for schedule in self.config.schedules:
            name = f"schedule:{schedule.id}"
            since = await self.store.planned_until(name)
            if since is None:  # a new schedule starts now; it has missed nothing
                await self.store.set_planned_until(name, now)
                continue
            if since >= now:
                continue
            rows: list[Outgoing] = []
            skipped = 0
            for coalition in self._coalitions(schedule):
                override = overrides.get((schedule.id, coalition.id))
                if override and override.paused:
                    continue
                at = time.fromisoformat(override.time if override and override.time else schedule.time)
                made, missed = await self._occurrences(schedule, coalition, at, zones, since, now, grace)
                rows += made
                skipped += missed
            if skipped:
                log.warning("scheduler: %s: skipped %d message(s) missed by more than %s (downtime)",
                            schedule.id, skipped, grace)
            if rows:
                queued += await self.store.enqueue(rows, now)
            await self.store.set_planned_until(name, now)
        return queued

    async def _occurrences(self, schedule, coalition, at: time, zones, since, now, grace):
        rows: list[Outgoing] = []
        missed = 0
        anchor = date.fromisoformat(schedule.starts_on) if schedule.starts_on else DEFAULT_ANCHOR
        members = await self._members(coalition)
        if schedule.kind == "checkin":
            return await self._checkin_rounds(schedule, coalition, at, members, zones, since, now, grace, anchor)
        if schedule.kind == "digest":
            allowed = coalition.leaders if not coalition.digest_for_members else members
            members = [m for m in members if m in allowed]
        by_zone: dict[str, list[str]] = {}
        for member in members:
            by_zone.setdefault(zones.get(member) or self.config.zone_of(coalition.id), []).append(member)
        for zone, people in by_zone.items():
            for day, fire in occurrences(schedule.weekdays, at, schedule.period, ZoneInfo(zone), since, now, anchor):
                if fire < now - grace:
                    missed += len(people)
                    continue
                payload = self._payload(schedule, day, anchor)
                kind = "digest" if schedule.kind == "digest" else "prompt"
                rows += [Outgoing(f"schedule:{schedule.id}", day.isoformat(), f"member:{m}", coalition.id,
                                  kind, payload, fire) for m in people]
        return rows, missed

    async def _checkin_rounds(self, schedule, coalition, at, members, zones, since, now, grace, anchor):
        """A scheduled check-in opens one round per running experiment, at the coalition's time."""
        rows: list[Outgoing] = []
        missed = 0
        zone = ZoneInfo(self.config.zone_of(coalition.id))
        for day, fire in occurrences(schedule.weekdays, at, schedule.period, zone, since, now, anchor):
            if fire < now - grace:
                missed += len(members)
                continue
            async with self.store.unit() as unit:
                running = await unit.experiments(coalition.id, running_on=day)
            period = period_index(day, schedule.period, anchor)
            closes = fire + timedelta(days=self.config.delivery.round_days)
            for experiment in running:
                round = await self.store.open_or_get_round(
                    f"{schedule.id}:{experiment.id}:{period}", coalition.id, experiment.id, None, fire,
                    min(closes, _end_of(experiment.ends_on, zone)), self.config.delivery.reminders,
                    int(self.config.delivery.remind_after_hours * 3600))
                for member in members:
                    own = ZoneInfo(zones.get(member) or self.config.zone_of(coalition.id))
                    due = max(fire, fire_time(day, at, own))
                    rows.append(Outgoing(f"round:{round.id}", "invite", f"member:{member}", coalition.id,
                                         "checkin", {"round": round.id}, due))
        return rows, missed

    def _payload(self, schedule, day: date, anchor: date) -> dict:
        if schedule.kind == "principle":
            # Everyone gets the same principle on the same occurrence; the seven rotate.
            index = period_index(day, schedule.period, anchor) or 0
            return {"kind": "principle", "number": index % len(self.config.principles) + 1}
        return {"kind": schedule.kind}

    def _coalitions(self, schedule) -> list:
        if not schedule.coalitions:
            return list(self.config.coalitions)
        return [self.config.coalition(c) for c in schedule.coalitions]

    async def _members(self, coalition) -> list[str]:
        """Leaders and members from app.yaml, and whoever joined in chat."""
        async with self.store.unit() as unit:
            joined = await unit.joined(coalition.id)
        return list(dict.fromkeys(coalition.leaders + coalition.members + tuple(joined)))

    # -- rounds ---------------------------------------------------------------------------------

    async def run_rounds(self, now: datetime) -> int:
        """Close rounds whose time is up, queue due reminders, and each closed round's summary."""
        rows: list[Outgoing] = []
        for round in await self.store.rounds(open_only=True):
            if round.closes_at <= now:
                await self.store.close_round(round.id, now)
            else:
                rows += await self._reminders(round, now)
        for round in await self.store.rounds(closed_since=now - SUMMARY_WINDOW):
            rows += self._summary(round, now)
        return await self.store.enqueue(rows, now) if rows else 0

    async def _reminders(self, round: RoundInfo, now: datetime) -> list[Outgoing]:
        if not round.reminders:
            return []
        source = f"round:{round.id}"
        invites = [r for r in await self.store.outbox(source=source) if r.occurrence == "invite" and r.state == SENT]
        async with self.store.unit() as unit:
            answered = await unit.answered(round.id)
        rows = []
        delay = timedelta(seconds=round.remind_after_s)
        for invite in invites:
            member = invite.target.partition(":")[2]
            if member in answered:
                continue
            for n in range(1, round.reminders + 1):
                if invite.sent_at + n * delay <= now < round.closes_at:
                    rows.append(Outgoing(source, f"reminder-{n}", invite.target, round.coalition_id,
                                         "reminder", {"round": round.id, "n": n}, now))
        return rows

    def _summary(self, round: RoundInfo, now: datetime) -> list[Outgoing]:
        """To the coalition's channel on each connected platform, else to its leaders."""
        coalition = self.config.coalition(round.coalition_id)
        if coalition is None:
            return []
        channels = [p for p in coalition.channels if p in self.platforms]
        targets = [f"channel:{coalition.id}:{p}" for p in channels] or [f"member:{l}" for l in coalition.leaders]
        return [Outgoing(f"round:{round.id}", "summary", target, coalition.id, "summary", {"round": round.id}, now)
                for target in targets]


def _end_of(day: date, zone: ZoneInfo) -> datetime:
    return fire_time(day + timedelta(days=1), time(0, 0), zone)


# -- running it -----------------------------------------------------------------------------------


class Lock(Protocol):
    async def acquire(self) -> bool:
        """True while this process is the leader (takes the lock if it is free)."""
        ...

    async def release(self) -> None: ...


class Scheduling:
    """APScheduler drives the clock: the leader plans every `tick` seconds and refreshes the
    live progress messages; every replica's delivery loop sends."""

    def __init__(self, planner: Planner, delivery: Any, lock: Lock, tick: float = 20.0, progress: float = 5.0):
        self.planner, self.delivery, self.lock = planner, delivery, lock
        self.tick, self.progress = tick, progress
        self.leading = False
        self._scheduler = AsyncIOScheduler(timezone=timezone.utc)
        self._busy = asyncio.Lock()  # held by a running job, so stop() can let it finish
        self._stopping = False

    def start(self) -> None:
        now = datetime.now(timezone.utc)
        # max_instances=1 + coalesce: a slow tick is never run twice at once or caught up in a burst.
        self._scheduler.add_job(self._plan, IntervalTrigger(seconds=self.tick), next_run_time=now,
                                max_instances=1, coalesce=True, id="plan")
        self._scheduler.add_job(self._refresh, IntervalTrigger(seconds=self.progress), max_instances=1,
                                coalesce=True, id="progress")
        self._scheduler.start()

    async def stop(self) -> None:
        # APScheduler's shutdown only takes effect later, from the event loop: a run already
        # queued may still start. So: no new work from now on (`_stopping`), the run in
        # progress finishes (`_busy`), and only then the lock is given back.
        self._stopping = True
        self._scheduler.pause()
        async with self._busy:
            await self.lock.release()
        self._scheduler.shutdown(wait=False)

    async def _plan(self) -> None:
        if self._stopping:
            return
        async with self._busy:
            if not self._stopping:
                await self._plan_now()

    async def _plan_now(self) -> None:
        try:
            leading = await self.lock.acquire()
            if leading != self.leading:
                log.warning("scheduler: this replica %s the scheduler", "now runs" if leading else "no longer runs")
                self.leading = leading
            if leading and await self.planner.tick():
                self.delivery.wake.set()
        except StorageUnavailable as error:
            log.warning("scheduler: not planning now: %s; trying again at the next tick", error)
        except Exception:
            log.exception("scheduler: planning failed; trying again at the next tick")

    async def _refresh(self) -> None:
        if not self.leading or self._stopping:
            return
        async with self._busy:
            if not self._stopping:
                await self._refresh_now()

    async def _refresh_now(self) -> None:
        try:
            await self.delivery.refresh_progress()
        except StorageUnavailable as error:
            log.warning("scheduler: progress messages not refreshed: %s", error)
        except Exception:
            log.exception("scheduler: refreshing progress messages failed")
