"""Spreadsheets: a digest's figures (XLSX) and an export of every record over a range (XLSX,
with the member-day table also as CSV for systems that take nothing else)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from babel.dates import format_skeleton
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from bot.i18n import t
from reports.chart import COLOURS
from reports.text import category_name
from rules.checkin import local_moment
from rules.digest import MemberFigures, Rollup, TeamFigures
from rules.logs import readable
from rules.problem_list import ProblemFigures, days_between, is_overdue
from services.assessment import AssessmentView
from storage.models import Checkin, LeaveRequest, Person, Team, WorkLog

# A text cell starting so is run by Excel, WPS or LibreOffice as a formula (a name like
# =HYPERLINK("http://…") or a log like =cmd|…): CSV injection, OWASP's term.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _append(sheet: Worksheet, row: Sequence[Any]) -> None:
    """A row whose texts stay texts: openpyxl stores a string starting with = as a formula,
    so such a cell is written back as a string, shown exactly as typed and never run."""
    sheet.append(list(row))
    for cell in sheet[sheet.max_row]:
        if cell.data_type == "f":
            cell.data_type = "s"


def csv_cell(value: Any) -> Any:
    """A CSV field a spreadsheet will not run: a text starting with = + - @ (or a tab or
    carriage return) gets a leading apostrophe, which spreadsheets show as text."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


_FILLS = {
    mark: PatternFill("solid", start_color=colour.lstrip("#"), end_color=colour.lstrip("#"))
    for mark, colour in COLOURS.items()
}


def _sheet(book: Workbook, name: str, header: Sequence[str], first: bool = False) -> Worksheet:
    sheet: Worksheet = book.active if first else book.create_sheet()  # type: ignore[assignment]
    sheet.title = name[:31]
    _append(sheet, header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    return sheet


def _widths(sheet: Worksheet, widths: Iterable[int]) -> None:
    """Column widths, and a filter on the header row (the sheet is complete by now)."""
    for at, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(at)].width = width
    if sheet.max_row > 1:
        sheet.auto_filter.ref = sheet.dimensions


def _dates(sheet: Worksheet, *columns: int, time: bool = False) -> None:
    """Cells holding dates (or moments) shown as such, so a spreadsheet sorts and filters them."""
    for row in sheet.iter_rows(min_row=2):
        for at in columns:
            row[at - 1].number_format = "yyyy-mm-dd hh:mm:ss" if time else "yyyy-mm-dd"


