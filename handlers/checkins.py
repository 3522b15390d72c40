"""Check-ins: a shared location (new, or a live location's update), /checkin, /me, /today and
/rules. Answers to locations go through the outbox, so a morning rush never stalls the bot."""

from __future__ import annotations

from datetime import datetime, timedelta

from telegram import KeyboardButton, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot import outbox
from bot.context import CunbotContext
from bot.i18n import t
from handlers import requests
from handlers.common import (
    NEW_MESSAGES,
    ask_service,
    in_group,
    message_of,
    reminder_states,
    reply,
    reply_long,
    reply_problem,
    tg_user,
)
from reports import spot
from reports.text import category_name, distance_text, exception_items
from rules.checkin import Fix, local_moment
from rules.days import MonthFigures
from rules.policy import Policy, span_text
from rules.problems import Problem
from rules.requests import CORRECTIONS
from rules.spotcheck import standing
from services import checkins
from services.checkins import (
    AreaToday,
    CheckinResult,
    LocationReport,
    MonthView,
    PolicyView,
    TeamDay,
)
from services.org import team_label
from services.spotchecks import SpotAnswer
from storage.models import Checkin, Person


def _report(update: Update, message: Message, sent_at: datetime) -> LocationReport:
    location = message.location
    assert location is not None
    period = location.live_period  # seconds, or a timedelta in newer library versions
    return LocationReport(
        live_period=int(period.total_seconds()) if isinstance(period, timedelta) else period,
        chat_id=message.chat_id,
        private=not in_group(update),
        message_id=message.message_id,
        update_id=update.update_id,
        fix=Fix(
            latitude=location.latitude,
            longitude=location.longitude,
            accuracy_m=location.horizontal_accuracy,
            live=location.live_period is not None,
            sent_at=sent_at,
            forwarded=message.forward_origin is not None,
            venue=message.venue is not None,
        ),
    )


async def location(update: Update, context: CunbotContext) -> None:
    """A member shared a location: judge it as a check-in and answer in one line."""
    message = message_of(update)
    if update.effective_user is None or message.sender_chat is not None:
        return
    report = _report(update, message, message.date)
    result = await checkins.check_in(
        context.store,
        context.now(),
        tg_user(update),
        report,
        context.settings.tz,
    )
    lang = await context.lang(update)
    if result.spot is not None:
        _spot_answered(context, result.spot)
        text = spot_answer_text(lang, result.spot, result.person)
        if result.outcome == "checkin":  # it also counted as the window's check-in
            text += "\n" + _answer(lang, result, context.settings.tz)
        await _post(context, message, text, settled=result.spot.outcome != "refused")
        return
    if result.outcome == "ignored":
        return
    settled = result.outcome != "refused"
    text = _answer(lang, result, context.settings.tz)
    if result.field_offered and result.record is not None:
        # Not gathered with the morning's other answers: this one carries its own button.
        text += "\n" + t(lang, "field.offer")
        markup = requests.field_button(lang, result.record.id)
        await context.say(
            outbox.message(message.chat_id, text, reply_to=message.message_id, markup=markup)
        )
        return
    await _post(context, message, text, settled=settled)


async def live_location(update: Update, context: CunbotContext) -> None:
    """A live location moved. Recorded as presence; answered only when it makes a check-in."""
    message = update.edited_message
    if message is None or message.location is None or update.effective_user is None:
        return
    sent_at = message.edit_date or context.now()
    result = await checkins.live_update(
        context.store,
        context.now(),
        tg_user(update),
        _report(update, message, sent_at),
    )
    lang = await context.lang(update)
    if result.spot is not None:
        _spot_answered(context, result.spot)
        settled = result.spot.outcome != "refused"
        await _post(context, message, spot_answer_text(lang, result.spot, result.person), settled)
    elif result.outcome == "checkin":
        await _post(context, message, _answer(lang, result, context.settings.tz), settled=True)


async def _post(context: CunbotContext, message: Message, text: str, settled: bool) -> None:
    """A check-in's answer: in a morning rush it may be gathered with the others. Privately,
    an answer that settles it takes the 📍 keyboard down; a refusal leaves it up, to try
    again."""
    markup = ReplyKeyboardRemove() if settled and message.chat.type == "private" else None
    await context.say(
        outbox.message(
            message.chat_id, text, reply_to=message.message_id, gather=True, markup=markup
        )
    )


def _spot_answered(context: CunbotContext, answer: SpotAnswer) -> None:
    if answer.planned:
        context.deliverer.kick()  # the summary (or the late answer's note) is due


