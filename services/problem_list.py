"""The problem list (红黄绿三色清单): a villager's problem raised by the team, coloured and
categorised, moved up from the village to the township and the county (by hand with a
reason, or by its colour's deadline), assigned there to a county department whose contacts
accept, note progress and resolve it, and confirmed with the household by the team (or
reopened). The village's chief commander sees and moves every problem of the village.

Each function is one transaction; what must be said, to whom and in which language, is
returned for the handler (or the sweep) to render. Every step is a row of
``problem_steps`` and an audit event, with who, when and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rules import access
from rules import problem_list as rules
from rules.ids import parse_id
from rules.logs import find_mentions
from rules.policy import Policy
from rules.problems import Problem
from services.audience import Audience, Told
from services.leave import member_team
from services.org import TgUser, area_of, ensure_person, policy_for, scope_of
from storage.base import Store, Tx
from storage.models import (
    Department,
    PendingInput,
    Person,
    ProblemStep,
    Role,
    Team,
    VillageProblem,
)

INPUT = "problem_input"  # the pending input: a note asked for by a button
_INPUT_WAIT = timedelta(minutes=30)


@dataclass(frozen=True)
class ProblemMessage:
    """A message that may be (or add to) a problem, as plain values."""

    chat_id: int
    private: bool
    message_id: int
    text: str | None  # as written, with its tag or command
    written_at: datetime
    media_group_id: str | None = None
    photo: tuple[str, str] | None = None  # file_id, file_unique_id of the largest size
    reply_to: int | None = None


@dataclass(frozen=True)
class ProblemView:
    problem: VillageProblem
    team: Team
    raiser: Person
    department: Department | None
    categories: tuple[str, ...]
    policy_days: dict[str, int]


@dataclass(frozen=True)
class Moved:
    """A step taken: the problem as it is now, who took it, and who is to hear of it."""

    view: ProblemView
    step: str
    actor: Person | None  # None: its deadline moved it
    note: str | None
    audience: tuple[Audience, ...]
    missed: tuple[str, ...] = ()  # names of people who cannot be written to privately
    before: str | None = None  # the level, colour or category it had


@dataclass(frozen=True)
class Raised:
    view: ProblemView
    unknown: tuple[str, ...]  # households named that the register lacks
    audience: tuple[Audience, ...]  # the group, when raised privately


@dataclass(frozen=True)
class Shown:
    view: ProblemView
    steps: tuple[tuple[ProblemStep, str], ...]  # each with its actor's name ("" the deadline)


@dataclass(frozen=True)
class Listed:
    scope: str  # "team" or "private"
    queue: tuple[tuple[VillageProblem, Team], ...]  # waiting for this person, in reading order
    area: tuple[tuple[VillageProblem, Team], ...]  # the rest of their area still open
    now: datetime


@dataclass(frozen=True)
class Prompt:
    """A button that needs words next (a note, how it was resolved)."""

    view: ProblemView
    action: str


@dataclass(frozen=True)
class Edited:
    view: ProblemView
    revision: int


# ---------------------------------------------------------------------- views
async def _view(tx: Tx, problem: VillageProblem) -> ProblemView:
    team = await tx.get_team(problem.team_id)
    policy = await policy_for(tx, team)
    department = await tx.get_department(problem.department_id) if problem.department_id else None
    return ProblemView(
        problem,
        team,
        await tx.get_person(problem.person_id),
        department,
        policy.problem_categories,
        _days(policy),
    )


def _days(policy: Policy) -> dict[str, int]:
    return {
        "red": policy.problem_red,
        "yellow": policy.problem_yellow,
        "green": policy.problem_green,
    }


async def _people_at(tx: Tx, team: Team, level: str) -> list[Person]:
    """Who works on a problem waiting at ``level``: the team's leaders (its members hear in
    the group), the township's coordinators, the county's admins."""
    if level == "team":
        return await tx.role_holders("leader", team_id=team.id)
    if level == "township":
        if team.township_id is None:
            return []
        return await tx.role_holders("coordinator", township_id=team.township_id)
    return await tx.role_holders("admin", county_id=team.county_id) if team.county_id else []


async def _commanders(tx: Tx, team: Team) -> list[Person]:
    return await tx.role_holders("commander", team_id=team.id)


# ---------------------------------------------------------------------- raising
async def raise_problem(
    store: Store, now: datetime, user: TgUser, message: ProblemMessage, default_lang: str
) -> Raised | Problem:
    """A member raised a problem: kept at the team's level with its photo and households,
    yellow until someone with the say colours it; the group hears of one raised privately."""
    text = rules.problem_text(message.text) or ""
    if not text and message.photo is None:
        return Problem("problem.usage")
    async with store.transaction() as tx:
        existing = await tx.problem_of_message(message.chat_id, message.message_id)
        if existing is not None:
            return Raised(await _view(tx, existing), (), ())  # delivered twice: answered again
        person = await ensure_person(tx, user, now)
        team = await member_team(tx, person, message.chat_id, message.private)
        if isinstance(team, Problem):
            # Leave's refusals, in the problem list's words.
            return Problem(team.key.replace("leave.err.", "problem.err."))
        policy = await policy_for(tx, team)
        draft = rules.parse_problem(text or "📷", policy.problem_categories)
        if isinstance(draft, Problem):
            return draft
        category = draft.category or policy.problem_categories[-1]
        colour = rules.DEFAULT_COLOUR
        due = rules.due_at(message.written_at, _days(policy)[colour])
        problem = await tx.create_problem(
            team.id, person.id, message.chat_id, message.message_id, message.media_group_id,
            draft.text, draft.villager, category, colour, message.written_at, due, now,
        )  # fmt: skip
        assert problem is not None, "the message was checked to be new in this transaction"
        if message.photo is not None:
            await tx.add_problem_photo(problem, *message.photo, message.message_id, now)
        register = {h.name: h for h in await tx.list_households(team.id)}
        mentions = find_mentions(draft.text, register)
        await tx.set_problem_households(problem.id, [register[n].id for n in mentions.known])
        stored = await tx.get_problem(problem.id)
        assert stored is not None
        told = Told(tx, default_lang, skip=person.id)
        if message.private:
            await told.group(team)
        return Raised(await _view(tx, stored), mentions.unknown, told.audience())


async def attach_photo(
    store: Store, now: datetime, user: TgUser, message: ProblemMessage
) -> VillageProblem | None:
    """A photo with no tag joins a problem when it is in the problem's album or answers
    the problem's message, and comes from whoever raised it."""
    if message.photo is None:
        return None
    async with store.transaction() as tx:
        problem = None
        if message.media_group_id is not None:
            problem = await tx.problem_of_album(message.chat_id, message.media_group_id)
        if problem is None and message.reply_to is not None:
            problem = await tx.problem_of_message(message.chat_id, message.reply_to)
        person = await tx.get_person_by_tg(user.id)
        if problem is None or person is None or person.id != problem.person_id:
            return None
        if not await tx.add_problem_photo(problem, *message.photo, message.message_id, now):
            return None
        return await tx.get_problem(problem.id)


