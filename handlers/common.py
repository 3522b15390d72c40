"""What every handler shares: who sent the update, whether they administer the group, and
replying with a catalogue text in the chat's language."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, time
from typing import Any, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update, User
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import filters

from bot.context import CunbotContext
from bot.i18n import t
from rules import callbacks
from rules.chunks import MAX_ECHO, clip
from rules.policy import Policy, clock_text
from rules.problems import Problem
from services.org import TgUser
from storage.base import Store
from storage.models import Site

T = TypeVar("T")
# A service asked with the message's plain values: who, where, whether private, the words.
ChatService = Callable[[Store, datetime, TgUser, int, bool, list[str]], Awaitable[T | Problem]]

log = logging.getLogger(__name__)

# Commands run on new messages only: an edited "/setup" must not set the team up again.
NEW_MESSAGES = filters.UpdateType.MESSAGE
GROUPS = filters.ChatType.GROUPS
PRIVATE = filters.ChatType.PRIVATE

_ADMIN_STATUSES = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR}


def tg_user(update: Update) -> TgUser:
    user = update.effective_user
    assert user is not None, "handlers are registered for updates that have a sender"
    return as_tg_user(user)


def as_tg_user(user: User) -> TgUser:
    """A Telegram user as plain values (the sender, or someone an update is about)."""
    return TgUser(user.id, user.first_name, user.last_name, user.username, user.language_code)


def message_of(update: Update) -> Message:
    message = update.effective_message
    assert message is not None
    return message


def approve_reject(lang: str, kind: str, request_id: int) -> InlineKeyboardMarkup:
    """Approve / Reject under a request (leave, a make-up, a field check-in): ``v1:<kind>:<id>:a``
    and ``…:r``."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(lang, "leave.button.approve"),
                    callback_data=callbacks.encode(kind, request_id, "a"),
                ),
                InlineKeyboardButton(
                    t(lang, "leave.button.reject"),
                    callback_data=callbacks.encode(kind, request_id, "r"),
                ),
            ]
        ]
    )


def prompt_for(user: User) -> str:
    """Names the person a group prompt is for: a selective ForceReply then reaches only them."""
    return f"@{user.username}" if user.username else user.first_name


def button_chat(update: Update) -> tuple[int, bool]:
    """Where to ask a button's follow-up question, and whether that is privately: the chat of
    the button's message, or, when Telegram no longer gives the message (too old, or inline),
    the presser's private chat, where they can always answer."""
    query = update.callback_query
    assert query is not None
    if query.message is not None:
        return query.message.chat.id, query.message.chat.type == "private"
    return query.from_user.id, True


def in_group(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


async def is_group_admin(context: CunbotContext, chat_id: int, user_id: int) -> bool:
    """Ask Telegram; a failed call is treated as 'not an admin', never as a yes."""
    try:
        member = await context.bot.get_chat_member(chat_id, user_id)
    except TelegramError as exc:
        log.warning("getChatMember(%s, %s) failed: %s", chat_id, user_id, exc)
        return False
    return member.status in _ADMIN_STATUSES


async def reply(update: Update, context: CunbotContext, key: str, **params: Any) -> int:
    """Answer with a catalogue text in the chat's language, quoting the message."""
    return await context.reply(update, await context.t(update, key, **params))


async def reply_long(update: Update, context: CunbotContext, lines: list[str]) -> None:
    """A long list in as few messages as fit, each quoting the message it answers."""
    if lines:
        await context.reply(update, "\n".join(lines))


async def reply_problem(update: Update, context: CunbotContext, problem: Problem) -> int:
    """A refusal in the chat's language. A word it repeats back is cut short: a 5,000
    character argument, echoed, would hide what the refusal says."""
    params = {k: clip(v, MAX_ECHO) if isinstance(v, str) else v for k, v in problem.params.items()}
    return await reply(update, context, problem.key, **params)


def site_text(lang: str, site: Site, key: str = "site.line") -> str:
    """A catalogue text about one site, its centre to 6 decimals (about 0.1 m)."""
    return t(
        lang,
        key,
        name=site.name,
        lat=f"{site.latitude:.6f}",
        lon=f"{site.longitude:.6f}",
        radius=site.radius_m,
    )


async def ask_service(update: Update, context: CunbotContext, service: ChatService[T]) -> T | None:
    """Call the service for this message; a problem is answered and gives None."""
    message = message_of(update)
    found = await service(
        context.store,
        context.now(),
        tg_user(update),
        message.chat_id,
        not in_group(update),
        list(context.args or []),
    )
    if isinstance(found, Problem):
        await reply_problem(update, context, found)
        return None
    return found


def reminder_states(lang: str, policy: Policy) -> dict[str, str]:
    """Each reminder setting as a reader sees it: on, off, 30 min, 20:30, 5 days."""
    off = t(lang, "remind.off")

    def clock(moment: time | None) -> str:
        return off if moment is None else clock_text(moment)

    return {
        "open": t(lang, "remind.on") if policy.remind_open else off,
        "close": t(lang, "remind.minutes", minutes=policy.remind_close)
        if policy.remind_close
        else off,
        "missed": t(lang, "remind.on") if policy.remind_missed else off,
        "log": clock(policy.remind_log),
        "month": t(lang, "remind.days", days=policy.remind_month) if policy.remind_month else off,
        "digest_at": clock(policy.digest_at),
    }
