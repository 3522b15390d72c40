"""Keeps every message the bot sends within Telegram's limits, and retries on 429.

python-telegram-bot's own ``AIORateLimiter`` needs ``aiolimiter``, which our package
registries do not carry, and its leaky bucket lets a 21st message into a group 3 seconds after
a burst of 20, which a strict "20 a minute" server refuses. This limiter keeps a sliding
window per chat and one overall (see :mod:`rules.pace`).

The deliverer asks it first how long a chat must wait (:meth:`PacedRateLimiter.delay`), waits
as it sees fit (answering buttons meanwhile), then takes the chat's turn (:meth:`reserve`) and
an overall place (:meth:`overall`), marks the row "on the wire" and sends with
``rate_limit_args=PACED``, which waits for nothing more.

The overall pace counts a request from the moment it may leave until the *answer* is back,
plus the window: Telegram counts it on arrival, which is somewhere in between. So however late
a request leaves (the loop was busy drawing or reading) or however long it travels, no window
of Telegram's ever sees more than the limit, which stamping a request when it was let go could
not promise: after a stall, the requests let go before it and those let go after it arrived
together (``bench/fanout.py`` drew 429s so).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from rules.pace import GLOBAL_LIMIT, GROUP_LIMIT, PRIVATE_LIMIT, Limit, next_send_at

log = logging.getLogger(__name__)

# Edits, answers to button presses and reads are not messages in Telegram's counting.
_UNCOUNTED = {"sendChatAction"}


def _counted(endpoint: str) -> bool:
    return (
        endpoint.startswith("send") or endpoint in ("copyMessage", "forwardMessage")
    ) and endpoint not in _UNCOUNTED


# Passed as ``rate_limit_args`` by a sender that has taken its turn already.
PACED = "paced"


def retry_seconds(exc: RetryAfter) -> float:
    value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class PacedRateLimiter(BaseRateLimiter[str]):
    """Waits before a send until the chat's and the bot's windows allow it."""

    def __init__(
        self,
        *,
        group: Limit = GROUP_LIMIT,
        private: Limit = PRIVATE_LIMIT,
        overall: Limit = GLOBAL_LIMIT,
        max_retries: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._group, self._private, self._overall = group, private, overall
        self._max_retries = max_retries
        self._clock = clock
        self._sends: dict[object, deque[float]] = defaultdict(deque)
        # Overall: requests on the wire, and when each answered one stops counting.
        self._on_wire = 0
        self._counted_until: deque[float] = deque()
        self._answered = asyncio.Event()
        self._chat_locks: dict[object, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._all_lock = asyncio.Lock()

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def _limit_for(self, chat_id: object) -> Limit:
        is_group = isinstance(chat_id, str) or (isinstance(chat_id, int) and chat_id < 0)
        return self._group if is_group else self._private

    def delay(self, chat_id: object) -> float:
        """Seconds before the chat's window lets another message go."""
        now = self._clock()
        return max(0.0, next_send_at(self._sends[chat_id], now, self._limit_for(chat_id)) - now)

    async def reserve(self, chat_id: object) -> None:
        """Take the chat's next turn (waiting for it if need be)."""
        sends = self._sends[chat_id]
        limit = self._limit_for(chat_id)
        async with self._chat_locks[chat_id]:
            await _sleep_until(next_send_at(sends, self._clock(), limit), self._clock)
            now = self._clock()
            sends.append(now)
            _trim(sends, now, limit)

    def overall(self, endpoint: str) -> AbstractAsyncContextManager[None]:
        """For a sender that paces itself: hold an overall place for a request to
        ``endpoint`` (if Telegram counts it) around marking it sent and sending it with
        ``rate_limit_args=PACED``. Waiting for the place comes first, so a stop in the
        meantime leaves the request unmarked, to be sent at the next start."""
        return self._overall_turn() if _counted(endpoint) else nullcontext()

    @asynccontextmanager
    async def _overall_turn(self) -> AsyncIterator[None]:
        """Hold one of the overall limit's places from before the request leaves until a
        window after its answer came back."""
        async with self._all_lock:  # waiters take places in the order they came
            while True:
                now = self._clock()
                while self._counted_until and self._counted_until[0] <= now:
                    self._counted_until.popleft()
                if self._on_wire + len(self._counted_until) < self._overall.count:
                    break
                if self._counted_until:
                    await _sleep_until(self._counted_until[0], self._clock)
                else:  # every place is on the wire: the first answer frees one later
                    self._answered.clear()
                    await self._answered.wait()
            self._on_wire += 1
        try:
            yield
        finally:
            self._on_wire -= 1
            # The window is the same for all, so these stay in order.
            self._counted_until.append(self._clock() + self._overall.window)
            self._answered.set()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: str | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if rate_limit_args == PACED:
            # The caller holds the chat's turn and an overall place (``overall``); a 429 is
            # the caller's to handle.
            return await callback(*args, **kwargs)
        counted = _counted(endpoint) and "chat_id" in data
        for attempt in range(self._max_retries + 1):
            try:
                if not counted:
                    return await callback(*args, **kwargs)
                await self.reserve(data["chat_id"])
                async with self._overall_turn():
                    return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == self._max_retries:
                    raise
                seconds = retry_seconds(exc)
                log.warning("%s: Telegram asks to wait %.0f s (try %d)", endpoint, seconds, attempt)
                await asyncio.sleep(seconds)
        raise AssertionError("unreachable")


async def _sleep_until(moment: float, clock: Callable[[], float]) -> None:
    delay = moment - clock()
    if delay > 0:
        await asyncio.sleep(delay)


def _trim(sends: deque[float], now: float, limit: Limit) -> None:
    while sends and now - sends[0] >= limit.window:
        sends.popleft()
