"""What the store hands out: frozen values, never rows or cursors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

RoleName = Literal["member", "leader", "coordinator", "admin", "commander", "contact", "unit"]
ROLE_NAMES: tuple[RoleName, ...] = (
    "member",
    "leader",
    "coordinator",
    "admin",
    "commander",  # a village's chief commander (总队长): a role of one team
    "contact",  # a county department's contact, who is assigned problems
    "unit",  # a backing unit's contact (its head, its liaison)
)


@dataclass(frozen=True)
class County:
    id: int
    name: str
    tz: str | None


@dataclass(frozen=True)
class Township:
    id: int
    county_id: int
    name: str
    county_name: str


@dataclass(frozen=True)
class Team:
    id: int
    village: str
    tz: str
    code: str | None
    chat_id: int | None
    township_id: int | None
    township_name: str | None
    county_id: int | None
    county_name: str | None


@dataclass(frozen=True)
class Person:
    id: int
    tg_user_id: int
    first_name: str
    last_name: str | None
    username: str | None
    language_code: str | None

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name


@dataclass(frozen=True)
class Role:
    """A role a person holds now, with the scope it applies to."""

    role: RoleName
    team_id: int | None = None
    township_id: int | None = None
    county_id: int | None = None
    department_id: int | None = None
    unit_id: int | None = None


@dataclass(frozen=True)
class TeamPerson:
    person: Person
    roles: tuple[RoleName, ...]


@dataclass(frozen=True)
class Site:
    id: int
    team_id: int
    name: str
    latitude: float
    longitude: float
    radius_m: int


@dataclass(frozen=True)
class Invite:
    code: str
    role: RoleName
    township_id: int | None
    county_id: int | None
    expires_at: datetime
    used_at: datetime | None
    used_by: int | None
    team_id: int | None = None
    department_id: int | None = None
    unit_id: int | None = None
    recall_id: int | None = None
    made_for: str | None = None  # the roster's name, for an invite made by a roster import


@dataclass(frozen=True)
class PendingInput:
    chat_id: int
    person_id: int
    kind: str
    payload: dict[str, Any]
    expires_at: datetime


@dataclass(frozen=True)
class Event:
    id: int
    at: datetime
    actor_id: int | None
    kind: str
    team_id: int | None
    data: dict[str, Any]


@dataclass(frozen=True)
class Checkin:
    """One shared location as it arrived and how it was judged. ``id`` is 0 until stored."""

    person_id: int
    team_id: int | None
    chat_id: int
    message_id: int
    update_id: int
    source: Literal["message", "live_edit", "makeup", "field"]
    outcome: Literal["checkin", "presence", "repeat", "refused"]
    reason: str | None
    flags: tuple[str, ...]
    window: str | None
    local_date: date
    latitude: float | None  # None only for a make-up, which came from no point
    longitude: float | None
    accuracy_m: float | None
    live: bool
    forwarded: bool
    venue: bool
    site_id: int | None
    distance_m: float | None
    sent_at: datetime
    received_at: datetime
    id: int = 0
    site_name: str | None = None
    site_radius_m: int | None = None
    annulled_at: datetime | None = None  # found false by a county admin: it no longer counts
    annulled_by: int | None = None
    annul_note: str | None = None

    @property
    def counts(self) -> bool:
        return self.outcome == "checkin" and self.annulled_at is None


CheckinRequestKind = Literal["makeup", "field"]
RequestState = Literal["pending", "approved", "rejected", "cancelled"]


@dataclass(frozen=True)
class CheckinRequest:
    """A make-up request (a missed window, set right) or a field check-in (a point outside
    every site, with its reason), as asked and decided."""

    id: int
    kind: CheckinRequestKind
    person_id: int
    team_id: int
    day: date
    window: str
    reason: str
    attempt_id: int | None
    level: str
    state: RequestState
    chat_id: int
    requested_at: datetime
    decided_at: datetime | None = None
    decided_by: int | None = None
    note: str | None = None
    checkin_id: int | None = None
    photo_file_id: str | None = None
    reminded_at: datetime | None = None
    escalated_at: datetime | None = None


@dataclass(frozen=True)
class LeaveRequest:
    """A member's leave as asked, routed and decided. Days are the team's calendar days."""

    id: int
    person_id: int
    team_id: int
    kind: str
    first: date
    last: date
    reason: str
    route: tuple[str, ...]  # the levels that decide, in order
    step: int  # index into route of the level deciding now
    state: Literal["pending", "approved", "rejected", "cancelled"]
    chat_id: int
    requested_at: datetime
    step_since: datetime
    reminded_at: datetime | None = None
    escalated_at: datetime | None = None
    decided_at: datetime | None = None
    decided_by: int | None = None
    note: str | None = None
    returned_at: datetime | None = None
    returned_day: date | None = None
    overdue_at: datetime | None = None

    @property
    def level(self) -> str:
        """The level deciding now (or, once decided, the last one that did)."""
        return self.route[min(self.step, len(self.route) - 1)]

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


@dataclass(frozen=True)
class LeaveDecision:
    request_id: int
    step: int
    level: str
    decision: Literal["approved", "rejected"]
    decided_by: int
    decided_at: datetime
    note: str | None


@dataclass(frozen=True)
class LeaveMessage:
    """A copy of a request the bot sent with buttons, to edit when it is decided. A copy still
    in the outbox has no message id yet; an edit then names its outbox row."""

    request_id: int
    person_id: int | None
    purpose: Literal["approver", "member"]
    chat_id: int
    message_id: int | None
    step: int
    outbox_id: int | None = None


@dataclass(frozen=True)
class Household:
    id: int
    team_id: int
    name: str
    note: str | None
    source: Literal["command", "import", "log"]
    created_at: datetime


@dataclass(frozen=True)
class LogPhoto:
    file_id: str
    file_unique_id: str
    caption: str | None
    added_at: datetime


@dataclass(frozen=True)
class Visit:
    """A ledger entry: a household a log names. A removed one is kept with who removed it."""

    id: int
    log_id: int
    household_id: int
    household: str
    how: Literal["mention", "button", "edit"]
    added_at: datetime
    removed_at: datetime | None = None
    verdict: Literal["ok", "false"] | None = None  # the newest inspector's mark
    verdict_note: str | None = None


@dataclass(frozen=True)
class WorkLog:
    """A log as it reads now (its newest revision), with its photos and current visits."""

    id: int
    person_id: int
    team_id: int
    local_date: date
    chat_id: int
    message_id: int
    media_group_id: str | None
    written_at: datetime
    text: str
    revision: int
    photos: tuple[LogPhoto, ...] = ()
    visits: tuple[Visit, ...] = ()


@dataclass(frozen=True)
class LogRevision:
    log_id: int
    revision: int
    text: str
    edited_at: datetime


@dataclass(frozen=True)
class LedgerEntry:
    """A visit with the log and the member behind it, as an inspector reads it."""

    visit: Visit
    log: WorkLog
    person: Person
    village: str


@dataclass(frozen=True)
class AuditMark:
    id: int
    visit_id: int
    verdict: Literal["ok", "false"]
    note: str
    marked_by: int
    marked_at: datetime


@dataclass(frozen=True)
class MonthlySummary:
    id: int
    team_id: int
    month: str
    person_id: int
    text: str
    file_id: str | None
    file_name: str | None
    sent_at: datetime


DeliveryState = Literal["due", "sending", "sent", "failed", "expired"]


@dataclass(frozen=True)
class Delivery:
    """One scheduled message (a reminder, a digest) to one recipient for one period."""

    id: int
    kind: str
    period: str
    recipient: str
    chat_id: int
    person_id: int | None
    team_id: int | None
    payload: dict[str, Any]
    due_at: datetime
    expires_at: datetime | None
    state: DeliveryState
    parts_sent: int
    uncertain: int
    sent_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class NewDelivery:
    kind: str
    period: str
    recipient: str
    chat_id: int
    due_at: datetime
    person_id: int | None = None
    team_id: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    expires_at: datetime | None = None


@dataclass(frozen=True)
class AreaMember:
    """A member of a team now, since when, and whether the bot may write to them privately."""

    team_id: int
    person: Person
    since: datetime
    private: bool


@dataclass(frozen=True)
class Holder:
    """Someone holding a role now, with its place (for choosing who gets which digest)."""

    role: RoleName
    person: Person
    team_id: int | None
    township_id: int | None
    county_id: int | None
    private: bool
    unit_id: int | None = None


@dataclass(frozen=True)
class SpotCheck:
    id: int
    area: str  # 'team:5', 'township:2', 'county:1', 'area:…'
    area_name: str
    ordered_by: int | None  # None: the county's schedule
    plan_id: int | None
    asked_at: datetime
    deadline: datetime
    state: Literal["open", "closed"]
    closed_at: datetime | None = None


@dataclass(frozen=True)
class SpotPick:
    """One member asked in one spot check, and what came of it."""

    id: int
    check_id: int
    person: Person
    team_id: int
    local_date: date
    named: bool
    chat_id: int
    result: Literal["pending", "present", "away", "no_answer", "unreached"]
    answer: Literal["present", "away"] | None = None
    answered_at: datetime | None = None
    late: bool = False
    site_name: str | None = None
    distance_m: float | None = None
    refused: tuple[str, ...] = ()


@dataclass(frozen=True)
class SpotPlan:
    id: int
    township_id: int
    week: str
    due_at: datetime
    count: int
    minutes: int


# ---------------------------------------------------------------------- the wire
InboxState = Literal["new", "handled", "dead"]


@dataclass(frozen=True)
class NewUpdate:
    """An update as it came off the wire, about to be committed to the inbox."""

    update_id: int
    chat_id: int
    kind: str
    payload: str  # the raw JSON
    received_at: datetime
    listening_since: datetime


@dataclass(frozen=True)
class InboxRow:
    id: int
    update_id: int
    chat_id: int
    kind: str
    payload: str
    received_at: datetime
    listening_since: datetime
    state: InboxState
    attempts: int = 0
    handled_at: datetime | None = None
    error: str | None = None


OutboxMethod = Literal[
    "sendMessage",
    "sendPhoto",
    "sendDocument",
    "editMessageText",
    "editMessageReplyMarkup",
    "answerCallbackQuery",
]
OutboxState = Literal["due", "sending", "sent", "uncertain", "failed", "expired"]


@dataclass(frozen=True)
class Outgoing:
    """Something to say, as the outbox keeps it until it is sent."""

    chat_id: int
    method: OutboxMethod
    params: dict[str, Any] = field(default_factory=dict)
    file: bytes | None = None  # a photo's or a document's bytes…
    filename: str | None = None  # …and its name
    target_id: int | None = None  # an edit of the message this outbox row became
    gather: bool = False
    update_id: int | None = None
    delivery_id: int | None = None
    last_part: bool = True
    due_at: datetime | None = None  # None: now
    expires_at: datetime | None = None


@dataclass(frozen=True)
class OutboxRow:
    id: int
    chat_id: int
    method: OutboxMethod
    params: dict[str, Any]
    file_id: int | None
    target_id: int | None
    gather: bool
    update_id: int | None
    delivery_id: int | None
    last_part: bool
    state: OutboxState
    due_at: datetime
    expires_at: datetime | None
    attempts: int
    message_id: int | None
    created_at: datetime
    sent_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class OutboxFile:
    id: int
    filename: str
    content: bytes | None
    tg_file_id: str | None


@dataclass(frozen=True)
class WireView:
    """What ``cunbot inbox`` shows: the backlog, the dead letters, the outbox."""

    waiting: int
    oldest_waiting: datetime | None
    handled_last_hour: int
    dead: list[InboxRow]
    outbox: dict[str, int]  # state -> rows
    oldest_due: datetime | None


# ---------------------------------------------------------------------- the problem list
@dataclass(frozen=True)
class Department:
    """A county department problems can be assigned to (交通局, the mobile operator…)."""

    id: int
    county_id: int
    name: str


@dataclass(frozen=True)
class ProblemPhoto:
    file_id: str
    file_unique_id: str
    message_id: int


@dataclass(frozen=True)
class VillageProblem:
    """A villager's problem on the red / yellow / green list (see storage migration 15)."""

    id: int
    team_id: int
    person_id: int
    chat_id: int
    message_id: int
    text: str
    villager: str | None
    category: str
    colour: str
    colour_by: int | None
    level: str
    department_id: int | None
    accepted_at: datetime | None
    state: str
    raised_at: datetime
    level_since: datetime
    due_at: datetime
    overdue_at: datetime | None
    resolved_at: datetime | None
    resolved_by: int | None
    resolution: str | None
    resolution_photo: str | None
    closed_at: datetime | None
    closed_by: int | None
    revisions: int
    photos: tuple[ProblemPhoto, ...] = ()
    households: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProblemStep:
    """One step of a problem's life: who (None: the deadline), when, what, why."""

    id: int
    problem_id: int
    at: datetime
    actor_id: int | None
    kind: str
    before: str | None
    after: str | None
    note: str | None
    photo: str | None


