"""Work logs and the household ledger: /log, #log and #日志 messages (with photos), their
edits, the household picker's buttons, /household, /logs, /audit, /summary and /summaries."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import outbox
from bot.context import CunbotContext
from bot.i18n import t
from handlers.common import (
    NEW_MESSAGES,
    ask_service,
    in_group,
    message_of,
    reply,
    reply_long,
    reply_problem,
    tg_user,
)
from rules import callbacks
from rules.checkin import local_moment
from rules.ids import parse_id
from rules.logs import (
    IMPORT_MARKER,
    LOG_MARKER,
    LOG_TAG,
    SUMMARY_MARKER,
    parse_pick,
    readable,
    summary_text,
)
from rules.problems import Problem
from services import logs
from services.logs import (
    AreaDay,
    History,
    HouseholdAudit,
    LogEdited,
    LogMessage,
    LogsDay,
    LogWritten,
    Marked,
    PhotoRef,
    Picker,
    Register,
    Sample,
    SummariesView,
    SummaryFile,
    SummarySent,
    SummaryStatus,
)
from storage.models import LedgerEntry, WorkLog

EXCERPT = 120  # characters of a log quoted in a list
_rng = random.SystemRandom()  # an inspector's sample must not be predictable


def _log_message(update: Update, message: Message) -> LogMessage:
    photo = message.photo[-1] if message.photo else None  # the largest size
    return LogMessage(
        chat_id=message.chat_id,
        private=not in_group(update),
        message_id=message.message_id,
        text=message.text if message.text is not None else message.caption,
        written_at=message.date,
        media_group_id=message.media_group_id,
        photo=PhotoRef(photo.file_id, photo.file_unique_id) if photo else None,
        reply_to=message.reply_to_message.message_id if message.reply_to_message else None,
    )


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1] + "…"


def _time(moment: datetime, tz: str) -> str:
    return local_moment(moment, tz).strftime("%Y-%m-%d %H:%M")


def _list(lang: str, items: list[str] | tuple[str, ...]) -> str:
    return t(lang, "sep.list").join(items)


# ---------------------------------------------------------------------- writing
def _log_lines(lang: str, log: WorkLog, name: str, unknown: tuple[str, ...]) -> list[str]:
    lines = [t(lang, "log.saved", id=log.id, day=log.local_date.isoformat(), name=name)]
    if log.photos:
        lines.append(t(lang, "log.photos", n=len(log.photos)))
    if log.visits:
        lines.append(
            t(lang, "log.households", names=_list(lang, [v.household for v in log.visits]))
        )
    else:
        lines.append(t(lang, "log.no_households"))
    if unknown:
        lines.append(t(lang, "log.unknown", names=_list(lang, unknown)))
    return lines


def _picker_markup(lang: str, picker: Picker) -> InlineKeyboardMarkup | None:
    if picker.done:
        return None
    log_id = picker.log.id
    rows: list[list[InlineKeyboardButton]] = []
    row: list[InlineKeyboardButton] = []
    for household in picker.households:
        mark = "✅ " if household.id in picker.chosen else ""
        data = callbacks.encode("lg", log_id, "t", household.id, picker.page)
        row.append(InlineKeyboardButton(mark + household.name, callback_data=data))
        if len(row) == 2:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    for index, name in enumerate(picker.unknown):
        data = callbacks.encode("lg", log_id, "n", index)
        rows.append([InlineKeyboardButton(t(lang, "log.pick.new", name=name), callback_data=data)])
    if picker.pages > 1:
        rows.append(
            [
                InlineKeyboardButton(
                    "◀", callback_data=callbacks.encode("lg", log_id, "p", picker.page - 1)
                ),
                InlineKeyboardButton(
                    f"{picker.page + 1}/{picker.pages}",
                    callback_data=callbacks.encode("lg", log_id, "p", picker.page),
                ),
                InlineKeyboardButton(
                    "▶", callback_data=callbacks.encode("lg", log_id, "p", picker.page + 1)
                ),
            ]
        )
    if not rows:
        return None
    rows.append(
        [
            InlineKeyboardButton(
                t(lang, "log.pick.done"), callback_data=callbacks.encode("lg", log_id, "d")
            )
        ]
    )
    return InlineKeyboardMarkup(rows)


async def _answer_log(
    update: Update, context: CunbotContext, written: LogWritten | Problem
) -> None:
    if isinstance(written, Problem):
        await reply_problem(update, context, written)
        return
    lang = await context.lang(update)
    lines = _log_lines(lang, written.log, written.person.first_name, written.unknown)
    if written.register_size == 0 and not written.unknown:
        lines.append(t(lang, "log.empty_register"))
    markup = _picker_markup(lang, written.picker)
    await context.reply(update, "\n".join(lines), markup=markup)


async def log_command(update: Update, context: CunbotContext) -> None:
    """``/log <text>`` writes a log; ``/log history <id>`` shows its revisions."""
    args = context.args or []
    if args and args[0].lower() in ("history", "历史"):
        # Never a log: "/log history abc" is a mistyped question, not a day's work.
        log_id = parse_id(args[1]) if len(args) == 2 else None
        if log_id is not None:
            await _history(update, context, log_id)
        else:
            await reply(update, context, "log.err.history_usage")
        return
    message = message_of(update)
    written = await logs.write_log(
        context.store, context.now(), tg_user(update), _log_message(update, message)
    )
    await _answer_log(update, context, written)


async def tagged(update: Update, context: CunbotContext) -> None:
    """A message or photo caption starting with #log / #日志 (or /log under a photo)."""
    message = message_of(update)
    if update.effective_user is None or message.sender_chat is not None:
        return
    written = await logs.write_log(
        context.store, context.now(), tg_user(update), _log_message(update, message)
    )
    await _answer_log(update, context, written)


