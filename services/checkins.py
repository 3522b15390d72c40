"""Check-ins: judging a shared location and recording it, a live location's updates, a
member's month (/me), a team's day (/today), and the county's attendance rules."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Literal

from rules import access
from rules import policy as policies
from rules.checkin import Fix, Verdict, judge, local_moment, nearest_site
from rules.days import MonthFigures, day_windows_left, month_bounds, month_figures
from rules.leave import day_asked, is_overdue, leave_calendar
from rules.policy import WINDOW_NAMES, Policy, Window, WindowName
from rules.problems import Problem
from rules.requests import field_offered
from rules.spotcheck import rotation_start
from services.logs import LogFigures, member_log_figures
from services.org import TgUser, area_of, ensure_person, outside_group, policy_for, scope_of
from services.spotchecks import SpotAnswer, SpotRecord, spot_records, take_answer
from storage.base import Store, Tx
from storage.models import Checkin, LeaveRequest, Person, Role, Team

# A moving live location is thinned: a point is kept when it crosses a site's edge, enters
# another window, or this long after the last kept point.
LIVE_POINT_EVERY = timedelta(minutes=10)


@dataclass(frozen=True)
class LocationReport:
    """A location message as plain values."""

    chat_id: int
    private: bool
    message_id: int
    update_id: int
    fix: Fix
    live_period: int | None = None  # seconds a live location is to be shared


# A live location shared "until I stop" is taken to run a day at most.
LIVE_AT_MOST = timedelta(days=1)


@dataclass(frozen=True)
class CheckinResult:
    outcome: Literal["checkin", "presence", "repeat", "refused", "duplicate", "ignored"]
    person: Person | None = None
    team: Team | None = None
    record: Checkin | None = None
    # For a repeat: the check-in that already counts in this window.
    earlier: Checkin | None = None
    # For a presence point outside every window: the next window today, if any.
    next_window: Window | None = None
    policy: Policy = policies.DEFAULT_POLICY
    # The location answered (or could not answer) the member's open spot check.
    spot: SpotAnswer | None = None
    # Refused as outside every site, it may become a field check-in (rules.requests).
    field_offered: bool = False


def _record(
    person: Person,
    team: Team | None,
    report: LocationReport,
    verdict: Verdict,
    now: datetime,
    source: Literal["message", "live_edit"] = "message",
) -> Checkin:
    fix = report.fix
    return Checkin(
        person_id=person.id,
        team_id=team.id if team else None,
        chat_id=report.chat_id,
        message_id=report.message_id,
        update_id=report.update_id,
        source=source,
        outcome=verdict.outcome,
        reason=verdict.reason,
        flags=verdict.flags,
        window=verdict.window,
        local_date=verdict.local_date,
        latitude=fix.latitude,
        longitude=fix.longitude,
        accuracy_m=fix.accuracy_m,
        live=fix.live,
        forwarded=fix.forwarded,
        venue=fix.venue,
        site_id=verdict.site.id if verdict.site else None,
        distance_m=verdict.distance_m,
        sent_at=fix.sent_at,
        received_at=now,
    )


async def _team_for_private(tx: Tx, person: Person, fix: Fix) -> Team | None:
    """In a private chat the member's team is implied; with several, the nearest one."""
    teams = await tx.member_teams(person.id)
    if len(teams) <= 1:
        return teams[0] if teams else None
    best: tuple[float, Team] | None = None
    for team in teams:
        found = nearest_site(fix.latitude, fix.longitude, await tx.list_sites(team.id))
        if found is not None and (best is None or found[1] < best[0]):
            best = (found[1], team)
    return best[1] if best else teams[0]


async def _counted_already(tx: Tx, person: Person, team: Team, verdict: Verdict) -> Checkin | None:
    """The check-in that already counts for this verdict's window and day, if any."""
    if verdict.outcome != "checkin" or verdict.window is None:
        return None
    return await tx.window_checkin(person.id, team.id, verdict.local_date, verdict.window)


def _next_window(policy: Policy, verdict: Verdict) -> Window | None:
    return next((w for w in policy.windows if w.start > verdict.local_time), None)