async def edit_problem(
    store: Store, now: datetime, user: TgUser, message: ProblemMessage
) -> Edited | Problem | None:
    """An edited message that raised a problem: its next revision (the first text stays in
    its history), its villager and households following the new words."""
    async with store.transaction() as tx:
        problem = await tx.problem_of_message(message.chat_id, message.message_id)
        person = await tx.get_person_by_tg(user.id)
        if problem is None or person is None or person.id != problem.person_id:
            return None
        text = rules.problem_text(message.text)
        if text is None:
            text = (message.text or "").strip()  # the tag was edited away; the words count
        team = await tx.get_team(problem.team_id)
        policy = await policy_for(tx, team)
        draft = rules.parse_problem(text, policy.problem_categories)
        if isinstance(draft, Problem):
            return draft
        if draft.text == problem.text:
            return None
        changes: dict[str, Any] = {
            "text": draft.text,
            "villager": draft.villager,
            "revisions": problem.revisions + 1,
        }
        if not await tx.change_problem(problem, changes):
            return None
        await tx.add_problem_step(
            problem.id, team.id, "edited", person.id, now, before=problem.text, after=draft.text
        )
        register = {h.name: h for h in await tx.list_households(team.id)}
        mentions = find_mentions(draft.text, register)
        await tx.set_problem_households(problem.id, [register[n].id for n in mentions.known])
        stored = await tx.get_problem(problem.id)
        assert stored is not None
        return Edited(await _view(tx, stored), stored.revisions)


