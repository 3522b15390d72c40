"""Leave: /leave (one line, or step by step with an inline calendar), the Approve / Reject /
Cancel buttons, a rejection's reason, /back and /leaves.

Every change to a request re-renders every copy of it the bot sent (approvers' messages, the
member's), so nobody presses a button on a request that has moved on."""

from __future__ import annotations

import logging
from datetime import date, datetime

from telegram import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import outbox
from bot.context import CunbotContext
from bot.i18n import t
from handlers.common import (
    NEW_MESSAGES,
    approve_reject,
    button_chat,
    in_group,
    message_of,
    prompt_for,
    reply_problem,
    tg_user,
)
from rules import callbacks
from rules import leave as rules
from rules.checkin import local_moment
from rules.ids import parse_id
from rules.problems import Problem
from services import leave
from services.leave import Decided, Dialogue, LeaveList, LeaveView, Recipient, Returned, Routed
from storage.models import LeaveMessage

log = logging.getLogger(__name__)

DECIDE = "lv"  # v1:lv:<request id>:<a|r|c>
TALK = "ld"  # v1:ld:<k|d|m|x|n>[:value], the dialogue's buttons


# ---------------------------------------------------------------------- rendering
def _span(lang: str, first: date, last: date) -> str:
    days = rules.length(first, last)
    if first == last:
        return t(lang, "leave.span_one", first=first.isoformat())
    return t(lang, "leave.span", first=first.isoformat(), last=last.isoformat(), days=days)


def _names(lang: str, recipients: tuple[Recipient, ...] | list[str]) -> str:
    names = [r if isinstance(r, str) else r.person.display_name for r in recipients]
    return t(lang, "sep.list").join(names)


def _when(view: LeaveView, moment: datetime) -> str:
    return local_moment(moment, view.team.tz).strftime("%m-%d %H:%M")


def request_text(lang: str, view: LeaveView, public: bool) -> str:
    """A request as every copy shows it; ``public`` (a group) leaves out the reason and
    the member's month."""
    r = view.leave
    lines = [
        t(lang, "leave.title", id=r.id, name=view.member.display_name, village=view.team.village),
        t(
            lang,
            "leave.what",
            kind=t(lang, f"leave.kind.{r.kind}"),
            span=_span(lang, r.first, r.last),
        ),
    ]
    if not public:
        lines.append(t(lang, "leave.reason", reason=r.reason))
        if view.month is not None:
            f = view.month
            lines.append(
                t(
                    lang,
                    "leave.month",
                    present=f.present,
                    leave=f.leave,
                    absent=f.absent,
                    quota=f.quota_days,
                )
            )
    for decision, who in view.decisions:
        key = "leave.line_approved" if decision.decision == "approved" else "leave.line_rejected"
        if public and decision.decision != "approved":
            key = "leave.line_rejected_public"  # the group learns the decision, never why
        lines.append(
            t(
                lang,
                key,
                name=who.display_name,
                level=t(lang, f"leave.level.{decision.level}"),
                time=_when(view, decision.decided_at),
                note=decision.note or "",
            )
        )
    if r.state == "pending":
        lines.append(
            t(
                lang,
                "leave.waiting",
                level=t(lang, f"leave.level.{r.level}"),
                step=r.step + 1,
                steps=len(r.route),
            )
        )
    elif r.state == "approved":
        lines.append(t(lang, "leave.state_approved"))
    elif r.state == "cancelled":
        assert r.decided_at is not None
        lines.append(
            t(
                lang,
                "leave.state_cancelled",
                name=view.member.display_name,
                time=_when(view, r.decided_at),
            )
        )
    return "\n".join(lines)


def _approver_buttons(lang: str, request_id: int) -> InlineKeyboardMarkup:
    return approve_reject(lang, DECIDE, request_id)


def _page(year: str, month: str) -> tuple[int, int] | None:
    """A calendar page a button asks for; a made-up one (month 13, year 0) is none."""
    y, m = parse_id(year), parse_id(month)
    return (y, m) if y is not None and m is not None and 1 <= m <= 12 and y < 9999 else None


