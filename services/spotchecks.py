"""Spot checks: a coordinator's ``/spotcheck``, the county's scheduled checks, answers taken
with the check-in rules, the close at the deadline (exactly once, from the database, so a
restart neither loses nor repeats it), and the findings ``/me`` and the digests count.

The questions and summaries go through the ledger of scheduled messages (:mod:`bot.deliverer`),
so each is sent once and a question nobody could receive is known as such.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from rules import access
from rules.checkin import Fix, judge, local_moment, local_to_utc
from rules.digest import week_of
from rules.leave import leave_calendar
from rules.policy import Policy
from rules.problems import Problem
from rules.spotcheck import (
    DEFAULT_COUNT,
    SCHEDULE_SLACK,
    Candidate,
    Standing,
    answer_of,
    choose,
    in_time,
    is_finding,
    order_problem,
    parse_order,
    rotation_start,
    standing,
    takes_answers,
    week_moments,
)
from services.org import TgUser, area_of, policy_for, team_label
from storage.base import Store, Tx
from storage.models import (
    AreaMember,
    Delivery,
    NewDelivery,
    Person,
    Role,
    SpotCheck,
    SpotPick,
    SpotPlan,
    Team,
)

ASK = "spot.ask"
SUMMARY = "spot.summary"
LATE = "spot.late"


def _period(check_id: int) -> str:
    return f"spot:{check_id}"


# ---------------------------------------------------------------------- /spotcheck
@dataclass(frozen=True)
class Ordered:
    check: SpotCheck
    picks: list[SpotPick]
    teams: dict[int, Team]
    wanted: int  # how many were asked for; fewer were picked if fewer were eligible
    on_leave: int  # members of the area left out because of approved leave today
    no_site: int  # members left out because their team has no site to judge against


async def order_spot_check(
    store: Store,
    now: datetime,
    user: TgUser,
    chat_id: int,
    private: bool,
    words: list[str],
    *,
    rng: random.Random,
) -> Ordered | Problem:
    """``/spotcheck [team code|township] [n] [minutes] [@member …]``, privately: a check
    announced in the group would not be a spot check."""
    if not private:
        return Problem("spot.err.private")
    order = parse_order(words)
    if isinstance(order, Problem):
        return order
    async with store.transaction() as tx:
        person = await tx.get_person_by_tg(user.id)
        roles = await tx.active_roles(person.id) if person else []
        teams = await area_of(tx, roles) if access.may_order_spot_checks(roles) else []
        if person is None or not teams:
            return Problem("spot.err.not_allowed")
        narrowed = await _narrow(tx, roles, teams, list(order.words))
        if isinstance(narrowed, Problem):
            return narrowed
        area, name, teams, rest = narrowed
        members = await tx.area_members([t.id for t in teams])
        named = _named(members, rest)
        if isinstance(named, Problem):
            return named
        out_of_range = order_problem(order)
        if out_of_range is not None:
            return out_of_range
        pool = await _eligible(tx, teams, members, now)
        for m in named:
            if m.person.id not in {c.person_id for c in pool.candidates}:
                key = (
                    "spot.err.named_on_leave" if m.person.id in pool.on_leave else "spot.err.named"
                )
                return Problem(key, {"name": m.person.display_name})
        named_ids = {m.person.id for m in named}
        wanted = order.count or (len(named) if named else DEFAULT_COUNT)
        chosen = choose(pool.candidates, wanted, rng, named_ids)
        if not chosen:
            return Problem("spot.err.none")
        policy = await policy_for(tx, teams[0])
        minutes = order.minutes or policy.spot_minutes
        check = await _start(tx, area, name, person.id, None, chosen, named_ids, pool, minutes, now)
        return Ordered(
            check,
            await tx.spot_picks(check.id),
            pool.teams,
            wanted,
            len(pool.on_leave),
            pool.no_site,
        )


async def _narrow(
    tx: Tx, roles: list[Role], teams: list[Team], words: list[str]
) -> tuple[str, str, list[Team], list[str]] | Problem:
    """The caller's whole area, or the team (by code) or township (by name) a word names."""
    rest = []
    chosen: tuple[str, str, list[Team]] | None = None
    for word in words:
        lowered = word.lower()
        team = next((t for t in teams if (t.code or "").lower() == lowered), None)
        township = [t for t in teams if (t.township_name or "").lower() == lowered]
        if chosen is None and team is not None:
            chosen = (f"team:{team.id}", team_label(team), [team])
        elif chosen is None and township:
            chosen = (
                f"township:{township[0].township_id}",
                township[0].township_name or "",
                township,
            )
        elif chosen is None and not word.startswith("@") and await tx.get_team_by_code(word):
            return Problem("spot.err.other_team", {"code": word})
        else:
            rest.append(word)
    if chosen is not None:
        return (*chosen, rest)
    if any(r.role == "admin" for r in roles):
        ids = sorted({str(t.county_id) for t in teams if t.county_id})
        names = sorted({t.county_name or "" for t in teams})
        return "county:" + ",".join(ids), ", ".join(names), teams, rest
    ids = sorted({str(t.township_id) for t in teams if t.township_id})
    names = sorted({t.township_name or "" for t in teams})
    return "township:" + ",".join(ids), ", ".join(names), teams, rest


