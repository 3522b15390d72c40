"""A county's attendance rules: check-in windows, accuracy, live location, monthly quota.

Counties differ (Changsha: 20 days a month; Huaihua: 22 days of which 15 nights; one county
checks in at 07:30), so every figure here is configuration with a sensible default. The
policy is stored as JSON and changed with ``key=value`` words, read by :func:`apply_changes`.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, replace
from datetime import time
from typing import Any, Literal

from rules.problem_list import CATEGORIES, CATEGORY_WORDS
from rules.problems import Problem

WindowName = Literal["morning", "evening", "night"]
WINDOW_NAMES: tuple[WindowName, ...] = ("morning", "evening", "night")
LiveRule = Literal["required", "flagged"]
DayRule = Literal["any", "all"]
# Official business away from the village: excused leave, or a day of work that counts.
OfficialRule = Literal["leave", "presence"]
MakeupLevel = Literal["leader", "township"]
FieldRule = Literal["off", "approve", "count"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# A location reaching a running bot more than this long after it was sent is stale.
STALE_SECONDS = 120
MIN_ACCURACY_M = 20
MAX_ACCURACY_M = 2000
# How long a spot check may give to answer: long enough to step outside for a signal, short
# enough that nobody drives back to the village first.
MIN_SPOT_MINUTES = 5
MAX_SPOT_MINUTES = 240


@dataclass(frozen=True)
class Window:
    """``start`` ≤ local time < ``end``; ``end`` of None means midnight (24:00)."""

    name: WindowName
    start: time
    end: time | None

    def contains(self, moment: time) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)

    @property
    def label(self) -> str:
        end = "24:00" if self.end is None else self.end.strftime("%H:%M")
        return f"{self.start.strftime('%H:%M')}–{end}"


@dataclass(frozen=True)
class Policy:
    windows: tuple[Window, ...] = (
        Window("morning", time(6), time(9)),
        Window("evening", time(17), time(20)),
        Window("night", time(20), None),
    )
    accuracy_m: int = 200
    live: LiveRule = "flagged"
    days: int = 20
    nights: int = 0
    # "any": a check-in in any day window makes the day; "all": every day window is needed.
    day_rule: DayRule = "any"
    # Leave: up to this many days the township decides, more the county.
    leave_township_days: int = 3
    # The team's leader decides first, then the township or county (``leave_leader=off``
    # sends requests straight to the township or county).
    leave_leader_step: bool = True
    leave_max_days: int = 30
    # Sick leave may start this many days back (a member falls ill before they can ask).
    leave_sick_back_days: int = 2
    # Approvers are reminded after this many hours; after twice as long the level above
    # is asked too. 0 turns both off.
    leave_remind_hours: int = 12
    official: OfficialRule = "leave"
    # Reminders (a team or a member may switch them off; a team may move them, see
    # rules.reminders): when a window opens, this many minutes before it closes (0: never),
    # the evening log reminder (None: never), and this many days before the month ends.
    remind_open: bool = True
    # After a window ends, members who missed it hear so privately, with a make-up button.
    remind_missed: bool = True
    remind_close: int = 30
    remind_log: time | None = time(20, 30)
    remind_month: int = 5
    # Weekly digests go out on this day at this local time (None: no scheduled digests);
    # the monthly compliance report goes out on the 1st at the same time.
    digest_day: Weekday = "mon"
    digest_at: time | None = time(8, 0)
    # Spot checks: the county's scheduled ones (this many a week in each township, 0: none)
    # fall at random moments within these hours, Monday to Friday; every spot check gives
    # this many minutes to answer unless its order says otherwise.
    spot_week: int = 0
    spot_hours: tuple[time, time] = (time(8, 30), time(17, 30))
    spot_minutes: int = 30
    # The county's consequence rule for absence findings in a calendar year: from
    # ``spot_flag`` findings a member is flagged (no assessment grade that year); above
    # ``spot_limit`` they cannot be rated competent. 0 switches a level off.
    spot_flag: int = 2
    spot_limit: int = 3
    # A location sent while the bot was down counts by its own time if it reaches the bot
    # within this many hours (Telegram keeps updates for a day).
    backlog_hours: int = 12
    # Make-up requests (补卡): a missed window may be set right up to this many days back,
    # this many times a calendar month (either 0: none), decided by the team's leader or
    # straight by the township.
    makeup_days: int = 3
    makeup_month: int = 3
    makeup_by: MakeupLevel = "leader"
    # Field check-ins (外勤): a point outside every site, inside a window, with a reason:
    # not taken, decided like a make-up (by ``field_by``), or counted at once; one further
    # than ``field_far_km`` from the nearest site always needs the township.
    field: FieldRule = "approve"
    field_by: MakeupLevel = "leader"
    field_far_km: int = 20
    # A member with this many made-up or annulled check-ins in a digest's period needs
    # attention there (0: never for this alone).
    exceptions: int = 3
    # The problem list (红黄绿三色清单): days a red, yellow or green problem has at each level
    # before it moves up by itself; a category raised in this many villages within a
    # digest's period is a common problem for the county's headquarters (0: never); and the
    # county's categories (codes from rules.problem_list, or words of the county's own).
    problem_red: int = 3
    problem_yellow: int = 15
    problem_green: int = 30
    problem_common: int = 3
    problem_categories: tuple[str, ...] = CATEGORIES
    # A recalled member's unit has this many days to send a replacement; teams are expected
    # to send this many information briefs a month (0: no expectation).
    recall_days: int = 7
    briefs_month: int = 0

    def window(self, name: str) -> Window | None:
        return next((w for w in self.windows if w.name == name), None)

    def window_at(self, moment: time) -> Window | None:
        return next((w for w in self.windows if w.contains(moment)), None)

    @property
    def day_windows(self) -> tuple[Window, ...]:
        return tuple(w for w in self.windows if w.name != "night")


DEFAULT_POLICY = Policy()


def to_json(policy: Policy) -> str:
    return json.dumps(
        {
            "windows": {w.name: w.label for w in policy.windows},
            "accuracy_m": policy.accuracy_m,
            "live": policy.live,
            "days": policy.days,
            "nights": policy.nights,
            "day_rule": policy.day_rule,
            "leave_township": policy.leave_township_days,
            "leave_leader": "on" if policy.leave_leader_step else "off",
            "leave_max": policy.leave_max_days,
            "sick_back": policy.leave_sick_back_days,
            "leave_remind": policy.leave_remind_hours,
            "official": policy.official,
            "remind_open": "on" if policy.remind_open else "off",
            "remind_missed": "on" if policy.remind_missed else "off",
            "remind_close": policy.remind_close,
            "remind_log": clock_text(policy.remind_log),
            "remind_month": policy.remind_month,
            "digest_day": policy.digest_day,
            "digest_at": clock_text(policy.digest_at),
            "spot_week": policy.spot_week,
            "spot_hours": span_text(policy.spot_hours),
            "spot_minutes": policy.spot_minutes,
            "spot_flag": policy.spot_flag,
            "spot_limit": policy.spot_limit,
            "backlog": policy.backlog_hours,
            "makeup_days": policy.makeup_days,
            "makeup_month": policy.makeup_month,
            "makeup_by": policy.makeup_by,
            "exceptions": policy.exceptions,
            "field": policy.field,
            "field_by": policy.field_by,
            "field_far": policy.field_far_km,
            "problem_red": policy.problem_red,
            "problem_yellow": policy.problem_yellow,
            "problem_green": policy.problem_green,
            "problem_common": policy.problem_common,
            "problem_categories": ",".join(policy.problem_categories),
            "recall_days": policy.recall_days,
            "briefs_month": policy.briefs_month,
        },
        ensure_ascii=False,
    )


def from_json(text: str | None) -> Policy:
    """A stored policy; keys it lacks keep their defaults, so old rows stay readable."""
    if not text:
        return DEFAULT_POLICY
    data: dict[str, Any] = json.loads(text)
    words = [f"{name}={span}" for name, span in data.get("windows", {}).items()]
    words += [f"{key}={data[key]}" for key in _SCALARS if key in data]
    policy = apply_changes(DEFAULT_POLICY, words, replace_windows=True)
    if isinstance(policy, Problem):
        raise ValueError(f"stored policy is invalid: {policy}")
    return policy


def clock_text(moment: time | None) -> str:
    return "off" if moment is None else moment.strftime("%H:%M")


def span_text(span: tuple[time, time]) -> str:
    return f"{span[0].strftime('%H:%M')}–{span[1].strftime('%H:%M')}"


def _parse_clock(text: str) -> time | Problem | None:
    text = text.strip().replace("：", ":")
    if text in ("24:00", "24"):
        return None
    try:
        hours, _, minutes = text.partition(":")
        return time(int(hours), int(minutes or 0))
    except ValueError:
        return Problem("rules.err.time", {"value": text})


def _parse_window(name: WindowName, span: str) -> Window | Problem | None:
    if span.lower() in ("off", "none", "-"):
        return None
    start_text, sep, end_text = span.replace("–", "-").replace("~", "-").partition("-")
    if not sep:
        return Problem("rules.err.window", {"value": span})
    start, end = _parse_clock(start_text), _parse_clock(end_text)
    for part in (start, end):
        if isinstance(part, Problem):
            return part
    if start is None or isinstance(start, Problem) or isinstance(end, Problem):
        return Problem("rules.err.window", {"value": span})
    if end is not None and end <= start:
        # Windows crossing midnight would put a check-in on two days; refuse rather than guess.
        return Problem("rules.err.window_order", {"value": span})
    return Window(name, start, end)


_SCALARS = (
    "accuracy_m",
    "live",
    "days",
    "nights",
    "day_rule",
    "leave_township",
    "leave_leader",
    "leave_max",
    "sick_back",
    "leave_remind",
    "official",
    "remind_open",
    "remind_missed",
    "remind_close",
    "remind_log",
    "remind_month",
    "digest_day",
    "digest_at",
    "spot_week",
    "spot_hours",
    "spot_minutes",
    "spot_flag",
    "spot_limit",
    "backlog",
    "makeup_days",
    "makeup_month",
    "makeup_by",
    "exceptions",
    "field",
    "field_by",
    "field_far",
    "problem_red",
    "problem_yellow",
    "problem_green",
    "problem_common",
    "problem_categories",
    "recall_days",
    "briefs_month",
)
_ALIASES = {"accuracy": "accuracy_m"}
# Words a county types, and the policy field each sets.
_NUMBERS = {
    "accuracy_m": "accuracy_m",
    "days": "days",
    "nights": "nights",
    "leave_township": "leave_township_days",
    "leave_max": "leave_max_days",
    "sick_back": "leave_sick_back_days",
    "leave_remind": "leave_remind_hours",
    "remind_close": "remind_close",
    "remind_month": "remind_month",
    "spot_week": "spot_week",
    "spot_minutes": "spot_minutes",
    "spot_flag": "spot_flag",
    "spot_limit": "spot_limit",
    "backlog": "backlog_hours",
    "makeup_days": "makeup_days",
    "makeup_month": "makeup_month",
    "exceptions": "exceptions",
    "field_far": "field_far_km",
    "problem_red": "problem_red",
    "problem_yellow": "problem_yellow",
    "problem_green": "problem_green",
    "problem_common": "problem_common",
    "recall_days": "recall_days",
    "briefs_month": "briefs_month",
}
# A time of day, or ``off``.
_CLOCKS = {"remind_log": "remind_log", "digest_at": "digest_at"}
_CHOICES: dict[str, tuple[str, ...]] = {
    "live": ("required", "flagged"),
    "day_rule": ("any", "all"),
    "official": ("leave", "presence"),
    "digest_day": WEEKDAYS,
    "makeup_by": ("leader", "township"),
    "field": ("off", "approve", "count"),
    "field_by": ("leader", "township"),
}
_SWITCHES = {
    "leave_leader": "leave_leader_step",
    "remind_open": "remind_open",
    "remind_missed": "remind_missed",
}
_OFF = ("off", "none", "-")
_ON_OFF = {"on": True, "yes": True, "true": True, "off": False, "no": False, "false": False}


def apply_changes(
    policy: Policy, words: list[str], *, replace_windows: bool = False
) -> Policy | Problem:
    """Read ``morning=07:00-09:00 days=22 nights=15 live=required accuracy=150`` onto a policy.

    A window set to ``off`` is dropped. Windows may not overlap, since a moment must belong
    to one window only.
    """
    windows = {} if replace_windows else {w.name: w for w in policy.windows}
    changes: dict[str, Any] = {}
    for word in words:
        key, sep, value = word.partition("=")
        key = _ALIASES.get(key.strip().lower(), key.strip().lower())
        value = value.strip()
        if not sep or not value:
            return Problem("rules.err.word", {"value": word})
        if key in WINDOW_NAMES:
            window = _parse_window(key, value)
            if isinstance(window, Problem):
                return window
            if window is None:
                windows.pop(key, None)
            else:
                windows[window.name] = window
        elif key in _NUMBERS:
            number = _whole(value)
            if number is None:
                return Problem("rules.err.number", {"key": key, "value": value})
            changes[_NUMBERS[key]] = number
        elif key in _CLOCKS:
            moment = None if value.lower() in _OFF else _parse_clock(value)
            if isinstance(moment, Problem):
                return moment
            changes[_CLOCKS[key]] = moment
        elif key == "spot_hours":
            hours = _parse_window("morning", value)
            if hours is None or isinstance(hours, Problem) or hours.end is None:
                return (
                    hours
                    if isinstance(hours, Problem)
                    else Problem("rules.err.window", {"value": value})
                )
            changes["spot_hours"] = (hours.start, hours.end)
        elif key == "problem_categories":
            found = parse_categories(value)
            if isinstance(found, Problem):
                return found
            changes["problem_categories"] = found
        elif key in _CHOICES and value in _CHOICES[key]:
            changes[key] = value
        elif key in _SWITCHES and value.lower() in _ON_OFF:
            changes[_SWITCHES[key]] = _ON_OFF[value.lower()]
        else:
            return Problem("rules.err.word", {"value": word})
    ordered = tuple(sorted(windows.values(), key=lambda w: w.start))
    for earlier, later in itertools.pairwise(ordered):
        if earlier.end is None or later.start < earlier.end:
            return Problem("rules.err.overlap", {"a": earlier.name, "b": later.name})
    result = replace(policy, windows=ordered, **changes)
    return _check_figures(result) or result


def _whole(text: str) -> int | None:
    try:
        return int(text.removesuffix("m"))
    except ValueError:
        return None


def _check_figures(policy: Policy) -> Problem | None:
    if not MIN_ACCURACY_M <= policy.accuracy_m <= MAX_ACCURACY_M:
        return Problem(
            "rules.err.accuracy",
            {"value": policy.accuracy_m, "min": MIN_ACCURACY_M, "max": MAX_ACCURACY_M},
        )
    if not 0 <= policy.days <= 31 or not 0 <= policy.nights <= 31:
        return Problem("rules.err.quota", {"days": policy.days, "nights": policy.nights})
    if policy.nights > 0 and policy.window("night") is None:
        return Problem("rules.err.no_night_window", {"nights": policy.nights})
    if not policy.day_windows and policy.days > 0:
        return Problem("rules.err.no_day_window")
    leave_figures = (
        1 <= policy.leave_max_days <= 366
        and 0 <= policy.leave_township_days <= 366
        and 0 <= policy.leave_sick_back_days <= 14
        and 0 <= policy.leave_remind_hours <= 168
    )
    if not leave_figures:
        return Problem("rules.err.leave_figures")
    if not (0 <= policy.remind_close <= 180 and 0 <= policy.remind_month <= 15):
        return Problem("rules.err.remind_figures")
    spot_figures = (
        0 <= policy.spot_week <= 20
        and MIN_SPOT_MINUTES <= policy.spot_minutes <= MAX_SPOT_MINUTES
        and 0 <= policy.spot_flag <= 52
        and 0 <= policy.spot_limit <= 52
    )
    if not 1 <= policy.backlog_hours <= 24:
        return Problem("rules.err.backlog", {"value": policy.backlog_hours})
    if not spot_figures:
        return Problem("rules.err.spot_figures", {"min": MIN_SPOT_MINUTES, "max": MAX_SPOT_MINUTES})
    if not (
        0 <= policy.makeup_days <= 31
        and 0 <= policy.makeup_month <= 31
        and 0 <= policy.exceptions <= 31
        and 1 <= policy.field_far_km <= 500
    ):
        return Problem("rules.err.makeup_figures")
    deadlines = (policy.problem_red, policy.problem_yellow, policy.problem_green)
    if not all(1 <= d <= 365 for d in deadlines) or not 0 <= policy.problem_common <= 100:
        return Problem("rules.err.problem_figures")
    if not (1 <= policy.recall_days <= 90 and 0 <= policy.briefs_month <= 31):
        return Problem("rules.err.unit_figures")
    return None


MAX_CATEGORIES = 20


def parse_categories(value: str) -> tuple[str, ...] | Problem:
    """``roads,water,power,林业`` (or with 、 or ，): the county's categories, in button order.
    A known word (``道路``) becomes its code; other words are the county's own."""
    words = [w.strip() for w in re.split(r"[,，、]", value) if w.strip()]
    found: list[str] = []
    for word in words:
        code = CATEGORY_WORDS.get(word.lower(), word.lower() if word.isascii() else word)
        if len(code) > 20 or "=" in code:
            return Problem("rules.err.categories", {"value": value})
        if code not in found:
            found.append(code)
    if not found or len(found) > MAX_CATEGORIES:
        return Problem("rules.err.categories", {"value": value})
    return tuple(found)
