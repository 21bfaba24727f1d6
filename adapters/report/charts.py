"""The HTML report's three charts, drawn with matplotlib as small inline SVG.

Imported only by `adapters.report.html.render`, so matplotlib is loaded when a report is
rendered and never on the chat path. Figures are made with `matplotlib.figure.Figure`,
not pyplot: no GUI backend is ever selected and no global figure registry holds them, so
nothing needs closing and nothing leaks (the pattern matplotlib documents for web servers).
The few rcParams the SVG output depends on are set under a lock, since rcParams are global.

Each function returns inline SVG markup (`<svg role="img" aria-labelledby=…><title>…`),
or None when there is nothing to draw; the HTML then says "no data yet". The numbers of
every chart are also shown in a table by the HTML template. Titles, axis labels, legends
and dates come from the report's `Texts` (library keys "report.chart.*", "report.axis.*").
Text stays text (`svg.fonttype: none`): small files, and the reader's fonts draw any
script or emoji.
"""

from __future__ import annotations

import io
import re
import threading
import warnings
from datetime import date
from html import escape
from typing import TYPE_CHECKING, Mapping

import matplotlib
from matplotlib.figure import Figure

from adapters.report import (
    SECTOR_ORDER,
    coalition_name,
    principle_ref,
    sector_label,
    short_day,
    sorted_sectors,
)
from bot.digest import Digest

if TYPE_CHECKING:
    from bot.i18n import Texts

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
TEXT = "#222222"
GRID = "#dddddd"
WIDTH = 7.0  # inches; the SVG scales to the page with CSS
LABEL = 40  # characters of a legend or tick label; the table has the full text

_LOCK = threading.Lock()
_PROLOGUE = re.compile(r"\A.*?(?=<svg\b)", re.S)  # XML declaration and DOCTYPE: not for inline SVG
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)
_SVG_OPEN = re.compile(r"<svg\b([^>]*)>")
_SIZE = re.compile(r'\s(width|height)="[^"]*"')
_TAG = re.compile(r"<[^>]+>")  # matplotlib escapes "<" and ">" in text and attribute values
_ID = re.compile(r'\b(id)="([^"]*)"')
_HREF = re.compile(r'\b((?:xlink:)?href)="#([^"]*)"')
_URL = re.compile(r"url\(#([^)]*)\)")
# With text kept as text the browser draws the glyphs; matplotlib still measures each with
# its own font and warns about glyphs (emoji) DejaVu Sans lacks. Harmless here, so ignored.
_MISSING_GLYPH = r"Glyph \d+ .* missing from font"

# Each chart's title (its SVG <title>), by chart name: library keys.
TITLES = {
    "trend": "report.chart.trend",
    "sectors": "report.chart.sectors",
    "principles": "report.chart.principles",
}


TREND_LINES = 8  # more lines (and legend entries) than this is unreadable; the table has all


def impact_trend(digest: Digest, names: Mapping[str, str], texts: Texts) -> str | None:
    ranked = sorted((e for e in digest.experiments if e.trend), key=lambda e: (-e.checkins, e.id))
    experiments = ranked[:TREND_LINES]
    if not experiments:
        return None
    weeks: list[date] = sorted({p.week for e in experiments for p in e.trend})
    index = {week: i for i, week in enumerate(weeks)}

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        for n, e in enumerate(experiments):
            ax.plot([index[p.week] for p in e.trend], [p.average for p in e.trend],
                    marker="o", linewidth=2, color=PALETTE[n % len(PALETTE)], label=_short(e.title))
        ax.set_ylim(0.8, 5.2)
        ax.set_yticks([1, 2, 3, 4, 5])
        ax.set_ylabel(texts.t("report.axis.impact"))
        ax.set_xlim(-0.5, len(weeks) - 0.5)
        step = max(1, len(weeks) // 8)
        ax.set_xticks(range(0, len(weeks), step), [short_day(texts, w) for w in weeks[::step]])
        ax.set_xlabel(texts.t("report.axis.week"))
        ax.grid(axis="y", color=GRID)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=9)

    return _svg("trend", texts, draw, height=3.2)


