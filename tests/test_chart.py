"""The digest's pictures, read back pixel by pixel: every cell and bar shows what the
figures say, in the colour its key gives."""

from __future__ import annotations

import io
from collections import Counter
from datetime import date, time, timedelta

from PIL import Image

from reports import chart
from rules.digest import MemberRecord, Rollup, TeamFigures, member_figures
from rules.policy import DEFAULT_POLICY, WindowName

FIRST = date(2026, 11, 16)
DAYS = [FIRST + timedelta(days=n) for n in range(7)]
BOTH: tuple[WindowName, ...] = ("morning", "evening")


def _rgb(colour: str) -> object:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def _colours(png: bytes) -> Counter[object]:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    found = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert found is not None
    return Counter({colour: count for count, colour in found})


def _team(label: str, *records: MemberRecord) -> TeamFigures:
    today = FIRST + timedelta(days=7)
    members = tuple(
        member_figures(r, DEFAULT_POLICY, DAYS[0], DAYS[-1], today, time(8, 5)) for r in records
    )
    return TeamFigures(len(label), label, "Dahai", members)


def test_the_grid_paints_one_cell_per_member_day_in_its_marks_colour() -> None:
    wang = MemberRecord(1, "Wang", None, {d: BOTH for d in DAYS[:5]}, leave_days={DAYS[5]})
    li = MemberRecord(2, "Li", None, {DAYS[0]: BOTH})
    team = _team("HZ-001 Shangba", wang, li)
    png, labels = chart.grid_png("Weekly digest · HZ-001", DAYS, [team])

    marks = Counter(mark for m in team.members for mark in m.days)
    assert marks["absent"] >= 6 and marks["leave"] == 1  # the figures differ by mark
    seen = _colours(png)
    cell = seen[_rgb(chart.COLOURS["leave"])]  # one leave day: one cell's pixels
    assert cell > 100
    for mark, count in marks.items():
        if mark != "future":
            assert seen[_rgb(chart.COLOURS[mark])] == count * cell, mark
    assert labels.rows == ["— HZ-001 Shangba", "Wang", "Li"] and labels.numbered == []


def test_names_the_font_cannot_draw_are_numbered_for_the_caption() -> None:
    team = _team("HZ-002 下坝", MemberRecord(3, "王伟", None, {}))
    _, labels = chart.grid_png("周报", DAYS, [team])
    if chart.cjk_font() is None:
        assert labels.rows == ["#1", "#2"]
        assert labels.numbered == [("#1", "— HZ-002 下坝"), ("#2", "王伟")]
    else:
        assert labels.rows == ["— HZ-002 下坝", "王伟"] and labels.numbered == []


def test_the_rollup_bars_are_as_long_as_the_member_days_they_stand_for() -> None:
    rows = [
        Rollup("Dahai", 2, 4, 20, 6, 2, 10, 0, 0, 0, 0, 1),
        Rollup("Xiaoba", 1, 2, 10, 0, 0, 5, 0, 0, 0, 0, 0),
    ]
    png, labels = chart.rollup_png("Weekly · Huize", rows)
    seen = _colours(png)
    absent = seen[_rgb(chart.COLOURS["absent"])]
    present = seen[_rgb(chart.COLOURS["present"])]
    night = seen[_rgb(chart.COLOURS["night"])]
    leave = seen[_rgb(chart.COLOURS["leave"])]
    # Dahai: 14 present without a night, 6 nights, 2 leave, 10 absent; Xiaoba: 10 and 5. The
    # longest bar (32 member-days) is the full width, so a member-day is 15 columns.
    column = absent // (15 * 15)
    assert column * 15 * 15 == absent
    assert (present, night, leave) == (24 * 15 * column, 6 * 15 * column, 2 * 15 * column)
    assert labels.rows == ["Dahai", "Xiaoba"]
