"""Numbers people and buttons give us as ids (a log, a visit, a request). Only ASCII digits
count (``"²".isdigit()`` is true, yet ``int("²")`` fails), and only what the database can
hold: anything else is not an id, so the answer is "no such one", never an error."""

from __future__ import annotations

ID_MAX = 2**63 - 1  # SQLite's largest integer


def parse_id(word: str) -> int | None:
    """The id a word names (``12`` or ``#12``), or None."""
    word = word.removeprefix("#")
    if not (word.isascii() and word.isdigit()):
        return None
    number = int(word)
    return number if 1 <= number <= ID_MAX else None
