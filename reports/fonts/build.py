"""Rebuilds ``cunbot-sans.woff2`` and ``coverage.txt`` from Noto Sans CJK SC Regular.

Not run by the bot: the two files are committed, so the charts draw Chinese names on any
machine the README's commands set up (no system font, nothing downloaded at run time). It
needs ``fonttools[woff]`` (the dev extra) and the source font, for example the one in the
``mplfonts`` 0.0.11 wheel on PyPI (``mplfonts/fonts/NotoSansCJKsc-Regular.otf``, version 1.004,
sha256 1652500938055a232cfbfa321de6ebaadfc5635dd9f75e369bc991d14a6512dd)::

    python reports/fonts/build.py NotoSansCJKsc-Regular.otf

The subset keeps every character of GBK (21,886: GB 2312's 6,763 hanzi and the 14,240 more
that GBK adds, which hold most characters of personal names GB 2312 lacks, such as 堃 and 喆),
Latin, Greek, Cyrillic and the punctuation a chart prints: 9 MB as OpenType, 6 MB as WOFF2
against 16 MB for the whole font. A name with a character outside it is drawn as ``#n`` and
named in the caption (``reports.chart.row_labels``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

HERE = Path(__file__).parent
RANGES = (
    (0x20, 0x7E),  # ASCII
    (0xA0, 0x24F),  # Latin-1, Latin Extended-A and -B
    (0x370, 0x45F),  # Greek, Cyrillic
    (0x2000, 0x206F),  # general punctuation: – — · …
    (0x2190, 0x21FF),  # arrows
    (0x25A0, 0x25FF),  # geometric shapes
    (0x3000, 0x303F),  # CJK punctuation
    (0xFF00, 0xFFEF),  # full-width forms
)


def gbk() -> set[int]:
    found: set[int] = set()
    for lead in range(0x81, 0xFF):
        for trail in range(0x40, 0xFF):
            try:
                text = bytes((lead, trail)).decode("gbk")
            except UnicodeDecodeError:
                continue
            if len(text) == 1:
                found.add(ord(text))
    return found


def ranges(points: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for point in points:
        if out and out[-1][1] == point - 1:
            out[-1] = (out[-1][0], point)
        else:
            out.append((point, point))
    return out


def main(source: str) -> None:
    wanted = gbk().union(*(range(lo, hi + 1) for lo, hi in RANGES))
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False  # drawn at 11–16 px by FreeType's autohinter; saves 10 %
    font = TTFont(source)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=wanted)
    subsetter.subset(font)
    font.flavor = "woff2"
    font.save(HERE / "cunbot-sans.woff2")
    kept = sorted(font.getBestCmap())
    lines = [f"{lo:X}-{hi:X}" if hi > lo else f"{lo:X}" for lo, hi in ranges(kept)]
    (HERE / "coverage.txt").write_text(
        "# Code points drawn by cunbot-sans.woff2 (hex), written by build.py.\n"
        + "\n".join(lines)
        + "\n",
        encoding="ascii",
    )
    sys.stdout.write(f"{len(kept)} characters in {len(lines)} ranges\n")


if __name__ == "__main__":
    main(sys.argv[1])
