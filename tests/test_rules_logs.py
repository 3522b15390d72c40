"""Work-log rules without Telegram or a database: what is a log, which households a log
names, how samples are drawn, which month a summary is for, and the household CSV."""

from __future__ import annotations

import random
from datetime import date

import pytest

from rules.chunks import split_lines
from rules.logs import (
    Mentions,
    Pick,
    check_household,
    draw_sample,
    find_mentions,
    log_text,
    parse_month,
    parse_pick,
    readable,
    sample_size,
    summary_month,
    summary_text,
)
from rules.orgcsv import is_household_csv, parse_household_csv
from rules.problems import Problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/log visited the school", "visited the school"),
        ("/log@cunbot_test_bot visited", "visited"),
        ("#log  visited ", "visited"),
        ("#LOG visited", "visited"),
        ("#日志 走访", "走访"),
        ("#日志\n走访\n开会", "走访\n开会"),
        ("/log", ""),
        ("#logbook is full", None),
        ("/logs", None),
        ("see #log below", None),
        ("", None),
        (None, None),
    ],
)
def test_log_text(text: str | None, expected: str | None) -> None:
    assert log_text(text) == expected


def test_summary_text() -> None:
    assert summary_text("#小结 2026-11") == "2026-11"
    assert summary_text("/summary") == ""
    assert summary_text("#summaryx") is None


REGISTER = ["张三", "张三丰", "李四", "Li", "Wang Wu"]


@pytest.mark.parametrize(
    ("text", "known", "unknown"),
    [
        ("走访@@张三家", ["张三"], []),
        ("走访@@张三丰和@@李四", ["张三丰", "李四"], []),  # the longest name wins
        ("@@张三 @@张三 @@张三", ["张三"], []),  # named once however often
        ("@@王五，@@赵六。", [], ["王五", "赵六"]),  # unknown names end at punctuation
        ("@@王五家", [], ["王五家"]),  # ...so a Chinese unknown name needs an end
        ("@@[王五]家 and @@【赵 六】", [], ["王五", "赵 六"]),  # or brackets
        ("@@li and @@Lin", ["Li"], ["Lin"]),  # a Latin name ends at a word boundary
        ("@@[wang wu] came", ["Wang Wu"], []),  # brackets match the register, any case
        ("@@Wang Wu came", ["Wang Wu"], []),
        ("@@ nothing @@", [], []),
        ("email a@@b", [], ["b"]),
        ("no mention at all", [], []),
    ],
)
def test_find_mentions(text: str, known: list[str], unknown: list[str]) -> None:
    assert find_mentions(text, REGISTER) == Mentions(tuple(known), tuple(unknown))


@pytest.mark.parametrize(
    ("name", "note", "problem"),
    [
        ("张三", None, None),
        ("", None, "household.err.empty"),
        ("x" * 41, None, "household.err.long"),
        ("a@@b", None, "household.err.chars"),
        ("[a]", None, "household.err.chars"),
        ("张三", "n" * 201, "household.err.note_long"),
    ],
)
def test_check_household(name: str, note: str | None, problem: str | None) -> None:
    found = check_household(name, note)
    assert (found.key if found else None) == problem


def test_samples_never_repeat_a_visit() -> None:
    rng = random.Random(7)
    candidates = list(range(1, 11))
    drawn: list[int] = []
    sizes = []
    for _ in range(4):
        picked = draw_sample(candidates, drawn, 4, rng)
        assert len(set(picked)) == len(picked)
        assert not set(picked) & set(drawn)
        drawn += picked
        sizes.append(len(picked))
    assert sizes == [4, 4, 2, 0]
    assert sorted(drawn) == candidates


def test_a_sample_is_random_not_the_first_ones() -> None:
    picks = {tuple(draw_sample(range(100), [], 3, random.Random(seed))) for seed in range(20)}
    assert len(picks) > 15


@pytest.mark.parametrize(
    ("word", "expected"),
    [(None, 5), ("1", 1), ("20", 20), ("0", None), ("21", None), ("x", None), ("-3", None)],
)
def test_sample_size(word: str | None, expected: int | None) -> None:
    size = sample_size(word)
    assert (None if isinstance(size, Problem) else size) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("2026-11", "2026-11"),
        ("2026-1", "2026-01"),
        ("2026年11月", "2026-11"),
        ("2026-13", None),
        ("11", None),
        ("2026-11-03", None),
    ],
)
def test_parse_month(word: str, expected: str | None) -> None:
    assert parse_month(word) == expected


@pytest.mark.parametrize(
    ("today", "sent", "expected"),
    [
        (date(2026, 11, 23), [], "2026-11"),
        (date(2026, 12, 2), [], "2026-11"),  # early December: November's is still due
        (date(2026, 12, 2), ["2026-11"], "2026-12"),
        (date(2026, 12, 6), [], "2026-12"),  # after the grace days, this month's
        (date(2027, 1, 3), ["2026-11"], "2026-12"),  # across a year
    ],
)
def test_summary_month(today: date, sent: list[str], expected: str) -> None:
    assert summary_month(today, sent) == expected


def test_household_csv() -> None:
    assert is_household_csv("team_code,household,note\n")
    assert is_household_csv("户名,备注\n")
    assert not is_household_csv("county,township,team_code,village\n")
    rows, problems = parse_household_csv("户名,备注\n 张三 ,3组\n\n李四,\n", need_team=False)
    assert problems == []
    assert [(r.line, r.name, r.note) for r in rows] == [(2, "张三", "3组"), (4, "李四", None)]
    _, problems = parse_household_csv("household,phone\n张三,123\n")
    assert [p.problem.key for p in problems] == ["import.err.header"]
    _, problems = parse_household_csv("team_code,household\n,张三\nA,b,c\n")
    assert [(p.line, p.problem.key) for p in problems] == [
        (2, "import.err.required"),
        (3, "import.err.extra_cells"),
    ]


def test_long_replies_are_split_between_lines() -> None:
    lines = [f"line {i} " + "x" * 90 for i in range(100)]
    texts = split_lines(lines, limit=1000)
    assert all(len(text) <= 1000 for text in texts)
    assert "\n".join(texts).splitlines() == lines
    assert split_lines(["y" * 2500], limit=1000) == ["y" * 1000, "y" * 1000, "y" * 500]


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (["12", "t", "3", "1"], Pick(12, "toggle", 3, 1)),
        (["12", "n", "0"], Pick(12, "new", 0, 0)),
        (["12", "p", "2"], Pick(12, "page", 0, 2)),
        (["12", "p", "-1"], Pick(12, "page", 0, -1)),  # the service keeps the page in range
        (["12", "d"], Pick(12, "done")),
        (["12", "x", "1"], None),
        (["twelve", "t", "1"], None),
        (["12", "t", "a"], None),
        (["12"], None),
        ([], None),
    ],
)
def test_parse_pick(parts: list[str], expected: Pick | None) -> None:
    assert parse_pick(parts) == expected


def test_a_log_reads_without_its_markup() -> None:
    assert readable("走访@@张三家和@@[李 老汉]，又去@@【王五】 [备注]") == (
        "走访张三家和李 老汉，又去王五 [备注]"
    )
