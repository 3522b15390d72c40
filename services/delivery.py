"""Who the bot may write to privately, and how long the inbox and outbox remember."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.org import TgUser, ensure_person
from storage.base import Store
from storage.models import InboxRow, WireView


async def note_private(store: Store, user: TgUser, now: datetime) -> bool:
    """The person wrote to the bot privately (pressing Start counts): from now on it may
    write to them there. True if that is news."""
    async with store.transaction() as tx:
        # The person is made here if this is their first word: a Start runs before any other
        # handler, and the flag must not be lost for want of a row to hold it.
        await ensure_person(tx, user, now)
        return await tx.note_private(user.id, now)


# Telegram redelivers nothing older than a day; handled updates hold users' texts, so they go.
KEEP_UPDATES = timedelta(days=2)
# What was sent is kept a month (the events and the records themselves are kept for ever).
KEEP_SENT = timedelta(days=30)


async def prune_wire(store: Store, now: datetime) -> tuple[int, int]:
    """Forget handled updates and sent messages past their use: how many of each."""
    async with store.transaction() as tx:
        return await tx.prune_inbox(now - KEEP_UPDATES), await tx.prune_outbox(now - KEEP_SENT)


async def wire(store: Store, now: datetime) -> WireView:
    """What ``cunbot inbox`` shows: updates waiting, dead letters, the outbox by state."""
    async with store.transaction() as tx:
        return await tx.wire_view(now)


async def retry_update(store: Store, inbox_id: int, now: datetime) -> InboxRow | None:
    """Put a dead letter back in line (a running bot picks it up within half a minute, or
    the next start does). None if there is no dead letter with that number."""
    async with store.transaction() as tx:
        return await tx.retry_update(inbox_id, now)
