"""Work logs and the household ledger as pure rules: what makes a message a log, which
households a log names, how an inspector's sample is drawn, which month a summary is for."""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args

from rules.problems import Problem

MAX_LOG_CHARS = 4000  # Telegram's own limit is 4096; this leaves room for the tag
MAX_HOUSEHOLD_NAME = 40
MAX_NOTE = 200
SAMPLE_DAYS = 30  # a sample is drawn from the visits of the last 30 days
SAMPLE_DEFAULT = 5
SAMPLE_MAX = 20
SUMMARY_GRACE_DAYS = 5  # early in a month, a summary is still for the month just ended

# A message is a log when it starts with one of these (a command may carry @botname, as
# Telegram writes it in groups with several bots). Captions count: Telegram never turns a
# caption into a command update, so "/log" under a photo is read here too.
LOG_MARKER = re.compile(r"^\s*(?:/log(?:@\w+)?|#log|#日志)(?=\s|$)", re.IGNORECASE)
# Only a tag: a text starting "/log" is a command and reaches the command handler.
LOG_TAG = re.compile(r"^\s*(?:#log|#日志)(?=\s|$)", re.IGNORECASE)
SUMMARY_MARKER = re.compile(
    r"^\s*(?:/summary(?:@\w+)?|#summary|#小结|#总结)(?=\s|$)", re.IGNORECASE
)
IMPORT_MARKER = re.compile(r"^\s*/household(?:@\w+)?\s+import\s*$", re.IGNORECASE)

Verdict = Literal["ok", "false"]  # an inspector's finding on a visit: it happened, or not
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)

MENTION = "@@"
# An unknown name ends at a space or punctuation; a known one is matched whole, so Chinese
# text with no spaces ("走访@@张三家") still finds 张三 when 张三 is in the register.
_NAME_STOP = set(" \t\r\n,，、。.;；:：!！?？()（）\"“”'‘’<>《》") | {"@"}
_BRACKETS = {"[": "]", "【": "】"}


def log_text(text: str | None) -> str | None:
    """The log in a message or caption (without its tag), or None when it is not a log."""
    if not text:
        return None
    match = LOG_MARKER.match(text)
    return text[match.end() :].strip() if match else None


def summary_text(text: str | None) -> str | None:
    if not text:
        return None
    match = SUMMARY_MARKER.match(text)
    return text[match.end() :].strip() if match else None


def clean_name(name: str) -> str:
    """A household's name as stored: trimmed, inner runs of spaces made one."""
    return " ".join(name.split())


def check_household(name: str, note: str | None) -> Problem | None:
    if not name:
        return Problem("household.err.empty")
    if len(name) > MAX_HOUSEHOLD_NAME:
        return Problem("household.err.long", {"max": MAX_HOUSEHOLD_NAME})
    if MENTION in name or any(c in name for c in "[]【】"):
        return Problem("household.err.chars", {"name": name})
    if note is not None and len(note) > MAX_NOTE:
        return Problem("household.err.note_long", {"max": MAX_NOTE})
    return None


def readable(text: str) -> str:
    """A log as people read it: ``走访@@张三家和@@[李 老汉]`` is ``走访张三家和李 老汉``."""
    for opening, closing in _BRACKETS.items():
        pattern = (
            re.escape(MENTION + opening) + "([^" + re.escape(closing) + "]*)" + re.escape(closing)
        )
        text = re.sub(pattern, r"\1", text)
    return text.replace(MENTION, "")


@dataclass(frozen=True)
class Mentions:
    known: tuple[str, ...]  # register names, as the register spells them, in text order
    unknown: tuple[str, ...]  # names the register lacks, as written


def _continues_word(text: str, at: int) -> bool:
    """A Latin name must end at a word boundary ("@@Li" is not "@@Lin"); Chinese need not."""
    return at < len(text) and text[at].isascii() and text[at].isalnum()