def _named(members: list[AreaMember], words: list[str]) -> list[AreaMember] | Problem:
    """Members named by ``@username`` or by name; a word naming nobody is refused."""
    found: list[AreaMember] = []
    for word in words:
        wanted = word.removeprefix("@").lower()
        match = next(
            (
                m
                for m in members
                if (m.person.username or "").lower() == wanted
                or m.person.display_name.lower() == wanted
                or m.person.first_name.lower() == wanted
            ),
            None,
        )
        if match is None:
            return Problem("spot.err.word", {"value": word})
        if all(f.person.id != match.person.id for f in found):
            found.append(match)
    return found


@dataclass
class _Pool:
    candidates: list[Candidate]
    members: dict[int, AreaMember]  # by person
    teams: dict[int, Team]
    policies: dict[int, Policy]  # by team
    on_leave: set[int] = field(default_factory=set)
    no_site: int = 0


async def _eligible(tx: Tx, teams: list[Team], members: list[AreaMember], now: datetime) -> _Pool:
    """Members who can be asked now: not on approved leave (or official business) today,
    in a team with a site to judge against and a way to reach them."""
    by_id = {t.id: t for t in teams}
    ids = list(by_id)
    with_sites = await tx.teams_with_sites(ids)
    days = {t.id: local_moment(now, t.tz).date() for t in teams}
    first, last = min(days.values()), max(days.values())
    leaves = defaultdict(list)
    for leave in await tx.area_leave(ids, first, last):
        leaves[(leave.team_id, leave.person_id)].append(leave)
    by_county: dict[int | None, Policy] = {}
    for team in teams:
        if team.county_id not in by_county:
            by_county[team.county_id] = await policy_for(tx, team)
    policies = {team.id: by_county[team.county_id] for team in teams}
    counts = await tx.spot_pick_counts(list({m.person.id for m in members}), rotation_start(first))
    pool = _Pool([], {}, by_id, policies)
    for m in members:
        if m.person.id in pool.members:
            continue  # a member of two teams in the area is asked once, for the first
        team = by_id[m.team_id]
        excused, credited = leave_calendar(leaves[(team.id, m.person.id)], "leave")
        if days[team.id] in excused | credited:
            pool.on_leave.add(m.person.id)
            continue
        if team.id not in with_sites:
            pool.no_site += 1
            continue
        if not m.private and team.chat_id is None:
            continue
        pool.members[m.person.id] = m
        pool.candidates.append(Candidate(m.person.id, team.id, counts.get(m.person.id, 0)))
    return pool


