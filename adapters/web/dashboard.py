"""The dashboard: the movement at a glance for coordinators, and each coalition's page for its
leaders, in the browser. Rendered on the server like the web chat (`app.py`), on the same
sessions, CSRF tokens and security headers; charts are SVG drawn by templates
(`charts.py`), so nothing needs JavaScript.

    /dashboard                          coordinators: every coalition side by side
    /dashboard/coalition/<id>           its leaders and coordinators
    /dashboard/coalition/<id>/schedules see; its leaders pause, resume and move them
    /dashboard/stories                  filter by coalition, principle, sector, period
    /dashboard/report                   the period's digest as HTML, Markdown, JSON or CSV (zip)
    /dashboard/signin/<token>           the one-time link `dashboard` hands out in chat

Who sees what is decided per request, from app.yaml and the coordinators named in chat, so a
role change counts at the next click. A coalition someone may not open answers 404, as an
unknown one does. What a page shows of stories comes from the digest's queries
(`Reader.digest`, `story_page`, `overview`), which apply the audience's consent: a leader
sees their coalition's audience, a coordinator the movement's.
"""

from __future__ import annotations

import hmac
import io
import logging
import uuid
import zipfile
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

import adapters.report as words
from adapters.report import render as render_report
from adapters.web import charts
from adapters.web.render import nonce as form_nonce
from adapters.web.sender import PLATFORM
from bot.digest import Audience, Scope
from bot.ports import WebPerson
from bot.timing import DEFAULT_ANCHOR, next_time
from bot.types import Actor, ConversationRef, Message, Role

if TYPE_CHECKING:
    from adapters.web.app import WebBot
    from bot.i18n import Texts

log = logging.getLogger(__name__)

PERIODS = (7, 30, 90)
DEFAULT_DAYS, MAX_DAYS = 30, 366
STORIES_PER_PAGE = 25
LISTED = 50  # treasures and perspectives on a coalition page
FORMATS = {  # ?format= -> (content type, file extension)
    "html": ("text/html; charset=utf-8", "html"),
    "markdown": ("text/markdown; charset=utf-8", "md"),
    "json": ("application/json", "json"),
    "csv": ("application/zip", "zip"),
}
VERBS = ("pause", "resume", "time")


@dataclass(frozen=True)
class Viewer:
    """Who is looking, as of this request."""

    person: WebPerson
    actor: Actor  # roles and language
    csrf: str
    coordinator: bool
    leads: tuple[str, ...]  # coalition ids they lead

    def may_see(self, coalition_id: str) -> bool:
        return self.coordinator or coalition_id in self.leads

    def audience(self, coalition_id: str) -> Audience:
        """A coalition's leaders see what its members shared with the coalition; coordinators
        what was shared with the movement."""
        return Audience.COALITION if coalition_id in self.leads else Audience.MOVEMENT


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime
    first: date  # the days shown, in the movement's time zone
    last: date
    days: int | None  # a preset's length; None for from/to dates

    @property
    def query(self) -> dict[str, str]:
        if self.days is not None:
            return {"days": str(self.days)}
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


class PeriodError(ValueError):
    """A period asked for that cannot be shown; its args[0] names the problem ("days", "dates", "range")."""