# ---------------------------------------------------------------------- acting on one
def _may_see(roles: list[Role], problem: VillageProblem, team: Team) -> bool:
    return access.may_see_problems(roles, scope_of(team)) or access.is_contact_for(
        roles, problem.department_id
    )


async def act(
    store: Store,
    now: datetime,
    user: TgUser,
    chat_id: int,
    private: bool,
    words: list[str],
    default_lang: str,
    photo: str | None = None,
) -> Shown | Moved | Problem:
    """``/problem <id> [action …]``: show it, or take a step on it."""
    async with store.transaction() as tx:
        person = await ensure_person(tx, user, now)
        number = parse_id(words[0].lstrip("#"))
        problem = await tx.get_problem(number) if number is not None else None
        if problem is None:
            return Problem("problem.err.unknown", {"id": words[0]})
        team = await tx.get_team(problem.team_id)
        roles = await tx.active_roles(person.id)
        # An id says nothing of other places: not found and not theirs read alike.
        if not _may_see(roles, problem, team):
            return Problem("problem.err.unknown", {"id": words[0]})
        if not private and team.chat_id != chat_id:
            return Problem("problem.err.ask_privately", {"id": problem.id})
        if len(words) == 1:
            return await _shown(tx, problem, roles)
        action = rules.action_of(words[1])
        if action is None:
            return Problem("problem.err.action", {"word": words[1]})
        rest = words[2:] if action != "colour" else [words[1], *words[2:]]
        return await _step(tx, now, person, roles, problem, action, rest, default_lang, photo)


async def _shown(tx: Tx, problem: VillageProblem, roles: list[Role]) -> Shown:
    view = await _view(tx, problem)
    steps = []
    for step in await tx.problem_steps(problem.id):
        name = (await tx.get_person(step.actor_id)).display_name if step.actor_id else ""
        steps.append((step, name))
    return Shown(view, tuple(steps))