async def _start(
    tx: Tx,
    area: str,
    name: str,
    ordered_by: int | None,
    plan_id: int | None,
    chosen: Sequence[Candidate],
    named: set[int],
    pool: _Pool,
    minutes: int,
    now: datetime,
) -> SpotCheck:
    """Record the check and its picks, and plan each question: privately to a member who
    wrote to the bot (with the location button), else in their group with a mention."""
    deadline = now + timedelta(minutes=minutes)
    check = await tx.create_spot_check(area, name, ordered_by, plan_id, deadline, now)
    asks = []
    for c in chosen:
        m, team = pool.members[c.person_id], pool.teams[c.team_id]
        policy = pool.policies[team.id]
        chat_id = m.person.tg_user_id if m.private else team.chat_id
        assert chat_id is not None
        day = local_moment(now, team.tz).date()
        await tx.add_spot_pick(
            check.id, m.person.id, team.id, day, c.person_id in named, chat_id, now, ordered_by
        )
        payload: dict[str, object] = {
            "check": check.id,
            "deadline": local_moment(deadline, team.tz).strftime("%H:%M"),
            "minutes": minutes,
            "live": policy.live == "required",
            "lang": m.person.language_code,
        }
        if not m.private:
            payload["mention"] = [m.person.tg_user_id, m.person.display_name]
        asks.append(
            NewDelivery(
                ASK,
                _period(check.id),
                f"person:{m.person.id}",
                chat_id,
                now,
                person_id=m.person.id,
                team_id=team.id,
                payload=payload,
                expires_at=deadline,
            )
        )
    await tx.add_deliveries(asks, now)
    return check


# ---------------------------------------------------------------------- answers
@dataclass(frozen=True)
class SpotAnswer:
    """What a shared location did to the member's open spot check."""

    outcome: Literal["answered", "late", "refused"]
    check: SpotCheck
    tz: str
    answer: str | None = None  # present / away
    reason: str | None = None  # why it could not answer
    site_name: str | None = None
    distance_m: float | None = None
    sent_at: datetime | None = None
    # Something for the deliverer: the check closed (its summary) or a late answer's note.
    planned: bool = False


async def take_answer(
    tx: Tx,
    person: Person,
    chat_id: int,
    private: bool,
    fix: Fix,
    checkin_id: int | None,
    now: datetime,
    waited: bool,
    quiet: bool = False,
) -> SpotAnswer | None:
    """A member with an open spot check shared a location (privately, or in the group of the
    team they were picked for): judge it against that team's sites with the check-in rules.
    ``quiet``: a live location's update, which answers only when it can be judged."""
    found = await tx.open_spot_pick(person.id)
    if found is None:
        return None
    pick, check = found
    if pick.result != "pending" and not takes_answers(check.deadline, now):
        return None  # too late even for a late answer: the location is only a check-in
    team = await tx.get_team(pick.team_id)
    if not private and chat_id != team.chat_id:
        return None
    policy = await policy_for(tx, team)
    verdict = judge(fix, await tx.list_sites(team.id), policy, team.tz, now, waited)
    answer = answer_of(verdict)
    if answer not in ("present", "away"):
        if quiet:
            return None
        await tx.refuse_spot_answer(pick, answer, checkin_id, now)
        return SpotAnswer("refused", check, team.tz, reason=answer)
    timely = in_time(fix.sent_at, check.deadline)
    # Sent in time but reaching us after the close (weak signal, or the bot was down): the
    # evidence is that it was in time. Sent late: the result stays no answer, the answer
    # is kept beside it.
    result = answer if timely else "no_answer"
    site = verdict.site.name if verdict.site else None
    taken = await tx.answer_spot_pick(
        pick, answer, result, fix.sent_at, not timely, checkin_id, site, verdict.distance_m, now
    )
    if not taken:
        return None
    planned = False
    if check.state == "closed":
        planned = await _plan_late_note(tx, check, pick, now)
    elif all(p.result != "pending" for p in await tx.spot_picks(check.id)):
        planned = await _close(tx, check, now)
    return SpotAnswer(
        "answered" if timely else "late",
        check,
        team.tz,
        answer=answer,
        site_name=site,
        distance_m=verdict.distance_m,
        sent_at=fix.sent_at,
        planned=planned,
    )


# ---------------------------------------------------------------------- the close
async def close_due_checks(store: Store, now: datetime) -> int:
    """Close every check whose deadline has passed; each closes once, whoever gets there."""
    closed = 0
    async with store.transaction() as tx:
        for check in await tx.due_spot_checks(now):
            closed += await _close(tx, check, now)
    return closed


