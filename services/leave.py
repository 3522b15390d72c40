"""Leave: asking (in one line or step by step), routing to the approvers of each level,
deciding, cancelling, reporting back, and the sweep that reminds and escalates.

Each function is one transaction. What must be sent (approval messages, notices) is returned
for the handler to render and send; what was sent is recorded with :func:`record_sent`, so a
decision can later edit every copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from rules import access
from rules import leave as rules
from rules.checkin import local_moment
from rules.days import MonthFigures
from rules.leave import Draft, LeaveKind, Level, Span
from rules.policy import Policy
from rules.problems import Problem
from services.checkins import member_month
from services.org import TgUser, ensure_person, group_lang, lang_of, policy_for, scope_of
from storage.base import Store, Tx
from storage.models import LeaveDecision, LeaveMessage, LeaveRequest, Person, Team

DIALOGUE_WAIT = timedelta(minutes=30)
REJECT_WAIT = timedelta(minutes=30)
DIALOGUE = "leave"
REJECT = "leave_reject"


@dataclass(frozen=True)
class Recipient:
    """Someone to write to privately, in their language; ``reachable``: the bot may (they
    wrote to it, and have not blocked it since)."""

    person: Person
    lang: str
    reachable: bool = True


@dataclass(frozen=True)
class LeaveView:
    """A request with what every rendering of it needs."""

    leave: LeaveRequest
    member: Person
    team: Team
    month: MonthFigures | None = None
    decisions: tuple[tuple[LeaveDecision, Person], ...] = ()
    decided_by: Person | None = None


@dataclass(frozen=True)
class Routed:
    """A request now waiting at a level: who to ask."""

    view: LeaveView
    approvers: tuple[Recipient, ...]
    member: Recipient
    group_lang: str


@dataclass(frozen=True)
class Decided:
    outcome: Literal["approved", "rejected", "advanced", "cancelled"]
    view: LeaveView
    messages: tuple[tuple[LeaveMessage, str], ...]  # each copy sent, in its chat's language
    member: Recipient
    group_lang: str
    next_step: Routed | None = None  # approved at one level, now asked at the next


# ---------------------------------------------------------------------- helpers
async def approvers_at(tx: Tx, team: Team, level: Level, requester: int) -> list[Person]:
    """Who decides at this level for this team; never the member asking."""
    if level == "leader":
        found = await tx.role_holders("leader", team_id=team.id)
    elif level == "township":
        found = (
            await tx.role_holders("coordinator", township_id=team.township_id)
            if team.township_id
            else []
        )
    else:
        found = await tx.role_holders("admin", county_id=team.county_id) if team.county_id else []
    return [p for p in found if p.id != requester]


async def _view(tx: Tx, leave: LeaveRequest, now: datetime, month: bool = False) -> LeaveView:
    team = await tx.get_team(leave.team_id)
    member = await tx.get_person(leave.person_id)
    figures = None
    if month:
        policy = await policy_for(tx, team)
        figures, _ = await member_month(tx, member.id, team, policy, now)
    decisions = tuple(
        [(d, await tx.get_person(d.decided_by)) for d in await tx.leave_decisions(leave.id)]
    )
    decided_by = await tx.get_person(leave.decided_by) if leave.decided_by else None
    return LeaveView(leave, member, team, figures, decisions, decided_by)


async def _routed(
    tx: Tx, leave: LeaveRequest, now: datetime, default_lang: str, levels: tuple[Level, ...]
) -> Routed:
    view = await _view(tx, leave, now, month=True)
    people: dict[int, Person] = {}
    for level in levels:
        for person in await approvers_at(tx, view.team, level, leave.person_id):
            people.setdefault(person.id, person)
    reachable = await tx.privately_reachable(list(people))
    approvers = tuple(
        [
            Recipient(p, await lang_of(tx, p, default_lang), p.id in reachable)
            for p in people.values()
        ]
    )
    return Routed(
        view,
        approvers,
        Recipient(view.member, await lang_of(tx, view.member, default_lang)),
        await group_lang(tx, view.team, default_lang),
    )


async def member_team(tx: Tx, person: Person, chat_id: int, private: bool) -> Team | Problem:
    teams = await tx.member_teams(person.id)
    if not private:
        teams = [t for t in teams if t.chat_id == chat_id]
    if not teams:
        return Problem("leave.err.not_member")
    if len(teams) > 1:
        return Problem("leave.err.which_team")
    return teams[0]


def _today(team: Team, now: datetime) -> date:
    return local_moment(now, team.tz).date()


async def _taken(tx: Tx, person_id: int) -> list[Span]:
    """The member's pending and approved leave, as it stands (a return ends it early)."""
    spans = []
    for r in await tx.person_leave(person_id):
        days = rules.excused_days(r.first, r.last, r.returned_day)
        if days:
            spans.append(Span(r.id, min(days), max(days)))
    return spans