async def _step(
    tx: Tx,
    now: datetime,
    person: Person,
    roles: list[Role],
    problem: VillageProblem,
    action: str,
    words: list[str],
    default_lang: str,
    photo: str | None = None,
) -> Moved | Problem:
    team = await tx.get_team(problem.team_id)
    scope = scope_of(team)
    note = " ".join(words).strip() or None
    contact = access.is_contact_for(roles, problem.department_id)
    works = access.may_work_problem(roles, scope, problem.level)
    if action == "colour":
        return await _colour(tx, now, person, roles, problem, team, words, default_lang)
    if action == "category":
        return await _category(tx, now, person, roles, problem, team, words, default_lang)
    if action in ("confirm", "reopen"):
        if not (access.is_member(roles, team.id) or access.is_commander(roles, team.id)):
            return Problem("problem.err.team_only")
        if problem.state != "resolved":
            return Problem(f"problem.err.not_resolved.{problem.state}", {"id": problem.id})
        return await _confirm(
            tx, now, person, problem, team, action == "confirm", note, default_lang
        )
    if problem.state != "open":
        return Problem(f"problem.err.state.{problem.state}", {"id": problem.id})
    if action == "accept":
        if not contact:
            return Problem("problem.err.contact_only")
        if problem.accepted_at is not None:
            return Problem("problem.err.accepted", {"id": problem.id})
        return await _move(tx, now, person, problem, team, "accept", {"accepted_at": now}, None,
                           default_lang)  # fmt: skip
    if not (works or contact):
        return await _not_yours(tx, problem, team)
    if action == "note":
        if not note:
            return Problem("problem.err.need_note", {"id": problem.id, "action": "note"})
        return await _move(tx, now, person, problem, team, "progress", {}, note, default_lang)
    if action == "resolve":
        if not note:
            return Problem("problem.err.need_note", {"id": problem.id, "action": "resolve"})
        changes = {
            "state": "resolved",
            "resolved_at": now,
            "resolved_by": person.id,
            "resolution": note,
            "resolution_photo": photo,
        }
        return await _move(tx, now, person, problem, team, "resolved", changes, note,
                           default_lang, photo=photo)  # fmt: skip
    if action == "escalate":
        if not note:
            return Problem("problem.err.need_reason", {"id": problem.id})
        higher = rules.up(problem.level)
        if higher is None:
            return Problem("problem.err.top", {"id": problem.id})
        return await _escalate(tx, now, person, problem, team, higher, note, default_lang)
    # assign
    if not (access.is_admin_for(roles, scope) or access.is_commander(roles, team.id)):
        return Problem("problem.err.assign_who")
    return await _assign(tx, now, person, problem, team, note, default_lang)


async def _not_yours(tx: Tx, problem: VillageProblem, team: Team) -> Problem:
    """Who may act on it now, by name: a refusal that says where to turn."""
    people = await _people_at(tx, team, problem.level)
    if problem.department_id:
        people += await tx.department_contacts(problem.department_id)
    names = ", ".join(dict.fromkeys(p.display_name for p in people)) or "—"
    return Problem(f"problem.err.level.{problem.level}", {"id": problem.id, "names": names})


async def _move(
    tx: Tx,
    now: datetime,
    person: Person | None,
    problem: VillageProblem,
    team: Team,
    step: str,
    changes: dict[str, Any],
    note: str | None,
    default_lang: str,
    *,
    before: str | None = None,
    after: str | None = None,
    photo: str | None = None,
) -> Moved | Problem:
    """Take one step: change the problem as it was read (a second press finds it taken),
    record it, and gather who is to hear of it."""
    if changes and not await tx.change_problem(problem, changes):
        return Problem("problem.err.changed", {"id": problem.id})
    actor = person.id if person else None
    await tx.add_problem_step(
        problem.id, team.id, step, actor, now, before=before, after=after, note=note, photo=photo
    )
    stored = await tx.get_problem(problem.id)
    assert stored is not None
    view = await _view(tx, stored)
    told = Told(tx, default_lang, skip=actor)
    await _audience(told, view, step, problem)
    return Moved(view, step, person, note, told.audience(), tuple(told.missed), before)


async def _audience(told: Told, view: ProblemView, step: str, before: VillageProblem) -> None:
    """Who hears of each step. The team's group hears of everything its problem goes
    through; the level it reaches, the department and the commander as they are concerned."""
    team, problem = view.team, view.problem
    commanders = await _commanders(told.tx, team)
    if step in ("escalated", "assigned", "overdue", "reopened"):
        await told.people(commanders, full=True)
    if step == "escalated":
        await told.people(await _people_at(told.tx, team, problem.level), full=True)
        if before.level != "team":  # the level it left hears it went up
            await told.people(await _people_at(told.tx, team, before.level))
    elif step == "overdue":
        await told.people(await _people_at(told.tx, team, problem.level))
    elif step == "assigned" and problem.department_id:
        contacts = await told.tx.department_contacts(problem.department_id)
        await told.people(contacts, buttons="department", full=True)
    elif step == "reopened":
        if problem.department_id:
            contacts = await told.tx.department_contacts(problem.department_id)
            await told.people(contacts, buttons="department", full=True)
        else:
            await told.people(await _people_at(told.tx, team, problem.level))
    elif step in ("resolved", "accept", "progress"):
        await told.people(commanders)
    if step == "resolved":
        await told.group(team, buttons="confirm")
        if team.chat_id is None:
            members = [p.person for p in await told.tx.team_people(team.id)]
            await told.people(members, buttons="confirm")
    else:
        await told.group(team)


