"""Which reminders are due for a team at a local moment, and who switched which off.

The county sets the times (``remind_open``, ``remind_close``, ``remind_log``, ``remind_month``
in its rules). A team may move them or switch them off with ``/remind`` (its words override the
county's). A member may switch any kind off for themselves but not move it: members with no
private chat with the bot are reminded together, by one message in the group.

Each slot has a *period* key. A reminder is sent once per member, kind and period, so a slot
that stays due for an hour (the job looks every minute) still reminds each member once.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Literal

from rules import policy as policies
from rules.policy import Policy, Window
from rules.problems import Problem

Kind = Literal["open", "close", "missed", "log", "month"]
KINDS: tuple[Kind, ...] = ("open", "close", "missed", "log", "month")
# A window just missed is said for this long after it ends, privately, with a make-up button.
MISSED_FOR = 60
# The month-end reminder goes out from this local time on its first day.
MONTH_AT = time(9, 0)
_DAY_MINUTES = 24 * 60
_POLICY_KEY = {"open": "remind_open", "close": "remind_close", "missed": "remind_missed",
               "log": "remind_log", "month": "remind_month"}  # fmt: skip
_ON = ("on", "yes", "开")
_OFF = ("off", "no", "关")


@dataclass(frozen=True)
class Slot:
    kind: Kind
    period: str  # "2026-11-23:morning", "2026-11-23" or "2026-11"
    window: Window | None = None


def _minutes(moment: time | None) -> float:
    """Minutes since midnight; ``None`` is a window's end at midnight."""
    if moment is None:
        return float(_DAY_MINUTES)
    return moment.hour * 60 + moment.minute + moment.second / 60


def reminded_windows(policy: Policy) -> tuple[Window, ...]:
    """The windows members are reminded of: the day's, and the night's where nights count."""
    return tuple(w for w in policy.windows if w.name != "night" or policy.nights > 0)


def due_slots(policy: Policy, today: date, now: time) -> list[Slot]:
    """The reminders due at local time ``now`` on ``today`` under the team's rules.

    A window's opening reminder stays due until its closing reminder takes over, so a bot that
    starts late in the window still reminds; the closing one stays due until the window ends.
    """
    slots: list[Slot] = []
    at = _minutes(now)
    for window in reminded_windows(policy):
        start, end = _minutes(window.start), _minutes(window.end)
        close_at = max(start, end - policy.remind_close) if policy.remind_close else end
        period = f"{today.isoformat()}:{window.name}"
        if policy.remind_open and start <= at < close_at:
            slots.append(Slot("open", period, window))
        if policy.remind_close and close_at <= at < end:
            slots.append(Slot("close", period, window))
        if policy.remind_missed and window.end is not None and end <= at < end + MISSED_FOR:
            slots.append(Slot("missed", period, window))
    if policy.remind_log is not None and _minutes(policy.remind_log) <= at:
        slots.append(Slot("log", today.isoformat()))
    if policy.remind_month and at >= _minutes(MONTH_AT):
        days_left = calendar.monthrange(today.year, today.month)[1] - today.day + 1
        if days_left <= policy.remind_month:
            slots.append(Slot("month", f"{today.year:04d}-{today.month:02d}"))
    return slots


def team_rules(county: Policy, overrides: Mapping[str, str]) -> Policy:
    """The county's rules with the team's reminder words on top. Stored words were checked
    when they were set; one the county's rules no longer allow is skipped."""
    result = county
    for kind, value in overrides.items():
        changed = policies.apply_changes(result, [f"{_POLICY_KEY[kind]}={value}"])
        if not isinstance(changed, Problem):
            result = changed
    return result


def member_wants(kind: Kind, overrides: Mapping[str, str]) -> bool:
    return overrides.get(kind) != "off"


def change_overrides(
    current: Mapping[str, str], words: list[str], *, member: bool
) -> dict[str, str] | Problem:
    """``off``, ``on`` (the same as ``reset``) or ``kind=value`` words onto the stored
    overrides.

    A team's values are what the county's rules take (``close=15``, ``log=21:00``,
    ``open=off``); a member's are only ``on`` or ``off``.
    """
    result = dict(current)
    for word in words:
        low = word.strip().lower()
        if low in ("reset", *_ON):
            result = {}  # back to the county's (or, for a member, the team's) reminders
            continue
        if low in _OFF:
            result = {k: "off" for k in KINDS}
            continue
        kind, sep, value = low.partition("=")
        if not sep or kind not in KINDS or not value:
            return Problem("remind.err.word", {"value": word})
        if member:
            if value not in _ON + _OFF:
                return Problem("remind.err.member_value", {"value": word})
            if value in _ON:
                result.pop(kind, None)
            else:
                result[kind] = "off"
            continue
        checked = policies.apply_changes(policies.DEFAULT_POLICY, [f"{_POLICY_KEY[kind]}={value}"])
        if isinstance(checked, Problem):
            return checked
        result[kind] = value
    return result