def spot_answer_text(lang: str, answer: SpotAnswer, person: Person | None) -> str:
    """The member hears at once how their answer counted, or what to fix."""
    name = person.display_name if person else ""
    if answer.outcome == "refused":
        reason = t(lang, f"spot.refused.{answer.reason}")
        return t(lang, "spot.you.refused", name=name, reason=reason)
    assert answer.sent_at is not None
    line = t(
        lang,
        f"spot.you.{answer.answer}",
        name=name,
        time=local_moment(answer.sent_at, answer.tz).strftime("%H:%M"),
        site=answer.site_name or "",
        distance=distance_text(lang, answer.distance_m or 0),
    )
    if answer.outcome == "late":
        deadline = local_moment(answer.check.deadline, answer.tz).strftime("%H:%M")
        line += "\n" + t(lang, "spot.you.late", deadline=deadline)
    return line


def _answer(lang: str, result: CheckinResult, default_tz: str) -> str:
    """One line for the chat, naming the member: in a gathered answer it stands alone."""
    record = result.record
    name = result.person.display_name if result.person else ""
    if record is None or result.outcome == "duplicate":
        return t(lang, "checkin.duplicate", name=name)
    tz = result.team.tz if result.team else default_tz
    time = local_moment(record.sent_at, tz).strftime("%H:%M")
    site = record.site_name or ""
    distance = distance_text(lang, record.distance_m or 0)
    window = t(lang, f"window.{record.window}") if record.window else ""
    if result.outcome == "checkin":
        key = "checkin.ok_live" if record.source == "live_edit" else "checkin.ok"
        line = t(lang, key, name=name, window=window, time=time, site=site, distance=distance)
        if record.flags:
            flags = t(lang, "sep.list").join(t(lang, f"checkin.flag.{f}") for f in record.flags)
            line = t(lang, "checkin.flagged", line=line, flags=flags)
        return line
    if result.outcome == "repeat":
        assert result.earlier is not None
        earlier = local_moment(result.earlier.sent_at, tz).strftime("%H:%M")
        return t(lang, "checkin.repeat", name=name, window=window, time=earlier)
    if result.outcome == "presence":
        following = result.next_window
        if following is None:
            return t(
                lang, "checkin.presence_last", name=name, time=time, site=site, distance=distance
            )
        return t(
            lang,
            "checkin.presence",
            name=name,
            time=time,
            site=site,
            distance=distance,
            window=t(lang, f"window.{following.name}"),
            span=following.label,
        )
    return _refusal(lang, name, record, result.policy, time)


def _refusal(lang: str, name: str, record: Checkin, policy: Policy, time: str) -> str:
    reason = record.reason or "outside"
    params: dict[str, object] = {"name": name}
    if reason == "stale":
        late = (record.received_at - record.sent_at).total_seconds()
        params.update(sent=time, minutes=round(late / 60))
    elif reason == "accuracy":
        params.update(
            accuracy=distance_text(lang, record.accuracy_m or 0),
            limit=distance_text(lang, policy.accuracy_m),
        )
    elif reason == "outside":
        params.update(
            distance=distance_text(lang, record.distance_m or 0),
            site=record.site_name or "",
            radius=record.site_radius_m or 0,
        )
    return t(lang, f"checkin.refused.{reason}", **params)


