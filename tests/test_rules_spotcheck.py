"""Spot-check rules without Telegram or a database: reading an order, the fair rotation, how
an answer counts, findings and their consequence, and the scheduled moments."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, time

import pytest

from rules import policy as policies
from rules.checkin import Verdict
from rules.digest import MemberRecord, member_figures
from rules.policy import DEFAULT_POLICY, WindowName
from rules.problems import Problem
from rules.spotcheck import (
    Candidate,
    Order,
    answer_of,
    choose,
    in_time,
    is_finding,
    order_problem,
    parse_order,
    rotation_start,
    standing,
    takes_answers,
    week_moments,
)

DAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ([], Order(None, None, ())),
        (["5"], Order(5, None, ())),
        (["HZ-001", "2", "45"], Order(2, 45, ("HZ-001",))),
        (["@wang", "10m"], Order(None, 10, ("@wang",))),
        (["Dahai", "20分钟", "3"], Order(3, 20, ("Dahai",))),
    ],
)
def test_an_order_is_read(words: list[str], expected: Order) -> None:
    assert parse_order(words) == expected


@pytest.mark.parametrize(
    ("words", "key"),
    [
        (["0"], "spot.err.count"),
        (["21"], "spot.err.count"),
        (["3", "2"], "spot.err.minutes"),
        (["3", "500"], "spot.err.minutes"),
        (["1", "2", "3"], "spot.err.word"),
        (["10m", "20m"], "spot.err.word"),
    ],
)
def test_a_bad_order_is_refused(words: list[str], key: str) -> None:
    found = parse_order(words)
    if not isinstance(found, Problem):
        found = order_problem(found) or found  # ranges are checked once the words resolve
    assert isinstance(found, Problem) and found.key == key


def test_nobody_is_picked_twice_until_everyone_has_been_picked() -> None:
    rng = random.Random(7)
    counts = {pid: 0 for pid in range(1, 11)}
    rounds = []
    for _ in range(10):  # ten checks of 3 from 10 members: 30 picks
        candidates = [Candidate(pid, 1, n) for pid, n in counts.items()]
        chosen = choose(candidates, 3, rng)
        assert len({c.person_id for c in chosen}) == 3
        # The rule: a member picked again only when nobody has been picked fewer times.
        fewest = min(counts.values())
        for c in chosen:
            assert c.picks <= fewest + 1
        for c in chosen:
            counts[c.person_id] += 1
        rounds.append([c.person_id for c in chosen])
    assert set(counts.values()) == {3}  # 30 picks spread exactly 3 each
    first_nine = [pid for r in rounds[:3] for pid in r]
    assert len(set(first_nine)) == 9  # nobody twice in the first three checks
    missing = set(range(1, 11)) - set(first_nine)
    assert missing <= set(rounds[3])  # the one left is in the fourth


def test_the_draw_is_random_among_the_least_picked() -> None:
    candidates = [Candidate(1, 1, 0), Candidate(2, 1, 0), Candidate(3, 1, 0), Candidate(4, 1, 1)]
    seen = Counter(choose(candidates, 1, random.Random(seed))[0].person_id for seed in range(300))
    assert set(seen) == {1, 2, 3}  # 4 was picked already; never before the others
    assert min(seen.values()) > 60  # each about a third


def test_a_named_member_is_asked_whatever_the_rotation() -> None:
    candidates = [Candidate(1, 1, 5), Candidate(2, 1, 0), Candidate(3, 1, 0)]
    chosen = choose(candidates, 2, random.Random(1), named={1})
    assert chosen[0].person_id == 1 and len(chosen) == 2 and chosen[1].person_id in (2, 3)
    assert [c.person_id for c in choose(candidates, 1, random.Random(1), named={1})] == [1]


def test_fewer_eligible_than_asked_gives_all_of_them() -> None:
    candidates = [Candidate(1, 1, 0), Candidate(2, 1, 3)]
    assert {c.person_id for c in choose(candidates, 5, random.Random(2))} == {1, 2}


def _verdict(outcome: str, reason: str | None = None, flags: tuple[str, ...] = ()) -> Verdict:
    return Verdict(outcome, DAY, time(10), None, reason, flags=flags)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("verdict", "expected"),
    [
        (_verdict("checkin"), "present"),
        (_verdict("presence"), "present"),
        (_verdict("repeat"), "present"),
        (_verdict("refused", "outside"), "away"),
        (_verdict("refused", "forwarded"), "forwarded"),
        (_verdict("refused", "stale"), "stale"),
        (_verdict("refused", "accuracy"), "accuracy"),
        (_verdict("refused", "static"), "static"),
        (_verdict("refused", "venue"), "venue"),
        (_verdict("checkin", flags=("static",)), "present"),  # a pin the phone measured
        (_verdict("checkin", flags=("static", "no_accuracy")), "map_pin"),
        (_verdict("presence", flags=("static", "no_accuracy")), "map_pin"),
    ],
)
def test_an_answer_is_judged_with_the_checkin_rules(verdict: Verdict, expected: str) -> None:
    assert answer_of(verdict) == expected


def test_lateness_and_how_long_late_answers_are_taken() -> None:
    deadline = datetime(2026, 11, 23, 2, 0)
    assert in_time(deadline, deadline)
    assert not in_time(datetime(2026, 11, 23, 2, 1), deadline)
    assert takes_answers(deadline, datetime(2026, 11, 23, 14, 0))
    assert not takes_answers(deadline, datetime(2026, 11, 23, 14, 1))


def test_findings_are_away_or_silent_without_approved_leave() -> None:
    assert is_finding("away", DAY, (), False)
    assert is_finding("no_answer", DAY, (), False)
    assert not is_finding("present", DAY, (), False)
    assert not is_finding("unreached", DAY, (), False)  # the question never reached them
    assert not is_finding("away", DAY, {DAY}, False)  # leave approved for the day
    assert not is_finding("away", DAY, (), True)


@pytest.mark.parametrize(
    ("findings", "flag", "limit", "expected"),
    [
        (0, 2, 3, "clear"),
        (1, 2, 3, "clear"),
        (2, 2, 3, "flagged"),
        (3, 2, 3, "flagged"),
        (4, 2, 3, "not_competent"),
        (9, 0, 0, "clear"),
        (2, 0, 1, "not_competent"),
    ],
)
def test_the_countys_consequence_rule(findings: int, flag: int, limit: int, expected: str) -> None:
    policy = replace(DEFAULT_POLICY, spot_flag=flag, spot_limit=limit)
    assert standing(findings, policy) == expected


def test_the_rotation_and_the_findings_run_over_the_calendar_year() -> None:
    assert rotation_start(DAY) == date(2026, 1, 1)


def test_scheduled_moments_fall_in_working_hours_on_working_days() -> None:
    monday = date(2026, 11, 23)
    hours = (time(8, 30), time(17, 30))
    moments = week_moments(random.Random(3), monday, hours, 3, datetime(2026, 11, 23, 0, 0))
    assert len(moments) == 3 and moments == sorted(moments) and len(set(moments)) == 3
    for moment in moments:
        assert moment.weekday() < 5 and monday <= moment.date()
        assert time(8, 30) <= moment.time() < time(17, 30)
    # The same draw from the same seed; another seed, other moments.
    again = week_moments(random.Random(3), monday, hours, 3, datetime(2026, 11, 23, 0, 0))
    assert again == moments
    assert week_moments(random.Random(4), monday, hours, 3, datetime(2026, 11, 23)) != moments


def test_a_week_planned_late_uses_only_what_is_left_of_it() -> None:
    monday = date(2026, 11, 23)
    hours = (time(9), time(10))
    friday_late = datetime(2026, 11, 27, 9, 58)
    moments = week_moments(random.Random(1), monday, hours, 5, friday_late)
    assert moments == [datetime(2026, 11, 27, 9, 58), datetime(2026, 11, 27, 9, 59)]
    assert week_moments(random.Random(1), monday, hours, 3, datetime(2026, 11, 28)) == []


def test_spot_settings_are_county_rules() -> None:
    changed = policies.apply_changes(
        DEFAULT_POLICY,
        ["spot_week=3", "spot_hours=09:00-16:00", "spot_minutes=45", "spot_flag=1", "spot_limit=2"],
    )
    assert not isinstance(changed, Problem)
    assert (changed.spot_week, changed.spot_hours, changed.spot_minutes) == (
        3,
        (time(9), time(16)),
        45,
    )
    assert policies.from_json(policies.to_json(changed)) == changed
    for word in ("spot_minutes=2", "spot_week=30", "spot_hours=17:00-09:00", "spot_hours=x"):
        found = policies.apply_changes(DEFAULT_POLICY, [word])
        assert isinstance(found, Problem), word


def test_findings_put_a_member_on_the_digests_attention_list() -> None:
    week = (date(2026, 11, 16), date(2026, 11, 22))
    present: dict[date, set[WindowName]] = {date(2026, 11, d): {"morning"} for d in range(1, 23)}
    record = MemberRecord(1, "Wang", None, present, log_days=frozenset(present))
    clean = member_figures(record, DEFAULT_POLICY, *week, DAY, time(10))
    assert not clean.needs_attention and clean.standing == "clear"
    found = replace(record, spot_findings=1, spot_year=2)
    flagged = member_figures(found, DEFAULT_POLICY, *week, DAY, time(10))
    assert (flagged.spot_findings, flagged.spot_year, flagged.standing) == (1, 2, "flagged")
    assert flagged.needs_attention
    earlier = member_figures(replace(record, spot_year=4), DEFAULT_POLICY, *week, DAY, time(10))
    assert earlier.standing == "not_competent" and earlier.needs_attention