def _level_key(level: str, deciders: int) -> str:
    """ "the team leaders: Li, Zhao" when a team has two."""
    return "leave.level.leaders" if level == "leader" and deciders > 1 else f"leave.level.{level}"


def _cancel_button(lang: str, request_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(lang, "leave.button.cancel"),
                    callback_data=callbacks.encode(DECIDE, request_id, "c"),
                )
            ]
        ]
    )


def _copy_markup(lang: str, view: LeaveView, copy: LeaveMessage) -> InlineKeyboardMarkup | None:
    r = view.leave
    if copy.purpose == "member":
        return _cancel_button(lang, r.id) if r.state in ("pending", "approved") else None
    if r.state == "pending" and copy.step == r.step:
        return _approver_buttons(lang, r.id)
    return None


# ---------------------------------------------------------------------- sending
async def deliver(
    context: CunbotContext, routed: Routed, note_key: str | None = None, hours: int = 0
) -> list[str]:
    """Send the request with Approve / Reject to each approver of its step; the names of
    those who cannot be reached (they never wrote to the bot, or blocked it). A team leader
    who cannot be written to privately gets the buttons in the team's group instead (only
    approvers can press them)."""
    view = routed.view
    copies: list[tuple[int | None, str, int, int]] = []
    missed: list[str] = []
    for approver in routed.approvers:
        if not approver.reachable:
            missed.append(approver.person.display_name)
            continue
        lang = approver.lang
        text = request_text(lang, view, public=False)
        if note_key:
            text = t(lang, note_key, hours=hours) + "\n\n" + text
        chat_id = approver.person.tg_user_id
        row = await context.say(
            outbox.message(chat_id, text, markup=_approver_buttons(lang, view.leave.id))
        )
        copies.append((approver.person.id, "approver", chat_id, row))
    group = view.team.chat_id
    if not copies and view.leave.level == "leader" and group is not None:
        lang = routed.group_lang
        text = t(lang, "leave.group_approvers", names=_names(lang, missed))
        text += "\n\n" + request_text(lang, view, public=True)
        row = await context.say(
            outbox.message(group, text, markup=_approver_buttons(lang, view.leave.id))
        )
        copies.append((None, "approver", group, row))
        missed = []
    await leave.record_sent(context.store, context.now(), view.leave.id, view.leave.step, copies)
    return missed


async def refresh(context: CunbotContext, decided: Decided) -> None:
    """Re-render every copy of the request after a change; buttons follow its state. A copy
    still in the outbox is edited once it is sent (the edit waits behind it)."""
    for copy, lang in decided.messages:
        public = copy.chat_id < 0
        await context.say(
            outbox.edit(
                copy.chat_id,
                request_text(lang, decided.view, public),
                message_id=copy.message_id,
                target_id=copy.outbox_id if copy.message_id is None else None,
                markup=_copy_markup(lang, decided.view, copy),
            )
        )


async def _announce(context: CunbotContext, decided: Decided) -> None:
    """Tell the team's group and, if they asked privately, the member."""
    view, r = decided.view, decided.view.leave
    name = view.member.display_name
    key = f"leave.notice_{decided.outcome}"
    who = view.decided_by.display_name if view.decided_by else ""
    if view.team.chat_id is not None:
        lang = decided.group_lang
        text = t(lang, key, id=r.id, name=name, span=_span(lang, r.first, r.last), by=who)
        await context.say(outbox.message(view.team.chat_id, text, gather=True))
    # Asked privately, the member hears it there; asked in the group, a rejection's reason
    # (which the group never sees) still reaches them privately when the bot may write.
    privately = r.chat_id > 0 or (bool(r.note) and decided.member.reachable)
    if privately and decided.outcome != "cancelled":
        lang = decided.member.lang
        text = t(lang, key, id=r.id, name=name, span=_span(lang, r.first, r.last), by=who)
        if r.note:
            text += "\n" + t(lang, "leave.reason_given", note=r.note)
        await context.say(outbox.message(decided.member.person.tg_user_id, text))


