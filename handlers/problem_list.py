"""The problem list (红黄绿三色清单): ``/problem`` and ``#问题`` / ``#problem`` messages (with
photos), their edits, ``/problem <id> <action> …``, ``/problems`` and the buttons under a
problem. Thin: parse, call :mod:`services.problem_list`, render."""

from __future__ import annotations

from datetime import datetime

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import outbox
from bot.context import CunbotContext
from bot.i18n import t
from handlers.common import (
    NEW_MESSAGES,
    button_chat,
    in_group,
    message_of,
    prompt_for,
    reply,
    reply_long,
    reply_problem,
    tg_user,
)
from reports.text import category_name
from rules import callbacks
from rules import problem_list as rules
from rules.checkin import local_moment
from rules.ids import parse_id
from rules.logs import readable
from rules.problems import Problem
from services import problem_list
from services.audience import Audience
from services.problem_list import (
    Listed,
    Moved,
    ProblemMessage,
    ProblemView,
    Prompt,
    Raised,
    Shown,
)
from storage.models import Team, VillageProblem

KIND = "pb"
# A button's action: colour, category (both with a value), accept, note, resolved,
# confirmed by the household, not solved.
ACTIONS = frozenset({"c", "k", "a", "n", "s", "y", "x"})
DOTS = {"red": "🔴", "yellow": "🟡", "green": "🟢"}
EXCERPT = 80


def _message(update: Update, message: Message) -> ProblemMessage:
    photo = message.photo[-1] if message.photo else None  # the largest size
    return ProblemMessage(
        chat_id=message.chat_id,
        private=not in_group(update),
        message_id=message.message_id,
        text=message.text if message.text is not None else message.caption,
        written_at=message.date,
        media_group_id=message.media_group_id,
        photo=(photo.file_id, photo.file_unique_id) if photo else None,
        reply_to=message.reply_to_message.message_id if message.reply_to_message else None,
    )


def _when(moment: datetime, tz: str) -> str:
    return local_moment(moment, tz).strftime("%Y-%m-%d %H:%M")


def _excerpt(text: str) -> str:
    flat = " ".join(readable(text).split())
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1] + "…"


# ---------------------------------------------------------------------- rendering
def card(lang: str, view: ProblemView, now: datetime) -> str:
    """A problem as a whole: what, where, who raised it, where it waits and until when."""
    p, team = view.problem, view.team
    sep = t(lang, "sep.list")
    lines = [
        t(
            lang,
            "problem.card.head",
            dot=DOTS[p.colour],
            id=p.id,
            colour=t(lang, f"problem.colour.{p.colour}"),
            team=team.village,
            category=category_name(lang, p.category),
        ),
        readable(p.text),
        t(
            lang,
            "problem.card.raised",
            name=view.raiser.display_name,
            at=_when(p.raised_at, team.tz),
        ),
    ]
    if p.villager:
        lines.append(t(lang, "problem.card.villager", name=p.villager))
    if p.households:
        lines.append(t(lang, "log.households", names=sep.join(p.households)))
    if p.photos:
        lines.append(t(lang, "log.photos", n=len(p.photos)))
    if view.department is not None:
        key = "problem.card.accepted" if p.accepted_at else "problem.card.department"
        lines.append(t(lang, key, department=view.department.name))
    if p.state == "open":
        key = "problem.card.overdue" if rules.is_overdue(p, now) else "problem.card.due"
        lines.append(
            t(
                lang,
                key,
                level=t(lang, f"problem.level.{p.level}"),
                due=_when(p.due_at, team.tz),
            )
        )
    elif p.state == "resolved":
        lines.append(t(lang, "problem.card.resolved", note=p.resolution or ""))
        if p.resolution_photo:
            lines.append(t(lang, "problem.card.resolution_photo"))
    else:
        assert p.closed_at is not None
        lines.append(
            t(
                lang,
                "problem.card.closed",
                at=_when(p.closed_at, team.tz),
                days=rules.days_between(p.raised_at, p.closed_at),
            )
        )
    if p.revisions > 1:
        lines.append(t(lang, "problem.card.edited", n=p.revisions - 1))
    return "\n".join(lines)


