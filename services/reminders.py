"""Reminders: planned once per team and slot when they fall due, each to the members who
still need it (not on leave, not checked in, no log yet, behind the month's quota), and the
``/remind`` settings of teams and members."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from rules import access
from rules.checkin import local_moment, local_to_utc
from rules.days import month_bounds, month_figures
from rules.leave import leave_calendar
from rules.policy import Policy, WindowName
from rules.problems import Problem
from rules.reminders import Slot, change_overrides, due_slots, member_wants, team_rules
from services.checkins import live_at_opening
from services.org import TgUser, policy_for, scope_of
from storage.base import Store, Tx
from storage.models import AreaMember, Holder, NewDelivery, Team


@dataclass(frozen=True)
class _Due:
    team: Team
    rules: Policy
    slot: Slot
    today: date


async def plan_reminders(store: Store, now: datetime) -> int:
    """Plan the reminders that fell due for every team; each slot of a team once."""
    async with store.transaction() as tx:
        removed = await tx.removed_chats()  # the bot is not in them: nothing can be sent
        teams = [t for t in await tx.all_teams() if t.chat_id is not None]
        teams = [t for t in teams if t.chat_id not in removed]
        words = await tx.reminder_words("team", [t.id for t in teams])
        county_rules: dict[int | None, Policy] = {}
        due: list[_Due] = []
        opened: list[NewDelivery] = []
        for team in teams:
            if team.county_id not in county_rules:
                county_rules[team.county_id] = await policy_for(tx, team)
            rules = team_rules(county_rules[team.county_id], words.get(team.id, {}))
            local = local_moment(now, team.tz)
            # First, live locations running inside a site become the opening window's
            # check-ins, so the reminders below leave their owners alone.
            opened += await _open_windows(tx, team, rules, local.date(), now)
            for slot in due_slots(rules, local.date(), local.time().replace(tzinfo=None)):
                if await tx.plan_once(f"remind.{slot.kind}", slot.period, f"team:{team.id}", now):
                    due.append(_Due(team, rules, slot, local.date()))
        planned = await _recipients(tx, due, now) if due else []
        if not planned and not opened:
            return 0
        return await tx.add_deliveries(opened + planned, now)


async def _open_windows(
    tx: Tx, team: Team, rules: Policy, today: date, now: datetime
) -> list[NewDelivery]:
    """Once per window and team, at the first tick inside it: the check-ins of the live
    locations already running there, each answered where it is shared."""
    moment = local_moment(now, team.tz).time().replace(tzinfo=None)
    out: list[NewDelivery] = []
    for window in rules.windows:
        period = f"{today.isoformat()}:{window.name}"
        if not window.contains(moment):
            continue
        if not await tx.plan_once("checkin.opened", period, f"team:{team.id}", now):
            continue
        for found in await live_at_opening(tx, team, rules, window.name, now):
            record = found.record
            out.append(
                NewDelivery(
                    "checkin.opened",
                    period,
                    f"checkin:{record.id}",
                    record.chat_id,
                    now,
                    person_id=found.person.id,
                    team_id=team.id,
                    payload={
                        "name": found.person.display_name,
                        "window": window.name,
                        "time": local_moment(record.sent_at, team.tz).strftime("%H:%M"),
                        "site": record.site_name or "",
                        "distance_m": record.distance_m or 0,
                        "reply_to": record.message_id,
                        "lang": found.person.language_code,
                    },
                    expires_at=local_to_utc(today, window.end, team.tz),
                )
            )
    return out


async def _recipients(tx: Tx, due: list[_Due], now: datetime) -> list[NewDelivery]:
    ids = list({d.team.id for d in due})
    first = min(month_bounds(d.today)[0] for d in due)
    last = max(month_bounds(d.today)[1] for d in due)
    members: dict[int, list[AreaMember]] = defaultdict(list)
    for m in await tx.area_members(ids):
        members[m.team_id].append(m)
    person_words = await tx.reminder_words(
        "person", list({m.person.id for group in members.values() for m in group})
    )
    checked: dict[tuple[int, int], dict[date, set[WindowName]]] = defaultdict(dict)
    for team_id, person_id, day, window, _ in await tx.area_checkins(ids, first, last):
        checked[(team_id, person_id)].setdefault(day, set()).add(window)  # type: ignore[arg-type]
    leaves = defaultdict(list)
    for leave in await tx.area_leave(ids, first, last):
        leaves[(leave.team_id, leave.person_id)].append(leave)
    logged = {(t, p, d) for t, p, d in await tx.area_log_days(ids, first, last)}
    out: list[NewDelivery] = []
    for item in due:
        team, slot, today = item.team, item.slot, item.today
        targets: list[tuple[AreaMember, dict[str, int]]] = []
        for m in members[team.id]:
            key = (team.id, m.person.id)
            if not member_wants(slot.kind, person_words.get(m.person.id, {})):
                continue
            excused, credited = leave_calendar(leaves[key], item.rules.official)
            if today in excused or today in credited:
                continue  # on leave (or credited official business) today: nothing to remind
            marks = checked[key]
            if slot.kind in ("open", "close", "missed"):
                assert slot.window is not None
                if slot.kind == "missed" and m.since > local_to_utc(
                    today, slot.window.end, team.tz
                ):
                    continue  # joined after the window: nothing was missed
                if slot.window.name not in marks.get(today, set()):
                    targets.append((m, {}))
            elif slot.kind == "log":
                if (team.id, m.person.id, today) not in logged:
                    targets.append((m, {}))
            else:
                local = local_moment(now, team.tz)
                figures = month_figures(
                    today,
                    local.time().replace(tzinfo=None),
                    marks,
                    item.rules,
                    joined=local_moment(m.since, team.tz).date(),
                    leave_days=excused,
                    credited_days=credited,
                )
                if figures.pace in ("behind", "at_risk"):
                    targets.append(
                        (
                            m,
                            {
                                "present": figures.present,
                                "quota": figures.quota_days,
                                "need": figures.need_days,
                                "nights": figures.nights,
                                "quota_nights": figures.quota_nights,
                                "need_nights": figures.need_nights,
                                "remaining": figures.remaining,
                            },
                        )
                    )
        out += _deliveries(item, f"remind.{slot.kind}", targets, now)
    month_slots = [d for d in due if d.slot.kind == "month"]
    if month_slots:
        out += await _summary_reminders(tx, month_slots, now)
    return out


async def _summary_reminders(tx: Tx, due: list[_Due], now: datetime) -> list[NewDelivery]:
    """Leaders whose team has not sent this month's summary yet."""
    months: dict[str, list[_Due]] = defaultdict(list)
    for item in due:
        months[item.slot.period].append(item)
    leaders: dict[int, list[Holder]] = defaultdict(list)
    for holder in await tx.holders(("leader",)):
        if holder.team_id is not None:
            leaders[holder.team_id].append(holder)
    out: list[NewDelivery] = []
    for month, items in months.items():
        sent = {s.team_id for s in await tx.month_summaries(month, [d.team.id for d in items])}
        for item in items:
            if item.team.id in sent:
                continue
            targets: list[tuple[AreaMember, dict[str, int]]] = [
                (AreaMember(item.team.id, h.person, now, h.private), {})
                for h in leaders[item.team.id]
            ]
            out += _deliveries(item, "remind.summary", targets, now)
    return out


