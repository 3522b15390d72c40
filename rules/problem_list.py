"""The problem list (红黄绿三色清单) as pure rules: what makes a message a problem, the words
for colours, categories and actions, each colour's deadline, the level a problem moves up
to, who stands where, the order a list is read in, and a digest's problem figures."""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from rules.problems import Problem
from storage.models import VillageProblem

Colour = Literal["red", "yellow", "green"]
COLOURS: tuple[Colour, ...] = ("red", "yellow", "green")
Level = Literal["team", "township", "county"]
LEVELS: tuple[Level, ...] = ("team", "township", "county")
DEFAULT_COLOUR: Colour = "yellow"
MAX_PROBLEM_CHARS = 4000
MAX_VILLAGER = 60

# The county's list, in the order buttons show it; a county may set its own (rules.policy).
CATEGORIES: tuple[str, ...] = (
    "roads",
    "water",
    "power",
    "signal",
    "housing",
    "health",
    "schooling",
    "income",
    "disputes",
    "other",
)
# What people type for a category (``#道路``), besides its code.
CATEGORY_WORDS: dict[str, str] = {
    "road": "roads",
    "道路": "roads",
    "修路": "roads",
    "路": "roads",
    "饮水": "water",
    "用水": "water",
    "水": "water",
    "电": "power",
    "电力": "power",
    "用电": "power",
    "信号": "signal",
    "通信": "signal",
    "网络": "signal",
    "住房": "housing",
    "危房": "housing",
    "医疗": "health",
    "健康": "health",
    "教育": "schooling",
    "上学": "schooling",
    "收入": "income",
    "产业": "income",
    "就业": "income",
    "纠纷": "disputes",
    "矛盾": "disputes",
    "其他": "other",
}
COLOUR_WORDS: dict[str, Colour] = {
    "red": "red",
    "红": "red",
    "红色": "red",
    "yellow": "yellow",
    "黄": "yellow",
    "黄色": "yellow",
    "green": "green",
    "绿": "green",
    "绿色": "green",
}
Action = Literal[
    "colour", "category", "escalate", "assign", "accept", "note", "resolve", "confirm", "reopen"
]
ACTION_WORDS: dict[str, Action] = {
    **{word: "colour" for word in COLOUR_WORDS},
    "category": "category",
    "类别": "category",
    "escalate": "escalate",
    "上报": "escalate",
    "升级": "escalate",
    "assign": "assign",
    "交办": "assign",
    "accept": "accept",
    "受理": "accept",
    "note": "note",
    "progress": "note",
    "进展": "note",
    "resolve": "resolve",
    "resolved": "resolve",
    "解决": "resolve",
    "办结": "resolve",
    "confirm": "confirm",
    "确认": "confirm",
    "reopen": "reopen",
    "未解决": "reopen",
    "重开": "reopen",
}

# A message is a problem when it starts with one of these; captions count (a photo of the
# broken road with "#问题 …" under it), as for logs.
PROBLEM_MARKER = re.compile(r"^\s*(?:/problem(?:@\w+)?|#problem|#问题)(?=\s|$)", re.IGNORECASE)
PROBLEM_TAG = re.compile(r"^\s*(?:#problem|#问题)(?=\s|$)", re.IGNORECASE)
# "反映人：张大爷" / "villager: Old Zhang", to the end of its line.
_VILLAGER = re.compile(
    r"(?:反映人|反映群众|villager|raised by)\s*[:：]\s*([^\n#,，。;；]+)", re.IGNORECASE
)
_HASHTAG = re.compile(r"#(\w+)")


def up(level: str) -> Level | None:
    """The level a problem escalates to from ``level``; None at the county."""
    at = LEVELS.index(level)
    return LEVELS[at + 1] if at + 1 < len(LEVELS) else None


def problem_text(text: str | None) -> str | None:
    """The problem in a message or caption (without its tag), or None when it is not one."""
    if not text:
        return None
    match = PROBLEM_MARKER.match(text)
    return text[match.end() :].strip() if match else None


def action_of(word: str) -> Action | None:
    return ACTION_WORDS.get(word.strip().lower())


def category_of(word: str, categories: Sequence[str]) -> str | None:
    """A category the county keeps, from its code or a word for it (``道路``, ``#roads``)."""
    cleaned = word.strip().lstrip("#").lower()
    code = CATEGORY_WORDS.get(cleaned, cleaned)
    for category in categories:
        if category.lower() == code:
            return category
    return None


@dataclass(frozen=True)
class ProblemDraft:
    text: str
    villager: str | None
    category: str | None  # None: not named (the buttons ask)