async def check_in(
    store: Store, now: datetime, user: TgUser, report: LocationReport, default_tz: str
) -> CheckinResult:
    """A member shared a location (a new message): judge it, record it, say what counts."""
    async with store.transaction() as tx:
        existing = await tx.checkin_of_message(report.chat_id, report.message_id)
        if existing is not None:
            # Delivered again (e.g. after a crash before Telegram heard we had it).
            team = await tx.get_team(existing.team_id) if existing.team_id else None
            person = await tx.get_person_by_tg(user.id)
            return CheckinResult("duplicate", person, team, existing)
        person = await ensure_person(tx, user, now)
        if report.private:
            group_team = None
            team = await _team_for_private(tx, person, report.fix)
        else:
            group_team = await tx.get_team_by_chat(report.chat_id)
            if group_team is None:
                return CheckinResult("ignored")  # a group that is not a team
            roles = await tx.active_roles(person.id)
            team = group_team if access.is_member(roles, group_team.id) else None
        policy = await policy_for(tx, team)
        waited = not await tx.was_fetching(report.fix.sent_at)
        if team is None:
            # Kept against the group's team (if any), so a leader sees who tried to check in.
            tz = group_team.tz if group_team else default_tz
            verdict = judge(report.fix, [], policy, tz, now, waited)
            verdict = replace(verdict, outcome="refused", reason="not_member")
            record = await tx.record_checkin(_record(person, group_team, report, verdict, now))
            return CheckinResult("refused", person, group_team, record, policy=policy)
        sites = await tx.list_sites(team.id)
        verdict = judge(report.fix, sites, policy, team.tz, now, waited)
        earlier = await _counted_already(tx, person, team, verdict)
        if earlier is not None:
            verdict = replace(verdict, outcome="repeat")
        record = await tx.record_checkin(_record(person, team, report, verdict, now))
        if record is not None and report.live_period:
            shared = min(timedelta(seconds=report.live_period), LIVE_AT_MOST)
            await tx.set_live_until(record.id, report.fix.sent_at + shared)
        spot = await take_answer(
            tx,
            person,
            report.chat_id,
            report.private,
            report.fix,
            record.id if record else None,
            now,
            waited,
        )
        return CheckinResult(
            verdict.outcome,
            person,
            team,
            record,
            earlier,
            _next_window(policy, verdict) if verdict.outcome == "presence" else None,
            policy,
            spot,
            record is not None and field_offered(policy, record),
        )


async def live_update(
    store: Store, now: datetime, user: TgUser, report: LocationReport
) -> CheckinResult:
    """A live location moved. Its points are presence evidence and never a second check-in;
    but a live share that enters a window with no check-in yet (started before the window
    opened, or outside the site) becomes that window's check-in."""
    async with store.transaction() as tx:
        first = await tx.checkin_of_message(report.chat_id, report.message_id)
        if first is None or first.team_id is None or first.reason in ("forwarded", "venue"):
            return CheckinResult("ignored")
        person = await tx.get_person_by_tg(user.id)
        if person is None or person.id != first.person_id:
            return CheckinResult("ignored")
        fix = replace(report.fix, live=True)
        waited = not await tx.was_fetching(fix.sent_at)
        # A live location that started blurred may answer a spot check once it sharpens.
        spot = await take_answer(
            tx, person, report.chat_id, report.private, fix, None, now, waited, quiet=True
        )
        result = await _live_point(tx, person, first, report, fix, now, waited)
        return replace(result, spot=spot)


async def _live_point(
    tx: Tx,
    person: Person,
    first: Checkin,
    report: LocationReport,
    fix: Fix,
    now: datetime,
    waited: bool,
) -> CheckinResult:
    assert first.team_id is not None
    team = await tx.get_team(first.team_id)
    if not access.is_member(await tx.active_roles(person.id), team.id):
        return CheckinResult("ignored")
    policy = await policy_for(tx, team)
    sites = await tx.list_sites(team.id)
    verdict = judge(fix, sites, policy, team.tz, now, waited)
    if verdict.outcome == "checkin" and verdict.window:
        earlier = await tx.window_checkin(person.id, team.id, verdict.local_date, verdict.window)
        if earlier is None:
            record = await tx.record_checkin(
                _record(person, team, report, verdict, now, "live_edit")
            )
            return CheckinResult("checkin", person, team, record, policy=policy)
        verdict = replace(verdict, outcome="presence")
    if verdict.outcome == "refused" and verdict.reason != "outside":
        return CheckinResult("ignored")  # a stale or blurred update says nothing
    last = await tx.last_point(report.chat_id, report.message_id)
    if last is not None and not _worth_keeping(last, verdict, fix.sent_at):
        return CheckinResult("ignored")
    await tx.record_checkin(_record(person, team, report, verdict, now, "live_edit"))
    return CheckinResult("ignored", person, team)