def notice(lang: str, moved: Moved) -> str:
    """One line on a step, for whoever hears of it."""
    p = moved.view.problem
    before, after = moved.before, None
    if moved.step == "colour":
        before = t(lang, f"problem.colour.{moved.before}") if moved.before else ""
        after = t(lang, f"problem.colour.{p.colour}")
    elif moved.step == "category":
        before = category_name(lang, moved.before or "")
        after = category_name(lang, p.category)
    elif moved.step == "escalated":
        before = t(lang, f"problem.level.{moved.before}") if moved.before else ""
        after = t(lang, f"problem.level.{p.level}")
    elif moved.step == "assigned" and moved.view.department is not None:
        after = moved.view.department.name
    by = moved.actor.display_name if moved.actor else ""
    step = moved.step
    if step == "escalated" and moved.actor is None:
        step = "escalated_deadline"
    text = t(
        lang,
        f"problem.step.{step}",
        dot=DOTS[p.colour],
        id=p.id,
        team=moved.view.team.village,
        by=by,
        before=before or "",
        after=after or "",
        excerpt=_excerpt(p.text),
    )
    if moved.note:
        text += "\n" + t(lang, "problem.step.note", note=moved.note)
    return text


def _choice_markup(lang: str, view: ProblemView) -> InlineKeyboardMarkup:
    """Under a new problem: its colour, and its category from the county's list."""
    p = view.problem
    rows = [
        [
            InlineKeyboardButton(
                f"{DOTS[c]} {t(lang, f'problem.colour.{c}')}",
                callback_data=callbacks.encode(KIND, p.id, "c", c),
            )
            for c in rules.COLOURS
        ]
    ]
    row: list[InlineKeyboardButton] = []
    for index, category in enumerate(view.categories):
        mark = "✅ " if category == p.category else ""
        row.append(
            InlineKeyboardButton(
                mark + category_name(lang, category),
                callback_data=callbacks.encode(KIND, p.id, "k", index),
            )
        )
        if len(row) == 3:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    return InlineKeyboardMarkup(rows)


def _markup(lang: str, problem_id: int, buttons: str) -> InlineKeyboardMarkup | None:
    def button(key: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            t(lang, key), callback_data=callbacks.encode(KIND, problem_id, action)
        )

    if buttons == "department":
        return InlineKeyboardMarkup(
            [
                [button("problem.button.accept", "a"), button("problem.button.note", "n")],
                [button("problem.button.resolved", "s")],
            ]
        )
    if buttons == "confirm":
        return InlineKeyboardMarkup(
            [[button("problem.button.confirmed", "y"), button("problem.button.not_solved", "x")]]
        )
    return None


async def tell(context: CunbotContext, moved: Moved, here: int | None = None) -> None:
    """Everyone the step concerns hears of it (``here``, the chat the step was taken in,
    is answered by the reply instead); a full copy carries the problem's photos."""
    now = context.now()
    for a in moved.audience:
        if a.chat_id == here and not a.buttons:
            continue
        await _say(context, a, moved.view, notice(a.lang, moved), now)


async def _say(
    context: CunbotContext, a: Audience, view: ProblemView, head: str, now: datetime
) -> None:
    text = head + ("\n\n" + card(a.lang, view, now) if a.full or a.buttons else "")
    markup = _markup(a.lang, view.problem.id, a.buttons)
    p = view.problem
    if a.buttons == "confirm" and p.resolution_photo:
        # What the household is asked about: the photo of the work done, above the buttons.
        caption = t(a.lang, "problem.resolution_photo_of", id=p.id)
        await context.say(outbox.photo(a.chat_id, p.resolution_photo, caption))
    await context.say(outbox.message(a.chat_id, text, markup=markup))
    if a.full and a.person is not None:
        for photo in p.photos:
            caption = t(a.lang, "problem.photo_of", id=p.id)
            await context.say(outbox.photo(a.chat_id, photo.file_id, caption))


