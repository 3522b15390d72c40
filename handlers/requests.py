"""``/makeup`` (补卡) and its Approve / Reject buttons; ``/checkin annul|restore`` for county
admins. Thin: parse, call :mod:`services.requests`, render."""

from __future__ import annotations

from datetime import date

from babel.dates import format_skeleton
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import outbox
from bot.context import CunbotContext
from bot.i18n import t
from handlers.common import NEW_MESSAGES, in_group, message_of, reply, reply_problem, tg_user
from rules import callbacks
from rules.ids import parse_id
from rules.problems import Problem
from services import requests
from services.requests import Asked, Decided, RequestView

DECIDE = "mk"


def _day(lang: str, day: date) -> str:
    return format_skeleton("MMMdE", day, locale=lang)


def _localized(lang: str, problem: Problem) -> Problem:
    """A refusal naming a window names it in the reader's language."""
    window = problem.params.get("window")
    if not isinstance(window, str):
        return problem
    return Problem(problem.key, {**problem.params, "window": t(lang, f"window.{window}")})


def request_text(lang: str, view: RequestView) -> str:
    r = view.request
    lines = [
        t(
            lang,
            "makeup.request",
            id=r.id,
            name=view.member.display_name,
            team=view.team.village,
            day=_day(lang, r.day),
            window=t(lang, f"window.{r.window}"),
        ),
        t(lang, "makeup.reason", reason=r.reason),
    ]
    if r.state == "pending":
        lines.append(t(lang, f"makeup.waiting.{r.level}"))
    else:
        by = view.decided_by.display_name if view.decided_by else ""
        lines.append(t(lang, f"makeup.state.{r.state}", by=by))
    return "\n".join(lines)


def _buttons(lang: str, request_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(lang, "leave.button.approve"),
                    callback_data=callbacks.encode(DECIDE, request_id, "a"),
                ),
                InlineKeyboardButton(
                    t(lang, "leave.button.reject"),
                    callback_data=callbacks.encode(DECIDE, request_id, "r"),
                ),
            ]
        ]
    )


async def _deliver(context: CunbotContext, asked: Asked) -> list[str]:
    """The request with its buttons: in the team's group for its leaders, privately for a
    township or county. Returns the names of deciders who cannot be written to."""
    view = asked.view
    copies: list[tuple[int | None, int, int]] = []
    missed: list[str] = []
    if asked.in_group and view.team.chat_id is not None:
        lang = asked.group_lang
        names = t(lang, "sep.list").join(a.person.display_name for a in asked.approvers)
        text = t(lang, "makeup.for_leaders", names=names) + "\n\n" + request_text(lang, view)
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
            text = request_text(approver.lang, view)
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
    params = {"id": r.id, "day": _day(lang, r.day), "window": t(lang, f"window.{r.window}")}
    if asked.again:
        await reply(update, context, "makeup.again", **params)
        return
    missed = await _deliver(context, asked)
    names = t(lang, "sep.list").join(a.person.display_name for a in asked.approvers)
    await reply(update, context, f"makeup.asked.{r.level}", names=names, **params)
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
    where = r.chat_id if r.chat_id < 0 or member.reachable else None
    if where is None:
        return
    lang = decided.group_lang if where < 0 else member.lang
    by = decided.view.decided_by.display_name if decided.view.decided_by else ""
    text = t(
        lang,
        f"makeup.notice_{decided.outcome}",
        id=r.id,
        name=decided.view.member.display_name,
        day=_day(lang, r.day),
        window=t(lang, f"window.{r.window}"),
        by=by,
    )
    await context.say(outbox.message(where, text, gather=where < 0))


async def on_button(update: Update, context: CunbotContext) -> None:
    query = update.callback_query
    assert query is not None
    lang = await context.lang(update)
    decoded = callbacks.decode(query.data)
    number = parse_id(decoded[1][0]) if decoded and len(decoded[1]) == 2 else None
    if decoded is None or number is None or decoded[1][1] not in ("a", "r"):
        await context.answer(update, t(lang, "err.stale_button"), alert=True)
        return
    approve = decoded[1][1] == "a"
    decided = await requests.decide(
        context.store, context.now(), tg_user(update), number, approve, context.settings.lang
    )
    if isinstance(decided, Problem):
        await context.answer(update, t(lang, decided.key, **decided.params), alert=True)
        return
    await context.answer(update, t(lang, f"makeup.answer_{decided.outcome}", id=number))
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


def register(app: Application) -> None:
    app.add_handler(CommandHandler("makeup", makeup_command, filters=NEW_MESSAGES))
    app.add_handler(CallbackQueryHandler(on_button, pattern=rf"^v1:{DECIDE}:"))
