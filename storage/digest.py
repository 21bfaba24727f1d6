"""Digests (`bot.digest`) computed in SQL: counts, averages and weekly buckets are
aggregated by the database; Python only shapes the small results (capped lists).

Every query works on a *window* per record kind: the scope's coalitions, created in
[since, until), and, for `new_only` scopes, after the audience's stored mark (both: a chat
digest shows what is new *and* in its period). The first query fixes the highest id of
each window: the digest's marks. On PostgreSQL (read committed) every later query is
bounded by them, so rows committed meanwhile neither show up nor slip under the marks;
SQLite's unit holds the write lock, so nothing commits meanwhile.

Marks cover every row of a window, shown or only counted (private stories count towards
participation), so that after `DigestShown` the next digest repeats nothing. Problem
statements have a mark of their own ("problem_statements") for the same reason.

Who may see a story is decided here, in every query that touches stories: the audience's
consent levels, never a withdrawn story, never an anonymous author.

The dashboard's overview and story pages are this module's too: the overview groups the
digest's own sections by coalition (one statement per section for every coalition), and a
story page is the digest's story query with filters and an offset.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    Date,
    and_,
    case,
    cast,
    distinct,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from bot.digest import (
    Audience,
    CoalitionFigures,
    Digest,
    ExperimentItem,
    ImpactPoint,
    Mobilisation,
    OutsideIn,
    Overview,
    Participation,
    PrincipleCount,
    Scope,
    StoryItem,
    StrengthItem,
    WeekActivity,
)
from bot.types import Consent, Voice
from storage.models import (
    CheckInRow,
    DigestMark,
    ExperimentRow,
    Member,
    OutboxMessage,
    PerspectiveRow,
    ProblemStatementRow,
    ReflectionRow,
    ResourceRow,
    StoryPrinciple,
    StoryRow,
    StorySector,
    StrengthRow,
)

STORIES_SHOWN = 50
STRENGTHS_SHOWN = 20
QUOTES_SHOWN = 3
EXCERPT = 280
_BODY_READ = 2000  # characters of a story read for its excerpt

# Record kind (the digest's marks) -> table. Every kind counts towards participation.
KINDS: dict[str, Any] = {
    "members": Member,
    "resources": ResourceRow,
    "strengths": StrengthRow,
    "perspectives": PerspectiveRow,
    "problem_statements": ProblemStatementRow,
    "experiments": ExperimentRow,
    "checkins": CheckInRow,
    "reflections": ReflectionRow,
    "stories": StoryRow,
}

# For the digest's transaction only (set_config(..., true) is SET LOCAL), on PostgreSQL:
# - custom plans: asyncpg prepares statements and after five runs PostgreSQL may switch to
#   one generic plan for any values, blind to the period and id ranges; measured, it picked
#   a scan hundreds of times slower. Planning these statements costs well under a ms each;
# - no JIT and no parallel workers: a digest reads tens of thousands of rows at most, and
#   compiling (30 ms) or starting workers cost more than they save (measured: 2x faster).
_PG_SETTINGS = select(
    func.set_config("plan_cache_mode", "force_custom_plan", True),
    func.set_config("jit", "off", True),
    func.set_config("max_parallel_workers_per_gather", "0", True),
)

# A scheduled prompt (by its payload's kind) is answered by a record of this kind made
# after it was sent; a check-in invitation by a check-in in its round.
_ANSWERS = {"principle": ReflectionRow, "story": StoryRow, "strengths": StrengthRow}

_CITIZENS = (Voice.CITIZEN.value, Voice.USER.value)
_INSTITUTIONS = (Voice.PARTNER.value, Voice.EMPLOYEE.value)


async def load_marks(db: AsyncConnection, key: str) -> dict[str, int]:
    rows = await db.execute(
        select(DigestMark.kind, DigestMark.last_id).where(DigestMark.key == key)
    )
    return {kind: last_id for kind, last_id in rows}


async def build(
    db: AsyncConnection,
    scope: Scope,
    principles: Sequence[tuple[int, str]],
    wanted: Mapping[str, Sequence[str]],
    today: date,
) -> Digest:
    """Everything `scope` may see; see `bot.ports.Reader.digest`."""
    await _tune(db)
    query = _Digest(db, scope)
    await query.fix_marks()  # first: every later query stays within these marks
    return Digest(
        scope=scope,
        stories=await query.stories(),
        principles=await query.principles(principles),
        experiments=await query.experiments(today),
        mobilisation=await query.mobilisation(wanted),
        outside_in=await query.outside_in(),
        strengths=await query.strengths(),
        participation=await query.participation(),
        marks=query.marks,
    )


async def overview(
    db: AsyncConnection,
    scope: Scope,
    principles: Sequence[tuple[int, str]],
    wanted: Mapping[str, Sequence[str]],
    today: date,
) -> Overview:
    """Each coalition's figures side by side; see `bot.ports.Reader.overview`. No marks: the
    dashboard shows a period, never "new only"."""
    await _tune(db)
    query = _Digest(db, scope)
    titles = dict(sorted(principles))
    mobilisation = await query.mobilisation(wanted)
    answers = {r.coalition_id: (r.answers, r.active)
               for r in await query.participation_rows(per_coalition=True)}
    prompts = {r.coalition_id: (r.sent, r.answered) for r in await query.prompt_rows(per_coalition=True)}
    touched = await query.principles_per_coalition(list(titles))
    voices = {r.coalition_id: _outside_in(r) for r in await query.voice_rows(per_coalition=True)}
    experiments = await query.experiment_counts(today)
    figures = []
    for m in mobilisation:  # one per coalition, in the scope's order, zeros where nothing
        cid = m.coalition_id
        (answered, active), (sent, replied) = answers.get(cid, (0, 0)), prompts.get(cid, (0, 0))
        running, overdue = experiments.get(cid, (0, 0))
        figures.append(CoalitionFigures(
            coalition_id=cid,
            members_by_sector=m.members_by_sector,
            missing_sectors=m.missing_sectors,
            new_members=m.new_members,
            resources_mapped=m.resources_mapped,
            answers=answered,
            active_members=active,
            prompts_sent=sent,
            prompts_answered=replied,
            principles=touched.get(cid, {}),
            outside_in=voices.get(cid, OutsideIn(0, 0, 0)),
            experiments_running=running,
            experiments_overdue=overdue,
        ))
    return Overview(scope, tuple(titles.items()), tuple(figures), await query.weeks())


async def story_page(
    db: AsyncConnection, scope: Scope, principle: int | None, sector: str | None,
    limit: int, offset: int,
) -> tuple[tuple[StoryItem, ...], int]:
    """A page of the stories `scope` may see and how many match; see
    `bot.ports.Reader.story_page`."""
    await _tune(db)
    query = _Digest(db, scope)
    items = await query.stories(principle, sector, limit=limit, offset=offset)
    if len(items) < limit and (items or not offset):
        return items, offset + len(items)  # the last page: the total is known without counting
    return items, await query.story_count(principle, sector)


async def _tune(db: AsyncConnection) -> None:
    if db.dialect.name == "postgresql":
        await db.execute(_PG_SETTINGS)


def by_name(t: Any) -> Any:
    """Who made a row of `t`: their name in its coalition (`Member`, outer joined on
    `of_member(t)`) where they gave one, else their member id."""
    return func.coalesce(func.nullif(Member.name, ""), t.member_id)


def of_member(t: Any) -> ColumnElement[bool]:
    return and_(Member.coalition_id == t.coalition_id, Member.member_id == t.member_id)


def _by(column: Any, per_coalition: bool) -> list[Any]:
    """The grouping key of a section's query: none for a digest, the coalition for the
    dashboard's overview."""
    return [column] if per_coalition else []


