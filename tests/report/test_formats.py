"""Report formats (adapters/report): Markdown, self-contained HTML, JSON and CSV of one digest.

The digest is built by hand and covers every section, with an anonymous story, a quiet
principle, an experiment whose timebox ended without a decision, a coalition missing
sectors, and hostile text (HTML, a spreadsheet formula, Markdown links, emoji, æøå and
Arabic) in every place user text can reach.

Regenerate the golden Markdown with `UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/report`.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from adapters import report
from adapters.report import csvout, html, jsonout, markdown
from bot.digest import (
    Audience,
    Digest,
    ExperimentItem,
    ImpactPoint,
    Mobilisation,
    OutsideIn,
    Participation,
    PrincipleCount,
    Scope,
    StoryItem,
    StrengthItem,
)
from bot.export import FORMULA_START
from tests.golden import golden
from tests.report.languages import EN

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
SCHEMA = json.loads((ROOT / "docs" / "digest.schema.json").read_text(encoding="utf-8"))
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=FormatChecker())
UTC = timezone.utc

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("x")'
MARKDOWN = "**bold** [x](http://evil)"
WORLD = "Hej æøå ÆØÅ 🌱 مرحبا بالعالم"
AUTHOR = "Amina Hassan"
SECRET_AUTHOR = "Sofie Dahl"  # wrote the anonymous story: must appear in no output
MOVEMENT = "Fjordby Co-creation Movement"
NAMES = {"harbour": "Harbour Youth", "north": "Nordby Æblegård"}

PRINCIPLE_TITLES = [
    "New pathways to welfare across sectors",
    "Solve societal problems and challenge habitual thinking",
    "An equal partnership where everyone brings knowledge and ideas",
    "More collective action through active participation",
    "Public value through a diversity of ideas and resources",
    "Measurable effects through concrete interactions",
    "Be an ambassador by sharing knowledge and experiences",
]
COUNTS = {1: (2, 1), 2: (1, 0), 3: (0, 1), 4: (0, 0), 5: (3, 0), 6: (1, 2), 7: (0, 2)}  # #4 is quiet

SCOPE = Scope(Audience.MOVEMENT, ("harbour", "north"), datetime(2025, 3, 3, tzinfo=UTC),
              datetime(2025, 3, 10, tzinfo=UTC))

DIGEST = Digest(
    scope=SCOPE,
    stories=(
        StoryItem(11, "harbour", MARKDOWN, f"{SCRIPT} then the library stayed open late.", (3, 7),
                  ("civil_society", "citizen"), AUTHOR, "movement", datetime(2025, 3, 4, 9, 12, tzinfo=UTC)),
        StoryItem(12, "north", FORMULA, WORLD, (7,), ("public",), None, "public",
                  datetime(2025, 3, 5, 16, 0, tzinfo=UTC)),
    ),
    principles=tuple(PrincipleCount(n, t, *COUNTS[n]) for n, t in enumerate(PRINCIPLE_TITLES, 1)),
    experiments=(
        ExperimentItem(
            21, "harbour", f"Library late hours {SCRIPT}", date(2025, 2, 3), date(2025, 4, 27), "running", 5, 3.8,
            (ImpactPoint(date(2025, 2, 17), 3.0, 2), ImpactPoint(date(2025, 2, 24), 3.5, 2),
             ImpactPoint(date(2025, 3, 3), 4.25, 1)),
            ("More young people came after 8 pm", MARKDOWN), (FORMULA, WORLD),
            {"continue": 2, "adjust": 1}, "adjust", False,
        ),
        ExperimentItem(
            22, "north", "Youth café 🌱", date(2025, 1, 6), date(2025, 3, 2), "ended", 3, 2.5,
            (ImpactPoint(date(2025, 2, 17), 3.0, 2), ImpactPoint(date(2025, 2, 24), 2.0, 1)),
            (), (), {}, None, True,
        ),
        ExperimentItem(23, "north", "Walk and talk", date(2025, 4, 7), date(2025, 5, 4), "planned", 0, None,
                       (), (), (), {}, None, False),
    ),
    mobilisation=(
        Mobilisation("harbour", {"public": 2, "business": 1, "civil_society": 1, "citizen": 2}, 1, ("education",), 2),
        Mobilisation("north", {"public": 1, "education": 1}, 0, ("business", "citizen"), 0),
    ),
    outside_in=OutsideIn(4, 5, 1),
    strengths=(
        StrengthItem(31, "harbour", "Young people ran the meeting", f"We asked them first {WORLD}",
                     f"- [x](javascript:alert(1)) {FORMULA}"),
    ),
    participation=Participation(12, 5, 10, 7),
    marks={"stories": 12, "checkins": 40},
)

QUIET = Digest(scope=replace(SCOPE, new_only=True),
               principles=tuple(PrincipleCount(n, t, 0, 0) for n, t in enumerate(PRINCIPLE_TITLES, 1)))


def outputs(digest: Digest = DIGEST) -> dict[str, str]:
    """Every format's text, CSV files by name."""
    texts = {
        "markdown": markdown.render(digest, NAMES, MOVEMENT, EN),
        "html": html.render(digest, NAMES, MOVEMENT, EN),
        "json": jsonout.render(digest, NAMES, MOVEMENT, EN),
    }
    texts.update(csvout.render(digest, NAMES, MOVEMENT, EN))
    return texts


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return outputs()


