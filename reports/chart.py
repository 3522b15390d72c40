"""The digest's chart: a member × day grid coloured present / night / leave / absent, teams
needing attention first, or per township the member-days as stacked bars; as PNG bytes, with
a record of every text drawn and where.

Drawn with Pillow, cell by cell: a Monday draws ~2,400 of these (every leader, township and
county), and matplotlib spent 40 ms on a team's grid and 200–300 ms on a township's (its
ticks and texts are objects laid out one by one), 100 s of CPU for the city where Pillow
takes a few (``bench/digest.py``). Pillow keeps no global state, so charts may be drawn in
worker threads while the bot goes on answering.

Every text is drawn in the font that ships with the project (``fonts/cunbot-sans.woff2``, a
subset of Noto Sans CJK SC; ``fonts/build.py`` says what it keeps and why), so a Chinese name
reads the same on any machine. A name holding a character outside it is drawn as ``#n`` and
the caption says whom each number stands for. The chart holds no words of its own: the caller
passes them in the reader's language (:class:`Words`).

Telegram shows a photo at most 1,280 pixels on its long side, so a township's grid is cut at
:data:`MAX_ROWS` members: the teams needing attention come first (the caller orders them), the
rest are left out whole, and the picture says how many (:func:`fit`).
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources

from PIL import Image, ImageDraw, ImageFont

from rules.digest import DayMark, MemberFigures, Rollup, TeamFigures

# Colour-blind-safe (Okabe–Ito).
COLOURS: dict[DayMark, str] = {
    "present": "#009E73",  # green
    "night": "#0072B2",  # blue: present, and stayed the night
    "field": "#8FD3B6",  # light green: present by a field check-in
    "made_up": "#CC79A7",  # reddish purple: present by an approved make-up
    "leave": "#E69F00",  # orange
    "absent": "#D55E00",  # red
    "pending": "#F0E442",  # yellow: today, a window still open
    "future": "#FFFFFF",
    "outside": "#DDDDDD",  # not a member yet
}
FUTURE_OUTLINE = "#E4E4E4"  # a day still to come is white: its outline keeps the grid's shape
ALWAYS_KEYED: tuple[DayMark, ...] = ("present", "night", "leave", "absent")
BAR_MARKS: tuple[DayMark, ...] = ALWAYS_KEYED

# Sizes in pixels.
CELL_W, WEEK_CELL_W, CELL_H, GAP = 30, 44, 22, 2
PAD, LINE = 14, 20
LABEL_PX, TITLE_PX, SUBTITLE_PX, DAY_PX = 13, 18, 13, 11
SWATCH = 14
MIN_WIDTH = 640
BAR_W = 480  # the longest township bar
MAX_ROWS = 40  # member rows in one grid: ~1,200 px high with its title, axis and key
HEAD_H = PAD + TITLE_PX + 8 + SUBTITLE_PX + PAD  # the title and the dates
INK, GREY, RULE, SECTION_BG = "#222222", "#666666", "#BBBBBB", "#F2F2F2"


# ---------------------------------------------------------------------- the font
@cache
def _coverage() -> frozenset[int]:
    text = resources.files("reports").joinpath("fonts/coverage.txt").read_text("ascii")
    points: set[int] = set()
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        lo, _, hi = line.partition("-")
        points.update(range(int(lo, 16), int(hi or lo, 16) + 1))
    return frozenset(points)


@cache
def _font(pixels: int) -> ImageFont.FreeTypeFont:
    with resources.as_file(resources.files("reports").joinpath("fonts/cunbot-sans.woff2")) as p:
        return ImageFont.truetype(str(p), pixels)


def drawable(text: str) -> bool:
    """Whether the chart's font has every character of ``text``."""
    covered = _coverage()
    return all(ord(ch) in covered for ch in text)


# ---------------------------------------------------------------------- what is drawn
@dataclass(frozen=True)
class Words:
    """The chart's texts, already in the reader's language."""

    title: str  # "周报 · 大海镇"
    span: str  # "2026年11月16日周一 至 11月22日周日"
    days: Sequence[tuple[str, str]]  # per column: ("11/16", "周一"), or ("16", "一")
    key: Mapping[DayMark, str]  # short names of the marks
    empty: str  # said instead of an empty grid
    attention: str = ""  # heads the teams needing attention, in an area's grid
    on_track: str = ""  # heads the rest
    left_out: str = ""  # what the grid leaves out, if anything (see :func:`fit`)
    bar_notes: Sequence[str] = ()  # per township bar, said at its end


@dataclass(frozen=True)
class Drawn:
    role: str  # title, span, section, team, name, day, weekday, key, note, bar, empty
    text: str
    box: tuple[int, int, int, int]  # left, top, right, bottom