class _Digest:
    def __init__(self, db: AsyncConnection, scope: Scope) -> None:
        self.db = db
        self.scope = scope
        self.coalitions = list(dict.fromkeys(scope.coalitions))
        self.previous: dict[str, int] = {}  # the audience's stored marks (new_only)
        self.upto: dict[str, int] = {}  # the highest id of each window, fixed first
        self.marks: dict[str, int] = {}

    # -- windows ---------------------------------------------------------------------

    def window(self, kind: str, *, coalition: bool = True) -> list[ColumnElement[bool]]:
        """Rows of `kind` this digest covers (bounded by the fixed marks once fixed)."""
        t = KINDS[kind]
        created = _created(t)
        clauses = [created >= self.scope.since, created < self.scope.until]
        if coalition:
            clauses.append(t.coalition_id.in_(self.coalitions))
        if self.previous.get(kind):
            clauses.append(t.id > self.previous[kind])
        if kind in self.upto:
            clauses.append(t.id <= self.upto[kind])
        return clauses

    def visible(self) -> list[ColumnElement[bool]]:
        """Stories the audience may see: its consent levels, never withdrawn or erased ones."""
        s = StoryRow
        clauses = [
            s.consent.in_([str(c) for c in self.scope.audience.consents]),
            s.withdrawn_at.is_(None),
            s.erased_at.is_(None),
        ]
        if self.scope.audience is Audience.COALITION and self.coalitions:
            # "My coalition" means the audience's own coalition, even in a wider scope.
            clauses.append(
                or_(s.consent != Consent.COALITION.value, s.coalition_id == self.coalitions[0])
            )
        return clauses

    async def fix_marks(self) -> None:
        if self.scope.new_only:
            self.previous = await load_marks(self.db, self.scope.key)
        highest = (
            await self.db.execute(
                select(*(
                    # max(id + 0): no "newest id first" scan of the whole primary key (what
                    # PostgreSQL makes of max(id)), which is slow for any period but the latest.
                    select(func.max(t.id + literal_column("0")))
                    .where(*self.window(kind))
                    .scalar_subquery()
                    .label(kind)
                    for kind, t in KINDS.items()
                ))
            )
        ).one()._asdict()
        self.marks = {kind: max(self.previous.get(kind, 0), highest[kind] or 0) for kind in KINDS}
        if self.db.dialect.name != "sqlite":
            # SQLite: the unit holds the write lock, nothing commits until it ends.
            self.upto = {kind: highest[kind] or 0 for kind in KINDS}

    # -- sections --------------------------------------------------------------------

    def shown_stories(
        self, principle: int | None = None, sector: str | None = None
    ) -> list[ColumnElement[bool]]:
        """The window's stories the audience may see, with that principle and sector if given."""
        s = StoryRow
        clauses = [*self.window("stories"), *self.visible()]
        if principle is not None:
            p = StoryPrinciple
            clauses.append(exists().where(p.story_id == s.id, p.principle == principle))
        if sector is not None:
            clauses.append(exists().where(StorySector.story_id == s.id, StorySector.sector == sector))
        return clauses

    async def stories(
        self, principle: int | None = None, sector: str | None = None, *,
        limit: int = STORIES_SHOWN, offset: int = 0,
    ) -> tuple[StoryItem, ...]:
        s = StoryRow
        author = case((s.anonymous, null()), else_=by_name(s))
        rows = (
            await self.db.execute(
                select(
                    s.id, s.coalition_id, s.title, func.substr(s.body, 1, _BODY_READ).label("body"),
                    author.label("author"), s.consent, s.created_at,
                )
                .outerjoin(Member, of_member(s))
                .where(*self.shown_stories(principle, sector))
                .order_by(s.created_at.desc(), s.id.desc())
                .limit(limit)
                .offset(offset or None)  # None: the digest's statement has no OFFSET
            )
        ).all()
        ids = [row.id for row in rows]
        principles = await _grouped(
            self.db,
            select(StoryPrinciple.story_id, StoryPrinciple.principle)
            .where(StoryPrinciple.story_id.in_(ids))
            .order_by(StoryPrinciple.story_id, StoryPrinciple.principle),
        )
        sectors = await _grouped(
            self.db,
            select(StorySector.story_id, StorySector.sector)
            .where(StorySector.story_id.in_(ids))
            .order_by(StorySector.story_id, StorySector.sector),
        )
        return tuple(
            StoryItem(
                id=row.id,
                coalition_id=row.coalition_id,
                title=row.title,
                excerpt=excerpt(row.body),
                principles=tuple(principles.get(row.id, ())),
                sectors=tuple(sectors.get(row.id, ())),
                author=row.author,
                consent=row.consent,
                created_at=row.created_at,
            )
            for row in rows
        )

    async def story_count(self, principle: int | None, sector: str | None) -> int:
        query = select(func.count()).select_from(StoryRow).where(*self.shown_stories(principle, sector))
        return (await self.db.execute(query)).scalar_one()

    async def principles(self, principles: Sequence[tuple[int, str]]) -> tuple[PrincipleCount, ...]:
        numbers = sorted({number for number, _ in principles})
        reflections, stories = [
            dict((await self.db.execute(query)).all()) for query in self._principle_queries(numbers)
        ]
        titles = dict(principles)
        return tuple(
            PrincipleCount(n, titles[n], reflections.get(n, 0), stories.get(n, 0))
            for n in numbers
        )

    def _principle_queries(self, numbers: Sequence[int], per_coalition: bool = False) -> tuple[Any, Any]:
        """(key..., principle, count): the window's reflections and the visible stories."""
        r, s, sp = ReflectionRow, StoryRow, StoryPrinciple
        rk, sk = _by(r.coalition_id, per_coalition), _by(s.coalition_id, per_coalition)
        return (
            select(*rk, r.principle, func.count())
            .where(*self.window("reflections"), r.principle.in_(numbers))
            .group_by(*rk, r.principle),
            select(*sk, sp.principle, func.count())
            .select_from(sp)
            .join(s, s.id == sp.story_id)
            .where(*self.window("stories"), *self.visible(), sp.principle.in_(numbers))
            .group_by(*sk, sp.principle),
        )

    async def principles_per_coalition(self, numbers: Sequence[int]) -> dict[str, dict[int, int]]:
        """Coalition -> principle -> reflections + visible stories (no zeros), in one statement."""
        touched: dict[str, dict[int, int]] = defaultdict(dict)
        for coalition_id, number, n in await self.db.execute(
            union_all(*self._principle_queries(numbers, per_coalition=True))
        ):
            touched[coalition_id][number] = touched[coalition_id].get(number, 0) + n
        return {cid: dict(sorted(counts.items())) for cid, counts in touched.items()}

    async def experiment_counts(self, today: date) -> dict[str, tuple[int, int]]:
        """Coalition -> (experiments running today, overdue: ended, no decision ever), over all
        its experiments (`ExperimentItem.status` and `needs_decision`, counted)."""
        e, c = ExperimentRow, CheckInRow
        decided = exists().where(c.experiment_id == e.id, c.decision != "")
        rows = await self.db.execute(
            select(
                e.coalition_id,
                func.count(case((and_(e.starts_on <= today, e.ends_on >= today), 1))),
                func.count(case((and_(e.ends_on < today, ~decided), 1))),
            )
            .where(e.coalition_id.in_(self.coalitions))
            .group_by(e.coalition_id)
        )
        return {cid: (running, overdue) for cid, running, overdue in rows}

    async def experiments(self, today: date) -> tuple[ExperimentItem, ...]:
        e, c = ExperimentRow, CheckInRow
        period = self.window("checkins", coalition=False)
        checked_in = exists().where(c.experiment_id == e.id, *period)
        created = and_(*self.window("experiments"))
        if self.scope.new_only:
            shown = or_(created, checked_in)
        else:
            first = self.scope.since.astimezone(timezone.utc).date()
            last = (self.scope.until.astimezone(timezone.utc) - timedelta(microseconds=1)).date()
            running = and_(e.starts_on <= last, e.ends_on >= first)
            shown = or_(created, checked_in, running)

        # Per experiment, newest first on (experiment_id, created_at): its latest decision
        # and the period's first few quotes, each a short backward index scan.
        def newest(column: Any, *where: Any, offset: int = 0) -> Any:
            return (
                select(column)
                .where(c.experiment_id == e.id, *where)
                .order_by(c.created_at.desc(), c.id.desc())
                .offset(offset)
                .limit(1)
                .scalar_subquery()
            )

        quotes = [
            newest(column, func.trim(column) != "", *period, offset=k).label(f"{column.key}_{k}")
            for column in (c.intended_seen, c.unintended)
            for k in range(QUOTES_SHOWN)
        ]
        experiments = (
            await self.db.execute(
                select(
                    e.id, e.coalition_id, e.title, e.starts_on, e.ends_on,
                    newest(c.decision, c.decision != "").label("latest_decision"), *quotes,
                )
                .where(e.coalition_id.in_(self.coalitions), shown)
                .order_by(e.starts_on, e.id)
            )
        ).all()
        if not experiments:
            return ()
        ours = c.experiment_id.in_([row.id for row in experiments])

        # Every check-in so far, by ISO week: the trend and, summed up, the totals.
        week = self._week(c.created_at).label("week")
        weeks: dict[int, list[Any]] = defaultdict(list)
        for row in await self.db.execute(
            select(
                c.experiment_id, week, func.count().label("n"),
                func.sum(c.citizen_impact).label("impact"),
            )
            .where(ours)
            .group_by(c.experiment_id, week)
            .order_by(c.experiment_id, week)
        ):
            weeks[row.experiment_id].append(row)
        decisions: dict[int, dict[str, int]] = defaultdict(dict)
        for row in await self.db.execute(
            select(c.experiment_id, c.decision, func.count().label("n"))
            .where(ours, c.decision != "")
            .group_by(c.experiment_id, c.decision)
            .order_by(c.experiment_id, func.count().desc(), c.decision)
        ):
            decisions[row.experiment_id][row.decision] = row.n

        items = []
        for row in experiments:
            trend = tuple(
                ImpactPoint(_as_date(w.week), w.impact / w.n, w.n) for w in weeks.get(row.id, ())
            )
            checkins = sum(w.n for w in weeks.get(row.id, ()))
            impact = sum(w.impact for w in weeks.get(row.id, ()))
            items.append(ExperimentItem(
                id=row.id,
                coalition_id=row.coalition_id,
                title=row.title,
                starts_on=row.starts_on,
                ends_on=row.ends_on,
                status=status(row.starts_on, row.ends_on, today),
                checkins=checkins,
                average_impact=impact / checkins if checkins else None,
                trend=trend,
                intended=_quotes(row, "intended_seen"),
                unintended=_quotes(row, "unintended"),
                decisions=decisions.get(row.id, {}),
                latest_decision=row.latest_decision,
                needs_decision=row.ends_on < today and row.latest_decision is None,
            ))
        return tuple(items)

    def _week(self, column: Any) -> Any:
        """The Monday (a date) of the ISO week of a UTC timestamp column."""
        if self.db.dialect.name == "postgresql":
            utc = func.timezone(literal_column("'UTC'"), column)
            return cast(func.date_trunc(literal_column("'week'"), utc), Date)
        # SQLite stores UTC text: back 6 days, then forward to the next Monday (or today).
        return type_coerce(
            func.date(column, literal_column("'-6 days'"), literal_column("'weekday 1'")), Date
        )

    async def mobilisation(self, wanted: Mapping[str, Sequence[str]]) -> tuple[Mobilisation, ...]:
        m = Member
        sectors: dict[str, dict[str, int]] = defaultdict(dict)
        for coalition_id, sector, n in await self.db.execute(
            select(m.coalition_id, m.sector, func.count().label("n"))
            .where(m.coalition_id.in_(self.coalitions))
            .group_by(m.coalition_id, m.sector)
            .order_by(m.coalition_id, func.count().desc(), m.sector)
        ):
            sectors[coalition_id][sector] = n
        joined = await self._per_coalition("members")
        mapped = await self._per_coalition("resources")
        return tuple(
            Mobilisation(
                coalition_id=cid,
                members_by_sector=sectors.get(cid, {}),
                new_members=joined.get(cid, 0),
                missing_sectors=tuple(
                    s for s in dict.fromkeys(wanted.get(cid, ())) if s not in sectors.get(cid, {})
                ),
                resources_mapped=mapped.get(cid, 0),
            )
            for cid in self.coalitions
        )

    async def _per_coalition(self, kind: str) -> dict[str, int]:
        t = KINDS[kind]
        rows = await self.db.execute(
            select(t.coalition_id, func.count()).where(*self.window(kind)).group_by(t.coalition_id)
        )
        return dict(rows.all())

    async def outside_in(self) -> OutsideIn:
        [row] = await self.voice_rows()
        return _outside_in(row)

    async def voice_rows(self, per_coalition: bool = False) -> list[Any]:
        p = PerspectiveRow
        v, keys = p.voice, _by(p.coalition_id, per_coalition)
        return list(await self.db.execute(
            select(
                *keys,
                func.count().label("total"),
                func.coalesce(func.sum(case((v.in_(_CITIZENS), 1), else_=0)), 0).label("c"),
                func.coalesce(func.sum(case((v.in_(_INSTITUTIONS), 1), else_=0)), 0).label("i"),
            )
            .where(*self.window("perspectives"))
            .group_by(*keys)
        ))

    async def strengths(self) -> tuple[StrengthItem, ...]:
        t = StrengthRow
        rows = await self.db.execute(
            select(t.id, t.coalition_id, t.success, t.why, t.enlarge)
            .where(*self.window("strengths"), t.erased_at.is_(None))
            .order_by(t.created_at.desc(), t.id.desc())
            .limit(STRENGTHS_SHOWN)
        )
        return tuple(StrengthItem(**row._asdict()) for row in rows)

    def _answers(self, *columns: str) -> Any:
        """Every answer members recorded (private stories too: a count shows no content;
        withdrawn stories are gone): the `columns` of each ("coalition_id", "member_id", "at").
        Only those: (coalition_id, at) alone is read from the coalition index, not the rows."""

        def column(t: Any, name: str) -> Any:
            return _created(t).label("at") if name == "at" else getattr(t, name)

        return union_all(*(
            select(*(column(t, name) for name in columns)).where(
                *self.window(kind), *([t.withdrawn_at.is_(None)] if t is StoryRow else [])
            )
            for kind, t in KINDS.items()
        )).subquery()

    async def participation(self) -> Participation:
        """Every answer, how many members gave them, and the prompts they answered."""
        [row] = await self.participation_rows()
        sent, answered = await self.prompts()
        return Participation(answers=row.answers, active_members=row.active,
                             prompts_sent=sent, prompts_answered=answered)

    async def participation_rows(self, per_coalition: bool = False) -> list[Any]:
        a = self._answers(*_by("coalition_id", per_coalition), "member_id")
        keys = [a.c.coalition_id] if per_coalition else []
        return list(await self.db.execute(
            select(
                *keys, func.count().label("answers"), func.count(distinct(a.c.member_id)).label("active"),
            ).select_from(a).group_by(*keys)
        ))

    async def weeks(self) -> tuple[WeekActivity, ...]:
        """Answers per ISO week and coalition, oldest first (then in the scope's order)."""
        a = self._answers("coalition_id", "at")
        week = self._week(a.c.at).label("week")
        rows = await self.db.execute(
            select(week, a.c.coalition_id, func.count()).group_by(week, a.c.coalition_id)
        )
        order = {cid: i for i, cid in enumerate(self.coalitions)}
        return tuple(sorted(
            (WeekActivity(_as_date(w), cid, n) for w, cid, n in rows),
            key=lambda row: (row.week, order[row.coalition_id]),
        ))

    async def prompts(self) -> tuple[int, int]:
        [row] = await self.prompt_rows()
        return row.sent, row.answered

    async def prompt_rows(self, per_coalition: bool = False) -> list[Any]:
        """Prompts and check-in invitations delivered in the period, and how many of them
        their member answered (whenever: the answer may come after the period)."""
        o = OutboxMessage
        member = func.substr(o.target, len("member:") + 1)
        checkin = and_(o.kind == "checkin", exists().where(
            CheckInRow.round_id == func.substr(o.source, len("round:") + 1), CheckInRow.member_id == member))
        prompt = or_(*(
            and_(o.payload["kind"].as_string() == kind, exists().where(
                t.member_id == member, t.coalition_id == o.coalition_id, t.created_at >= o.sent_at))
            for kind, t in _ANSWERS.items()
        ))
        keys = _by(o.coalition_id, per_coalition)
        return list(await self.db.execute(
            select(*keys, func.count().label("sent"),
                   func.count(case((or_(checkin, and_(o.kind == "prompt", prompt)), 1))).label("answered"))
            .where(o.state == "sent", o.kind.in_(("prompt", "checkin")), o.coalition_id.in_(self.coalitions),
                   o.sent_at >= self.scope.since, o.sent_at < self.scope.until)
            .group_by(*keys)
        ))


def status(starts_on: date, ends_on: date, today: date) -> str:
    if today < starts_on:
        return "planned"
    return "ended" if today > ends_on else "running"


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """One line of at most `limit` characters, cut at a word with an ellipsis."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    head = line[: limit - 1]
    if not line[limit - 1].isspace() and " " in head:
        head = head.rsplit(" ", 1)[0]  # the cut fell inside a word: drop that word
    return head.rstrip(" ,.;:") + "…"


def _created(t: Any) -> Any:
    return t.joined_at if t is Member else t.created_at


def _outside_in(row: Any) -> OutsideIn:
    c, i = int(row.c), int(row.i)
    return OutsideIn(c, i, row.total - c - i)


def _quotes(row: Any, column: str) -> tuple[str, ...]:
    found = (getattr(row, f"{column}_{k}") for k in range(QUOTES_SHOWN))
    return tuple(quote.strip() for quote in found if quote is not None)


def _as_date(value: date | datetime | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(value)


async def _grouped(db: AsyncConnection, query: Any) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = defaultdict(list)
    for parent_id, value in await db.execute(query):
        grouped[parent_id].append(value)
    return grouped
