"""Texts cut to what Telegram accepts: one limit and one way of cutting, for every send."""

from __future__ import annotations

from collections.abc import Sequence

# Telegram refuses texts over 4,096 characters; a little under leaves room for nothing to be cut.
MAX_MESSAGE = 4000
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_ANSWER = 200  # a button's notice or alert
MAX_ECHO = 60  # of a word of the user's, repeated in a refusal


def clip(text: str, limit: int) -> str:
    """The text, cut with an ellipsis if it is over the limit: what is sent is always taken."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def split_lines(pieces: Sequence[str], limit: int = MAX_MESSAGE) -> list[str]:
    """Pieces (lines, or whole answers) joined by newlines into as few texts as fit; a piece is
    broken only when it alone is over the limit."""
    texts: list[str] = []
    current = ""
    for piece in pieces:
        while len(piece) > limit:
            if current:
                texts.append(current)
                current = ""
            texts.append(piece[:limit])
            piece = piece[limit:]
        candidate = f"{current}\n{piece}" if current else piece
        if len(candidate) > limit:
            texts.append(current)
            candidate = piece
        current = candidate
    if current:
        texts.append(current)
    return texts