async def checkin_help(update: Update, context: CunbotContext) -> None:
    """How to check in; in private, a button that sends the location in one tap. With
    ``annul`` or ``restore``, a county admin's correction (:mod:`handlers.requests`)."""
    if context.args and context.args[0].lower() in CORRECTIONS:
        await requests.correct_command(update, context)
        return
    if in_group(update):
        await reply(update, context, "checkin.howto_group")
        return
    lang = await context.lang(update)
    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton(t(lang, "checkin.button"), request_location=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    await context.reply(update, t(lang, "checkin.howto_private"), markup=keyboard)


async def me(update: Update, context: CunbotContext) -> None:
    """The member's month: days present, nights, the quota and the pace."""
    chat = update.effective_chat
    assert chat is not None
    views = await checkins.my_month(
        context.store, context.now(), tg_user(update), chat.id, not in_group(update)
    )
    if isinstance(views, Problem):
        await reply_problem(update, context, views)
        return
    lang = await context.lang(update)
    name = update.effective_user.first_name if update.effective_user else ""
    blocks = [_month_text(lang, name, view) for view in views]
    await context.reply(update, "\n\n".join(blocks))


def _month_text(lang: str, name: str, view: MonthView) -> str:
    f: MonthFigures = view.figures
    lines = [
        t(lang, "me.title", name=name, village=view.team.village, month=f.first.strftime("%Y-%m")),
        t(lang, "me.days", present=f.present, quota=f.quota_days, absent=f.absent, leave=f.leave),
    ]
    if f.quota_nights:
        lines.append(t(lang, "me.nights", nights=f.nights, quota=f.quota_nights))
    if f.first.day != 1:
        lines.append(t(lang, "me.prorated", date=f.first.isoformat()))
    lines.append(t(lang, f"me.pace.{f.pace}", need=f.need_days, remaining=f.remaining))
    if f.need_nights and f.pace != "met":
        lines.append(t(lang, "me.need_nights", need=f.need_nights))
    items = _checkin_items(lang, view.today, view.team.tz)
    if items:
        lines.append(t(lang, "me.today", items=items))
    elif view.away_today is not None:
        away = view.away_today
        kind = t(lang, f"leave.kind.{away.kind}")
        lines.append(t(lang, "me.today_leave", id=away.id, kind=kind, last=away.last.isoformat()))
    else:
        lines.append(t(lang, "me.today_none"))
    items = exception_items(lang, view.field, view.made_up, view.annulled)
    if items:
        lines.append(t(lang, "me.exceptions", items=items))
    lines.append(t(lang, "me.logs", days=view.logs.days_logged, of=view.logs.days_so_far))
    if view.logs.verdicts:
        lines.append(
            t(
                lang,
                "me.verdicts",
                ok=view.logs.verdicts.get("ok", 0),
                false=view.logs.verdicts.get("false", 0),
            )
        )
    if view.spot.picks:
        findings = len(view.spot.findings)
        lines.append(
            t(
                lang,
                "me.spot",
                asked=len(view.spot.picks),
                present=view.spot.present,
                findings=findings,
                standing=spot.standing_text(lang, standing(findings, view.policy)),
            )
        )
        if findings:
            lines.append(spot.rule_text(lang, view.policy))
    for r in view.leave:
        lines.append(
            t(
                lang,
                f"me.leave_{r.state}",
                id=r.id,
                kind=t(lang, f"leave.kind.{r.kind}"),
                first=r.first.isoformat(),
                last=r.last.isoformat(),
            )
        )
    return "\n".join(lines)


def _checkin_items(lang: str, rows: list[Checkin], tz: str) -> str:
    return t(lang, "sep.list").join(_checkin_item(lang, r, tz) for r in rows if r.window)


def _checkin_item(lang: str, r: Checkin, tz: str) -> str:
    """``morning 08:12``; a make-up has no time of its own (it was approved later)."""
    window = t(lang, f"window.{r.window}")
    if r.source == "makeup":
        item = t(lang, "checkin.item_made_up", window=window)
    else:
        item = f"{window} {local_moment(r.sent_at, tz).strftime('%H:%M')}"
    if r.source == "field":
        item = t(lang, "checkin.item_field", item=item)
    return t(lang, "checkin.item_annulled", item=item) if r.annulled_at else item


async def today(update: Update, context: CunbotContext) -> None:
    """The team's day: who has checked in, when, and who has not (leaders, coordinators)."""
    result: TeamDay | AreaToday | None = await ask_service(update, context, checkins.team_today)
    if result is None:
        return
    lang = await context.lang(update)
    if isinstance(result, AreaToday):
        await reply_long(update, context, _area_lines(lang, result))
        return
    await context.reply(update, _day_text(lang, result))


def _area_lines(lang: str, area: AreaToday) -> list[str]:
    lines = [t(lang, "today.area_title", date=area.day.isoformat())]
    for team, checked, away, total in area.teams:
        line = t(lang, "today.area_line", team=team_label(team), checked=checked, total=total)
        if away:
            line += t(lang, "today.area_leave", n=away)
        lines.append(line)
    return lines


def _day_text(lang: str, day: TeamDay) -> str:
    lines = [t(lang, "today.title", village=day.team.village, date=day.day.isoformat())]
    if not day.members:
        return "\n".join([*lines, t(lang, "today.none")])
    checked = on_leave = 0
    for member in day.members:
        name = member.person.display_name
        items = _checkin_items(lang, member.checkins, day.team.tz)
        if items:
            checked += 1
            line = t(lang, "today.checked", name=name, items=items)
        elif member.leave is not None:
            on_leave += 1
            line = t(
                lang,
                "today.on_leave",
                name=name,
                kind=t(lang, f"leave.kind.{member.leave.kind}"),
                last=member.leave.last.isoformat(),
            )
        else:
            line = t(lang, "today.waiting" if day.windows_left else "today.missed", name=name)
        if member.left_site_at is not None:
            left = local_moment(member.left_site_at, day.team.tz).strftime("%H:%M")
            line = t(lang, "today.left_site", line=line, time=left)
        if member.overdue is not None:
            line = t(
                lang, "today.overdue", line=line, id=member.overdue.id, last=member.overdue.last
            )
        lines.append(line)
    lines.append(t(lang, "today.summary", checked=checked, total=len(day.members)))
    if on_leave:
        lines.append(t(lang, "today.summary_leave", n=on_leave))
    return "\n".join(lines)


async def rules(update: Update, context: CunbotContext) -> None:
    """Show the attendance rules; ``/rules set key=value …`` changes them (county admins)."""
    args = context.args or []
    chat_id = message_of(update).chat_id
    if args and args[0].lower() == "set":
        if len(args) == 1 or not in_group(update):
            await reply(update, context, "rules.usage")
            return
        result = await checkins.set_policy_in_chat(
            context.store, context.now(), tg_user(update), chat_id, args[1:]
        )
        if isinstance(result, Problem):
            await reply_problem(update, context, result)
            return
        lang = await context.lang(update)
        await context.reply(
            update, "\n".join([t(lang, "rules.updated"), policy_text(lang, result)])
        )
        return
    view = await checkins.show_policy(context.store, chat_id, tg_user(update), not in_group(update))
    await context.reply(update, policy_text(await context.lang(update), view))


def policy_text(lang: str, view: PolicyView) -> str:
    policy = view.policy
    scope = view.county or t(lang, "rules.scope_default")
    windows = t(lang, "sep.list").join(
        f"{t(lang, f'window.{w.name}')} {w.label}" for w in policy.windows
    )
    quota = (
        t(lang, "rules.quota_nights", days=policy.days, nights=policy.nights)
        if policy.nights
        else t(lang, "rules.quota", days=policy.days)
    )
    return "\n".join(
        [
            t(lang, "rules.title", scope=scope),
            t(lang, "rules.windows", windows=windows) if windows else t(lang, "rules.no_windows"),
            quota,
            t(lang, f"rules.day_rule.{policy.day_rule}"),
            t(lang, "rules.accuracy", accuracy=policy.accuracy_m),
            t(lang, f"rules.live.{policy.live}"),
            t(lang, "rules.backlog", hours=policy.backlog_hours),
            t(
                lang,
                "rules.leave_route_leader" if policy.leave_leader_step else "rules.leave_route",
                township=policy.leave_township_days,
            ),
            t(
                lang,
                "rules.leave_limits",
                max=policy.leave_max_days,
                sick_back=policy.leave_sick_back_days,
                remind=policy.leave_remind_hours,
            ),
            t(lang, f"rules.official.{policy.official}"),
            t(
                lang,
                "rules.makeup"
                if policy.makeup_days and policy.makeup_month
                else "rules.makeup_off",
                days=policy.makeup_days,
                month=policy.makeup_month,
                by=t(lang, f"leave.level.{policy.makeup_by}"),
            ),
            t(
                lang,
                f"rules.field_{policy.field}",
                by=t(lang, f"leave.level.{policy.field_by}"),
                far=policy.field_far_km,
            ),
            *([t(lang, "rules.exceptions", n=policy.exceptions)] if policy.exceptions else []),
            t(
                lang,
                "rules.problems",
                red=policy.problem_red,
                yellow=policy.problem_yellow,
                green=policy.problem_green,
                common=policy.problem_common,
                categories=t(lang, "sep.list").join(
                    category_name(lang, c) for c in policy.problem_categories
                ),
            ),
            t(lang, "rules.units", recall=policy.recall_days, briefs=policy.briefs_month),
            t(lang, "rules.reminders", **reminder_states(lang, policy)),
            t(
                lang,
                "rules.digests",
                day=t(lang, f"weekday.{policy.digest_day}"),
                at=reminder_states(lang, policy)["digest_at"],
            ),
            t(
                lang,
                "rules.spot" if policy.spot_week else "rules.spot_off",
                week=policy.spot_week,
                hours=span_text(policy.spot_hours),
                minutes=policy.spot_minutes,
            ),
            spot.rule_text(lang, policy),
        ]
    )


def register(app: Application) -> None:
    app.add_handler(CommandHandler("checkin", checkin_help, filters=NEW_MESSAGES))
    app.add_handler(CommandHandler("me", me, filters=NEW_MESSAGES))
    app.add_handler(CommandHandler("today", today, filters=NEW_MESSAGES))
    app.add_handler(CommandHandler("rules", rules, filters=NEW_MESSAGES))
    app.add_handler(MessageHandler(filters.LOCATION & filters.UpdateType.MESSAGE, location))
    app.add_handler(
        MessageHandler(filters.LOCATION & filters.UpdateType.EDITED_MESSAGE, live_location)
    )
