"""Updates from Telegram to the database and through the handlers, none lost, none twice.

1. **Fetch.** A loop long-polls ``getUpdates`` and commits each batch to the ``inbox`` table
   (the raw JSON, the time it arrived) before asking for the next one, which is what confirms
   the batch to Telegram. A crash before the commit leaves the batch unconfirmed, and Telegram
   sends it again; an update already in the inbox is recognised by its ``update_id``.
2. **Handle.** Each chat's updates go through python-telegram-bot's handlers
   (``Application.process_update``) one at a time, in order; different chats are handled
   concurrently. Everything a handler writes, its answers in the outbox included, commits in
   one transaction with the mark that the update was handled (a store *unit*). A handler that
   raises has all of it rolled back: the update becomes a dead letter, the person is told that
   nothing was changed (which is then true), and the chat goes on with its next update.
3. **Time.** A handler judges an update by when it reached the bot (its inbox row), never by
   when a worker got to it, so a backlog never makes an honest check-in late.

The fetch loop is ours rather than python-telegram-bot's ``Updater``: the Updater parses a
batch before anything can be committed (one unparseable update then fails the whole batch, for
ever) and confirms it when it fetches the next, whatever became of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from telegram import Update
from telegram.ext import Application

from bot import outbox
from bot.deliverer import Deliverer
from bot.i18n import t
from rules.wire import INT64, backoff, storable_text, update_chat, update_kind
from services import org
from storage.base import Store
from storage.models import InboxRow, NewUpdate

log = logging.getLogger(__name__)

HANDLERS = 8  # chats handled at once
BACKLOG_PAGE = 500
# How often the inbox is read for rows put back by ``cunbot inbox retry`` while running.
RESCAN_SECONDS = 30.0
# The run's "listening until" is moved on at most this often (by the bot's clock), a poll's
# length ahead: a message sent before it reaches the bot at once.
LISTENING_EVERY = timedelta(seconds=5)


@dataclass
class Handling:
    """One update being handled: when it arrived, what went wrong, which chats it wrote to."""

    row: InboxRow
    failure: BaseException | None = None
    chats: set[int] = field(default_factory=set)


class Inbox:
    def __init__(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        store: Store,
        deliverer: Deliverer,
        clock: Callable[[], datetime],
        *,
        url: str,
        poll_timeout: int,
        default_lang: str,
        handlers: int = HANDLERS,
    ) -> None:
        self._app = app
        self._store = store
        self._deliverer = deliverer
        self._clock = clock
        self._url = url
        self._poll_timeout = poll_timeout
        self._default_lang = default_lang
        # Its own connection: a long poll must never wait for (or hold up) a send.
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(poll_timeout + 10.0, connect=10.0))
        self._gate = asyncio.Semaphore(handlers)
        self._queues: dict[int, deque[InboxRow]] = {}
        self._queued: set[int] = set()  # inbox row ids in the queues
        self._scanned = 0.0
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._handling: dict[int, Handling] = {}
        self._fetcher: asyncio.Task[None] | None = None
        self._stopping = False
        self.polls = 0
        self._run_id: int | None = None
        self._listening_noted: datetime | None = None

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> None:
        """Pick up what the last run left in the inbox, then start fetching."""
        now = self._clock()
        async with self._store.transaction() as tx:
            self._run_id = await tx.start_run(now, now + self._listening_span)
        self._listening_noted = now
        if found := await self._scan():
            log.info("resuming %d updates left in the inbox", found)
        self._fetcher = asyncio.create_task(self._fetch(), name="inbox:fetch")

    async def _scan(self) -> int:
        """Queue the inbox's waiting rows that are not queued yet: what the last run left,
        and what an operator put back with ``cunbot inbox retry``."""
        self._scanned = asyncio.get_running_loop().time()
        # Taken before reading: a queued row whose handling commits while we read is still
        # known as queued. Nothing is queued meanwhile (only this task, the fetcher, queues).
        queued = set(self._queued)
        after, found = 0, 0
        while True:
            async with self._store.transaction() as tx:
                rows = await tx.waiting_updates(after, BACKLOG_PAGE)
            if not rows:
                return found
            fresh = [r for r in rows if r.id not in queued]
            found += len(fresh)
            self._dispatch(fresh)
            after = rows[-1].id

    async def stop(self, grace: float) -> None:
        """Stop fetching; let the updates in hand finish (up to ``grace`` seconds). What is
        not handled stays in the inbox for the next start."""
        self._stopping = True
        if self._fetcher is not None:
            self._fetcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._fetcher
        workers = [w for w in self._workers.values() if not w.done()]
        if workers:
            _, pending = await asyncio.wait(workers, timeout=grace)
            for worker in pending:
                worker.cancel()  # its unit rolls back; the update is handled at the next start
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        await self._http.aclose()

    def handling(self, update_id: int | None) -> Handling | None:
        return self._handling.get(update_id) if update_id is not None else None

    def failed(self, update_id: int | None, error: BaseException) -> bool:
        """A handler raised: the update's unit is rolled back. False if it is none of ours."""
        handling = self.handling(update_id)
        if handling is None:
            return False
        if handling.failure is None:
            handling.failure = error
        return True

    # ------------------------------------------------------------------ fetching
    async def _fetch(self) -> None:
        offset: int | None = None
        failures = 0
        while not self._stopping:
            since = self._clock()
            try:
                raw = await self._poll(offset)
            except _PollFailed as exc:
                failures += 1
                wait = max(exc.retry_after, backoff(failures))
                log.warning("getUpdates failed (%s); trying again in %.1f s", exc, wait)
                await asyncio.sleep(wait)
                continue
            failures = 0
            self.polls += 1
            await self._note_listening()
            if asyncio.get_running_loop().time() - self._scanned > RESCAN_SECONDS:
                await self._scan()
            if not raw:
                continue
            received = self._clock()
            batch = [_new_update(u, received, since) for u in raw if _has_id(u)]
            if len(batch) < len(raw):
                log.warning("skipped %d updates without an update_id", len(raw) - len(batch))
            try:
                async with self._store.transaction() as tx:
                    added = await tx.add_updates(batch)
            except Exception as exc:
                # Not committed, so not confirmed: Telegram sends the batch again.
                log.error("could not store %d updates: %s", len(batch), type(exc).__name__)
                await asyncio.sleep(backoff(1))
                continue
            offset = max(u.update_id for u in batch) + 1 if batch else offset
            if len(added) < len(batch):
                log.info("%d updates were already in the inbox", len(batch) - len(added))
            self._dispatch(added)

    @property
    def _listening_span(self) -> timedelta:
        return timedelta(seconds=self._poll_timeout) + LISTENING_EVERY

    async def _note_listening(self) -> None:
        """A poll came back: the bot has been listening, and will be for another poll."""
        now = self._clock()
        if self._run_id is None or (
            self._listening_noted is not None and now - self._listening_noted < LISTENING_EVERY
        ):
            return
        try:
            async with self._store.transaction() as tx:
                await tx.note_listening(self._run_id, now + self._listening_span)
        except Exception as exc:  # a busy file: the next poll notes it
            log.warning("could not note the run's polling: %s", type(exc).__name__)
            return
        self._listening_noted = now

    async def _poll(self, offset: int | None) -> list[Any]:
        """One long poll; the offset confirms everything before it to Telegram."""
        body: dict[str, Any] = {"timeout": self._poll_timeout, "allowed_updates": Update.ALL_TYPES}
        if offset is not None:
            body["offset"] = offset
        try:
            response = await self._http.post(self._url, json=body)
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            # The URL holds the token: only the kind of failure is told.
            raise _PollFailed(type(exc).__name__) from None
        if not isinstance(answer, dict) or not answer.get("ok"):
            described = answer if isinstance(answer, dict) else {}
            retry = (described.get("parameters") or {}).get("retry_after", 0)
            raise _PollFailed(
                f"{response.status_code} {described.get('description', '')}".strip(),
                float(retry) if isinstance(retry, int | float) else 0.0,
            )
        result = answer.get("result")
        return result if isinstance(result, list) else []

    # ------------------------------------------------------------------ handling
    def _dispatch(self, rows: list[InboxRow]) -> None:
        for row in rows:
            self._queued.add(row.id)
            self._queues.setdefault(row.chat_id, deque()).append(row)
            worker = self._workers.get(row.chat_id)
            if worker is None or worker.done():
                self._workers[row.chat_id] = asyncio.create_task(
                    self._chat(row.chat_id), name=f"inbox:{row.chat_id}"
                )

    async def _chat(self, chat_id: int) -> None:
        queue = self._queues[chat_id]
        try:
            while queue and not self._stopping:
                async with self._gate:
                    if self._stopping:
                        return
                    row = queue[0]
                    await self._handle(row)
                    queue.popleft()
                    self._queued.discard(row.id)
        finally:
            if not queue:
                self._queues.pop(chat_id, None)

    async def _handle(self, row: InboxRow) -> None:
        try:
            update = Update.de_json(json.loads(row.payload), self._app.bot)
        except Exception as exc:
            await self._dead(row, exc, None, f"unparseable: {type(exc).__name__}")
            return
        handling = Handling(row)
        self._handling[row.update_id] = handling
        try:
            async with self._store.unit() as unit:
                await self._app.process_update(update)
                if handling.failure is not None:
                    unit.abandon()
                else:
                    async with self._store.transaction() as tx:
                        await tx.update_handled(row.id, self._clock())
        except Exception as exc:  # the commit itself failed: nothing was kept
            handling.failure = handling.failure or exc
        finally:
            del self._handling[row.update_id]
        if handling.failure is not None:
            await self._dead(row, handling.failure, update, None)
        else:
            self._deliverer.notify(handling.chats)

    async def _dead(
        self, row: InboxRow, error: BaseException, update: Update | None, reason: str | None
    ) -> None:
        """Record the update once with its error, tell the person, and move on. The log gets
        one line with no user text in it."""
        where = _where(error)
        summary = reason or f"{type(error).__name__} at {where}"
        log.error(
            "update %s (%s, chat %s) failed: %s; kept as dead letter %s (cunbot inbox)",
            row.update_id,
            row.kind,
            row.chat_id,
            summary,
            row.id,
        )
        detail = "".join(traceback.format_exception(error))
        chats: set[int] = set()
        try:
            async with self._store.unit():
                async with self._store.transaction() as tx:
                    await tx.update_dead(row.id, f"{summary}\n{detail}", self._clock())
                if update is not None:
                    chats = await self._apologise(update)
        except Exception as exc:
            log.error("could not record dead letter %s: %s", row.id, type(exc).__name__)
            return
        self._deliverer.notify(chats)

    async def _apologise(self, update: Update) -> set[int]:
        """'Something went wrong; nothing was changed', where the person will read it."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None:
            return set()
        lang = await org.chat_lang(
            self._store,
            chat.id,
            chat.type == "private",
            user.language_code if user else None,
            self._default_lang,
        )
        text = t(lang, "err.internal")
        query = update.callback_query
        if query is not None:
            item = outbox.answer(chat.id, query.id, text, alert=True)
        elif update.message is not None:
            item = outbox.message(chat.id, text, reply_to=update.message.message_id)
        else:
            return set()  # an edit, a membership change: nobody is waiting for an answer
        async with self._store.transaction() as tx:
            await tx.add_outgoing(item, self._clock())
        return {chat.id}


class _PollFailed(Exception):
    def __init__(self, reason: str, retry_after: float = 0.0) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def _has_id(raw: Any) -> bool:
    update_id = raw.get("update_id") if isinstance(raw, dict) else None
    return isinstance(update_id, int) and update_id in INT64


def _new_update(raw: dict[str, Any], received: datetime, since: datetime) -> NewUpdate:
    return NewUpdate(
        update_id=raw["update_id"],
        chat_id=update_chat(raw),
        kind=update_kind(raw),
        payload=storable_text(json.dumps(raw, ensure_ascii=False)),
        received_at=received,
        listening_since=since,
    )


def _where(error: BaseException) -> str:
    """The innermost frame of our own code that raised: a place, never a value."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "site-packages" not in f.filename] or frames
    if not ours:
        return "?"
    frame = ours[-1]
    return f"{'/'.join(frame.filename.split('/')[-2:])}:{frame.lineno}"