async def _close(tx: Tx, check: SpotCheck, now: datetime) -> bool:
    asks = await tx.deliveries(ASK, _period(check.id))
    reached = {d.person_id for d in asks if d.state == "sent"}
    unreached = [p.id for p in await tx.spot_picks(check.id) if p.person.id not in reached]
    if not await tx.close_spot_check(check.id, unreached, now):
        return False
    recipients = await _recipients(tx, check)
    await tx.add_deliveries(
        [
            NewDelivery(
                SUMMARY,
                _period(check.id),
                f"person:{p.id}",
                p.tg_user_id,
                now,
                person_id=p.id,
                payload={"check": check.id, "lang": p.language_code},
            )
            for p in recipients
        ],
        now,
    )
    return True


async def _plan_late_note(tx: Tx, check: SpotCheck, pick: SpotPick, now: datetime) -> bool:
    recipients = await _recipients(tx, check)
    added = await tx.add_deliveries(
        [
            NewDelivery(
                LATE,
                f"{_period(check.id)}:{pick.id}",
                f"person:{p.id}",
                p.tg_user_id,
                now,
                person_id=p.id,
                payload={"check": check.id, "pick": pick.id, "lang": p.language_code},
            )
            for p in recipients
        ],
        now,
    )
    return added > 0


async def _recipients(tx: Tx, check: SpotCheck) -> list[Person]:
    """Who ordered it; for a scheduled check, the township's coordinators, or failing them
    the county's admins (privately, as their digests go)."""
    if check.ordered_by is not None:
        return [await tx.get_person(check.ordered_by)]
    township_id = int(check.area.split(":")[1])
    teams = await tx.area_teams([township_id], [], False)
    county_id = teams[0].county_id if teams else None
    holders = await tx.holders(("coordinator", "admin"))
    coordinators = [
        h.person for h in holders if h.role == "coordinator" and h.township_id == township_id
    ]
    admins = [h.person for h in holders if h.role == "admin" and h.county_id == county_id]
    return coordinators or admins


async def ask_in_group(store: Store, delivery: Delivery, now: datetime) -> bool:
    """A private question was refused (the member blocked the bot): ask in their group."""
    async with store.transaction() as tx:
        check = await tx.get_spot_check(int(delivery.payload["check"]))
        if check is None or check.state != "open" or delivery.team_id is None:
            return False
        team = await tx.get_team(delivery.team_id)
        if team.chat_id is None or delivery.person_id is None:
            return False
        person = await tx.get_person(delivery.person_id)
        payload = {**delivery.payload, "mention": [person.tg_user_id, person.display_name]}
        payload.pop("lang", None)
        return (
            await tx.add_deliveries(
                [
                    NewDelivery(
                        ASK,
                        delivery.period,
                        f"group:{person.id}",
                        team.chat_id,
                        now,
                        person_id=person.id,
                        team_id=team.id,
                        payload=payload,
                        expires_at=delivery.expires_at,
                    )
                ],
                now,
            )
            > 0
        )


# ---------------------------------------------------------------------- the county's schedule
async def plan_weeks(store: Store, now: datetime, rng: random.Random) -> int:
    """Each week, for each township of a county that schedules spot checks, draw the week's
    moments once (only those still ahead, for a week already under way)."""
    planned = 0
    async with store.transaction() as tx:
        townships: dict[int, list[Team]] = defaultdict(list)
        for team in await tx.all_teams():
            if team.township_id is not None:
                townships[team.township_id].append(team)
        policies: dict[int | None, Policy] = {}
        for township_id, teams in townships.items():
            first = teams[0]
            if first.county_id not in policies:
                policies[first.county_id] = await policy_for(tx, first)
            policy = policies[first.county_id]
            if policy.spot_week <= 0:
                continue
            local = local_moment(now, first.tz).replace(tzinfo=None)
            week = week_of(local.date())
            if not await tx.plan_once("spot.week", week.key, f"township:{township_id}", now):
                continue
            moments = week_moments(rng, week.first, policy.spot_hours, policy.spot_week, local)
            utc = [local_to_utc(m.date(), m.time(), first.tz) for m in moments]
            await tx.add_spot_plans(township_id, week.key, utc, policy.spot_minutes, now)
            planned += len(utc)
    return planned


