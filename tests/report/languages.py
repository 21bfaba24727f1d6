"""The texts the report tests render with: English from the source dicts, and Danish from
a small hand-made sample over them, so these tests do not depend on the catalog's wording
(the catalog's own completeness is checked where the library is built)."""

from __future__ import annotations

from bot.report_texts import REPORT_TEXTS
from bot.i18n import Texts
from bot.texts import TEXTS


def flat(groups: dict[str, dict[str, str]]) -> dict[str, str]:
    return {f"{group}.{key}": text for group, keys in groups.items() for key, text in keys.items()}


ENGLISH = {**flat(TEXTS), **flat(REPORT_TEXTS)}
EN = Texts("en", ENGLISH)

DANISH = {
    "labels.sector.public": "Offentlig sektor",
    "labels.sector.business": "Erhverv",
    "labels.sector.civil_society": "Civilsamfund / forening",
    "labels.sector.education": "Uddannelse / forskning",
    "labels.sector.citizen": "Borger / bruger",
    "labels.decision.continue": "Fortsæt",
    "labels.decision.adjust": "Justér",
    "labels.consent.public": "Offentlig",
    "report.title.movement": "{movement}: overblik over samskabelsen",
    "report.for.movement_of": "Til koordinatorerne og alle koalitioner: {coalitions}",
    "report.period": "Periode: {period}",
    "report.section.stories": "Nye ambassadørhistorier",
    "report.section.principles": "Principperne i spil",
    "report.section.experiments": "Eksperimenter",
    "report.section.mobilisation": "Mobilisering",
    "report.section.outside_in": "Andel udefra og ind",
    "report.section.strengths": "Styrker",
    "report.section.participation": "Deltagelse",
    "report.audience.movement": "Bevægelse",
    "report.status.running": "I gang",
    "report.trend.up": "stigende",
    "report.trend.down": "faldende",
    "report.anonymous": "Delt anonymt",
    "report.by": "Af {author}",
    "report.average_impact": "Gennemsnitlig oplevet effekt",
    "report.trend": "Udvikling",
    "report.impact": "{average} / 5",
    "report.principle": "Princip",
    "report.reflections": "Refleksioner",
    "report.stories": "Historier",
    "report.nothing_new": "Intet nyt i perioden: ingen historier, styrker, indtjek, nye medlemmer eller svar.",
    "report.outside_in_big": "{share} fra borgere og brugere",
    "report.prompts_rate": "{sent} sendt, {answered} besvaret, svarprocent {rate}",
    "report.week_starting": "Uge fra",
    "report.chart.trend": "Oplevet effekt pr. uge for hvert eksperiment (gennemsnit 1–5)",
    "report.chart.sectors": "Medlemmer ved bordet pr. sektor i hver koalition",
    "report.chart.principles": "Refleksioner og historier pr. princip",
    "report.axis.impact": "Gennemsnitlig oplevet effekt",
    "report.axis.week": "Uge fra",
    "report.axis.members": "Medlemmer",
    "report.axis.principle": "Princip",
    "report.axis.count": "Antal",
}
DA = Texts("da", {**ENGLISH, **DANISH})
