"""The digest's chart: a member × day grid coloured present / night / leave / absent, one
block per team, as PNG bytes.

matplotlib's object API (no pyplot) keeps no global state, so charts may be drawn in worker
threads while the bot goes on answering. Names are drawn in a CJK font when the machine has
one; without one, a name the fallback font cannot draw is replaced by ``#n`` and the caller
lists what each number stands for.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

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
_ORDER: tuple[DayMark, ...] = tuple(COLOURS)
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


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    font = cjk_font()
    if font is not None:
        figure.set_layout_engine("constrained")
    return figure


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def grid_png(
    title: str, days: Sequence[date], teams: Sequence[TeamFigures]
) -> tuple[bytes, Labels]:
    """One row per member, grouped by team (team names as separators), one column per day."""
    names: list[str] = []
    marks: list[list[int]] = []
    for team in teams:
        names.append(f"— {team.label}")
        marks.append([_ORDER.index("future")] * len(days))
        for member in team.members:
            names.append(member.name)
            marks.append([_ORDER.index(mark) for mark in member.days])
    labels = row_labels(names)
    rows = max(1, len(marks))
    width = 3.0 + 0.32 * len(days)
    figure = _figure(max(width, 6.0), 1.2 + 0.3 * rows)
    font = cjk_font()
    axes = figure.add_subplot()
    if marks:
        axes.imshow(
            marks,
            cmap=ListedColormap([COLOURS[m] for m in _ORDER]),
            vmin=0,
            vmax=len(_ORDER) - 1,
            aspect="auto",
            interpolation="nearest",
        )
    axes.set_yticks(
        range(len(labels.rows)), labels.rows, fontsize=8, fontfamily=font or "sans-serif"
    )
    step = 1 if len(days) <= 10 else 2
    axes.set_xticks(
        range(0, len(days), step), [d.strftime("%m-%d") for d in days[::step]], fontsize=7
    )
    axes.tick_params(axis="x", labelrotation=90 if len(days) > 10 else 0)
    axes.set_xticks([x - 0.5 for x in range(1, len(days))], minor=True)
    axes.set_yticks([y - 0.5 for y in range(1, rows)], minor=True)
    axes.grid(which="minor", color="white", linewidth=1)
    axes.tick_params(which="minor", length=0)
    axes.set_title(title if drawable(title) else "", fontsize=10, fontfamily=font or "sans-serif")
    if font is None:
        figure.subplots_adjust(left=min(0.45, 0.06 + 0.012 * max(map(len, labels.rows))))
    return _png(figure), labels


def rollup_png(title: str, rows: Sequence[Rollup]) -> tuple[bytes, Labels]:
    """Per township, the member-days present / night / leave / absent as stacked bars."""
    labels = row_labels([r.township for r in rows])
    figure = _figure(8.0, 1.2 + 0.35 * max(1, len(rows)))
    font = cjk_font()
    axes = figure.add_subplot()
    left = [0.0] * len(rows)
    parts: tuple[tuple[DayMark, list[int]], ...] = (
        ("present", [max(0, r.present - r.nights) for r in rows]),
        ("night", [r.nights for r in rows]),
        ("leave", [r.leave for r in rows]),
        ("absent", [r.absent for r in rows]),
    )
    for mark, values in parts:
        axes.barh(range(len(rows)), values, left=left, color=COLOURS[mark])
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.set_yticks(range(len(rows)), labels.rows, fontsize=8, fontfamily=font or "sans-serif")
    axes.invert_yaxis()
    axes.set_title(title if drawable(title) else "", fontsize=10)
    if font is None:
        figure.subplots_adjust(left=min(0.45, 0.06 + 0.012 * max([1, *map(len, labels.rows)])))
    return _png(figure), labels