@dataclass(frozen=True)
class Opened:
    """A live location running inside a site when a window opened: its check-in."""

    person: Person
    record: Checkin


async def live_at_opening(
    tx: Tx, team: Team, policy: Policy, window: WindowName, now: datetime
) -> list[Opened]:
    """A window opens while members are sharing live locations from inside a site: each
    such share is that window's check-in at the opening, as if it had moved then (it may
    not move for an hour), so its owner needs no reminder."""
    sites = await tx.list_sites(team.id)
    opened = []
    for first in await tx.live_shares(team.id, now):
        last = await tx.last_point(first.chat_id, first.message_id)
        if last is None or last.latitude is None or last.longitude is None:
            continue
        if first.reason in ("forwarded", "venue"):
            continue
        fix = Fix(last.latitude, last.longitude, last.accuracy_m, True, now)
        verdict = judge(fix, sites, policy, team.tz, now, False)
        if verdict.outcome != "checkin" or verdict.window != window:
            continue
        roles = await tx.active_roles(first.person_id)
        if not access.is_member(roles, team.id):
            continue
        if await tx.window_checkin(first.person_id, team.id, verdict.local_date, window):
            continue
        person = await tx.get_person(first.person_id)
        report = LocationReport(
            first.chat_id, first.chat_id > 0, first.message_id, last.update_id, fix
        )
        record = await tx.record_checkin(_record(person, team, report, verdict, now, "live_edit"))
        if record is not None:
            opened.append(Opened(person, record))
    return opened


def _worth_keeping(last: Checkin, verdict: Verdict, at: datetime) -> bool:
    was_inside = last.outcome in ("checkin", "presence", "repeat")
    inside = verdict.outcome != "refused"
    return (
        was_inside != inside
        or last.window != verdict.window
        or last.local_date != verdict.local_date
        or at - last.sent_at >= LIVE_POINT_EVERY
    )


# ---------------------------------------------------------------------- /me
@dataclass(frozen=True)
class MonthView:
    team: Team
    policy: Policy
    figures: MonthFigures
    today: list[Checkin]
    leave: list[LeaveRequest]  # pending, and approved that has not ended
    logs: LogFigures
    spot: SpotRecord  # this calendar year's spot checks and findings
    away_today: LeaveRequest | None = None  # approved leave that excuses today
    field: int = 0  # this month's field check-ins that count
    made_up: int = 0  # this month's check-ins that came from approved make-up requests
    annulled: int = 0  # and those a county admin annulled


async def my_month(
    store: Store, now: datetime, user: TgUser, chat_id: int, private: bool
) -> list[MonthView] | Problem:
    """The member's month in each team they belong to (in a group: that group's team)."""
    async with store.transaction() as tx:
        person = await tx.get_person_by_tg(user.id)
        teams = await tx.member_teams(person.id) if person else []
        if not private:
            teams = [t for t in teams if t.chat_id == chat_id]
        if person is None or not teams:
            return Problem("me.err.not_member")
        views = []
        for team in teams:
            policy = await policy_for(tx, team)
            figures, rows = await member_month(tx, person.id, team, policy, now)
            today = local_moment(now, team.tz).date()
            leave = [
                r
                for r in await tx.person_leave(person.id)
                if r.team_id == team.id and (r.state == "pending" or r.last >= today)
            ]
            today_rows = [r for r in rows if r.local_date == today]
            since = await tx.member_since(person.id, team.id)
            logs = await member_log_figures(
                tx, person.id, team, now, local_moment(since, team.tz).date() if since else None
            )
            found = await spot_records(tx, [team.id], rotation_start(today), today, person.id)
            spot = found.get((team.id, person.id), SpotRecord())
            away = next((r for r in leave if r.state == "approved" and today in _excused(r)), None)
            field = sum(1 for r in rows if r.source == "field" and r.counts)
            made_up = sum(1 for r in rows if r.source == "makeup" and r.counts)
            annulled = sum(1 for r in rows if r.annulled_at is not None)
            views.append(
                MonthView(
                    team,
                    policy,
                    figures,
                    today_rows,
                    leave,
                    logs,
                    spot,
                    away,
                    field,
                    made_up,
                    annulled,
                )
            )
        return views


