"""Reports in another language: every word from the library, dates and numbers by Babel,
while JSON keys, CSV columns and codes stay the same in every language (the data contract)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from adapters import report
from adapters.report import csvout, html, jsonout, markdown
from bot.report_texts import REPORT_TEXTS
from bot.i18n import Languages, translations
from tests.report.languages import DA, DANISH, EN, ENGLISH, flat
from tests.report.test_formats import DIGEST, MOVEMENT, NAMES, QUIET, VALIDATOR, Page

ROOT = Path(__file__).resolve().parents[2]
NBSP = "\xa0"


@pytest.fixture(scope="module")
def danish_html() -> str:
    return html.render(DIGEST, NAMES, MOVEMENT, DA)


def test_danish_html_parses_and_says_it_is_danish(danish_html):
    page = Page(danish_html)  # well-formed: every element closed in order
    assert page.named("html") == [{"lang": "da"}]
    assert Page(html.render(DIGEST, NAMES, MOVEMENT, EN)).named("html") == [{"lang": "en"}]
    headings = re.findall(r"<h2 id=\"h-[^\"]+\">([^<]+)</h2>", danish_html)
    assert headings == ["Nye ambassadørhistorier", "Principperne i spil", "Eksperimenter", "Mobilisering",
                        "Andel udefra og ind", "Styrker", "Deltagelse"]
    assert page.named("title") and f"{MOVEMENT}: overblik over samskabelsen" in page.text
    assert "Periode: 3. mar. 2025 – 9. mar. 2025" in page.text
    for english in ("New ambassador stories", "Principle coverage", "Period:", "Mar 3"):
        assert english not in danish_html


def test_danish_html_numbers_dates_and_labels(danish_html):
    page = Page(danish_html)
    text = page.text
    rows = re.findall(r"<tr><th scope=\"row\"[^>]*>([^<]+)</th>(.*?)</tr>", danish_html)
    cells = {head: re.findall(r"<td[^>]*>([^<]*)</td>", rest) for head, rest in rows}
    assert cells["3. mar. 2025"] == ["4,3", "1"]  # 4.25 rounds half up, with a decimal comma
    assert cells["17. feb. 2025"] == ["3,0", "2"]
    assert "↑ stigende (3,5 → 4,3)" in text and "↓ faldende (3,0 → 2,0)" in text
    assert "3,8 / 5" in text
    assert f'<span class="big">40{NBSP}%</span> fra borgere og brugere' in danish_html
    assert f"10 sendt, 7 besvaret, svarprocent 70{NBSP}%" in text
    assert "Af Amina Hassan, 4. mar. 2025" in text and "Delt anonymt, 5. mar. 2025" in text
    assert "I gang, 3. feb. 2025 – 27. apr. 2025" in text
    assert "Offentlig sektor" in text and "Civilsamfund / forening" in text
    assert "Fortsæt ×2, Justér ×1" in text


def test_danish_chart_titles_and_axis_labels(danish_html):
    page = Page(danish_html)
    assert {svg["title"] for svg in page.svgs} == {
        "Oplevet effekt pr. uge for hvert eksperiment (gennemsnit 1–5)",
        "Medlemmer ved bordet pr. sektor i hver koalition",
        "Refleksioner og historier pr. princip",
    }
    charts = {name: danish_html.split(f'id="chart-{name}"', 1)[1].split("</svg>", 1)[0]
              for name in ("trend", "sectors", "principles")}
    assert ">Gennemsnitlig oplevet effekt<" in charts["trend"] and ">Uge fra<" in charts["trend"]
    assert ">17. feb.<" in charts["trend"]  # week ticks by Babel, without the year
    assert ">Medlemmer<" in charts["sectors"] and ">Offentlig sektor<" in charts["sectors"]
    assert ">Princip<" in charts["principles"] and ">Antal<" in charts["principles"]
    assert ">Refleksioner<" in charts["principles"] and ">Historier<" in charts["principles"]
    for english in ("Average perceived impact", "Week starting", ">Members<", ">Count<", ">Reflections<"):
        assert english not in danish_html


def test_danish_markdown():
    text = markdown.render(DIGEST, NAMES, MOVEMENT, DA)
    assert text.startswith(f"# {MOVEMENT}: overblik over samskabelsen\n")
    assert "Periode: 3. mar. 2025 – 9. mar. 2025" in text
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert headings == [DANISH[key] for _, key in report.SECTIONS]
    assert "| Princip | Refleksioner | Historier |" in text
    assert "- Udvikling: ↑ stigende (3,5 → 4,3)" in text
    assert "- Gennemsnitlig oplevet effekt: 3,8 / 5" in text
    assert "17. feb. 2025: 3,0 (2); 24. feb. 2025: 3,5 (2)" in text  # not escaped mid-line
    assert "- Af Amina Hassan, 4. mar. 2025" in text and "- Delt anonymt, 5. mar. 2025" in text
    assert f"svarprocent 70{NBSP}%" in text
    quiet = markdown.render(QUIET, NAMES, MOVEMENT, DA)
    assert DANISH["report.nothing_new"] in quiet and "## " not in quiet


def test_danish_json_keeps_keys_and_codes_and_translates_labels():
    english, danish = (json.loads(jsonout.render(DIGEST, NAMES, MOVEMENT, t)) for t in (EN, DA))
    VALIDATOR.validate(danish)

    def shape(value):
        if isinstance(value, dict):
            return {k: shape(v) for k, v in value.items() if k != "label"}
        if isinstance(value, list):
            return [shape(v) for v in value]
        return value

    assert shape(danish) == shape(english)  # only labels differ
    assert danish["audience"] == {"code": "movement", "label": "Bevægelse"}
    assert danish["stories"][1]["sectors"] == [{"code": "public", "label": "Offentlig sektor"}]
    assert danish["stories"][1]["consent"] == {"code": "public", "label": "Offentlig"}
    assert danish["experiments"][0]["status"] == {"code": "running", "label": "I gang"}
    assert danish["experiments"][0]["decisions"][0] == {"code": "continue", "label": "Fortsæt", "count": 2}
    assert jsonout.load(jsonout.render(DIGEST, NAMES, MOVEMENT, DA)) == jsonout.load(jsonout.render(DIGEST, NAMES,
                                                                                                    MOVEMENT, EN))


def test_danish_csv_keeps_columns_codes_and_numbers():
    english, danish = csvout.render(DIGEST, NAMES, MOVEMENT, EN), csvout.render(DIGEST, NAMES, MOVEMENT, DA)
    for name in csvout.FILES:
        assert danish[name].splitlines()[0] == english[name].splitlines()[0], name
    stories = list(csv.DictReader(io.StringIO(danish["stories.csv"], newline="")))
    assert stories[0]["sectors"] == "civil_society; citizen"
    assert stories[0]["sector_labels"] == "Civilsamfund / forening; Borger / bruger"
    assert stories[1]["anonymous"] == "yes"  # a flag for programs, like the codes
    summary = list(csv.DictReader(io.StringIO(danish["summary.csv"], newline="")))[0]
    assert summary["audience"] == "movement" and summary["audience_label"] == "Bevægelse"
    assert summary["outside_in_share"] == "0.40"  # plain numbers: the same file in every language


def test_every_report_key_is_used_and_every_used_key_exists():
    keys = set(flat(REPORT_TEXTS))
    sources = [*(ROOT / "adapters" / "report").glob("*.py"), *(ROOT / "adapters" / "report" / "templates").glob("*")]
    used = {m for path in sources for m in re.findall(r"[\"'](report\.[a-z_.]+[a-z_])[\"']",
                                                       path.read_text(encoding="utf-8"))}
    assert used - keys == set(), "keys used but not in REPORT_TEXTS"
    dynamic = ("report.status.", "report.audience.", "report.trend.")  # f"report.status.{code}" and the like
    assert {k for k in keys - used if not k.startswith(dynamic)} == set(), "keys in REPORT_TEXTS never used"


def test_every_english_text_renders_with_its_placeholders():
    # The Danish sample's placeholders match the English ones, as a catalog's must.
    from bot.i18n import placeholders

    for key, text in DANISH.items():
        assert placeholders(text) == placeholders(ENGLISH[key]), key


@pytest.mark.skipif("report.section.stories" not in translations("da"),
                    reason="the Danish catalog has no report texts yet")
def test_the_danish_catalog_translates_every_heading():
    texts = Languages(ENGLISH)["da"]
    page = html.render(DIGEST, NAMES, MOVEMENT, texts)
    for key, english in flat(REPORT_TEXTS).items():
        if key.startswith(("report.section.", "report.chart.", "report.axis.")):
            assert texts.t(key) != english, key
            assert texts.t(key) in page or key.startswith("report.axis."), key
