"""Answers to check-ins, sent off the update path and gathered when they pile up.

At 07:00 a whole team shares its location within a minute. Answering each one at once would
spend the group's 20 messages a minute and then stall every update behind a waiting send
(updates are handled one at a time). So a handler posts its answer here and returns; one task
per chat sends them, the first few one by one as replies, the rest of a burst gathered into a
single message that names each member.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass

from telegram import Bot, ReplyParameters
from telegram.error import ChatMigrated, TelegramError

from rules.pace import GROUP_ANSWERS, Limit, next_send_at

log = logging.getLogger(__name__)

MAX_MESSAGE = 4000  # under Telegram's 4096, leaving room for nothing to be cut


@dataclass(frozen=True)
class Answer:
    text: str
    reply_to: int | None = None


def gather(answers: list[Answer], limit: int = MAX_MESSAGE) -> list[str]:
    """Several answers as few messages as fit, one answer per line, none split."""
    chunks: list[str] = []
    current = ""
    for answer in answers:
        piece = answer.text[:limit]
        if current and len(current) + 1 + len(piece) > limit:
            chunks.append(current)
            current = ""
        current = f"{current}\n{piece}" if current else piece
    if current:
        chunks.append(current)
    return chunks


class Outbox:
    def __init__(
        self,
        bot: Bot,
        *,
        group_limit: Limit = GROUP_ANSWERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bot = bot
        self._group_limit = group_limit
        self._clock = clock
        self._queues: dict[int, deque[Answer]] = defaultdict(deque)
        self._history: dict[int, list[float]] = defaultdict(list)
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._closing = False

    def post(self, chat_id: int, text: str, reply_to: int | None = None) -> None:
        """Queue an answer; it goes out in order with the chat's other answers."""
        if self._closing:
            log.warning("outbox closed; answer to chat %s not sent", chat_id)
            return
        self._queues[chat_id].append(Answer(text, reply_to))
        worker = self._workers.get(chat_id)
        if worker is None or worker.done():
            self._workers[chat_id] = asyncio.create_task(
                self._drain(chat_id), name=f"outbox:{chat_id}"
            )

    async def _drain(self, chat_id: int) -> None:
        queue = self._queues[chat_id]
        while queue:
            if chat_id < 0:
                history = self._history[chat_id]
                wait = next_send_at(history, self._clock(), self._group_limit) - self._clock()
                if wait > 0:
                    await asyncio.sleep(wait)  # answers arriving meanwhile join this send
            batch = list(queue)
            queue.clear()
            if len(batch) == 1:
                await self._send(chat_id, batch[0].text, batch[0].reply_to)
            else:
                for text in gather(batch):
                    await self._send(chat_id, text, None)

    async def _send(self, chat_id: int, text: str, reply_to: int | None) -> None:
        reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        self._history[chat_id].append(self._clock())
        del self._history[chat_id][: -self._group_limit.count]
        try:
            await self._bot.send_message(chat_id, text, reply_parameters=reply)
        except ChatMigrated as exc:
            await self._bot.send_message(exc.new_chat_id, text)
        except TelegramError as exc:
            # The check-in is recorded whatever happens here; only its answer is lost.
            log.warning("answer to chat %s not sent: %s", chat_id, exc)

    async def close(self, grace: float = 10.0) -> None:
        """Send what is queued (for up to ``grace`` seconds), then stop."""
        self._closing = True
        workers = [w for w in self._workers.values() if not w.done()]
        if not workers:
            return
        _, pending = await asyncio.wait(workers, timeout=grace)
        for worker in pending:
            worker.cancel()
        if pending:
            left = sum(len(q) for q in self._queues.values())
            log.warning("stopped with %d check-in answers unsent (the check-ins are stored)", left)
