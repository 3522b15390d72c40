"""The inbox and the outbox: updates committed before they are confirmed to Telegram, and every
request the bot makes to speak, kept until Telegram has answered it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from storage.models import (
    InboxRow,
    NewUpdate,
    OutboxFile,
    OutboxRow,
    Outgoing,
    WireView,
)
from storage.sqlite_base import SqliteQueries, from_db, marks, to_db

_INBOX_SELECT = """
    SELECT id, update_id, chat_id, kind, payload, received_at, listening_since, state,
           attempts, handled_at, error
    FROM inbox
"""

_OUTBOX_SELECT = """
    SELECT id, chat_id, method, params, file_id, target_id, gather, update_id, delivery_id,
           last_part, state, due_at, expires_at, attempts, message_id, created_at, sent_at, error
    FROM outbox
"""


def _inbox_row(r: dict[str, Any]) -> InboxRow:
    return InboxRow(
        id=r["id"],
        update_id=r["update_id"],
        chat_id=r["chat_id"],
        kind=r["kind"],
        payload=r["payload"],
        received_at=from_db(r["received_at"]),
        listening_since=from_db(r["listening_since"]),
        state=r["state"],
        attempts=r["attempts"],
        handled_at=from_db(r["handled_at"]) if r["handled_at"] else None,
        error=r["error"],
    )


def _outbox_row(r: dict[str, Any]) -> OutboxRow:
    return OutboxRow(
        id=r["id"],
        chat_id=r["chat_id"],
        method=r["method"],
        params=json.loads(r["params"]),
        file_id=r["file_id"],
        target_id=r["target_id"],
        gather=bool(r["gather"]),
        update_id=r["update_id"],
        delivery_id=r["delivery_id"],
        last_part=bool(r["last_part"]),
        state=r["state"],
        due_at=from_db(r["due_at"]),
        expires_at=from_db(r["expires_at"]) if r["expires_at"] else None,
        attempts=r["attempts"],
        message_id=r["message_id"],
        created_at=from_db(r["created_at"]),
        sent_at=from_db(r["sent_at"]) if r["sent_at"] else None,
        error=r["error"],
    )


class WireQueries(SqliteQueries):
    # ------------------------------------------------------------------ the inbox
    async def add_updates(self, updates: Sequence[NewUpdate]) -> list[InboxRow]:
        """Commit updates off the wire; those already here (redelivered) are left out."""
        added = []
        for u in updates:
            cur = await self._run(
                """INSERT OR IGNORE INTO inbox
                       (update_id, chat_id, kind, payload, received_at, listening_since)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                (
                    u.update_id,
                    u.chat_id,
                    u.kind,
                    u.payload,
                    to_db(u.received_at),
                    to_db(u.listening_since),
                ),
            )
            if cur.rowcount == 1 and cur.lastrowid is not None:
                added.append(
                    InboxRow(
                        cur.lastrowid,
                        u.update_id,
                        u.chat_id,
                        u.kind,
                        u.payload,
                        u.received_at,
                        u.listening_since,
                        "new",
                    )
                )
        return added

    async def waiting_updates(self, after_id: int, limit: int) -> list[InboxRow]:
        """Updates not handled yet, in the order they came."""
        rows = await self._named(
            _INBOX_SELECT + " WHERE state = 'new' AND id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [_inbox_row(r) for r in rows]

    async def inbox_row(self, inbox_id: int) -> InboxRow | None:
        rows = await self._named(_INBOX_SELECT + " WHERE id = ?", (inbox_id,))
        return _inbox_row(rows[0]) if rows else None

    async def update_handled(self, inbox_id: int, now: datetime) -> bool:
        cur = await self._run(
            "UPDATE inbox SET state = 'handled', handled_at = ?, attempts = attempts + 1"
            " WHERE id = ? AND state = 'new'",
            (to_db(now), inbox_id),
        )
        return cur.rowcount == 1

    async def update_dead(self, inbox_id: int, error: str, now: datetime) -> None:
        await self._run(
            "UPDATE inbox SET state = 'dead', error = ?, handled_at = ?, attempts = attempts + 1"
            " WHERE id = ?",
            (error[:2000], to_db(now), inbox_id),
        )

    async def retry_update(self, inbox_id: int, now: datetime) -> InboxRow | None:
        """A dead letter goes back in line; None if there is no such dead letter."""
        cur = await self._run(
            "UPDATE inbox SET state = 'new' WHERE id = ? AND state = 'dead'", (inbox_id,)
        )
        if cur.rowcount != 1:
            return None
        await self._event("inbox.retry", now, None, inbox_id=inbox_id)
        return await self.inbox_row(inbox_id)

    async def prune_inbox(self, before: datetime) -> int:
        """Handled updates older than ``before`` are forgotten: they hold users' texts, and
        Telegram redelivers nothing older than a day."""
        cur = await self._run(
            "DELETE FROM inbox WHERE state = 'handled' AND handled_at < ?", (to_db(before),)
        )
        return cur.rowcount

    async def wire_view(self, now: datetime, dead_limit: int = 20) -> WireView:
        waiting = await self._one(
            "SELECT COUNT(*), MIN(received_at) FROM inbox WHERE state = 'new'"
        )
        assert waiting is not None
        handled = await self._one(
            "SELECT COUNT(*) FROM inbox WHERE state = 'handled' AND handled_at >= ?",
            (to_db(now - timedelta(hours=1)),),
        )
        dead = await self._named(
            _INBOX_SELECT + " WHERE state = 'dead' ORDER BY id DESC LIMIT ?", (dead_limit,)
        )
        # One count per state, each written out so that its partial index serves it.
        due = await self._one("SELECT COUNT(*) FROM outbox WHERE state = 'due'")
        sending = await self._one("SELECT COUNT(*) FROM outbox WHERE state = 'sending'")
        states = [(k, r[0]) for k, r in (("due", due), ("sending", sending)) if r and r[0]]
        recent = await self._all(
            "SELECT state, COUNT(*) FROM outbox WHERE state NOT IN ('due', 'sending')"
            " AND created_at >= ? GROUP BY state",
            (to_db(now - timedelta(days=1)),),
        )
        oldest = await self._one("SELECT MIN(due_at) FROM outbox WHERE state = 'due'")
        return WireView(
            waiting=waiting[0],
            oldest_waiting=from_db(waiting[1]) if waiting[1] else None,
            handled_last_hour=handled[0] if handled else 0,
            dead=[_inbox_row(r) for r in dead],
            outbox={r[0]: r[1] for r in [*states, *recent]},
            oldest_due=from_db(oldest[0]) if oldest and oldest[0] else None,
        )

    # ------------------------------------------------------------------ the outbox
    async def add_outgoing(self, item: Outgoing, now: datetime) -> int:
        file_id = None
        if item.file is not None:
            file_id = await self._store_file(item.file, item.filename or "file", now)
        cur = await self._run(
            """INSERT INTO outbox (chat_id, method, params, file_id, target_id, gather,
                   update_id, delivery_id, last_part, due_at, expires_at, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                item.chat_id,
                item.method,
                json.dumps(item.params, ensure_ascii=False),
                file_id,
                item.target_id,
                int(item.gather),
                item.update_id,
                item.delivery_id,
                int(item.last_part),
                to_db(item.due_at or now),
                to_db(item.expires_at) if item.expires_at else None,
                to_db(now),
            ),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    async def _store_file(self, content: bytes, filename: str, now: datetime) -> int:
        # The same chart goes to every coordinator of a township: stored once.
        digest = hashlib.sha256(filename.encode() + b"\0" + content).hexdigest()
        await self._run(
            "INSERT OR IGNORE INTO outbox_files (sha256, filename, content, created_at)"
            " VALUES (?, ?, ?, ?)",
            (digest, filename, content, to_db(now)),
        )
        row = await self._one("SELECT id FROM outbox_files WHERE sha256 = ?", (digest,))
        assert row is not None
        return int(row[0])

    async def outbox_file(self, file_id: int) -> OutboxFile:
        row = await self._one(
            "SELECT id, filename, content, tg_file_id FROM outbox_files WHERE id = ?", (file_id,)
        )
        assert row is not None
        return OutboxFile(row[0], row[1], row[2], row[3])

    async def due_chats(self, now: datetime, limit: int) -> list[int]:
        rows = await self._all(
            "SELECT DISTINCT chat_id FROM outbox WHERE state = 'due' AND due_at <= ? LIMIT ?",
            (to_db(now), limit),
        )
        return [r[0] for r in rows]

    async def next_due_at(self) -> datetime | None:
        row = await self._one("SELECT MIN(due_at) FROM outbox WHERE state = 'due'")
        return from_db(row[0]) if row and row[0] else None

    async def chat_due(self, chat_id: int, limit: int) -> list[OutboxRow]:
        """What waits to be said in one chat, in the order it was written."""
        rows = await self._named(
            _OUTBOX_SELECT + " WHERE chat_id = ? AND state = 'due' ORDER BY id LIMIT ?",
            (chat_id, limit),
        )
        return [_outbox_row(r) for r in rows]

    async def outbox_rows(
        self, chat_id: int | None = None, state: str | None = None
    ) -> list[OutboxRow]:
        rows = await self._named(
            _OUTBOX_SELECT + " WHERE (? IS NULL OR chat_id = ?) AND (? IS NULL OR state = ?)"
            " ORDER BY id",
            (chat_id, chat_id, state, state),
        )
        return [_outbox_row(r) for r in rows]

    async def outbox_message_id(self, outbox_id: int) -> int | None:
        row = await self._one("SELECT message_id FROM outbox WHERE id = ?", (outbox_id,))
        return row[0] if row else None

    async def outbox_sending(self, ids: Sequence[int], now: datetime) -> None:
        """These go on the wire now: if we never hear back, they are not sent again."""
        await self._run(
            f"UPDATE outbox SET state = 'sending', attempts = attempts + 1"
            f" WHERE id IN ({marks(len(ids))})",
            tuple(ids),
        )

    async def outbox_sent(
        self,
        ids: Sequence[int],
        message_id: int | None,
        now: datetime,
        tg_file: tuple[int, str] | None = None,
    ) -> None:
        await self._run(
            f"UPDATE outbox SET state = 'sent', message_id = ?, sent_at = ?, error = NULL"
            f" WHERE id IN ({marks(len(ids))})",
            (message_id, to_db(now), *ids),
        )
        if tg_file is not None:
            # Telegram keeps the file now: later sends name it, and the bytes may go.
            await self._run(
                "UPDATE outbox_files SET tg_file_id = ? WHERE id = ? AND tg_file_id IS NULL",
                (tg_file[1], tg_file[0]),
            )
        await self._settle_parts(ids, "sent", now)

    async def outbox_retry(
        self, ids: Sequence[int], due_at: datetime, error: str, *, undo_attempt: bool = False
    ) -> None:
        """Not sent (refused for now, or never reached Telegram): due again at ``due_at``."""
        await self._run(
            f"UPDATE outbox SET state = 'due', due_at = ?, error = ?,"
            f" attempts = attempts - ? WHERE id IN ({marks(len(ids))})",
            (to_db(due_at), error[:500], int(undo_attempt), *ids),
        )

    async def outbox_failed(self, ids: Sequence[int], error: str, now: datetime) -> None:
        """Refused for good (blocked, chat gone, a message that no longer exists)."""
        await self._run(
            f"UPDATE outbox SET state = 'failed', error = ?, sent_at = ?"
            f" WHERE id IN ({marks(len(ids))})",
            (error[:500], to_db(now), *ids),
        )
        await self._settle_parts(ids, "failed", now, error)

    async def outbox_expire(self, now: datetime) -> int:
        """A reminder still unsent when it stops being worth sending is dropped."""
        rows = await self._all(
            "SELECT id FROM outbox WHERE state = 'due' AND expires_at IS NOT NULL"
            " AND expires_at <= ?",
            (to_db(now),),
        )
        ids = [r[0] for r in rows]
        if ids:
            await self._run(
                f"UPDATE outbox SET state = 'expired', sent_at = ? WHERE id IN ({marks(len(ids))})",
                (to_db(now), *ids),
            )
            await self._settle_parts(ids, "expired", now)
        return len(ids)

    async def outbox_settle_interrupted(self, now: datetime) -> list[OutboxRow]:
        """After a crash: what was on the wire may or may not have arrived. Telegram cannot
        tell, so it is counted as uncertain and not sent again."""
        found = await self._named(_OUTBOX_SELECT + " WHERE state = 'sending'")
        rows = [_outbox_row(r) for r in found]
        ids = [r.id for r in rows]
        if ids:
            await self._run(
                f"UPDATE outbox SET state = 'uncertain', sent_at = ?"
                f" WHERE id IN ({marks(len(ids))})",
                (to_db(now), *ids),
            )
            await self._settle_parts(ids, "uncertain", now)
        return rows

    async def outbox_move_chat(self, old: int, new: int) -> int:
        """A group became a supergroup: what waits for it goes to the new chat."""
        cur = await self._run(
            "UPDATE outbox SET chat_id = ? WHERE chat_id = ? AND state = 'due'", (new, old)
        )
        return cur.rowcount

    async def prune_outbox(self, before: datetime) -> int:
        """Settled rows older than ``before`` are forgotten, except copies of leave requests
        (a decision months later still edits them); file bytes Telegram holds are dropped."""
        cur = await self._run(
            """DELETE FROM outbox WHERE state NOT IN ('due', 'sending') AND created_at < ?
               AND NOT EXISTS (SELECT 1 FROM leave_messages m WHERE m.outbox_id = outbox.id)
               AND NOT EXISTS (SELECT 1 FROM outbox e
                               WHERE e.target_id = outbox.id AND e.state IN ('due', 'sending'))""",
            (to_db(before),),
        )
        await self._run(
            """UPDATE outbox_files SET content = NULL
               WHERE content IS NOT NULL AND (tg_file_id IS NOT NULL OR created_at < ?)
                 AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.file_id = outbox_files.id
                                 AND o.state IN ('due', 'sending'))""",
            (to_db(before),),
        )
        return cur.rowcount

    async def _settle_parts(
        self, ids: Sequence[int], outcome: str, now: datetime, error: str | None = None
    ) -> None:
        """A scheduled message's part is settled: its delivery follows."""
        rows = await self._all(
            f"SELECT id, delivery_id, last_part FROM outbox"
            f" WHERE delivery_id IS NOT NULL AND id IN ({marks(len(ids))})",
            tuple(ids),
        )
        for _, delivery_id, last in rows:
            if outcome in ("sent", "uncertain"):
                await self._run(
                    """UPDATE deliveries SET parts_sent = parts_sent + 1,
                           uncertain = uncertain + ?, updated_at = ?,
                           state = CASE WHEN ? THEN 'sent' ELSE state END,
                           sent_at = CASE WHEN ? THEN ? ELSE sent_at END
                       WHERE id = ?""",
                    (int(outcome == "uncertain"), to_db(now), last, last, to_db(now), delivery_id),
                )
                continue
            await self._run(
                "UPDATE deliveries SET state = ?, error = COALESCE(?, error), updated_at = ?"
                " WHERE id = ?",
                (outcome, error[:500] if error else None, to_db(now), delivery_id),
            )
            # The rest of a message that cannot arrive whole is not sent on its own.
            await self._run(
                "UPDATE outbox SET state = 'expired', sent_at = ?"
                " WHERE delivery_id = ? AND state = 'due'",
                (to_db(now), delivery_id),
            )

    async def queue_delivery(self, delivery_id: int, now: datetime) -> None:
        """A scheduled message is rendered into the outbox; its parts are sent from there."""
        await self._run(
            "UPDATE deliveries SET state = 'sending', updated_at = ? WHERE id = ?",
            (to_db(now), delivery_id),
        )

    async def lost_private_chat(self, tg_user_id: int, now: datetime) -> None:
        """A private message to this person was refused: they blocked the bot."""
        await self._run(
            "UPDATE people SET private_lost_at = ? WHERE tg_user_id = ?",
            (to_db(now), tg_user_id),
        )
