"""The delivery loop: claim due outbox rows, send each through the member's platform, and
record what happened. Every replica runs one; the outbox's claims keep them apart.

A row is sent at most once by design: it is claimed with a lease, and a row whose worker
died mid-send is first looked up on the platform (where it can tell) before it is sent
again. Rate limits are the senders' business; a 429 or a 5xx comes back here as a
`DeliveryError` and the row waits in the outbox, not in memory, so nothing is lost on a
restart.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections import deque
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable, Mapping
from zoneinfo import ZoneInfo

from bot.engine import dress
from bot.i18n import Texts
from bot.messages import Messages
from bot.ports import Claimed, Delivered, DeliveryError, Outgoing, Sender, StorageUnavailable, Store
from bot.timing import deliverable, utcnow
from bot.ui import Reply

log = logging.getLogger(__name__)

MEMBER_KINDS_IN_QUIET = {"prompt", "checkin", "reminder", "digest"}  # wait for the member's day
UNREPORTED = {"notice", "progress"}  # failures of these are logged, not reported to leaders
NOTICE_GATHER = timedelta(minutes=1)  # leaders' summary of unreachable members waits for the rest
MAX_ATTEMPTS = 6
# While a platform keeps failing (5xx, no answer, for OUTAGE_AFTER recipients) its messages are
# retried however often, for up to this long: an outage of minutes or hours loses nothing.
OUTAGE = timedelta(hours=6)
OUTAGE_AFTER = 3  # recipients failing with no success between make it an outage (not one member's trouble)
HEARTBEAT = timedelta(seconds=2)  # often: a new replica's share of the budgets applies soon
ZONES_EVERY = timedelta(minutes=1)
# A worker holds about as many rows as it finished in the last AHEAD seconds (its pace, the
# rate budget's when that is what holds it back), at least MIN_HELD. The rest wait in the
# outbox: a worker that dies strands only what it holds, and each stranded row is looked up
# on the platform (Slack: conversations.history, ~50 a minute) before it may be sent again.
AHEAD = 2.0
MIN_HELD = 16

ComposeCommand = Callable[[str, str, str], Awaitable["Reply | None"]]


class Delivery:
    def __init__(
        self,
        store: Store,
        config: Any,
        senders: Mapping[str, Sender],
        *,
        clock: Callable[[], datetime] = utcnow,
        compose: ComposeCommand | None = None,
        worker: str | None = None,
        concurrency: int = 64,
        lease: timedelta = timedelta(minutes=2),
        poll: float = 1.0,
        targets: frozenset[str] | None = None,
        gather: timedelta = NOTICE_GATHER,
    ):
        self.store, self.config, self.senders, self.clock = store, config, dict(senders), clock
        self.messages = Messages(store, config)
        self.compose = compose  # runs a read-only command (digest) as a member
        self.worker = worker or f"worker-{uuid.uuid4().hex[:8]}"
        self.concurrency, self.lease, self.poll, self.gather = concurrency, lease, poll, gather
        self.targets = targets  # only these rows (the terminal chat's one member), else all
        self.zones: Mapping[str, str] = {}
        self.wake = asyncio.Event()  # set when new rows were queued in this process
        self._tasks: set[asyncio.Task] = set()
        self._holding: set[int] = set()  # ids of the rows being sent by this worker
        self._taken_over: set[int] = set()  # of which a dead worker had claimed (interrupted)
        self._finished: deque[float] = deque()  # when rows finished here (monotonic), the last AHEAD s
        self._zones_at = datetime.min.replace(tzinfo=timezone.utc)
        # platform -> (recipients whose sends failed with a 5xx or no answer since its last success, since when)
        self._failing: dict[str, tuple[set[str], datetime]] = {}

    # -- the loop -------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        beat = datetime.min.replace(tzinfo=timezone.utc)
        every = min(HEARTBEAT, self.lease / 3)  # renew well before a lease could run out
        away: str | None = None  # why the database cannot be used, while it cannot
        while not stop.is_set():
            now = self.clock()
            free = self._room()
            self.wake.clear()  # before claiming, so news that comes during the claim is not missed
            try:
                if now - beat >= every:
                    await self._heartbeat(now)
                    beat = now
                rows = await self.store.claim(self.worker, now, free, self.lease, self.targets) if free > 0 else []
            except StorageUnavailable as error:  # a restart, a full disk: wait, and say so once
                if away is None:
                    log.warning("delivery: paused: %s", error)
                away, rows = str(error), []
                await _first(stop.wait(), timeout=self.poll)
                continue
            if away is not None:
                log.warning("delivery: resumed (the database is back)")
                away = None
            for row in rows:
                self._holding.add(row.id)
                if row.interrupted_at:
                    self._taken_over.add(row.id)
                task = asyncio.ensure_future(self.deliver(row))
                self._tasks.add(task)
                task.add_done_callback(lambda task, id=row.id: self._done(task, id))
            # Wait for news (rows queued here, a free slot) or the next poll.
            await _first(stop.wait(), self.wake.wait(), timeout=self.poll)
        await self.drain()

    async def drain(self, timeout: float = 20.0) -> None:
        """Let sends in flight finish (on shutdown): what is claimed but unsent is re-claimed
        by another worker when its lease ends."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def run_once(self, limit: int = 1000) -> int:
        """Claim and send what is due now, then return how many rows were handled (for tests
        and the terminal chat)."""
        await self._heartbeat(self.clock())
        rows = await self.store.claim(self.worker, self.clock(), limit, self.lease, self.targets)
        await asyncio.gather(*(self.deliver(row) for row in rows))
        return len(rows)

    def _room(self) -> int:
        """How many more rows to claim: the recent pace's worth (see AHEAD), within
        `concurrency`, less what is held; 0 until a quarter of that is free (a claim is a
        transaction: a few large ones, not one per finished row). Rows taken over from a
        dead worker do not count: their look-ups must not hold up the rows nobody claimed."""
        now = time.monotonic()
        while self._finished and self._finished[0] <= now - AHEAD:
            self._finished.popleft()
        held = len(self._tasks) - len(self._taken_over)
        target = min(self.concurrency, max(MIN_HELD, len(self._finished)))
        free = target - held
        return free if free >= target / 4 or held == 0 else 0

    def _done(self, task: asyncio.Task, row_id: int) -> None:
        self._tasks.discard(task)
        self._holding.discard(row_id)
        self._taken_over.discard(row_id)
        self._finished.append(time.monotonic())
        self.wake.set()  # a slot is free: claim more

    async def _heartbeat(self, now: datetime) -> None:
        # Rows waiting for their rate-limit slot stay ours: without renewal a lease could run
        # out and another worker (or this one) would claim and send the row a second time.
        await self.store.renew(self.worker, set(self._holding), now + self.lease)
        # Workspace and tenant budgets are shared by every replica that sends.
        live = await self.store.heartbeat(self.worker, now, HEARTBEAT * 3)
        for sender in self.senders.values():
            if hasattr(sender, "share"):
                sender.share = 1 / max(1, live)
            if hasattr(sender, "refresh"):  # who it reaches is in the database (the web's people)
                await sender.refresh()
        if now - self._zones_at >= ZONES_EVERY:
            self._zones_at = now
            self.zones = await self.store.zones()

    # -- one row ----------------------------------------------------------------------------

    async def deliver(self, row: Claimed) -> None:
        try:
            try:
                await self._deliver(row)
            except DeliveryError as error:
                await self._failed_send(row, error)
            except StorageUnavailable:
                raise
            except Exception as error:  # a bug or an outage: the row is kept and retried
                log.exception("delivery: row %s (%s) failed unexpectedly", row.id, row.kind)
                await self._failed_send(row, DeliveryError(f"internal error: {type(error).__name__}"))
        except StorageUnavailable as error:
            # Its lease runs out and it is claimed again; a send that had gone through is
            # found (Slack's history) before it is sent a second time.
            log.warning("delivery: row %s left for later: %s", row.id, error)

    async def _deliver(self, row: Claimed) -> None:
        now = self.clock()
        kind, _, who = row.target.partition(":")
        if kind == "channel":
            return await self._to_channel(row, who)
        sender = await self._sender_for(who)
        if sender is None:
            gone = self._gone(who)
            if gone:  # the app was removed where they were: cancelled, and nobody is told again
                await self.store.skipped(row.id, self.worker, gone, now)
                return
            raise DeliveryError("no_platform", permanent=True)  # no chat platform of theirs is connected
        if row.kind in MEMBER_KINDS_IN_QUIET:
            grace = timedelta(hours=self.config.delivery.grace_hours)
            if row.source.startswith("schedule:") and now - row.due_at > grace:
                log.warning("delivery: skipped %s for %s: %s late", row.source, who, now - row.due_at)
                await self.store.skipped(row.id, self.worker, "missed by more than the grace window", now)
                return
            at = self._deliverable(who, row.coalition_id, now)
            if at > now:  # quiet hours or a day off where the member is: wait, do not count it
                await self.store.retry(row.id, self.worker, at, None)
                return
        reply, reason = await self._compose(row, who)
        if reply is None:
            await self.store.skipped(row.id, self.worker, reason, now)
            return
        if row.kind == "progress":
            return await self._progress(row, sender, who, reply)
        if row.interrupted_at and sender.can_check_sent:
            found = await sender.already_sent(who, str(row.id), row.interrupted_at - timedelta(minutes=1))
            if found:
                log.info("delivery: row %s had arrived before the interruption", row.id)
                await self._sent(row, found)
                return
        await self._sent(row, await sender.to_member(who, reply, str(row.id)))

    async def _to_channel(self, row: Claimed, where: str) -> None:
        coalition, _, platform = where.partition(":")
        sender = self.senders.get(platform)
        if sender is None:
            raise DeliveryError(f"{platform} is not connected", permanent=True)
        reply, reason = await self._compose(row, None)
        if reply is None:
            await self.store.skipped(row.id, self.worker, reason, self.clock())
            return
        delivered = await sender.to_channel(coalition, reply, str(row.id))
        if delivered is None:
            raise DeliveryError(f"the coalition has no {platform} channel the bot can post to", permanent=True)
        await self._sent(row, delivered)

    async def _progress(self, row: Claimed, sender: Sender, who: str, reply: Reply) -> None:
        round_id = row.payload["round"]
        if row.interrupted_at:  # its worker died: it may have posted it already
            where = (await self._round(round_id)).progress or {}
            if where.get("message_id"):
                await self._sent(row, Delivered(where["platform"], where["conversation"], where["message_id"]))
                return
        delivered = await sender.to_member(who, reply, str(row.id))
        await self.store.set_progress(round_id, {
            "platform": delivered.platform, "conversation": delivered.conversation,
            "message_id": delivered.message_id, "member": who, "text": _text_of(reply),
        })
        await self._sent(row, delivered)

    async def refresh_progress(self) -> int:
        """Update each round's live progress message in place where its text changed."""
        updated = 0
        rounds = await self.store.rounds(open_only=True)
        rounds += await self.store.rounds(closed_since=self.clock() - timedelta(hours=1))
        for round in rounds:
            where = round.progress
            if not where or not where.get("message_id"):
                continue
            if self.targets is not None and f"member:{where.get('member')}" not in self.targets:
                continue  # another member's message (the terminal chat shows only its own)
            sender = self.senders.get(where["platform"])
            t = await self.messages.texts(where.get("member"), round.coalition_id)
            reply = dress(await self.messages.progress(round, t), t)
            if sender is None or _text_of(reply) == where.get("text"):
                continue
            try:
                await sender.update(Delivered(where["platform"], where["conversation"], where["message_id"]), reply)
            except DeliveryError as error:
                log.info("delivery: progress of round %s not updated: %s", round.id, error.reason)
                continue
            await self.store.set_progress(round.id, {**where, "text": _text_of(reply)})
            updated += 1
        return updated

    async def _compose(self, row: Claimed, member: str | None) -> tuple[Reply | None, str]:
        """The message for this row now, in the recipient's language, or (None, why it is no
        longer wanted)."""
        t = await self.messages.texts(member, row.coalition_id)
        reply, reason = await self._composed(row, member, t)
        return (dress(reply, t) if reply else None), reason

    async def _composed(self, row: Claimed, member: str | None, t: Texts) -> tuple[Reply | None, str]:
        payload = row.payload
        if row.kind == "prompt":
            return await self.messages.prompt(payload, t), ""
        if row.kind == "notice":
            reply = await self.messages.notice(payload, row.coalition_id, member, t)
            return (reply, "") if reply else (None, "nobody to report")
        if row.kind == "digest":
            if self.compose is None:
                return None, "digests are not connected here"
            reply = await self.compose(member, row.coalition_id, "digest if-new")
            return (reply, "") if reply else (None, "nothing new to show")
        round = await self._round(payload["round"])
        if round is None:
            return None, "the round no longer exists"
        if row.kind == "progress":
            return await self.messages.progress(round, t), ""
        if row.kind == "summary":
            return await self.messages.summary(round, t), ""
        if round.closed_at is not None:
            return None, "the round closed"
        async with self.store.unit() as unit:
            answered = member in await unit.answered(round.id)
        if answered:
            return None, "answered already"
        if row.kind == "reminder":
            invite = await self.store.outbox_message(row.source, "invite", row.target)
            if invite is None or invite.state != "sent":
                return None, "the invitation itself did not arrive"
        return await self.messages.invite(round, t, reminder=row.kind == "reminder"), ""

    async def _round(self, round_id: int):
        async with self.store.unit() as unit:
            return await unit.round(round_id)

    async def _sent(self, row: Claimed, delivered: Delivered) -> None:
        now = self.clock()
        if not await self.store.sent(row.id, self.worker, delivered.platform, delivered.conversation,
                                     delivered.message_id, now):
            log.warning("delivery: row %s was taken over by another worker while sending", row.id)
        failed, since = self._failing.pop(delivered.platform, (set(), now))
        if len(failed) >= OUTAGE_AFTER:  # it answers again: what backed off goes now (at the platform's pace)
            waiting = await self.store.hasten(now)
            log.warning("delivery: %s answers again after %s; %d waiting message(s) go now", delivered.platform,
                        _duration(now - since), waiting)
            self.wake.set()

    async def _failed_send(self, row: Claimed, error: DeliveryError) -> None:
        now = self.clock()
        outage = False
        if not error.permanent and error.retry_after is None:  # a 5xx or no answer at all
            platform = await self._platform_of(row)
            failed, since = self._failing.setdefault(platform, (set(), now))
            before = len(failed)
            failed.add(row.target)
            if before < OUTAGE_AFTER <= len(failed):
                log.warning("delivery: %s is failing (%s); its messages back off and are retried until it "
                            "answers, for up to %s", platform, error.reason, _duration(OUTAGE))
            outage = len(failed) >= OUTAGE_AFTER and now - since < OUTAGE
        if not error.permanent and (row.attempts < MAX_ATTEMPTS or outage):
            pause = error.retry_after if error.retry_after is not None else min(300.0, 2.0 ** row.attempts)
            at = now + timedelta(seconds=pause * (1 + random.random() / 4))  # jitter spreads retries
            log.info("delivery: row %s retry %d in %.1fs: %s", row.id, row.attempts, pause, error.reason)
            await self.store.retry(row.id, self.worker, at, error.reason)
            return
        reason = error.reason if error.permanent else f"gave up after {row.attempts} attempts: {error.reason}"
        log.warning("delivery: row %s to %s failed: %s", row.id, row.target, reason)
        kind, _, member = row.target.partition(":")
        sender = await self._sender_for(member) if kind == "member" else None
        await self.store.failed(row.id, self.worker, reason, now, sender.platform if sender else None)
        if kind == "member" and row.kind not in UNREPORTED:
            await self._report(row, member, sender, reason, now)

    async def _report(self, row: Claimed, member: str, sender: Sender | None, reason: str, now: datetime) -> None:
        """Mark the member unreachable there, and tell the coalition's leaders: one summary of
        the hour each, sent a little later so that a storm of refusals (an app removed from a
        team) is one message listing everyone, not one message per member."""
        if sender is not None:
            await self.store.mark_unreachable(sender.platform, member, reason, now)
        coalition = self.config.coalition(row.coalition_id)
        hour = now.replace(minute=0, second=0, microsecond=0)
        notes = [
            Outgoing(f"notice:{row.coalition_id}", hour.isoformat(), f"member:{leader}", row.coalition_id, "notice",
                     {"since": hour.isoformat()}, now + self.gather)
            for leader in (coalition.leaders if coalition else ()) if leader != member
        ]
        if notes and await self.store.enqueue(notes, now):
            self.wake.set()

    # -- helpers ----------------------------------------------------------------------------

    async def _sender_for(self, member_id: str) -> Sender | None:
        """Where the member is reached: their `prefer:` platform, else the one they last wrote
        from, else app.yaml's order, among the platforms connected here that reach them; then
        any other that does (the web, for a chat member who also signed in there)."""
        platforms = self.config.platforms_of(member_id)
        reaching = [p for p in platforms if p in self.senders and self.senders[p].reaches(member_id)]
        if len(reaching) > 1 and self.config.people.prefers(member_id) not in reaching:
            last = await self.store.last_platform(member_id, reaching)  # one person, one invitation
            return self.senders[last or reaching[0]]
        if reaching:
            return self.senders[reaching[0]]
        return next((s for p, s in self.senders.items() if p not in platforms and s.reaches(member_id)), None)

    async def _platform_of(self, row: Claimed) -> str:
        kind, _, who = row.target.partition(":")
        if kind == "channel":
            return who.partition(":")[2]
        sender = await self._sender_for(who)
        return sender.platform if sender else "chat"

    def _gone(self, member_id: str) -> str | None:
        """Why the app can no longer reach the member where it did (uninstalled there)."""
        for platform, sender in self.senders.items():
            gone = getattr(sender, "gone", None)
            reason = gone(member_id) if gone else None
            if reason:
                return f"{platform}: {reason}"
        return None

    def _deliverable(self, member_id: str, coalition_id: str, now: datetime) -> datetime:
        zone = ZoneInfo(self.zones.get(member_id) or self.config.zone_of(coalition_id))
        d = self.config.delivery
        return deliverable(now, zone, d.work_weekdays, d.quiet)


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def _text_of(reply: Reply) -> str:
    return "\n".join(getattr(b, "text", "") for b in reply.blocks)


async def _first(*waits: Awaitable[Any], timeout: float) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