def _expires(item: _Due) -> datetime:
    """A reminder still unsent by the end of its window (or day) is no longer useful; a
    missed window's, by the end of its day (a make-up may be asked later)."""
    if item.slot.window is not None and item.slot.kind != "missed":
        return local_to_utc(item.today, item.slot.window.end, item.team.tz)
    return local_to_utc(item.today, None, item.team.tz)


def _deliveries(
    item: _Due, kind: str, targets: list[tuple[AreaMember, dict[str, int]]], now: datetime
) -> list[NewDelivery]:
    """Privately to each member who wrote to the bot; the others in one group message."""
    team, slot = item.team, item.slot
    base = {
        "team": team.id,
        "window": slot.window.name if slot.window else None,
        "span": slot.window.label if slot.window else None,
        "period": slot.period,
    }
    out = []
    in_group = []
    for m, figures in targets:
        if m.private:
            out.append(
                NewDelivery(
                    kind,
                    slot.period,
                    f"person:{m.person.id}",
                    m.person.tg_user_id,
                    now,
                    person_id=m.person.id,
                    team_id=team.id,
                    payload={**base, **figures, "lang": m.person.language_code},
                    expires_at=_expires(item),
                )
            )
        elif kind != "remind.missed":  # a missed window is nobody else's business
            in_group.append([m.person.tg_user_id, m.person.display_name, figures])
    if in_group and team.chat_id is not None:
        out.append(
            NewDelivery(
                kind,
                slot.period,
                f"chat:{team.chat_id}",
                team.chat_id,
                now,
                team_id=team.id,
                payload={**base, "mention": in_group},
                expires_at=_expires(item),
            )
        )
    return out


# ---------------------------------------------------------------------- /remind
@dataclass(frozen=True)
class ReminderView:
    team: Team
    rules: Policy  # the team's reminder times (the county's with the team's words on top)
    team_words: dict[str, str]
    member_words: dict[str, str] | None  # the caller's own switches, if a member
    changed: str | None = None  # "team" or "member" after a change


async def reminders(
    store: Store, now: datetime, user: TgUser, chat_id: int, private: bool, words: list[str]
) -> ReminderView | Problem:
    """``/remind``: show; a leader in the group sets the team's (``team close=15``); anyone
    sets their own (``off``, ``log=off``)."""
    async with store.transaction() as tx:
        person = await tx.get_person_by_tg(user.id)
        if person is None:
            return Problem("remind.err.not_member")
        if private:
            teams = await tx.member_teams(person.id)
            team = teams[0] if teams else None
        else:
            team = await tx.get_team_by_chat(chat_id)
        if team is None:
            return Problem("remind.err.not_member")
        roles = await tx.active_roles(person.id)
        team_words = (await tx.reminder_words("team", [team.id])).get(team.id, {})
        mine = (await tx.reminder_words("person", [person.id])).get(person.id, {})
        changed = None
        if words and words[0].lower() in ("team", "队"):
            if private or not access.can_manage_team(roles, scope_of(team)):
                return Problem("remind.err.not_leader")
            new = change_overrides(team_words, words[1:], member=False)
            if isinstance(new, Problem):
                return new
            await tx.set_reminder_words("team", team.id, new, team.id, now, person.id)
            team_words, changed = new, "team"
        elif words:
            if not access.is_member(roles, team.id):
                return Problem("remind.err.not_member")
            new = change_overrides(mine, words, member=True)
            if isinstance(new, Problem):
                return new
            await tx.set_reminder_words("person", person.id, new, team.id, now, person.id)
            mine, changed = new, "member"
        rules = team_rules(await policy_for(tx, team), team_words)
        member = mine if access.is_member(roles, team.id) else None
        return ReminderView(team, rules, team_words, member, changed)
