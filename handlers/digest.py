"""``/digest`` and ``/export`` (answered at once, in the chat asked), ``/remind`` settings,
and noting who wrote to the bot privately (so reminders may go to them there)."""

from __future__ import annotations

from typing import TypeVar

from telegram import Update
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot import outbox, render
from bot.context import CunbotContext
from bot.i18n import t
from handlers.common import NEW_MESSAGES, ask_service, message_of, reminder_states, tg_user
from reports.parts import Part
from rules.reminders import KINDS
from services import delivery, digest, reminders
from services.reminders import ReminderView

T = TypeVar("T")


async def _send_parts(update: Update, context: CunbotContext, parts: list[Part]) -> None:
    message = message_of(update)
    for part in parts:
        await context.say(outbox.part(message.chat_id, part, reply_to=message.message_id))


async def digest_command(update: Update, context: CunbotContext) -> None:
    """``/digest [last|this|<day>|<YYYY-Www>|month [YYYY-MM]] [team code]``."""
    found = await ask_service(update, context, digest.digest_on_demand)
    if found is not None:
        parts = await render.digest_parts(await context.lang(update), found)
        await _send_parts(update, context, parts)


async def export_command(update: Update, context: CunbotContext) -> None:
    """``/export <from> <to> [team code]``: an XLSX of every record, and the days as CSV."""
    found = await ask_service(update, context, digest.export_records)
    if found is not None:
        parts = await render.export_parts(await context.lang(update), found)
        await _send_parts(update, context, parts)


async def remind_command(update: Update, context: CunbotContext) -> None:
    """``/remind``, ``/remind off``, ``/remind log=off``; ``/remind team close=15`` (leader)."""
    found = await ask_service(update, context, reminders.reminders)
    if found is not None:
        await context.reply(update, reminder_view_text(await context.lang(update), found))


def reminder_view_text(lang: str, v: ReminderView) -> str:
    states = reminder_states(lang, v.rules)
    lines = [t(lang, f"remind.changed.{v.changed}")] if v.changed else []
    lines.append(t(lang, "remind.title", team=v.team.village))
    lines += [t(lang, f"remind.line.{kind}", state=states[kind]) for kind in KINDS]
    if v.member_words is not None:
        muted = [t(lang, f"remind.kind.{k}") for k in KINDS if v.member_words.get(k) == "off"]
        lines.append(
            t(lang, "remind.mine_off", kinds=t(lang, "sep.list").join(muted))
            if muted
            else t(lang, "remind.mine_all")
        )
    lines.append(t(lang, "remind.usage"))
    return "\n".join(lines)


async def private_seen(update: Update, context: CunbotContext) -> None:
    """The person wrote to the bot privately, so the bot may now write to them there."""
    if update.effective_user is not None:
        await delivery.note_private(context.store, tg_user(update), context.now())


def register(app: Application) -> None:
    # Before every other handler, alone in its group: in a group shared with another handler
    # (a site's location), only the first that matches would run.
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & NEW_MESSAGES, private_seen), group=-3)
    app.add_handler(CommandHandler("digest", digest_command, filters=NEW_MESSAGES))
    app.add_handler(CommandHandler("export", export_command, filters=NEW_MESSAGES))
    app.add_handler(CommandHandler("remind", remind_command, filters=NEW_MESSAGES))