async def after_decision(context: CunbotContext, decided: Decided) -> None:
    await refresh(context, decided)
    if decided.outcome == "advanced":
        assert decided.next_step is not None
        await deliver(context, decided.next_step)
    else:
        await _announce(context, decided)


# ---------------------------------------------------------------------- /leave
async def leave_command(update: Update, context: CunbotContext) -> None:
    """Ask for leave: ``/leave`` step by step, or ``/leave <first> [<last>] <kind> <reason>``."""
    args = context.args or []
    if args and args[0].lower() in ("cancel", "取消"):
        await _cancel(update, context, args[1:])
        return
    if args and args[0].lower() in ("list", "列表"):
        await leaves_command(update, context)
        return
    message = message_of(update)
    if not args:
        started = await leave.start_dialogue(
            context.store, context.now(), tg_user(update), message.chat_id, not in_group(update)
        )
        if isinstance(started, Problem):
            await reply_problem(update, context, started)
            return
        await _show_dialogue(update, context, started, reply_to=message)
        return
    routed = await leave.request_leave(
        context.store,
        context.now(),
        tg_user(update),
        message.chat_id,
        not in_group(update),
        args,
        context.settings.lang,
    )
    await _after_request(update, context, routed)


async def _after_request(update: Update, context: CunbotContext, routed: Routed | Problem) -> None:
    if isinstance(routed, Problem):
        await reply_problem(update, context, routed)
        return
    missed = await deliver(context, routed)
    view, r = routed.view, routed.view.leave
    message = message_of(update)
    private = not in_group(update)
    lang = await context.lang(update)
    lines = [
        t(
            lang,
            "leave.asked",
            id=r.id,
            kind=t(lang, f"leave.kind.{r.kind}"),
            span=_span(lang, r.first, r.last),
        ),
        t(
            lang,
            "leave.sent_to",
            level=t(lang, _level_key(r.level, len(routed.approvers))),
            names=_names(lang, routed.approvers),
        ),
    ]
    if missed:
        lines.append(t(lang, "leave.unreachable", names=_names(lang, missed)))
    answer = await context.reply(update, "\n".join(lines), markup=_cancel_button(lang, r.id))
    await leave.record_sent(
        context.store,
        context.now(),
        r.id,
        r.step,
        [(view.member.id, "member", message.chat_id, answer)],
    )
    if private and view.team.chat_id is not None:
        glang = routed.group_lang
        notice = t(
            glang,
            "leave.notice_requested",
            name=view.member.display_name,
            span=_span(glang, r.first, r.last),
            level=t(glang, f"leave.level.{r.level}"),
        )
        await context.say(outbox.message(view.team.chat_id, notice, gather=True))


async def _cancel(update: Update, context: CunbotContext, words: list[str]) -> None:
    request_id = parse_id(words[0]) if words else None
    if words and request_id is None:
        await reply_problem(update, context, Problem("leave.err.cancel_usage"))
        return
    decided = await leave.cancel(
        context.store, context.now(), tg_user(update), request_id, context.settings.lang
    )
    if isinstance(decided, Problem):
        await reply_problem(update, context, decided)
        return
    await after_decision(context, decided)
    r = decided.view.leave
    lang = await context.lang(update)
    await context.reply(
        update, t(lang, "leave.cancelled", id=r.id, span=_span(lang, r.first, r.last))
    )


