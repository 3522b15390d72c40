"""Leave (请销假): what a request may be, who decides it, and which days it excuses.

Leave must be approved before the member leaves the village; they report back (/back) when
they return. Who decides depends on the length: in Huize county up to 3 days the township,
more than 3 the county's organisation department. Every figure here comes from the county's
policy, so another county's thresholds are configuration, not code.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from rules.policy import OfficialRule, Policy
from rules.problems import Problem
from storage.models import LeaveRequest

LeaveKind = Literal["personal", "sick", "official", "other"]
LEAVE_KINDS: tuple[LeaveKind, ...] = ("personal", "sick", "official", "other")
Level = Literal["leader", "township", "county"]
LEVELS: tuple[Level, ...] = ("leader", "township", "county")
LeaveState = Literal["pending", "approved", "rejected", "cancelled"]

# Words a member may type for each kind, in both languages.
KIND_WORDS: dict[str, LeaveKind] = {
    "personal": "personal",
    "事假": "personal",
    "sick": "sick",
    "病假": "sick",
    "official": "official",
    "business": "official",
    "公假": "official",
    "公务": "official",
    "other": "other",
    "其他": "other",
}
# How far ahead leave may be asked for; further is almost surely a typo in the year.
MAX_AHEAD = timedelta(days=366)
MAX_REASON = 500

_UP: dict[Level, Level | None] = {"leader": "township", "township": "county", "county": None}


def up(level: Level) -> Level | None:
    """The level a request escalates to when its approvers do not answer."""
    return _UP[level]


def length(first: date, last: date) -> int:
    """Calendar days, both ends included: leave from the 3rd to the 5th is 3 days."""
    return (last - first).days + 1


def route(days: int, policy: Policy, *, by_leader: bool = False) -> tuple[Level, ...]:
    """The levels a request of ``days`` days goes through, in order. A leader's own request
    skips the leader step: no leader decides on their own or a fellow leader's leave."""
    final: Level = "township" if days <= policy.leave_township_days else "county"
    return ("leader", final) if policy.leave_leader_step and not by_leader else (final,)


def resolve_route(
    levels: Iterable[Level], available: Mapping[Level, bool]
) -> tuple[Level, ...] | None:
    """Drop the levels nobody can decide at: a missing optional first step is skipped, a
    missing final level goes up (township → county). When no one above is there, the team's
    leaders decide; None when nobody at all can (the member must be told, not left waiting)."""
    wanted = list(levels)
    chosen: list[Level] = []
    for i, level in enumerate(wanted):
        candidates: list[Level] = [level]
        if i == len(wanted) - 1:
            higher = up(level)
            while higher is not None:
                candidates.append(higher)
                higher = up(higher)
        found = next((c for c in candidates if available.get(c)), None)
        if found is not None and found not in chosen:
            chosen.append(found)
    if not chosen and available.get("leader"):
        chosen.append("leader")
    return tuple(chosen) or None


@dataclass(frozen=True)
class Span:
    """A member's leave already asked for or granted, for the overlap check."""

    id: int
    first: date
    last: date


def check_request(
    kind: LeaveKind,
    first: date,
    last: date,
    today: date,
    policy: Policy,
    taken: Iterable[Span] = (),
) -> Problem | None:
    """Why this request cannot be made, or None. ``today`` is the team's local day."""
    if last < first:
        return Problem("leave.err.order", {"first": first.isoformat(), "last": last.isoformat()})
    if first < today:
        earliest = today - timedelta(days=policy.leave_sick_back_days)
        if kind != "sick":
            return Problem("leave.err.past", {"first": first.isoformat()})
        if first < earliest:
            return Problem(
                "leave.err.sick_past",
                {"first": first.isoformat(), "days": policy.leave_sick_back_days},
            )
    if first > today + MAX_AHEAD:
        return Problem("leave.err.far", {"first": first.isoformat()})
    days = length(first, last)
    if days > policy.leave_max_days:
        return Problem("leave.err.too_long", {"days": days, "max": policy.leave_max_days})
    for span in taken:
        if first <= span.last and span.first <= last:
            return Problem(
                "leave.err.overlap",
                {"id": span.id, "first": span.first.isoformat(), "last": span.last.isoformat()},
            )
    return None