async def _colour(
    tx: Tx,
    now: datetime,
    person: Person,
    roles: list[Role],
    problem: VillageProblem,
    team: Team,
    words: list[str],
    default_lang: str,
) -> Moved | Problem:
    colour = rules.COLOUR_WORDS.get(words[0].lower()) if words else None
    if colour is None:
        return Problem("problem.err.colour_word", {"word": words[0] if words else ""})
    # Whoever raised it may choose its first colour; changing one is for those with the say.
    first_choice = problem.colour_by is None and person.id == problem.person_id
    if not (first_choice or access.may_colour_problem(roles, scope_of(team))):
        return Problem("problem.err.colour_who")
    if problem.state == "closed":
        return Problem("problem.err.state.closed", {"id": problem.id})
    if colour == problem.colour and problem.colour_by is not None:
        return Problem("problem.err.same_colour", {"id": problem.id})
    policy = await policy_for(tx, team)
    due = rules.due_at(problem.level_since, _days(policy)[colour])
    changes = {"colour": colour, "colour_by": person.id, "due_at": due}
    why = " ".join(words[1:]).strip() or None
    return await _move(tx, now, person, problem, team, "colour", changes, why, default_lang,
                       before=problem.colour, after=colour)  # fmt: skip


async def _category(
    tx: Tx,
    now: datetime,
    person: Person,
    roles: list[Role],
    problem: VillageProblem,
    team: Team,
    words: list[str],
    default_lang: str,
) -> Moved | Problem:
    policy = await policy_for(tx, team)
    category = rules.category_of(words[0], policy.problem_categories) if words else None
    if category is None:
        return Problem(
            "problem.err.category",
            {"word": words[0] if words else "", "categories": ", ".join(policy.problem_categories)},
        )
    if not (
        access.may_work_problem(roles, scope_of(team), "team")
        or access.may_colour_problem(roles, scope_of(team))
    ):
        return Problem("problem.err.not_allowed")
    if category == problem.category:
        return Problem("problem.err.same_category", {"id": problem.id})
    return await _move(tx, now, person, problem, team, "category", {"category": category}, None,
                       default_lang, before=problem.category, after=category)  # fmt: skip


async def _escalate(
    tx: Tx,
    now: datetime,
    person: Person | None,
    problem: VillageProblem,
    team: Team,
    higher: str,
    note: str | None,
    default_lang: str,
) -> Moved | Problem:
    # A level with nobody to act (a township with no coordinator yet) is passed over, so a
    # problem never waits where no one will see it.
    while higher != "county" and not await _people_at(tx, team, higher):
        higher = rules.up(higher) or "county"
    policy = await policy_for(tx, team)
    changes = {
        "level": higher,
        "level_since": now,
        "due_at": rules.due_at(now, _days(policy)[problem.colour]),
        "overdue_at": None,
    }
    return await _move(tx, now, person, problem, team, "escalated", changes, note, default_lang,
                       before=problem.level, after=higher)  # fmt: skip