async def photo(update: Update, context: CunbotContext) -> None:
    """An untagged photo: joins a log when it is in the log's album or answers the log."""
    message = message_of(update)
    if update.effective_user is None:
        return
    log = await logs.attach_photo(
        context.store, context.now(), tg_user(update), _log_message(update, message)
    )
    if log is not None and message.media_group_id is None:
        # An album's photos arrive together; one answer to the log is enough for them.
        await reply(update, context, "log.photo_added", id=log.id, n=len(log.photos))


async def edited(update: Update, context: CunbotContext) -> None:
    """An edited message: a log's new revision, or a message edited into a log."""
    message = update.edited_message
    if message is None or update.effective_user is None:
        return
    incoming = _log_message(update, message)
    at = message.edit_date or context.now()
    incoming = replace(incoming, written_at=at)
    result = await logs.edit_log(context.store, context.now(), tg_user(update), incoming)
    if result is None:
        return
    if isinstance(result, LogWritten | Problem):
        await _answer_log(update, context, result)
        return
    await context.reply(update, _edited_text(await context.lang(update), result))


def _edited_text(lang: str, edit: LogEdited) -> str:
    lines = [t(lang, "log.edited", id=edit.log.id, revision=edit.revision)]
    if edit.added:
        lines.append(t(lang, "log.edit_added", names=_list(lang, edit.added)))
    if edit.removed:
        lines.append(t(lang, "log.edit_removed", names=_list(lang, edit.removed)))
    if edit.unknown:
        lines.append(t(lang, "log.unknown_edit", names=_list(lang, edit.unknown), id=edit.log.id))
    return "\n".join(lines)


async def on_button(update: Update, context: CunbotContext) -> None:
    """A press on a log's household picker."""
    query = update.callback_query
    assert query is not None
    lang = await context.lang(update)
    decoded = callbacks.decode(query.data)
    press = parse_pick(decoded[1]) if decoded else None
    if press is None:
        await context.answer(update, t(lang, "err.stale_button"), alert=True)
        return
    result = await logs.picker(context.store, context.now(), tg_user(update), press)
    if isinstance(result, Problem):
        await context.answer(update, t(lang, result.key, **result.params), alert=True)
        return
    await context.answer(update, t(lang, result.changed) if result.changed else None)
    user = update.effective_user
    assert user is not None
    text = "\n".join(_log_lines(lang, result.log, user.first_name, result.unknown))
    message = query.message
    if isinstance(message, Message):
        current = message.reply_markup.to_dict() if message.reply_markup else None
        markup = _picker_markup(lang, result)
        if message.text == text and current == (markup.to_dict() if markup else None):
            return  # a press that changed nothing (the page shown again): Telegram refuses it
        await context.say(
            outbox.edit(message.chat_id, text, message_id=message.message_id, markup=markup)
        )


# ---------------------------------------------------------------------- history
async def _history(update: Update, context: CunbotContext, log_id: int) -> None:
    found = await logs.log_history(
        context.store, tg_user(update), message_of(update).chat_id, not in_group(update), log_id
    )
    if isinstance(found, Problem):
        await reply_problem(update, context, found)
        return
    await reply_long(update, context, _history_lines(await context.lang(update), found))


