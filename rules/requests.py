"""Make-up requests (补卡) and field check-ins (外勤): which missed window a member may ask
to set right, which refused point may count as field work, and who decides. Pure: the caller
passes the day's counted windows, leave, the month's requests and the refused point.

A make-up is for a window that is over and was missed: not for a window still open (check in
instead), a day already counted in that window, a day on leave (it is excused already), a day
before the member joined, or a day further back than the county allows (``makeup_days``).
The county caps them per calendar month (``makeup_month``): an office reading the register
must see them as exceptions, not a second way of checking in.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, time

from rules.leave import Level, parse_day
from rules.policy import Policy, WindowName
from rules.problems import Problem
from storage.models import Checkin

# A window as people write it, in either language.
WINDOW_WORDS: dict[str, WindowName] = {
    "morning": "morning",
    "am": "morning",
    "早": "morning",
    "早上": "morning",
    "上午": "morning",
    "evening": "evening",
    "pm": "evening",
    "晚": "evening",
    "傍晚": "evening",
    "晚上": "evening",
    "下午": "evening",
    "night": "night",
    "夜": "night",
    "夜间": "night",
    "晚间": "night",
}


# The button under a missed-window reminder (``v1:mu:20261123:morning``).
MAKE_UP_BUTTON = "mu"

# ``/checkin annul|restore <id> <note>``: a county admin's correction, in either language.
CORRECTIONS: dict[str, bool] = {"annul": False, "作废": False, "restore": True, "恢复": True}


@dataclass(frozen=True)
class MakeupDraft:
    day: date
    window: WindowName
    reason: str


def parse_makeup(words: Sequence[str], today: date) -> MakeupDraft | Problem:
    """``<day> <window> <reason…>``, in that order, each named when wrong or missing."""
    if len(words) < 2:
        return Problem("makeup.usage")
    day = parse_day(words[0], today)
    if day is None:
        return Problem("err.day", {"word": words[0]})
    window = WINDOW_WORDS.get(words[1].strip().lower())
    if window is None:
        return Problem("makeup.err.window_word", {"word": words[1]})
    reason = " ".join(words[2:]).strip()
    if not reason:
        return Problem("makeup.err.reason")
    return MakeupDraft(day, window, reason)


def parse_day_key(word: str) -> date | None:
    """A day as a button carries it: ``20261123``."""
    if len(word) != 8 or not word.isascii() or not word.isdigit():
        return None
    try:
        return date(int(word[:4]), int(word[4:6]), int(word[6:]))
    except ValueError:
        return None


def check_makeup(
    draft: MakeupDraft,
    policy: Policy,
    today: date,
    now: time,
    *,
    counted: Collection[str],
    on_leave: bool,
    joined: date | None,
    used_in_month: int,
) -> Problem | None:
    """Why this make-up may not be asked, or None. ``counted``: the windows the day already
    counts; ``used_in_month``: the member's requests (waiting or approved) for days of the
    same calendar month."""
    if policy.makeup_days == 0 or policy.makeup_month == 0:
        return Problem("makeup.err.off")
    window = policy.window(draft.window)
    if window is None:
        return Problem("makeup.err.no_window", {"window": draft.window})
    if draft.day > today or (draft.day == today and (window.end is None or now < window.end)):
        return Problem("makeup.err.not_over", {"window": draft.window})
    if (today - draft.day).days > policy.makeup_days:
        return Problem("makeup.err.too_old", {"days": policy.makeup_days})
    if joined is not None and draft.day < joined:
        return Problem("makeup.err.before_joining", {"day": draft.day.isoformat()})
    if draft.window in counted:
        return Problem("makeup.err.counted", {"window": draft.window})
    if on_leave:
        return Problem("makeup.err.on_leave", {"day": draft.day.isoformat()})
    if used_in_month >= policy.makeup_month:
        return Problem("makeup.err.quota", {"n": policy.makeup_month})
    return None


# ---------------------------------------------------------------------- field check-ins
def field_offered(policy: Policy, attempt: Checkin) -> bool:
    """Whether a refused point may become a field check-in (外勤): only a point refused for
    being outside every site, inside a window, and a real fix (live, or a pin carrying its
    accuracy where the county takes pins); every other refusal stands as it is."""
    real = attempt.live or (policy.live != "required" and attempt.accuracy_m is not None)
    return (
        policy.field != "off"
        and attempt.outcome == "refused"
        and attempt.reason == "outside"
        and attempt.window is not None
        and attempt.team_id is not None
        and attempt.annulled_at is None
        and real
    )


def field_level(policy: Policy, distance_m: float | None) -> Level | None:
    """Who decides a field check-in; None: it counts at once. Far from the village, the
    township decides whatever the county's rule."""
    far = distance_m is not None and distance_m > policy.field_far_km * 1000
    if far:
        return "township"
    if policy.field == "count":
        return None
    return policy.field_by