# ---------------------------------------------------------------------- the dialogue
def _calendar(lang: str, d: Dialogue, year: int, month: int) -> list[list[InlineKeyboardButton]]:
    noop = callbacks.encode(TALK, "n")
    rows = [
        [
            InlineKeyboardButton(
                "‹", callback_data=callbacks.encode(TALK, "m", _month_key(year, month, -1))
            ),
            InlineKeyboardButton(f"{year}-{month:02d}", callback_data=noop),
            InlineKeyboardButton(
                "›", callback_data=callbacks.encode(TALK, "m", _month_key(year, month, 1))
            ),
        ],
        [InlineKeyboardButton(w, callback_data=noop) for w in t(lang, "leave.weekdays").split()],
    ]
    for week in rules.month_grid(year, month):
        row = []
        for day in week:
            if day is None or not d.earliest <= day <= d.latest:
                row.append(InlineKeyboardButton(str(day.day) if day else " ", callback_data=noop))
            else:
                row.append(
                    InlineKeyboardButton(
                        f"{day.day}", callback_data=callbacks.encode(TALK, "d", day.isoformat())
                    )
                )
        rows.append(row)
    return rows


def _month_key(year: int, month: int, by: int) -> str:
    y, m = rules.shift_month(year, month, by)
    return f"{y}-{m:02d}"


