"""Leave rules as tables of cases: what may be asked, who decides, which days are excused,
when to remind, and reading typed dates and one-line requests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from rules import callbacks
from rules.days import classify_day, month_figures
from rules.leave import (
    Draft,
    Span,
    check_request,
    escalation_stage,
    excused_days,
    is_overdue,
    leave_calendar,
    month_grid,
    parse_day,
    parse_line,
    resolve_route,
    route,
    shift_month,
)
from rules.policy import DEFAULT_POLICY, Policy, apply_changes, from_json, to_json
from rules.problems import Problem
from storage.models import LeaveRequest

TODAY = date(2026, 11, 23)


OFF = Policy(leave_leader_step=False)


@pytest.mark.parametrize(
    ("days", "policy", "expected"),
    [
        # The default: the team's leader first, then the township (up to 3 days) or county.
        (1, DEFAULT_POLICY, ("leader", "township")),
        (3, DEFAULT_POLICY, ("leader", "township")),
        (4, DEFAULT_POLICY, ("leader", "county")),
        (10, DEFAULT_POLICY, ("leader", "county")),
        # leave_leader=off: straight to the township or county.
        (3, OFF, ("township",)),
        (4, OFF, ("county",)),
        (5, Policy(leave_township_days=7, leave_leader_step=False), ("township",)),
        (1, Policy(leave_township_days=0, leave_leader_step=False), ("county",)),
    ],
)
def test_route_by_length(days: int, policy: Policy, expected: tuple[str, ...]) -> None:
    assert route(days, policy) == expected


@pytest.mark.parametrize("policy", [DEFAULT_POLICY, OFF])
def test_a_leaders_own_request_skips_the_leader_step(policy: Policy) -> None:
    assert route(2, policy, by_leader=True) == ("township",)
    assert route(5, policy, by_leader=True) == ("county",)


@pytest.mark.parametrize(
    ("levels", "available", "expected"),
    [
        (("township",), {"township": True}, ("township",)),
        # No coordinator in the township: the county decides.
        (("township",), {"county": True, "leader": True}, ("county",)),
        # An optional leader step nobody can take is skipped.
        (("leader", "township"), {"township": True}, ("township",)),
        (("leader", "county"), {"leader": True, "county": True}, ("leader", "county")),
        # No township or county at all: the team's leaders decide.
        (("township",), {"leader": True}, ("leader",)),
        (("leader", "township"), {"leader": True}, ("leader",)),
        (("county",), {}, None),
    ],
)
def test_resolve_route(
    levels: tuple[str, ...], available: dict[str, bool], expected: tuple[str, ...] | None
) -> None:
    assert resolve_route(levels, available) == expected  # type: ignore[arg-type]


def _d(day: int, month: int = 11) -> date:
    return date(2026, month, day)


@pytest.mark.parametrize(
    ("kind", "first", "last", "taken", "key"),
    [
        ("personal", _d(25), _d(27), [], None),
        ("personal", _d(23), _d(23), [], None),  # today is not the past
        ("personal", _d(27), _d(25), [], "leave.err.order"),
        ("personal", _d(22), _d(24), [], "leave.err.past"),
        ("sick", _d(21), _d(24), [], None),
        ("sick", _d(20), _d(24), [], "leave.err.sick_past"),
        ("personal", _d(25), _d(24, 12), [], None),  # 30 days: the default maximum
        ("personal", _d(25), _d(25, 12), [], "leave.err.too_long"),
        ("personal", date(2027, 12, 1), date(2027, 12, 2), [], "leave.err.far"),
        ("personal", _d(25), _d(27), [Span(1, _d(27), _d(29))], "leave.err.overlap"),
        ("personal", _d(25), _d(27), [Span(1, _d(28), _d(29))], None),
        ("personal", _d(25), _d(27), [Span(1, _d(20), _d(25))], "leave.err.overlap"),
    ],
)
def test_check_request(
    kind: str, first: date, last: date, taken: list[Span], key: str | None
) -> None:
    problem = check_request(kind, first, last, TODAY, DEFAULT_POLICY, taken)  # type: ignore[arg-type]
    assert (problem.key if problem else None) == key


def test_excused_days_end_early_on_return() -> None:
    assert excused_days(_d(23), _d(25), None) == {_d(23), _d(24), _d(25)}
    assert excused_days(_d(23), _d(25), _d(24)) == {_d(23)}
    assert excused_days(_d(23), _d(25), _d(23)) == set()  # back the day it began
    assert excused_days(_d(23), _d(25), _d(28)) == {_d(23), _d(24), _d(25)}  # late


def _leave(kind: str, first: date, last: date, state: str = "approved") -> LeaveRequest:
    at = datetime(2026, 11, 20, tzinfo=UTC)
    return LeaveRequest(1, 1, 1, kind, first, last, "r", ("township",), 0, state, 1, at, at)  # type: ignore[arg-type]


def test_leave_calendar_credits_official_business_where_the_county_says_so() -> None:
    leaves = [
        _leave("sick", _d(2), _d(3)),
        _leave("official", _d(5), _d(5)),
        _leave("personal", _d(9), _d(9), "pending"),  # not approved: nothing
    ]
    assert leave_calendar(leaves, "leave") == ({_d(2), _d(3), _d(5)}, set())
    assert leave_calendar(leaves, "presence") == ({_d(2), _d(3)}, {_d(5)})


def test_presence_on_a_leave_day_counts_and_credited_days_are_present() -> None:
    now = time(10)
    assert (
        classify_day(_d(19), _d(20), now, {"morning"}, DEFAULT_POLICY, on_leave=True) == "present"
    )
    assert classify_day(_d(19), _d(20), now, set(), DEFAULT_POLICY, on_leave=True) == "leave"
    assert classify_day(_d(19), _d(20), now, set(), DEFAULT_POLICY, credited=True) == "present"
    assert classify_day(_d(22), _d(20), now, set(), DEFAULT_POLICY, on_leave=True) == "leave"
    figures = month_figures(
        _d(20), now, {}, DEFAULT_POLICY, leave_days={_d(2), _d(25)}, credited_days={_d(5)}
    )
    # The 25th is leave ahead: not among the days that could still be present.
    assert (figures.present, figures.leave, figures.absent, figures.remaining) == (1, 1, 17, 10)


def test_overdue_and_escalation_stages() -> None:
    assert is_overdue("approved", _d(22), None, TODAY)
    assert not is_overdue("approved", _d(23), None, TODAY)
    assert not is_overdue("approved", _d(22), _d(22), TODAY)
    assert not is_overdue("cancelled", _d(22), None, TODAY)
    since = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
    stages = [escalation_stage(since, since + timedelta(hours=h), 12) for h in (11, 12, 23, 24)]
    assert stages == [0, 1, 1, 2]
    assert escalation_stage(since, since + timedelta(days=9), 0) == 0  # switched off


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-03", date(2026, 12, 3)),
        ("2026/12/3", date(2026, 12, 3)),
        ("12-03", date(2026, 12, 3)),
        ("12.3", date(2026, 12, 3)),
        ("12月3日", date(2026, 12, 3)),
        ("2027年1月5号", date(2027, 1, 5)),
        ("today", TODAY),
        ("明天", _d(24)),
        ("2026-02-30", None),
        ("soon", None),
    ],
)
def test_parse_day(text: str, expected: date | None) -> None:
    assert parse_day(text, TODAY) == expected


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (
            ["12-03", "12-05", "sick", "fever", "and", "cough"],
            Draft("sick", date(2026, 12, 3), date(2026, 12, 5), "fever and cough"),
        ),
        (
            ["12-03", "事假", "家中有事"],
            Draft("personal", date(2026, 12, 3), date(2026, 12, 3), "家中有事"),
        ),
        (["12-03", "sick"], Problem("leave.err.no_reason")),
        (["12-03"], Problem("leave.usage")),
        (["12-03", "12-05"], Problem("leave.usage")),
        (["12-03", "12-04", "sick"], Problem("leave.err.no_reason")),
        (["12-03", "holiday", "x"], Problem("leave.err.kind", {"value": "holiday"})),
        (["soon", "sick", "x"], Problem("leave.err.date", {"value": "soon"})),
    ],
)
def test_parse_line(words: list[str], expected: Draft | Problem) -> None:
    assert parse_line(words, TODAY) == expected


def test_calendar_grid_and_month_paging() -> None:
    grid = month_grid(2026, 11)
    assert grid[0] == [None] * 6 + [date(2026, 11, 1)]  # 1 November 2026 is a Sunday
    assert grid[-1][0] == date(2026, 11, 30)
    assert shift_month(2026, 12, 1) == (2027, 1)
    assert shift_month(2026, 1, -1) == (2025, 12)


def test_leave_rules_are_county_policy() -> None:
    changed = apply_changes(
        DEFAULT_POLICY,
        ["leave_township=5", "leave_leader=on", "leave_max=15", "sick_back=3", "official=presence"],
    )
    assert isinstance(changed, Policy)
    assert (changed.leave_township_days, changed.leave_leader_step) == (5, True)
    assert (changed.leave_max_days, changed.leave_sick_back_days, changed.official) == (
        15,
        3,
        "presence",
    )
    assert from_json(to_json(changed)) == changed
    refused = apply_changes(DEFAULT_POLICY, ["leave_max=0"])
    assert isinstance(refused, Problem) and refused.key == "rules.err.leave_figures"
    assert isinstance(apply_changes(DEFAULT_POLICY, ["leave_leader=maybe"]), Problem)


def test_callback_data_is_versioned_and_short() -> None:
    assert callbacks.encode("lv", 12, "a") == "v1:lv:12:a"
    assert callbacks.decode("v1:lv:12:a") == ("lv", ["12", "a"])
    assert callbacks.decode("v0:leave:12") is None
    assert callbacks.decode("") is None
    assert callbacks.decode("v1:ld:d:2026-11-23") == ("ld", ["d", "2026-11-23"])
    # Made-up data is stale, never an error: an id no database holds, digits that are not
    # ASCII, anything our encode() never writes.
    assert callbacks.decode("v1:lv:99999999999999999999:r") is None
    assert callbacks.decode("v1:lg:²:d") is None
    assert callbacks.decode("v1:lv:1:<b>") is None
    with pytest.raises(ValueError, match="64 bytes"):
        callbacks.encode("ld", "x" * 70)