# ---------------------------------------------------------------------- raising
async def _raised(update: Update, context: CunbotContext, raised: Raised | Problem) -> None:
    if isinstance(raised, Problem):
        await reply_problem(update, context, raised)
        return
    lang = await context.lang(update)
    view = raised.view
    text = _choice_text(lang, view, context.now(), raised.unknown)
    await context.reply(update, text, markup=_choice_markup(lang, view))
    for a in raised.audience:
        head = t(a.lang, "problem.raised_privately", name=view.raiser.display_name)
        await context.say(
            outbox.message(a.chat_id, head + "\n\n" + card(a.lang, view, context.now()))
        )


async def problem_command(update: Update, context: CunbotContext) -> None:
    """``/problem <text>`` raises one; ``/problem <id> [action …]`` shows or moves one."""
    args = list(context.args or [])
    if not args:
        await reply(update, context, "problem.usage")
        return
    if parse_id(args[0].lstrip("#")) is not None:
        await _act(update, context, args, None)
        return
    message = message_of(update)
    raised = await problem_list.raise_problem(
        context.store, context.now(), tg_user(update), _message(update, message),
        context.settings.lang,
    )  # fmt: skip
    await _raised(update, context, raised)


async def _act(update: Update, context: CunbotContext, words: list[str], photo: str | None) -> None:
    message = message_of(update)
    done = await problem_list.act(
        context.store, context.now(), tg_user(update), message.chat_id, not in_group(update),
        words, context.settings.lang, photo,
    )  # fmt: skip
    await answer_step(update, context, done)


async def answer_step(
    update: Update, context: CunbotContext, done: Shown | Moved | Problem
) -> None:
    """The answer to a step (or a look) where it was asked; the others hear of the step."""
    if isinstance(done, Problem):
        await reply_problem(update, context, _localized(await context.lang(update), done))
        return
    lang = await context.lang(update)
    if isinstance(done, Shown):
        await reply_long(update, context, _shown_lines(lang, done, context.now()))
        return
    lines = [notice(lang, done)]
    if done.missed:
        lines.append(t(lang, "problem.unreachable", names=t(lang, "sep.list").join(done.missed)))
    await context.reply(update, "\n".join(lines))
    await tell(context, done, message_of(update).chat_id)


def _localized(lang: str, problem: Problem) -> Problem:
    """A refusal naming a level or an action names it in the reader's language."""
    params = dict(problem.params)
    if "action" in params:
        params["action"] = t(lang, f"problem.action.{params['action']}")
    return Problem(problem.key, params)


def _shown_lines(lang: str, shown: Shown, now: datetime) -> list[str]:
    lines = [card(lang, shown.view, now), "", t(lang, "problem.history")]
    tz = shown.view.team.tz
    for step, name in shown.steps:
        what = step.after or step.note or ""
        if step.kind == "colour" and step.after:
            what = t(lang, f"problem.colour.{step.after}")
        elif step.kind == "escalated" and step.after:
            what = t(lang, f"problem.level.{step.after}")
        elif step.kind == "category" and step.after:
            what = category_name(lang, step.after)
        line = t(
            lang,
            "problem.history_line",
            at=_when(step.at, tz),
            what=t(lang, f"problem.kind.{step.kind}"),
            by=name or t(lang, "problem.by_deadline"),
            detail=_excerpt(what) if what else "",
        )
        if step.note and step.kind not in ("raised", "progress", "resolved"):
            line += " — " + step.note
        lines.append(line)
    return lines


