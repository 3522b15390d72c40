"""Who is in a team's group: a member who leaves or is removed stops being in the team, and a
group that removes the bot is flagged to its county until the bot is added back.

Telegram tells the bot in two ways: ``chat_member`` updates (only where the bot is an
admin) and the group's service messages (``left_chat_member``, ``new_chat_members``,
everywhere). Either may come alone, or both for one change; the services make the second a
no-op."""

from __future__ import annotations

from telegram import Update, User
from telegram.constants import ChatMemberStatus
from telegram.ext import Application, ChatMemberHandler, MessageHandler, filters

from bot import outbox
from bot.context import CunbotContext
from bot.i18n import t
from handlers.common import NEW_MESSAGES, as_tg_user, message_of
from services import org

_GONE = {ChatMemberStatus.LEFT, ChatMemberStatus.BANNED}


async def member_changed(update: Update, context: CunbotContext) -> None:
    change = update.chat_member
    if change is None or change.new_chat_member.status not in _GONE:
        return
    user = change.new_chat_member.user
    if not user.is_bot:
        await _gone(update, context, change.chat.id, user, change.from_user)


async def bot_changed(update: Update, context: CunbotContext) -> None:
    change = update.my_chat_member
    if change is None or change.chat.type == "private":
        return  # a private chat blocked or unblocked is noticed when a send is refused
    present = change.new_chat_member.status not in _GONE
    await _bot(context, change.chat.id, present, change.from_user)


async def service_message(update: Update, context: CunbotContext) -> None:
    message = message_of(update)
    bot_id = context.bot.id
    if message.left_chat_member is not None:
        user = message.left_chat_member
        if user.id == bot_id:
            await _bot(context, message.chat_id, False, message.from_user)
        elif not user.is_bot:
            await _gone(update, context, message.chat_id, user, message.from_user)
    elif any(u.id == bot_id for u in message.new_chat_members or ()):
        await _bot(context, message.chat_id, True, message.from_user)


async def _gone(
    update: Update, context: CunbotContext, chat_id: int, user: User, by: User | None
) -> None:
    remover = as_tg_user(by) if by is not None and by.id != user.id else None
    gone = await org.left_group(context.store, context.now(), chat_id, as_tg_user(user), remover)
    if gone is None:
        return
    lang = await context.lang(update)
    name = gone.person.display_name
    if gone.removed_by is not None:
        by_name = gone.removed_by.display_name
        text = t(lang, "group.removed", name=name, by=by_name, village=gone.team.village)
    else:
        text = t(lang, "group.left", name=name, village=gone.team.village)
    if gone.team_lost_leader:
        text += "\n" + t(lang, "group.no_leader")
    await context.say(outbox.message(chat_id, text))


async def _bot(context: CunbotContext, chat_id: int, present: bool, by: User | None) -> None:
    moved = await org.bot_membership(
        context.store,
        context.now(),
        chat_id,
        present,
        as_tg_user(by) if by is not None and not by.is_bot else None,
        context.settings.lang,
    )
    if moved is None:
        return
    team = org.team_label(moved.team)
    for admin, lang in moved.admins:
        by_name = moved.by.display_name if moved.by else t(lang, "group.someone")
        key = "group.bot_removed_admin" if moved.removed else "group.bot_back_admin"
        await context.say(outbox.message(admin.tg_user_id, t(lang, key, team=team, by=by_name)))
    if not moved.removed:
        back = t(moved.group_lang, "group.bot_back", village=moved.team.village)
        await context.say(outbox.message(chat_id, back))


def register(app: Application) -> None:
    app.add_handler(ChatMemberHandler(member_changed, ChatMemberHandler.CHAT_MEMBER))
    app.add_handler(ChatMemberHandler(bot_changed, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(
        MessageHandler(
            NEW_MESSAGES
            & (filters.StatusUpdate.LEFT_CHAT_MEMBER | filters.StatusUpdate.NEW_CHAT_MEMBERS),
            service_message,
        )
    )
