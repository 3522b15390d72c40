"""Builds the Application and runs it. ``cunbot run`` and the end-to-end tests start the bot
through :func:`serve`, so the tests exercise the same start-up as production."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
)
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

import handlers
from bot import render
from bot.clock import Clock, system_clock
from bot.config import Settings
from bot.context import BotData, CunbotContext
from bot.deliverer import Deliverer
from bot.i18n import t
from bot.inbox import Inbox
from bot.pacing import PacedRateLimiter
from rules import permissions
from rules.permissions import ChatKind
from scheduler import schedule_all
from services.digest import schedule_begins
from storage import open_store

log = logging.getLogger(__name__)

# A stop (SIGTERM) is over within this many seconds, whatever Telegram's pace is holding back:
# updates in hand get a moment to finish, then requests on the wire; the rest waits, committed,
# for the next start. systemd's default is 90 s; the README's unit gives 15.
STOP_SECONDS = 8.0

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
    "makeup",
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
    "problem",
    "problems",
    "briefs",
    "unit",
    "recall",
    "recalls",
    "assessment",
    "assess",
    "rules",
    "lang",
    "leave_team",
)

CunbotApp = Application[Any, CunbotContext, dict[Any, Any], dict[Any, Any], BotData, Any]


def build_application(settings: Settings, clock: Clock = system_clock) -> CunbotApp:
    context_types = ContextTypes(context=CunbotContext, bot_data=BotData)
    limiter = PacedRateLimiter()
    app = (
        Application.builder()
        .token(settings.require_token())
        .base_url(settings.bot_api_base)
        .base_file_url(settings.file_api_base)
        .context_types(context_types)
        .rate_limiter(limiter)
        # Updates come through our inbox (bot.inbox), not python-telegram-bot's Updater.
        .updater(None)
        .build()
    )
    app.bot_data.settings = settings
    app.bot_data.clock = clock
    app.bot_data.limiter = limiter
    handlers.register_all(app)
    return app


async def on_startup(app: CunbotApp) -> None:
    """Open the store (migrating it), then check what Telegram lets the bot see."""
    settings = app.bot_data.settings
    assert settings is not None
    clock = app.bot_data.clock
    store = await open_store(settings.database, clock())
    app.bot_data.store = store
    await schedule_begins(store, clock())
    assert app.bot_data.limiter is not None
    deliverer = Deliverer(app.bot, store, clock, settings.lang, app.bot_data.limiter)
    app.bot_data.deliverer = deliverer
    app.bot_data.inbox = Inbox(
        app,
        store,
        deliverer,
        clock,
        url=f"{settings.bot_api_base}{settings.require_token()}/getUpdates",
        poll_timeout=settings.poll_timeout,
        default_lang=settings.lang,
    )
    await deliverer.resume()
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
        await _publish_menu(app, settings.lang)
    except TelegramError as exc:
        log.warning("could not set the command menu: %s", exc)


def menu(chat: ChatKind) -> list[str]:
    """The commands a chat's menu offers: those the permission table lets someone use there."""
    rows = permissions.TABLE
    return [c for c in MENU_COMMANDS if (rows[c].group if chat == "group" else rows[c].private)]


async def _publish_menu(app: CunbotApp, default_lang: str) -> None:
    """A menu for groups and one for private chats, each in both languages; a client in
    another language gets the bot's default language's."""
    scopes: tuple[tuple[ChatKind, BotCommandScope], ...] = (
        ("group", BotCommandScopeAllGroupChats()),
        ("private", BotCommandScopeAllPrivateChats()),
    )
    for chat, scope in scopes:
        for lang, code in ((default_lang, None), ("en", "en"), ("zh", "zh")):
            commands = [BotCommand(c, t(lang, f"cmd.{c}")) for c in menu(chat)]
            await app.bot.set_my_commands(commands, scope=scope, language_code=code)
    # Any other scope (none is used today) falls back to the private menu.
    private = [BotCommand(c, t(default_lang, f"cmd.{c}")) for c in menu("private")]
    await app.bot.set_my_commands(private)


async def on_shutdown(app: CunbotApp, deadline: float) -> None:
    """Stop taking updates and let what is in hand finish, before ``deadline`` (a
    ``time.monotonic()`` moment). What is left stays in the inbox and the outbox."""
    if app.bot_data.inbox is not None:
        await app.bot_data.inbox.stop(grace=max(0.5, (deadline - time.monotonic()) / 3))
    if app.bot_data.deliverer is not None:
        await app.bot_data.deliverer.close(grace=max(0.5, deadline - time.monotonic() - 1.0))
    render.shutdown()


async def serve(settings: Settings, stop: asyncio.Event, clock: Clock = system_clock) -> None:
    """Run the bot by long polling until ``stop`` is set.

    Updates that arrived while the bot was down are fetched and handled: pending updates are
    never dropped, because a check-in sent from a village with weak signal must count.
    """
    app = build_application(settings, clock)
    await app.initialize()
    try:
        await on_startup(app)
        # Polling and a webhook exclude each other; what waits at Telegram is kept.
        await app.bot.delete_webhook(drop_pending_updates=False)
        await app.start()
        assert app.bot_data.inbox is not None
        await app.bot_data.inbox.start()
        log.info("@%s is running", app.bot.username)
        await stop.wait()
    finally:
        deadline = time.monotonic() + STOP_SECONDS
        await on_shutdown(app, deadline)
        if app.running:
            await app.stop()
        if app.bot_data.store is not None:
            await app.bot_data.store.close()
            app.bot_data.store = None
        await app.shutdown()
