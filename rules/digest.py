"""Digest figures: each member's days over a period (a week, a month) counted the way ``/me``
counts them, the teams needing attention first, a township roll-up, and when the scheduled
digests fall due. Pure: the caller passes the records and the clock.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal

from rules.days import MonthFigures, Pace, classify_day, month_bounds, month_figures
from rules.leave import parse_day
from rules.logs import month_of, parse_month, previous_month
from rules.policy import WEEKDAYS, Policy, Weekday, WindowName
from rules.problem_list import ProblemFigures
from rules.problems import Problem
from rules.reminders import reminded_windows
from rules.spotcheck import Standing, standing

DayMark = Literal[
    "present", "night", "field", "made_up", "leave", "absent", "pending", "future", "outside"
]
DigestKind = Literal["weekly", "monthly"]
END_OF_DAY = time(23, 59, 59, 999999)
# A scheduled digest sent this long after it fell due says it is late.
LATE_AFTER = timedelta(minutes=30)
_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


@dataclass(frozen=True)
class MemberRecord:
    """What the store knows of one member of one team, from the month's first day (or the
    period's, if earlier) to the period's last."""

    person_id: int
    name: str
    joined: date | None
    checked: Mapping[date, Collection[WindowName]]
    leave_days: Collection[date] = frozenset()
    credited_days: Collection[date] = frozenset()
    log_days: Collection[date] = frozenset()
    verdicts: Mapping[str, int] = field(default_factory=dict)  # marked in the period
    spot_findings: int = 0  # spot-check absence findings in the period
    spot_year: int = 0  # and in the calendar year up to the period's end
    field: int = 0  # field check-ins in the period that count
    made_up: int = 0  # check-ins in the period from approved make-up requests
    # Days a field or made-up check-in counted on: present, and marked apart on the grid.
    field_days: Collection[date] = frozenset()
    made_up_days: Collection[date] = frozenset()
    annulled: int = 0  # and check-ins a county admin annulled
    left: date | None = None  # the last day a member who left (or was recalled) was one


@dataclass(frozen=True)
class MemberFigures:
    person_id: int
    name: str
    days: tuple[DayMark, ...]  # one per day of the period
    present: int
    nights: int
    leave: int
    absent: int
    missed_checkins: int
    no_log: int
    verdict_ok: int
    verdict_false: int
    month: MonthFigures  # the month to date, as of the period's last day
    spot_findings: int = 0
    spot_year: int = 0
    standing: Standing = "clear"  # the county's consequence rule applied to the year's
    field: int = 0
    made_up: int = 0
    annulled: int = 0
    many_exceptions: bool = False  # made-up and annulled check-ins at the county's threshold

    @property
    def pace(self) -> Pace:
        return self.month.pace

    @property
    def needs_attention(self) -> bool:
        return (
            self.pace in ("behind", "at_risk")
            or self.absent > 0
            or self.verdict_false > 0
            or self.spot_findings > 0
            or self.standing != "clear"
            or self.many_exceptions
        )


@dataclass(frozen=True)
class TeamFigures:
    team_id: int
    label: str  # "HZ-001 Shangba"
    township: str
    members: tuple[MemberFigures, ...]

    @property
    def needs_attention(self) -> bool:
        return any(m.needs_attention for m in self.members)

    def count(self, pace: Pace) -> int:
        return sum(1 for m in self.members if m.pace == pace)


@dataclass(frozen=True)
class Rollup:
    """One township's teams added up, for a county admin."""

    township: str
    teams: int
    members: int
    present: int
    nights: int
    leave: int
    absent: int
    missed_checkins: int
    no_log: int
    behind: int
    at_risk: int
    attention: int  # teams needing attention


def period_days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def member_figures(
    record: MemberRecord, policy: Policy, first: date, last: date, today: date, now: time
) -> MemberFigures:
    """One member over ``first``..``last``; ``now`` is the local time on ``today``."""
    marks: list[DayMark] = []
    present = nights = leave = absent = missed = no_log = 0
    required = reminded_windows(policy)
    for day in period_days(first, last):
        if (record.joined is not None and day < record.joined) or (
            record.left is not None and day > record.left
        ):
            marks.append("outside")
            continue
        checked = set(record.checked.get(day, ()))
        status = classify_day(
            day,
            today,
            now,
            checked,
            policy,
            on_leave=day in record.leave_days,
            credited=day in record.credited_days,
        )
        past = day <= today
        if status == "present":
            # The exception shows: a made-up day before a field day before a night.
            if day in record.made_up_days:
                marks.append("made_up")
            elif day in record.field_days:
                marks.append("field")
            else:
                marks.append("night" if "night" in checked else "present")
        else:
            marks.append(status)
        if not past:
            continue
        present += status == "present"
        absent += status == "absent"
        leave += status == "leave"
        if status != "leave" and "night" in checked:
            nights += 1
        if status in ("leave", "outside") or day in record.credited_days:
            continue
        for window in required:
            ended = day < today or (window.end is not None and now >= window.end)
            missed += ended and window.name not in checked
        if day < today and day not in record.log_days:
            no_log += 1
    as_of = min(last, today)
    month = month_figures(
        as_of,
        now if as_of == today else END_OF_DAY,
        record.checked,
        policy,
        joined=record.joined,
        leave_days=record.leave_days,
        credited_days=record.credited_days,
    )
    return MemberFigures(
        record.person_id,
        record.name,
        tuple(marks),
        present,
        nights,
        leave,
        absent,
        missed,
        no_log,
        record.verdicts.get("ok", 0),
        record.verdicts.get("false", 0),
        month,
        record.spot_findings,
        record.spot_year,
        standing(record.spot_year, policy),
        record.field,
        record.made_up,
        record.annulled,
        0 < policy.exceptions <= record.field + record.made_up + record.annulled,
    )