# ---------------------------------------------------------------------- asking
async def request_leave(
    store: Store,
    now: datetime,
    user: TgUser,
    chat_id: int,
    private: bool,
    words: list[str],
    default_lang: str,
) -> Routed | Problem:
    """The one-line request (``<first> [<last>] <kind> <reason…>``): read its dates in the
    team's time zone, check it against the county's rules and route it to its first level."""
    async with store.transaction() as tx:
        person = await ensure_person(tx, user, now)
        team = await member_team(tx, person, chat_id, private)
        if isinstance(team, Problem):
            return team
        draft = rules.parse_line(words, _today(team, now))
        if isinstance(draft, Problem):
            return draft
        policy = await policy_for(tx, team)
        return await _submit(tx, now, person, team, policy, chat_id, draft, default_lang)


async def _submit(
    tx: Tx,
    now: datetime,
    person: Person,
    team: Team,
    policy: Policy,
    chat_id: int,
    draft: Draft,
    default_lang: str,
) -> Routed | Problem:
    problem = rules.check_request(
        draft.kind, draft.first, draft.last, _today(team, now), policy, await _taken(tx, person.id)
    )
    if problem is not None:
        return problem
    leaders = await tx.role_holders("leader", team_id=team.id)
    by_leader = any(p.id == person.id for p in leaders)
    wanted = rules.route(rules.length(draft.first, draft.last), policy, by_leader=by_leader)
    available = {
        level: bool(await approvers_at(tx, team, level, person.id)) for level in rules.LEVELS
    }
    levels = rules.resolve_route(wanted, available)
    if levels is None:
        return Problem("leave.err.no_approver")
    leave = await tx.create_leave(
        person.id, team.id, draft.kind, draft.first, draft.last, draft.reason, levels, chat_id, now
    )
    return await _routed(tx, leave, now, default_lang, (levels[0],))


async def record_sent(
    store: Store,
    now: datetime,
    request_id: int,
    step: int,
    sent: list[tuple[int | None, str, int, int]],
) -> None:
    """Remember the copies written to the outbox (person, purpose, chat, outbox row): every
    change to the request re-renders each one."""
    async with store.transaction() as tx:
        for person_id, purpose, chat_id, outbox_id in sent:
            await tx.add_leave_message(
                request_id, person_id, purpose, chat_id, step, now, outbox_id=outbox_id
            )


# ---------------------------------------------------------------------- the dialogue
@dataclass(frozen=True)
class Dialogue:
    """Where a step-by-step request stands: the next thing to ask."""

    step: Literal["kind", "first", "last", "reason"]
    today: date
    policy: Policy
    kind: LeaveKind | None = None
    first: date | None = None
    last: date | None = None
    outbox_id: int | None = None  # the bot's message the buttons are on, as its outbox row

    @property
    def earliest(self) -> date:
        """The first day the calendar offers at this step."""
        if self.step == "last" and self.first is not None:
            return self.first
        back = self.policy.leave_sick_back_days if self.kind == "sick" else 0
        return self.today - timedelta(days=back)

    @property
    def latest(self) -> date:
        if self.step == "last" and self.first is not None:
            return self.first + timedelta(days=self.policy.leave_max_days - 1)
        return self.today + rules.MAX_AHEAD

    def payload(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "kind": self.kind,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
            "outbox_id": self.outbox_id,
        }


def _dialogue(payload: dict[str, Any], today: date, policy: Policy) -> Dialogue:
    return Dialogue(
        payload["step"],
        today,
        policy,
        payload.get("kind"),
        date.fromisoformat(payload["first"]) if payload.get("first") else None,
        date.fromisoformat(payload["last"]) if payload.get("last") else None,
        payload.get("outbox_id"),
    )


