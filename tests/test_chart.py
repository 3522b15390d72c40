"""The digest's pictures, read back from what they drew: every cell and bar shows what the
figures say in the colour its key gives, and every text (title, dates, weekdays, key, names,
what is left out) is there, in the reader's language, in glyphs the font really has."""

from __future__ import annotations

import io
from collections import Counter
from datetime import date, time, timedelta
from importlib import resources

from fontTools.ttLib import TTFont
from PIL import Image

from reports import chart, parts, text
from rules.digest import Digest, MemberRecord, Period, Rollup, TeamFigures, member_figures
from rules.policy import DEFAULT_POLICY, WindowName
from services.digest import DigestRecords, compute_digest
from storage.models import Team

FIRST = date(2026, 11, 16)
DAYS = [FIRST + timedelta(days=n) for n in range(7)]
SO_FAR = [date(2026, 11, d) for d in range(1, 23)]  # the month up to the week's end
BOTH: tuple[WindowName, ...] = ("morning", "evening")
TELEGRAM_SIDE = 1280  # Telegram shows a photo at most this many pixels on its long side


def _rgb(colour: str) -> tuple[int, int, int]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def _image(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return image.convert("RGB")


def _colours(png: bytes) -> Counter[object]:
    found = _image(png).getcolors(maxcolors=1 << 20)
    assert found is not None
    return Counter({colour: count for count, colour in found})


def _team(label: str, *records: MemberRecord) -> TeamFigures:
    today = FIRST + timedelta(days=7)
    members = tuple(
        member_figures(r, DEFAULT_POLICY, DAYS[0], DAYS[-1], today, time(8, 5)) for r in records
    )
    return TeamFigures(len(label), label, "Dahai", members)


def _digest(
    scope: str, name: str, teams: dict[Team, list[MemberRecord]], kind: str = "weekly"
) -> Digest:
    first = FIRST if kind == "weekly" else FIRST.replace(day=1)
    last = first + timedelta(days=6) if kind == "weekly" else date(2026, 11, 30)
    return compute_digest(
        DigestRecords(
            scope,  # type: ignore[arg-type]
            name,
            Period(kind, first, last),  # type: ignore[arg-type]
            last + timedelta(days=1),
            time(8, 5),
            tuple(teams),
            {team.id: records for team, records in teams.items()},
            {team.id: DEFAULT_POLICY for team in teams},
            frozenset(),
        )
    )


def _village(team_id: int, village: str, township: str = "大海镇") -> Team:
    return Team(
        team_id, village, "Asia/Shanghai", f"HZ-{team_id:03d}", -100 - team_id, 1, township, 1,
        "会泽县",
    )  # fmt: skip


def _every_day(person: int, name: str, days: list[date] = SO_FAR) -> MemberRecord:
    return MemberRecord(person, name, None, {d: BOTH for d in days})


def _real_glyphs() -> set[int]:
    path = resources.files("reports").joinpath("fonts/cunbot-sans.woff2")
    with resources.as_file(path) as font:
        return set(TTFont(str(font)).getBestCmap())


def _inked(png: bytes, drawn: chart.Drawn) -> int:
    """How many pixels inside a text's box are darker than the lightest grey we draw."""
    pixels = _image(png).crop(drawn.box).tobytes()
    return sum(1 for at in range(0, len(pixels), 3) if sum(pixels[at : at + 3]) < 3 * 0xA0)


def test_the_grid_paints_one_cell_per_member_day_in_its_marks_colour() -> None:
    wang = MemberRecord(1, "Wang", None, {d: BOTH for d in DAYS[:5]}, leave_days={DAYS[5]})
    li = MemberRecord(2, "Li", None, {DAYS[0]: BOTH})
    team = _team("HZ-001 Shangba", wang, li)
    words = text.chart_words("en", _digest("team", "HZ-001 Shangba", {}))
    png, drawing = chart.grid_png(words, DAYS, [team])

    marks = Counter(mark for m in team.members for mark in m.days)
    assert marks["absent"] >= 6 and marks["leave"] == 1  # the figures differ by mark
    seen = _colours(png)
    cell = seen[_rgb(chart.COLOURS["leave"])] - chart.SWATCH**2  # the key's swatch too
    assert cell > 100
    for mark, count in marks.items():
        if mark != "future":
            swatch = chart.SWATCH**2 if mark in chart.ALWAYS_KEYED else 0
            assert seen[_rgb(chart.COLOURS[mark])] == count * cell + swatch, mark
    assert drawing.of("name") == ["Wang", "Li"] and drawing.numbered == []
    assert drawing.of("team") == []  # one team: the title names it


def test_a_weeks_picture_says_what_when_and_who_in_chinese_in_real_glyphs() -> None:
    team = _village(1, "上坝")
    digest = _digest(
        "team", "HZ-001 上坝", {team: [_every_day(1, "王伟"), _every_day(2, "刘堃", DAYS[:3])]}
    )
    part = parts.digest_parts("zh", digest)[1]
    assert part.photo is not None
    shown = chart.fit(digest.teams)
    png, drawing = chart.grid_png(text.chart_words("zh", digest, shown), digest.days, shown)
    assert png == part.photo

    assert drawing.of("title") == ["每周考勤 · HZ-001 上坝"]
    assert drawing.of("span") == ["2026年11月16日周一 – 11月22日周日"]
    assert drawing.of("weekday") == ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
    assert drawing.of("day")[:2] == ["11/16", "11/17"]
    assert drawing.of("key") == ["在岗", "在岗并驻夜", "请假", "缺勤"]
    assert drawing.of("name") == ["王伟", "刘堃"] and drawing.numbered == []
    glyphs = _real_glyphs()
    for drawn in drawing.texts:
        assert all(ord(ch) in glyphs or ch == " " for ch in drawn.text), drawn  # no tofu
        assert _inked(png, drawn) > 10, drawn  # and it is on the picture
    assert part.caption == "每周考勤 · HZ-001 上坝，2026年11月16日周一 – 11月22日周日。"
    english = chart.grid_png(text.chart_words("en", digest, shown), digest.days, shown)[1]
    assert english.of("span") == ["Mon, Nov 16 – Sun, Nov 22, 2026"]
    assert english.of("key") == ["present", "present, stayed the night", "leave", "absent"]


def test_field_and_made_up_days_have_their_own_colour_and_key() -> None:
    wang = MemberRecord(
        1, "王伟", None, {d: BOTH for d in SO_FAR},
        field_days={DAYS[1]}, made_up_days={DAYS[2], DAYS[3]},
    )  # fmt: skip
    digest = _digest("team", "HZ-001 上坝", {_village(1, "上坝"): [wang]})
    assert digest.teams[0].members[0].days[:4] == ("present", "field", "made_up", "made_up")
    png, drawing = chart.grid_png(text.chart_words("zh", digest), digest.days, digest.teams)
    assert drawing.of("key")[4:] == ["在岗（外勤）", "在岗（补卡）"]
    seen = _colours(png)
    field, made_up = seen[_rgb(chart.COLOURS["field"])], seen[_rgb(chart.COLOURS["made_up"])]
    assert made_up - chart.SWATCH**2 == 2 * (field - chart.SWATCH**2) > 0


def test_a_months_columns_carry_day_numbers_and_weekdays() -> None:
    november = [date(2026, 11, d) for d in range(1, 31)]
    digest = _digest(
        "team", "HZ-001 上坝", {_village(1, "上坝"): [_every_day(1, "王伟", november)]}, "monthly"
    )
    drawing = chart.grid_png(text.chart_words("zh", digest), digest.days, digest.teams)[1]
    assert drawing.of("title") == ["2026年11月考勤 · HZ-001 上坝"]
    assert drawing.of("day")[:3] == ["1", "2", "3"] and len(drawing.of("day")) == 30
    assert drawing.of("weekday")[:3] == ["日", "一", "二"]  # 2026-11-01 was a Sunday


def test_coverage_lists_exactly_the_glyphs_the_font_has() -> None:
    glyphs = _real_glyphs()
    assert all(chart.drawable(chr(point)) for point in glyphs)
    assert not chart.drawable("䶮")  # U+4DAE, beyond GBK: drawn as #n
    assert sum(1 for point in range(0x4E00, 0xA000) if chart.drawable(chr(point))) > 20_000


def test_an_area_shows_the_teams_needing_attention_first_and_says_which() -> None:
    calm = _village(1, "上坝")
    worrying = _village(2, "下坝")
    digest = _digest(
        "township",
        "大海镇",
        {calm: [_every_day(1, "王伟")], worrying: [MemberRecord(2, "李娜", None, {})]},
    )
    assert [t.label for t in digest.teams] == ["HZ-002 下坝", "HZ-001 上坝"]
    shown = chart.fit(digest.teams)
    words = text.chart_words("zh", digest, shown)
    _, drawing = chart.grid_png(words, digest.days, shown)
    assert drawing.of("section") == ["需关注：1 支工作队", "按期在岗：1 支工作队"]
    assert drawing.of("team") == ["HZ-002 下坝", "HZ-001 上坝"]
    assert drawing.of("note") == []
    tops = {d.text: d.box[1] for d in drawing.texts}
    assert tops["需关注：1 支工作队"] < tops["李娜"] < tops["按期在岗：1 支工作队"] < tops["王伟"]
    # But a name the font lacks is numbered, and the caption says who it is.
    digest = _digest("township", "大海镇", {calm: [_every_day(1, "刘䶮")]})
    part = parts.digest_parts("zh", digest)[1]
    assert part.caption is not None and part.caption.endswith("\n#1 刘䶮")


def test_a_city_sized_township_stays_legible_and_says_what_it_leaves_out() -> None:
    """The speed issue's city: 2,290 teams in 130 townships, some three times the mean
    of ~18 teams with ~34 members; the picture must stay inside what Telegram shows."""
    teams: dict[Team, list[MemberRecord]] = {}
    person = 0
    for number in range(1, 55):
        records = []
        for _ in range(2 if number % 3 else 3):
            person += 1
            # One team in four had a member away two days: it needs attention.
            days = SO_FAR[:-2] if number % 4 == 0 else SO_FAR
            records.append(_every_day(person, f"队员{person}", days))
        teams[_village(number, f"村{number}")] = records
    digest = _digest("township", "大海镇", teams)
    shown = chart.fit(digest.teams)
    words = text.chart_words("zh", digest, shown)
    png, drawing = chart.grid_png(words, digest.days, shown)
    width, height = _image(png).size
    assert max(width, height) <= TELEGRAM_SIDE
    assert sum(len(t.members) for t in shown) <= chart.MAX_ROWS
    drawn_teams = drawing.of("team")
    attention = [t.label for t in digest.teams if t.needs_attention]
    assert len(attention) == 13 and drawn_teams[:13] == attention  # every one, first
    left = len(digest.teams) - len(drawn_teams)
    assert left > 0
    left_members = sum(len(t.members) for t in digest.teams[len(drawn_teams) :])
    assert drawing.of("note") == [
        f"另有 {left} 支按期在岗的工作队（{left_members} 名队员）未画出；每支工作队都在表格中。"
    ]
    assert drawing.of("section") == ["需关注：13 支工作队", "按期在岗：41 支工作队"]


def test_an_empty_period_says_so_instead_of_drawing_an_empty_grid() -> None:
    digest = _digest("township", "大海镇", {_village(1, "上坝"): []})
    for lang, said in (
        ("zh", "本期没有可画的队员考勤。"),
        ("en", "No member's attendance to draw for this period."),
    ):
        png, drawing = chart.grid_png(text.chart_words(lang, digest), digest.days, digest.teams)
        assert drawing.of("empty") == [said]
        seen = _colours(png)
        assert not any(seen[_rgb(chart.COLOURS[m])] for m in chart.ALWAYS_KEYED)
    county = _digest("county", "会泽县", {})
    drawing = chart.rollup_png(text.chart_words("zh", county), county.townships)[1]
    assert drawing.of("empty") == ["本期没有可画的队员考勤。"]


def test_the_rollup_bars_are_as_long_as_the_member_days_they_stand_for() -> None:
    rows = [
        Rollup("Dahai", 2, 4, 20, 6, 2, 10, 0, 0, 0, 0, 1),
        Rollup("Xiaoba", 1, 2, 10, 0, 0, 5, 0, 0, 0, 0, 0),
    ]
    words = chart.Words(
        "Weekly · Huize", "Nov 16–22", [], {m: m for m in chart.COLOURS}, "nothing",
        bar_notes=["1 of 2", "0 of 1"],
    )  # fmt: skip
    png, drawing = chart.rollup_png(words, rows)
    seen = _colours(png)
    swatch = chart.SWATCH**2
    absent = seen[_rgb(chart.COLOURS["absent"])] - swatch
    present = seen[_rgb(chart.COLOURS["present"])] - swatch
    night = seen[_rgb(chart.COLOURS["night"])] - swatch
    leave = seen[_rgb(chart.COLOURS["leave"])] - swatch
    # Dahai: 14 present without a night, 6 nights, 2 leave, 10 absent; Xiaoba: 10 and 5. The
    # longest bar (32 member-days) is the full width, so a member-day is BAR_W / 32 columns.
    column = absent // (15 * 20)
    assert column * 15 * 20 == absent
    assert (present, night, leave) == (24 * 20 * column, 6 * 20 * column, 2 * 20 * column)
    assert drawing.of("name") == ["Dahai", "Xiaoba"]
    assert drawing.of("bar") == ["1 of 2", "0 of 1"]


def test_a_countys_bars_put_the_townships_needing_attention_first() -> None:
    teams = {
        _village(1, "上坝", "大海镇"): [_every_day(1, "王伟")],
        _village(2, "下坝", "者海镇"): [MemberRecord(2, "李娜", None, {})],
    }
    county = _digest("county", "会泽县", teams)
    drawing = chart.rollup_png(text.chart_words("zh", county), county.townships)[1]
    assert drawing.of("name") == ["者海镇", "大海镇"]
    assert drawing.of("bar") == ["需关注 1/1 支", "需关注 0/1 支"]
    assert drawing.of("key") == ["在岗", "在岗并驻夜", "请假", "缺勤"]
