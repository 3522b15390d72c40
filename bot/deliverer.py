"""Sends what the ledger says is due: reminders and digests, each part once.

Before a part goes on the wire its row is marked ``sending``; after Telegram answers, the part
is counted. A crash in between leaves the row ``sending``, and on the next start that one part
is skipped rather than risk sending it twice (Telegram cannot tell us whether it arrived). A
graceful stop lets the part on the wire finish and starts no new one, so a restart loses
nothing and repeats nothing. A network failure before Telegram answered (nothing sent) leaves
the part due for the next round; a refusal for good (blocked, chat gone) marks the row failed.

Several workers send at once, since a real round trip to Telegram takes about 100 ms; the
rate limiter (``bot.pacing``) keeps them within 30 a second overall and 20 a minute a group.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import Bot, InputFile, KeyboardButton, ReplyKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.i18n import t
from reports import spot, text
from reports.parts import Part, digest_parts
from rules.digest import is_late
from services import spotchecks
from services.delivery import Ledger
from services.digest import scheduled_digest
from storage.base import Store
from storage.models import Delivery

log = logging.getLogger(__name__)

BATCH = 200
WORKERS = 8


class Deliverer:
    def __init__(
        self,
        bot: Bot,
        store: Store,
        clock: Callable[[], datetime],
        default_lang: str,
        workers: int = WORKERS,
    ) -> None:
        self._bot = bot
        self._ledger = Ledger(store)
        self._store = store
        self._clock = clock
        self._default_lang = default_lang
        self._workers = workers
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._closing = False
        self.sent_parts = 0

    async def resume(self) -> None:
        """At start: settle what a crash left on the wire."""
        for d in await self._ledger.settle_interrupted(self._clock()):
            log.warning(
                "%s %s to %s: part %d may or may not have arrived before the stop; not resent",
                d.kind,
                d.period,
                d.recipient,
                d.parts_sent + 1,
            )

    def kick(self) -> None:
        """Send what is due, now or as soon as the round under way ends."""
        if self._closing:
            return
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="deliver")
        else:
            self._again = True

    async def close(self, grace: float = 10.0) -> None:
        """Let the parts on the wire finish (up to ``grace`` seconds); start no new one."""
        self._closing = True
        if self._task is not None and not self._task.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._task), grace)
            except TimeoutError:
                self._task.cancel()
                log.warning("stopped while a scheduled message was on the wire")

    async def _run(self) -> None:
        while not self._closing:
            self._again = False
            batch = await self._ledger.due(self._clock(), BATCH)
            if not batch:
                if self._again:
                    continue
                return
            before = self.sent_parts
            queue: asyncio.Queue[Delivery] = asyncio.Queue()
            for d in batch:
                queue.put_nowait(d)
            cache: dict[tuple[object, ...], list[Part] | None] = {}
            locks: dict[tuple[object, ...], asyncio.Lock] = {}
            await asyncio.gather(*(self._worker(queue, cache, locks) for _ in range(self._workers)))
            if self.sent_parts == before and not self._again:
                return  # nothing could go this round; the next tick tries again

    async def _worker(
        self,
        queue: asyncio.Queue[Delivery],
        cache: dict[tuple[object, ...], list[Part] | None],
        locks: dict[tuple[object, ...], asyncio.Lock],
    ) -> None:
        while not self._closing and not queue.empty():
            delivery = queue.get_nowait()
            try:
                await self._deliver(delivery, cache, locks)
            except Exception:
                log.exception("delivery %s (%s) failed", delivery.id, delivery.kind)

    async def _deliver(
        self,
        d: Delivery,
        cache: dict[tuple[object, ...], list[Part] | None],
        locks: dict[tuple[object, ...], asyncio.Lock],
    ) -> None:
        lang = await self._ledger.lang(d, self._default_lang)
        now = self._clock()
        late = d.kind.startswith("digest.") and is_late(d.due_at, now)
        key = (d.kind, d.period, tuple(sorted(d.payload.items(), key=str)), lang, late)
        if d.kind.startswith("remind."):
            parts: list[Part] | None = [
                Part(text.reminder_text(lang, d.kind, d.payload), html=True)
            ]
        elif d.kind.startswith("spot."):
            parts = await self._spot_parts(d, lang)
        else:
            # Coordinators of one township share a digest: drawn once per round.
            async with locks.setdefault(key, asyncio.Lock()):
                if key not in cache:
                    cache[key] = await self._digest_parts(d, lang, late)
            parts = cache[key]
        if parts is None:
            await self._ledger.failed(d, "gone: the place no longer exists", now)
            return
        chat_id = d.chat_id
        for index in range(d.parts_sent, len(parts)):
            if self._closing:
                return
            last = index == len(parts) - 1
            await self._ledger.start_part(d, self._clock())
            try:
                try:
                    await self._send(chat_id, parts[index])
                except ChatMigrated as exc:
                    chat_id = exc.new_chat_id  # the group became a supergroup
                    await self._send(chat_id, parts[index])
            except Forbidden as exc:
                await self._ledger.failed(d, str(exc), self._clock(), blocked=True)
                if d.kind == spotchecks.ASK and await self._ask_in_group(d):
                    self.kick()
                return
            except BadRequest as exc:
                await self._ledger.failed(d, str(exc), self._clock())
                return
            except TimedOut as exc:
                # The request reached Telegram and its answer did not reach us: it may have
                # been sent. Counted as uncertain, never sent twice.
                log.warning("delivery %s part %d timed out: %s", d.id, index + 1, exc)
                await self._ledger.part_sent(d, last, self._clock(), uncertain=True)
                continue
            except (NetworkError, RetryAfter) as exc:
                await self._ledger.part_not_sent(d, str(exc), self._clock())
                return
            self.sent_parts += 1
            await self._ledger.part_sent(d, last, self._clock())
        if d.parts_sent >= len(parts):
            await self._ledger.finish(d, self._clock())

    async def _send(self, chat_id: int, part: Part) -> None:
        if part.photo is not None:
            await self._bot.send_photo(
                chat_id, InputFile(part.photo, filename=part.filename), caption=part.caption
            )
        elif part.document is not None:
            await self._bot.send_document(
                chat_id, InputFile(part.document, filename=part.filename), caption=part.caption
            )
        else:
            assert part.text is not None
            keyboard = None
            if part.location_button is not None:
                keyboard = ReplyKeyboardMarkup(
                    [[KeyboardButton(part.location_button, request_location=True)]],
                    resize_keyboard=True,
                    one_time_keyboard=True,
                )
            await self._bot.send_message(
                chat_id,
                part.text,
                parse_mode=ParseMode.HTML if part.html else None,
                reply_markup=keyboard,
            )

    async def _ask_in_group(self, d: Delivery) -> bool:
        """A member who blocked the bot is asked in their group instead."""
        return d.chat_id > 0 and await spotchecks.ask_in_group(self._store, d, self._clock())

    async def _spot_parts(self, d: Delivery, lang: str) -> list[Part] | None:
        if d.kind == spotchecks.ASK:
            private = "mention" not in d.payload
            button = private and not d.payload.get("live")
            return [
                Part(
                    spot.ask_text(lang, d.payload),
                    html=True,
                    location_button=t(lang, "checkin.button") if button else None,
                )
            ]
        report = await spotchecks.spot_report(self._store, d)
        if report is None:
            return None
        if d.kind == spotchecks.LATE:
            return [Part(spot.late_text(lang, report))]
        return [Part(spot.summary_text(lang, report))]

    async def _digest_parts(self, d: Delivery, lang: str, late: bool) -> list[Part] | None:
        now = self._clock()
        digest = await scheduled_digest(self._store, now, d)
        if digest is None:
            return None
        tz = d.payload.get("tz") or "UTC"
        due_local = d.due_at.astimezone(ZoneInfo(tz)) if late else None
        return await digest_parts(lang, digest, due_local)