async def start_dialogue(
    store: Store, now: datetime, user: TgUser, chat_id: int, private: bool
) -> Dialogue | Problem:
    async with store.transaction() as tx:
        person = await ensure_person(tx, user, now)
        team = await member_team(tx, person, chat_id, private)
        if isinstance(team, Problem):
            return team
        dialogue = Dialogue("kind", _today(team, now), await policy_for(tx, team))
        await tx.set_pending(
            chat_id, person.id, DIALOGUE, dialogue.payload(), now, now + DIALOGUE_WAIT
        )
        return dialogue


async def dialogue_shown(
    store: Store, now: datetime, user: TgUser, chat_id: int, outbox_id: int
) -> None:
    """The dialogue's buttons are on this message (an outbox row until it is sent): only
    presses on it drive the dialogue."""
    async with store.transaction() as tx:
        person = await tx.get_person_by_tg(user.id)
        pending = await tx.take_pending(chat_id, person.id, DIALOGUE, now) if person else None
        if person is None or pending is None:
            return
        payload = {**pending.payload, "outbox_id": outbox_id}
        await tx.set_pending(chat_id, person.id, DIALOGUE, payload, now, now + DIALOGUE_WAIT)


# A pressed kind or day, a typed text, Cancel, or "view" (turn the calendar's page).
DialogueInput = tuple[Literal["kind", "day", "text", "cancel", "view"], str]


async def dialogue_step(
    store: Store,
    now: datetime,
    user: TgUser,
    chat_id: int,
    message_id: int | None,
    given: DialogueInput,
    default_lang: str,
) -> Dialogue | Routed | Problem | None:
    """One answer in the dialogue: a button (``message_id`` is the message it is on) or a
    typed text (``message_id`` None). None when this person has no dialogue here (a text
    that was not meant for us); a Problem keeps the dialogue where it was."""
    what, value = given
    async with store.transaction() as tx:
        person = await tx.get_person_by_tg(user.id)
        pending = await tx.take_pending(chat_id, person.id, DIALOGUE, now) if person else None
        if person is None or pending is None:
            return None if what == "text" else Problem("leave.err.dialogue_gone")
        team = await member_team(tx, person, chat_id, chat_id > 0)
        if isinstance(team, Problem):
            return team
        current = _dialogue(pending.payload, _today(team, now), await policy_for(tx, team))
        shown = await tx.outbox_message_id(current.outbox_id) if current.outbox_id else None
        if message_id is not None and message_id != shown:
            await _keep(tx, now, person, chat_id, current)
            return Problem("leave.err.dialogue_other")
        if what == "cancel":
            return Problem("leave.dialogue_cancelled")
        moved = _advance(current, what, value)
        if isinstance(moved, Problem):
            await _keep(tx, now, person, chat_id, current)
            return moved
        if isinstance(moved, Draft):
            policy = current.policy
            routed = await _submit(tx, now, person, team, policy, chat_id, moved, default_lang)
            if isinstance(routed, Problem):
                # Start again from the dates: the kind and the reason are usually still right.
                await _keep(tx, now, person, chat_id, current)
            return routed
        await _keep(tx, now, person, chat_id, moved)
        return moved


async def _keep(tx: Tx, now: datetime, person: Person, chat_id: int, d: Dialogue) -> None:
    await tx.set_pending(chat_id, person.id, DIALOGUE, d.payload(), now, now + DIALOGUE_WAIT)


def _advance(d: Dialogue, what: str, value: str) -> Dialogue | Draft | Problem:
    """The dialogue's next state for an answer; the finished request after the reason."""
    if what == "view":
        return d
    if d.step == "kind":
        kind = rules.parse_kind(value)
        if kind is None:
            return Problem("leave.err.kind", {"value": value})
        return Dialogue("first", d.today, d.policy, kind, outbox_id=d.outbox_id)
    if d.step in ("first", "last"):
        day = date.fromisoformat(value) if what == "day" else rules.parse_day(value, d.today)
        if day is None:
            return Problem("leave.err.date", {"value": value})
        if not d.earliest <= day <= d.latest:
            return Problem(
                "leave.err.range", {"first": d.earliest.isoformat(), "last": d.latest.isoformat()}
            )
        if d.step == "first":
            return Dialogue("last", d.today, d.policy, d.kind, day, outbox_id=d.outbox_id)
        return Dialogue("reason", d.today, d.policy, d.kind, d.first, day, d.outbox_id)
    reason = value.strip()[: rules.MAX_REASON]
    if what != "text" or not reason:
        return Problem("leave.err.no_reason")
    assert d.kind is not None and d.first is not None and d.last is not None
    return Draft(d.kind, d.first, d.last, reason)


