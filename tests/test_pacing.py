"""Sending within Telegram's limits: answers gathered into few messages, and a 429 retried."""

from __future__ import annotations

import asyncio
import random
import time

from bot.pacing import PACED, PacedRateLimiter
from rules.chunks import split_lines
from rules.pace import Limit
from tests.botapi_server import BotApiServer
from tests.conftest import ADMIN, LEADER, MEMBER, BotHarness


def test_answers_are_joined_into_messages_that_fit() -> None:
    answers = [f"line {i} " + "x" * 90 for i in range(100)]
    chunks = split_lines(answers, limit=1000)
    assert all(len(chunk) <= 1000 for chunk in chunks)
    assert "\n".join(chunks).splitlines() == answers
    assert len(chunks) == 10
    assert split_lines(["one"]) == ["one"]
    assert split_lines([]) == []


async def test_a_429_is_waited_out_and_the_message_still_sent(
    bot: BotHarness, server: BotApiServer
) -> None:
    server.global_limit_per_second = 1
    replies = [await bot.say(user, user, "/help") for user in (LEADER, MEMBER, ADMIN)]
    assert all(reply.content.startswith("What you can do") for reply in replies), replies
    # Our own pace allows 30 a second; this server allowed 1, so Telegram's answer was a 429,
    # which the limiter waited out (retry_after) before sending again.
    assert server.rate_limited, "the server never refused: the retry was not exercised"
    sends = [c for c in server.calls if c.method == "sendMessage"]
    assert len(sends) > len(replies)
    server.rate_limited.clear()


async def test_no_window_of_the_servers_sees_more_than_the_limit_however_late_requests_leave() -> (
    None
):
    """Requests let go by the limiter may leave late (the loop was busy) and travel for a
    while; Telegram counts them when they arrive. The overall pace holds a place from before a
    request leaves until a window after its answer, so arrivals never bunch past the limit."""
    limit = Limit(10, 0.2)
    limiter = PacedRateLimiter(overall=limit)
    rng = random.Random(7)
    arrivals: list[float] = []

    async def send(delay: float, travel: float) -> bool:
        await asyncio.sleep(delay)  # held up before it leaves
        arrivals.append(time.monotonic())
        await asyncio.sleep(travel)  # the answer's way back
        return True

    async def one(n: int) -> None:
        # Every fourth request is held up long, as behind a stalled loop.
        delay = 0.15 if n % 4 == 0 else rng.uniform(0, 0.02)
        args = (delay, rng.uniform(0, 0.05))
        async with limiter.overall("sendMessage"):  # as the deliverer sends
            await limiter.process_request(send, args, {}, "sendMessage", {"chat_id": n}, PACED)

    await asyncio.gather(*(one(n) for n in range(60)))
    arrivals.sort()
    busiest = max(sum(1 for b in arrivals if a <= b < a + limit.window) for a in arrivals)
    assert len(arrivals) == 60 and busiest <= limit.count, busiest