def _dialogue_view(
    lang: str, d: Dialogue, page: tuple[int, int] | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    cancel = [
        InlineKeyboardButton(
            t(lang, "leave.button.stop"), callback_data=callbacks.encode(TALK, "x")
        )
    ]
    if d.step == "kind":
        kinds = [
            InlineKeyboardButton(
                t(lang, f"leave.kind.{k}"), callback_data=callbacks.encode(TALK, "k", k)
            )
            for k in rules.LEAVE_KINDS
        ]
        return t(lang, "leave.ask_kind"), InlineKeyboardMarkup([kinds[:2], kinds[2:], cancel])
    kind = t(lang, f"leave.kind.{d.kind}")
    if d.step == "reason":
        assert d.first is not None and d.last is not None
        return t(lang, "leave.ask_reason", kind=kind, span=_span(lang, d.first, d.last)), None
    start = d.first if d.step == "last" and d.first else d.earliest
    year, month = page or (start.year, start.month)
    rows = [*_calendar(lang, d, year, month), cancel]
    if d.step == "first":
        text = t(lang, "leave.ask_first", kind=kind)
    else:
        assert d.first is not None
        text = t(lang, "leave.ask_last", kind=kind, first=d.first.isoformat())
    return text, InlineKeyboardMarkup(rows)


async def _show_dialogue(
    update: Update, context: CunbotContext, d: Dialogue, reply_to: Message
) -> None:
    lang = await context.lang(update)
    text, markup = _dialogue_view(lang, d)
    if markup is None and in_group(update):
        # The reason is typed: in a group, a reply to the bot reaches it even in privacy mode.
        buttons: outbox.Markup | None = ForceReply(selective=True)
    else:
        buttons = markup
    shown = await context.say(
        outbox.message(reply_to.chat_id, text, markup=buttons, reply_to=reply_to.message_id)
    )
    await leave.dialogue_shown(
        context.store, context.now(), tg_user(update), reply_to.chat_id, shown
    )


async def _talk(update: Update, context: CunbotContext, parts: list[str]) -> None:
    query = update.callback_query
    assert query is not None
    action, value = parts[0], (parts[1] if len(parts) > 1 else "")
    lang = await context.lang(update)
    if query.message is None:  # the dialogue's message is gone: nothing to step through
        await _refuse(update, context, lang, Problem("leave.err.dialogue_gone"))
        return
    if action == "n":
        await context.answer(update)
        return
    given: leave.DialogueInput = {
        "k": ("kind", value),
        "d": ("day", value),
        "m": ("view", value),
        "x": ("cancel", value),
    }.get(action, ("view", value))  # type: ignore[assignment]
    chat_id, message_id = query.message.chat.id, query.message.message_id
    moved = await leave.dialogue_step(
        context.store,
        context.now(),
        tg_user(update),
        chat_id,
        message_id,
        given,
        context.settings.lang,
    )
    if moved is None or (isinstance(moved, Problem) and moved.key != "leave.dialogue_cancelled"):
        await _refuse(update, context, lang, moved or Problem("leave.err.dialogue_gone"))
        return
    await context.answer(update)

    async def show(text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        shown = query.message
        if isinstance(shown, Message) and shown.text == text and shown.reply_markup == markup:
            return  # the same page again: Telegram refuses an edit that changes nothing
        await context.say(outbox.edit(chat_id, text, message_id=message_id, markup=markup))

    if isinstance(moved, Problem):  # cancelled by the member
        await show(t(lang, moved.key))
        return
    if isinstance(moved, Routed):
        await show(t(lang, "leave.dialogue_done", id=moved.view.leave.id))
        await _after_request(update, context, moved)
        return
    page = None
    if given[0] == "view":
        year, _, month = value.partition("-")
        page = _page(year, month)
    text, markup = _dialogue_view(lang, moved, page)
    await show(text, markup)
    if markup is None and in_group(update):
        await _prompt_reason_in_group(update, context, text)


async def _prompt_reason_in_group(update: Update, context: CunbotContext, text: str) -> None:
    """In a group, ask for the reason with a reply the member is prompted to answer."""
    user = update.effective_user
    assert user is not None and update.effective_chat is not None
    chat_id = update.effective_chat.id
    shown = await context.say(
        outbox.message(chat_id, f"{prompt_for(user)} {text}", markup=ForceReply(selective=True))
    )
    await leave.dialogue_shown(context.store, context.now(), tg_user(update), chat_id, shown)


async def text_input(update: Update, context: CunbotContext) -> None:
    """A typed answer: a rejection's reason, or a date or reason in the leave dialogue."""
    message = message_of(update)
    if update.effective_user is None or not message.text:
        return
    user, now, lang_default = tg_user(update), context.now(), context.settings.lang
    decided = await leave.reject_with_reason(
        context.store, now, user, message.chat_id, message.text, lang_default
    )
    if isinstance(decided, Problem):
        await reply_problem(update, context, decided)
        return
    if decided is not None:
        await after_decision(context, decided)
        r = decided.view.leave
        await context.reply(update, t(await context.lang(update), "leave.rejected_done", id=r.id))
        return
    moved = await leave.dialogue_step(
        context.store, now, user, message.chat_id, None, ("text", message.text), lang_default
    )
    if moved is None:
        return  # not an answer to anything of ours
    if isinstance(moved, Problem):
        await reply_problem(update, context, moved)
        return
    if isinstance(moved, Routed):
        await _after_request(update, context, moved)
        return
    await _show_dialogue(update, context, moved, reply_to=message)


# ---------------------------------------------------------------------- buttons
async def _refuse(update: Update, context: CunbotContext, lang: str, problem: Problem) -> None:
    await context.answer(update, t(lang, problem.key, **problem.params), alert=True)


async def on_button(update: Update, context: CunbotContext) -> None:
    """Approve, Reject, Cancel, and the dialogue's buttons. Always answered."""
    query = update.callback_query
    assert query is not None
    decoded = callbacks.decode(query.data)
    lang = await context.lang(update)
    if decoded is None:
        await context.answer(update, t(lang, "err.stale_button"), alert=True)
        return
    kind, parts = decoded
    if kind == TALK and parts:
        await _talk(update, context, parts)
        return
    if kind != DECIDE or len(parts) != 2 or not parts[0].isdigit():
        await context.answer(update, t(lang, "err.stale_button"), alert=True)
        return
    request_id, action = int(parts[0]), parts[1]
    user, now = tg_user(update), context.now()
    if action == "a":
        decided = await leave.approve(context.store, now, user, request_id, context.settings.lang)
        if isinstance(decided, Problem):
            await _refuse(update, context, lang, decided)
            return
        await context.answer(update, t(lang, "leave.answer_approved", id=request_id))
        await after_decision(context, decided)
    elif action == "r":
        chat_id, private = button_chat(update)
        view = await leave.ask_reject_reason(context.store, now, user, chat_id, request_id)
        if isinstance(view, Problem):
            await _refuse(update, context, lang, view)
            return
        await context.answer(update, t(lang, "leave.answer_reason"))
        r = view.leave
        prompt = t(
            lang,
            "leave.ask_reject_reason",
            id=r.id,
            name=view.member.display_name,
            span=_span(lang, r.first, r.last),
        )
        if not private:
            prompt = f"{prompt_for(query.from_user)} {prompt}"
        await context.say(outbox.message(chat_id, prompt, markup=ForceReply(selective=True)))
    elif action == "c":
        decided = await leave.cancel(context.store, now, user, request_id, context.settings.lang)
        if isinstance(decided, Problem):
            await _refuse(update, context, lang, decided)
            return
        await context.answer(update, t(lang, "leave.answer_cancelled", id=request_id))
        await after_decision(context, decided)
    else:
        await context.answer(update, t(lang, "err.stale_button"), alert=True)


# ---------------------------------------------------------------------- /back, /leaves
async def back_command(update: Update, context: CunbotContext) -> None:
    """Report back from leave (销假)."""
    message = message_of(update)
    returned = await leave.come_back(
        context.store,
        context.now(),
        tg_user(update),
        message.chat_id,
        not in_group(update),
        context.settings.lang,
    )
    if isinstance(returned, Problem):
        await reply_problem(update, context, returned)
        return
    lang = await context.lang(update)
    await context.reply(update, back_text(lang, returned))
    chat_id = returned.view.team.chat_id
    if chat_id is not None and chat_id != message.chat_id:
        await context.say(
            outbox.message(chat_id, back_text(returned.group_lang, returned), gather=True)
        )


def back_text(lang: str, returned: Returned) -> str:
    r = returned.view.leave
    name = returned.view.member.display_name
    span = _span(lang, r.first, r.last)
    if returned.overdue:
        return t(lang, "leave.overdue", name=name, id=r.id, span=span, last=r.last.isoformat())
    if returned.early:
        return t(
            lang, "leave.back_early", name=name, id=r.id, span=span, day=returned.day.isoformat()
        )
    if returned.late_days:
        return t(lang, "leave.back_late", name=name, id=r.id, span=span, days=returned.late_days)
    return t(lang, "leave.back", name=name, id=r.id, span=span)


async def leaves_command(update: Update, context: CunbotContext) -> None:
    """The caller's leave; in a group, for those who oversee it, the team's."""
    message = message_of(update)
    listed = await leave.list_leave(
        context.store, context.now(), tg_user(update), message.chat_id, not in_group(update)
    )
    if isinstance(listed, Problem):
        await reply_problem(update, context, listed)
        return
    await context.reply(update, _list_text(await context.lang(update), listed))


def _list_text(lang: str, listed: LeaveList) -> str:
    title = (
        t(lang, "leaves.team_title", village=listed.team.village)
        if listed.team
        else t(lang, "leaves.mine_title")
    )
    if not listed.items:
        return "\n".join([title, t(lang, "leaves.none")])
    lines = [title]
    for view in listed.items:
        r = view.leave
        state: str = r.state
        if r.id in listed.overdue:
            state = "overdue"
        elif r.returned_day is not None:
            state = "returned"
        lines.append(
            t(
                lang,
                "leaves.line",
                id=r.id,
                name=view.member.display_name,
                kind=t(lang, f"leave.kind.{r.kind}"),
                span=_span(lang, r.first, r.last),
                state=t(lang, f"leaves.state.{state}", level=t(lang, f"leave.level.{r.level}")),
            )
        )
    return "\n".join(lines)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("leave", leave_command, filters=NEW_MESSAGES))
    app.add_handler(CommandHandler("back", back_command, filters=NEW_MESSAGES))
    app.add_handler(CommandHandler("leaves", leaves_command, filters=NEW_MESSAGES))
    app.add_handler(CallbackQueryHandler(on_button, pattern=rf"^v1:({DECIDE}|{TALK}):"))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & NEW_MESSAGES, text_input))