# ---------------------------------------------------------------------- deciding
async def _authorise(tx: Tx, leave: LeaveRequest, person: Person | None) -> Problem | None:
    if person is not None and person.id == leave.person_id:
        return Problem("leave.err.own")
    if leave.state != "pending":
        return Problem(f"leave.err.already_{leave.state}")
    team = await tx.get_team(leave.team_id)
    roles = await tx.active_roles(person.id) if person else []
    level: Level = leave.level  # type: ignore[assignment]
    scope = scope_of(team)
    if not access.may_decide_leave(roles, scope, level, leave.escalated_at is not None):
        deciders = await approvers_at(tx, team, level, leave.person_id)
        # A level with nobody left in it (the leader left the group) waits for no one: the
        # level above decides at once, as it would once escalated.
        if not deciders and access.may_decide_leave(roles, scope, level, True):
            return None
        if not deciders:
            return Problem("leave.err.no_approver")
        # Named, so the presser knows whom to ask.
        names = ", ".join(p.display_name for p in deciders)
        return Problem(f"leave.err.not_approver.{level}", {"names": names})
    return None


async def _leave_and_person(
    tx: Tx, now: datetime, user: TgUser, request_id: int
) -> tuple[LeaveRequest, Person] | Problem:
    """The request a button names, and the person who pressed it."""
    leave = await tx.get_leave(request_id)
    if leave is None:
        return Problem("leave.err.unknown")
    return leave, await ensure_person(tx, user, now)


async def ask_reject_reason(
    store: Store, now: datetime, user: TgUser, chat_id: int, request_id: int
) -> LeaveView | Problem:
    """A Reject press: remember which request the next text in this chat is the reason for."""
    async with store.transaction() as tx:
        found = await _leave_and_person(tx, now, user, request_id)
        if isinstance(found, Problem):
            return found
        leave, person = found
        problem = await _authorise(tx, leave, person)
        if problem is not None:
            return problem
        payload = {"request_id": leave.id, "step": leave.step}
        await tx.set_pending(chat_id, person.id, REJECT, payload, now, now + REJECT_WAIT)
        return await _view(tx, leave, now)


async def reject_with_reason(
    store: Store, now: datetime, user: TgUser, chat_id: int, text: str, default_lang: str
) -> Decided | Problem | None:
    """The reason typed after Reject; None when no rejection waits for one here."""
    async with store.transaction() as tx:
        person = await tx.get_person_by_tg(user.id)
        pending = await tx.take_pending(chat_id, person.id, REJECT, now) if person else None
        if person is None or pending is None:
            return None
        note = text.strip()[: rules.MAX_REASON]
        if not note:
            return Problem("leave.err.no_reject_reason")
        leave = await tx.get_leave(int(pending.payload["request_id"]))
        assert leave is not None
        if leave.step != pending.payload.get("step"):
            return Problem("leave.err.moved_on")
        return await _decide(tx, now, person, leave, "rejected", note, default_lang)


async def approve(
    store: Store, now: datetime, user: TgUser, request_id: int, default_lang: str
) -> Decided | Problem:
    async with store.transaction() as tx:
        found = await _leave_and_person(tx, now, user, request_id)
        if isinstance(found, Problem):
            return found
        leave, person = found
        return await _decide(tx, now, person, leave, "approved", None, default_lang)


async def _decide(
    tx: Tx,
    now: datetime,
    person: Person,
    leave: LeaveRequest,
    decision: Literal["approved", "rejected"],
    note: str | None,
    default_lang: str,
) -> Decided | Problem:
    problem = await _authorise(tx, leave, person)
    if problem is not None:
        return problem
    if not await tx.decide_leave(leave, decision, person.id, now, note):
        return Problem("leave.err.already_decided")
    updated = await tx.get_leave(leave.id)
    assert updated is not None
    messages = await tx.leave_messages(leave.id)
    next_step = None
    outcome: Literal["approved", "rejected", "advanced"] = decision
    if updated.state == "pending":
        outcome = "advanced"
        level: Level = updated.level  # type: ignore[assignment]
        next_step = await _routed(tx, updated, now, default_lang, (level,))
    return await _decided(tx, outcome, updated, now, messages, default_lang, next_step)


