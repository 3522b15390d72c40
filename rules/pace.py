"""When the next message to a chat may go, given the recent sends. Pure, so the limits are
tested without a clock that ticks.

Telegram allows about 20 messages a minute in one group and about 30 a second overall; past
that it answers 429. A sliding window is the strict reading of "20 a minute", so we keep to it,
with a small margin for the time a request spends on the wire.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    count: int  # at most this many sends…
    window: float  # …in any span of this many seconds
    burst: int | None = None  # sends allowed back to back before the rest are spread evenly

    @property
    def spacing(self) -> float:
        return self.window / self.count


GROUP_LIMIT = Limit(20, 61.0)
PRIVATE_LIMIT = Limit(3, 3.0)
# Counted from a request's start to its answer, plus the window (bot.pacing): that is the
# margin for the time on the wire, so the count is Telegram's own.
GLOBAL_LIMIT = Limit(30, 1.01)
# Check-in answers use a part of a group's budget, so a leader's command still gets a quick
# reply in the middle of the morning rush; the rest of a burst is gathered into one message.
GROUP_ANSWERS = Limit(12, 61.0, burst=5)


def recent(sends: Sequence[float], now: float, limit: Limit) -> list[float]:
    """The sends still inside the window, oldest first."""
    return [s for s in sends if now - s < limit.window]


def next_send_at(sends: Sequence[float], now: float, limit: Limit) -> float:
    """The earliest moment (same clock as ``sends``) the next message may be sent."""
    inside = recent(sends, now, limit)
    earliest = now
    if len(inside) >= limit.count:
        earliest = max(earliest, inside[-limit.count] + limit.window)
    if limit.burst is not None and len(inside) >= limit.burst:
        earliest = max(earliest, inside[-1] + limit.spacing)
    return earliest
