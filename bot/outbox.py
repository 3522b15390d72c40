"""What the bot says, as outbox rows: a message, an edit, an answer to a button, a file.

Handlers and jobs build them here and write them in the transaction of the change they report
(``context.say``); the deliverer (:mod:`bot.deliverer`) sends them in order per chat, within
Telegram's pace. Buttons are kept as the JSON Telegram takes and rebuilt when sent.
"""

from __future__ import annotations

from typing import Any

from telegram import (
    Bot,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from reports.parts import Part
from rules.chunks import MAX_ANSWER, MAX_CAPTION, MAX_TEXT, clip
from storage.models import Outgoing

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply


def _params(
    text: str | None = None,
    *,
    markup: Markup | None = None,
    html: bool = False,
    reply_to: int | None = None,
    **more: Any,
) -> dict[str, Any]:
    params: dict[str, Any] = {key: value for key, value in more.items() if value is not None}
    # Long lists are split before they get here; what is still over a limit (a name or a
    # word someone typed, repeated back) is cut rather than refused by Telegram. HTML is
    # built by the reports within the limits, and a cut could break its tags.
    if "caption" in params and not html:
        params["caption"] = clip(params["caption"], MAX_CAPTION)
    if text is not None:
        params["text"] = text if html else clip(text, MAX_TEXT)
    if markup is not None:
        params["reply_markup"] = markup.to_dict()
    if html:
        params["parse_mode"] = "HTML"
    if reply_to is not None:
        params["reply_to"] = reply_to
    return params


def message(
    chat_id: int,
    text: str,
    *,
    markup: Markup | None = None,
    html: bool = False,
    reply_to: int | None = None,
    gather: bool = False,
) -> Outgoing:
    """A message; ``reply_to`` quotes the message it answers. ``gather``: one of many quick
    answers (check-ins), which a rush may join into one message naming each member."""
    return Outgoing(
        chat_id,
        "sendMessage",
        _params(text, markup=markup, html=html, reply_to=reply_to),
        gather=gather,
    )


def edit(
    chat_id: int,
    text: str,
    *,
    message_id: int | None = None,
    target_id: int | None = None,
    markup: InlineKeyboardMarkup | None = None,
    html: bool = False,
) -> Outgoing:
    """A new text for a message the bot sent: known by its id, or by the outbox row it came
    from when it may not have been sent yet (the edit then waits for it, in the same chat)."""
    assert message_id is not None or target_id is not None
    return Outgoing(
        chat_id,
        "editMessageText",
        _params(text, markup=markup, html=html, message_id=message_id),
        target_id=target_id,
    )


def answer(chat_id: int, query_id: str, text: str | None = None, alert: bool = False) -> Outgoing:
    """The answer to a button press: a short notice, or an alert the presser must dismiss."""
    params: dict[str, Any] = {"query_id": query_id}
    if text:
        params["text"] = clip(text, MAX_ANSWER)
    if alert:
        params["show_alert"] = True
    return Outgoing(chat_id, "answerCallbackQuery", params)


def photo(chat_id: int, tg_file_id: str, caption: str | None = None) -> Outgoing:
    """A photo Telegram already keeps (one a user sent), passed on by its file id."""
    return Outgoing(chat_id, "sendPhoto", _params(caption=caption, tg_photo=tg_file_id))


def part(chat_id: int, p: Part, *, reply_to: int | None = None) -> Outgoing:
    """One message of a digest, an export or a scheduled note."""
    if p.photo is not None or p.document is not None:
        content = p.photo if p.photo is not None else p.document
        return Outgoing(
            chat_id,
            "sendPhoto" if p.photo is not None else "sendDocument",
            _params(caption=p.caption, reply_to=reply_to),
            file=content,
            filename=p.filename,
        )
    assert p.text is not None
    keyboard: Markup | None = None
    if p.buttons:
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton(label, callback_data=data)] for label, data in p.buttons]
        )
    if p.location_button is not None:
        keyboard = ReplyKeyboardMarkup(
            [[KeyboardButton(p.location_button, request_location=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    return message(chat_id, p.text, markup=keyboard, html=p.html, reply_to=reply_to)


def markup_of(data: dict[str, Any] | None, bot: Bot) -> Markup | None:
    """Buttons as stored, back as the object python-telegram-bot sends."""
    if data is None:
        return None
    if "inline_keyboard" in data:
        return InlineKeyboardMarkup.de_json(data, bot)
    if "keyboard" in data:
        return ReplyKeyboardMarkup.de_json(data, bot)
    if "force_reply" in data:
        return ForceReply.de_json(data, bot)
    return ReplyKeyboardRemove.de_json(data, bot)
