"""``/makeup`` (补卡) and its Approve / Reject buttons; ``/checkin annul|restore`` for county
admins. Thin: parse, call :mod:`services.requests`, render."""

from __future__ import annotations

from datetime import date
from typing import Any

from babel.dates import format_skeleton
from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import outbox
from bot.context import CunbotContext
from bot.i18n import t
from handlers import problem_list as problem_handlers
from handlers.common import (
    NEW_MESSAGES,
    approve_reject,
    button_chat,
    in_group,
    message_of,
    prompt_for,
    reply,
    reply_problem,
    tg_user,
)
from reports.text import distance_text
from rules import callbacks
from rules.checkin import local_moment
from rules.ids import parse_id
from rules.logs import readable
from rules.problems import Problem
from rules.requests import MAKE_UP_BUTTON
from services import requests
from services.problem_list import Moved
from services.requests import Asked, Decided, RequestView
from storage.models import CheckinRequest

DECIDE = "mk"
CANCEL_WORDS = ("cancel", "撤回", "取消")
FIELD = "fd"
MAKE_UP = MAKE_UP_BUTTON  # under a missed-window reminder


def _day(lang: str, day: date) -> str:
    return format_skeleton("MMMdE", day, locale=lang)


def _localized(lang: str, problem: Problem) -> Problem:
    """A refusal naming a window names it in the reader's language."""
    window = problem.params.get("window")
    if not isinstance(window, str):
        return problem
    return Problem(problem.key, {**problem.params, "window": t(lang, f"window.{window}")})


def request_text(lang: str, view: RequestView) -> str:
    r, point = view.request, view.attempt
    lines = [
        t(
            lang,
            f"{r.kind}.request",
            id=r.id,
            name=view.member.display_name,
            team=view.team.village,
            day=_day(lang, r.day),
            window=t(lang, f"window.{r.window}"),
        )
    ]
    if point is not None:
        where = t(
            lang,
            "field.where",
            distance=distance_text(lang, point.distance_m or 0.0),
            site=point.site_name or "",
            time=local_moment(point.sent_at, view.team.tz).strftime("%H:%M"),
        )
        lines.append(where)
    lines.append(t(lang, "makeup.reason", reason=readable(r.reason)))
    if r.photo_file_id:
        lines.append(t(lang, "field.photo"))
    if r.state == "pending":
        lines.append(t(lang, f"makeup.waiting.{r.level}"))
    elif r.decided_by is None and r.state == "approved":
        lines.append(t(lang, "field.state.counted_at_once"))
    else:
        by = view.decided_by.display_name if view.decided_by else ""
        state = f"{r.kind}.state.approved" if r.state == "approved" else f"makeup.state.{r.state}"
        if r.state == "cancelled" and r.note == requests.WITHDRAWN:
            state = "makeup.state.withdrawn"
        lines.append(t(lang, state, by=by))
        if r.state == "rejected" and r.note:
            lines.append(t(lang, "makeup.rejected_because", note=r.note))
    return "\n".join(lines)


def _buttons(lang: str, request_id: int) -> InlineKeyboardMarkup:
    return approve_reject(lang, DECIDE, request_id)


async def deliver(
    context: CunbotContext, asked: Asked, note_key: str | None = None, hours: int = 0
) -> list[str]:
    """The request with its buttons: in the team's group for its leaders, privately for a
    township or county; ``note_key`` heads a reminder or an escalation. Returns the names of
    deciders who cannot be written to."""
    view = asked.view
    copies: list[tuple[int | None, int, int]] = []
    missed: list[str] = []

    def note(lang: str) -> str:
        return t(lang, note_key, hours=hours) + "\n\n" if note_key else ""

    if asked.in_group and view.team.chat_id is not None:
        lang = asked.group_lang
        names = t(lang, "sep.list").join(a.person.display_name for a in asked.approvers)
        text = t(lang, "makeup.for_leaders", names=names) + "\n\n" + request_text(lang, view)
        text = note(lang) + text
        row = await context.say(
            outbox.message(view.team.chat_id, text, markup=_buttons(lang, view.request.id))
        )
        copies.append((None, view.team.chat_id, row))
    else:
        for approver in asked.approvers:
            if not approver.reachable:
                missed.append(approver.person.display_name)
                continue
            chat = approver.person.tg_user_id
            text = note(approver.lang) + request_text(approver.lang, view)
            row = await context.say(
                outbox.message(chat, text, markup=_buttons(approver.lang, view.request.id))
            )
            copies.append((approver.person.id, chat, row))
    await requests.record_sent(context.store, view.request.id, copies)
    return missed


