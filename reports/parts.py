"""A digest or an export as the messages that carry it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.i18n import t
from reports import chart, sheet, spot, text
from rules.digest import Digest
from services.digest import Export


@dataclass(frozen=True)
class Part:
    text: str | None = None
    html: bool = False
    photo: bytes | None = None
    document: bytes | None = None
    filename: str = ""
    caption: str | None = None
    # A private question with a one-tap "share my location" keyboard button of this label.
    location_button: str | None = None
    # Inline buttons under the text: (label, callback data).
    buttons: tuple[tuple[str, str], ...] = ()


def digest_parts(lang: str, digest: Digest, late_since: datetime | None = None) -> list[Part]:
    """A digest as three messages: the text, the chart (its key drawn in), the spreadsheet.
    The bot runs this in its drawing process (:mod:`bot.render`)."""
    body = text.digest_text(
        lang,
        digest.period,
        digest.name,
        digest.teams,
        digest.townships,
        digest.summaries,
        late_since,
        spot.rule_text(lang, next(iter(digest.policies.values()))) if digest.policies else None,
        digest.problems,
        digest.briefs,
        next(iter(digest.policies.values())).briefs_month if digest.policies else 0,
    )
    if digest.townships:
        words = text.chart_words(lang, digest)
        png, drawing = chart.rollup_png(words, digest.townships)
    else:
        shown = chart.fit(digest.teams)
        words = text.chart_words(lang, digest, shown)
        png, drawing = chart.grid_png(words, digest.days, shown)
    xlsx = sheet.digest_xlsx(lang, digest.days, digest.teams, digest.townships, digest.problems)
    stem = f"cunbot-{digest.period.kind}-{digest.period.key}"
    return [
        Part(body),
        Part(
            photo=png,
            filename=f"{stem}.png",
            caption=text.chart_caption(lang, words, drawing.numbered),
        ),
        Part(document=xlsx, filename=f"{stem}.xlsx"),
    ]


def export_parts(lang: str, export: Export) -> list[Part]:
    """An export as three messages: what it holds, the XLSX, the CSV of member-days."""
    figures = export.digest.teams
    xlsx = sheet.export_xlsx(
        lang,
        export.digest.days,
        figures,
        export.teams,
        export.people,
        export.checkins,
        export.logs,
        export.leave,
    )
    summary = t(
        lang,
        "export.done",
        name=export.digest.name,
        first=export.first.isoformat(),
        last=export.last.isoformat(),
        members=sum(len(team.members) for team in figures),
        checkins=len(export.checkins),
        logs=len(export.logs),
        leave=len(export.leave),
    )
    if export.asked_last is not None:
        summary += "\n" + t(
            lang, "export.cut", asked=export.asked_last.isoformat(), last=export.last.isoformat()
        )
    stem = f"cunbot-export-{export.first.isoformat()}-{export.last.isoformat()}"
    return [
        Part(summary),
        Part(document=xlsx, filename=f"{stem}.xlsx"),
        Part(
            document=sheet.days_csv(lang, export.digest.days, figures),
            filename=f"{stem}-days.csv",
            caption=t(lang, "export.csv_caption"),
        ),
    ]