async def _assign(
    tx: Tx,
    now: datetime,
    person: Person,
    problem: VillageProblem,
    team: Team,
    name: str | None,
    default_lang: str,
) -> Moved | Problem:
    if team.county_id is None:
        return Problem("problem.err.no_departments")
    departments = await tx.county_departments(team.county_id)
    chosen = next((d for d in departments if name and d.name.lower() == name.lower()), None)
    if chosen is None:
        names = ", ".join(d.name for d in departments)
        key = "problem.err.department" if departments else "problem.err.no_departments"
        return Problem(key, {"word": name or "", "departments": names})
    if chosen.id == problem.department_id:
        return Problem("problem.err.assigned", {"id": problem.id, "department": chosen.name})
    policy = await policy_for(tx, team)
    changes: dict[str, Any] = {"department_id": chosen.id, "accepted_at": None}
    if problem.level != "county":  # the commander may take it straight to a department
        changes.update(
            level="county",
            level_since=now,
            due_at=rules.due_at(now, _days(policy)[problem.colour]),
            overdue_at=None,
        )
    return await _move(tx, now, person, problem, team, "assigned", changes, None, default_lang,
                       after=chosen.name)  # fmt: skip


async def _confirm(
    tx: Tx,
    now: datetime,
    person: Person,
    problem: VillageProblem,
    team: Team,
    confirmed: bool,
    note: str | None,
    default_lang: str,
) -> Moved | Problem:
    if confirmed:
        changes: dict[str, Any] = {"state": "closed", "closed_at": now, "closed_by": person.id}
        moved = await _move(tx, now, person, problem, team, "confirmed", changes, note,
                            default_lang)  # fmt: skip
    else:
        policy = await policy_for(tx, team)
        changes = {
            "state": "open",
            "level_since": now,
            "due_at": rules.due_at(now, _days(policy)[problem.colour]),
            "overdue_at": None,
            "resolved_at": None,
            "resolved_by": None,
            "resolution": None,
            "resolution_photo": None,
            "accepted_at": None,
        }
        moved = await _move(tx, now, person, problem, team, "reopened", changes, note,
                            default_lang)  # fmt: skip
    if isinstance(moved, Problem) or problem.resolved_by is None:
        return moved
    # Whoever resolved it hears how the household found it.
    told = Told(tx, default_lang, skip=person.id)
    told.items = {a.chat_id: a for a in moved.audience}
    await told.people([await tx.get_person(problem.resolved_by)])
    return Moved(moved.view, moved.step, moved.actor, moved.note, told.audience(), moved.missed)


# ---------------------------------------------------------------------- buttons
async def press(
    store: Store,
    now: datetime,
    user: TgUser,
    chat_id: int,
    problem_id: int,
    action: str,
    value: str,
    default_lang: str,
) -> Moved | Prompt | Problem:
    """A button under a problem: a colour or a category (``value``), accept, confirmed,
    not solved; a progress note and "resolved" ask for words next."""
    async with store.transaction() as tx:
        person = await ensure_person(tx, user, now)
        problem = await tx.get_problem(problem_id)
        if problem is None:
            return Problem("problem.err.unknown", {"id": problem_id})
        roles = await tx.active_roles(person.id)
        team = await tx.get_team(problem.team_id)
        if action == "k":
            categories = (await policy_for(tx, team)).problem_categories
            index = parse_id(value)
            if index is None or index >= len(categories):
                return Problem("err.stale_button")
            value = categories[index]
        if action in ("n", "s"):
            if problem.state != "open":
                return Problem(f"problem.err.state.{problem.state}", {"id": problem.id})
            contact = access.is_contact_for(roles, problem.department_id)
            if not (contact or access.may_work_problem(roles, scope_of(team), problem.level)):
                return await _not_yours(tx, problem, team)
            payload = {"problem": problem.id, "action": "note" if action == "n" else "resolve"}
            until = now + _INPUT_WAIT
            await tx.set_pending(chat_id, person.id, INPUT, payload, now, until)
            return Prompt(await _view(tx, problem), str(payload["action"]))
        named = {"c": "colour", "k": "category", "a": "accept", "y": "confirm", "x": "reopen"}
        return await _step(tx, now, person, roles, problem, named[action], [value] if value else [],
                           default_lang)  # fmt: skip


