"""Make-up requests (补卡): asked by a member for a missed window, decided once by the level
the county chose, and, approved, a check-in of their own kind (``source='makeup'``, flagged
``made_up``) that every figure counts and every view shows as made up.

Corrections: a county admin annuls a check-in found false, or restores it; the row stays,
marked, and each step is an event with who, when and why.

Each function is one transaction; what must be sent is returned for the handler to render.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Literal

from rules import access
from rules import requests as rules
from rules.checkin import local_moment
from rules.days import month_bounds
from rules.ids import parse_id
from rules.leave import Level, escalation_stage, leave_calendar, up
from rules.problems import Problem
from services import problem_list
from services.leave import Recipient, approvers_at, member_team
from services.org import TgUser, ensure_person, group_lang, lang_of, policy_for, scope_of
from storage.base import Store, Tx
from storage.models import Checkin, CheckinRequest, PendingInput, Person, Team

# Why a request closed without a decision, kept as its note (codes, not words).
WITHDRAWN = "withdrawn"  # its member withdrew it
COUNTED_MEANWHILE = "counted already"  # its window counted another check-in first


@dataclass(frozen=True)
class RequestView:
    request: CheckinRequest
    member: Person
    team: Team
    decided_by: Person | None = None
    attempt: Checkin | None = None  # a field check-in's point, refused as outside


@dataclass(frozen=True)
class Asked:
    """A make-up request waiting at a level: who decides, in which language each reads."""

    view: RequestView
    approvers: tuple[Recipient, ...]  # privately, when the level is above the team
    in_group: bool  # the team's leaders decide in the team's group
    group_lang: str
    member: Recipient
    again: bool = False  # the same window was already asked and is still waiting


@dataclass(frozen=True)
class Decided:
    outcome: Literal["approved", "rejected", "counted", "cancelled"]
    view: RequestView
    # (person or None for a group, chat, message id if known, outbox row, language)
    copies: tuple[tuple[int | None, int, int | None, int, str], ...]
    member: Recipient
    group_lang: str


async def _view(tx: Tx, request: CheckinRequest) -> RequestView:
    decided_by = await tx.get_person(request.decided_by) if request.decided_by else None
    return RequestView(
        request,
        await tx.get_person(request.person_id),
        await tx.get_team(request.team_id),
        decided_by,
        await tx.get_checkin(request.attempt_id) if request.attempt_id else None,
    )


async def _deciders(tx: Tx, team: Team, first: Level, requester: int) -> tuple[Level, list[Person]]:
    """The first level from ``first`` up that has someone to decide (never the requester)."""
    level: Level | None = first
    while level is not None:
        found = await approvers_at(tx, team, level, requester)
        if found:
            return level, found
        level = up(level)
    return first, []


async def _asked(
    tx: Tx, request: CheckinRequest, default_lang: str, again: bool, level: Level | None = None
) -> Asked:
    """Who decides ``request`` at its level (or at ``level``: the one above, escalated)."""
    view = await _view(tx, request)
    if level is None:
        level = request.level  # type: ignore[assignment]
    assert level is not None
    people = await approvers_at(tx, view.team, level, request.person_id)
    reachable = await tx.privately_reachable([p.id for p in people])
    approvers = tuple(
        [Recipient(p, await lang_of(tx, p, default_lang), p.id in reachable) for p in people]
    )
    return Asked(
        view,
        approvers,
        level == "leader" and view.team.chat_id is not None,
        await group_lang(tx, view.team, default_lang),
        Recipient(view.member, await lang_of(tx, view.member, default_lang)),
        again,
    )


async def ask_makeup(
    store: Store,
    now: datetime,
    user: TgUser,
    chat_id: int,
    private: bool,
    words: list[str],
    default_lang: str,
) -> Asked | Problem:
    async with store.transaction() as tx:
        person = await ensure_person(tx, user, now)
        team = await member_team(tx, person, chat_id, private)
        if isinstance(team, Problem):
            return Problem("makeup.err.not_member") if team.key == "leave.err.not_member" else team
        draft = rules.parse_makeup(words, local_moment(now, team.tz).date())
        if isinstance(draft, Problem):
            return draft
        return await _ask(tx, now, person, team, draft, chat_id, default_lang)


async def _blocked(
    tx: Tx, now: datetime, person: Person, team: Team, draft: rules.MakeupDraft
) -> Problem | None:
    """Why this make-up may not be asked (see :func:`rules.requests.check_makeup`)."""
    local = local_moment(now, team.tz)
    policy = await policy_for(tx, team)
    rows = await tx.team_checkins(team.id, draft.day, draft.day, person_id=person.id)
    leave = [r for r in await tx.person_leave(person.id) if r.team_id == team.id]
    excused, _ = leave_calendar([r for r in leave if r.state == "approved"], policy.official)
    since = await tx.member_since(person.id, team.id)
    first, last = month_bounds(draft.day)
    used = [
        r
        for r in await tx.person_checkin_requests(person.id, first, last)
        if r.kind == "makeup" and r.state in ("pending", "approved")
    ]
    return rules.check_makeup(
        draft,
        policy,
        local.date(),
        local.time().replace(tzinfo=None),
        counted={r.window for r in rows if r.counts and r.window},
        on_leave=draft.day in excused,
        joined=local_moment(since, team.tz).date() if since else None,
        used_in_month=len(used),
    )


async def _ask(
    tx: Tx,
    now: datetime,
    person: Person,
    team: Team,
    draft: rules.MakeupDraft,
    chat_id: int,
    default_lang: str,
) -> Asked | Problem:
    waiting = await tx.pending_checkin_request(person.id, team.id, draft.day, draft.window)
    if waiting is not None:
        return await _asked(tx, waiting, default_lang, again=True)
    problem = await _blocked(tx, now, person, team, draft)
    if problem is not None:
        return problem
    policy = await policy_for(tx, team)
    level, found = await _deciders(tx, team, policy.makeup_by, person.id)
    if not found:
        return Problem("makeup.err.no_approver")
    request = await tx.create_checkin_request(
        "makeup", person.id, team.id, draft.day, draft.window, draft.reason, level, chat_id, now
    )
    if request is None:  # asked twice at once: the other one is it
        waiting = await tx.pending_checkin_request(person.id, team.id, draft.day, draft.window)
        assert waiting is not None
        return await _asked(tx, waiting, default_lang, again=True)
    return await _asked(tx, request, default_lang, again=False)


# ------------------------------------------------------------------ from a missed-window note
MAKEUP = "makeup_reason"  # the pending input: the reason for a make-up asked by its button


@dataclass(frozen=True)
class MakeupPrompt:
    team: Team
    day: date
    window: str


async def start_makeup(
    store: Store, now: datetime, user: TgUser, chat_id: int, day_word: str, window: str
) -> MakeupPrompt | Problem:
    """The button under a missed-window reminder: check it may be asked, then ask why."""
    async with store.transaction() as tx:
        person = await ensure_person(tx, user, now)
        team = await member_team(tx, person, chat_id, True)
        if isinstance(team, Problem):
            return Problem("makeup.err.not_member") if team.key == "leave.err.not_member" else team
        day = rules.parse_day_key(day_word)
        if day is None or window not in rules.WINDOW_WORDS.values():
            return Problem("err.stale_button")
        draft = rules.MakeupDraft(day, window, "-")  # type: ignore[arg-type]
        waiting = await tx.pending_checkin_request(person.id, team.id, day, window)
        if waiting is not None:
            return Problem("field.err.waiting")
        problem = await _blocked(tx, now, person, team, draft)
        if problem is not None:
            return problem
        payload = {"team": team.id, "day": day.isoformat(), "window": window}
        await tx.set_pending(chat_id, person.id, MAKEUP, payload, now, now + FIELD_WAIT)
        return MakeupPrompt(team, day, window)


async def _makeup_reason(
    tx: Tx,
    now: datetime,
    person: Person,
    pending: PendingInput,
    reason: str,
    chat_id: int,
    default_lang: str,
) -> Asked | Problem:
    """The reason typed after a missed-window note's button: the make-up it names."""
    team = await tx.get_team(int(pending.payload["team"]))
    day = date.fromisoformat(str(pending.payload["day"]))
    draft = rules.MakeupDraft(day, pending.payload["window"], reason)
    return await _ask(tx, now, person, team, draft, chat_id, default_lang)


