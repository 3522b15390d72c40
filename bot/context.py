"""The typed context every handler gets: ``context.store``, ``context.settings``,
``context.now()`` and ``context.t(...)`` in the chat's language, instead of string keys."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from bot.clock import Clock, system_clock
from bot.config import Settings
from bot.deliverer import Deliverer
from bot.i18n import t
from bot.outbox import Outbox
from services import org
from storage.base import Store


@dataclass
class BotData:
    """What the application owns for its whole life. Filled in by ``bot.app``."""

    settings: Settings | None = None
    clock: Clock = system_clock
    store: Store | None = None
    outbox: Outbox | None = None
    deliverer: Deliverer | None = None
    # When this run began: a location sent before it waited for us and is not stale.
    started_at: datetime | None = None
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
    def outbox(self) -> Outbox:
        outbox = self.bot_data.outbox
        if outbox is None:
            raise RuntimeError("the outbox is opened at start-up; it is not open yet")
        return outbox

    @property
    def deliverer(self) -> Deliverer:
        deliverer = self.bot_data.deliverer
        if deliverer is None:
            raise RuntimeError("the deliverer is opened at start-up; it is not open yet")
        return deliverer

    @property
    def started_at(self) -> datetime:
        started = self.bot_data.started_at
        assert started is not None
        return started

    def now(self) -> datetime:
        return self.bot_data.clock()

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
