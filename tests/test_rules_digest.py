"""Pure rules of issue 6: reminder slots and settings, digest periods and figures."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from rules import policy as policies
from rules.digest import (
    MemberRecord,
    TeamFigures,
    attention_order,
    due_period,
    is_late,
    member_figures,
    parse_period,
    roll_up,
)
from rules.problems import Problem
from rules.reminders import change_overrides, due_slots, member_wants, team_rules

P = policies.DEFAULT_POLICY
MON = date(2026, 11, 23)


def kinds(policy: policies.Policy, day: date, at: time) -> list[str]:
    return [f"{s.kind}:{s.period}" for s in due_slots(policy, day, at)]


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (time(5, 59), []),
        (time(6, 0), ["open:2026-11-23:morning"]),
        (time(8, 29, 59), ["open:2026-11-23:morning"]),
        (time(8, 30), ["close:2026-11-23:morning"]),
        (time(9, 0), ["missed:2026-11-23:morning"]),  # privately, for an hour
        (time(10, 0), []),
        (time(17, 0), ["open:2026-11-23:evening"]),
        (time(19, 45), ["close:2026-11-23:evening"]),
        # The night window is not reminded while nights do not count.
        (time(20, 29), ["missed:2026-11-23:evening"]),
        (time(20, 30), ["missed:2026-11-23:evening", "log:2026-11-23"]),
        (time(21, 0), ["log:2026-11-23"]),
        (time(23, 59), ["log:2026-11-23"]),
    ],
)
def test_slots_through_a_day(at: time, expected: list[str]) -> None:
    assert kinds(P, MON, at) == expected


def test_slots_follow_the_rules() -> None:
    nights = policies.apply_changes(P, ["nights=10"])
    assert not isinstance(nights, Problem)
    assert kinds(nights, MON, time(20, 0)) == [
        "missed:2026-11-23:evening",
        "open:2026-11-23:night",
    ]
    assert kinds(nights, MON, time(23, 30)) == ["close:2026-11-23:night", "log:2026-11-23"]
    quiet = policies.apply_changes(P, ["remind_open=off", "remind_close=0", "remind_log=off"])
    assert not isinstance(quiet, Problem)
    assert kinds(quiet, MON, time(6, 0)) == []
    assert kinds(quiet, MON, time(22, 0)) == []
    # A close reminder longer than the window: due from the window's start, no open one.
    long = policies.apply_changes(P, ["remind_close=240"])
    assert isinstance(long, Problem)  # over 180 minutes
    wide = policies.apply_changes(P, ["remind_close=180"])
    assert not isinstance(wide, Problem)
    assert kinds(wide, MON, time(6, 0)) == ["close:2026-11-23:morning"]


@pytest.mark.parametrize(
    ("day", "at", "due"),
    [
        (date(2026, 11, 25), time(8, 59), False),  # 6 days left
        (date(2026, 11, 26), time(8, 59), False),  # before 09:00
        (date(2026, 11, 26), time(9, 0), True),  # 5 days left, 26th to 30th
        (date(2026, 11, 30), time(12, 0), True),
        (date(2026, 12, 27), time(9, 0), True),  # 5 days left in a 31-day month
    ],
)
def test_the_month_end_slot(day: date, at: time, due: bool) -> None:
    assert any(s.kind == "month" for s in due_slots(P, day, at)) is due


def test_team_overrides_and_member_switches() -> None:
    words = change_overrides({}, ["close=15", "log=21:00"], member=False)
    assert words == {"close": "15", "log": "21:00"}
    rules = team_rules(P, words)
    assert (rules.remind_close, rules.remind_log) == (15, time(21, 0))
    assert change_overrides(words, ["reset"], member=False) == {}
    assert change_overrides(words, ["off"], member=False) == {
        "open": "off",
        "close": "off",
        "missed": "off",
        "log": "off",
        "month": "off",
    }
    assert isinstance(change_overrides({}, ["close=999"], member=False), Problem)
    assert isinstance(change_overrides({}, ["nap=on"], member=False), Problem)
    mine = change_overrides({}, ["log=off"], member=True)
    assert mine == {"log": "off"}
    assert not member_wants("log", mine) and member_wants("open", mine)
    assert change_overrides(mine, ["log=on"], member=True) == {}
    assert isinstance(change_overrides({}, ["log=21:00"], member=True), Problem)
    # A stored word the county's rules no longer take is skipped, not fatal.
    assert team_rules(P, {"close": "oops"}) == P


@pytest.mark.parametrize(
    ("today", "at", "kind", "first", "due"),
    [
        (date(2026, 11, 23), time(8, 0), "weekly", date(2026, 11, 16), datetime(2026, 11, 23, 8)),
        (date(2026, 11, 23), time(7, 59), "weekly", date(2026, 11, 9), datetime(2026, 11, 16, 8)),
        (date(2026, 11, 29), time(23, 0), "weekly", date(2026, 11, 16), datetime(2026, 11, 23, 8)),
        (date(2026, 12, 1), time(8, 0), "monthly", date(2026, 11, 1), datetime(2026, 12, 1, 8)),
        (date(2026, 12, 1), time(7, 0), "monthly", date(2026, 10, 1), datetime(2026, 11, 1, 8)),
        (date(2027, 1, 15), time(7, 0), "monthly", date(2026, 12, 1), datetime(2027, 1, 1, 8)),
    ],
)
def test_when_digests_fall_due(
    today: date, at: time, kind: str, first: date, due: datetime
) -> None:
    period, moment = due_period(kind, today, at, "mon", time(8))  # type: ignore[arg-type]
    assert (period.first, moment) == (first, due)


def test_a_friday_digest_covers_the_last_full_week() -> None:
    period, moment = due_period("weekly", date(2026, 11, 27), time(18), "fri", time(17))
    assert (period.first, period.last, period.key) == (
        date(2026, 11, 16),
        date(2026, 11, 22),
        "2026-W47",
    )
    assert moment == datetime(2026, 11, 27, 17)
    assert is_late(moment, datetime(2026, 11, 27, 17, 31))
    assert not is_late(moment, datetime(2026, 11, 27, 17, 30))


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ([], "2026-W47"),
        (["last"], "2026-W47"),
        (["this"], "2026-W48"),
        (["2026-11-04"], "2026-W45"),
        (["2026-W40"], "2026-W40"),
        (["昨天"], "2026-W47"),
        (["month"], "2026-10"),
        (["month", "2026-09"], "2026-09"),
        (["月度", "2026年8月"], "2026-08"),
    ],
)
def test_digest_periods(words: list[str], expected: str) -> None:
    period = parse_period(words, date(2026, 11, 23))
    assert not isinstance(period, Problem)
    assert period.key == expected


@pytest.mark.parametrize("words", [["soon"], ["2026-W60"], ["month", "13"], ["2026-12-01"]])
def test_digest_periods_refused(words: list[str]) -> None:
    assert isinstance(parse_period(words, date(2026, 11, 23)), Problem)


def _record(name: str, checked: dict[date, set[str]], **kw: object) -> MemberRecord:
    return MemberRecord(1, name, date(2026, 11, 1), checked, **kw)  # type: ignore[arg-type]


def test_a_members_week_counted_by_hand() -> None:
    week = [date(2026, 11, d) for d in range(16, 23)]
    record = _record(
        "Wang",
        {week[0]: {"morning", "evening", "night"}, week[1]: {"morning"}, week[2]: {"night"}},
        leave_days=frozenset({week[5], week[6]}),
        log_days=frozenset({week[0]}),
        verdicts={"ok": 2, "false": 1},
    )
    f = member_figures(record, P, week[0], week[-1], date(2026, 11, 23), time(8))
    assert f.days == ("night", "present", "absent", "absent", "absent", "leave", "leave")
    # Day 3 had only a night check-in: absent, but the night still counts.
    assert (f.present, f.nights, f.leave, f.absent) == (2, 2, 2, 3)
    # Missed: 17th evening, 18th both, 19th both, 20th both.
    assert (f.missed_checkins, f.no_log) == (7, 4)
    assert (f.verdict_ok, f.verdict_false, f.needs_attention) == (2, 1, True)
    assert f.month.present == 2 and f.month.remaining == 8


def test_today_is_not_counted_against_a_member_while_a_window_is_open() -> None:
    today = date(2026, 11, 23)
    f = member_figures(_record("Zhao", {}), P, today, today, today, time(7))
    assert f.days == ("pending",)
    assert (f.absent, f.missed_checkins, f.no_log) == (0, 0, 0)
    late = member_figures(_record("Zhao", {}), P, today, today, today, time(21))
    assert (late.days, late.absent, late.missed_checkins) == (("absent",), 1, 2)


def test_a_member_who_joined_midweek() -> None:
    record = MemberRecord(1, "Sun", date(2026, 11, 20), {date(2026, 11, 20): {"morning"}})
    f = member_figures(record, P, date(2026, 11, 16), date(2026, 11, 22), MON, time(8))
    assert f.days[:5] == ("outside",) * 4 + ("present",)
    assert (f.present, f.absent) == (1, 2)


def test_teams_needing_attention_come_first_and_roll_up_by_township() -> None:
    week = (date(2026, 11, 16), date(2026, 11, 22))

    def figures(name: str, days: int) -> TeamFigures:
        checked = {date(2026, 11, d): {"morning"} for d in range(1, 1 + days)}
        member = member_figures(_record(name, checked), P, *week, MON, time(8))
        return TeamFigures(hash(name) % 1000, name, "A" if name < "M" else "N", (member,))

    good, bad, worse = figures("Alpha", 22), figures("Beta", 20), figures("Nu", 3)
    order = attention_order([good, bad, worse])
    assert [t.label for t in order] == ["Nu", "Beta", "Alpha"]
    rollup = roll_up([good, bad, worse])
    # As many teams needing attention each; the township with a member behind first.
    assert [(r.township, r.teams, r.attention, r.behind) for r in rollup] == [
        ("N", 1, 1, 1),
        ("A", 2, 1, 0),
    ]