def _history_lines(lang: str, h: History) -> list[str]:
    lines = [
        t(
            lang,
            "log.history_title",
            id=h.log.id,
            name=h.person.display_name,
            day=h.log.local_date.isoformat(),
            village=h.team.village,
        )
    ]
    for r in h.revisions:
        key = "log.history_first" if r.revision == 1 else "log.history_edit"
        lines.append(
            t(lang, key, revision=r.revision, at=_time(r.edited_at, h.team.tz), text=r.text)
        )
    if h.log.photos:
        lines.append(t(lang, "log.photos", n=len(h.log.photos)))
    return lines


# ---------------------------------------------------------------------- households
async def household_command(update: Update, context: CunbotContext) -> None:
    """``/household add <name> [note]`` (one per line) and ``/household list``."""
    args = context.args or []
    message = message_of(update)
    words = (message.text or "").split(maxsplit=2)
    action = args[0].lower() if args else ""
    if action == "add":
        rest = words[2] if len(words) > 2 else ""
        added = await logs.add_households(
            context.store,
            context.now(),
            tg_user(update),
            message.chat_id,
            not in_group(update),
            rest.splitlines(),
        )
        if isinstance(added, Problem):
            await reply_problem(update, context, added)
            return
        lang = await context.lang(update)
        lines = []
        if added.added:
            names = _list(lang, [h.name for h in added.added])
            lines.append(t(lang, "household.added", village=added.team.village, names=names))
        if added.existing:
            lines.append(t(lang, "household.existing", names=_list(lang, added.existing)))
        await context.reply(update, "\n".join(lines))
        return
    if action == "list":
        found = await logs.list_register(
            context.store, context.now(), tg_user(update), message.chat_id, not in_group(update)
        )
        if isinstance(found, Problem):
            await reply_problem(update, context, found)
            return
        await reply_long(update, context, _register_lines(await context.lang(update), found))
        return
    await reply(update, context, "household.usage")


def _register_lines(lang: str, r: Register) -> list[str]:
    lines = [t(lang, "household.title", village=r.team.village, n=len(r.households))]
    if not r.households:
        lines.append(t(lang, "household.empty"))
    for h in r.households:
        line = f"{h.name} — {h.note}" if h.note else h.name
        visits = r.visits.get(h.id, 0)
        lines.append(t(lang, "household.line", line=line, visits=visits))
    return lines


# ---------------------------------------------------------------------- reading
async def logs_command(update: Update, context: CunbotContext) -> None:
    """``/logs [team code] [day]``."""
    found: list[LogsDay] | AreaDay | None = await ask_service(update, context, logs.read_logs)
    if found is None:
        return
    lang = await context.lang(update)
    if isinstance(found, AreaDay):
        await reply_long(update, context, _area_lines(lang, found))
        return
    lines: list[str] = []
    for day in found:
        if lines:
            lines.append("")
        lines += _day_lines(lang, day)
    await reply_long(update, context, lines)


def _day_lines(lang: str, day: LogsDay) -> list[str]:
    if day.unit is not None:
        lines = [t(lang, "logs.title_unit", village=day.team.village, day=day.day.isoformat(),
                   unit=day.unit)]  # fmt: skip
        if not day.members:
            return [*lines, t(lang, "logs.unit_none_here", unit=day.unit)]
    else:
        title = "logs.title_team" if day.whole_team else "logs.title_own"
        lines = [t(lang, title, village=day.team.village, day=day.day.isoformat())]
    wrote = 0
    for member in day.members:
        name = member.person.display_name
        if member.logs:
            wrote += 1
        elif member.leave is not None:
            lines.append(t(lang, "logs.on_leave", name=name))
            continue
        else:
            lines.append(t(lang, "logs.missing", name=name))
            continue
        for log in member.logs:
            lines.append(
                t(
                    lang,
                    "logs.entry",
                    name=name,
                    id=log.id,
                    time=local_moment(log.written_at, day.team.tz).strftime("%H:%M"),
                    text=_excerpt(readable(log.text)) or "—",
                )
            )
            if log.visits:
                names = _list(
                    lang, [_visit_label(lang, v.household, v.verdict) for v in log.visits]
                )
                lines.append(t(lang, "logs.households", names=names))
            if log.photos:
                lines.append(t(lang, "log.photos", n=len(log.photos)))
            if log.revision > 1:
                lines.append(t(lang, "logs.edited", revision=log.revision, id=log.id))
    if day.whole_team or day.unit is not None:
        lines.append(t(lang, "logs.summary", wrote=wrote, total=len(day.members)))
    return lines


def _visit_label(lang: str, name: str, verdict: str | None) -> str:
    return t(lang, f"audit.label.{verdict}", name=name) if verdict else name


