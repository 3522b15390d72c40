"""Builds the Application and runs it. ``cunbot run`` and the end-to-end tests start the bot
through :func:`serve`, so the tests exercise the same start-up as production."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

import handlers
from bot.clock import Clock, system_clock
from bot.config import Settings
from bot.context import BotData, CunbotContext
from bot.deliverer import Deliverer
from bot.i18n import t
from bot.outbox import Outbox
from bot.pacing import PacedRateLimiter
from scheduler import schedule_all
from services.digest import schedule_begins
from storage import open_store

log = logging.getLogger(__name__)

# The commands Telegram's menu shows, in this order, described in each language.
MENU_COMMANDS = (
    "help",
    "checkin",
    "me",
    "today",
    "setup",
    "join",
    "team",
    "site",
    "leave",
    "back",
    "leaves",
    "log",
    "logs",
    "household",
    "audit",
    "summary",
    "summaries",
    "digest",
    "export",
    "remind",
    "spotcheck",
    "rules",
    "lang",
    "leave_team",
)

CunbotApp = Application[Any, CunbotContext, dict[Any, Any], dict[Any, Any], BotData, Any]


def build_application(settings: Settings, clock: Clock = system_clock) -> CunbotApp:
    context_types = ContextTypes(context=CunbotContext, bot_data=BotData)
    app = (
        Application.builder()
        .token(settings.require_token())
        .base_url(settings.bot_api_base)
        .base_file_url(settings.file_api_base)
        .context_types(context_types)
        # One update at a time, in order: a member's check-in and its edits must not race.
        .concurrent_updates(False)
        .rate_limiter(PacedRateLimiter())
        .build()
    )
    app.bot_data.settings = settings
    app.bot_data.clock = clock
    handlers.register_all(app)
    return app


async def on_startup(app: CunbotApp) -> None:
    """Open the store (migrating it), then check what Telegram lets the bot see."""
    settings = app.bot_data.settings
    assert settings is not None
    store = await open_store(settings.database, app.bot_data.clock())
    app.bot_data.store = store
    app.bot_data.started_at = app.bot_data.clock()
    app.bot_data.outbox = Outbox(app.bot)
    await schedule_begins(store, app.bot_data.clock())
    deliverer = Deliverer(app.bot, store, app.bot_data.clock, settings.lang)
    await deliverer.resume()
    app.bot_data.deliverer = deliverer
    schedule_all(app, settings)
    me = app.bot.bot
    async with store.transaction() as tx:
        await tx.set_meta("bot_username", me.username)
    if not me.can_read_all_group_messages:
        log.warning(
            "privacy mode is on for @%s: in groups it sees only commands, so shared "
            "locations and logs are missed. Fix: @BotFather > /setprivacy > Disable, or make "
            "the bot an administrator of each team's group.",
            me.username,
        )
    try:
        await _publish_menu(app)
    except TelegramError as exc:
        log.warning("could not set the command menu: %s", exc)


async def _publish_menu(app: CunbotApp) -> None:
    for lang, code in (("en", None), ("zh", "zh")):
        commands = [BotCommand(c, t(lang, f"cmd.{c}")) for c in MENU_COMMANDS]
        await app.bot.set_my_commands(commands, language_code=code)


async def on_shutdown(app: CunbotApp) -> None:
    if app.bot_data.deliverer is not None:
        await app.bot_data.deliverer.close()
        app.bot_data.deliverer = None
    if app.bot_data.outbox is not None:
        await app.bot_data.outbox.close()
        app.bot_data.outbox = None
    if app.bot_data.store is not None:
        await app.bot_data.store.close()
        app.bot_data.store = None


async def serve(settings: Settings, stop: asyncio.Event, clock: Clock = system_clock) -> None:
    """Run the bot by long polling until ``stop`` is set.

    Updates that arrived while the bot was down are fetched and handled: pending updates are
    never dropped, because a check-in sent from a village with weak signal must count.
    """
    app = build_application(settings, clock)
    await app.initialize()
    try:
        await on_startup(app)
        assert app.updater is not None
        await app.updater.start_polling(
            poll_interval=0.0,
            timeout=settings.poll_timeout,
            allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=False,
        )
        await app.start()
        log.info("@%s is running", app.bot.username)
        await stop.wait()
    finally:
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await on_shutdown(app)
        await app.shutdown()