async def record_sent(
    store: Store, request_id: int, copies: list[tuple[int | None, int, int]]
) -> None:
    """Approval copies queued, as (person or None, chat, outbox row): a decision edits them."""
    async with store.transaction() as tx:
        for person_id, chat_id, row in copies:
            await tx.add_request_message(request_id, person_id, chat_id, row)


async def cancel(
    store: Store,
    now: datetime,
    user: TgUser,
    chat_id: int,
    private: bool,
    words: list[str],
    default_lang: str,
) -> Decided | Problem:
    """``/makeup cancel [id]``: the member withdraws a request still waiting (the latest if
    no id is given). Every copy then says so and its buttons go."""
    async with store.transaction() as tx:
        person = await ensure_person(tx, user, now)
        team = await member_team(tx, person, chat_id, private)
        if isinstance(team, Problem):
            return Problem("makeup.err.not_member")
        today = local_moment(now, team.tz).date()
        waiting = [
            r
            for r in await tx.person_checkin_requests(
                person.id, today.replace(day=1) - timedelta(days=31), today
            )
            if r.state == "pending" and r.team_id == team.id
        ]
        if words:
            number = parse_id(words[0].lstrip("#"))
            chosen = next((r for r in waiting if r.id == number), None)
            if chosen is None:
                return Problem("makeup.err.cancel_which", {"word": words[0]})
        elif waiting:
            chosen = waiting[-1]
        else:
            return Problem("makeup.err.nothing_to_cancel")
        if not await tx.decide_checkin_request(chosen, "cancelled", person.id, now, WITHDRAWN):
            return Problem(f"makeup.err.already_{chosen.state}")
        return await _decided(tx, chosen.id, "cancelled", default_lang)


