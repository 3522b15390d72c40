"""How updates and answers travel: which chat an update belongs to (its updates keep their
order), and what to do when Telegram did not take a request. Pure, so both are tested with
tables of cases."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

# SQLite keeps 64-bit integers; Telegram's ids fit, a made-up one may not.
INT64 = range(-(2**63), 2**63)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

# Where a chat (or, failing that, a person) is found in each kind of update.
_CHAT_PATHS = (
    ("chat", "id"),
    ("message", "chat", "id"),
    ("from", "id"),
    ("user", "id"),
    ("voter_chat", "id"),
)


def update_kind(raw: dict[str, Any]) -> str:
    """``message``, ``edited_message``, ``callback_query``…: the update's one other field."""
    return next((key for key in raw if key != "update_id"), "unknown")


def update_chat(raw: dict[str, Any]) -> int:
    """The chat whose updates must be handled in order: a live location's moves after its
    first message, a dialogue's steps, a button after the message it is on. An update with no
    chat (a poll's results) shares the key 0."""
    body = raw.get(update_kind(raw))
    if not isinstance(body, dict):
        return 0
    for path in _CHAT_PATHS:
        value: Any = body
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and value in INT64:
            return value
    return 0


def storable_text(payload: str) -> str:
    """JSON may escape half of a surrogate pair (``"\\ud800"``), which no UTF-8 file or
    database can hold: it becomes U+FFFD, so one such update cannot stop the inbox."""
    return _LONE_SURROGATE.sub("\ufffd", payload)


# Why a request did not go through, as the sender tells it apart.
Failure = Literal[
    "refused",  # 400: Telegram will never take this request
    "forbidden",  # 403: blocked, or a person who never opened a chat with the bot
    "too_many",  # 429: Telegram asks us to wait retry_after seconds
    "unreached",  # no connection, a 5xx, a timeout or a dropped connection
]

RETRY_FIRST = 0.5  # seconds before the first retry after a failure to reach Telegram…
RETRY_MAX = 20.0  # …doubling up to this
GIVE_UP_HOURS = 24  # an answer still unsent after a day is not worth sending


@dataclass(frozen=True)
class Next:
    action: Literal["retry", "fail"]
    after: float = 0.0  # seconds, for a retry


def backoff(failures: int) -> float:
    """Seconds to wait after ``failures`` failures in a row to reach Telegram."""
    if failures <= 0:
        return 0.0
    return min(RETRY_MAX, RETRY_FIRST * 2 ** (failures - 1))


def after_failure(
    failure: Failure, failures: int, age_hours: float, retry_after: float = 0.0
) -> Next:
    """What becomes of a request Telegram did not take. ``failures`` counts the failures to
    reach it in a row, this one included; ``age_hours`` is how old the request is.

    A request that never reached Telegram, or whose answer never came back, is sent again:
    Telegram keeps no record a bot could ask, and an answer lost is worse than one shown
    twice. (A crash is different: the one request on the wire then is not sent again.)"""
    if failure in ("refused", "forbidden"):
        return Next("fail")
    if failure == "too_many":
        return Next("retry", max(retry_after, RETRY_FIRST))
    if age_hours >= GIVE_UP_HOURS:
        return Next("fail")
    return Next("retry", backoff(failures))