async def run_plans(store: Store, now: datetime, rng: random.Random) -> int:
    """Start the scheduled checks whose moment has come: one member of the township each."""
    started = 0
    async with store.transaction() as tx:
        for plan in await tx.due_spot_plans(now):
            if now - plan.due_at > SCHEDULE_SLACK:
                await tx.settle_spot_plan(plan, "skipped", now)
                continue
            started += await _run_plan(tx, plan, now, rng)
    return started


async def _run_plan(tx: Tx, plan: SpotPlan, now: datetime, rng: random.Random) -> bool:
    teams = await tx.area_teams([plan.township_id], [], False)
    pool = await _eligible(tx, teams, await tx.area_members([t.id for t in teams]), now)
    chosen = choose(pool.candidates, plan.count, rng)
    if not chosen:
        await tx.settle_spot_plan(plan, "skipped", now)  # everyone is on leave, say
        return False
    if not await tx.settle_spot_plan(plan, "done", now):
        return False
    name = teams[0].township_name or ""
    area = f"township:{plan.township_id}"
    await _start(tx, area, name, None, plan.id, chosen, set(), pool, plan.minutes, now)
    return True


async def spot_tick(store: Store, now: datetime, rng: random.Random) -> int:
    """The scheduler's round: plan the weeks, start what is due, close what has expired."""
    await plan_weeks(store, now, rng)
    return await run_plans(store, now, rng) + await close_due_checks(store, now)


# ---------------------------------------------------------------------- findings
@dataclass(frozen=True)
class SpotRecord:
    """One member's spot checks in a team over a period, and the findings among them."""

    picks: tuple[SpotPick, ...] = ()
    findings: tuple[SpotPick, ...] = ()

    @property
    def present(self) -> int:
        return sum(1 for p in self.picks if p.result == "present")


async def spot_records(
    tx: Tx, team_ids: Sequence[int], first: date, last: date, person_id: int | None = None
) -> dict[tuple[int, int], SpotRecord]:
    """Each member's picks from ``first`` to ``last`` (by team and person), findings apart:
    away or no answer, unless approved leave covers the day (decided since, too)."""
    picks: dict[tuple[int, int], list[SpotPick]] = defaultdict(list)
    for pick in await tx.area_spot_picks(team_ids, first, last, person_id):
        picks[(pick.team_id, pick.person.id)].append(pick)
    if not picks:
        return {}
    leaves = defaultdict(list)
    for leave in await tx.area_leave(list({t for t, _ in picks}), first, last):
        leaves[(leave.team_id, leave.person_id)].append(leave)
    found = {}
    for key, mine in picks.items():
        excused, credited = leave_calendar(leaves[key], "leave")
        off = excused | credited
        findings = tuple(p for p in mine if is_finding(p.result, p.local_date, off, False))
        found[key] = SpotRecord(tuple(mine), findings)
    return found


# ---------------------------------------------------------------------- what the summary says
@dataclass(frozen=True)
class SpotReport:
    check: SpotCheck
    picks: list[SpotPick]
    teams: dict[int, Team]
    policy: Policy
    year: dict[int, int]  # findings this year, by person, for those found this time
    late_pick: SpotPick | None = None

    def standing(self, findings: int) -> Standing:
        return standing(findings, self.policy)


async def spot_report(store: Store, delivery: Delivery) -> SpotReport | None:
    """A check as its summary (or a late answer's note) tells it, read when it is sent."""
    async with store.transaction() as tx:
        check = await tx.get_spot_check(int(delivery.payload["check"]))
        if check is None:
            return None
        picks = await tx.spot_picks(check.id)
        teams = {p.team_id: await tx.get_team(p.team_id) for p in picks}
        if not teams:
            return None
        policy = await policy_for(tx, next(iter(teams.values())))
        day = max(p.local_date for p in picks)
        records = await spot_records(tx, list(teams), rotation_start(day), day)
        found = {p.person.id for p in picks if p.result in ("away", "no_answer")}
        year = {person: 0 for person in found}
        for (_, person), record in records.items():
            if person in found:
                year[person] += len(record.findings)
        late = next((p for p in picks if p.id == delivery.payload.get("pick")), None)
        return SpotReport(check, picks, teams, policy, year, late)
