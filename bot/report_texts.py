"""The reports' words, in English (the source language): every heading, label, table
header, chart title and axis label of the Markdown and HTML reports, and the labels the
JSON and CSV exports carry next to their codes.

Part of the core's texts (`bot/texts.py` takes them in); each language's text comes from
its gettext catalog. Texts are plain: a renderer adds its own markup and
escaping. Sector, decision and consent labels are the core's (`labels.*` in bot/texts.py).
"""

from __future__ import annotations

REPORT_TEXTS: dict[str, dict[str, str]] = {
    "report": {
        # Title and header
        "title.coalition": "{coalition}: co-creation digest",
        "title.movement": "{movement}: co-creation digest",
        "title.public": "{movement}: co-creation report",
        "for.coalition": "For the members and leaders of {coalitions} ({movement})",
        "for.movement": "For the coordinators",
        "for.movement_of": "For the coordinators and every coalition: {coalitions}",
        "for.public": "Public report",
        "for.public_of": "Public report covering {coalitions}",
        "period": "Period: {period}",
        "range": "{first} – {last}",
        "nothing_new": "Nothing new in this period: no stories, strengths, check-ins, new members or answers.",
        # Section headings
        "section.stories": "New ambassador stories",
        "section.principles": "Principle coverage",
        "section.experiments": "Experiments",
        "section.mobilisation": "Mobilisation",
        "section.outside_in": "Outside-in share",
        "section.strengths": "Strengths",
        "section.participation": "Participation",
        # Codes to labels (JSON and CSV carry these next to the code)
        "audience.coalition": "Coalition",
        "audience.movement": "Movement",
        "audience.public": "Public",
        "status.planned": "Planned",
        "status.running": "Running",
        "status.ended": "Ended",
        "trend.up": "rising",
        "trend.down": "falling",
        "trend.flat": "steady",
        # Stories
        "no_new_stories": "No new stories in this period yet: which experience is worth telling?",
        "no_stories": "No stories shared in this period yet: which experience is worth telling?",
        "coalition": "Coalition",
        "principles": "Principles",
        "sectors": "Sectors",
        "shared": "Shared",
        "none_named": "none named",
        "by": "By {author}",
        "anonymous": "Shared anonymously",
        "shared_on": "{by}, {date}",
        # Principles
        "no_principles": "No principles to show.",
        "principle": "Principle",
        "reflections": "Reflections",
        "stories": "Stories",
        "quiet": "Nobody reflected on #{number} “{title}” yet: who will start?",
        # Experiments
        "no_experiments": "No experiments yet: think big, start small. What could you try for a few weeks?",
        "needs_decision": "⚠ timebox ended without a decision: continue, adjust, stop or scale up?",
        "status": "Status",
        "dates": "{status}, {first} – {last}",
        "checkins": "Check-ins",
        "average_impact": "Average perceived impact",
        "impact": "{average} / 5",
        "no_impact": "no perceived impact recorded yet",
        "trend": "Trend",
        "trend_text": "{arrow} {direction} ({before} → {last})",
        "trend_few": "not enough weeks yet",
        "trend_none": "no check-ins yet",
        "weekly": "Weekly averages (check-ins)",
        "week_point": "{week}: {average} ({checkins})",
        "quote": "“{quote}”",
        "intended": "Intended effects",
        "unintended": "Unintended effects",
        "decisions": "Decisions",
        "decision_count": "{decision} ×{count}",
        "latest": "latest: {decision}",
        "none_yet": "none yet",
        # Mobilisation
        "no_coalitions": "No coalitions to show.",
        "at_table": "At the table",
        "at_table_text": "{total} ({members})",
        "sector_count": "{sector} {count}",
        "nobody_yet": "nobody yet",
        "new_members": "New members in this period",
        "treasures": "Hidden treasures mapped in this period",
        "missing": "Nobody from {sector} at the table yet: who could you invite?",
        # Outside-in
        "outside_in_none": (
            "No outside-in perspectives recorded in this period yet: whose view from outside would help?"
        ),
        "outside_in": ("{share} of {total} perspectives came from citizens and users ({citizens}), "
                       "{institutions} from institutions (partners and employees), {others} from others."),
        "outside_in_big": "{share} from citizens and users",
        # Strengths
        "no_strengths": "No strengths recorded in this period yet: when did co-creation go well, and why?",
        "why": "Why it worked",
        "enlarge": "How to enlarge it",
        # Participation
        "answers": "Answers recorded",
        "active_members": "Active members",
        "prompts": "Prompts",
        "prompts_text": "{sent} sent, {answered} answered",
        "prompts_rate": "{sent} sent, {answered} answered, response rate {rate}",
        "not_tracked": "not tracked yet",
        # HTML tables and chart placeholders
        "nodata.principles": "Principle chart: no data yet.",
        "nodata.trend": "Impact trend chart: no data yet.",
        "nodata.sectors": "Sector balance chart: no data yet.",
        "caption.principles": "Reflections and stories per principle",
        "caption.weekly": "Weekly perceived impact: {experiment}",
        "caption.sectors": "Members at the table by sector",
        "caption.voices": "Perspectives voiced in this period",
        "trend_numbers": "The numbers are in each experiment's table below.",
        "week_starting": "Week starting",
        "average": "Average (1–5)",
        "total": "Total",
        "new_in_period": "New in period",
        "treasures_mapped": "Hidden treasures mapped",
        "voice": "Voice",
        "perspectives": "Perspectives",
        "voice.citizens": "Citizens and users",
        "voice.institutions": "Institutions (partners and employees)",
        "voice.others": "Others",
        # Charts: titles (also each SVG's <title>), axis labels, legends
        "chart.trend": "Perceived impact per week, per experiment (average 1–5)",
        "chart.sectors": "Members at the table by sector, per coalition",
        "chart.principles": "Reflections and stories per principle",
        "axis.impact": "Average perceived impact",
        "axis.week": "Week starting",
        "axis.members": "Members",
        "axis.principle": "Principle",
        "axis.count": "Count",
    },
}
