"""The dashboard's charts: geometry from `adapters.web.charts`, drawn by the macros of
`templates/dashboard/_charts.html` through the web's real Jinja2 environment, and read back
as XML for what a reader would notice: lengths in proportion, every sector in the legend,
today's line through what runs today, user text escaped, and nothing the CSP would block."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta, timezone

import pytest

from adapters.report import sector_label
from adapters.web import charts, render
from bot.digest import Audience, CoalitionFigures, ExperimentItem, ImpactPoint, Overview, OutsideIn, Scope, WeekActivity
from tests.support import texts

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script>"
CSS = render.HERE / "static" / "charts.css"
SINCE, UNTIL = datetime(2026, 1, 5, tzinfo=timezone.utc), datetime(2026, 3, 2, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def en():
    return texts("en")


@pytest.fixture(scope="module")
def env():
    return render.environment()


def figures(cid: str, sectors: dict[str, int] | None = None,
            principles: dict[int, int] | None = None) -> CoalitionFigures:
    return CoalitionFigures(cid, sectors or {}, (), 0, 0, 0, 0, 0, 0, principles or {}, OutsideIn(0, 0, 0), 0, 0)


def overview(*coalitions: CoalitionFigures, weeks=(), principles=((1, "New pathways"), (2, "Listen"), (3, "Share"))):
    scope = Scope(Audience.MOVEMENT, tuple(c.coalition_id for c in coalitions), SINCE, UNTIL)
    return Overview(scope, principles, coalitions, tuple(weeks))


def experiment(id: int, title: str = "Open library", starts=date(2026, 1, 12), ends=date(2026, 2, 20),
               status="running", trend=(), checkins=0, overdue=False) -> ExperimentItem:
    return ExperimentItem(id, "harbour", title, starts, ends, status, checkins, None, tuple(trend), (), (), {}, None,
                          overdue)


def draw(env, macro: str, model) -> str:
    return env.from_string(f'{{% from "dashboard/_charts.html" import {macro} %}}{{{{ {macro}(m) }}}}').render(m=model)


def parsed(html: str) -> ET.Element:
    return ET.fromstring(html)  # the whole figure (or table) must be well-formed XML


def svg_of(figure: ET.Element) -> ET.Element:
    svg = figure.find(f"{SVG}svg")
    assert svg is not None
    return svg


def rects(svg: ET.Element) -> list[ET.Element]:
    return svg.findall(f".//{SVG}rect")


def texts_of(svg: ET.Element, css: str) -> list[str]:
    return ["".join(t.itertext()) for t in svg.iter(f"{SVG}text") if css in t.get("class", "").split()]


def legend(figure: ET.Element) -> list[str]:
    return ["".join(li.itertext()).strip() for li in figure.iter("li")]


def assert_safe(html: str) -> None:
    """Nothing the CSP (no inline style, no script) would block or an attacker could inject."""
    assert "<script" not in html.lower()
    assert "style=" not in html.lower() and "<style" not in html.lower()


def assert_titled(figure: ET.Element, title: str) -> None:
    svg = svg_of(figure)
    assert svg.get("role") == "img"
    label = svg.find(f"{SVG}title")
    assert label is not None and label.text == title and svg.get("aria-labelledby") == label.get("id")
    # Scales with its container: a viewBox, no fixed size.
    assert svg.get("viewBox", "").startswith("0 0 ") and svg.get("width") == "100%" and svg.get("height") is None


# -- sector balance ----------------------------------------------------------------------


def test_sector_bars_are_as_long_as_the_members_and_the_legend_names_every_sector(env, en):
    data = overview(figures("harbour", {"public": 4, "business": 2}), figures("school", {"public": 1, "citizen": 2}))
    chart = charts.sector_balance(data, {"harbour": "Harbour"}, en)
    html = draw(env, "sector_balance", chart)
    figure = parsed(html)
    assert_safe(html)
    assert_titled(figure, en.t("chart.sectors"))
    bars = rects(svg_of(figure))
    widths = [float(b.get("width")) for b in bars]
    per_member = [w / n for w, n in zip(widths, [4, 2, 1, 2])]  # sectors in order, coalitions in order
    assert max(per_member) - min(per_member) < 0.2
    harbour, school = sum(widths[:2]), sum(widths[2:])
    assert harbour > school  # six members against three: twice as long
    assert harbour == pytest.approx(2 * school, abs=0.3)
    # A sector has one colour in every coalition.
    assert {b.get("class") for b in bars} == {"chart-bar tone-0", "chart-bar tone-1", "chart-bar tone-4"}
    assert bars[0].get("class") == bars[2].get("class")
    assert legend(figure) == [sector_label(en, s) for s in ("public", "business", "citizen")]
    assert texts_of(svg_of(figure), "chart-row") == ["Harbour", "school"]  # the id when no name is given
    assert texts_of(svg_of(figure), "chart-value") == ["6", "3"]  # each bar's total at its end


def test_fifty_coalitions_keep_bars_readable(env, en):
    coalitions = [figures(f"c{i}", {"public": 1 + i % 7, "education": i % 3}) for i in range(50)]
    figure = parsed(draw(env, "sector_balance", charts.sector_balance(overview(*coalitions), {}, en)))
    rows = sorted({float(b.get("y")) for b in rects(svg_of(figure))})
    assert len(rows) == 50
    assert all(float(b.get("height")) >= 14 for b in rects(svg_of(figure)))
    assert min(b - a for a, b in zip(rows, rows[1:])) >= 18  # rows do not touch
    ticks = texts_of(svg_of(figure), "chart-tick")
    assert 2 <= len(ticks) <= 7 and all(t.isdigit() for t in ticks)  # a few whole numbers


# -- heat map --------------------------------------------------------------------------


def test_heatmap_shades_the_busiest_cell_darkest_and_shows_every_number(env, en):
    data = overview(figures("harbour", principles={1: 12, 2: 1}), figures("school", principles={1: 3, 2: 5}),
                    figures("park", principles={2: 2}))
    html = draw(env, "heatmap", charts.heatmap(data, {"harbour": "Harbour"}, en))
    assert_safe(html)
    table = parsed(html).find("table")
    assert table.find("caption").text == en.t("chart.heatmap")
    assert [th.get("scope") for th in table.find("thead").iter("th")] == ["col"] * 4
    body = [[(td.text, td.get("class")) for td in tr.iter("td")] for tr in table.find("tbody")]
    assert [tr.find("th").text for tr in table.find("tbody")] == ["Harbour", "school", "park"]
    assert [tr.find("th").get("scope") for tr in table.find("tbody")] == ["row"] * 3
    assert body[0][0] == ("12", "heat-4")  # the busiest
    assert body[0][2] == ("0", "heat-0") and body[2][0] == ("0", "heat-0")
    assert body[0][1] == ("1", "heat-1")  # the quietest non-zero
    levels = {int(v): int(c[-1]) for row in body for v, c in row}
    assert [levels[v] for v in sorted(levels)] == sorted(levels[v] for v in levels)  # more is never lighter
    # The movement's totals: principle 3 is quiet everywhere, and says so.
    totals = [(td.text, td.get("class")) for td in table.find("tfoot").iter("td")]
    assert totals == [("15", "heat-total"), ("8", "heat-total"), ("0", "heat-quiet")]


def test_heatmap_with_equal_counts_is_all_dark_and_numbers_follow_the_language(env):
    da = texts("da")
    heat = charts.heatmap(overview(figures("a", principles={1: 1234}), figures("b", principles={1: 1234})), {}, da)
    assert [r.cells[0] for r in heat.rows] == [charts.HeatCell(1234, "1.234", "heat-4")] * 2


# -- participation ---------------------------------------------------------------------


def test_participation_sums_coalitions_per_week_in_proportion(env, en):
    weeks = [WeekActivity(date(2026, 1, 12), "a", 6), WeekActivity(date(2026, 1, 12), "b", 4),
             WeekActivity(date(2026, 2, 2), "a", 5)]
    chart = charts.participation(overview(figures("a"), figures("b"), weeks=weeks), en)
    html = draw(env, "participation", chart)
    figure = parsed(html)
    assert_safe(html)
    assert_titled(figure, en.t("chart.participation"))
    bars = rects(svg_of(figure))
    assert len(bars) == 2  # quiet weeks draw nothing, but keep their place
    heights = [float(b.get("height")) for b in bars]
    assert heights[0] == pytest.approx(2 * heights[1], abs=0.2)  # 10 answers against 5
    assert [b.find(f"{SVG}title").text for b in bars] == ["Jan 12: 10", "Feb 2: 5"]
    # Columns stand on the axis; the weeks of the whole period are there, from its first Monday.
    assert {float(b.get("y")) + float(b.get("height")) for b in bars} == {chart.bottom}
    assert texts_of(svg_of(figure), "chart-tick")[-8:][0] == "Jan 5"
    slot = (chart.right - chart.left) / 8
    assert float(bars[1].get("x")) - float(bars[0].get("x")) == pytest.approx(3 * slot, abs=0.2)  # Jan 12 to Feb 2


def test_many_weeks_get_few_labels(env, en):
    weeks = [WeekActivity(date(2025, 1, 6) + timedelta(weeks=i), "a", 1 + i % 4) for i in range(52)]
    chart = charts.participation(overview(figures("a"), weeks=weeks), en)
    assert len(chart.bars) == 52 and len(chart.x_ticks) <= 8


# -- impact trend ----------------------------------------------------------------------


def trend(*averages: float) -> list[ImpactPoint]:
    return [ImpactPoint(date(2026, 1, 12) + timedelta(weeks=i), a, 2) for i, a in enumerate(averages)]


def test_impact_trend_draws_the_eight_busiest_experiments_on_a_one_to_five_scale(env, en):
    long_title = "A very long experiment title that goes on and on and on"
    experiments = [experiment(i, f"Experiment {i}", trend=trend(1, 3, 5), checkins=i) for i in range(1, 11)]
    experiments.append(experiment(20, long_title, trend=trend(2, 4), checkins=50))
    experiments.append(experiment(21, "No check-ins yet", checkins=99))  # no trend: no line
    html = draw(env, "impact_trend", charts.impact_trend(experiments, en))
    figure = parsed(html)
    assert_safe(html)
    assert_titled(figure, en.t("chart.impact"))
    lines = svg_of(figure).findall(f".//{SVG}polyline")
    assert len(lines) == 8
    keys = legend(figure)
    assert keys[0] == long_title[:39].rstrip() + "…" and len(keys[0]) <= 40
    assert keys[1:] == [f"Experiment {i}" for i in range(10, 3, -1)]  # the most check-ins first
    ys = [float(p.split(",")[1]) for p in lines[1].get("points").split()]
    assert ys[0] > ys[1] > ys[2]  # 1, 3, 5: higher up the page
    assert ys[1] - ys[2] == pytest.approx(ys[0] - ys[1], abs=0.2)
    assert texts_of(svg_of(figure), "chart-tick")[:5] == ["1", "2", "3", "4", "5"]


# -- timeline --------------------------------------------------------------------------


def test_timeline_marks_today_through_what_runs_and_flags_overdue(env, en):
    today = date(2026, 2, 1)
    experiments = [experiment(1, "Open library", date(2026, 1, 12), date(2026, 2, 20), "running"),
                   experiment(2, "Street party", date(2026, 3, 1), date(2026, 4, 1), "planned"),
                   experiment(3, "Old habit", date(2025, 12, 1), date(2026, 1, 20), "ended", overdue=True)]
    chart = charts.timeline(experiments, SINCE, UNTIL, today, en)
    html = draw(env, "timeline", chart)
    figure = parsed(html)
    assert_safe(html)
    assert_titled(figure, en.t("chart.timeline"))
    svg = svg_of(figure)
    today_line = next(l for l in svg.iter(f"{SVG}line") if l.get("class") == "chart-today")
    at = float(today_line.get("x1"))
    bars = {b.find(f"{SVG}title").text.split(":")[0]: b for b in rects(svg)}
    running = bars["Open library"]
    assert float(running.get("x")) < at < float(running.get("x")) + float(running.get("width"))
    assert float(bars["Street party"].get("x")) > at and "status-planned" in bars["Street party"].get("class")
    old = bars["Old habit"]
    assert "overdue" in old.get("class") and float(old.get("x")) + float(old.get("width")) < at
    assert texts_of(svg, "chart-today-label") == [en.t("chart.today")]
    assert texts_of(svg, "overdue") == ["Old habit"]  # said in words too, not only in colour
    # The range reaches from the earliest start to the latest end, with month labels.
    assert float(old.get("x")) == chart.left
    party = bars["Street party"]
    assert float(party.get("x")) + float(party.get("width")) == pytest.approx(chart.right, abs=0.2)
    assert texts_of(svg, "chart-tick") == ["Dec 2025", "Jan 2026", "Feb", "Mar", "Apr"]
    assert legend(figure) == ["Planned", "Running", en.t("chart.overdue")]


def test_timeline_outside_today_draws_no_today_line(en):
    chart = charts.timeline([experiment(1)], SINCE, UNTIL, date(2027, 1, 1), en)
    assert chart.rules == ()


# -- all charts ------------------------------------------------------------------------


def test_nothing_to_draw_gives_none(en):
    empty = overview()
    assert charts.heatmap(empty, {}, en) is None
    assert charts.sector_balance(empty, {}, en) is None
    assert charts.participation(empty, en) is None
    assert charts.impact_trend([], en) is None
    assert charts.timeline([], SINCE, UNTIL, date(2026, 2, 1), en) is None
    quiet = overview(figures("a"), weeks=[WeekActivity(date(2026, 1, 12), "a", 0)])
    assert charts.heatmap(quiet, {}, en) is None and charts.sector_balance(quiet, {}, en) is None
    assert charts.participation(quiet, en) is None
    assert charts.impact_trend([experiment(1, checkins=3)], en) is None  # no weekly averages yet


def every_chart(en) -> dict[str, object]:
    """Every chart with a hostile name or title, every sector, status, tone and shade."""
    codes = ("public", "business", "civil_society", "education", "citizen", "other", "guild")  # guild: unknown
    sectors = {s: i + 1 for i, s in enumerate(codes)}
    data = overview(figures("harbour", sectors, {1: 9, 2: 1, 3: 2}), figures("school", {"public": 2}, {1: 4, 2: 7}),
                    weeks=[WeekActivity(date(2026, 1, 12), "harbour", 3)])
    names = {"harbour": HOSTILE}
    experiments = [experiment(i, HOSTILE if i == 0 else f"E{i}", status=("planned", "running", "ended", "odd")[i % 4],
                              trend=trend(2, 3), checkins=9 - i, overdue=i == 2) for i in range(9)]
    return {
        "heatmap": charts.heatmap(data, names, en),
        "sector_balance": charts.sector_balance(data, names, en),
        "participation": charts.participation(data, en),
        "impact_trend": charts.impact_trend(experiments, en),
        "timeline": charts.timeline(experiments, SINCE, UNTIL, date(2026, 2, 1), en),
    }


def test_user_text_is_escaped_and_nothing_inline_is_needed(env, en):
    for macro, model in every_chart(en).items():
        html = draw(env, macro, model)
        assert_safe(html)
        if macro == "participation":
            continue  # weeks and numbers only: no user text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, macro
        assert HOSTILE in "".join(parsed(html).itertext()), macro  # read back as the text it was


def test_the_stylesheet_defines_every_class_the_charts_use(env, en):
    used: set[str] = set()
    for macro, model in every_chart(en).items():
        for element in parsed(draw(env, macro, model)).iter():
            used.update(element.get("class", "").split())
    defined = set(re.findall(r"\.([a-z][\w-]*)", re.sub(r"/\*.*?\*/", "", CSS.read_text(encoding="utf-8"), flags=re.S)))
    assert used - defined == set()
    # The data above reach every colour: 8 tones, 3 statuses and overdue, 5 shades.
    assert {f"tone-{i}" for i in range(8)} | {f"heat-{i}" for i in range(5)} | {"overdue", "status-other"} <= used


def test_the_template_writes_no_colour_or_size_of_its_own():
    template = (render.HERE / "templates" / "dashboard" / "_charts.html").read_text(encoding="utf-8")
    assert not re.search(r"\b(fill|stroke|font-size|font-family|style)=", template)


def test_the_macros_by_shape_draw_the_same(env, en):
    model = every_chart(en)["timeline"]
    assert draw(env, "gantt", model) == draw(env, "timeline", model) == draw(env, "chart", model)
