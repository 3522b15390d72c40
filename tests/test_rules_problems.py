"""The problem list's pure rules: reading a problem, its words, levels, order, and a digest's
figures on a made-up county worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rules import permissions
from rules import problem_list as rules
from rules.problems import Problem
from storage.models import VillageProblem

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
# The week of 16–22 November 2026 in Asia/Shanghai, as UTC moments.
SINCE = datetime(2026, 11, 15, 16, 0, tzinfo=UTC)
UNTIL = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)


def _day(day: int, hour: int = 2) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=UTC)


def problem(
    id: int,
    team: int,
    category: str,
    colour: str,
    level: str,
    raised: datetime,
    *,
    state: str = "open",
    due: datetime | None = None,
    closed: datetime | None = None,
) -> VillageProblem:
    return VillageProblem(
        id=id, team_id=team, person_id=1, chat_id=-100, message_id=id, text=f"problem {id}",
        villager=None, category=category, colour=colour, colour_by=None, level=level,
        department_id=None, accepted_at=None, state=state, raised_at=raised, level_since=raised,
        due_at=due or raised + timedelta(days=15), overdue_at=None, resolved_at=None,
        resolved_by=None, resolution=None, resolution_photo=None, closed_at=closed,
        closed_by=None, revisions=1,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "villager", "category"),
    [
        ("三组便桥冲垮 反映人：张大爷 #道路", "张大爷", "roads"),
        ("No signal in group 4. villager: Old Li, #signal", "Old Li", "signal"),
        ("吃水困难 #饮水 反映群众:王五", "王五", "water"),
        ("a problem with no tag", None, None),
        ("#林业 a category the county does not keep", None, None),
    ],
)
def test_a_problem_is_read_from_what_was_written(
    text: str, villager: str | None, category: str | None
) -> None:
    draft = rules.parse_problem(text, rules.CATEGORIES)
    assert isinstance(draft, rules.ProblemDraft)
    assert (draft.text, draft.villager, draft.category) == (text, villager, category)


def test_a_county_of_its_own_categories_and_refusals() -> None:
    draft = rules.parse_problem("护林员缺人 #林业", ("roads", "林业"))
    assert isinstance(draft, rules.ProblemDraft) and draft.category == "林业"
    assert rules.parse_problem("   ", rules.CATEGORIES) == Problem("problem.usage")
    too_long = rules.parse_problem("字" * 4001, rules.CATEGORIES)
    assert isinstance(too_long, Problem) and too_long.key == "problem.err.long"
    assert rules.problem_text("#问题 路断了") == "路断了"
    assert rules.problem_text("/problem@cunbot_bot road") == "road"
    assert rules.problem_text("#problems are many") is None


@pytest.mark.parametrize(
    ("level", "higher"), [("team", "township"), ("township", "county"), ("county", None)]
)
def test_a_problem_moves_up_one_level_at_a_time(level: str, higher: str | None) -> None:
    assert rules.up(level) == higher


@pytest.mark.parametrize(
    ("words", "row"),
    [
        (["12", "红", "急"], "problem colour"),
        (["#12", "green"], "problem colour"),
        (["12", "上报", "原因"], "problem escalate"),
        (["12", "交办", "交通局"], "problem assign"),
        (["12", "受理"], "problem accept"),
        (["12", "进展", "x"], "problem note"),
        (["12", "解决", "x"], "problem resolve"),
        (["12", "确认"], "problem confirm"),
        (["12", "未解决"], "problem reopen"),
        (["12", "category", "roads"], "problem category"),
        (["12"], "problem"),
        (["路", "红", "了"], "problem"),  # a problem's words, not an action on one
    ],
)
def test_the_permission_row_follows_the_action_after_the_id(words: list[str], row: str) -> None:
    found = permissions.rule_for("problem", words)
    assert found is not None and found[0] == row


def test_the_list_reads_overdue_first_then_by_colour() -> None:
    overdue_green = problem(1, 1, "roads", "green", "team", _day(1), due=_day(10))
    red = problem(2, 1, "roads", "red", "team", _day(20), due=_day(25))
    yellow = problem(3, 1, "roads", "yellow", "team", _day(20), due=_day(30))
    resolved_red = problem(4, 1, "roads", "red", "team", _day(20), state="resolved")
    ordered = rules.reading_order([resolved_red, yellow, red, overdue_green], NOW)
    assert [p.id for p in ordered] == [1, 2, 3, 4]


def test_a_digest_of_a_made_up_county_worked_out_by_hand() -> None:
    """Four villages. In the week of 16–22 November roads were raised in Shangba, Xiaba and
    Zhongcun (three villages: a common problem), water in Dacun; two were confirmed solved in
    the week, after 2 and 11 days (median 6.5); one of October is long closed."""
    rows = [
        # Shangba: roads, red, at the team, due on the 20th: overdue on the 23rd.
        problem(1, 1, "roads", "red", "team", _day(17), due=_day(20)),
        # Xiaba: roads, raised on the 18th and confirmed solved on the 20th (2 days).
        problem(2, 2, "roads", "yellow", "township", _day(18), state="closed", closed=_day(20)),
        # Zhongcun: roads, yellow, at the township, due in December.
        problem(3, 3, "roads", "yellow", "township", _day(19), due=_day(30)),
        # Shangba: water raised before the week, confirmed on the 21st (11 days).
        problem(4, 1, "water", "green", "team", _day(10), state="closed", closed=_day(21)),
        # Dacun: water, resolved and waiting for the household, at the county.
        problem(5, 4, "water", "green", "county", _day(20), state="resolved"),
        # Xiaba: signal, raised and closed in October: in none of the week's figures.
        problem(6, 2, "signal", "red", "team", datetime(2026, 10, 1, tzinfo=UTC), state="closed",
                closed=datetime(2026, 10, 5, tzinfo=UTC)),
    ]  # fmt: skip
    villages = {1: "Shangba", 2: "Xiaba", 3: "Zhongcun", 4: "Dacun"}
    figures = rules.problem_figures(rows, villages, SINCE, UNTIL, NOW, 3)
    assert figures.open_by_colour == {"red": 1, "yellow": 1, "green": 1}  # 1, 3 and 5
    assert figures.open == 3
    assert figures.overdue == 1  # problem 1; 5 is resolved, waiting only for the household
    assert figures.open_by_level == {"team": 1, "township": 1, "county": 1}
    assert figures.raised == 4  # 1, 2, 3 and 5
    assert figures.resolved == 2  # 2 and 4
    assert figures.median_days == 6.5  # (2 + 11) / 2
    assert figures.common == (rules.CommonProblem("roads", ("Shangba", "Xiaba", "Zhongcun"), 3),)
    # Four villages are needed for water: it is in one this week. Off at 0.
    assert rules.problem_figures(rows, villages, SINCE, UNTIL, NOW, 0).common == ()
    assert [p.id for p in figures.rows][:2] == [1, 3]  # overdue first, then by colour