class Dashboard:
    def __init__(self, web_bot: WebBot) -> None:
        self.web = web_bot
        self.engine = web_bot.engine
        self.config = web_bot.engine.config

    def mount(self, app: web.Application) -> None:
        guarded = self.web._guarded
        for method, path, handler in [
            ("GET", "/dashboard", self.overview),
            ("GET", "/dashboard/signin/{token}", self.signin_page), ("POST", "/dashboard/signin/{token}", self.signin),
            ("GET", "/dashboard/coalition/{coalition}", self.coalition),
            ("GET", "/dashboard/coalition/{coalition}/schedules", self.schedules),
            ("POST", "/dashboard/coalition/{coalition}/schedules", self.change_schedule),
            ("GET", "/dashboard/stories", self.stories),
            ("GET", "/dashboard/report", self.report),
        ]:
            app.router.add_route(method, path, guarded(handler))

    # -- signing in -----------------------------------------------------------------------------

    async def signin_page(self, request: web.Request) -> web.Response:
        return self.web._confirm(request, "dashboard_signin_title", "dashboard_signin_intro", "dashboard_signin_button")

    async def signin(self, request: web.Request) -> web.Response:
        return await self.web._spend_link(request, "dashboard", "/dashboard")

    # -- pages ----------------------------------------------------------------------------------

    async def overview(self, request: web.Request) -> web.Response:
        viewer = await self._viewer(request)
        texts = self.engine.texts(viewer.actor)
        if not viewer.coordinator:
            if len(viewer.leads) == 1:  # a leader's dashboard is their coalition's page
                raise web.HTTPSeeOther(self._url(f"/dashboard/coalition/{viewer.leads[0]}", request.query))
            return self._page(request, viewer, texts, "dashboard/choose.html", title=texts.t("dashboard.title"),
                              coalitions=[self.config.coalition(c) for c in viewer.leads])
        period, problem = self._period(request, texts)
        ids = tuple(c.id for c in self.config.coalitions)
        scope = Scope(Audience.MOVEMENT, ids, period.since, period.until)
        async with self.engine.store.unit() as unit:
            overview = await unit.overview(scope, self._principles(), self._wanted(), self._today())
        names = self._names()
        return self._page(
            request, viewer, texts, "dashboard/overview.html", status=400 if problem else 200,
            title=texts.t("dashboard.overview_title", movement=self.config.movement.name),
            period=period, problem=problem, overview=overview, names=names,
            heatmap=charts.heatmap(overview, names, texts),
            sectors=charts.sector_balance(overview, names, texts),
            activity=charts.participation(overview, texts),
        )

    async def coalition(self, request: web.Request) -> web.Response:
        viewer = await self._viewer(request)
        coalition = self._coalition(request, viewer)
        texts = self.engine.texts(viewer.actor)
        period, problem = self._period(request, texts)
        scope = Scope(viewer.audience(coalition.id), (coalition.id,), period.since, period.until)
        async with self.engine.store.unit() as unit:
            digest = await unit.digest(scope, self._principles(), self._wanted(), self._today())
            treasures = await unit.treasures(coalition.id, period.since, period.until, LISTED)
            perspectives = await unit.perspectives(coalition.id, period.since, period.until, LISTED)
            frame = await unit.current_frame(coalition.id)
            round = await unit.open_round(coalition.id)
            answered = await unit.answered(round.id) if round else frozenset()
            experiment = await unit.experiment(round.experiment_id) if round else None
            people = {**(await unit.names(coalition.id) if round else {}), **self.engine.people}
        digest = digest.with_names(self.engine.people)
        progress = await self._progress(round, answered, people) if round else None
        return self._page(
            request, viewer, texts, "dashboard/coalition.html", status=400 if problem else 200,
            title=coalition.name, coalition=coalition, period=period, problem=problem, digest=digest,
            treasures=treasures, perspectives=perspectives, frame=frame, round=round, experiment=experiment,
            progress=progress, names=self._names(), zone=ZoneInfo(self.config.zone_of(coalition.id)),
            timeline=charts.timeline(digest.experiments, period.first, period.last, self._today(), texts),
            trend=charts.impact_trend(digest.experiments, texts),
            mobilisation=digest.mobilisation[0] if digest.mobilisation else None,
        )

    async def stories(self, request: web.Request) -> web.Response:
        viewer = await self._viewer(request)
        texts = self.engine.texts(viewer.actor)
        period, problem = self._period(request, texts)
        q = request.query
        mine = [c for c in self.config.coalitions if viewer.may_see(c.id)]
        chosen = q.get("coalition", "")
        if chosen and not any(c.id == chosen for c in mine):
            self._not_found(request, viewer)
        if chosen:
            scope = Scope(viewer.audience(chosen), (chosen,), period.since, period.until)
        elif viewer.coordinator:
            scope = Scope(Audience.MOVEMENT, tuple(c.id for c in mine), period.since, period.until)
        else:
            # A leader of several coalitions picks one: each has its own audience.
            raise web.HTTPSeeOther(self._url("/dashboard/stories", {**q, "coalition": mine[0].id}))
        numbers = {n for n, _ in self._principles()}
        principle = _whole(q.get("principle"))
        principle = principle if principle in numbers else None
        sector = q.get("sector") if q.get("sector") in words.SECTOR_ORDER else None
        page = max(1, _whole(q.get("page")) or 1)
        async with self.engine.store.unit() as unit:
            items, total = await unit.story_page(scope, principle, sector, STORIES_PER_PAGE,
                                                 (page - 1) * STORIES_PER_PAGE)
            if not items and page > 1 and total:  # past the end (an old link): the last page
                page = -(-total // STORIES_PER_PAGE)
                items, total = await unit.story_page(scope, principle, sector, STORIES_PER_PAGE,
                                                     (page - 1) * STORIES_PER_PAGE)
        names = {**self.engine.people}
        items = tuple(_named(s, names) for s in items)
        pages = max(1, -(-total // STORIES_PER_PAGE))
        base = {k: v for k, v in {**period.query, "coalition": chosen, "principle": str(principle or ""),
                                  "sector": sector or ""}.items() if v}
        return self._page(
            request, viewer, texts, "dashboard/stories.html", status=400 if problem else 200,
            title=texts.t("dashboard.stories_title"), period=period, problem=problem, items=items, total=total,
            coalitions=mine, chosen=chosen, principle=principle, sector=sector, page=page, pages=pages,
            previous=self._url("/dashboard/stories", {**base, "page": str(page - 1)}) if page > 1 else None,
            next=self._url("/dashboard/stories", {**base, "page": str(page + 1)}) if page < pages else None,
            names=self._names(), principles=self._principles(),
        )

    async def schedules(self, request: web.Request, errors: dict[str, str] | None = None,
                        status: int = 200) -> web.Response:
        viewer = await self._viewer(request)
        coalition = self._coalition(request, viewer)
        texts = self.engine.texts(viewer.actor)
        async with self.engine.store.unit() as unit:
            overrides = await unit.overrides()
            history = await unit.schedule_changes(coalition.id, 20)
        zone = ZoneInfo(self.config.zone_of(coalition.id))
        rows = []
        for s in self._schedules_of(coalition.id):
            override = overrides.get((s.id, coalition.id))
            at = override.time if override and override.time else s.time
            anchor = date.fromisoformat(s.starts_on) if s.starts_on else DEFAULT_ANCHOR
            upcoming = None if override and override.paused else next_time(
                s.weekdays, time.fromisoformat(at), s.period, zone, self.engine.clock(), anchor)
            n, unit_name = s.period
            every = (texts.t(f"schedule.every_{unit_name}") if n == 1 else texts.t(f"schedule.every_{unit_name}s", n=n))
            rows.append({
                "id": s.id, "kind": texts.t(f"schedule.kind.{s.kind}"), "at": at, "at_text": texts.time(time.fromisoformat(at)),
                "days": texts.listing(texts.weekday(d) for d in sorted(s.weekdays)), "every": every,
                "paused": bool(override and override.paused), "next": texts.when(upcoming, zone) if upcoming else None,
                "error": (errors or {}).get(s.id),
            })
        return self._page(
            request, viewer, texts, "dashboard/schedules.html", status=status,
            title=texts.t("dashboard.schedules_title", coalition=coalition.name), coalition=coalition, rows=rows,
            history=history, may_change=coalition.id in viewer.leads, zone=zone, names=self._names(),
        )

    async def change_schedule(self, request: web.Request) -> web.Response:
        """The chat's `schedule` command, run as the leader: the same rules, and the change is
        recorded with who made it and when."""
        viewer = await self._viewer(request)
        coalition = self._coalition(request, viewer)
        form = await request.post()
        if not hmac.compare_digest(str(form.get("csrf", "")), viewer.csrf):
            return self.web._expired_form(request, self.engine.texts(viewer.actor))
        texts = self.engine.texts(viewer.actor)
        if coalition.id not in viewer.leads:
            raise self.web._refusal(request, texts, texts.t("dashboard.title"),
                                    [texts.t("dashboard.schedules_read_only")], 403)
        schedule, verb, at = str(form.get("schedule", "")), str(form.get("verb", "")), str(form.get("time", "")).strip()
        if verb not in VERBS or schedule not in {s.id for s in self._schedules_of(coalition.id)}:
            raise self.web._refusal(request, texts, texts.t("dashboard.title"), [texts.t("dashboard.bad_form")], 400)
        if verb == "time" and not _clock(at):
            return await self.schedules(request, {schedule: texts.t("dashboard.bad_time")}, status=400)
        command = f"schedule {verb} {schedule}" + (f" {at}" if verb == "time" else "")
        nonce = str(form.get("event", ""))
        event_id = f"dashboard-{nonce if len(nonce) == 32 and nonce.isalnum() else uuid.uuid4().hex}"
        ref = ConversationRef(PLATFORM, PLATFORM, f"dashboard:{viewer.person.member_id}", viewer.person.member_id,
                              extra={"member": viewer.person.member_id, "name": viewer.person.name,
                                     "coalition": coalition.id, "kind": "personal"})
        await self.engine.handle(Message(ref, event_id, command, command=True), self.web.capabilities)
        log.info("dashboard: %s ran %r for %s", viewer.person.member_id, command, coalition.id)
        raise web.HTTPSeeOther(f"/dashboard/coalition/{coalition.id}/schedules#schedule-{schedule}")

    async def report(self, request: web.Request) -> web.StreamResponse:
        viewer = await self._viewer(request)
        texts = self.engine.texts(viewer.actor)
        kind = request.query.get("format", "html")
        if kind not in FORMATS:
            raise self.web._refusal(request, texts, texts.t("dashboard.reports"),
                                    [texts.t("dashboard.bad_format", formats=", ".join(FORMATS))], 400)
        period, problem = self._period(request, texts)
        if problem:
            raise self.web._refusal(request, texts, texts.t("dashboard.reports"), [problem], 400)
        chosen = request.query.get("coalition", "")
        if chosen:
            if not viewer.may_see(chosen) or self.config.coalition(chosen) is None:
                self._not_found(request, viewer)
            scope, name = Scope(viewer.audience(chosen), (chosen,), period.since, period.until), chosen
        elif viewer.coordinator:
            ids = tuple(c.id for c in self.config.coalitions)
            scope, name = Scope(Audience.MOVEMENT, ids, period.since, period.until), "movement"
        else:
            self._not_found(request, viewer)
        async with self.engine.store.unit() as unit:
            digest = await unit.digest(scope, self._principles(), self._wanted(), self._today())
        digest = digest.with_names(self.engine.people)
        body = render_report(kind, digest, self._names(), self.config.movement.name, texts)
        if kind == "csv":  # one file per record type, in a zip
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
                for file_name, text in body.items():
                    archive.writestr(file_name, text)
            body = out.getvalue()
        content_type, extension = FORMATS[kind]
        file_name = f"cocreate-{name}-{period.first.isoformat()}-{period.last.isoformat()}.{extension}"
        headers = {**self.web.headers(), "Content-Disposition": f'attachment; filename="{file_name}"',
                   "Content-Type": content_type}
        return web.Response(body=body if isinstance(body, bytes) else body.encode("utf-8"), headers=headers)

    # -- helpers --------------------------------------------------------------------------------

    async def _viewer(self, request: web.Request) -> Viewer:
        session = await self.web._session(request)
        if session is None:
            texts = self.web._texts(request)
            raise self.web._refusal(request, texts, texts.t("dashboard.signin_title"),
                                    [texts.t("dashboard.signed_out", dashboard=texts.command("dashboard"))], 401)
        person = session.person
        actor = await self.engine.speaker(self.web._ref(request, person))
        leads = tuple(c.id for c in self.config.coalitions if self.config.is_leader(person.member_id, c.id))
        viewer = Viewer(person, actor, session.csrf, actor.has(Role.COORDINATOR), leads)
        if not viewer.coordinator and not viewer.leads:
            texts = self.engine.texts(actor)
            raise self.web._refusal(request, texts, texts.t("dashboard.title"), [texts.t("dashboard.refused")], 403)
        return viewer

    def _coalition(self, request: web.Request, viewer: Viewer):
        coalition = self.config.coalition(request.match_info["coalition"])
        if coalition is None or not viewer.may_see(coalition.id):
            self._not_found(request, viewer)  # not 403: ids are not probed
        return coalition

    def _not_found(self, request: web.Request, viewer: Viewer):
        texts = self.engine.texts(viewer.actor)
        raise self.web._refusal(request, texts, texts.t("dashboard.not_found_title"),
                                [texts.t("dashboard.not_found")], 404)

    def _period(self, request: web.Request, texts: Texts) -> tuple[Period, str | None]:
        """The period asked for (?days=N, or ?from=&to= dates), else the last 30 days with the
        problem said."""
        try:
            return self._parse_period(request.query), None
        except PeriodError as problem:
            return self._parse_period({}), texts.t(f"dashboard.period_{problem}", max=MAX_DAYS)

    def _parse_period(self, query) -> Period:
        zone = self.config.movement.zone
        now = self.engine.clock()
        today = now.astimezone(zone).date()
        if query.get("from") or query.get("to"):
            try:
                first, last = date.fromisoformat(query.get("from", "")), date.fromisoformat(query.get("to", ""))
            except ValueError:
                raise PeriodError("dates") from None
            if last < first or (last - first).days >= MAX_DAYS:
                raise PeriodError("range")
            since = datetime.combine(first, time(), zone)
            until = datetime.combine(last + timedelta(days=1), time(), zone)
            return Period(since, until, first, last, None)
        days = _whole(query.get("days")) if query.get("days") else DEFAULT_DAYS
        if days is None or not 1 <= days <= MAX_DAYS:
            raise PeriodError("days")
        until = now + timedelta(microseconds=1)  # include now, as the chat digest does
        return Period(now - timedelta(days=days), until, today - timedelta(days=days), today, days)

    def _page(self, request: web.Request, viewer: Viewer, texts: Texts, template: str, status: int = 200,
              **context: Any) -> web.Response:
        html = self.web.env.get_template(template).render(
            lang=texts.code, movement=self.config.movement.name, csrf=viewer.csrf, texts=texts, w=words,
            t=lambda key, **values: texts.t(f"dashboard.{key}", **values), viewer=viewer,
            url=self._url, query=dict(request.query), path=request.path, nonce=form_nonce,
            coordinator=viewer.coordinator, leads=viewer.leads, coalition_name=self._name,
            person_name=lambda member_id: self.engine.people.get(member_id, member_id),
            sector_list=lambda codes: texts.listing(words.sector_label(texts, code) for code in codes), **context)
        return web.Response(text=html, content_type="text/html", status=status, headers=self.web.headers())

    async def _progress(self, round, answered: frozenset[str], names: dict[str, str]) -> list[dict[str, Any]]:
        """Each invited member of the open round: reached or not, reminded, answered."""
        people: dict[str, dict[str, Any]] = {}
        for row in await self.engine.store.outbox(source=f"round:{round.id}"):
            member = row.target.removeprefix("member:")
            if row.occurrence == "invite":
                people.setdefault(member, {"reminders": 0})["state"] = row.state
            elif row.occurrence.startswith("reminder") and row.state == "sent":
                people.setdefault(member, {"reminders": 0})["reminders"] += 1
        return sorted(
            ({"member": m, "name": names.get(m, m), "answered": m in answered,
              "state": p.get("state", "pending"), "reminders": p["reminders"]} for m, p in people.items()),
            key=lambda p: (p["answered"], p["name"].lower()))

    def _schedules_of(self, coalition_id: str):
        return [s for s in self.config.schedules if not s.coalitions or coalition_id in s.coalitions]

    def _principles(self) -> list[tuple[int, str]]:
        return [(p.number, p.title) for p in self.config.principles]

    def _wanted(self) -> dict[str, tuple[str, ...]]:
        return {c.id: tuple(c.wanted_sectors) for c in self.config.coalitions}

    def _names(self) -> dict[str, str]:
        return {c.id: c.name for c in self.config.coalitions}

    def _name(self, coalition_id: str) -> str:
        coalition = self.config.coalition(coalition_id)
        return coalition.name if coalition else coalition_id

    def _today(self) -> date:
        return self.engine.clock().astimezone(self.config.movement.zone).date()

    @staticmethod
    def _url(path: str, query: Any = None) -> str:
        query = {k: v for k, v in dict(query or {}).items() if v not in (None, "")}
        return f"{path}?{urlencode(query)}" if query else path


def _whole(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 6 else None


def _clock(value: str) -> bool:
    """HH:MM, as <input type="time"> sends it."""
    try:
        return len(value) == 5 and time.fromisoformat(value) is not None
    except ValueError:
        return False


def _named(story, names: dict[str, str]):
    return replace(story, author=names.get(story.author, story.author)) if story.author else story