# ---------------------------------------------------------------------- units and recalls
@dataclass(frozen=True)
class BackingUnit:
    """A backing unit (后盾单位) that sends members to the county's villages."""

    id: int
    county_id: int
    name: str


@dataclass(frozen=True)
class Recall:
    """A recall (召回) of a member: asked (to be confirmed), open (the unit owes a
    replacement), closed (one joined) or dropped (not confirmed)."""

    id: int
    person_id: int
    team_id: int
    unit_id: int | None
    reason: str
    ordered_by: int
    ordered_at: datetime
    state: str
    effective_day: date | None
    due_at: datetime | None
    flagged_day: date | None
    closed_at: datetime | None
    replacement_id: int | None


@dataclass(frozen=True)
class RecallNote:
    at: datetime
    by: int
    note: str


@dataclass(frozen=True)
class Assessment:
    id: int
    person_id: int
    period: str
    grade: str
    note: str
    by: int
    at: datetime


@dataclass(frozen=True)
class Brief:
    """An information brief (信息简报) a team sent."""

    id: int
    team_id: int
    person_id: int
    chat_id: int
    message_id: int
    text: str
    file_id: str | None
    file_kind: str | None
    local_date: date
    sent_at: datetime


@dataclass(frozen=True)
class FormerMember:
    """Someone who was a member of a team until ``left`` (recalled, or gone)."""

    team_id: int
    person: Person
    since: datetime
    left: datetime
