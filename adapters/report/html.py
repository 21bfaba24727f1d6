"""A digest as ONE self-contained HTML file: inline CSS, charts as inline SVG, no scripts,
no external assets or fonts, so it can be mailed, archived or opened offline.

Rendered with Jinja2 (templates/digest.html) with autoescape on: user text is escaped
wherever it appears. The only markup inserted unescaped is the charts' SVG, which
`adapters.report.charts` builds from matplotlib (that escapes every text it writes).
Every chart's numbers are also in a table, and each SVG has a <title> for screen readers.
"""

from __future__ import annotations

from typing import Mapping

import jinja2
from markupsafe import Markup

import adapters.report as words
from bot.digest import Digest

_ENV: jinja2.Environment | None = None


def environment() -> jinja2.Environment:
    global _ENV
    if _ENV is None:
        env = jinja2.Environment(
            loader=jinja2.PackageLoader("adapters.report", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        env.globals["w"] = words
        _ENV = env
    return _ENV


def render(digest: Digest, coalition_names: Mapping[str, str], movement_name: str) -> str:
    charts = {} if digest.nothing_new else _charts(digest, coalition_names)
    return environment().get_template("digest.html").render(
        d=digest,
        names=coalition_names,
        movement=movement_name,
        title=words.title(digest, coalition_names, movement_name),
        audience=words.audience_line(digest, coalition_names, movement_name),
        period=words.period(digest.scope.since, digest.scope.until),
        charts=charts,
        many=words.many_coalitions(digest),
        principle_titles=words.principle_titles(digest),
    )


def _charts(digest: Digest, names: Mapping[str, str]) -> dict[str, Markup | None]:
    from adapters.report import charts  # matplotlib: loaded only when a report is drawn

    drawn = {
        "trend": charts.impact_trend(digest, names),
        "sectors": charts.sector_balance(digest, names),
        "principles": charts.principle_coverage(digest),
    }
    return {name: None if svg is None else Markup(svg) for name, svg in drawn.items()}