def sector_balance(digest: Digest, names: Mapping[str, str], texts: Texts) -> str | None:
    coalitions = [m for m in digest.mobilisation if any(m.members_by_sector.values())]
    if not coalitions:
        return None
    sectors = sorted_sectors(list({s for m in coalitions for s, n in m.members_by_sector.items() if n}))
    labels = [_short(coalition_name(names, m.coalition_id), 28) for m in coalitions]

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        rows = list(range(len(coalitions)))
        left = [0] * len(coalitions)
        for sector in sectors:
            counts = [m.members_by_sector.get(sector, 0) for m in coalitions]
            ax.barh(rows, counts, left=left, color=_sector_colour(sector), label=sector_label(texts, sector),
                    edgecolor="white", linewidth=0.5)
            left = [a + b for a, b in zip(left, counts)]
        ax.set_yticks(rows, labels)
        ax.invert_yaxis()  # first coalition on top, as in the table
        ax.set_xlabel(texts.t("report.axis.members"))
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(axis="x", color=GRID)
        ax.set_axisbelow(True)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=9)

    return _svg("sectors", texts, draw, height=1.2 + 0.45 * len(coalitions))


def principle_coverage(digest: Digest, texts: Texts) -> str | None:
    principles = digest.principles
    if not principles or all(p.quiet for p in principles):
        return None

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        xs = list(range(len(principles)))
        width = 0.4
        ax.bar([x - width / 2 for x in xs], [p.reflections for p in principles], width,
               color=PALETTE[0], label=texts.t("report.reflections"))
        ax.bar([x + width / 2 for x in xs], [p.stories for p in principles], width,
               color=PALETTE[1], label=texts.t("report.stories"))
        ax.set_xticks(xs, [principle_ref(p.number) for p in principles])
        ax.set_xlabel(texts.t("report.axis.principle"))
        ax.set_ylabel(texts.t("report.axis.count"))
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.grid(axis="y", color=GRID)
        ax.set_axisbelow(True)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=9)

    return _svg("principles", texts, draw, height=3.0)


# -- SVG -------------------------------------------------------------------------------


def _svg(name: str, texts: Texts, draw, height: float) -> str:
    params = {
        "svg.fonttype": "none",  # text as <text>, not paths
        "svg.hashsalt": f"cocreate-{name}",  # stable ids, distinct per chart on one page
        "svg.id": f"chart-{name}",
        "text.parse_math": False,  # "$" in a title is a dollar, not mathtext
        "text.usetex": False,
        "font.size": 10,
        "text.color": TEXT,
        "axes.labelcolor": TEXT,
        "axes.edgecolor": "#888888",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "xtick.color": TEXT,
        "ytick.color": TEXT,
    }
    out = io.StringIO()
    with _LOCK, matplotlib.rc_context(params), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_MISSING_GLYPH, category=UserWarning)
        fig = Figure(figsize=(WIDTH, height), layout="constrained")
        draw(fig)
        fig.savefig(out, format="svg", metadata={"Date": None})
    return _inline(out.getvalue(), name, texts.t(TITLES[name]))


def _inline(svg: str, name: str, title: str) -> str:
    """Ready to embed in HTML: no prologue or metadata, scalable, with an accessible title."""
    svg = _METADATA.sub("", _PROLOGUE.sub("", svg, count=1))
    title_id = f"chart-{name}-title"
    match = _SVG_OPEN.search(svg)
    assert match is not None, "matplotlib wrote no <svg> element"
    attributes = _SIZE.sub("", match.group(1))
    opening = (f'<svg{attributes} role="img" aria-labelledby="{title_id}" preserveAspectRatio="xMidYMid meet">'
               f'<title id="{title_id}">{escape(title)}</title>')
    svg = svg[: match.start()] + opening + _own_ids(svg[match.end():], f"chart-{name}-")
    # matplotlib's stylesheet starts with "*{…}", which inline would apply to the whole page.
    return svg.replace("<style type=\"text/css\">*{", f"<style type=\"text/css\">#chart-{name} *{{", 1)


def _sector_colour(code: str) -> str:
    """The same colour for a sector in every report."""
    at = SECTOR_ORDER.index(code) if code in SECTOR_ORDER else len(SECTOR_ORDER)
    return PALETTE[at % len(PALETTE)]


def _own_ids(body: str, prefix: str) -> str:
    """matplotlib numbers its ids per figure ("axes_1", "line2d_1"): prefixed, so the three
    charts on one page keep every id unique and each reference points into its own chart."""

    def tag(match: re.Match[str]) -> str:  # only inside tags: text content is never rewritten
        text = _ID.sub(lambda m: f'{m.group(1)}="{prefix}{m.group(2)}"', match.group(0))
        text = _HREF.sub(lambda m: f'{m.group(1)}="#{prefix}{m.group(2)}"', text)
        return _URL.sub(lambda m: f"url(#{prefix}{m.group(1)})", text)

    return _TAG.sub(tag, body)


def _short(text: str, limit: int = LABEL) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
