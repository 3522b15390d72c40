"""Plumbing every chat needs: group migrations, anonymous admins, unknown commands, errors."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from bot import outbox
from bot.context import CunbotContext
from handlers.common import NEW_MESSAGES, in_group, message_of, reply, tg_user
from rules import callbacks, permissions
from rules.geo import is_real_point
from services import org

log = logging.getLogger(__name__)


async def migrated(update: Update, context: CunbotContext) -> None:
    """The group became a supergroup: the team follows it to the new chat id."""
    message = message_of(update)
    if message.migrate_to_chat_id:
        old, new = message.chat_id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old, new = message.migrate_from_chat_id, message.chat_id
    else:
        return
    team = await org.migrate_chat(context.store, context.now(), old, new)
    if team is not None:
        log.info("team %s moved from chat %s to supergroup %s", team.id, old, new)
        await context.say(
            outbox.message(new, await context.t(update, "migrated", village=team.village))
        )


async def unreal_location(update: Update, context: CunbotContext) -> None:
    """A location that is no place on Earth (NaN, out of range) is answered here and goes
    no further: no check-in, spot check or site is ever judged on one. A live share that
    moves to such a point is passed over without a word."""
    message = message_of(update)
    place = message.location
    if place is None or is_real_point(place.latitude, place.longitude, place.horizontal_accuracy):
        return
    if update.message is not None:
        await reply(update, context, "checkin.err.no_point")
    raise ApplicationHandlerStop


async def permitted(update: Update, context: CunbotContext) -> None:
    """Every command meets the permission table (rules.permissions) before it runs: a
    refused cell is answered here with the table's refusal, and goes no further."""
    message = message_of(update)
    head, *words = (message.text or "").split()
    command, _, addressee = head.partition("@")
    if addressee and addressee.lower() != (context.bot.username or "").lower():
        return  # another bot's
    found = permissions.rule_for(command.removeprefix("/").lower(), words)
    if found is None or update.effective_user is None:
        return
    _, rule = found
    private = not in_group(update)
    found_relations = await org.relations(
        context.store, tg_user(update), message.chat_id, private, words, rule.takes_team
    )
    chat: permissions.ChatKind = "private" if private else "group"
    if found_relations is None or permissions.allowed(rule, found_relations[0], chat):
        return
    held, code = found_relations
    if code is not None and permissions.unrelated(held):
        await reply(update, context, "err.not_in_area", code=code)
    elif key := permissions.refusal(rule, chat):
        await reply(update, context, key)
    raise ApplicationHandlerStop


async def button_permitted(update: Update, context: CunbotContext) -> None:
    """Every button meets the permission table's button rows before its handler runs."""
    query = update.callback_query
    decoded = callbacks.decode(query.data if query else None)
    found = permissions.button_rule(*decoded) if decoded else None
    if found is None or decoded is None:
        return  # not ours, or stale: the last handler answers it
    held = await org.button_relations(context.store, tg_user(update), *decoded)
    if held is None or permissions.allowed(found[1], held, "group"):
        return
    text = await context.t(update, found[1].group_refusal)
    await context.answer(update, text, alert=True)
    raise ApplicationHandlerStop


async def anonymous(update: Update, context: CunbotContext) -> None:
    """A command sent 'as the group' has no person behind it to give a role to."""
    await reply(update, context, "err.anonymous")
    raise ApplicationHandlerStop


async def unknown_command(update: Update, context: CunbotContext) -> None:
    """In private, or addressed to us by name in a group: say what exists. A command
    addressed to another bot (``/team@other_bot``: village groups often hold several) is
    none of ours, wherever it is."""
    message = message_of(update)
    command, _, addressee = (message.text or "").split()[0].partition("@")
    if addressee and addressee.lower() != (context.bot.username or "").lower():
        return
    if message.chat.type != "private" and not addressee:
        return  # a group's bare /command may be meant for another bot
    await reply(update, context, "err.unknown_command", command=command)


async def stale_button(update: Update, context: CunbotContext) -> None:
    """A button no handler's pattern took: from an older version, made up, or of a message
    whose purpose is gone. Answered, so its spinner stops and the presser knows."""
    await context.answer(update, await context.t(update, "err.stale_button"), alert=True)


async def on_error(update: object, context: CunbotContext) -> None:
    """A handler raised. For an update from the inbox, everything it wrote is rolled back and
    it becomes a dead letter (the inbox tells the person and logs one line); no other handler
    sees it. Anything else (a job) is logged."""
    update_id = update.update_id if isinstance(update, Update) else None
    error = context.error
    assert error is not None
    inbox = context.bot_data.inbox
    if inbox is not None and inbox.failed(update_id, error):
        raise ApplicationHandlerStop
    log.error(
        "%s failed: %s",
        "job" if context.job else f"update {update_id}",
        type(error).__name__,
        exc_info=error,
    )


def register_first(app: Application) -> None:
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, migrated), group=-2)
    app.add_handler(MessageHandler(filters.LOCATION, unreal_location), group=-2)
    app.add_handler(
        MessageHandler(filters.COMMAND & filters.SenderChat.ALL & NEW_MESSAGES, anonymous),
        group=-2,
    )
    # Alone among commands in its group (a site's location is the other handler there).
    app.add_handler(MessageHandler(filters.COMMAND & NEW_MESSAGES, permitted), group=-1)
    # Every kind the table has a row for, so a new button cannot slip past the gate.
    kinds = "|".join(sorted({key.split()[0] for key in permissions.BUTTONS}))
    app.add_handler(CallbackQueryHandler(button_permitted, pattern=rf"^v1:({kinds}):"), group=-1)
    app.add_error_handler(on_error)


def register_last(app: Application) -> None:
    # Same group as the commands and registered after them: only what none of them took.
    app.add_handler(MessageHandler(filters.COMMAND & NEW_MESSAGES, unknown_command))
    app.add_handler(CallbackQueryHandler(stale_button))