async def tagged(update: Update, context: CunbotContext) -> None:
    """A message or a photo's caption starting with #问题 / #problem (or /problem)."""
    message = message_of(update)
    if update.effective_user is None or message.sender_chat is not None:
        return
    raised = await problem_list.raise_problem(
        context.store, context.now(), tg_user(update), _message(update, message),
        context.settings.lang,
    )  # fmt: skip
    await _raised(update, context, raised)


async def photo(update: Update, context: CunbotContext) -> None:
    """An untagged photo joins a problem when it is in its album or answers it."""
    message = message_of(update)
    if update.effective_user is None:
        return
    problem = await problem_list.attach_photo(
        context.store, context.now(), tg_user(update), _message(update, message)
    )
    if problem is not None and message.media_group_id is None:
        await reply(update, context, "problem.photo_added", id=problem.id, n=len(problem.photos))


async def edited(update: Update, context: CunbotContext) -> None:
    """The message that raised a problem was edited: its next revision."""
    message = message_of(update)
    if update.effective_user is None:
        return
    done = await problem_list.edit_problem(
        context.store, context.now(), tg_user(update), _message(update, message)
    )
    if isinstance(done, Problem):
        await reply_problem(update, context, done)
    elif done is not None:
        await reply(update, context, "problem.edited", id=done.view.problem.id, n=done.revision - 1)


# ---------------------------------------------------------------------- the list
def _line(lang: str, p: VillageProblem, team: Team, now: datetime, with_team: bool) -> str:
    state = (
        t(lang, "problem.line.resolved")
        if p.state == "resolved"
        else t(lang, "problem.line.overdue")
        if rules.is_overdue(p, now)
        else t(lang, "problem.line.due", due=local_moment(p.due_at, team.tz).strftime("%m-%d"))
    )
    return t(
        lang,
        "problem.line",
        dot=DOTS[p.colour],
        id=p.id,
        team=f"{team.village} · " if with_team else "",
        category=category_name(lang, p.category),
        level=t(lang, f"problem.level.{p.level}"),
        state=state,
        excerpt=_excerpt(p.text),
    )


def _listed_lines(lang: str, listed: Listed) -> list[str]:
    now = listed.now
    if listed.scope == "team":
        if not listed.queue:
            return [t(lang, "problems.none")]
        return [
            t(lang, "problems.team", n=len(listed.queue)),
            *(_line(lang, p, team, now, False) for p, team in listed.queue),
        ]
    lines = [t(lang, "problems.queue", n=len(listed.queue))]
    lines += [_line(lang, p, team, now, True) for p, team in listed.queue]
    if listed.area:
        counts = {c: sum(1 for p, _ in listed.area if p.colour == c) for c in rules.COLOURS}
        overdue = sum(1 for p, _ in listed.area if rules.is_overdue(p, now))
        lines += ["", t(lang, "problems.area", n=len(listed.area), overdue=overdue, **counts)]
        lines += [_line(lang, p, team, now, True) for p, team in listed.area]
    return lines


async def problems_command(update: Update, context: CunbotContext) -> None:
    """``/problems``: the team's list in its group; privately one's queue and area."""
    message = message_of(update)
    listed = await problem_list.list_problems(
        context.store, context.now(), tg_user(update), message.chat_id, not in_group(update)
    )
    if isinstance(listed, Problem):
        await reply_problem(update, context, listed)
        return
    await reply_long(update, context, _listed_lines(await context.lang(update), listed))


