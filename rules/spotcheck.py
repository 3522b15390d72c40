"""Spot checks ("where are you right now?"): reading an order, whom to ask, how an answer
counts, what makes an absence finding and what findings cost, and when a county's scheduled
checks fall. Pure: the caller passes the records, the clock and the random source.

A county sends unannounced checks because clocking in proves little. The bot picks members at
random, asks each for their location now, and judges the answer with the check-in rules. The
rotation keeps it fair: a member is picked again only once everyone eligible in the area has
been picked as often, unless the coordinator names them.
"""

from __future__ import annotations

import random
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from rules.checkin import Verdict
from rules.policy import MAX_SPOT_MINUTES, MIN_SPOT_MINUTES, Policy
from rules.problems import Problem

# pending: asked, not answered yet; unreached: the question never reached them (blocked the
# bot, the group is gone), so silence proves nothing.
Result = Literal["pending", "present", "away", "no_answer", "unreached"]
Answer = Literal["present", "away"]
Standing = Literal["clear", "flagged", "not_competent"]
FINDINGS: tuple[Result, ...] = ("away", "no_answer")

DEFAULT_COUNT = 3
MAX_COUNT = 20
# An answer this long after the deadline is still taken (recorded as late); later, a shared
# location is only a check-in.
LATE_ANSWERS_FOR = timedelta(hours=12)
# A scheduled check whose moment passed while the bot was down runs late only within this;
# later it is skipped, since a check out of working hours would be unfair.
SCHEDULE_SLACK = timedelta(minutes=30)
# Scheduled checks fall on working days, Monday to Friday.
WORKING_DAYS = 5

_MINUTES = re.compile(r"^(\d{1,3})\s*(m|min|mins|minutes|分|分钟)$", re.IGNORECASE)


@dataclass(frozen=True)
class Order:
    """``/spotcheck`` words: how many, how long, and the words naming a place or members."""

    count: int | None
    minutes: int | None
    words: tuple[str, ...]


def parse_order(words: Sequence[str]) -> Order | Problem:
    """``[team code|township] [n] [minutes] [@member …]``: the first bare number is how many,
    the second (or one written ``45m``) how long; other words are resolved by the caller."""
    count: int | None = None
    minutes: int | None = None
    rest: list[str] = []
    for word in words:
        found = _MINUTES.match(word)
        if found:
            if minutes is not None:
                return Problem("spot.err.word", {"value": word})
            minutes = int(found[1])
        elif word.isascii() and word.isdigit():
            if count is None:
                count = int(word)
            elif minutes is None:
                minutes = int(word)
            else:
                return Problem("spot.err.word", {"value": word})
        else:
            rest.append(word)
    return Order(count, minutes, tuple(rest))


def order_problem(order: Order) -> Problem | None:
    """A number out of range. Asked only once every other word is known to name something,
    so "/spotcheck HZ-001 abc 9999" is told about ``abc`` first, in the order it was typed."""
    if order.count is not None and not 1 <= order.count <= MAX_COUNT:
        return Problem("spot.err.count", {"value": order.count, "max": MAX_COUNT})
    if order.minutes is not None and not MIN_SPOT_MINUTES <= order.minutes <= MAX_SPOT_MINUTES:
        return Problem(
            "spot.err.minutes",
            {"value": order.minutes, "min": MIN_SPOT_MINUTES, "max": MAX_SPOT_MINUTES},
        )
    return None


@dataclass(frozen=True)
class Candidate:
    """An eligible member (in the area, not on leave today, their team has a site)."""

    person_id: int
    team_id: int
    picks: int  # times picked so far in the rotation period


def choose(
    candidates: Iterable[Candidate], count: int, rng: random.Random, named: Collection[int] = ()
) -> list[Candidate]:
    """The named members, then the least picked at random, up to ``count`` in all."""
    pool = list(candidates)
    chosen = [c for c in pool if c.person_id in named]
    rest = [c for c in pool if c.person_id not in named]
    rng.shuffle(rest)
    rest.sort(key=lambda c: c.picks)  # stable: random among the equally picked
    return chosen + rest[: max(0, count - len(chosen))]


def rotation_start(day: date) -> date:
    """The rotation runs over the calendar year, the period findings are counted in."""
    return day.replace(month=1, day=1)


def answer_of(verdict: Verdict) -> Answer | str:
    """Inside a site: present. Outside every site: away. Anything else (forwarded, a map pin,
    stale, too blurred, a static pin where live is required) cannot answer; the reason is
    returned so the member hears what to fix."""
    if verdict.outcome in ("checkin", "presence", "repeat"):
        # A static point with no accuracy was picked on a map, not measured: as a check-in it
        # counts, flagged for the leader; where someone is *now* it cannot tell.
        if "no_accuracy" in verdict.flags:
            return "map_pin"
        return "present"
    if verdict.reason == "outside":
        return "away"
    return verdict.reason or "refused"


def in_time(sent_at: datetime, deadline: datetime) -> bool:
    return sent_at <= deadline


def takes_answers(deadline: datetime, now: datetime) -> bool:
    return now <= deadline + LATE_ANSWERS_FOR


def is_finding(result: Result, day: date, excused: Collection[date], dropped: bool) -> bool:
    """Away, or no answer by the deadline, on a day without approved leave. Leave approved
    later for that day (sick leave may start back) clears it; the result itself stays."""
    return result in FINDINGS and day not in excused and not dropped


def standing(findings: int, policy: Policy) -> Standing:
    if policy.spot_limit and findings > policy.spot_limit:
        return "not_competent"
    if policy.spot_flag and findings >= policy.spot_flag:
        return "flagged"
    return "clear"


def week_moments(
    rng: random.Random,
    monday: date,
    hours: tuple[time, time],
    count: int,
    not_before: datetime,
) -> list[datetime]:
    """``count`` distinct local moments (to the minute) at random within working hours,
    Monday to Friday of the week beginning ``monday``, none before ``not_before`` (naive
    local). Fewer if too little of the week is left."""
    start, end = hours
    daily = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
    if daily <= 0 or count <= 0:
        return []
    minutes = []
    for day in range(WORKING_DAYS):
        opening = datetime.combine(monday + timedelta(days=day), start)
        for offset in range(daily):
            moment = opening + timedelta(minutes=offset)
            if moment >= not_before:
                minutes.append(moment)
    return sorted(rng.sample(minutes, min(count, len(minutes))))