def excused_days(first: date, last: date, returned: date | None) -> set[date]:
    """The days approved leave excuses. Back early (/back on a day within the leave), the
    leave ends the day before: the return day is an ordinary day, checked in or not."""
    end = min(last, returned - timedelta(days=1)) if returned is not None else last
    return {first + timedelta(days=n) for n in range((end - first).days + 1)}


def leave_calendar(
    leaves: Iterable[LeaveRequest], official: OfficialRule
) -> tuple[set[date], set[date]]:
    """The days approved leave excuses, and the days of official business credited as
    presence (where the county counts them so)."""
    excused: set[date] = set()
    credited: set[date] = set()
    for leave in leaves:
        if leave.state != "approved":
            continue
        days = excused_days(leave.first, leave.last, leave.returned_day)
        (credited if leave.kind == "official" and official == "presence" else excused).update(days)
    return excused, credited


def is_overdue(state: LeaveState, last: date, returned: date | None, today: date) -> bool:
    """Approved leave whose last day has passed and the member never reported back."""
    return state == "approved" and returned is None and today > last


def escalation_stage(step_since: datetime, now: datetime, remind_hours: int) -> int:
    """0: waiting; 1: remind the approvers; 2: also ask the level above."""
    if remind_hours <= 0:
        return 0
    waited = now - step_since
    if waited >= timedelta(hours=2 * remind_hours):
        return 2
    if waited >= timedelta(hours=remind_hours):
        return 1
    return 0


# ---------------------------------------------------------------------- reading what is typed
_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_SHORT = re.compile(r"^(\d{1,2})[-/.](\d{1,2})$")
_CHINESE = re.compile(r"^(?:(\d{4})年)?(\d{1,2})月(\d{1,2})[日号]?$")
_RELATIVE = {
    "yesterday": -1,
    "昨天": -1,
    "前天": -2,
    "today": 0,
    "今天": 0,
    "tomorrow": 1,
    "明天": 1,
    "后天": 2,
}


def parse_day(text: str, today: date) -> date | None:
    """``2026-12-03``, ``12-03``, ``12/3``, ``12月3日``, ``today``, ``明天``… A day without a
    year is this year's."""
    word = text.strip().lower()
    if word in _RELATIVE:
        return today + timedelta(days=_RELATIVE[word])
    for pattern in (_ISO, _SHORT, _CHINESE):
        match = pattern.match(word)
        if match is None:
            continue
        parts = match.groups()
        year = int(parts[0]) if len(parts) == 3 and parts[0] else today.year
        month, day = int(parts[-2]), int(parts[-1])
        try:
            return date(year, month, day)
        except ValueError:
            return None
    return None


def day_asked(word: str, today: date) -> date | Problem:
    """A day someone asks to see (``/logs``, ``/today``): written any way ``parse_day`` reads,
    and not after today."""
    day = parse_day(word, today)
    if day is None:
        return Problem("err.day", {"word": word})
    if day > today:
        return Problem("err.future_day")
    return day


def parse_kind(word: str) -> LeaveKind | None:
    return KIND_WORDS.get(word.strip().lower())


@dataclass(frozen=True)
class Draft:
    kind: LeaveKind
    first: date
    last: date
    reason: str


def parse_line(words: list[str], today: date) -> Draft | Problem:
    """``<first> [<last>] <kind> <reason…>``: the one-line request. One day needs no last.
    What is missing is named: a day and a kind with no reason asks for the reason."""
    if len(words) < 2:
        return Problem("leave.usage")
    first = parse_day(words[0], today)
    if first is None:
        return Problem("leave.err.date", {"value": words[0]})
    rest = words[1:]
    last = parse_day(rest[0], today)
    if last is not None:
        rest = rest[1:]
    else:
        last = first
    if not rest:
        return Problem("leave.usage")
    kind = parse_kind(rest[0])
    if kind is None:
        return Problem("leave.err.kind", {"value": rest[0]})
    reason = " ".join(rest[1:]).strip()
    if not reason:
        return Problem("leave.err.no_reason")
    return Draft(kind, first, last, reason[:MAX_REASON])


def month_grid(year: int, month: int) -> list[list[date | None]]:
    """Weeks of a month, Monday first, None where a week spills into another month."""
    weeks = calendar.Calendar(firstweekday=0).monthdayscalendar(year, month)
    return [[date(year, month, d) if d else None for d in week] for week in weeks]


def shift_month(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1
