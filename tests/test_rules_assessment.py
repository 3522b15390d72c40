"""Assessment's pure rules: periods, the pro-rated quota and the ceiling on a grade, each
worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from rules import assessment as rules
from rules.digest import month_period, week_of
from rules.orgcsv import MAX_ROSTER_NAME, MAX_UNIT_NAME, is_roster_csv, parse_roster_csv
from rules.problems import Problem
from services.digest import _digest_recipients
from storage.models import Holder, Person, Team


@pytest.mark.parametrize(
    ("words", "today", "key", "first", "last"),
    [
        (["2026-Q4"], date(2026, 11, 23), "2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
        (["2026q1"], date(2026, 11, 23), "2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
        (["2025"], date(2026, 11, 23), "2025", date(2025, 1, 1), date(2025, 12, 31)),
        ([], date(2026, 11, 23), "2026-Q3", date(2026, 7, 1), date(2026, 9, 30)),  # just ended
        ([], date(2026, 12, 5), "2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),  # its last month
        ([], date(2026, 2, 1), "2025-Q4", date(2025, 10, 1), date(2025, 12, 31)),
        (["posting"], date(2026, 11, 23), "posting", date(2024, 11, 23), date(2026, 11, 23)),
    ],
)
def test_the_periods_a_county_assesses(
    words: list[str], today: date, key: str, first: date, last: date
) -> None:
    assert rules.parse_period(words, today) == rules.AssessPeriod(key, first, last)


def test_a_period_not_begun_or_not_a_period_is_refused() -> None:
    assert isinstance(rules.parse_period(["2027"], date(2026, 11, 23)), Problem)
    refused = rules.parse_period(["someday"], date(2026, 11, 23))
    assert isinstance(refused, Problem) and refused.key == "assess.err.period"


@pytest.mark.parametrize(
    ("quota", "first", "last", "owed"),
    [
        (20, date(2026, 10, 1), date(2026, 10, 31), 20),  # a whole month
        (20, date(2026, 10, 1), date(2026, 11, 23), 35),  # 20 + 20 × 23/30 = 35.3
        (22, date(2026, 1, 1), date(2026, 12, 31), 264),  # a year
        (20, date(2026, 2, 15), date(2026, 2, 28), 10),  # half of February: 20 × 14/28
        (20, date(2026, 3, 5), date(2026, 3, 4), 0),  # left before it began
        (0, date(2026, 1, 1), date(2026, 12, 31), 0),  # no quota
    ],
)
def test_the_quota_is_pro_rated_over_the_days_one_was_a_member(
    quota: int, first: date, last: date, owed: int
) -> None:
    assert rules.prorated_quota(quota, first, last) == owed


def facts(**changes: object) -> rules.Facts:
    base = {
        "present": 40,
        "nights": 0,
        "quota_days": 35,
        "quota_nights": 0,
        "leave": 0,
        "log_days": 40,
        "false_visits": 0,
        "spot_findings": 0,
        "recalled": False,
        "spot_flag": 2,
        "spot_limit": 3,
    }
    return rules.Facts(**{**base, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "grade", "keys"),
    [
        ({}, "excellent", []),
        ({"spot_findings": 1}, "excellent", []),
        ({"spot_findings": 2}, "none", ["assess.reason.spot_flag"]),  # twice: no grade
        ({"spot_findings": 3}, "none", ["assess.reason.spot_flag"]),
        ({"spot_findings": 4}, "not_competent", ["assess.reason.spot_limit"]),  # more than 3
        ({"recalled": True}, "basic", ["assess.reason.recalled"]),
        ({"present": 30}, "basic", ["assess.reason.days"]),
        ({"nights": 10, "quota_nights": 15}, "basic", ["assess.reason.nights"]),
        ({"false_visits": 1}, "basic", ["assess.reason.false_visits"]),
        (
            {"spot_findings": 4, "recalled": True},
            "not_competent",
            ["assess.reason.spot_limit", "assess.reason.recalled"],
        ),
        (
            {"spot_findings": 2, "present": 10},
            "none",
            ["assess.reason.spot_flag", "assess.reason.days"],
        ),
        ({"spot_findings": 9, "spot_flag": 0, "spot_limit": 0}, "excellent", []),  # rules off
    ],
)
def test_the_ceiling_the_county_rules_put_on_a_grade(
    changes: dict[str, object], grade: str, keys: list[str]
) -> None:
    ceiling = rules.ceiling(facts(**changes))
    assert ceiling.grade == grade
    assert [key for key, _ in ceiling.reasons] == keys


def test_a_grade_within_its_ceiling() -> None:
    assert rules.within("basic", "basic") and rules.within("basic", "excellent")
    assert not rules.within("competent", "basic")
    assert rules.within("none", "none") and not rules.within("competent", "none")
    assert rules.grade_of("基本称职") == "basic" and rules.grade_of("Competent") == "competent"
    assert rules.grade_of("great") is None


def test_a_unit_hears_monthly_and_a_commander_weekly_of_their_own() -> None:
    """Who is planned which scheduled digest: a backing unit's contact the monthly report
    (of the members it sent), privately; a chief commander the village's, privately."""
    team = Team(1, "Shangba", "Asia/Shanghai", "HZ-001", -100, 10, "Dahai", 100, "Huize")
    liu = Person(7, 1016, "Liu", None, None, None)
    hu = Person(8, 1013, "Hu", None, None, None)
    holders = [
        Holder("unit", liu, None, None, 100, True, unit_id=5),
        Holder("commander", hu, 1, None, None, True),
    ]
    due = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    monthly = _digest_recipients(
        "monthly", month_period("2026-11"), due, 100, [team], holders, "Asia/Shanghai"
    )
    assert {(d.chat_id, d.payload["scope"], d.payload["id"]) for d in monthly} == {
        (1016, "unit", 5),
        (1013, "team", 1),
    }
    weekly = _digest_recipients(
        "weekly", week_of(date(2026, 11, 23)), due, 100, [team], holders, "Asia/Shanghai"
    )
    assert [(d.chat_id, d.payload["scope"]) for d in weekly] == [(1013, "team")]