async def member_month(
    tx: Tx, person_id: int, team: Team, policy: Policy, now: datetime
) -> tuple[MonthFigures, list[Checkin]]:
    """The member's month so far in the team's time zone, leave included, and its check-ins."""
    local = local_moment(now, team.tz)
    today = local.date()
    first, last = month_bounds(today)
    rows = await tx.team_checkins(team.id, first, today, person_id=person_id)
    checked: dict[date, set[WindowName]] = {}
    for row in rows:
        if row.counts and row.window in WINDOW_NAMES:
            checked.setdefault(row.local_date, set()).add(row.window)
    leaves = [r for r in await tx.team_leave(team.id, first, last) if r.person_id == person_id]
    excused, credited = leave_calendar(leaves, policy.official)
    since = await tx.member_since(person_id, team.id)
    figures = month_figures(
        today,
        local.time().replace(tzinfo=None),
        checked,
        policy,
        joined=local_moment(since, team.tz).date() if since else None,
        leave_days=excused,
        credited_days=credited,
    )
    return figures, rows


# ---------------------------------------------------------------------- /today
@dataclass(frozen=True)
class MemberDay:
    person: Person
    checkins: list[Checkin]
    left_site_at: datetime | None  # a live location last seen outside after a check-in
    leave: LeaveRequest | None = None  # approved leave covering today
    overdue: LeaveRequest | None = None  # leave that ended with no /back


@dataclass(frozen=True)
class TeamDay:
    team: Team
    day: date
    policy: Policy
    members: list[MemberDay]
    windows_left: bool  # a member with no check-in yet may still make one today


async def _group_team_and_caller(
    tx: Tx, user: TgUser, chat_id: int
) -> tuple[Team, Person | None, list[Role]] | Problem:
    """The group's team, and the caller with the roles they hold (none if never seen)."""
    team = await tx.get_team_by_chat(chat_id)
    if team is None:
        return Problem("err.no_team")
    person = await tx.get_person_by_tg(user.id)
    return team, person, await tx.active_roles(person.id) if person else []


@dataclass(frozen=True)
class AreaToday:
    """``/today`` privately for an overseer with no team named: each team at a glance."""

    day: date
    teams: tuple[tuple[Team, int, int, int], ...]  # team, checked in, on leave, members


async def team_today(
    store: Store, now: datetime, user: TgUser, chat_id: int, private: bool, words: list[str]
) -> TeamDay | AreaToday | Problem:
    """``/today [team code] [day]``: in a group, its team's day; privately, the named team,
    or every team the caller oversees (a leader's own team)."""
    async with store.transaction() as tx:
        person = await tx.get_person_by_tg(user.id)
        roles = await tx.active_roles(person.id) if person else []
        named = await tx.get_team_by_code(words[0]) if words else None
        if named is not None:
            words = words[1:]
        if len(words) > 1:
            return Problem("today.usage")
        if not private:
            team = named or await tx.get_team_by_chat(chat_id)
            if team is None:
                return Problem("err.no_team")
            elsewhere = outside_group(team, chat_id, private)
            if elsewhere is not None:
                return elsewhere
            teams = [team]
        elif named is not None:
            teams = [named]
        else:
            teams = await area_of(tx, roles)
            led = [r.team_id for r in roles if r.role == "leader" and r.team_id]
            teams += [await tx.get_team(i) for i in led if all(t.id != i for t in teams)]
        if not teams:
            return Problem("today.err.not_allowed")
        local = local_moment(now, teams[0].tz)
        day = day_asked(words[0], local.date()) if words else local.date()
        if isinstance(day, Problem):
            return day
        if len(teams) > 1:
            return AreaToday(day, tuple([await _glance(tx, t, day) for t in teams]))
        if not access.may_see_team_day(roles, scope_of(teams[0])):
            return Problem("today.err.not_allowed")
        return await _team_day(tx, teams[0], day, now)