async def makeup_command(update: Update, context: CunbotContext) -> None:
    """``/makeup <day> <window> <reason>``: ask to set a missed window right."""
    message = message_of(update)
    lang = await context.lang(update)
    words = list(context.args or [])
    if words and words[0].lower() in CANCEL_WORDS:
        cancelled = await requests.cancel(
            context.store, context.now(), tg_user(update), message.chat_id,
            not in_group(update), words[1:], context.settings.lang,
        )  # fmt: skip
        if isinstance(cancelled, Problem):
            await reply_problem(update, context, cancelled)
            return
        await _after(context, cancelled)
        await reply(update, context, "makeup.cancelled", id=cancelled.view.request.id)
        return
    asked = await requests.ask_makeup(
        context.store,
        context.now(),
        tg_user(update),
        message.chat_id,
        not in_group(update),
        list(context.args or []),
        context.settings.lang,
    )
    if isinstance(asked, Problem):
        await reply_problem(update, context, _localized(lang, asked))
        return
    r = asked.view.request
    if asked.again:
        await reply(update, context, "makeup.again", **_params(lang, r))
        return
    await _sent(update, context, lang, asked)


def _params(lang: str, r: CheckinRequest) -> dict[str, Any]:
    return {"id": r.id, "day": _day(lang, r.day), "window": t(lang, f"window.{r.window}")}


async def _sent(update: Update, context: CunbotContext, lang: str, asked: Asked) -> None:
    """Send the copies, then tell the member where the request went (and who cannot be
    written to yet)."""
    r = asked.view.request
    missed = await deliver(context, asked)
    names = t(lang, "sep.list").join(a.person.display_name for a in asked.approvers)
    await reply(update, context, f"{r.kind}.asked.{r.level}", names=names, **_params(lang, r))
    if missed:
        await reply(update, context, "makeup.unreachable", names=t(lang, "sep.list").join(missed))


async def _after(context: CunbotContext, decided: Decided) -> None:
    """Every copy shows the decision (its buttons gone); the member hears it where asked."""
    for _, chat, message, row, lang in decided.copies:
        await context.say(
            outbox.edit(
                chat,
                request_text(lang, decided.view),
                message_id=message,
                target_id=row if message is None else None,
                markup=None,
            )
        )
    r = decided.view.request
    member = decided.member
    if decided.outcome == "cancelled":
        return  # the member withdrew it: they are answered where they asked
    by = decided.view.decided_by.display_name if decided.view.decided_by else ""
    # The group hears the decision; a rejection's reason goes to the member privately (or
    # there, if they asked privately), as leave does.
    reason = r.state == "rejected" and bool(r.note)
    chats: list[tuple[int, str, bool]] = []
    if r.chat_id < 0:
        chats.append((r.chat_id, decided.group_lang, False))
    if member.reachable and (r.chat_id > 0 or reason):
        chats.append((member.person.tg_user_id, member.lang, reason))
    for chat, lang, with_reason in chats:
        text = t(
            lang,
            f"{r.kind}.notice_{decided.outcome}",
            id=r.id,
            name=decided.view.member.display_name,
            day=_day(lang, r.day),
            window=t(lang, f"window.{r.window}"),
            by=by,
        )
        if with_reason:
            text += "\n" + t(lang, "makeup.rejected_because", note=r.note)
        await context.say(outbox.message(chat, text, gather=chat < 0))


async def _pressed(
    update: Update, context: CunbotContext, lang: str, actions: tuple[str, ...]
) -> tuple[int, str] | None:
    """The id and action a button of ours carries (``v1:mk:12:a``); None, answered as
    stale, for data our encoder could not have written."""
    query = update.callback_query
    assert query is not None
    decoded = callbacks.decode(query.data)
    parts = decoded[1] if decoded else []
    number = parse_id(parts[0]) if parts else None
    action = parts[1] if len(parts) == 2 else ""
    if number is None or len(parts) != 1 + bool(actions) or (actions and action not in actions):
        await context.answer(update, t(lang, "err.stale_button"), alert=True)
        return None
    return number, action


async def on_button(update: Update, context: CunbotContext) -> None:
    lang = await context.lang(update)
    pressed = await _pressed(update, context, lang, ("a", "r"))
    if pressed is None:
        return
    number, action = pressed
    user, now = tg_user(update), context.now()
    if action == "r":
        chat_id, private = button_chat(update)
        view = await requests.ask_reject_reason(context.store, now, user, chat_id, number)
        if isinstance(view, Problem):
            await context.answer(update, t(lang, view.key, **view.params), alert=True)
            return
        await context.answer(update, t(lang, "leave.answer_reason"))
        r = view.request
        params = _params(lang, r)
        prompt = t(lang, f"{r.kind}.ask_reject_reason", name=view.member.display_name, **params)
        if not private:
            assert update.effective_user is not None  # a press always has its presser
            prompt = f"{prompt_for(update.effective_user)} {prompt}"
        await context.say(outbox.message(chat_id, prompt, markup=ForceReply(selective=True)))
        return
    decided = await requests.approve(context.store, now, user, number, context.settings.lang)
    if isinstance(decided, Problem):
        await context.answer(update, t(lang, decided.key, **decided.params), alert=True)
        return
    kind = decided.view.request.kind
    await context.answer(update, t(lang, f"{kind}.answer_{decided.outcome}", id=number))
    await _after(context, decided)