async def typed(
    tx: Tx,
    now: datetime,
    person: Person,
    pending: PendingInput,
    words: str,
    photo: str | None,
    chat_id: int,
    default_lang: str,
) -> Moved | Problem:
    """The words (and perhaps a photo) after a problem's "note" or "resolved" button."""
    problem = await tx.get_problem(int(pending.payload["problem"]))
    action = str(pending.payload["action"])
    assert problem is not None
    if not words:
        await tx.set_pending(chat_id, person.id, INPUT, pending.payload, now, now + _INPUT_WAIT)
        return Problem("problem.err.need_note", {"id": problem.id, "action": action})
    roles = await tx.active_roles(person.id)
    return await _step(tx, now, person, roles, problem, action, [words], default_lang, photo)


# ---------------------------------------------------------------------- lists
async def list_problems(
    store: Store, now: datetime, user: TgUser, chat_id: int, private: bool
) -> Listed | Problem:
    """``/problems``: in a group its team's list; privately what waits for this person (at
    their level, their department's, their villages' as commander) and the rest of their
    area still open."""
    async with store.transaction() as tx:
        person = await tx.get_person_by_tg(user.id)
        roles = await tx.active_roles(person.id) if person else []
        if not private:
            team = await tx.get_team_by_chat(chat_id)
            if team is None:
                return Problem("err.no_team")
            if not access.may_see_problems(roles, scope_of(team)):
                return Problem("problem.err.not_allowed")
            rows = await tx.team_problems([team.id])
            ordered = rules.reading_order(rows, now)
            return Listed("team", tuple((p, team) for p in ordered), (), now)
        teams = {t.id: t for t in await area_of(tx, roles)}
        for team in await tx.member_teams(person.id) if person else []:
            teams.setdefault(team.id, team)
        rows = await tx.team_problems(list(teams)) if teams else []
        for role in roles:
            if role.role == "contact" and role.department_id:
                for p in await tx.department_problems(role.department_id):
                    if p.team_id not in teams:
                        teams[p.team_id] = await tx.get_team(p.team_id)
                    if all(r.id != p.id for r in rows):
                        rows.append(p)
        if not teams and not any(r.role == "contact" for r in roles):
            return Problem("problem.err.not_allowed")
        queue: list[tuple[VillageProblem, Team]] = []
        area: list[tuple[VillageProblem, Team]] = []
        for p in rules.reading_order(rows, now):
            scope = scope_of(teams[p.team_id])
            mine = access.is_contact_for(roles, p.department_id) or (
                p.state == "open" and _waits_for(roles, scope, p.level)
            )
            if p.state == "resolved" and access.is_member(roles, p.team_id):
                mine = True  # the team is to confirm it with the household
            (queue if mine else area).append((p, teams[p.team_id]))
        return Listed("private", tuple(queue), tuple(area), now)


def _waits_for(roles: list[Role], scope: access.Scope, level: str) -> bool:
    """The problem waits at this person's own level (not merely one they may act on)."""
    if access.is_commander(roles, scope.team_id):
        return True
    if level == "team":
        return access.is_member(roles, scope.team_id) or access.is_leader(roles, scope.team_id)
    if level == "township":
        return access.is_coordinator_for(roles, scope)
    return scope.county_id is not None and access.is_admin_for(roles, scope)


# ---------------------------------------------------------------------- the deadline
async def sweep(store: Store, now: datetime, default_lang: str) -> list[Moved]:
    """Problems past their colour's deadline move up one level by themselves and both
    levels hear of it; at the county, where there is nowhere higher, they are flagged to
    the county and the commander once. Each is claimed in the store, so a restart never
    repeats one."""
    moved: list[Moved] = []
    async with store.transaction() as tx:
        for problem in await tx.due_problems(now):
            team = await tx.get_team(problem.team_id)
            higher = rules.up(problem.level)
            if higher is None:
                done = await _move(tx, now, None, problem, team, "overdue", {"overdue_at": now},
                                   None, default_lang)  # fmt: skip
            else:
                done = await _escalate(tx, now, None, problem, team, higher, None, default_lang)
            if not isinstance(done, Problem):
                moved.append(done)
    return moved
