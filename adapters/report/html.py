"""A digest as ONE self-contained HTML file: inline CSS, charts as inline SVG, no scripts,
no external assets or fonts, so it can be mailed, archived or opened offline.

Rendered with Jinja2 (templates/digest.html) with autoescape on: user text is escaped
wherever it appears. The only markup inserted unescaped is the charts' SVG, which
`adapters.report.charts` builds from matplotlib (that escapes every text it writes).
Every chart's numbers are also in a table, and each SVG has a <title> for screen readers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

import jinja2
from markupsafe import Markup

import adapters.report as words
from bot.digest import Digest

if TYPE_CHECKING:
    from bot.i18n import Texts

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


def render(digest: Digest, coalition_names: Mapping[str, str], movement_name: str, texts: Texts) -> str:
    charts = {} if digest.nothing_new else _charts(digest, coalition_names, texts)
    return environment().get_template("digest.html").render(
        d=digest,
        t=texts,
        code=texts.code,
        names=coalition_names,
        movement=movement_name,
        title=words.title(texts, digest, coalition_names, movement_name),
        audience=words.audience_line(texts, digest, coalition_names, movement_name),
        period=words.period(texts, digest.scope.since, digest.scope.until),
        charts=charts,
        many=words.many_coalitions(digest),
        principle_titles=words.principle_titles(digest),
        big_share=_big_share(texts, digest),
    )


def _big_share(texts: Texts, digest: Digest) -> Markup | None:
    """"<span class="big">40%</span> from citizens and users", wherever the language puts the number."""
    share = digest.outside_in.share
    if share is None:
        return None
    before, found, after = texts.t("report.outside_in_big", share="\0").partition("\0")
    number = Markup('<span class="big">{}</span>').format(words.percent(texts, share))
    if not found:  # a rewording without {share}
        return Markup("{} {}").format(number, before)
    return Markup("{}{}{}").format(before, number, after)


def _charts(digest: Digest, names: Mapping[str, str], texts: Texts) -> dict[str, Markup | None]:
    from adapters.report import charts  # matplotlib: loaded only when a report is drawn

    drawn = {
        "trend": charts.impact_trend(digest, names, texts),
        "sectors": charts.sector_balance(digest, names, texts),
        "principles": charts.principle_coverage(digest, texts),
    }
    return {name: None if svg is None else Markup(svg) for name, svg in drawn.items()}