async def _team_day(tx: Tx, team: Team, day: date, now: datetime) -> TeamDay:
    policy = await policy_for(tx, team)
    local = local_moment(now, team.tz)
    rows = await tx.team_checkins(team.id, day, day, outcomes=("checkin", "presence", "refused"))
    leaves = await tx.team_leave(team.id, day - timedelta(days=366), day)
    members = []
    for held in await tx.team_people(team.id):
        if "member" not in held.roles:
            continue
        mine = [r for r in rows if r.person_id == held.person.id]
        counted = [r for r in mine if r.counts]
        theirs = [r for r in leaves if r.person_id == held.person.id]
        on_leave = next((r for r in theirs if day in _excused(r)), None)
        overdue = next(
            (r for r in theirs if is_overdue(r.state, r.last, r.returned_day, day)), None
        )
        left_site = _left_site_at(mine) if day == local.date() else None
        members.append(MemberDay(held.person, counted, left_site, on_leave, overdue))
    # A past day is over: nobody may still check in on it.
    left = day == local.date() and day_windows_left(policy, local.time().replace(tzinfo=None))
    return TeamDay(team, day, policy, members, left)


async def _glance(tx: Tx, team: Team, day: date) -> tuple[Team, int, int, int]:
    members = {p.person.id for p in await tx.team_people(team.id) if "member" in p.roles}
    rows = await tx.team_checkins(team.id, day, day, outcomes=("checkin",))
    checked = {r.person_id for r in rows if r.counts} & members
    leave = await tx.team_leave(team.id, day, day, states=("approved",))
    away = {r.person_id for r in leave if day in _excused(r)} & members - checked
    return team, len(checked), len(away), len(members)


def _excused(leave: LeaveRequest) -> set[date]:
    return leave_calendar([leave], "leave")[0]


def _left_site_at(rows: list[Checkin]) -> datetime | None:
    """When a live location last went outside the site after a check-in, if it still is."""
    live = [r for r in rows if r.source == "live_edit" or r.outcome == "checkin"]
    if not live or not any(r.outcome == "checkin" for r in live):
        return None
    last = live[-1]
    return last.sent_at if last.outcome == "refused" and last.reason == "outside" else None


# ---------------------------------------------------------------------- rules
@dataclass(frozen=True)
class PolicyView:
    policy: Policy
    county: str | None
    team: Team | None


async def show_policy(store: Store, chat_id: int, user: TgUser, private: bool) -> PolicyView:
    async with store.transaction() as tx:
        if private:
            person = await tx.get_person_by_tg(user.id)
            teams = await tx.member_teams(person.id) if person else []
            team = teams[0] if teams else None
        else:
            team = await tx.get_team_by_chat(chat_id)
        return PolicyView(await policy_for(tx, team), team.county_name if team else None, team)


async def set_policy_in_chat(
    store: Store, now: datetime, user: TgUser, chat_id: int, words: list[str]
) -> PolicyView | Problem:
    """``/rules set …`` in a team's group, by an admin of the team's county."""
    async with store.transaction() as tx:
        found = await _group_team_and_caller(tx, user, chat_id)
        if isinstance(found, Problem):
            return found
        team, person, roles = found
        if not access.may_set_policy(roles, scope_of(team)):
            return Problem("rules.err.not_admin")
        changed = policies.apply_changes(await policy_for(tx, team), words)
        if isinstance(changed, Problem):
            return changed
        assert person is not None and team.county_id is not None
        await tx.set_policy(team.county_id, policies.to_json(changed), now, person.id)
        return PolicyView(changed, team.county_name, team)


async def set_policy(
    store: Store, now: datetime, county: str | None, words: list[str]
) -> PolicyView | Problem:
    """``cunbot rules [--county C] key=value …`` from the command line (no words: show)."""
    async with store.transaction() as tx:
        county_id = None
        if county is not None:
            found = await tx.get_county(county)
            if found is None:
                return Problem("rules.err.no_county", {"county": county})
            county_id = found.id
        stored = await tx.get_policy(county_id)
        if stored is None and county_id is not None:
            stored = await tx.get_policy(None)
        current = policies.from_json(stored)
        if not words:
            return PolicyView(current, county, None)
        changed = policies.apply_changes(current, words)
        if isinstance(changed, Problem):
            return changed
        await tx.set_policy(county_id, policies.to_json(changed), now, None)
        return PolicyView(changed, county, None)