# -- HTML walked with the standard library ---------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
URL_ATTRIBUTES = {"src", "href", "xlink:href", "action", "formaction", "data", "poster", "srcset", "background"}


class Page(HTMLParser):
    """Tags with attributes, visible text, and each <svg>'s first child and <title> text.
    Checks as it goes that every element is closed in order."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.texts: list[str] = []
        self.svgs: list[dict] = []
        self.stack: list[str] = []
        self.feed(text)
        self.close()
        assert self.stack == [], f"unclosed elements: {self.stack}"

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if self.stack and self.stack[-1] == "svg" and self.svgs[-1]["first"] is None:
            self.svgs[-1]["first"] = tag
        if tag == "svg":
            self.svgs.append({"attrs": attributes, "first": None, "title": "", "title_id": None})
        if tag == "title" and "svg" in self.stack:
            self.svgs[-1]["title_id"] = attributes.get("id")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data):
        self.texts.append(data)
        if self.stack and self.stack[-1] == "title" and "svg" in self.stack:
            self.svgs[-1]["title"] += data

    @property
    def text(self) -> str:
        return "".join(self.texts)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for t, attrs in self.tags if t == tag]


# -- Markdown --------------------------------------------------------------------------


def test_markdown_golden(rendered):
    golden(GOLDEN / "digest.md", rendered["markdown"])


def test_markdown_has_every_section_in_order(rendered):
    text = rendered["markdown"]
    assert text.startswith(f"# {MOVEMENT}: co-creation digest\n")
    assert "Period: Mar 3, 2025 – Mar 9, 2025" in text  # `until` is exclusive
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert headings == [title for _, title in report.headings(EN)]


def test_markdown_says_what_the_method_asks_for(rendered):
    text = rendered["markdown"]
    assert "Nobody reflected on \\#4 “More collective action through active participation” yet: who will start?" in text
    assert text.count("Nobody reflected on") == 1  # only the quiet principle
    assert "| #4 More collective action through active participation | 0 | 0 |" in text
    assert "⚠ timebox ended without a decision" in text
    assert text.count("⚠") == 1
    assert "Trend: ↑ rising (3.5 → 4.3)" in text  # 4.25 rounds half up
    assert "Trend: ↓ falling (3.0 → 2.0)" in text
    assert "Decisions: Continue ×2, Adjust ×1; latest: Adjust" in text
    assert "Average perceived impact: 3.8 / 5" in text
    assert "Nobody from Education / research at the table yet: who could you invite?" in text
    assert "Nobody from Citizen / user at the table yet" in text
    assert "At the table: 6 (Public sector 2, Business 1, Civil society / association 1, Citizen / user 2)" in text
    assert "Hidden treasures mapped in this period: 2" in text
    assert "40% of 10 perspectives came from citizens and users (4), 5 from institutions" in text
    assert "Prompts: 10 sent, 7 answered, response rate 70%" in text
    assert "By Amina Hassan, Mar 4, 2025" in text
    assert "Shared anonymously, Mar 5, 2025" in text


def test_markdown_escapes_user_text(rendered):
    text = rendered["markdown"]
    assert "### \\*\\*bold\\*\\* \\[x\\](http://evil)" in text
    assert "**bold**" not in text and "[x](" not in text
    assert "\\<script\\>alert(1)\\</script\\>" in text and SCRIPT not in text
    assert "\\- \\[x\\](javascript:alert(1))" in text
    assert WORLD in text  # non-ASCII text is left alone
    assert "### \\=HYPERLINK(\"x\")" in text  # "=" would make a setext heading after a line


def test_markdown_not_tracked_prompts_and_coalition_audience():
    digest = replace(DIGEST, scope=Scope(Audience.COALITION, ("harbour",), SCOPE.since, SCOPE.until),
                     participation=Participation(3, 2))
    text = markdown.render(digest, NAMES, MOVEMENT, EN)
    assert text.startswith("# Harbour Youth: co-creation digest\n")
    assert "Prompts: not tracked yet" in text
    assert "- Coalition:" not in text  # one coalition: not repeated on every item


def _unescape(text: str) -> str:
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


@given(st.text())
def test_markdown_escape_is_literal_and_reversible(text):
    escaped = markdown.escape(text)
    assert "\n" not in escaped
    assert _unescape(escaped) == " ".join(text.split())
    # Every character that could start markup is escaped (preceded by an odd run of backslashes).
    for match in re.finditer(r"[`*_\[\]<>|~#&]", escaped):
        run = len(escaped[: match.start()]) - len(escaped[: match.start()].rstrip("\\"))
        assert run % 2 == 1, (text, escaped)
    assert not re.match(r"[-+=>]|\d+[.)]", escaped)


def test_nothing_new_is_one_line():
    assert QUIET.nothing_new
    text = markdown.render(QUIET, NAMES, MOVEMENT, EN)
    body = text.split("Period: ", 1)[1].splitlines()[1:]
    assert [line for line in body if line.strip()] == [EN.t("report.nothing_new")]
    assert "## " not in text

    page = Page(html.render(QUIET, NAMES, MOVEMENT, EN))
    assert EN.t("report.nothing_new") in page.text
    assert page.named("section") == [] and page.svgs == []


# -- HTML ------------------------------------------------------------------------------


def test_html_is_self_contained(rendered):
    page = Page(rendered["html"])
    tags = {tag for tag, _ in page.tags}
    assert not tags & {"script", "link", "iframe", "object", "embed", "img", "a", "foreignobject", "base"}
    assert "<script" not in rendered["html"].lower()
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), f"<{tag} {name}>"
            if name in URL_ATTRIBUTES:
                assert value and value.startswith("#"), f"<{tag} {name}={value!r}>: only in-page references"
            assert "javascript:" not in (value or "")
    styles = " ".join(t for t in page.texts if "{" in t)
    assert "@import" not in styles and not re.search(r"url\(\s*['\"]?(?!#)", rendered["html"])
    assert page.named("meta")[0] == {"charset": "utf-8"}


def test_html_has_three_accessible_charts(rendered):
    page = Page(rendered["html"])
    assert len(page.svgs) == 3
    titles = set()
    for svg in page.svgs:
        assert svg["first"] == "title", "the <title> must be the svg's first child"
        assert svg["title"].strip()
        assert svg["attrs"]["role"] == "img"
        assert svg["attrs"]["aria-labelledby"] == svg["title_id"]
        titles.add(svg["title"])
    assert titles == set(report_charts_titles())
    ids = [attrs["id"] for _, attrs in page.tags if "id" in attrs]
    assert len(ids) == len(set(ids)), "ids are unique across the page (three inline SVGs)"
    assert 'svg.fonttype' not in rendered["html"] and "<path d=\"M " in rendered["html"]
    assert len(rendered["html"]) < 200_000


def report_charts_titles():
    from adapters.report import charts

    return [EN.t(key) for key in charts.TITLES.values()]


def test_html_sections_numbers_and_escaping(rendered):
    page = Page(rendered["html"])
    headings = [h for h in re.findall(r"<h2 id=\"h-[^\"]+\">([^<]+)</h2>", rendered["html"])]
    assert headings == [title for _, title in report.headings(EN)]
    text = page.text
    # hostile text is shown literally, never as markup
    for hostile in (SCRIPT, MARKDOWN, FORMULA, WORLD, "- [x](javascript:alert(1))"):
        assert hostile in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered["html"]
    # the charts' numbers are in tables too
    rows = re.findall(r"<tr><th scope=\"row\"[^>]*>([^<]+)</th>(.*?)</tr>", rendered["html"])
    cells = {head: re.findall(r"<td[^>]*>([^<]*)</td>", rest) for head, rest in rows}
    assert cells["#1 New pathways to welfare across sectors"] == ["2", "1"]
    assert cells["#4 More collective action through active participation"] == ["0", "0"]
    assert cells["Harbour Youth"] == ["2", "1", "1", "0", "2", "6", "1", "2"]  # 5 sectors, total, new, mapped
    assert cells["Mar 3, 2025"] == ["4.3", "1"]
    assert cells["Citizens and users"] == ["4"]
    assert cells["Prompts"] == ["10 sent, 7 answered, response rate 70%"]
    # the method's invitations and flags
    assert "Nobody reflected on #4 “More collective action through active participation” yet: who will start?" in text
    assert "⚠ timebox ended without a decision" in text
    assert "↑ rising (3.5 → 4.3)" in text and "↓ falling (3.0 → 2.0)" in text
    assert "Nobody from Business at the table yet: who could you invite?" in text
    assert "Shared anonymously" in text and f"By {AUTHOR}" in text


def test_html_skips_charts_without_data():
    digest = replace(
        DIGEST,
        principles=QUIET.principles,
        experiments=(DIGEST.experiments[2],),  # planned: no check-ins yet
        mobilisation=(Mobilisation("north", {}, 0, ("public", "business"), 0),),
    )
    page = Page(html.render(digest, NAMES, MOVEMENT, EN))
    assert page.svgs == []
    for chart in ("Principle chart", "Impact trend chart", "Sector balance chart"):
        assert f"{chart}: no data yet." in page.text


def test_html_charts_keep_text_as_text(rendered):
    # svg.fonttype none: labels are <text>, escaped by matplotlib, not glyph paths
    svg = rendered["html"].split('id="chart-trend"', 1)[1].split("</svg>", 1)[0]
    assert "<text" in svg and "Youth café 🌱" in svg
    assert "&lt;script&gt;" in svg  # an experiment title in the legend
    assert "<style type=\"text/css\">#chart-trend *{" in rendered["html"]  # scoped to its chart


# -- JSON ------------------------------------------------------------------------------


def test_json_validates_and_round_trips(rendered):
    data = json.loads(rendered["json"])
    VALIDATOR.validate(data)
    assert list(data)[0] == "format" and data["format"] == "cocreate.digest/1"
    assert jsonout.load(rendered["json"]) == replace(DIGEST, marks={})
    assert WORLD in rendered["json"]  # ensure_ascii=False
    assert rendered["json"].startswith('{\n  "format"')


def test_json_labels_dates_and_anonymity(rendered):
    data = json.loads(rendered["json"])
    assert data["audience"] == {"code": "movement", "label": "Movement"}
    assert data["period"] == {"since": "2025-03-03T00:00:00+00:00", "until": "2025-03-10T00:00:00+00:00"}
    first, anonymous = data["stories"]
    assert first["sectors"][0] == {"code": "civil_society", "label": "Civil society / association"}
    assert first["principles"][0] == {"number": 3, "title": PRINCIPLE_TITLES[2]}
    assert first["author"] == AUTHOR and first["anonymous"] is False
    assert anonymous["author"] is None and anonymous["anonymous"] is True
    assert anonymous["consent"] == {"code": "public", "label": "Public"}
    library, cafe, walk = data["experiments"]
    assert library["trend"][0] == {"week": "2025-02-17", "average": 3.0, "checkins": 2}
    assert library["trend_direction"] == "up" and cafe["trend_direction"] == "down" and walk["trend_direction"] is None
    assert library["decisions"] == [{"code": "continue", "label": "Continue", "count": 2},
                                    {"code": "adjust", "label": "Adjust", "count": 1}]
    assert library["latest_decision"] == {"code": "adjust", "label": "Adjust"}
    assert cafe["needs_decision"] is True and cafe["latest_decision"] is None
    assert walk["average_impact"] is None
    assert data["principles"][3] == {"number": 4, "title": PRINCIPLE_TITLES[3], "reflections": 0, "stories": 0,
                                     "quiet": True}
    assert data["mobilisation"][1]["missing_sectors"] == [{"code": "business", "label": "Business"},
                                                         {"code": "citizen", "label": "Citizen / user"}]
    assert data["outside_in"]["share"] == 0.4
    assert data["participation"]["response_rate"] == 0.7
    assert "marks" not in data


def test_json_empty_and_nothing_new_validate():
    for digest in (Digest(scope=SCOPE), QUIET, replace(DIGEST, participation=Participation(1, 1))):
        text = jsonout.render(digest, {}, MOVEMENT, EN)
        VALIDATOR.validate(json.loads(text))
        assert jsonout.load(text) == replace(digest, marks={})
    assert json.loads(jsonout.render(QUIET, NAMES, MOVEMENT, EN))["nothing_new"] is True
    assert json.loads(jsonout.render(Digest(scope=SCOPE), {}, MOVEMENT, EN))["coalitions"][1] == {"id": "north",
                                                                                              "name": "north"}


def test_json_schema_catches_a_leak():
    data = json.loads(jsonout.render(DIGEST, NAMES, MOVEMENT, EN))
    data["stories"][1]["author"] = SECRET_AUTHOR  # an anonymous story with an author
    assert not VALIDATOR.is_valid(data)
    data = json.loads(jsonout.render(DIGEST, NAMES, MOVEMENT, EN))
    data["stories"][0]["consent"] = {"code": "private", "label": "Only me"}
    assert not VALIDATOR.is_valid(data)


def test_json_needs_aware_times():
    naive = replace(DIGEST, scope=replace(SCOPE, since=datetime(2025, 3, 3)))
    with pytest.raises(ValueError, match="naive"):
        jsonout.render(naive, NAMES, MOVEMENT, EN)


def test_documented_example_matches_the_schema():
    doc = (ROOT / "docs" / "digest-json.md").read_text(encoding="utf-8")
    example = re.search(r"```json\n(.*?)```", doc, re.S)
    assert example, "docs/digest-json.md has a JSON example"
    VALIDATOR.validate(json.loads(example.group(1)))
    for key in SCHEMA["required"]:
        assert f"`{key}`" in doc, f"{key} is documented"


# -- CSV -------------------------------------------------------------------------------


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_csv_files_open_with_headers_and_safe_cells(rendered):
    assert set(csvout.FILES) == {"stories.csv", "principles.csv", "experiments.csv", "impact_trend.csv",
                                 "mobilisation.csv", "strengths.csv", "summary.csv"}
    lengths = {"stories.csv": 2, "principles.csv": 7, "experiments.csv": 3, "impact_trend.csv": 5,
               "mobilisation.csv": 2, "strengths.csv": 1, "summary.csv": 1}
    for name in csvout.FILES:
        header, *rows = read_csv(rendered[name])
        assert len(rows) == lengths[name], name
        assert all(len(row) == len(header) for row in rows), name
        for cell in (c for row in [header, *rows] for c in row):
            assert not cell.startswith(FORMULA_START), f"{name}: {cell!r}"
    stories = _rows(rendered["stories.csv"])
    assert stories[1]["title"] == "'" + FORMULA
    assert stories[1]["excerpt"] == WORLD
    assert stories[1]["author"] == "" and stories[1]["anonymous"] == "yes"
    assert stories[0]["author"] == AUTHOR and stories[0]["title"] == MARKDOWN
    assert stories[0]["sector_labels"] == "Civil society / association; Citizen / user"
    experiments = _rows(rendered["experiments.csv"])
    assert experiments[0]["unintended"] == f"'{FORMULA}; {WORLD}"  # lists: "; "-joined, then made safe
    assert experiments[0]["decisions_continue"] == "2" and experiments[0]["decisions_stop"] == "0"
    assert experiments[1]["needs_decision"] == "yes" and experiments[2]["average_impact"] == ""
    strengths = _rows(rendered["strengths.csv"])
    assert strengths[0]["enlarge"].startswith("'- [x]")
    mobilisation = _rows(rendered["mobilisation.csv"])
    assert mobilisation[0]["members_citizen"] == "2" and mobilisation[0]["members_education"] == "0"
    assert mobilisation[1]["missing_sector_labels"] == "Business; Citizen / user"
    summary = _rows(rendered["summary.csv"])[0]
    assert summary["outside_in_share"] == "0.40" and summary["response_rate"] == "0.70"
    assert summary["coalitions"] == "Harbour Youth; Nordby Æblegård"


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_csv_headers_when_empty(tmp_path):
    files = csvout.render(Digest(scope=SCOPE, participation=Participation(0, 0)), {}, MOVEMENT, EN)
    for name, text in files.items():
        header, *rows = read_csv(text)
        assert header, name
        assert len(rows) == (1 if name == "summary.csv" else 0), name
    assert _rows(files["summary.csv"])[0]["prompts_sent"] == ""

    written = csvout.write_dir(tmp_path / "digest", files)
    assert sorted(p.name for p in written) == sorted(csvout.FILES)
    for path in written:
        assert path.read_bytes() == files[path.name].encode("utf-8")


def test_csv_write_dir_round_trips(rendered, tmp_path):
    files = {name: rendered[name] for name in csvout.FILES}
    for path in csvout.write_dir(tmp_path, files):
        with path.open(encoding="utf-8", newline="") as f:
            assert list(csv.reader(f)) == read_csv(files[path.name])


# -- every format ----------------------------------------------------------------------


def test_anonymous_author_appears_in_no_format(rendered):
    assert SECRET_AUTHOR not in repr(DIGEST)  # storage blanked it: nothing to leak from
    for name, text in rendered.items():
        assert SECRET_AUTHOR not in text, name
        assert "Sofie" not in text, name
    for name in ("markdown", "html", "json", "stories.csv"):
        assert AUTHOR in rendered[name], f"{name} shows a named author (so the search above can fail)"


def test_render_by_name():
    assert report.render("md", DIGEST, NAMES, MOVEMENT, EN) == markdown.render(DIGEST, NAMES, MOVEMENT, EN)
    assert report.render("json", DIGEST, NAMES, MOVEMENT, EN) == jsonout.render(DIGEST, NAMES, MOVEMENT, EN)
    assert set(report.render("csv", DIGEST, NAMES, MOVEMENT, EN)) == set(csvout.FILES)
    with pytest.raises(ValueError, match="unknown report format"):
        report.render("pdf", DIGEST, NAMES, MOVEMENT, EN)


def test_matplotlib_loads_only_to_draw_charts():
    code = (
        "import sys\n"
        "from adapters.report import markdown, html, jsonout, csvout\n"
        "import bot.digest\n"
        "from tests.report.languages import EN\n"
        "assert 'matplotlib' not in sys.modules, 'imported eagerly'\n"
        "from datetime import datetime, timezone\n"
        "t = datetime(2025, 3, 3, tzinfo=timezone.utc)\n"
        "d = bot.digest.Digest(bot.digest.Scope(bot.digest.Audience.PUBLIC, ('a',), t, t))\n"
        "markdown.render(d, {}, 'M', EN); jsonout.render(d, {}, 'M', EN); csvout.render(d, {}, 'M', EN)\n"
        "assert 'matplotlib' not in sys.modules, 'imported by a text format'\n"
        "html.render(bot.digest.Digest(d.scope, participation=bot.digest.Participation(1, 1)), {}, 'M', EN)\n"
        "assert 'matplotlib' in sys.modules and 'matplotlib.pyplot' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-W", "error", "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("until,expected", [
    (datetime(2025, 3, 10, tzinfo=UTC), "Mar 3, 2025 – Mar 9, 2025"),
    (datetime(2025, 3, 9, 18, tzinfo=UTC), "Mar 3, 2025 – Mar 9, 2025"),
    (datetime(2025, 3, 4, tzinfo=UTC), "Mar 3, 2025"),
])
def test_period_end_is_exclusive(until, expected):
    assert report.period(EN, datetime(2025, 3, 3, tzinfo=UTC), until) == expected


@pytest.mark.parametrize("averages,direction", [
    ((), None), ((3.0,), None), ((2.0, 3.0), "up"), ((3.0, 2.5), "down"), ((1.0, 4.0, 4.0), "flat"),
    ((3.333333, 3.3333334), "flat"), ((3.46, 3.5), "flat"), ((3.44, 3.46), "up"),
])
def test_trend_direction_uses_the_last_two_weeks(averages, direction):
    monday = date(2025, 1, 6)
    points = tuple(ImpactPoint(monday + timedelta(weeks=n), a, 1) for n, a in enumerate(averages))
    assert report.trend_direction(points) == direction


def test_chart_ids_are_rewritten_only_in_markup():
    title = 'id="x" url(#y) href="#z" $\\frac{1}{2}$'
    digest = replace(DIGEST, experiments=(replace(DIGEST.experiments[1], title=title),))
    svg = html.render(digest, NAMES, MOVEMENT, EN).split('id="chart-trend"', 1)[1].split("</svg>", 1)[0]
    assert f">{title}</text>" in svg  # text as typed; "$" is no mathtext
    assert 'clip-path="url(#chart-trend-' in svg


def test_a_large_movement_charts_without_layout_warnings():
    """50 coalitions and 120 experiments (the digest benchmark's size) still lay out."""
    import warnings
    from dataclasses import replace as change
    from datetime import date, datetime, timezone

    from adapters.report import html
    from bot.digest import Audience, Digest, ExperimentItem, ImpactPoint, Mobilisation, Scope

    weeks = [ImpactPoint(date(2026, 10, 5 + 7 * i), 3.0 + i / 10, 3) for i in range(4)]
    experiment = ExperimentItem(0, "c0", "Experiment", date(2026, 10, 1), date(2026, 12, 1), "running", 12, 3.2,
                                tuple(weeks), (), (), {"continue": 1}, "continue", False)
    digest = Digest(
        Scope(Audience.MOVEMENT, tuple(f"c{i}" for i in range(50)),
              datetime(2026, 10, 1, tzinfo=timezone.utc), datetime(2026, 11, 1, tzinfo=timezone.utc)),
        experiments=tuple(change(experiment, id=i, title=f"Experiment {i}", checkins=i) for i in range(120)),
        mobilisation=tuple(Mobilisation(f"c{i}", {"public": 3, "citizen": 2}, 1, (), 0) for i in range(50)),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        page = html.render(digest, {f"c{i}": f"Coalition {i}" for i in range(50)}, "Movement", EN)
    assert page.count("<svg") >= 2 and "Experiment 119" in page  # the busiest is drawn; all are in the table
