"""Sends what the outbox holds, in order per chat, within Telegram's pace, each request once.

Everything the bot says is an outbox row written in the transaction of the change it reports:
answers to commands and check-ins, notices, edits after a button press, files. Scheduled
messages (reminders, digests, spot checks: the ``deliveries`` ledger) are rendered into outbox
rows when they fall due, and sent the same way.

- **Order.** One worker per chat sends its rows in the order they were written; an edit waits
  for the message it edits. Chats are sent to concurrently, so one busy group never holds up
  another. Answers to button presses skip the queue (they are not messages, and Telegram wants
  them within seconds).
- **Pace.** The rate limiter (:mod:`bot.pacing`) keeps to 20 messages a minute a group and the
  bot's overall pace. Check-in answers use at most 12 of a group's 20 (``GROUP_ANSWERS``); in a
  rush the rest are gathered into one message naming each member, and a command's reply goes
  before them. While the pace holds a group's next message back, the group sees "typing…".
- **Once.** A row is marked ``sending`` just before it goes on the wire and ``sent`` when
  Telegram answers. After a crash the one request that may or may not have arrived is counted
  ``uncertain`` and not sent again. A request that never reached Telegram (no connection, a
  5xx, a timeout, a dropped connection) is sent again after a back-off shared by all chats; a
  429 is waited out; a refusal for good (400, 403) is recorded, and a 403 in a private chat
  marks the person unreachable there (their reminders then go to the group).
- **Stop.** A graceful stop starts no new request and lets those on the wire finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Bot, InputFile, Message, ReplyParameters
from telegram.constants import ChatAction, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot import outbox, render
from bot.i18n import t
from bot.pacing import PACED, PacedRateLimiter, retry_seconds
from reports import spot, text
from reports.parts import Part
from rules import callbacks
from rules.chunks import MAX_MESSAGE
from rules.digest import is_late
from rules.pace import GROUP_ANSWERS, next_send_at
from rules.requests import MAKE_UP_BUTTON
from rules.wire import Failure, after_failure
from services import org, spotchecks
from services.digest import scheduled_digest
from storage.base import Store
from storage.models import Delivery, OutboxRow

log = logging.getLogger(__name__)

BATCH = 200  # scheduled messages rendered per round
IN_FLIGHT = 16  # requests on the wire at once (a real round trip to Telegram is ~100 ms)
RENDERERS = 4  # digests drawn at once
TYPING_AFTER = 2.0  # a group waiting longer than this for its next message sees "typing…"
TYPING_EVERY = 5.0  # Telegram shows a chat action for about five seconds
_COUNTED = {"sendMessage", "sendPhoto", "sendDocument"}


class _Worker:
    """One chat's sender: a task and a bell to wake it when something new is written."""

    def __init__(self) -> None:
        self.bell = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.typing_at = 0.0

    async def nap(self, seconds: float) -> None:
        """Sleep, unless something new comes first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.bell.wait(), max(seconds, 0.0))


class Deliverer:
    def __init__(
        self,
        bot: Bot,
        store: Store,
        clock: Callable[[], datetime],
        default_lang: str,
        limiter: PacedRateLimiter,
        *,
        in_flight: int = IN_FLIGHT,
    ) -> None:
        self._bot = bot
        self._store = store
        self._clock = clock
        self._default_lang = default_lang
        self._limiter = limiter
        self._in_flight = asyncio.Semaphore(in_flight)
        self._on_wire = 0  # requests sent whose answer has not come back
        self._workers: dict[int, _Worker] = {}
        self._answers: dict[int, list[float]] = defaultdict(list)  # gathered answers per group
        self._round_task: asyncio.Task[None] | None = None
        self._again = False
        self._closing = False
        self._failures = 0  # failures to reach Telegram in a row, across chats
        self._paused_until = 0.0
        self.sent = 0  # requests Telegram took, for tests and benchmarks

    # ------------------------------------------------------------------ life cycle
    async def resume(self) -> None:
        """At start: settle what a crash left on the wire, then send what waits."""
        async with self._store.transaction() as tx:
            interrupted = await tx.outbox_settle_interrupted(self._clock())
        for row in interrupted:
            log.warning(
                "outbox %s (%s to chat %s) may or may not have arrived before the stop; "
                "not sent again",
                row.id,
                row.method,
                row.chat_id,
            )
        self.kick()

    def kick(self) -> None:
        """Render the scheduled messages that fell due and send whatever waits."""
        if self._closing:
            return
        if self._round_task is None or self._round_task.done():
            # A fresh context: a round started from inside a handler is not part of it.
            self._round_task = asyncio.create_task(
                self._round(), name="deliver:round", context=_fresh()
            )
        else:
            self._again = True

    def notify(self, chats: Iterable[int]) -> None:
        """Something was written to these chats: their workers look."""
        for chat_id in chats:
            if self._closing:
                return
            worker = self._workers.get(chat_id)
            if worker is None or worker.task is None or worker.task.done():
                worker = self._workers[chat_id] = _Worker()
                worker.task = asyncio.create_task(
                    self._chat(chat_id, worker), name=f"deliver:{chat_id}", context=_fresh()
                )
            worker.bell.set()

    async def close(self, grace: float = 5.0) -> None:
        """Start no new request; let those on the wire finish (up to ``grace`` seconds)."""
        self._closing = True
        tasks = [w.task for w in self._workers.values() if w.task and not w.task.done()]
        for worker in self._workers.values():
            worker.bell.set()
        if self._round_task is not None:
            tasks.append(self._round_task)
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            on_wire = self._on_wire  # the rest wait for their pace, unsent, in the outbox
            await asyncio.wait(pending, timeout=1.0)
            log.warning(
                "stopped with %d requests on the wire (counted as uncertain); "
                "%d chats' messages wait in the outbox for the next start",
                on_wire,
                len(pending),
            )

    # ------------------------------------------------------------------ scheduled messages
    async def _round(self) -> None:
        while not self._closing:
            self._again = False
            now = self._clock()
            async with self._store.transaction() as tx:
                await tx.outbox_expire(now)
                due = await tx.due_deliveries(now, BATCH)
            if due:
                await self._render_all(due)
            async with self._store.transaction() as tx:
                chats = await tx.due_chats(self._clock(), 10_000)
            self.notify(chats)
            if not self._again and len(due) < BATCH:
                return

    async def _render_all(self, due: list[Delivery]) -> None:
        # Coordinators of one township share a digest: drawn once per round.
        cache: dict[tuple[object, ...], list[Part] | None] = {}
        locks: dict[tuple[object, ...], asyncio.Lock] = {}
        gate = asyncio.Semaphore(RENDERERS)

        async def one(d: Delivery) -> None:
            async with gate:
                try:
                    await self._render(d, cache, locks)
                except Exception as exc:
                    log.error("rendering delivery %s (%s) failed: %s", d.id, d.kind, exc)

        await asyncio.gather(*(one(d) for d in due))

    async def _render(
        self,
        d: Delivery,
        cache: dict[tuple[object, ...], list[Part] | None],
        locks: dict[tuple[object, ...], asyncio.Lock],
    ) -> None:
        lang = await self._lang(d)
        late = d.kind.startswith("digest.") and is_late(d.due_at, self._clock())
        parts: list[Part] | None
        if d.kind == "remind.missed":
            # Privately, with the one tap that asks for a make-up of this very window.
            day, _, window = str(d.payload.get("period") or "").partition(":")
            data = callbacks.encode(MAKE_UP_BUTTON, day.replace("-", ""), window)
            label = t(lang, "makeup.button", window=t(lang, f"window.{window}"))
            parts = [
                Part(
                    text.reminder_text(lang, d.kind, d.payload),
                    html=True,
                    buttons=((label, data),),
                )
            ]
        elif d.kind.startswith("remind."):
            parts = [Part(text.reminder_text(lang, d.kind, d.payload), html=True)]
        elif d.kind == "checkin.opened":
            parts = [Part(text.opened_text(lang, d.payload))]
        elif d.kind.startswith("spot."):
            parts = await self._spot_parts(d, lang)
        else:
            key = (d.kind, d.period, tuple(sorted(d.payload.items(), key=str)), lang, late)
            async with locks.setdefault(key, asyncio.Lock()):
                if key not in cache:
                    cache[key] = await self._digest_parts(d, lang, late)
            parts = cache[key]
        now = self._clock()
        async with self._store.transaction() as tx:
            current = await tx.get_delivery(d.id)
            if current is None or current.state != "due":
                return  # expired meanwhile
            if parts is None:
                await tx.delivery_failed(d.id, "gone: the place no longer exists", now)
                return
            todo = parts[d.parts_sent :]
            for index, p in enumerate(todo):
                item = replace(
                    outbox.part(d.chat_id, p, reply_to=d.payload.get("reply_to")),
                    delivery_id=d.id,
                    last_part=index == len(todo) - 1,
                    expires_at=d.expires_at,
                )
                await tx.add_outgoing(item, now)
            await tx.queue_delivery(d.id, now)

    async def _lang(self, d: Delivery) -> str:
        private = d.chat_id > 0
        hint = d.payload.get("lang") if private else None
        return await org.chat_lang(self._store, d.chat_id, private, hint, self._default_lang)

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
        records = await scheduled_digest(self._store, self._clock(), d)
        if records is None:
            return None
        tz = d.payload.get("tz") or "UTC"
        due_local = d.due_at.astimezone(ZoneInfo(tz)) if late else None
        return await render.digest_parts(lang, records, due_local)

    # ------------------------------------------------------------------ one chat
    async def _chat(self, chat_id: int, worker: _Worker) -> None:
        try:
            while not self._closing:
                worker.bell.clear()
                async with self._store.transaction() as tx:
                    rows = await tx.chat_due(chat_id, 100)
                if not rows:
                    if worker.bell.is_set():
                        continue  # written while we looked
                    return
                presses = [r for r in rows if r.method == "answerCallbackQuery"]
                if presses:
                    for row in presses:
                        await self._send(chat_id, [row])
                    continue
                paused = self._paused_until - time.monotonic()
                if paused > 0:
                    await worker.nap(paused)
                    continue
                batch, wait = self._next(chat_id, rows)
                if not batch:
                    await self._typing(chat_id, worker, wait)
                    await worker.nap(wait)
                    continue
                moved = await self._send(chat_id, batch)
                if moved is not None:
                    self.notify([moved])
                    return
        except Exception:
            log.exception(
                "the sender for chat %s stopped; it starts again on the next round", chat_id
            )
        finally:
            if self._workers.get(chat_id) is worker:
                del self._workers[chat_id]

    def _next(self, chat_id: int, rows: list[OutboxRow]) -> tuple[list[OutboxRow], float]:
        """What goes next in this chat, or how long to wait before anything may."""
        head = rows[0]
        group = chat_id < 0
        if group and head.gather:
            history = self._answers[chat_id]
            now = time.monotonic()
            budget = next_send_at(history, now, GROUP_ANSWERS) - now
            if budget > 0:
                other = next((r for r in rows if not r.gather), None)
                if other is None:
                    return [], budget
                head = other  # a command's reply need not wait for check-in answers
        batch = [head]
        if group and head.gather:
            batch = _gathered([r for r in rows if r.gather])
        if head.method in _COUNTED:
            wait = self._limiter.delay(chat_id)
            if wait > 0:
                return [], wait
        return batch, 0.0

    async def _typing(self, chat_id: int, worker: _Worker, wait: float) -> None:
        """The group sees the bot is working while its pace holds the answers back."""
        now = time.monotonic()
        if chat_id >= 0 or wait < TYPING_AFTER or now - worker.typing_at < TYPING_EVERY:
            return
        worker.typing_at = now
        try:
            await self._bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as exc:
            log.debug("chat action in %s: %s", chat_id, exc)

    # ------------------------------------------------------------------ one request
    async def _send(self, chat_id: int, rows: list[OutboxRow]) -> int | None:
        """Send one request made of these rows (several when answers are gathered). Returns
        the new chat id when the group turned out to have become a supergroup."""
        ids = [r.id for r in rows]
        head = rows[0]
        failure: Failure
        retry_after = 0.0
        try:
            async with self._in_flight:
                if head.method in _COUNTED:
                    await self._limiter.reserve(chat_id)
                async with self._limiter.overall(head.method):
                    if self._closing:
                        # Stopping while it waited for its turn: it was never on the wire,
                        # and stays in the outbox for the next start.
                        return None
                    async with self._store.transaction() as tx:
                        await tx.outbox_sending(ids, self._clock())
                    self._on_wire += 1
                    try:
                        message_id, tg_file = await self._request(chat_id, rows)
                    finally:
                        self._on_wire -= 1
        except ChatMigrated as exc:
            async with self._store.transaction() as tx:
                await tx.outbox_retry(ids, self._clock(), str(exc), undo_attempt=True)
                await tx.outbox_move_chat(chat_id, exc.new_chat_id)
            return exc.new_chat_id
        except RetryAfter as exc:
            failure, retry_after = "too_many", retry_seconds(exc)
            error = str(exc)
        except Forbidden as exc:
            failure, error = "forbidden", str(exc)
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                await self._sent(ids, head.params.get("message_id"), None, rows)
                return None
            failure, error = "refused", str(exc)
        except NetworkError as exc:  # timeouts too: TimedOut is a NetworkError
            failure, error = "unreached", f"{type(exc).__name__}: {exc}"
        except TelegramError as exc:
            failure, error = "refused", f"{type(exc).__name__}: {exc}"
        except _Gone as exc:
            failure, error = "refused", str(exc)
        else:
            await self._sent(ids, message_id, tg_file, rows)
            return None
        await self._failed(chat_id, rows, failure, error, retry_after)
        return None

    async def _sent(
        self,
        ids: list[int],
        message_id: int | None,
        tg_file: tuple[int, str] | None,
        rows: list[OutboxRow],
    ) -> None:
        self._failures = 0
        self.sent += 1
        if rows[0].gather and rows[0].chat_id < 0:
            history = self._answers[rows[0].chat_id]
            history.append(time.monotonic())
            del history[: -GROUP_ANSWERS.count]
        async with self._store.transaction() as tx:
            await tx.outbox_sent(ids, message_id, self._clock(), tg_file)

    async def _failed(
        self, chat_id: int, rows: list[OutboxRow], failure: Failure, error: str, retry_after: float
    ) -> None:
        ids = [r.id for r in rows]
        now = self._clock()
        if failure == "unreached" and time.monotonic() >= self._paused_until:
            self._failures += 1  # once per pause: every chat failing at once is one failure
        age = (now - min(r.created_at for r in rows)).total_seconds() / 3600
        step = after_failure(failure, max(self._failures, 1), age, retry_after)
        if step.action == "retry":
            # Everyone waits: when Telegram cannot be reached, or asks for a pause, it is so
            # for every chat, and a thousand retries at once would not help it recover.
            self._paused_until = max(self._paused_until, time.monotonic() + step.after)
            log.warning(
                "outbox %s to chat %s not sent (%s); again in %.1f s",
                ids[0],
                chat_id,
                error,
                step.after,
            )
            async with self._store.transaction() as tx:
                await tx.outbox_retry(ids, now, error, undo_attempt=failure == "too_many")
            return
        log.info("outbox %s to chat %s refused: %s", ids[0], chat_id, error)
        async with self._store.transaction() as tx:
            await tx.outbox_failed(ids, error, now)
            if failure == "forbidden" and chat_id > 0:
                await tx.lost_private_chat(chat_id, now)
            delivery = await tx.get_delivery(rows[0].delivery_id) if rows[0].delivery_id else None
        if (
            failure == "forbidden"
            and delivery is not None
            and delivery.kind == spotchecks.ASK
            and delivery.chat_id > 0
            and await spotchecks.ask_in_group(self._store, delivery, now)
        ):
            self.kick()  # a member who blocked the bot is asked in their group instead

    async def _request(
        self, chat_id: int, rows: list[OutboxRow]
    ) -> tuple[int | None, tuple[int, str] | None]:
        """The API call for these rows: the message id it made, and Telegram's id for a
        file it now keeps."""
        head = rows[0]
        p = head.params
        markup = outbox.markup_of(p.get("reply_markup"), self._bot)
        parse_mode = ParseMode.HTML if p.get("parse_mode") == "HTML" else None
        reply_to = p.get("reply_to") if len(rows) == 1 else None
        reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        kw: dict[str, Any] = {"rate_limit_args": PACED}
        if head.method == "answerCallbackQuery":
            await self._bot.answer_callback_query(
                p["query_id"], text=p.get("text"), show_alert=bool(p.get("show_alert")), **kw
            )
            return None, None
        if head.method == "sendMessage":
            body = "\n".join(r.params["text"] for r in rows)
            sent = await self._bot.send_message(
                chat_id,
                body,
                parse_mode=parse_mode,
                reply_markup=markup,
                reply_parameters=reply,
                **kw,
            )
            return sent.message_id, None
        if head.method in ("editMessageText", "editMessageReplyMarkup"):
            message_id = p.get("message_id") or await self._target(head)
            if head.method == "editMessageText":
                edited = await self._bot.edit_message_text(
                    p["text"],
                    chat_id=chat_id,
                    message_id=message_id,
                    parse_mode=parse_mode,
                    reply_markup=markup,  # type: ignore[arg-type]
                    **kw,
                )
            else:
                edited = await self._bot.edit_message_reply_markup(
                    chat_id=chat_id,
                    message_id=message_id,
                    reply_markup=markup,  # type: ignore[arg-type]
                    **kw,
                )
            return (edited.message_id if isinstance(edited, Message) else message_id), None
        if head.method == "sendPhoto" and p.get("tg_photo"):
            # A photo someone sent us (a problem's), passed on by Telegram's own id.
            sent = await self._bot.send_photo(
                chat_id, p["tg_photo"], caption=p.get("caption"), reply_parameters=reply, **kw
            )
            return sent.message_id, None
        assert head.file_id is not None
        async with self._store.transaction() as tx:
            stored = await tx.outbox_file(head.file_id)
        if stored.tg_file_id is not None:
            media: str | InputFile = stored.tg_file_id
        elif stored.content is not None:
            media = InputFile(stored.content, filename=stored.filename)
        else:
            raise _Gone("the file is no longer kept")
        caption = p.get("caption")
        if head.method == "sendPhoto":
            sent = await self._bot.send_photo(
                chat_id, media, caption=caption, reply_parameters=reply, **kw
            )
            file_id = sent.photo[-1].file_id if sent.photo else None
        else:
            sent = await self._bot.send_document(
                chat_id, media, caption=caption, reply_parameters=reply, **kw
            )
            file_id = sent.document.file_id if sent.document else None
        kept = (head.file_id, file_id) if file_id and stored.tg_file_id is None else None
        return sent.message_id, kept

    async def _target(self, row: OutboxRow) -> int:
        """The message an edit is for, sent earlier from this chat's outbox."""
        assert row.target_id is not None
        async with self._store.transaction() as tx:
            message_id = await tx.outbox_message_id(row.target_id)
        if message_id is None:
            raise _Gone("the message it edits never arrived")
        return message_id


class _Gone(Exception):
    """What a row needs is no longer there; it cannot be sent."""


def _gathered(rows: list[OutboxRow]) -> list[OutboxRow]:
    """The answers that fit in one message, oldest first."""
    batch: list[OutboxRow] = []
    size = 0
    for row in rows:
        size += len(row.params.get("text", "")) + 1
        if batch and size > MAX_MESSAGE:
            break
        batch.append(row)
    return batch


def _fresh() -> contextvars.Context:
    return contextvars.Context()