def records_from(first: date, last: date, today: date) -> date:
    """The first day whose records a period's figures need: the month to date of its end."""
    return min(first, month_bounds(min(last, today))[0])


def _urgency(team: TeamFigures) -> tuple[int, ...]:
    members = team.members
    return (
        0 if team.needs_attention else 1,
        -team.count("behind"),
        -team.count("at_risk"),
        -sum(m.absent for m in members),
        -sum(m.spot_findings for m in members),
        -sum(m.verdict_false for m in members),
        -sum(m.no_log for m in members),
        -sum(m.missed_checkins for m in members),
    )


def attention_order(teams: Iterable[TeamFigures]) -> list[TeamFigures]:
    """Teams needing attention first, the worst first; the rest by name."""
    return sorted(teams, key=lambda team: (*_urgency(team), team.label))


def roll_up(teams: Iterable[TeamFigures]) -> list[Rollup]:
    """Per township, in order of the most teams needing attention."""
    by_township: dict[str, list[TeamFigures]] = {}
    for team in teams:
        by_township.setdefault(team.township, []).append(team)
    rows = []
    for township, group in by_township.items():
        members = [m for team in group for m in team.members]
        rows.append(
            Rollup(
                township,
                len(group),
                len(members),
                sum(m.present for m in members),
                sum(m.nights for m in members),
                sum(m.leave for m in members),
                sum(m.absent for m in members),
                sum(m.missed_checkins for m in members),
                sum(m.no_log for m in members),
                sum(1 for m in members if m.pace == "behind"),
                sum(1 for m in members if m.pace == "at_risk"),
                sum(1 for team in group if team.needs_attention),
            )
        )
    return sorted(rows, key=lambda r: (-r.attention, -r.behind, -r.absent, r.township))


ScopeKind = Literal["team", "township", "county", "area"]


@dataclass(frozen=True)
class Digest:
    period: Period
    scope: ScopeKind
    name: str  # the township, county or team the digest is about
    days: tuple[date, ...]
    teams: tuple[TeamFigures, ...]  # the teams needing attention first
    townships: tuple[Rollup, ...]  # for a county admin: the roll-up by township
    policies: dict[int, Policy]  # by team id: the quotas the figures are held against
    summaries: frozenset[int]  # teams whose monthly summary for the period's month is in
    problems: ProblemFigures | None = None  # the problem list's section
    briefs: dict[int, int] = field(default_factory=dict)  # by team: information briefs sent


# ---------------------------------------------------------------------- periods
@dataclass(frozen=True)
class Period:
    kind: DigestKind
    first: date
    last: date

    @property
    def key(self) -> str:
        """``2026-W47`` for a week (ISO numbering), ``2026-11`` for a month."""
        if self.kind == "weekly":
            year, week, _ = self.first.isocalendar()
            return f"{year:04d}-W{week:02d}"
        return f"{self.first.year:04d}-{self.first.month:02d}"


def week_of(day: date) -> Period:
    monday = day - timedelta(days=day.weekday())
    return Period("weekly", monday, monday + timedelta(days=6))


def month_period(month: str) -> Period:
    year, number = (int(part) for part in month.split("-"))
    first, last = month_bounds(date(year, number, 1))
    return Period("monthly", first, last)


def last_full_week(today: date) -> Period:
    return week_of(today - timedelta(days=today.weekday() + 1))


def parse_period(words: list[str], today: date) -> Period | Problem:
    """``/digest`` words: nothing (last full week), a day (its week), ``2026-W47``, ``last``,
    ``month`` (last month) or ``month 2026-10``. Weeks and months still running are allowed
    (the figures are to date); ones that have not begun are not."""
    if not words or words[0].lower() in ("last", "上周"):
        return last_full_week(today)
    head = words[0].lower()
    if head in ("month", "月", "月度"):
        month = parse_month(words[1]) if len(words) > 1 else previous_month(month_of(today))
        if month is None:
            return Problem("digest.err.period", {"value": " ".join(words)})
        period = month_period(month)
    elif head in ("this", "本周"):
        period = week_of(today)
    elif found := _WEEK.match(words[0]):
        try:
            monday = date.fromisocalendar(int(found[1]), int(found[2]), 1)
        except ValueError:
            return Problem("digest.err.period", {"value": words[0]})
        period = week_of(monday)
    else:
        day = parse_day(words[0], today)
        if day is None:
            return Problem("digest.err.period", {"value": words[0]})
        period = week_of(day)
    if period.first > today:
        return Problem("digest.err.future", {"value": " ".join(words)})
    return period


def due_period(
    kind: DigestKind, today: date, now: time, day: Weekday, at: time
) -> tuple[Period, datetime]:
    """The latest scheduled digest of this kind that has fallen due by local ``today`` and
    ``now``, and its local due moment. Weekly ones cover the last full week (Monday to
    Sunday) before their day; monthly ones, the month before, due on the 1st."""
    if kind == "weekly":
        back = (today.weekday() - WEEKDAYS.index(day)) % 7
        due = today - timedelta(days=back)
        if back == 0 and now < at:
            due -= timedelta(days=7)
        period = last_full_week(due)
    else:
        due = today.replace(day=1)
        if today.day == 1 and now < at:
            due = (due - timedelta(days=1)).replace(day=1)
        period = month_period(previous_month(month_of(due)))
    return period, datetime.combine(due, at)


def is_late(due: datetime, now: datetime) -> bool:
    return now - due > LATE_AFTER
