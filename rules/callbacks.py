"""Inline buttons carry only an opaque, versioned id (``v1:lv:12:a``); everything else is
looked up server-side. Decoding lives here, in one place, so an old button after an upgrade
is recognised as old rather than misread."""

from __future__ import annotations

import re

VERSION = "v1"
MAX_BYTES = 64  # Telegram's limit on callback data
# What encode() ever writes in a part: short ASCII words and numbers a database can hold.
_PART = re.compile(r"[A-Za-z0-9_-]{0,18}")


def encode(kind: str, *parts: str | int) -> str:
    data = ":".join([VERSION, kind, *(str(p) for p in parts)])
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def decode(data: str | None) -> tuple[str, list[str]] | None:
    """(kind, parts) of our current version; None for anything else (an old or foreign
    button), which the bot answers as stale."""
    if not data:
        return None
    version, _, rest = data.partition(":")
    if version != VERSION or not rest:
        return None
    kind, *parts = rest.split(":")
    if not all(_PART.fullmatch(p) for p in (kind, *parts)):
        return None  # made up, or mangled: never ours
    return kind, parts