# ---------------------------------------------------------------------- buttons
async def on_button(update: Update, context: CunbotContext) -> None:
    query = update.callback_query
    assert query is not None
    lang = await context.lang(update)
    decoded = callbacks.decode(query.data)
    parts = decoded[1] if decoded else []
    number = parse_id(parts[0]) if parts else None
    action = parts[1] if len(parts) >= 2 else ""
    valued = action in ("c", "k")
    if number is None or action not in ACTIONS or len(parts) != 2 + valued:
        await context.answer(update, t(lang, "err.stale_button"), alert=True)
        return
    chat_id, private = button_chat(update)
    done = await problem_list.press(
        context.store, context.now(), tg_user(update), chat_id, number, action,
        parts[2] if valued else "", context.settings.lang,
    )  # fmt: skip
    if isinstance(done, Problem):
        problem = _localized(lang, done)
        await context.answer(update, t(lang, problem.key, **problem.params), alert=True)
        return
    if isinstance(done, Prompt):
        await context.answer(update, t(lang, "problem.answer_asked"))
        prompt = t(lang, f"problem.ask.{done.action}", id=done.view.problem.id)
        if not private:
            prompt = f"{prompt_for(query.from_user)} {prompt}"
        await context.say(outbox.message(chat_id, prompt, markup=ForceReply(selective=True)))
        return
    await context.answer(update, notice(lang, done))
    unreachable = (
        t(lang, "problem.unreachable", names=t(lang, "sep.list").join(done.missed))
        if done.missed
        else None
    )
    if action in ("y", "x") and query.message is not None:
        # Confirmed or not: the household's answer is given; its buttons go. Reopened, a
        # department's contact who cannot be written to is named where it was pressed.
        text = notice(lang, done) + "\n\n" + card(lang, done.view, context.now())
        if unreachable:
            text += "\n\n" + unreachable
        await context.say(
            outbox.edit(chat_id, text, message_id=query.message.message_id, markup=None)
        )
    elif unreachable:
        await context.say(outbox.message(chat_id, unreachable))
    if valued and query.message is not None and done.view.problem.state == "open":
        # The choice buttons show what is chosen now.
        await context.say(
            outbox.edit(
                chat_id,
                _choice_text(lang, done.view, context.now()),
                message_id=query.message.message_id,
                markup=_choice_markup(lang, done.view),
            )
        )
    # A press is answered to its presser alone, so the chat it was pressed in hears of it too
    # (unless the message pressed now says it: confirmed, or not solved).
    await tell(context, done, chat_id if action in ("y", "x") else None)


def _choice_text(lang: str, view: ProblemView, now: datetime, unknown: tuple[str, ...] = ()) -> str:
    """A new problem's card above its colour and category buttons (households the
    register lacks named under it)."""
    lines = [t(lang, "problem.raised", id=view.problem.id), "", card(lang, view, now)]
    if unknown:
        names = t(lang, "sep.list").join(unknown)
        lines.append(t(lang, "problem.unknown_households", names=names))
    return "\n".join([*lines, t(lang, "problem.choose")])


async def answer_typed(update: Update, context: CunbotContext, done: Moved | Problem) -> None:
    """Words typed after a problem's "progress note" or "resolved" button."""
    if isinstance(done, Problem):
        await reply_problem(update, context, _localized(await context.lang(update), done))
        return
    await answer_step(update, context, done)


def register(app: Application) -> None:
    app.add_handler(CallbackQueryHandler(on_button, pattern=rf"^v1:{KIND}:"))
    app.add_handler(CommandHandler("problem", problem_command, filters=NEW_MESSAGES))
    app.add_handler(CommandHandler("problems", problems_command, filters=NEW_MESSAGES))
    # Before the logs' and the leave dialogue's handlers of typed text.
    app.add_handler(
        MessageHandler(
            NEW_MESSAGES
            & (
                (filters.TEXT & filters.Regex(rules.PROBLEM_TAG))
                | (filters.PHOTO & filters.CaptionRegex(rules.PROBLEM_MARKER))
            ),
            tagged,
        )
    )
    # A group of their own: a photo or an edit may be a log's as well as a problem's.
    app.add_handler(MessageHandler(NEW_MESSAGES & filters.PHOTO, photo), group=1)
    app.add_handler(
        MessageHandler(
            filters.UpdateType.EDITED_MESSAGE & (filters.TEXT | filters.CAPTION), edited
        ),
        group=1,
    )