async def _decided(
    tx: Tx,
    outcome: Literal["approved", "rejected", "advanced", "cancelled"],
    leave: LeaveRequest,
    now: datetime,
    messages: list[LeaveMessage],
    default_lang: str,
    next_step: Routed | None = None,
) -> Decided:
    view = await _view(tx, leave, now, month=True)
    copies = []
    for m in messages:
        if m.person_id is None:
            copies.append((m, await group_lang(tx, view.team, default_lang)))
        else:
            copies.append((m, await lang_of(tx, await tx.get_person(m.person_id), default_lang)))
    reachable = view.member.id in await tx.privately_reachable([view.member.id])
    return Decided(
        outcome,
        view,
        tuple(copies),
        Recipient(view.member, await lang_of(tx, view.member, default_lang), reachable),
        await group_lang(tx, view.team, default_lang),
        next_step,
    )


# ---------------------------------------------------------------------- cancel, back, list
async def cancel(
    store: Store,
    now: datetime,
    user: TgUser,
    request_id: int | None,
    default_lang: str,
) -> Decided | Problem:
    """The member takes back a pending request, or approved leave that has not begun."""
    async with store.transaction() as tx:
        person = await tx.get_person_by_tg(user.id)
        if person is None:
            return Problem("leave.err.none_to_cancel")
        if request_id is None:
            candidates = [
                r
                for r in await tx.person_leave(person.id)
                if r.state == "pending" or r.first > _today(await tx.get_team(r.team_id), now)
            ]
            if not candidates:
                return Problem("leave.err.none_to_cancel")
            if len(candidates) > 1:
                ids = ", ".join(f"#{r.id}" for r in candidates)
                return Problem("leave.err.which_cancel", {"ids": ids})
            leave = candidates[0]
        else:
            found = await tx.get_leave(request_id)
            if found is None:
                return Problem("leave.err.unknown")
            leave = found
        if leave.person_id != person.id:
            return Problem("leave.err.not_yours")
        team = await tx.get_team(leave.team_id)
        if leave.state == "approved" and leave.first <= _today(team, now):
            return Problem("leave.err.started", {"id": leave.id})
        if leave.state not in ("pending", "approved"):
            return Problem(f"leave.err.already_{leave.state}")
        if not await tx.cancel_leave(leave, person.id, now):
            return Problem("leave.err.already_decided")
        updated = await tx.get_leave(leave.id)
        assert updated is not None
        messages = await tx.leave_messages(leave.id)
        return await _decided(tx, "cancelled", updated, now, messages, default_lang)


@dataclass(frozen=True)
class Returned:
    """A member reported back (/back), or, from the sweep, never did (``day`` is today)."""

    view: LeaveView
    day: date
    early: bool
    late_days: int  # days after the leave's end before the member reported back
    group_lang: str
    member_lang: str
    overdue: bool = False  # from the sweep: the leave ended and no /back came


async def come_back(
    store: Store, now: datetime, user: TgUser, chat_id: int, private: bool, default_lang: str
) -> Returned | Problem:
    """/back: the member reports back; leave ends the day before today."""
    async with store.transaction() as tx:
        person = await tx.get_person_by_tg(user.id)
        if person is None:
            return Problem("leave.err.not_member")
        team = await member_team(tx, person, chat_id, private)
        if isinstance(team, Problem):
            return team
        today = _today(team, now)
        approved = [
            r
            for r in await tx.person_leave(person.id, ("approved",))
            if r.team_id == team.id and r.returned_at is None
        ]
        started = [r for r in approved if r.first <= today]
        if not started:
            if approved:
                return Problem("leave.err.not_started", {"id": approved[-1].id})
            return Problem("leave.err.not_on_leave")
        leave = max(started, key=lambda r: r.first)
        if not await tx.return_from_leave(leave, today, person.id, now):
            return Problem("leave.err.not_on_leave")
        updated = await tx.get_leave(leave.id)
        assert updated is not None
        return Returned(
            await _view(tx, updated, now),
            today,
            today <= leave.last,
            max(0, (today - leave.last).days - 1),
            await group_lang(tx, team, default_lang),
            await lang_of(tx, person, default_lang),
        )