async def _authorise(tx: Tx, request: CheckinRequest, person: Person) -> Problem | None:
    if person.id == request.person_id:
        return Problem("makeup.err.own")
    if request.state != "pending":
        return Problem(f"makeup.err.already_{request.state}")
    team = await tx.get_team(request.team_id)
    roles = await tx.active_roles(person.id)
    # The level asked decides, and so may the one above it (a coordinator may always
    # decide for the township's teams).
    if not access.may_decide_leave(roles, scope_of(team), request.level, True):
        level: Level = request.level  # type: ignore[assignment]
        deciders = await approvers_at(tx, team, level, request.person_id)
        if not deciders:
            return Problem("makeup.err.no_approver")
        names = ", ".join(p.display_name for p in deciders)
        return Problem("makeup.err.not_approver", {"names": names})
    return None


async def approve(
    store: Store, now: datetime, user: TgUser, request_id: int, default_lang: str
) -> Decided | Problem:
    async with store.transaction() as tx:
        request = await tx.get_checkin_request(request_id)
        if request is None:
            return Problem("makeup.err.unknown")
        person = await ensure_person(tx, user, now)
        problem = await _authorise(tx, request, person)
        if problem is not None:
            return problem
        return await _decide(tx, now, person, request, True, None, default_lang)


async def ask_reject_reason(
    store: Store, now: datetime, user: TgUser, chat_id: int, request_id: int
) -> RequestView | Problem:
    """A Reject press: the next text this person sends here is the reason (the member is
    told it; a rejection without one leaves them guessing)."""
    async with store.transaction() as tx:
        request = await tx.get_checkin_request(request_id)
        if request is None:
            return Problem("makeup.err.unknown")
        person = await ensure_person(tx, user, now)
        problem = await _authorise(tx, request, person)
        if problem is not None:
            return problem
        payload = {"request_id": request.id}
        await tx.set_pending(chat_id, person.id, REJECT, payload, now, now + REJECT_WAIT)
        return await _view(tx, request)