def _bytes(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _member_row(lang: str, team: TeamFigures, m: MemberFigures) -> list[Any]:
    month = m.month
    return [
        team.township,
        team.label,
        m.name,
        m.present,
        m.nights,
        m.leave,
        m.absent,
        m.missed_checkins,
        m.no_log,
        m.verdict_ok,
        m.verdict_false,
        month.present,
        month.quota_days,
        month.nights,
        month.quota_nights,
        month.leave,
        month.remaining,
        t(lang, f"digest.pace.{m.pace}"),
        m.spot_findings,
        m.spot_year,
        t(lang, f"spot.standing.{m.standing}"),
        m.field,
        m.made_up,
        m.annulled,
    ]


_MEMBER_COLUMNS = (
    "township",
    "team",
    "member",
    "present",
    "nights",
    "leave",
    "absent",
    "missed",
    "no_log",
    "verdict_ok",
    "verdict_false",
    "month_present",
    "quota_days",
    "month_nights",
    "quota_nights",
    "month_leave",
    "remaining",
    "pace",
    "spot_findings",
    "spot_year",
    "spot_standing",
    "field",
    "made_up",
    "annulled",
)
_ROLLUP_COLUMNS = (
    "township",
    "teams",
    "members",
    "present",
    "nights",
    "leave",
    "absent",
    "missed",
    "no_log",
    "behind",
    "at_risk",
    "attention",
)


def _head(lang: str, columns: Iterable[str]) -> list[str]:
    return [t(lang, f"xlsx.col.{c}") for c in columns]


def _days_sheet(
    book: Workbook, lang: str, days: Sequence[date], teams: Sequence[TeamFigures]
) -> None:
    sheet = _sheet(
        book,
        t(lang, "xlsx.sheet.days"),
        # A column is read by its weekday; the CSV keeps ISO dates for machines.
        [*_head(lang, ("team", "member")), *(format_skeleton("MdE", d, locale=lang) for d in days)],
    )
    for team in teams:
        for m in team.members:
            _append(sheet, [team.label, m.name, *(t(lang, f"xlsx.mark.{mark}") for mark in m.days)])
            for cell, mark in zip(sheet[sheet.max_row][2:], m.days, strict=True):
                cell.fill = _FILLS[mark]
    _widths(sheet, [18, 14, *([11] * len(days))])
    key = _sheet(book, t(lang, "xlsx.sheet.key"), _head(lang, ("mark", "meaning")))
    for mark in COLOURS:
        _append(key, [t(lang, f"xlsx.mark.{mark}"), t(lang, f"xlsx.key.{mark}")])
        key.cell(key.max_row, 1).fill = _FILLS[mark]
    _widths(key, [10, 60])


def digest_xlsx(
    lang: str,
    days: Sequence[date],
    teams: Sequence[TeamFigures],
    townships: Sequence[Rollup],
    problems: ProblemFigures | None = None,
) -> bytes:
    book = Workbook()
    first = True
    if townships:
        sheet = _sheet(book, t(lang, "xlsx.sheet.townships"), _head(lang, _ROLLUP_COLUMNS), True)
        first = False
        for r in townships:
            _append(
                sheet,
                [
                    r.township,
                    r.teams,
                    r.members,
                    r.present,
                    r.nights,
                    r.leave,
                    r.absent,
                    r.missed_checkins,
                    r.no_log,
                    r.behind,
                    r.at_risk,
                    r.attention,
                ],
            )
        _widths(sheet, [16, *([10] * (len(_ROLLUP_COLUMNS) - 1))])
    _members_sheet(book, lang, teams, first)
    _days_sheet(book, lang, days, teams)
    if problems is not None and problems.rows:
        _problems_sheet(book, lang, problems, {team.team_id: team.label for team in teams})
    return _bytes(book)


_PROBLEM_COLUMNS = (
    "problem_id",
    "team",
    "category",
    "colour",
    "level",
    "state",
    "department",
    "raised",
    "due",
    "closed",
    "days_to_resolve",
    "villager",
    "text",
)


def _problems_sheet(
    book: Workbook, lang: str, figures: ProblemFigures, labels: dict[int, str]
) -> None:
    """Every problem the digest counts, overdue first; a county's common problems after."""
    sheet = _sheet(book, t(lang, "xlsx.sheet.problems"), _head(lang, _PROBLEM_COLUMNS))

    def local(moment: datetime | None) -> datetime | None:
        return local_moment(moment, figures.tz).replace(tzinfo=None) if moment else None

    for p in figures.rows:
        overdue = figures.now is not None and is_overdue(p, figures.now)
        state = "overdue" if overdue else p.state
        _append(
            sheet,
            [
                p.id,
                labels.get(p.team_id, ""),
                category_name(lang, p.category),
                t(lang, f"problem.colour.{p.colour}"),
                t(lang, f"problem.level.{p.level}"),
                t(lang, f"xlsx.problem.{state}"),
                (p.department_id and t(lang, "xlsx.problem.assigned")) or "",
                local(p.raised_at),
                local(p.due_at) if p.state == "open" else None,
                local(p.closed_at),
                days_between(p.raised_at, p.closed_at) if p.closed_at else None,
                p.villager or "",
                readable(p.text),
            ],
        )
    _dates(sheet, 8, 9, 10, time=True)
    _widths(sheet, [8, 18, 12, 8, 10, 12, 10, 18, 18, 18, 10, 14, 60])
    if figures.common:
        common = _sheet(
            book, t(lang, "xlsx.sheet.common"), _head(lang, ("category", "villages", "problems"))
        )
        for c in figures.common:
            _append(
                common,
                [category_name(lang, c.category), t(lang, "sep.list").join(c.villages), c.problems],
            )
        _widths(common, [14, 60, 10])


def _members_sheet(book: Workbook, lang: str, teams: Sequence[TeamFigures], first: bool) -> None:
    sheet = _sheet(book, t(lang, "xlsx.sheet.members"), _head(lang, _MEMBER_COLUMNS), first)
    for team in teams:
        for m in team.members:
            _append(sheet, _member_row(lang, team, m))
    _widths(sheet, [14, 18, 14, *([10] * (len(_MEMBER_COLUMNS) - 3))])


# ---------------------------------------------------------------------- exports
def export_xlsx(
    lang: str,
    days: Sequence[date],
    figures: Sequence[TeamFigures],
    teams: dict[int, Team],
    people: dict[int, Person],
    checkins: Sequence[Checkin],
    logs: Sequence[WorkLog],
    leave: Sequence[LeaveRequest],
) -> bytes:
    """Every record of the range: the day grid, the figures, each location shared (accepted
    or not, with its verdict), each log as it reads now, each approved leave."""
    book = Workbook()
    _members_sheet(book, lang, figures, True)
    _days_sheet(book, lang, days, figures)

    def name(person_id: int) -> str:
        person = people.get(person_id)
        return person.display_name if person else str(person_id)

    def label(team_id: int | None) -> str:
        team = teams.get(team_id) if team_id is not None else None
        return f"{team.code or ''} {team.village}".strip() if team else ""

    yes = t(lang, "xlsx.yes")
    columns: tuple[str, ...] = ("sent_local", "team", "member", "window", "outcome", "reason")
    columns += ("distance_m", "accuracy_m", "live", "forwarded", "latitude", "longitude", "flags")
    # The id is what /checkin annul names; a make-up's time is its approval's, its day is here.
    columns += ("checkin_id", "day", "annulled")
    sheet = _sheet(book, t(lang, "xlsx.sheet.checkins"), _head(lang, columns))
    for c in checkins:
        tz = teams[c.team_id].tz if c.team_id in teams else "UTC"
        _append(
            sheet,
            [
                local_moment(c.sent_at, tz).replace(tzinfo=None),
                label(c.team_id),
                name(c.person_id),
                t(lang, f"window.{c.window}") if c.window else "",
                t(lang, f"xlsx.outcome.{c.outcome}"),
                t(lang, f"xlsx.reason.{c.reason}") if c.reason else "",
                round(c.distance_m) if c.distance_m is not None else None,
                round(c.accuracy_m) if c.accuracy_m is not None else None,
                yes if c.live else "",
                yes if c.forwarded else "",
                c.latitude,
                c.longitude,
                t(lang, "sep.list").join(t(lang, f"checkin.flag.{f}") for f in c.flags),
                c.id,
                c.local_date,
                (
                    t(
                        lang,
                        "xlsx.annulled",
                        at=local_moment(c.annulled_at, tz).strftime("%Y-%m-%d %H:%M"),
                        by=name(c.annulled_by) if c.annulled_by else "",
                        note=c.annul_note or "",
                    )
                    if c.annulled_at
                    else ""
                ),
            ],
        )
    _dates(sheet, 1, time=True)
    _dates(sheet, 15)
    _widths(sheet, [19, 18, 14, 9, 9, 16, 10, 10, 8, 8, 11, 11, 18, 9, 11, 30])
    columns = ("day", "team", "member", "log_id", "revision", "text")
    sheet = _sheet(book, t(lang, "xlsx.sheet.logs"), _head(lang, columns))
    for g in logs:
        _append(sheet, [g.local_date, label(g.team_id), name(g.person_id), g.id, g.revision,
                        readable(g.text)])  # fmt: skip
    _dates(sheet, 1)
    _widths(sheet, [11, 18, 14, 8, 8, 80])
    columns = ("leave_id", "team", "member", "kind", "first", "last", "returned", "reason")
    sheet = _sheet(book, t(lang, "xlsx.sheet.leave"), _head(lang, columns))
    for r in leave:
        _append(
            sheet,
            [
                r.id,
                label(r.team_id),
                name(r.person_id),
                t(lang, f"leave.kind.{r.kind}"),
                r.first,
                r.last,
                r.returned_day,
                r.reason,
            ],
        )
    _dates(sheet, 5, 6, 7)
    _widths(sheet, [8, 18, 14, 10, 11, 11, 11, 40])
    return _bytes(book)


def days_csv(lang: str, days: Sequence[date], figures: Sequence[TeamFigures]) -> bytes:
    """One row per member and day: ``team,member,person_id,day,status,status_label``. The
    header and the status codes stay the same in every language, for machines (the README
    lists the codes); the label beside each code is for people. UTF-8 with a BOM, which Excel
    needs to read Chinese names."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["team", "member", "person_id", "day", "status", "status_label"])
    for team in figures:
        for m in team.members:
            for day, mark in zip(days, m.days, strict=True):
                label = t(lang, f"xlsx.key.{mark}")
                row = [team.label, m.name, m.person_id, day.isoformat(), mark, label]
                writer.writerow([csv_cell(value) for value in row])
    return out.getvalue().encode("utf-8-sig")


_ASSESS_COLUMNS = (
    "team",
    "member",
    "unit",
    "present",
    "quota_days",
    "nights",
    "quota_nights",
    "leave",
    "log_days",
    "spot_year",
    "verdict_false",
    "problems_raised",
    "problems_solved",
    "briefs",
    "recalled",
    "ceiling",
    "reasons",
    "grade",
    "grade_note",
)


def assessment_xlsx(lang: str, view: AssessmentView) -> bytes:
    """One row per member with the figures, the rules' proposed ceiling and its reasons
    spelled out, and the grade the county entered (if any)."""
    book = Workbook()
    sheet = _sheet(book, t(lang, "xlsx.sheet.assessment"), _head(lang, _ASSESS_COLUMNS), True)
    sep = t(lang, "sep.list")
    for row in view.rows:
        f = row.facts
        reasons = sep.join(t(lang, key, **figures) for key, figures in row.ceiling.reasons)
        _append(
            sheet,
            [
                row.team,
                row.name,
                row.unit,
                f.present,
                f.quota_days,
                f.nights,
                f.quota_nights,
                f.leave,
                f.log_days,
                f.spot_findings,
                f.false_visits,
                row.raised,
                row.solved,
                row.briefs,
                t(lang, "xlsx.yes") if f.recalled else "",
                t(lang, f"grade.{row.ceiling.grade}"),
                reasons,
                t(lang, f"grade.{row.grade.grade}") if row.grade else "",
                row.grade.note if row.grade else "",
            ],
        )
    _widths(sheet, [18, 14, 16, *([9] * 12), 12, 50, 10, 30])
    return _bytes(book)