# ---------------------------------------------------------------------- a roster
def test_a_roster_is_told_from_the_other_imports() -> None:
    assert is_roster_csv("team_code,name,unit,role\n")
    assert is_roster_csv("队编码,姓名,后盾单位\n")
    assert not is_roster_csv("户名,备注\n")
    assert not is_roster_csv("county,township,team_code,village,tz,site_name\n")


def test_a_roster_reads_chinese_headers_and_role_words() -> None:
    rows, problems = parse_roster_csv(
        "队编码,姓名,派出单位,职务\n"
        "HZ-001, 孙  丽 ,县农业局,队员\n"
        "HZ-001,周强,,第一书记\n"
        "\n"
        "HZ-002,吴刚,,总队长\n"
        "HZ-002,Ma,县水利局,LEADER\n"
        "HZ-002,Niu,县水利局,\n"
    )
    assert problems == []
    assert [(r.line, r.team_code, r.name, r.unit, r.role) for r in rows] == [
        (2, "HZ-001", "孙 丽", "县农业局", "member"),
        (3, "HZ-001", "周强", None, "leader"),
        (5, "HZ-002", "吴刚", None, "commander"),
        (6, "HZ-002", "Ma", "县水利局", "leader"),
        (7, "HZ-002", "Niu", "县水利局", "member"),  # no role: a member
    ]


def test_every_bad_roster_line_is_named() -> None:
    rows, problems = parse_roster_csv(
        "team_code,name,unit,role\n"
        ",Ma,,\n"
        "HZ-001,,,\n"
        f"HZ-001,{'名' * (MAX_ROSTER_NAME + 1)},,\n"
        f"HZ-001,Ma,{'局' * (MAX_UNIT_NAME + 1)},\n"
        "HZ-001,Ma,,cook\n"
        "HZ-001,Ma,县农业局,commander\n"
        "HZ-001,Ma,,,extra\n"
        "HZ-001,Ma,,\n"
        "HZ-001,Ma,,leader\n"
    )
    assert [r.line for r in rows] == [9]
    assert [(p.line, p.problem.key) for p in problems] == [
        (2, "import.err.required"),
        (3, "import.err.required"),
        (4, "import.err.name_long"),
        (5, "import.err.unit_long"),
        (6, "import.err.role"),
        (7, "import.err.commander_unit"),
        (8, "import.err.extra_cells"),
        (10, "import.err.roster_twice"),
    ]
    _, problems = parse_roster_csv("team_code,name,phone\n")
    assert [p.problem.key for p in problems] == ["import.err.header"]
    _, problems = parse_roster_csv("team_code,name\n\n")
    assert [p.problem.key for p in problems] == ["import.err.empty"]
