"""``leave:sweep``: reminds approvers of a request left waiting (leave, a make-up, a field
check-in), asks the level above after twice as long, and flags approved leave that ended with
no /back.

Each reminder, escalation and flag is claimed and its messages written to the outbox in one
transaction (a store unit), so a restart never repeats one and a crash never drops one."""

from __future__ import annotations

import logging

from bot import outbox
from bot.context import CunbotContext
from bot.i18n import t
from handlers import requests as request_messages
from handlers.leave import back_text, deliver
from services import leave, requests

log = logging.getLogger(__name__)


async def sweep_leave(context: CunbotContext) -> None:
    now = context.now()
    async with context.store.unit():
        due = await leave.sweep(context.store, now, context.settings.lang)
        for routed in due.reminders + due.escalations:
            hours = int((now - routed.view.leave.step_since).total_seconds() // 3600)
            key = "leave.reminder" if routed in due.reminders else "leave.escalated"
            missed = await deliver(context, routed, key, hours)
            if missed:
                log.info(
                    "leave #%s: %d approvers cannot be reached", routed.view.leave.id, len(missed)
                )
        for nudge in await requests.sweep(context.store, now, context.settings.lang):
            key = "leave.escalated" if nudge.escalated else "leave.reminder"
            missed = await request_messages.deliver(context, nudge.asked, key, nudge.hours)
            if missed:
                log.info(
                    "request #%s: %d deciders cannot be reached",
                    nudge.asked.view.request.id,
                    len(missed),
                )
        for overdue in due.overdue:
            view = overdue.view
            if view.team.chat_id is not None:
                text = back_text(overdue.group_lang, overdue)
                await context.say(outbox.message(view.team.chat_id, text, gather=True))
            text = t(
                overdue.member_lang,
                "leave.overdue_private",
                id=view.leave.id,
                last=view.leave.last.isoformat(),
            )
            await context.say(outbox.message(view.member.tg_user_id, text))