def _area_lines(lang: str, area: AreaDay) -> list[str]:
    lines = [t(lang, "logs.area_title", day=area.day.isoformat())]
    for team, wrote, total in area.teams:
        lines.append(
            t(
                lang,
                "logs.area_line",
                code=team.code or "—",
                village=team.village,
                wrote=wrote,
                total=total,
            )
        )
    return lines


# ---------------------------------------------------------------------- reverse checks
async def audit_command(update: Update, context: CunbotContext) -> None:
    """``/audit <household>``, ``/audit sample [team] [n]``, ``/audit mark <id> ok|false``."""
    args = list(context.args or [])
    message = message_of(update)
    user, private, now = tg_user(update), not in_group(update), context.now()
    if not args:
        await reply(update, context, "audit.usage")
        return
    lang = await context.lang(update)
    action = args[0].lower()
    if action == "sample":
        sample = await logs.audit_sample(
            context.store, now, user, message.chat_id, private, args[1:], _rng
        )
        if isinstance(sample, Problem):
            await reply_problem(update, context, sample)
            return
        await reply_long(update, context, _sample_lines(lang, sample))
        return
    if action == "mark":
        marked = await logs.audit_mark(context.store, now, user, private, args[1:])
        if isinstance(marked, Problem):
            await reply_problem(update, context, marked)
            return
        await context.reply(update, _marked_text(lang, marked))
        return
    found = await logs.audit_household(
        context.store, user, message.chat_id, private, " ".join(args)
    )
    if isinstance(found, Problem):
        await reply_problem(update, context, found)
        return
    await reply_long(update, context, _audit_lines(lang, found))


def _entry_line(lang: str, e: LedgerEntry, tz: str, with_household: bool) -> str:
    verdict = e.visit.verdict or "none"
    line = t(
        lang,
        "audit.entry_household" if with_household else "audit.entry",
        id=e.visit.id,
        household=e.visit.household,
        day=e.log.local_date.isoformat(),
        time=local_moment(e.log.written_at, tz).strftime("%H:%M"),
        name=e.person.display_name,
        village=e.village,
        log=e.log.id,
        text=_excerpt(readable(e.log.text)) or "—",
    )
    line += " " + t(lang, f"audit.verdict.{verdict}", note=e.visit.verdict_note or "")
    if e.visit.removed_at is not None:
        line += " " + t(lang, "audit.removed", at=_time(e.visit.removed_at, tz))
    return line


def _audit_lines(lang: str, a: HouseholdAudit) -> list[str]:
    current = [e for e in a.entries if e.visit.removed_at is None]
    lines = [t(lang, "audit.title", name=a.name, n=len(current))]
    for h in a.households:
        team = a.teams[h.team_id]
        note = f" — {h.note}" if h.note else ""
        lines.append(t(lang, "audit.household", name=h.name, note=note, village=team.village))
    if not a.entries:
        lines.append(t(lang, "audit.no_visits"))
    for e in a.entries:
        lines.append(_entry_line(lang, e, a.teams[e.log.team_id].tz, False))
    return lines


def _sample_lines(lang: str, s: Sample) -> list[str]:
    if not s.entries:
        return [t(lang, "audit.sample_none", village=s.team.village)]
    lines = [t(lang, "audit.sample_title", n=len(s.entries), village=s.team.village)]
    lines += [_entry_line(lang, e, s.team.tz, True) for e in s.entries]
    if len(s.entries) < s.asked:
        lines.append(t(lang, "audit.sample_short", asked=s.asked, n=len(s.entries)))
    lines.append(t(lang, "audit.sample_footer", left=s.left))
    return lines


def _marked_text(lang: str, m: Marked) -> str:
    e = m.entry
    text = t(
        lang,
        f"audit.marked.{m.verdict}",
        id=e.visit.id,
        household=e.visit.household,
        name=e.person.display_name,
        day=e.log.local_date.isoformat(),
        note=m.note,
    )
    if m.earlier and m.earlier != m.verdict:
        text += "\n" + t(lang, "audit.marked_was", verdict=t(lang, f"audit.word.{m.earlier}"))
    return text


# ---------------------------------------------------------------------- summaries
async def summary_command(update: Update, context: CunbotContext) -> None:
    message = message_of(update)
    await _summary(update, context, message, list(context.args or []), None)


async def summary_document(update: Update, context: CunbotContext) -> None:
    """A document captioned #summary / #小结 (or /summary) is the month's summary."""
    message = message_of(update)
    document = message.document
    if document is None or update.effective_user is None:
        return
    words = (summary_text(message.caption) or "").split()
    await _summary(
        update, context, message, words, SummaryFile(document.file_id, document.file_name)
    )


