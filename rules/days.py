"""A member's days and the month against the county's quota.

A day is judged in the team's time zone from the windows the member checked in. Nights are
counted apart (Huaihua wants 22 days *of which* 15 nights). Leave days are excused: neither
present nor absent, unless the member checked in anyway: presence on a leave day counts as
presence. Official business may be *credited* as presence where the county says so. Today is
"pending" while a day window the member could still use is open or ahead.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Literal

from rules.policy import Policy, WindowName

DayStatus = Literal["present", "absent", "leave", "pending", "future", "outside"]
Pace = Literal["met", "on_track", "at_risk", "behind"]


def day_windows_left(policy: Policy, now: time) -> bool:
    """Whether a day window is still open or ahead at local time ``now``."""
    return any(w.end is None or now < w.end for w in policy.day_windows)


def classify_day(
    day: date,
    today: date,
    now: time,
    checked: Collection[WindowName],
    policy: Policy,
    *,
    on_leave: bool = False,
    credited: bool = False,
) -> DayStatus:
    """One day of one member. ``now`` is the team's local time on ``today``."""
    if day > today:
        return "leave" if on_leave else "future"
    needed = {w.name for w in policy.day_windows}
    got = needed & set(checked)
    present = bool(got) if policy.day_rule == "any" else got == needed
    if present or credited:
        return "present"
    if on_leave:
        return "leave"
    if day == today and day_windows_left(policy, now):
        return "pending"
    return "absent"


@dataclass(frozen=True)
class MonthFigures:
    first: date  # first day that counts: the month's first, or the day the member joined
    last: date
    present: int
    nights: int
    leave: int
    absent: int
    remaining: int  # days still to come that could be present, today included if pending
    quota_days: int
    quota_nights: int
    pace: Pace

    @property
    def need_days(self) -> int:
        return max(0, self.quota_days - self.present)

    @property
    def need_nights(self) -> int:
        return max(0, self.quota_nights - self.nights)


def month_bounds(day: date) -> tuple[date, date]:
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=1), day.replace(day=last)


def prorated(quota: int, first: date, last: date) -> int:
    """A member who joined mid-month owes the quota in proportion to the days left to them."""
    month_first, month_last = month_bounds(first)
    in_month = (month_last - month_first).days + 1
    days = (last - first).days + 1
    return math.ceil(quota * days / in_month)


def month_figures(
    today: date,
    now: time,
    checked: Mapping[date, Collection[WindowName]],
    policy: Policy,
    *,
    joined: date | None = None,
    leave_days: Collection[date] = frozenset(),
    credited_days: Collection[date] = frozenset(),
) -> MonthFigures:
    """The month of ``today`` so far, and whether the member's pace reaches the quota."""
    month_first, last = month_bounds(today)
    first = max(month_first, joined) if joined else month_first
    counts = {"present": 0, "absent": 0, "leave": 0}
    nights = remaining = 0
    day = first
    while day <= last:
        marks = checked.get(day, ())
        status = classify_day(
            day,
            today,
            now,
            marks,
            policy,
            on_leave=day in leave_days,
            credited=day in credited_days,
        )
        if day <= today and status in counts:
            counts[status] += 1
        if day <= today and "night" in marks and status != "leave":
            nights += 1
        if status in ("pending", "future"):
            remaining += 1  # leave ahead is excluded: those days cannot be present
        day += timedelta(days=1)
    quota_days = prorated(policy.days, first, last) if first <= last else 0
    quota_nights = prorated(policy.nights, first, last) if first <= last else 0
    elapsed = counts["present"] + counts["absent"]
    pace = _pace(counts["present"], nights, remaining, elapsed, quota_days, quota_nights)
    return MonthFigures(
        first,
        last,
        counts["present"],
        nights,
        counts["leave"],
        counts["absent"],
        remaining,
        quota_days,
        quota_nights,
        pace,
    )


def _pace(
    present: int,
    nights: int,
    remaining: int,
    elapsed: int,
    quota_days: int,
    quota_nights: int,
) -> Pace:
    if present >= quota_days and nights >= quota_nights:
        return "met"
    if present + remaining < quota_days or nights + remaining < quota_nights:
        return "behind"
    if elapsed == 0:
        return "on_track"
    # At the rate kept so far, would the days still to come be enough?
    rate_days = present / elapsed
    rate_nights = nights / elapsed
    on_pace = present + rate_days * remaining >= quota_days
    on_pace_nights = nights + rate_nights * remaining >= quota_nights
    return "on_track" if on_pace and on_pace_nights else "at_risk"