@dataclass(frozen=True)
class LeaveList:
    team: Team | None  # set when listing a team's leave, None for one's own
    items: tuple[LeaveView, ...]
    overdue: frozenset[int]  # requests that ended with no /back, by each team's own day


async def list_leave(
    store: Store, now: datetime, user: TgUser, chat_id: int, private: bool
) -> LeaveList | Problem:
    """In a group, its team's pending, current and coming leave for those who oversee it;
    otherwise the caller's own requests."""
    async with store.transaction() as tx:
        person = await tx.get_person_by_tg(user.id)
        if person is None:
            return Problem("leave.err.not_member")
        team = None if private else await tx.get_team_by_chat(chat_id)
        if team is not None and access.may_see_team_day(
            await tx.active_roles(person.id), scope_of(team)
        ):
            today = _today(team, now)
            rows = await tx.team_leave(
                team.id,
                today - timedelta(days=60),
                today + rules.MAX_AHEAD,
                ("pending", "approved"),
            )
            rows = [
                r
                for r in rows
                if r.state == "pending"
                or r.last >= today
                or rules.is_overdue(r.state, r.last, r.returned_day, today)
            ]
            return await _listed(tx, team, rows, now)
        rows = await tx.person_leave(
            person.id, ("pending", "approved", "rejected", "cancelled"), limit=10
        )
        if team is not None:
            rows = [r for r in rows if r.team_id == team.id]
        return await _listed(tx, None, rows, now)


async def _listed(tx: Tx, team: Team | None, rows: list[LeaveRequest], now: datetime) -> LeaveList:
    items = tuple([await _view(tx, r, now) for r in rows])
    overdue = frozenset(
        v.leave.id
        for v in items
        if rules.is_overdue(v.leave.state, v.leave.last, v.leave.returned_day, _today(v.team, now))
    )
    return LeaveList(team, items, overdue)


# ---------------------------------------------------------------------- the sweep
@dataclass(frozen=True)
class Sweep:
    reminders: list[Routed] = field(default_factory=list)
    escalations: list[Routed] = field(default_factory=list)
    overdue: list[Returned] = field(default_factory=list)


async def sweep(store: Store, now: datetime, default_lang: str) -> Sweep:
    """What is due now: approvers to remind, levels to escalate to, missing returns to flag.

    Each is claimed in the database before it is sent, so a second sweep, or one after a
    restart, never sends it again."""
    found = Sweep()
    async with store.transaction() as tx:
        for leave in await tx.pending_leave():
            team = await tx.get_team(leave.team_id)
            policy = await policy_for(tx, team)
            stage = rules.escalation_stage(leave.step_since, now, policy.leave_remind_hours)
            level: Level = leave.level  # type: ignore[assignment]
            if (
                stage >= 1
                and leave.reminded_at is None
                and await tx.mark_leave(leave, "reminded", now, level=level)
            ):
                found.reminders.append(await _routed(tx, leave, now, default_lang, (level,)))
            higher = rules.up(level)
            if (
                stage >= 2
                and leave.escalated_at is None
                and higher is not None
                and await tx.mark_leave(leave, "escalated", now, level=level, to=higher)
            ):
                found.escalations.append(await _routed(tx, leave, now, default_lang, (higher,)))
        # Teams' days differ by time zone; yesterday in UTC is a safe first cut.
        for leave in await tx.unreturned_leave(now.date() + timedelta(days=1)):
            team = await tx.get_team(leave.team_id)
            today = _today(team, now)
            if not rules.is_overdue(leave.state, leave.last, leave.returned_day, today):
                continue
            if await tx.mark_leave(leave, "overdue", now, last=leave.last.isoformat()):
                view = await _view(tx, leave, now)
                found.overdue.append(
                    Returned(
                        view,
                        today,
                        False,
                        (today - leave.last).days,
                        await group_lang(tx, team, default_lang),
                        await lang_of(tx, view.member, default_lang),
                        overdue=True,
                    )
                )
    return found
