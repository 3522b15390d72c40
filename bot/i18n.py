"""Message catalogues: gettext ``.po`` files (read with Babel) keyed by symbolic ids, one per
language. Placeholders are ``{name}``; a test checks that every key exists in every language
with the same placeholders."""

from __future__ import annotations

import string
from functools import cache
from importlib import resources
from typing import Any

from babel.messages.pofile import read_po

from rules.lang import LANGS


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Every translated key of one language."""
    if lang not in LANGS:
        raise KeyError(f"no catalogue for {lang!r}")
    with resources.files("bot.locales").joinpath(f"{lang}.po").open("rb") as handle:
        po = read_po(handle, locale=lang)
    return {str(message.id): str(message.string) for message in po if message.id and message.string}


def t(lang: str, key: str, **params: Any) -> str:
    """The text for ``key`` in ``lang``. A key missing from a catalogue is a bug: it raises."""
    return catalogue(lang)[key].format(**params)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}
