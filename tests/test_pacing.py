"""Sending within Telegram's limits: answers gathered into few messages, and a 429 retried."""

from __future__ import annotations

from rules.chunks import split_lines
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
    # Our own pace allows 28 a second; this server allowed 1, so Telegram's answer was a 429,
    # which the limiter waited out (retry_after) before sending again.
    assert server.rate_limited, "the server never refused: the retry was not exercised"
    sends = [c for c in server.calls if c.method == "sendMessage"]
    assert len(sends) > len(replies)
    server.rate_limited.clear()
