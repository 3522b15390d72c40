"""Teams and people: /setup, /join, /leave_team, /team, /help, /lang, /start."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.context import CunbotContext
from bot.i18n import t
from handlers import units as unit_handlers
from handlers.common import (
    NEW_MESSAGES,
    PRIVATE,
    in_group,
    is_group_admin,
    message_of,
    reply,
    reply_problem,
    site_text,
    tg_user,
)
from services import admin, org


async def setup(update: Update, context: CunbotContext) -> None:
    """Bind this group to a team (new, or imported by code); the caller leads it."""
    if not in_group(update):
        await reply(update, context, "setup.err.private")
        return
    user, chat_id = tg_user(update), message_of(update).chat_id
    group_admin = await is_group_admin(context, chat_id, user.id)
    result = await org.setup_team(
        context.store,
        context.now(),
        user,
        chat_id,
        " ".join(context.args or []),
        group_admin,
        context.settings.tz,
    )
    if result.problem:
        await reply_problem(update, context, result.problem)
        return
    assert result.team is not None
    team = result.team
    text = await context.t(
        update,
        f"setup.{result.outcome}",
        village=team.village,
        code=team.code or "-",
        old=result.old_village or "",
        tz=team.tz,
    )
    if result.outcome != "already" and not await _bot_reads_group(context, chat_id):
        text += "\n\n" + await context.t(update, "setup.privacy", bot=context.bot.username)
    await context.reply(update, text)


async def _bot_reads_group(context: CunbotContext, chat_id: int) -> bool:
    """With privacy mode on, a bot sees only commands, unless it is an admin of the group."""
    if context.bot.bot.can_read_all_group_messages:
        return True
    return await is_group_admin(context, chat_id, context.bot.id)


async def join(update: Update, context: CunbotContext) -> None:
    """Become a member of this group's team."""
    if not in_group(update):
        await reply(update, context, "join.err.private")
        return
    result = await org.join_team(
        context.store, context.now(), tg_user(update), message_of(update).chat_id
    )
    if result.team is None:
        await reply(update, context, "err.no_team")
        return
    await reply(
        update,
        context,
        f"join.{result.outcome}",
        village=result.team.village,
        name=tg_user(update).first_name,
    )


async def leave_team(update: Update, context: CunbotContext) -> None:
    """Stop being a member of this group's team."""
    if not in_group(update):
        await reply(update, context, "join.err.private")
        return
    result = await org.leave_team(
        context.store, context.now(), tg_user(update), message_of(update).chat_id
    )
    if result.team is None:
        await reply(update, context, "err.no_team")
        return
    key = (
        "leave_team.left_last_leader" if result.team_lost_leader else f"leave_team.{result.outcome}"
    )
    await reply(update, context, key, village=result.team.village, name=tg_user(update).first_name)


async def team(update: Update, context: CunbotContext) -> None:
    """Show this group's team: place, people and roles, sites."""
    view = await org.team_view(context.store, message_of(update).chat_id)
    if view is None:
        await reply(update, context, "err.no_team")
        return
    lang = await context.lang(update)
    people = "\n".join(
        t(
            lang,
            "team.person",
            name=p.person.display_name,
            username=f" @{p.person.username}" if p.person.username else "",
            roles=t(lang, "list.sep").join(t(lang, f"role.{r}") for r in p.roles),
        )
        + (t(lang, "team.unit", unit=view.units[p.person.id]) if p.person.id in view.units else "")
        for p in view.people
    ) or t(lang, "team.no_people")
    sites = "\n".join(site_text(lang, s) for s in view.sites) or t(lang, "site.none")
    place = (
        t(lang, "team.place", township=view.team.township_name, county=view.team.county_name)
        if view.team.township_name
        else t(lang, "team.no_place")
    )
    await context.reply(
        update,
        t(
            lang,
            "team.view",
            village=view.team.village,
            code=view.team.code or "-",
            place=place,
            tz=view.team.tz,
            count=len(view.people),
            people=people,
            sites=sites,
        ),
    )


async def help_command(update: Update, context: CunbotContext) -> None:
    """List what the caller may do here, and the roles they hold."""
    group = in_group(update)
    chat_id, user = message_of(update).chat_id, tg_user(update)
    group_admin = group and await is_group_admin(context, chat_id, user.id)
    view = await org.help_view(context.store, user, chat_id, group, group_admin)
    lang = await context.lang(update)
    lines = [t(lang, "help.title")]
    lines += [t(lang, f"help.{command}") for command in view.commands]
    if view.roles:
        lines.append("")
        lines.append(t(lang, "help.roles"))
        lines += [
            t(lang, "help.role_line", role=t(lang, f"role.{role}"), place=place)
            for role, place in view.roles
        ]
    if group and view.team is None:
        lines.append("")
        lines.append(t(lang, "help.no_team"))
    await context.reply(update, "\n".join(lines))


async def lang(update: Update, context: CunbotContext) -> None:
    """Choose this chat's language: /lang zh or /lang en."""
    args = context.args or []
    if len(args) != 1:
        await reply(update, context, "lang.usage")
        return
    group = in_group(update)
    chat_id, user = message_of(update).chat_id, tg_user(update)
    group_admin = group and await is_group_admin(context, chat_id, user.id)
    problem = await org.set_chat_lang(
        context.store, context.now(), user, chat_id, not group, args[0].lower(), group_admin
    )
    if problem:
        await reply_problem(update, context, problem)
        return
    context.use_lang(args[0].lower())  # the confirmation already speaks the new language
    await reply(update, context, "lang.set")


async def start(update: Update, context: CunbotContext) -> None:
    """Private chat start; with an invite code, take on the role it grants."""
    args = context.args or []
    if not args:
        await reply(update, context, "start.welcome", name=tg_user(update).first_name)
        return
    result = await admin.redeem_invite(
        context.store, context.now(), tg_user(update), args[0], context.settings.lang
    )
    if result.problem:
        await reply_problem(update, context, result.problem)
        return
    if result.replaced is not None:
        view = result.replaced.view
        await reply(
            update, context, "recall.replaced", team=view.team.village,
            name=view.member.display_name,
        )  # fmt: skip
        await unit_handlers.tell(context, result.replaced)
        return
    role = await context.t(update, f"role.{result.role}")
    if result.unit is not None:
        await reply(
            update, context, "invite.redeemed_unit", role=role, place=result.place, unit=result.unit
        )
        return
    await reply(update, context, "invite.redeemed", role=role, place=result.place)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("setup", setup, filters=NEW_MESSAGES))
    app.add_handler(CommandHandler("join", join, filters=NEW_MESSAGES))
    app.add_handler(CommandHandler("leave_team", leave_team, filters=NEW_MESSAGES))
    app.add_handler(CommandHandler("team", team, filters=NEW_MESSAGES))
    app.add_handler(CommandHandler("help", help_command, filters=NEW_MESSAGES))
    app.add_handler(CommandHandler("lang", lang, filters=NEW_MESSAGES))
    app.add_handler(CommandHandler("start", start, filters=NEW_MESSAGES & PRIVATE))
