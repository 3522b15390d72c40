"""Backing units, recall and replacement, assessment and briefs: ``/unit``, ``/recall``
(with its confirmation buttons), ``/recalls``, ``/assessment``, ``/assess``, ``/briefs`` and
``#简报`` / ``#brief`` messages. Thin: parse, call a service, render."""

from __future__ import annotations

import re
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import outbox, render
from bot.context import CunbotContext
from bot.i18n import t
from handlers.common import (
    NEW_MESSAGES,
    in_group,
    message_of,
    reply,
    reply_long,
    reply_problem,
    tg_user,
)
from reports.parts import Part
from rules import callbacks
from rules.assessment import Ceiling, within
from rules.checkin import local_moment
from rules.ids import parse_id
from rules.invites import start_link
from rules.logs import readable
from rules.problems import Problem
from services import assessment, units
from services.units import RecallStep, RecallView

KIND = "rc"
BRIEF_MARKER = re.compile(r"^\s*(?:#brief|#简报)(?=\s|$)", re.IGNORECASE)
NOTE_WORDS = ("note", "约谈", "备注")
REPLACE_WORDS = ("replace", "替换", "补派")


def _day(moment: datetime, tz: str) -> str:
    return local_moment(moment, tz).strftime("%Y-%m-%d")


# ---------------------------------------------------------------------- units
async def unit_command(update: Update, context: CunbotContext) -> None:
    """``/unit``: one's backing unit and the county's; ``/unit <name>`` names one's own;
    ``/unit add <name>`` (county admins) adds one to the county's list."""
    message = message_of(update)
    found = await units.choose_unit(
        context.store, context.now(), tg_user(update), message.chat_id, not in_group(update),
        list(context.args or []),
    )  # fmt: skip
    if isinstance(found, Problem):
        await reply_problem(update, context, found)
        return
    lang = await context.lang(update)
    if isinstance(found, units.UnitChosen):
        key = "unit.chosen" if found.changed else "unit.same"
        await reply(update, context, key, name=found.person.display_name, unit=found.unit.name)
        return
    names = t(lang, "sep.list").join(u.name for u in found.units) or t(lang, "unit.none")
    if found.added is not None:
        await reply(update, context, "unit.added", unit=found.added.name, units=names)
        return
    own = found.own.name if found.own else t(lang, "unit.unknown_own")
    await reply(update, context, "unit.list", own=own, units=names)


# ---------------------------------------------------------------------- recall
def recall_text(lang: str, view: RecallView, now: datetime, group: bool = False) -> str:
    """A recall as those concerned read it; a team's group is not told why, nor what the
    interviews found (as a rejection's reason never reaches the group)."""
    r, tz = view.recall, view.team.tz
    lines = [
        t(
            lang,
            "recall.card_group" if group else "recall.card",
            id=r.id,
            name=view.member.display_name,
            team=view.team.village,
            unit=view.unit.name if view.unit else t(lang, "unit.unknown_own"),
            reason=r.reason,
            by=view.ordered_by.display_name,
            at=_day(r.ordered_at, tz),
        )
    ]
    if r.state == "open" and r.due_at is not None:
        key = "recall.card.overdue" if r.due_at <= now else "recall.card.due"
        lines.append(t(lang, key, due=_day(r.due_at, tz)))
    elif r.state == "closed" and r.closed_at is not None:
        name = view.replacement.display_name if view.replacement else ""
        days = (r.closed_at - r.ordered_at).days
        lines.append(t(lang, "recall.card.closed", name=name, at=_day(r.closed_at, tz), days=days))
    elif r.state == "dropped":
        lines.append(t(lang, "recall.card.dropped"))
    for note, by in () if group else view.notes:
        lines.append(t(lang, "recall.card.note", at=_day(note.at, tz), by=by, note=note.note))
    return "\n".join(lines)


def _confirm_markup(lang: str, recall_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(lang, "recall.button.confirm"),
                    callback_data=callbacks.encode(KIND, recall_id, "y"),
                ),
                InlineKeyboardButton(
                    t(lang, "recall.button.cancel"),
                    callback_data=callbacks.encode(KIND, recall_id, "n"),
                ),
            ]
        ]
    )


async def tell(context: CunbotContext, step: RecallStep) -> None:
    """Whoever a recall step concerns hears of it, each in their language."""
    now = context.now()
    for a in step.audience:
        key = f"recall.told.{step.step}"
        head = t(a.lang, key, name=step.view.member.display_name, team=step.view.team.village,
                 days=step.days)  # fmt: skip
        card = recall_text(a.lang, step.view, now, group=a.person is None)
        await context.say(outbox.message(a.chat_id, head + "\n\n" + card))