async def correct_command(update: Update, context: CunbotContext) -> None:
    """``/checkin annul <id> <note>`` and ``/checkin restore <id> <note>`` (county admins)."""
    corrected = await requests.correct(
        context.store, context.now(), tg_user(update), list(context.args or [])
    )
    if isinstance(corrected, Problem):
        await reply_problem(update, context, corrected)
        return
    lang = await context.lang(update)
    c = corrected.checkin
    await reply(
        update,
        context,
        "correct.restored" if corrected.restored else "correct.annulled",
        id=c.id,
        name=corrected.member.display_name,
        team=corrected.team.village,
        day=_day(lang, c.local_date),
        window=t(lang, f"window.{c.window}") if c.window else "",
    )


# ---------------------------------------------------------------------- field check-ins
def field_button(lang: str, attempt_id: int) -> InlineKeyboardMarkup:
    """Under a refusal for being outside every site: make it a field check-in."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(lang, "field.button"), callback_data=callbacks.encode(FIELD, attempt_id)
                )
            ]
        ]
    )


async def on_field_button(update: Update, context: CunbotContext) -> None:
    query = update.callback_query
    assert query is not None
    lang = await context.lang(update)
    pressed = await _pressed(update, context, lang, ())
    if pressed is None:
        return
    number = pressed[0]
    chat_id, private = button_chat(update)
    prompt = await requests.start_field(
        context.store, context.now(), tg_user(update), chat_id, number
    )
    if isinstance(prompt, Problem):
        problem = _localized(lang, prompt)
        await context.answer(update, t(lang, problem.key, **problem.params), alert=True)
        return
    await context.answer(update, t(lang, "field.answer_asked"))
    a = prompt.attempt
    text = t(
        lang,
        "field.ask_reason",
        window=t(lang, f"window.{a.window}"),
        distance=distance_text(lang, a.distance_m or 0.0),
    )
    if not private:
        text = f"{prompt_for(query.from_user)} {text}"
    await context.say(outbox.message(chat_id, text, markup=ForceReply(selective=True)))


async def typed_reason(update: Update, context: CunbotContext) -> None:
    """A reason typed after Reject, after a missed window's button, or (possibly as a
    photo's caption) after "check in as field work". Runs before the other text handlers;
    anything else passes on untouched."""
    message = message_of(update)
    if update.effective_user is None or message.sender_chat is not None:
        return
    found = await requests.answer_typed(
        context.store,
        context.now(),
        tg_user(update),
        message.chat_id,
        message.text or message.caption or "",
        message.photo[-1].file_id if message.photo else None,
        context.settings.lang,
    )
    if found is None:
        return
    lang = await context.lang(update)
    if isinstance(found, Moved) or (
        isinstance(found, Problem) and found.key.startswith("problem.")
    ):
        await problem_handlers.answer_typed(update, context, found)
    elif isinstance(found, Problem):
        await reply_problem(update, context, _localized(lang, found))
    elif isinstance(found, Decided):
        await _after(context, found)
        await reply(update, context, "makeup.rejected_done", id=found.view.request.id)
    elif isinstance(found, Asked) and found.again:
        await reply(update, context, "makeup.again", **_params(lang, found.view.request))
    elif isinstance(found, Asked):
        await _sent(update, context, lang, found)
    else:
        await reply(update, context, "field.counted", **_params(lang, found.view.request))
    raise ApplicationHandlerStop


async def on_makeup_button(update: Update, context: CunbotContext) -> None:
    """Under a missed-window reminder: ask for a make-up of that window, reason next."""
    query = update.callback_query
    assert query is not None
    lang = await context.lang(update)
    decoded = callbacks.decode(query.data)
    parts = decoded[1] if decoded else []
    if len(parts) != 2:
        await context.answer(update, t(lang, "err.stale_button"), alert=True)
        return
    chat_id, _ = button_chat(update)
    prompt = await requests.start_makeup(
        context.store, context.now(), tg_user(update), chat_id, parts[0], parts[1]
    )
    if isinstance(prompt, Problem):
        problem = _localized(lang, prompt)
        await context.answer(update, t(lang, problem.key, **problem.params), alert=True)
        return
    await context.answer(update, t(lang, "makeup.answer_asked"))
    text = t(
        lang,
        "makeup.ask_reason",
        window=t(lang, f"window.{prompt.window}"),
        day=_day(lang, prompt.day),
    )
    await context.say(outbox.message(chat_id, text, markup=ForceReply(selective=True)))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("makeup", makeup_command, filters=NEW_MESSAGES))
    app.add_handler(CallbackQueryHandler(on_button, pattern=rf"^v1:{DECIDE}:"))
    app.add_handler(CallbackQueryHandler(on_field_button, pattern=rf"^v1:{FIELD}:"))
    app.add_handler(CallbackQueryHandler(on_makeup_button, pattern=rf"^v1:{MAKE_UP}:"))
    # Before every other handler of typed text (a group of its own: it passes on what is
    # not a field check-in's reason).
    app.add_handler(
        MessageHandler(
            NEW_MESSAGES & ~filters.COMMAND & (filters.TEXT | filters.PHOTO), typed_reason
        ),
        group=-1,
    )
