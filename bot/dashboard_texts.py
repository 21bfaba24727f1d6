"""The dashboard's words, in English (the source language): its pages, tables, forms and
charts (`adapters/web/dashboard.py`, `adapters/web/charts.py`).

Part of the core's texts (`bot/texts.py` takes them in); each language's text comes from
its gettext catalog. Texts are plain: the templates escape them.
"""

from __future__ import annotations

DASHBOARD_TEXTS: dict[str, dict[str, str]] = {
    "dashboard": {
        "title": "Dashboard",
    },
}

# The dashboard's charts: titles (each SVG's <title>), axis labels, legends.
CHART_TEXTS: dict[str, str] = {
}

DASHBOARD_TEXTS["chart"] = CHART_TEXTS