def find_mentions(text: str, register: Iterable[str]) -> Mentions:
    """The households a log names with ``@@name`` (or ``@@[a longer name]``)."""
    names = sorted(register, key=len, reverse=True)
    folded = [(n, n.casefold()) for n in names]
    known: list[str] = []
    unknown: list[str] = []
    start = text.find(MENTION)
    while start != -1:
        at = start + len(MENTION)
        rest = text[at:]
        written: str | None = None
        end = at
        if rest[:1] in _BRACKETS:
            close = rest.find(_BRACKETS[rest[0]])
            if close > 0:
                written = clean_name(rest[1:close])
                end = at + close + 1
        if written is None:
            lowered = rest.casefold()
            for name, fold in folded:
                if lowered.startswith(fold) and not _continues_word(text, at + len(name)):
                    written, end = name, at + len(name)
                    break
        if written is None:
            stop = next((i for i, c in enumerate(rest) if c in _NAME_STOP), len(rest))
            written, end = clean_name(rest[:stop]), at + stop
        if written:
            match = next((n for n, f in folded if f == written.casefold()), None)
            target, into = (match, known) if match else (written, unknown)
            if target.casefold() not in {x.casefold() for x in known + unknown}:
                into.append(target)
        start = text.find(MENTION, max(end, at))
    return Mentions(tuple(known), tuple(unknown))


PickAction = Literal["page", "toggle", "new", "done"]
_PICK_ACTIONS: dict[str, PickAction] = {"p": "page", "t": "toggle", "n": "new", "d": "done"}


@dataclass(frozen=True)
class Pick:
    """A press on a log's household picker: ``<log>:t:<household>:<page>`` toggles one,
    ``<log>:n:<index>`` adds an unknown name, ``<log>:p:<page>`` turns the page,
    ``<log>:d`` closes it."""

    log_id: int
    action: PickAction
    arg: int = 0
    page: int = 0


def parse_pick(parts: Sequence[str]) -> Pick | None:
    """The press a picker button's data parts say, or None for anything malformed."""
    if len(parts) < 2 or parts[1] not in _PICK_ACTIONS:
        return None
    numbers = [parts[0], *parts[2:]]
    if not all(n.lstrip("-").isdigit() for n in numbers):
        return None
    log_id, *rest = (int(n) for n in numbers)
    action = _PICK_ACTIONS[parts[1]]
    if action == "page":
        return Pick(log_id, action, page=rest[0] if rest else 0)
    return Pick(log_id, action, rest[0] if rest else 0, rest[1] if len(rest) > 1 else 0)


def draw_sample(
    candidates: Sequence[int], drawn_before: Iterable[int], n: int, rng: random.Random
) -> list[int]:
    """Up to ``n`` visits never drawn before, at random. A visit is verified once: a later
    sample takes only what earlier ones left, so it may come back shorter than asked."""
    seen = set(drawn_before)
    fresh = sorted({c for c in candidates if c not in seen})
    return sorted(rng.sample(fresh, min(n, len(fresh))))


def sample_size(word: str | None) -> int | Problem:
    if word is None:
        return SAMPLE_DEFAULT
    if not word.isdigit() or not 1 <= int(word) <= SAMPLE_MAX:
        return Problem("audit.err.size", {"max": SAMPLE_MAX})
    return int(word)


_MONTH = re.compile(r"^(\d{4})(?:-|年)(\d{1,2})月?$")


def parse_month(word: str) -> str | None:
    """``2026-11`` or ``2026年11月`` as ``2026-11``."""
    match = _MONTH.match(word.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        return None
    return f"{int(match[1]):04d}-{int(match[2]):02d}"


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def previous_month(month: str) -> str:
    year, number = (int(p) for p in month.split("-"))
    return f"{year - 1:04d}-12" if number == 1 else f"{year:04d}-{number - 1:02d}"


def summary_month(today: date, sent: Iterable[str]) -> str:
    """The month a summary sent today is for: this month, except in the first days of a
    month when last month's summary is still missing (it is written after the month ends)."""
    current = month_of(today)
    before = previous_month(current)
    if today.day <= SUMMARY_GRACE_DAYS and before not in set(sent):
        return before
    return current