async def _reject_reason(
    tx: Tx, now: datetime, person: Person, pending: PendingInput, note: str, default_lang: str
) -> Decided | Problem:
    """The reason typed after Reject: the request is rejected with it."""
    request = await tx.get_checkin_request(int(pending.payload["request_id"]))
    assert request is not None
    problem = await _authorise(tx, request, person)
    if problem is not None:
        return problem
    return await _decide(tx, now, person, request, False, note, default_lang)


async def _decide(
    tx: Tx,
    now: datetime,
    person: Person,
    request: CheckinRequest,
    approve: bool,
    note: str | None,
    default_lang: str,
) -> Decided | Problem:
    outcome: Literal["approved", "rejected", "counted"] = "approved" if approve else "rejected"
    made: Checkin | None = None
    if approve:
        made = await tx.record_checkin(await _counted_row(tx, request, now))
        if made is None:  # the window counted meanwhile (a restored check-in)
            outcome = "counted"
    state = {"approved": "approved", "rejected": "rejected", "counted": "cancelled"}[outcome]
    note = COUNTED_MEANWHILE if outcome == "counted" else note
    if not await tx.decide_checkin_request(request, state, person.id, now, note, made):
        return Problem("makeup.err.already_approved")
    return await _decided(tx, request.id, outcome, default_lang)


async def _decided(
    tx: Tx,
    request_id: int,
    outcome: Literal["approved", "rejected", "counted", "cancelled"],
    default_lang: str,
) -> Decided:
    """A request as decided, with every copy to edit and who to tell, in their languages."""
    decided = await tx.get_checkin_request(request_id)
    assert decided is not None
    team = await tx.get_team(decided.team_id)
    view = await _view(tx, decided)
    copies = []
    for holder, chat, message, row in await tx.request_messages(decided.id):
        if holder is None:
            lang = await group_lang(tx, team, default_lang)
        else:
            lang = await lang_of(tx, await tx.get_person(holder), default_lang)
        copies.append((holder, chat, message, row, lang))
    reachable = view.member.id in await tx.privately_reachable([view.member.id])
    return Decided(
        outcome,
        view,
        tuple(copies),
        Recipient(view.member, await lang_of(tx, view.member, default_lang), reachable),
        await group_lang(tx, team, default_lang),
    )


async def _counted_row(tx: Tx, request: CheckinRequest, now: datetime) -> Checkin:
    """The check-in a decided request becomes: a make-up has no point; a field check-in is
    the refused point itself, with its distance to the nearest site."""
    if request.kind == "field":
        attempt = await tx.get_checkin(request.attempt_id) if request.attempt_id else None
        assert attempt is not None  # the request was made from it
        return replace(
            attempt,
            id=0,
            source="field",
            outcome="checkin",
            reason=None,
            flags=("field",),
            sent_at=attempt.sent_at,
            received_at=now,
            annulled_at=None,
            annulled_by=None,
            annul_note=None,
        )
    return Checkin(
        person_id=request.person_id,
        team_id=request.team_id,
        chat_id=request.chat_id,
        message_id=0,
        update_id=0,
        source="makeup",
        outcome="checkin",
        reason=None,
        flags=("made_up",),
        window=request.window,
        local_date=request.day,
        latitude=None,
        longitude=None,
        accuracy_m=None,
        live=False,
        forwarded=False,
        venue=False,
        site_id=None,
        distance_m=None,
        sent_at=now,
        received_at=now,
    )


@dataclass(frozen=True)
class Nudge:
    """A waiting request's deciders to remind, or the level above to ask."""

    asked: Asked
    escalated: bool
    hours: int


