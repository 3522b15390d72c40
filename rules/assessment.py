"""Assessment (考核) as pure rules: the periods a county assesses (a quarter, a year, a whole
posting), the quota pro-rated over the days someone was a member, the grades, and the
ceiling the county's consequence rules put on a member's grade, each with its reason. The
grade itself is the county's to enter: nothing here decides it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from rules.days import month_bounds
from rules.problems import Problem

Grade = Literal["excellent", "competent", "basic", "not_competent", "none"]
GRADES: tuple[Grade, ...] = ("excellent", "competent", "basic", "not_competent", "none")
GRADE_WORDS: dict[str, Grade] = {
    "excellent": "excellent",
    "优秀": "excellent",
    "competent": "competent",
    "称职": "competent",
    "basic": "basic",
    "基本称职": "basic",
    "not_competent": "not_competent",
    "incompetent": "not_competent",
    "不称职": "not_competent",
    "none": "none",
    "不定等次": "none",
}
# How a ceiling ranks: a member may be graded at most this high. "none" is no grade at all.
_RANK: dict[Grade, int] = {
    "excellent": 4,
    "competent": 3,
    "basic": 2,
    "none": 1,
    "not_competent": 0,
}

_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True)
class AssessPeriod:
    key: str  # "2026-Q4", "2026", "posting"
    first: date
    last: date


def parse_period(words: list[str], today: date) -> AssessPeriod | Problem:
    """``2026-Q4``, ``2026``, ``posting`` (期满: the two years to date); nothing: the quarter
    just ended, or the running one in its last month."""
    word = words[0].strip() if words else ""
    if not word:
        quarter = (today.month - 1) // 3
        year = today.year
        if today.month % 3 != 0:  # not the quarter's last month: the one before
            quarter -= 1
            if quarter < 0:
                year, quarter = year - 1, 3
        word = f"{year}-Q{quarter + 1}"
    if word.lower() in ("posting", "期满"):
        # Two years to date (a 29 February falls back to the 28th).
        first = today.replace(
            year=today.year - 2, day=min(today.day, 28 if today.month == 2 else 31)
        )
        return AssessPeriod("posting", first, today)
    if found := _QUARTER.match(word):
        year, quarter = int(found[1]), int(found[2])
        first = date(year, 3 * quarter - 2, 1)
        last = month_bounds(date(year, 3 * quarter, 1))[1]
        key = f"{year}-Q{quarter}"
    elif found := _YEAR.match(word):
        year = int(found[1])
        first, last, key = date(year, 1, 1), date(year, 12, 31), str(year)
    else:
        return Problem("assess.err.period", {"value": word})
    if first > today:
        return Problem("digest.err.future", {"value": word})
    return AssessPeriod(key, first, last)


def prorated_quota(days_a_month: int, first: date, last: date) -> int:
    """The monthly quota over the days ``first``..``last``: each month's quota in proportion
    to its days that fall in the range (joining mid-month owes part of that month)."""
    if days_a_month <= 0 or last < first:
        return 0
    owed = 0.0
    day = first
    while day <= last:
        month_first, month_last = month_bounds(day)
        end = min(month_last, last)
        span = (end - day).days + 1
        length = (month_last - month_first).days + 1
        owed += days_a_month * span / length
        day = end + timedelta(days=1)
    return round(owed)


@dataclass(frozen=True)
class Facts:
    """One member's period, as the assessment reads it."""

    present: int
    nights: int
    quota_days: int
    quota_nights: int
    leave: int
    log_days: int
    false_visits: int
    spot_findings: int  # in the calendar year the period ends in
    recalled: bool
    spot_flag: int
    spot_limit: int


@dataclass(frozen=True)
class Ceiling:
    grade: Grade  # the highest grade the rules allow ("excellent": no limit)
    reasons: tuple[tuple[str, dict[str, int]], ...]  # catalogue keys and their figures


def ceiling(facts: Facts) -> Ceiling:
    """The county's consequence rules applied: spot-check absences (twice in a year: no
    grade; more than the limit: not competent), a recall (not above basic), days or nights
    short of the pro-rated quota and visits found false (not above basic)."""
    found: list[tuple[Grade, str, dict[str, int]]] = []
    n = facts.spot_findings
    if facts.spot_limit and n > facts.spot_limit:
        found.append(
            ("not_competent", "assess.reason.spot_limit", {"n": n, "limit": facts.spot_limit})
        )
    elif facts.spot_flag and n >= facts.spot_flag:
        found.append(("none", "assess.reason.spot_flag", {"n": n}))
    if facts.recalled:
        found.append(("basic", "assess.reason.recalled", {}))
    if facts.present < facts.quota_days:
        found.append(
            ("basic", "assess.reason.days", {"n": facts.present, "quota": facts.quota_days})
        )
    if facts.nights < facts.quota_nights:
        found.append(
            ("basic", "assess.reason.nights", {"n": facts.nights, "quota": facts.quota_nights})
        )
    if facts.false_visits:
        found.append(("basic", "assess.reason.false_visits", {"n": facts.false_visits}))
    grade: Grade = min((g for g, _, _ in found), key=_RANK.__getitem__, default="excellent")
    return Ceiling(grade, tuple((key, figures) for _, key, figures in found))


def within(grade: Grade, limit: Grade) -> bool:
    """Whether a grade entered respects a ceiling (the county may still enter it: the
    reasons are then shown beside it, never silently changed)."""
    return _RANK[grade] <= _RANK[limit]


def grade_of(word: str) -> Grade | None:
    return GRADE_WORDS.get(word.strip().lower())


def count_in(days: Iterable[date], first: date, last: date) -> int:
    return sum(1 for d in days if first <= d <= last)