async def recall_command(update: Update, context: CunbotContext) -> None:
    """``/recall <@member> <reason>`` (asks to confirm), ``/recall note <id> <text>``,
    ``/recall replace <id>`` (an invite for the replacement)."""
    words = list(context.args or [])
    user, now = tg_user(update), context.now()
    lang = await context.lang(update)
    head = words[0].lower() if words else ""
    if head in NOTE_WORDS:
        noted = await units.note_recall(context.store, now, user, words[1:])
        if isinstance(noted, Problem):
            await reply_problem(update, context, noted)
            return
        await reply(update, context, "recall.noted", id=noted.view.recall.id)
        return
    if head in REPLACE_WORDS:
        invite = await units.replacement_invite(context.store, now, user, words[1:])
        if isinstance(invite, Problem):
            await reply_problem(update, context, invite)
            return
        link = start_link(invite.bot_username or "your_bot", invite.code)
        await reply(
            update, context, "recall.invite", id=invite.view.recall.id,
            team=invite.view.team.village, hours=invite.hours, link=link,
        )  # fmt: skip
        return
    asked = await units.ask_recall(context.store, now, user, words)
    if isinstance(asked, Problem):
        await reply_problem(update, context, asked)
        return
    text = t(lang, "recall.confirm") + "\n\n" + recall_text(lang, asked.view, now)
    await context.reply(update, text, markup=_confirm_markup(lang, asked.view.recall.id))


async def on_button(update: Update, context: CunbotContext) -> None:
    query = update.callback_query
    assert query is not None
    lang = await context.lang(update)
    decoded = callbacks.decode(query.data)
    parts = decoded[1] if decoded else []
    number = parse_id(parts[0]) if parts else None
    if number is None or len(parts) != 2 or parts[1] not in ("y", "n"):
        await context.answer(update, t(lang, "err.stale_button"), alert=True)
        return
    step = await units.decide_recall(
        context.store,
        context.now(),
        tg_user(update),
        number,
        parts[1] == "y",
        context.settings.lang,
    )
    if isinstance(step, Problem):
        await context.answer(update, t(lang, step.key, **step.params), alert=True)
        return
    await context.answer(update, t(lang, f"recall.answer.{step.step}", id=number))
    if query.message is not None:
        text = t(lang, f"recall.answer.{step.step}", id=number) + "\n\n"
        text += recall_text(lang, step.view, context.now())
        if step.missed:
            text += "\n" + t(
                lang, "problem.unreachable", names=t(lang, "sep.list").join(step.missed)
            )
        await context.say(
            outbox.edit(query.message.chat.id, text, message_id=query.message.message_id)
        )
    await tell(context, step)


async def recalls_command(update: Update, context: CunbotContext) -> None:
    """``/recalls``: open ones first (overdue marked), then closed, with days taken."""
    found = await units.list_recalls(context.store, context.now(), tg_user(update))
    if isinstance(found, Problem):
        await reply_problem(update, context, found)
        return
    lang = await context.lang(update)
    if not found:
        await reply(update, context, "recalls.none")
        return
    lines = [t(lang, "recalls.head", n=len(found))]
    for view in found:
        lines += ["", recall_text(lang, view, context.now())]
    await reply_long(update, context, lines)


# ---------------------------------------------------------------------- assessment
def assessment_lines(lang: str, view: assessment.AssessmentView) -> list[str]:
    lines = [t(lang, "assess.head", period=view.period.key, name=view.name, n=len(view.rows))]
    for row in view.rows:
        f = row.facts
        lines.append(
            t(
                lang,
                "assess.line",
                name=row.name,
                team=row.team,
                present=f.present,
                quota=f.quota_days,
                nights=f.nights,
                quota_nights=f.quota_nights,
                leave=f.leave,
                logs=f.log_days,
                findings=f.spot_findings,
                false=f.false_visits,
                raised=row.raised,
                solved=row.solved,
                briefs=row.briefs,
            )
        )
        lines.append(ceiling_text(lang, row.ceiling))
        if row.grade is not None:
            lines.append(t(lang, "assess.entered", grade=t(lang, f"grade.{row.grade.grade}"),
                           note=row.grade.note))  # fmt: skip
    return lines


def ceiling_text(lang: str, ceiling: Ceiling) -> str:
    if not ceiling.reasons:
        return t(lang, "assess.no_ceiling")
    reasons = t(lang, "sep.list").join(t(lang, key, **figures) for key, figures in ceiling.reasons)
    return t(lang, "assess.ceiling", grade=t(lang, f"grade.{ceiling.grade}"), reasons=reasons)


