"""The ledger of scheduled messages as the sender sees it: what is due, and each part's fate,
each in its own transaction so a crash loses at most the part on the wire."""

from __future__ import annotations

from datetime import datetime

from services import org
from storage.base import Store
from storage.models import Delivery


class Ledger:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def due(self, now: datetime, limit: int) -> list[Delivery]:
        async with self._store.transaction() as tx:
            return await tx.due_deliveries(now, limit)

    async def settle_interrupted(self, now: datetime) -> list[Delivery]:
        async with self._store.transaction() as tx:
            return await tx.settle_interrupted(now)

    async def start_part(self, delivery: Delivery, now: datetime) -> None:
        async with self._store.transaction() as tx:
            await tx.start_part(delivery.id, now)

    async def part_sent(
        self, delivery: Delivery, last: bool, now: datetime, uncertain: bool = False
    ) -> None:
        async with self._store.transaction() as tx:
            await tx.part_sent(delivery.id, last, now, uncertain)

    async def part_not_sent(self, delivery: Delivery, error: str, now: datetime) -> None:
        async with self._store.transaction() as tx:
            await tx.part_not_sent(delivery.id, error, now)

    async def finish(self, delivery: Delivery, now: datetime) -> None:
        async with self._store.transaction() as tx:
            await tx.finish_delivery(delivery.id, now)

    async def failed(
        self, delivery: Delivery, error: str, now: datetime, *, blocked: bool = False
    ) -> None:
        """Refused for good. ``blocked``: the person cannot be written to privately, so
        their reminders go to the group until they write to the bot again."""
        async with self._store.transaction() as tx:
            await tx.delivery_failed(delivery.id, error, now)
            if blocked and delivery.person_id is not None:
                await tx.lost_private(delivery.person_id, now)

    async def lang(self, delivery: Delivery, default: str) -> str:
        private = delivery.chat_id > 0
        hint = delivery.payload.get("lang") if private else None
        return await org.chat_lang(self._store, delivery.chat_id, private, hint, default)


async def note_private(store: Store, tg_user_id: int, now: datetime) -> bool:
    """The person wrote to the bot privately: from now on it may write to them."""
    async with store.transaction() as tx:
        return await tx.note_private(tg_user_id, now)