def parse_problem(text: str, categories: Sequence[str]) -> ProblemDraft | Problem:
    """What a member wrote, as a problem: its words, the villager who raised it
    (``反映人：…``) and a category named by a hashtag (``#道路``)."""
    text = text.strip()
    if not text:
        return Problem("problem.usage")
    if len(text) > MAX_PROBLEM_CHARS:
        return Problem("problem.err.long", {"max": MAX_PROBLEM_CHARS})
    villager = None
    found = _VILLAGER.search(text)
    if found:
        villager = " ".join(found[1].split())[:MAX_VILLAGER] or None
    category = next(
        (c for tag in _HASHTAG.findall(text) if (c := category_of(tag, categories))), None
    )
    return ProblemDraft(text, villager, category)


def deadline_days(colour: str, red: int, yellow: int, green: int) -> int:
    return {"red": red, "yellow": yellow, "green": green}[colour]


def due_at(since: datetime, days: int) -> datetime:
    """When a problem that reached its level at ``since`` must be solved there."""
    return since + timedelta(days=days)


def is_overdue(problem: VillageProblem, now: datetime) -> bool:
    return problem.state == "open" and problem.due_at <= now


_COLOUR_RANK: dict[str, int] = {c: i for i, c in enumerate(COLOURS)}


def reading_order(problems: Iterable[VillageProblem], now: datetime) -> list[VillageProblem]:
    """Overdue first, then red, yellow, green, then the nearest deadline; those waiting for
    the household's confirmation last."""
    return sorted(
        problems,
        key=lambda p: (
            p.state != "open",
            not is_overdue(p, now),
            _COLOUR_RANK.get(p.colour, 9),
            p.due_at,
            p.id,
        ),
    )


def days_between(first: datetime, last: datetime) -> float:
    return round((last - first).total_seconds() / 86400, 1)


# ---------------------------------------------------------------------- a digest's figures
@dataclass(frozen=True)
class CommonProblem:
    """A category raised in several villages in a period: what the county's headquarters
    should hear of (共性问题)."""

    category: str
    villages: tuple[str, ...]
    problems: int


@dataclass(frozen=True)
class ProblemFigures:
    open_by_colour: dict[str, int]
    overdue: int
    resolved: int  # confirmed with the household within the period
    median_days: float | None  # raising to confirmation, of those
    open_by_level: dict[str, int]
    raised: int  # within the period
    common: tuple[CommonProblem, ...] = ()
    rows: tuple[VillageProblem, ...] = field(default=(), repr=False)
    tz: str = "UTC"  # the area's, for the dates a sheet shows
    now: datetime | None = None

    @property
    def open(self) -> int:
        return sum(self.open_by_colour.values())


def problem_figures(
    problems: Iterable[VillageProblem],
    villages: dict[int, str],
    since: datetime,
    until: datetime,
    now: datetime,
    common_min: int,
    tz: str = "UTC",
) -> ProblemFigures:
    """The problem section of a digest over ``[since, until)``: the list as it stands at
    ``now`` (open by colour and level, overdue), what was confirmed solved in the period
    and how long that took, and (``common_min`` > 0) categories raised in at least that
    many villages in the period."""
    rows = list(problems)
    open_rows = [p for p in rows if p.state != "closed"]
    by_colour: dict[str, int] = {c: sum(1 for p in open_rows if p.colour == c) for c in COLOURS}
    by_level: dict[str, int] = {lv: sum(1 for p in open_rows if p.level == lv) for lv in LEVELS}
    closed = [p for p in rows if p.closed_at is not None and since <= p.closed_at < until]
    durations = [days_between(p.raised_at, p.closed_at) for p in closed if p.closed_at]
    raised = [p for p in rows if since <= p.raised_at < until]
    common: list[CommonProblem] = []
    if common_min > 0:
        teams: dict[str, set[int]] = defaultdict(set)
        counts: dict[str, int] = defaultdict(int)
        for p in raised:
            teams[p.category].add(p.team_id)
            counts[p.category] += 1
        for category, ids in teams.items():
            if len(ids) >= common_min:
                names = tuple(sorted(villages.get(i, str(i)) for i in ids))
                common.append(CommonProblem(category, names, counts[category]))
        common.sort(key=lambda c: (-len(c.villages), -c.problems, c.category))
    return ProblemFigures(
        by_colour,
        sum(1 for p in open_rows if is_overdue(p, now)),
        len(closed),
        round(statistics.median(durations), 1) if durations else None,
        by_level,
        len(raised),
        tuple(common),
        tuple(reading_order(rows, now)),
        tz,
        now,
    )