async def sweep(store: Store, now: datetime, default_lang: str) -> list[Nudge]:
    """Requests left waiting: after the county's ``leave_remind`` hours their deciders are
    reminded, after twice as long the level above is asked too (it may always decide).
    Each is claimed before it is returned, so a second sweep never sends it again."""
    found: list[Nudge] = []
    async with store.transaction() as tx:
        for request in await tx.waiting_checkin_requests():
            team = await tx.get_team(request.team_id)
            policy = await policy_for(tx, team)
            stage = escalation_stage(request.requested_at, now, policy.leave_remind_hours)
            hours = int((now - request.requested_at).total_seconds() // 3600)
            if (
                stage >= 1
                and request.reminded_at is None
                and await tx.mark_checkin_request(request, "reminded", now)
            ):
                found.append(Nudge(await _asked(tx, request, default_lang, False), False, hours))
            higher = up(request.level)  # type: ignore[arg-type]
            if (
                stage >= 2
                and request.escalated_at is None
                and higher is not None
                and await tx.mark_checkin_request(request, "escalated", now)
            ):
                asked = await _asked(tx, request, default_lang, False, higher)
                found.append(Nudge(asked, True, hours))
    return found


# ---------------------------------------------------------------------- field check-ins
FIELD = "field"  # the pending input: the reason for a field check-in
REJECT = "checkin_request_reject"  # the pending input: why a request is rejected
REJECT_WAIT = timedelta(minutes=30)
FIELD_WAIT = timedelta(minutes=30)


@dataclass(frozen=True)
class FieldPrompt:
    attempt: Checkin
    member: Person


async def start_field(
    store: Store, now: datetime, user: TgUser, chat_id: int, attempt_id: int
) -> FieldPrompt | Problem:
    """The member pressed "check in as field work" under a refusal: ask for the reason."""
    async with store.transaction() as tx:
        person = await ensure_person(tx, user, now)
        attempt = await tx.get_checkin(attempt_id)
        if attempt is None or attempt.person_id != person.id:
            return Problem("field.err.not_yours")
        team = await tx.get_team(attempt.team_id) if attempt.team_id else None
        if team is None or not rules.field_offered(await policy_for(tx, team), attempt):
            return Problem("field.err.not_offered")
        problem = await _field_blocked(tx, attempt)
        if problem is not None:
            return problem
        await tx.set_pending(
            chat_id, person.id, FIELD, {"attempt": attempt.id}, now, now + FIELD_WAIT
        )
        return FieldPrompt(attempt, person)


async def _field_blocked(tx: Tx, attempt: Checkin) -> Problem | None:
    assert attempt.team_id is not None and attempt.window is not None
    if await tx.window_checkin(
        attempt.person_id, attempt.team_id, attempt.local_date, attempt.window
    ):
        return Problem("makeup.err.counted", {"window": attempt.window})
    waiting = await tx.pending_checkin_request(
        attempt.person_id, attempt.team_id, attempt.local_date, attempt.window
    )
    if waiting is not None:
        return Problem("field.err.waiting", {"id": waiting.id})
    return None


@dataclass(frozen=True)
class FieldCounted:
    """Counted at once (the county's ``field=count``)."""

    view: RequestView
    checkin: Checkin


async def _field_reason(
    tx: Tx,
    now: datetime,
    person: Person,
    pending: PendingInput,
    reason: str,
    photo_file_id: str | None,
    chat_id: int,
    default_lang: str,
) -> Asked | FieldCounted | Problem:
    """The reason (or a photo's caption) after "check in as field work": the request, or
    the field check-in itself where the county counts them at once."""
    attempt = await tx.get_checkin(int(pending.payload["attempt"]))
    assert attempt is not None and attempt.team_id is not None and attempt.window
    if not reason:
        # A photo alone: keep asking, so the words can follow it.
        await tx.set_pending(chat_id, person.id, FIELD, pending.payload, now, now + FIELD_WAIT)
        return Problem("field.err.reason")
    problem = await _field_blocked(tx, attempt)
    if problem is not None:
        return problem
    team = await tx.get_team(attempt.team_id)
    policy = await policy_for(tx, team)
    level = rules.field_level(policy, attempt.distance_m)
    deciders: list[Person] = []
    if level is not None:
        level, deciders = await _deciders(tx, team, level, person.id)
        if not deciders:
            return Problem("makeup.err.no_approver")
    request = await tx.create_checkin_request(
        "field", person.id, team.id, attempt.local_date, attempt.window, reason,
        level or "leader", chat_id, now, attempt_id=attempt.id, photo_file_id=photo_file_id,
    )  # fmt: skip
    if request is None:
        return Problem("field.err.waiting", {"id": 0})
    if level is not None:
        return await _asked(tx, request, default_lang, again=False)
    made = await tx.record_checkin(await _counted_row(tx, request, now))
    assert made is not None  # _field_blocked found the window free in this transaction
    await tx.decide_checkin_request(request, "approved", None, now, "counted", made)
    decided = await tx.get_checkin_request(request.id)
    assert decided is not None
    return FieldCounted(await _view(tx, decided), made)


Typed = Decided | Asked | FieldCounted | problem_list.Moved | Problem


async def answer_typed(
    store: Store,
    now: datetime,
    user: TgUser,
    chat_id: int,
    text: str,
    photo_file_id: str | None,
    default_lang: str,
) -> Typed | None:
    """A message that may answer a question the bot asked this person here: why a request
    is rejected, why a window was missed, what field work it was. None when it answers
    none (the message is someone else's business). One transaction: every text message
    passes through here."""
    async with store.transaction() as tx:
        person = await tx.get_person_by_tg(user.id)
        if person is None:
            return None
        words = text.strip()
        # A photo alone answers only the field question (its words may follow).
        if words and (pending := await tx.take_pending(chat_id, person.id, REJECT, now)):
            return await _reject_reason(tx, now, person, pending, words, default_lang)
        if words and (pending := await tx.take_pending(chat_id, person.id, MAKEUP, now)):
            return await _makeup_reason(tx, now, person, pending, words, chat_id, default_lang)
        if pending := await tx.take_pending(chat_id, person.id, FIELD, now):
            return await _field_reason(
                tx, now, person, pending, words, photo_file_id, chat_id, default_lang
            )
        # A problem's progress note or how it was resolved (a photo may come with it).
        if pending := await tx.take_pending(chat_id, person.id, problem_list.INPUT, now):
            return await problem_list.typed(
                tx, now, person, pending, words, photo_file_id, chat_id, default_lang
            )
    return None


# ---------------------------------------------------------------------- corrections
@dataclass(frozen=True)
class Corrected:
    checkin: Checkin
    member: Person
    team: Team
    restored: bool


async def correct(
    store: Store, now: datetime, user: TgUser, words: list[str]
) -> Corrected | Problem:
    """``annul <id> <note>`` or ``restore <id> <note>``: a county admin's correction of one
    check-in of their county. The note is required: it is what the register keeps."""
    if len(words) < 2 or words[0].lower() not in rules.CORRECTIONS:
        return Problem("correct.usage")
    restore = rules.CORRECTIONS[words[0].lower()]
    number = parse_id(words[1].lstrip("#"))
    if number is None:
        return Problem("correct.err.id", {"word": words[1]})
    note = " ".join(words[2:]).strip()
    if not note:
        return Problem("correct.err.note")
    async with store.transaction() as tx:
        person = await ensure_person(tx, user, now)
        checkin = await tx.get_checkin(number)
        team = await tx.get_team(checkin.team_id) if checkin and checkin.team_id else None
        roles = await tx.active_roles(person.id)
        if checkin is None or team is None or not access.is_admin_for(roles, scope_of(team)):
            # Not found and not theirs read alike: an id says nothing of other counties.
            return Problem("correct.err.unknown", {"id": number})
        if restore:
            if checkin.annulled_at is None:
                return Problem("correct.err.not_annulled", {"id": number})
            if not await tx.restore_checkin(checkin, person.id, note, now):
                return Problem("correct.err.counted_again", {"id": number})
        else:
            if not checkin.counts:
                key = "correct.err.annulled" if checkin.annulled_at else "correct.err.not_counted"
                return Problem(key, {"id": number})
            await tx.annul_checkin(checkin, person.id, note, now)
        changed = await tx.get_checkin(number)
        assert changed is not None
        return Corrected(changed, await tx.get_person(checkin.person_id), team, restore)