async def _summary(
    update: Update,
    context: CunbotContext,
    message: Message,
    words: list[str],
    file: SummaryFile | None,
) -> None:
    result = await logs.send_summary(
        context.store, context.now(), tg_user(update), _log_message(update, message), words, file
    )
    if isinstance(result, Problem):
        await reply_problem(update, context, result)
        return
    lang = await context.lang(update)
    if isinstance(result, SummaryStatus):
        sent = _list(lang, result.months[-6:]) if result.months else t(lang, "summary.none_yet")
        key = "summary.status_sent" if result.current in result.months else "summary.status_missing"
        await context.reply(
            update,
            "\n".join(
                [
                    t(lang, "summary.status", village=result.team.village, months=sent),
                    t(lang, key, month=result.current),
                ]
            ),
        )
        return
    assert isinstance(result, SummarySent)
    key = "summary.replaced" if result.replaced else "summary.recorded"
    await context.reply(
        update, t(lang, key, month=result.summary.month, village=result.team.village)
    )


async def summaries_command(update: Update, context: CunbotContext) -> None:
    found = await ask_service(update, context, logs.summaries_status)
    if found is None:
        return
    await reply_long(update, context, _summaries_lines(await context.lang(update), found))


def _summaries_lines(lang: str, v: SummariesView) -> list[str]:
    total = len(v.sent) + len(v.missing)
    lines = [t(lang, "summaries.title", month=v.month, sent=len(v.sent), total=total)]
    for team in v.missing:
        lines.append(t(lang, "summaries.missing", code=team.code or "—", village=team.village))
    for team, s in v.sent:
        what = s.file_name or _excerpt(s.text)
        lines.append(
            t(
                lang,
                "summaries.sent",
                code=team.code or "—",
                village=team.village,
                at=_time(s.sent_at, team.tz),
                what=what,
            )
        )
    return lines


async def household_import(update: Update, context: CunbotContext) -> None:
    """A CSV document captioned ``/household import``."""
    message = message_of(update)
    document = message.document
    if document is None or update.effective_user is None:
        return
    lang = await context.lang(update)

    async def download() -> bytes | Problem:
        try:
            file = await context.bot.get_file(document.file_id)
            return bytes(await file.download_as_bytearray())
        except TelegramError as exc:
            return Problem("household.import_unreadable", {"error": str(exc)})

    result = await logs.import_register(
        context.store,
        context.now(),
        tg_user(update),
        message.chat_id,
        not in_group(update),
        document.file_size,
        download,
    )
    if isinstance(result, Problem):
        await reply_problem(update, context, result)
        return
    report = result.report
    if report.problems:
        lines = [t(lang, "household.import_refused", count=len(report.problems))]
        for row in report.problems:
            problem = t(lang, row.problem.key, **row.problem.params)
            lines.append(t(lang, "cli.import.line", line=row.line, message=problem))
        await reply_long(update, context, lines)
        return
    await context.reply(
        update,
        t(
            lang,
            "household.imported",
            village=result.team.village,
            added=report.added,
            existing=report.existing,
        ),
    )


def register(app: Application) -> None:
    app.add_handler(CallbackQueryHandler(on_button, pattern=r"^v1:lg:"))
    app.add_handler(CommandHandler("log", log_command, filters=NEW_MESSAGES))
    app.add_handler(CommandHandler("logs", logs_command, filters=NEW_MESSAGES))
    app.add_handler(CommandHandler("household", household_command, filters=NEW_MESSAGES))
    app.add_handler(CommandHandler("audit", audit_command, filters=NEW_MESSAGES))
    app.add_handler(CommandHandler("summary", summary_command, filters=NEW_MESSAGES))
    app.add_handler(CommandHandler("summaries", summaries_command, filters=NEW_MESSAGES))
    # Before the leave dialogue's catch-all for typed text: a #log line is a log, always.
    app.add_handler(
        MessageHandler(
            NEW_MESSAGES
            & (
                (filters.TEXT & filters.Regex(LOG_TAG))
                | (filters.PHOTO & filters.CaptionRegex(LOG_MARKER))
            ),
            tagged,
        )
    )
    app.add_handler(
        MessageHandler(
            NEW_MESSAGES & filters.Document.ALL & filters.CaptionRegex(SUMMARY_MARKER),
            summary_document,
        )
    )
    app.add_handler(
        MessageHandler(
            NEW_MESSAGES & filters.Document.ALL & filters.CaptionRegex(IMPORT_MARKER),
            household_import,
        )
    )
    app.add_handler(MessageHandler(NEW_MESSAGES & filters.PHOTO, photo))
    app.add_handler(
        MessageHandler(filters.UpdateType.EDITED_MESSAGE & (filters.TEXT | filters.CAPTION), edited)
    )
