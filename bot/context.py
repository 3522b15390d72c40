"""The typed context every handler gets: ``context.store``, ``context.settings``,
``context.now()``, ``context.t(...)`` in the chat's language, and ``context.say(...)`` to
answer through the outbox, instead of string keys."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from bot import outbox
from bot.clock import Clock, system_clock
from bot.config import Settings
from bot.deliverer import Deliverer
from bot.i18n import t
from bot.inbox import Handling, Inbox
from bot.pacing import PacedRateLimiter
from rules.chunks import MAX_MESSAGE, split_lines
from services import org
from storage.base import Store
from storage.models import Outgoing


@dataclass
class BotData:
    """What the application owns for its whole life. Filled in by ``bot.app``."""

    settings: Settings | None = None
    clock: Clock = system_clock
    store: Store | None = None
    limiter: PacedRateLimiter | None = None
    deliverer: Deliverer | None = None
    inbox: Inbox | None = None
    # Spot checks draw members and moments from this; the operating system's randomness,
    # so nobody can predict who is asked next.
    rng: random.Random = field(default_factory=random.SystemRandom)


class CunbotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """Per-update context with typed access to what handlers need."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self._lang: str | None = None
        self._update_id: int | None = None

    @classmethod
    def from_update(
        cls, update: object, application: Application[Any, Any, Any, Any, Any, Any]
    ) -> CunbotContext:
        context = super().from_update(update, application)
        if isinstance(update, Update):
            context._update_id = update.update_id
        return context

    @property
    def store(self) -> Store:
        store = self.bot_data.store
        if store is None:
            raise RuntimeError("the store is opened at start-up; it is not open yet")
        return store

    @property
    def settings(self) -> Settings:
        settings = self.bot_data.settings
        assert settings is not None
        return settings

    @property
    def deliverer(self) -> Deliverer:
        deliverer = self.bot_data.deliverer
        if deliverer is None:
            raise RuntimeError("the deliverer is opened at start-up; it is not open yet")
        return deliverer

    @property
    def handling(self) -> Handling | None:
        inbox = self.bot_data.inbox
        return inbox.handling(self._update_id) if inbox is not None else None

    def now(self) -> datetime:
        """When the update reached the bot (a backlog never makes it late); in a job, now."""
        handling = self.handling
        return handling.row.received_at if handling else self.bot_data.clock()

    @property
    def rng(self) -> random.Random:
        return self.bot_data.rng

    async def lang(self, update: Update) -> str:
        """The reply language for this update's chat, looked up once per update."""
        if self._lang is None:
            chat, user = update.effective_chat, update.effective_user
            self._lang = await org.chat_lang(
                self.store,
                chat.id if chat else 0,
                chat is None or chat.type == "private",
                user.language_code if user else None,
                self.settings.lang,
            )
        return self._lang

    def use_lang(self, lang: str) -> None:
        self._lang = lang

    async def t(self, update: Update, key: str, **params: Any) -> str:
        return t(await self.lang(update), key, **params)

    # ------------------------------------------------------------------ speaking
    async def say(self, item: Outgoing) -> int:
        """Write a message (an edit, an answer, a file) to the outbox, in the transaction of
        whatever this update changed; it goes out once that commits. Returns its row."""
        handling = self.handling
        if handling is not None and item.update_id is None:
            item = replace(item, update_id=handling.row.update_id)
        async with self.store.transaction() as tx:
            row = await tx.add_outgoing(item, self.bot_data.clock())
        if handling is not None:
            handling.chats.add(item.chat_id)
        else:
            self.deliverer.notify([item.chat_id])
        return row

    async def reply(self, update: Update, text: str, **kw: Any) -> int:
        """Answer the update's message in its chat, quoting it (too long a text goes out in
        several messages, each quoting it, the buttons on the first). The first one's row."""
        message = update.effective_message
        assert message is not None
        texts = split_lines(text.split("\n")) if len(text) > MAX_MESSAGE else [text]
        first = 0
        for index, piece in enumerate(texts):
            row = await self.say(
                outbox.message(message.chat_id, piece, reply_to=message.message_id, **kw)
            )
            first = first or row
            if index == 0:
                kw.pop("markup", None)  # buttons belong to the first part
        return first

    async def answer(self, update: Update, text: str | None = None, alert: bool = False) -> None:
        """Answer a button press (every press is answered, so its spinner stops)."""
        query = update.callback_query
        assert query is not None
        chat_id = query.message.chat.id if query.message else query.from_user.id
        await self.say(outbox.answer(chat_id, query.id, text, alert))