@dataclass
class Drawing:
    """What a chart drew, for its caption and its tests."""

    texts: list[Drawn] = field(default_factory=list)
    numbered: list[tuple[str, str]] = field(default_factory=list)  # ("#1", "王伟")

    def of(self, role: str) -> list[str]:
        return [d.text for d in self.texts if d.role == role]


class _Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.image = Image.new("RGB", (max(MIN_WIDTH, width), height), "white")
        self.draw = ImageDraw.Draw(self.image)
        self.drawing = Drawing()

    def label(self, text: str) -> str:
        """``text``, or ``#n`` if the font cannot draw it (the caption names it)."""
        # CLDR's dates hold thin and narrow no-break spaces, which the font lacks.
        text = "".join(" " if unicodedata.category(ch) == "Zs" else ch for ch in text)
        if drawable(text):
            return text
        for tag, name in self.drawing.numbered:
            if name == text:
                return tag
        tag = f"#{len(self.drawing.numbered) + 1}"
        self.drawing.numbered.append((tag, text))
        return tag

    def text(
        self,
        role: str,
        xy: tuple[float, float],
        text: str,
        pixels: int = LABEL_PX,
        anchor: str = "la",
        fill: str = INK,
    ) -> int:
        """Draws ``text``; returns the right edge of what it drew."""
        shown = self.label(text)
        font = _font(pixels)
        box = self.draw.textbbox(xy, shown, font=font, anchor=anchor)
        self.draw.text(xy, shown, fill=fill, font=font, anchor=anchor)
        left, top, right, bottom = (round(edge) for edge in box)
        self.drawing.texts.append(Drawn(role, shown, (left, top, right, bottom)))
        return right

    def head(self, words: Words) -> int:
        """The title and the dates; returns where the body starts."""
        self.text("title", (PAD, PAD), words.title, TITLE_PX)
        self.text("span", (PAD, PAD + TITLE_PX + 8), words.span, SUBTITLE_PX, fill=GREY)
        return HEAD_H

    def key(self, y: int, words: Words, marks: Sequence[DayMark]) -> None:
        x = PAD
        for mark in marks:
            self.draw.rectangle(
                (x, y, x + SWATCH - 1, y + SWATCH - 1),
                fill=COLOURS[mark],
                outline=FUTURE_OUTLINE if mark == "future" else None,
            )
            right = self.text(
                "key", (x + SWATCH + 5, y + SWATCH // 2), words.key[mark], anchor="lm"
            )
            x = right + 16

    def png(self) -> bytes:
        out = io.BytesIO()
        # Fast compression: a few flat colours compress well at any level.
        self.image.save(out, format="PNG", compress_level=1)
        return out.getvalue()


def _width(texts: Sequence[str], pixels: int = LABEL_PX) -> int:
    font = _font(pixels)
    return int(max([0.0, *(font.getlength(x) for x in texts)]))


def _head_width(words: Words) -> int:
    return PAD + max(_width([words.title], TITLE_PX), _width([words.span], SUBTITLE_PX)) + PAD


def _empty(words: Words) -> tuple[bytes, Drawing]:
    width = max(_head_width(words), PAD + _width([words.empty]) + PAD)
    canvas = _Canvas(width, HEAD_H + 60)
    canvas.head(words)
    canvas.text("empty", (max(MIN_WIDTH, width) // 2, HEAD_H + 20), words.empty, anchor="mm")
    return canvas.png(), canvas.drawing


# ---------------------------------------------------------------------- grid
def fit(teams: Sequence[TeamFigures], limit: int = MAX_ROWS) -> list[TeamFigures]:
    """The teams the grid draws, in the given order: whole teams of at most ``limit``
    members in all, and always the first."""
    shown: list[TeamFigures] = []
    rows = 0
    for team in teams:
        if not team.members:
            continue
        if rows + len(team.members) > limit:
            if not shown:
                shown.append(team)
            break
        shown.append(team)
        rows += len(team.members)
    return shown


def grid_png(
    words: Words, days: Sequence[date], teams: Sequence[TeamFigures]
) -> tuple[bytes, Drawing]:
    """One row per member, one column per day. In an area (more than one team) a column
    names each member's team, and a heading says which need attention and which are on
    track. ``teams`` is what :func:`fit` kept, in the order to draw."""
    teams = [team for team in teams if team.members]
    if not teams or not days:
        return _empty(words)
    area = len(teams) > 1
    rows: list[str | tuple[TeamFigures, MemberFigures]] = []  # a heading, or a member
    heading = ""
    for team in teams:
        wanted = (words.attention if team.needs_attention else words.on_track) if area else ""
        if wanted and wanted != heading:
            rows.append(wanted)
            heading = wanted
        rows += [(team, member) for member in team.members]
    cell_w = WEEK_CELL_W if len(days) <= 10 else CELL_W
    team_w = _width([team.label for team in teams]) + PAD if area else 0
    name_w = max(40, _width([m.name for team in teams for m in team.members])) + PAD
    left = PAD + team_w + name_w
    marks = [mark for team in teams for m in team.members for mark in m.days]
    extra: tuple[DayMark, ...] = ("field", "made_up", "pending", "future", "outside")
    keyed = [*ALWAYS_KEYED, *(m for m in extra if m in marks)]
    key_w = sum(SWATCH + 21 + _width([words.key[m]]) for m in keyed)
    width = max(left + cell_w * len(days) + PAD, PAD + key_w + PAD, _head_width(words))
    if words.left_out:
        width = max(width, PAD + _width([words.left_out]) + PAD)
    axis = HEAD_H + len(rows) * CELL_H + 4
    height = axis + 2 * LINE + (LINE + 6 if words.left_out else 0) + SWATCH + 2 * PAD
    canvas = _Canvas(width, height)
    top = canvas.head(words)
    right = left + cell_w * len(days) - GAP
    previous: TeamFigures | None = None
    for row, value in enumerate(rows):
        y = top + row * CELL_H
        if isinstance(value, str):
            canvas.draw.rectangle((PAD, y, right, y + CELL_H - GAP), fill=SECTION_BG)
            canvas.text("section", (PAD + 4, y + CELL_H // 2), value, anchor="lm")
            previous = None
            continue
        team, member = value
        if area and team is not previous:
            if previous is not None:
                canvas.draw.line((PAD, y - 1, right, y - 1), fill=RULE)
            canvas.text("team", (PAD, y + CELL_H // 2), team.label, anchor="lm")
        previous = team
        canvas.text("name", (left - PAD // 2, y + CELL_H // 2), member.name, anchor="rm")
        for column, mark in enumerate(member.days):
            x = left + column * cell_w
            canvas.draw.rectangle(
                (x, y, x + cell_w - GAP, y + CELL_H - GAP),
                fill=COLOURS[mark],
                outline=FUTURE_OUTLINE if mark == "future" else None,
            )
    for column, (day, weekday) in enumerate(words.days):
        x = left + column * cell_w + (cell_w - GAP) // 2
        canvas.text("day", (x, axis), day, DAY_PX, anchor="mt")
        canvas.text("weekday", (x, axis + LINE - 4), weekday, DAY_PX, anchor="mt", fill=GREY)
    y = axis + 2 * LINE
    if words.left_out:
        canvas.text("note", (PAD, y), words.left_out, fill=GREY)
        y += LINE + 6
    canvas.key(y + 4, words, keyed)
    return canvas.png(), canvas.drawing


# ---------------------------------------------------------------------- township bars
def rollup_png(words: Words, rows: Sequence[Rollup]) -> tuple[bytes, Drawing]:
    """Per township, the member-days present / night / leave / absent as stacked bars, in
    the given order (the most teams needing attention first), each with its note."""
    # present counts the nights too; the bars show them apart.
    longest = max([0, *(max(r.present, r.nights) + r.leave + r.absent for r in rows)])
    if not rows or not longest:
        return _empty(words)
    left = PAD + max(40, _width([r.township or "—" for r in rows])) + PAD
    bar_h = CELL_H + 4
    note_w = _width(words.bar_notes) + PAD if words.bar_notes else 0
    key_w = sum(SWATCH + 21 + _width([words.key[m]]) for m in BAR_MARKS)
    width = max(left + BAR_W + PAD + note_w + PAD, PAD + key_w + PAD, _head_width(words))
    height = HEAD_H + bar_h * len(rows) + PAD + SWATCH + 2 * PAD
    canvas = _Canvas(width, height)
    top = canvas.head(words)
    for row, r in enumerate(rows):
        y = top + row * bar_h
        middle = y + (bar_h - 6) // 2
        canvas.text("name", (left - PAD // 2, middle), r.township or "—", anchor="rm")
        parts: tuple[tuple[DayMark, int], ...] = (
            ("present", max(0, r.present - r.nights)),
            ("night", r.nights),
            ("leave", r.leave),
            ("absent", r.absent),
        )
        done = 0
        for mark, value in parts:
            # Whole-pixel edges from the running total: each day is as wide in every bar.
            start = left + round(BAR_W * done / longest)
            done += value
            end = left + round(BAR_W * done / longest)
            if end > start:
                canvas.draw.rectangle((start, y, end - 1, y + bar_h - 7), fill=COLOURS[mark])
        if row < len(words.bar_notes):
            canvas.text("bar", (left + BAR_W + PAD, middle), words.bar_notes[row], anchor="lm")
    canvas.key(top + bar_h * len(rows) + PAD, words, BAR_MARKS)
    return canvas.png(), canvas.drawing
