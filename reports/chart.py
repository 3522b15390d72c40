"""The digest's chart: a member × day grid coloured present / night / leave / absent, one
block per team, or per township the member-days as stacked bars; as PNG bytes.

Drawn with Pillow, cell by cell: a Monday draws ~2,400 of these (every leader, township and
county), and matplotlib spent 40 ms on a team's grid and 200–300 ms on a township's (its
ticks and texts are objects laid out one by one), 100 s of CPU for the city where Pillow
takes a few (``bench/digest.py``). Pillow keeps no global state, so charts may be drawn in
worker threads while the bot goes on answering. Names are drawn in a CJK font when the
machine has one (found through matplotlib's font list); without one, a name the fallback font
(DejaVu Sans, shipped with matplotlib) cannot draw is replaced by ``#n`` and the caller lists
what each number stands for.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import matplotlib
from matplotlib import font_manager
from PIL import Image, ImageDraw, ImageFont

from rules.digest import DayMark, Rollup, TeamFigures

# Colour-blind-safe (Okabe–Ito): the legend is in the caption, in the reader's language.
COLOURS: dict[DayMark, str] = {
    "present": "#009E73",  # green
    "night": "#0072B2",  # blue: present, and stayed the night
    "leave": "#E69F00",  # orange
    "absent": "#D55E00",  # red
    "pending": "#F0E442",  # yellow: today, a window still open
    "future": "#FFFFFF",
    "outside": "#DDDDDD",  # not a member yet
}
_CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
)


@cache
def cjk_font() -> str | None:
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in _CJK_FONTS if name in installed), None)


@cache
def _font(pixels: int) -> ImageFont.FreeTypeFont:
    family = cjk_font()
    if family is not None:
        path = str(font_manager.findfont(font_manager.FontProperties(family=family)))
    else:
        path = str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")
    return ImageFont.truetype(path, pixels)


def drawable(label: str) -> bool:
    """Whether the fallback font draws every character (Latin, Greek, Cyrillic…)."""
    return cjk_font() is not None or all(ord(ch) < 0x2E80 for ch in label)


@dataclass(frozen=True)
class Labels:
    rows: list[str]
    numbered: list[tuple[str, str]]  # ("#1", "王伟"): names the chart could not draw


def row_labels(names: Sequence[str]) -> Labels:
    rows: list[str] = []
    numbered: list[tuple[str, str]] = []
    for name in names:
        if drawable(name):
            rows.append(name)
        else:
            tag = f"#{len(numbered) + 1}"
            numbered.append((tag, name))
            rows.append(tag)
    return Labels(rows, numbered)


# Sizes in pixels.
CELL_W, WEEK_CELL_W, CELL_H, GAP = 30, 44, 22, 2  # a week's cells fit 11-23
PAD, TITLE_H, AXIS_H = 12, 30, 26
LABEL_PX, TITLE_PX, DAY_PX = 13, 16, 11
MIN_WIDTH = 600
BAR_W = 480  # the longest township bar
INK = "#222222"


def _canvas(width: int, height: int, title: str) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (max(MIN_WIDTH, width), height), "white")
    draw = ImageDraw.Draw(image)
    if title and drawable(title):
        draw.text((PAD, PAD), title, fill=INK, font=_font(TITLE_PX))
    return image, draw


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    # Fast compression: a few flat colours compress well at any level.
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _label_width(labels: Sequence[str]) -> int:
    font = _font(LABEL_PX)
    return int(max([40.0, *(font.getlength(x) for x in labels)])) + PAD


def grid_png(
    title: str, days: Sequence[date], teams: Sequence[TeamFigures]
) -> tuple[bytes, Labels]:
    """One row per member, grouped by team (team names as separators), one column per day."""
    names: list[str] = []
    marks: list[Sequence[DayMark] | None] = []  # None: a team's separator row
    for team in teams:
        names.append(f"— {team.label}")
        marks.append(None)
        for member in team.members:
            names.append(member.name)
            marks.append(member.days)
    labels = row_labels(names)
    cell_w = WEEK_CELL_W if len(days) <= 10 else CELL_W
    left = PAD + _label_width(labels.rows)
    top = PAD + TITLE_H
    width = left + cell_w * len(days) + PAD
    height = top + CELL_H * max(1, len(marks)) + AXIS_H + PAD
    image, draw = _canvas(width, height, title)
    font = _font(LABEL_PX)
    for row, (label, row_marks) in enumerate(zip(labels.rows, marks, strict=True)):
        y = top + row * CELL_H
        draw.text((left - PAD // 2, y + CELL_H // 2), label, fill=INK, font=font, anchor="rm")
        for column, mark in enumerate(row_marks or ()):
            x = left + column * cell_w
            # A day still to come is white: its outline keeps the grid's shape.
            outline = "#E4E4E4" if mark == "future" else None
            draw.rectangle(
                (x, y, x + cell_w - GAP, y + CELL_H - GAP), fill=COLOURS[mark], outline=outline
            )
    # A week reads 11-16 … 11-22; a month, its day numbers (the month is in the title).
    day_font = _font(DAY_PX)
    axis = top + CELL_H * max(1, len(marks)) + 4
    for column, day in enumerate(days):
        text = day.strftime("%m-%d") if len(days) <= 10 else str(day.day)
        x = left + column * cell_w + (cell_w - GAP) // 2
        draw.text((x, axis), text, fill=INK, font=day_font, anchor="mt")
    return _png(image), labels


def rollup_png(title: str, rows: Sequence[Rollup]) -> tuple[bytes, Labels]:
    """Per township, the member-days present / night / leave / absent as stacked bars."""
    labels = row_labels([r.township for r in rows])
    left = PAD + _label_width(labels.rows)
    top = PAD + TITLE_H
    bar_h = CELL_H + 4
    width = left + BAR_W + PAD
    height = top + bar_h * max(1, len(rows)) + PAD
    image, draw = _canvas(width, height, title)
    font = _font(LABEL_PX)
    # present counts the nights too; the bars show them apart.
    longest = max([1, *(max(r.present, r.nights) + r.leave + r.absent for r in rows)])
    for row, (label, r) in enumerate(zip(labels.rows, rows, strict=True)):
        y = top + row * bar_h
        draw.text((left - PAD // 2, y + bar_h // 2), label, fill=INK, font=font, anchor="rm")
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
                draw.rectangle((start, y, end - 1, y + bar_h - 7), fill=COLOURS[mark])
    return _png(image), labels