async def assessment_command(update: Update, context: CunbotContext) -> None:
    """``/assessment [2026-Q4|2026|posting] [team code]``: figures, proposed ceilings and
    the grades entered, with the XLSX."""
    view = await assessment.assessment(
        context.store, context.now(), tg_user(update), list(context.args or [])
    )
    if isinstance(view, Problem):
        await reply_problem(update, context, view)
        return
    lang = await context.lang(update)
    await reply_long(update, context, assessment_lines(lang, view))
    data = await render.assessment_xlsx(lang, view)  # in the drawing process
    part = Part(document=data, filename=f"cunbot-assessment-{view.period.key}.xlsx")
    await context.say(outbox.part(message_of(update).chat_id, part))


async def assess_command(update: Update, context: CunbotContext) -> None:
    """``/assess <@member> [period] <grade> <note>``: a county admin enters a grade."""
    graded = await assessment.grade(
        context.store, context.now(), tg_user(update), list(context.args or [])
    )
    if isinstance(graded, Problem):
        await reply_problem(update, context, graded)
        return
    lang = await context.lang(update)
    lines = [
        t(lang, "assess.graded", name=graded.member.display_name, period=graded.period,
          grade=t(lang, f"grade.{graded.grade}")),
    ]  # fmt: skip
    if not within(graded.grade, graded.ceiling.grade):
        lines.append(t(lang, "assess.above") + "\n" + ceiling_text(lang, graded.ceiling))
    await context.reply(update, "\n".join(lines))


# ---------------------------------------------------------------------- briefs
def _file(message: Message) -> tuple[str, str] | None:
    if message.photo:
        return message.photo[-1].file_id, "photo"
    if message.document:
        return message.document.file_id, "document"
    return None


async def brief_message(update: Update, context: CunbotContext) -> None:
    """A message, photo or document starting (or captioned) with #简报 / #brief."""
    message = message_of(update)
    if update.effective_user is None or message.sender_chat is not None:
        return
    text = BRIEF_MARKER.sub("", message.text or message.caption or "", count=1)
    sent = await assessment.send_brief(
        context.store, context.now(), tg_user(update), message.chat_id, not in_group(update),
        message.message_id, text, _file(message), message.date,
    )  # fmt: skip
    if isinstance(sent, Problem):
        await reply_problem(update, context, sent)
        return
    key = "brief.saved_expected" if sent.expected else "brief.saved"
    await reply(update, context, key, id=sent.brief.id, team=sent.team.village,
                n=sent.month_count, expected=sent.expected)  # fmt: skip


async def briefs_command(update: Update, context: CunbotContext) -> None:
    """``/briefs [this|last|month]``: the briefs of one's area, or of the group's team."""
    message = message_of(update)
    found = await assessment.list_briefs(
        context.store, context.now(), tg_user(update), message.chat_id, not in_group(update),
        list(context.args or []),
    )  # fmt: skip
    if isinstance(found, Problem):
        await reply_problem(update, context, found)
        return
    lang = await context.lang(update)
    lines = [t(lang, "briefs.head", first=found.first.isoformat(), last=found.last.isoformat(),
               n=len(found.rows))]  # fmt: skip
    for brief, team, sender in found.rows:
        mark = {"photo": "📷 ", "document": "📄 "}.get(brief.file_kind or "", "")
        flat = " ".join(readable(brief.text).split())
        lines.append(
            t(lang, "briefs.line", id=brief.id, day=brief.local_date.isoformat(),
              team=team.village, name=sender, text=mark + (flat[:200] or "—"))
        )  # fmt: skip
    await reply_long(update, context, lines)


def register(app: Application) -> None:
    app.add_handler(CallbackQueryHandler(on_button, pattern=rf"^v1:{KIND}:"))
    for name, callback in (
        ("unit", unit_command),
        ("recall", recall_command),
        ("recalls", recalls_command),
        ("assessment", assessment_command),
        ("assess", assess_command),
        ("briefs", briefs_command),
    ):
        app.add_handler(CommandHandler(name, callback, filters=NEW_MESSAGES))
    app.add_handler(
        MessageHandler(
            NEW_MESSAGES
            & (
                (filters.TEXT & filters.Regex(BRIEF_MARKER))
                | ((filters.PHOTO | filters.Document.ALL) & filters.CaptionRegex(BRIEF_MARKER))
            ),
            brief_message,
        )
    )
