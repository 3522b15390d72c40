"""``leave:sweep``: reminds approvers of a request left waiting, asks the level above after
twice as long, and flags approved leave that ended with no /back."""

from __future__ import annotations

import logging

from bot.context import CunbotContext
from bot.i18n import t
from handlers.leave import back_text, deliver, send_private
from services import leave

log = logging.getLogger(__name__)


async def sweep_leave(context: CunbotContext) -> None:
    now = context.now()
    due = await leave.sweep(context.store, now, context.settings.lang)
    for routed in due.reminders + due.escalations:
        hours = int((now - routed.view.leave.step_since).total_seconds() // 3600)
        key = "leave.reminder" if routed in due.reminders else "leave.escalated"
        missed = await deliver(context, routed, key, hours)
        if missed:
            log.info("leave #%s: could not reach %s", routed.view.leave.id, missed)
    for overdue in due.overdue:
        view = overdue.view
        if view.team.chat_id is not None:
            context.outbox.post(view.team.chat_id, back_text(overdue.group_lang, overdue), None)
        member_lang = overdue.member_lang
        await send_private(
            context.bot,
            view.member.tg_user_id,
            t(
                member_lang,
                "leave.overdue_private",
                id=view.leave.id,
                last=view.leave.last.isoformat(),
            ),
        )
