"""Message catalogues: gettext ``.po`` files (read with Babel) keyed by symbolic ids, one per
language. Placeholders are ``{name}``; a test checks that every key exists in every language
with the same placeholders.

A word that agrees with a number names its forms by CLDR plural category, which Babel knows
for each language: ``{n} {n:one=visit|other=visits}`` reads "1 visit", "3 visits". Chinese has
one form and writes none."""

from __future__ import annotations

import string
from functools import cache
from importlib import resources
from typing import Any

from babel import Locale
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


class _Plurals(string.Formatter):
    def __init__(self, lang: str) -> None:
        self.locale = Locale.parse(lang)

    def format_field(self, value: Any, format_spec: str) -> str:
        if "other=" not in format_spec:
            return super().format_field(value, format_spec)
        forms = dict(part.split("=", 1) for part in format_spec.split("|"))
        try:
            category = self.locale.plural_form(abs(int(value)))
        except (TypeError, ValueError):
            category = "other"  # not a count: the general form
        return forms.get(category, forms["other"])


@cache
def _formatter(lang: str) -> _Plurals:
    return _Plurals(lang)


def t(lang: str, key: str, **params: Any) -> str:
    """The text for ``key`` in ``lang``. A key missing from a catalogue is a bug: it raises."""
    return _formatter(lang).format(catalogue(lang)[key], **params)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}
