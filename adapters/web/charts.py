"""The dashboard's charts as geometry: pure functions from the overview's figures to small
frozen models that `templates/dashboard/_charts.html` draws as plain SVG (and the heat map
as an HTML table).

Not matplotlib (`adapters.report.charts`): too slow for a page with 50 coalitions, and its
SVG needs inline styles the web's Content-Security-Policy forbids (`style-src 'self'`).
Here Python places every mark in a viewBox of `WIDTH` user units; the template writes only
elements, presentation attributes and classes; colours and font sizes come from
`static/charts.css`. Every number shown is formatted by `texts.number`, every date by Babel;
user text (names, titles) is escaped by Jinja2's autoescape. Each function returns None when
there is nothing to draw, so the page can say so instead.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import quantiles
from typing import TYPE_CHECKING, Mapping, Sequence

from babel.dates import format_skeleton

from adapters.report import SECTOR_ORDER, coalition_name, one_decimal, principle_ref, sector_label, short_day, \
    sorted_sectors, status_label
from bot.digest import ExperimentItem, Overview

if TYPE_CHECKING:
    from bot.i18n import Texts

WIDTH = 640  # viewBox width: about the page's column, so 12px text shows at about 12px
ROW = 20  # one coalition's or experiment's row
BAR = 14  # a bar's thickness in its row: 50 coalitions stay readable
CHAR = 6.6  # the average width of a 12px character, to size label columns
TONES = 8  # Okabe-Ito colours, "tone-0" .. "tone-7" in charts.css
TREND_LINES = 8  # more lines than this is unreadable
TITLE_CHARS = 40  # a legend's experiment title
LABEL_CHARS = 26  # a row's label (the full text is its tooltip)
STATUSES = ("planned", "running", "ended")


# -- the models the macros draw ----------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    at: float  # x for the x axis, y for the y axis
    label: str
    grid: bool = True  # a grid line across the plot


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str  # its colour: "tone-N", or a status class
    tip: str  # shown on hover (the rect's <title>)


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    css: str = "chart-row"
    anchor: str = "end"  # text-anchor
    tip: str = ""  # the full text when `text` is cut


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    tip: str


@dataclass(frozen=True)
class Line:
    points: str  # "x,y x,y …" for <polyline>
    dots: tuple[Dot, ...]
    css: str


@dataclass(frozen=True)
class Rule:
    """A vertical line across the plot with a label above it (the timeline's today)."""

    x: float
    label: Label
    css: str


@dataclass(frozen=True)
class Key:
    label: str
    css: str
    tip: str = ""


@dataclass(frozen=True)
class Chart:
    id: str  # the <figure>'s id; its <title> is "<id>-title"
    title: str
    width: int
    height: int
    left: float  # the plot area
    top: float
    right: float
    bottom: float
    x_ticks: tuple[Tick, ...] = ()
    y_ticks: tuple[Tick, ...] = ()
    x_label: str = ""  # under the x axis
    y_label: str = ""  # above the y axis, horizontal (easier read than turned)
    bars: tuple[Bar, ...] = ()
    lines: tuple[Line, ...] = ()
    labels: tuple[Label, ...] = ()
    rules: tuple[Rule, ...] = ()
    legend: tuple[Key, ...] = ()  # an HTML list under the SVG: it wraps and stays page-sized


@dataclass(frozen=True)
class HeatCell:
    count: int
    text: str
    shade: str  # "heat-0" (none) .. "heat-4" (the busiest quarter)


@dataclass(frozen=True)
class HeatRow:
    name: str
    cells: tuple[HeatCell, ...]


@dataclass(frozen=True)
class Heatmap:
    id: str
    title: str
    corner: str  # the header over the coalitions' names
    columns: tuple[tuple[str, str], ...]  # (principle_ref, principle title)
    rows: tuple[HeatRow, ...]
    total: HeatRow  # the whole movement: a quiet principle shows as a zero here


# -- the charts ------------------------------------------------------------------------


def heatmap(overview: Overview, names: Mapping[str, str], texts: Texts, *,
            id: str = "chart-principles") -> Heatmap | None:
    """How often each coalition touched each principle; shades by quartile of the whole table."""
    numbers = [n for n, _ in overview.principles]
    counts = [[c.touched(n) for n in numbers] for c in overview.coalitions]
    busy = sorted(v for row in counts for v in row if v)
    if not busy:
        return None
    # Quartile cuts of the non-zero counts; the busiest cell is always the darkest, even on ties.
    cuts = quantiles(busy, n=4, method="inclusive") if len(busy) > 1 else busy * 3

    def cell(v: int, shade: bool = True) -> HeatCell:
        level = 0 if not v else 4 if v == busy[-1] else 1 + bisect_left(cuts, v)
        return HeatCell(v, texts.number(v, 0), f"heat-{level}" if shade else ("heat-total" if v else "heat-quiet"))

    rows = tuple(HeatRow(coalition_name(names, c.coalition_id), tuple(cell(v) for v in row))
                 for c, row in zip(overview.coalitions, counts))
    total = HeatRow(texts.t("chart.heatmap_total"), tuple(cell(sum(col), shade=False) for col in zip(*counts)))
    return Heatmap(id, texts.t("chart.heatmap"), texts.t("chart.coalition"),
                   tuple((principle_ref(n), title) for n, title in overview.principles), rows, total)


def sector_balance(overview: Overview, names: Mapping[str, str], texts: Texts, *,
                   id: str = "chart-sectors") -> Chart | None:
    """One stacked bar per coalition: who is at the table, by sector."""
    coalitions = overview.coalitions
    most = max((c.members for c in coalitions), default=0)
    if not most:
        return None
    sectors = sorted_sectors([s for s in {s for c in coalitions for s, n in c.members_by_sector.items() if n}])
    full = [coalition_name(names, c.coalition_id) for c in coalitions]
    left = _label_column(full)
    top, right = 8, WIDTH - 40  # room for each bar's total
    bottom = top + ROW * len(coalitions)
    step, end = _nice(most)
    scale = (right - left) / end
    bars, labels = [], []
    for i, (c, name) in enumerate(zip(coalitions, full)):
        y = top + i * ROW + (ROW - BAR) / 2
        x = left
        for s in sectors:
            n = c.members_by_sector.get(s, 0)
            if n:
                tip = texts.t("chart.value", label=sector_label(texts, s), value=texts.number(n, 0))
                bars.append(Bar(_r(x), _r(y), _r(n * scale), BAR, _sector_tone(s), f"{name} · {tip}"))
                x += n * scale
        labels.append(Label(left - 6, _r(y + BAR / 2), _cut(name, LABEL_CHARS), tip=name))
        labels.append(Label(_r(x + 4), _r(y + BAR / 2), texts.number(c.members, 0), "chart-value", "start"))
    ticks = tuple(Tick(_r(left + v * scale), texts.number(v, 0)) for v in range(0, end + 1, step))
    return Chart(id, texts.t("chart.sectors"), WIDTH, bottom + 40, left, top, right, bottom, x_ticks=ticks,
                 x_label=texts.t("chart.members"), bars=tuple(bars), labels=tuple(labels),
                 legend=tuple(Key(sector_label(texts, s), _sector_tone(s)) for s in sectors))


def participation(overview: Overview, texts: Texts, *, id: str = "chart-participation") -> Chart | None:
    """Answers per week, summed over the coalitions; weeks without answers show as zero."""
    answers: dict[date, int] = {}
    for w in overview.weeks:
        answers[w.week] = answers.get(w.week, 0) + w.answers
    if not any(answers.values()):
        return None
    scope = overview.scope
    # The whole period's weeks (`until` is exclusive), and any week with answers outside it.
    weeks = _mondays(min(_day(scope.since), *answers), max(_day(scope.until - timedelta(microseconds=1)), *answers))
    counts = [answers.get(w, 0) for w in weeks]
    left, top, right, bottom = 44, 24, WIDTH - 12, 220
    step, end = _nice(max(counts))
    scale = (bottom - top) / end
    slot = (right - left) / len(weeks)
    bars = tuple(Bar(_r(left + i * slot + slot * 0.15), _r(bottom - n * scale), _r(slot * 0.7), _r(n * scale), "tone-0",
                     texts.t("chart.value", label=short_day(texts, w), value=texts.number(n, 0)))
                 for i, (w, n) in enumerate(zip(weeks, counts)) if n)
    every = math.ceil(len(weeks) / 8)  # at most 8 week labels: they must not overlap
    x_ticks = tuple(Tick(_r(left + (i + 0.5) * slot), short_day(texts, w), grid=False)
                    for i, w in enumerate(weeks) if i % every == 0)
    y_ticks = tuple(Tick(_r(bottom - v * scale), texts.number(v, 0)) for v in range(0, end + 1, step))
    return Chart(id, texts.t("chart.participation"), WIDTH, bottom + 44, left, top, right, bottom, x_ticks, y_ticks,
                 texts.t("chart.week"), texts.t("chart.answers"), bars=bars)


def impact_trend(experiments: Sequence[ExperimentItem], texts: Texts, *, id: str = "chart-impact") -> Chart | None:
    """Weekly average perceived impact (1-5), one line per experiment with the most check-ins."""
    ranked = sorted((e for e in experiments if e.trend), key=lambda e: (-e.checkins, e.id))[:TREND_LINES]
    if not ranked:
        return None
    weeks = _mondays(min(p.week for e in ranked for p in e.trend), max(p.week for e in ranked for p in e.trend))
    left, top, right, bottom = 44, 24, WIDTH - 12, 220
    slot = (right - left) / len(weeks)
    index = {w: i for i, w in enumerate(weeks)}

    def y(value: float) -> float:  # 0.8 .. 5.2, so points on 1 and 5 are not cut by the frame
        return _r(bottom - (value - 0.8) / 4.4 * (bottom - top))

    lines = []
    for n, e in enumerate(ranked):
        dots = tuple(Dot(_r(left + (index[_monday(p.week)] + 0.5) * slot), y(p.average),
                         f"{e.title} · " + texts.t("chart.value", label=short_day(texts, p.week),
                                                    value=one_decimal(texts, p.average)))
                     for p in e.trend)
        lines.append(Line(" ".join(f"{d.x},{d.y}" for d in dots), dots, f"tone-{n % TONES}"))
    every = math.ceil(len(weeks) / 8)
    x_ticks = tuple(Tick(_r(left + (i + 0.5) * slot), short_day(texts, w), grid=False)
                    for i, w in enumerate(weeks) if i % every == 0)
    y_ticks = tuple(Tick(y(v), texts.number(v, 0)) for v in range(1, 6))
    legend = tuple(Key(_cut(e.title, TITLE_CHARS), f"tone-{n % TONES}", e.title) for n, e in enumerate(ranked))
    return Chart(id, texts.t("chart.impact"), WIDTH, bottom + 44, left, top, right, bottom, x_ticks, y_ticks,
                 texts.t("chart.week"), texts.t("chart.impact_axis"), lines=tuple(lines), legend=legend)


def timeline(experiments: Sequence[ExperimentItem], since: date | datetime, until: date | datetime,
             today: date | datetime, texts: Texts, *, id: str = "chart-timeline") -> Chart | None:
    """A bar per experiment from its first to its last day, coloured by status; overdue ones
    (ended, no decision) stand out; a line marks today."""
    if not experiments:
        return None
    rows = sorted(experiments, key=lambda e: (e.starts_on, e.ends_on, e.id))
    first = min(_day(since), *(e.starts_on for e in rows))
    last = max(_day(until), *(e.ends_on for e in rows)) + timedelta(days=1)  # exclusive: the last day is drawn
    left = _label_column([e.title for e in rows])
    top, right = 24, WIDTH - 28  # room for a month label at the range's end
    bottom = top + ROW * len(rows)
    scale = (right - left) / (last - first).days

    def x(d: date) -> float:
        return _r(left + (min(max(d, first), last) - first).days * scale)

    bars, labels = [], []
    for i, e in enumerate(rows):
        y = top + i * ROW + (ROW - BAR) / 2
        css = f"status-{e.status}" if e.status in STATUSES else "status-other"
        overdue = " overdue" if e.needs_decision else ""
        status = texts.t("chart.overdue") if e.needs_decision else status_label(texts, e.status)
        tip = texts.t("chart.span", title=e.title, first=texts.date(e.starts_on), last=texts.date(e.ends_on),
                      status=status)  # with the year: a timeline may cross one
        start = x(e.starts_on)
        bars.append(Bar(start, _r(y), _r(max(x(e.ends_on + timedelta(days=1)) - start, 1)), BAR, css + overdue, tip))
        labels.append(Label(left - 6, _r(y + BAR / 2), _cut(e.title, LABEL_CHARS), "chart-row" + overdue, tip=e.title))
    rules = ()
    day = _day(today)
    if first <= day < last:
        at = _r(x(day) + scale / 2)  # the middle of today: a bar that includes today crosses it
        anchor = "end" if at > right - 30 else "start" if at < left + 30 else "middle"
        rules = (Rule(at, Label(at, top - 8, texts.t("chart.today"), "chart-today-label", anchor), "chart-today"),)
    legend = [Key(status_label(texts, s), f"status-{s}") for s in STATUSES
              if any(e.status == s and not e.needs_decision for e in rows)]  # an overdue bar shows as overdue
    if any(e.needs_decision for e in rows):
        legend.append(Key(texts.t("chart.overdue"), "status-ended overdue"))
    return Chart(id, texts.t("chart.timeline"), WIDTH, bottom + 28, left, top, right, bottom,
                 x_ticks=_month_ticks(first, last, x, texts), bars=tuple(bars), labels=tuple(labels),
                 rules=rules, legend=tuple(legend))


# -- helpers ---------------------------------------------------------------------------


def _r(value: float) -> float:
    return round(value, 1)  # a tenth of a unit is finer than any screen shows; keeps markup small


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _label_column(texts: Sequence[str]) -> float:
    """The plot's left edge: room for the longest (cut) row label, within reason."""
    longest = max((len(_cut(t, LABEL_CHARS)) for t in texts), default=0)
    return _r(min(max(40, 12 + longest * CHAR), 190))


def _nice(most: int, ticks: int = 5) -> tuple[int, int]:
    """An integer tick step of 1, 2 or 5 × 10^k giving at most `ticks` steps, and the axis end."""
    power = 10 ** max(0, int(math.log10(max(most, 1))) - 1)
    step = next(s * p for p in (power, power * 10, power * 100) for s in (1, 2, 5) if s * p * ticks >= most)
    return step, max(step, math.ceil(most / step) * step)


def _sector_tone(code: str) -> str:
    """A sector keeps its colour on every chart: by its place in the usual order."""
    at = SECTOR_ORDER.index(code) if code in SECTOR_ORDER else len(SECTOR_ORDER)
    return f"tone-{at % TONES}"


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _monday(value: date) -> date:
    return value - timedelta(days=value.weekday())


def _mondays(first: date, last: date) -> list[date]:
    """Every week from `first`'s to `last`'s: a week without data is a gap, not skipped."""
    start = _monday(first)
    return [start + timedelta(weeks=i) for i in range((_monday(last) - start).days // 7 + 1)]


def _month_ticks(first: date, last: date, x, texts: Texts) -> tuple[Tick, ...]:
    """The first of each month in [first, last), thinned to about 8; weeks when under two months."""
    months = []
    d = date(first.year, first.month, 1)
    while d < last:
        if d >= first:
            months.append(d)
        d = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    if len(months) < 2:
        weeks = [w for w in _mondays(first, last) if w >= first]
        return tuple(Tick(x(w), short_day(texts, w)) for w in weeks[:: max(1, math.ceil(len(weeks) / 8))])
    every = next(s for s in (1, 2, 3, 6, 12, 24, 60) if len(months) / s <= 8)
    shown = [m for m in months if (m.month - 1) % every == 0] or months[:1]
    # The year with the first month shown and with each January: a timeline may cross years.
    return tuple(Tick(x(m), format_skeleton("yMMM" if i == 0 or m.month == 1 else "MMM", m, locale=texts.locale))
                 for i, m in enumerate(shown))
