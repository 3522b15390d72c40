"""The store's interface. Services speak only to these protocols, so a PostgreSQL backend can
slot in beside SQLite without touching a handler or a service.

A service opens one transaction per use case (``async with store.transaction() as tx``); the
transaction commits when the block ends and rolls back on an exception. Every method that
changes state takes the acting person and the time, and writes an audit event in the same
transaction, so no change happens without a record of who, when and what.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime
from typing import Any, Protocol

from storage.models import (
    AreaMember,
    AuditMark,
    Checkin,
    County,
    Delivery,
    Event,
    Holder,
    Household,
    Invite,
    LeaveDecision,
    LeaveMessage,
    LeaveRequest,
    LedgerEntry,
    LogRevision,
    MonthlySummary,
    NewDelivery,
    PendingInput,
    Person,
    Role,
    RoleName,
    Site,
    SpotCheck,
    SpotPick,
    SpotPlan,
    Team,
    TeamPerson,
    Township,
    WorkLog,
)


class Tx(Protocol):
    """One unit of work."""

    # --- people
    async def upsert_person(
        self,
        tg_user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
        now: datetime,
    ) -> Person: ...
    async def get_person_by_tg(self, tg_user_id: int) -> Person | None: ...

    # --- organisation
    async def get_county(self, name: str) -> County | None: ...
    async def create_county(
        self, name: str, tz: str | None, now: datetime, actor_id: int | None
    ) -> County: ...
    async def find_townships(self, name: str, county_name: str | None = None) -> list[Township]: ...
    async def create_township(
        self, county_id: int, name: str, now: datetime, actor_id: int | None
    ) -> Township: ...
    async def get_team(self, team_id: int) -> Team: ...
    async def get_team_by_chat(self, chat_id: int) -> Team | None: ...
    async def get_team_by_code(self, code: str) -> Team | None: ...
    async def create_team(
        self,
        village: str,
        tz: str,
        now: datetime,
        actor_id: int | None,
        *,
        chat_id: int | None = None,
        code: str | None = None,
        township_id: int | None = None,
    ) -> Team: ...
    async def bind_team_chat(
        self, team_id: int, chat_id: int, now: datetime, actor_id: int
    ) -> None: ...
    async def rename_team(
        self, team_id: int, village: str, now: datetime, actor_id: int
    ) -> None: ...
    async def migrate_chat(self, old_chat_id: int, new_chat_id: int, now: datetime) -> bool: ...

    # --- roles
    async def active_roles(self, person_id: int) -> list[Role]: ...
    async def grant_role(
        self, person_id: int, role: Role, now: datetime, actor_id: int | None
    ) -> bool: ...
    async def revoke_role(
        self, person_id: int, role: Role, now: datetime, actor_id: int | None
    ) -> bool: ...
    async def team_people(self, team_id: int) -> list[TeamPerson]: ...
    async def role_places(self, person_id: int) -> list[tuple[str, str]]: ...
    async def count_role_holders(self, role: RoleName, team_id: int) -> int: ...

    # --- sites
    async def list_sites(self, team_id: int) -> list[Site]: ...
    async def add_site(
        self,
        team_id: int,
        name: str,
        latitude: float,
        longitude: float,
        radius_m: int,
        now: datetime,
        actor_id: int | None,
    ) -> Site: ...
    async def remove_site(self, team_id: int, name: str, now: datetime, actor_id: int) -> bool: ...

    # --- invites
    async def create_invite(
        self,
        code: str,
        role: RoleName,
        township_id: int | None,
        county_id: int | None,
        now: datetime,
        expires_at: datetime,
    ) -> Invite: ...
    async def get_invite(self, code: str) -> Invite | None: ...
    async def use_invite(self, code: str, person_id: int, now: datetime) -> bool: ...

    # --- chats, dialogue state, meta
    async def get_chat_lang(self, chat_id: int) -> str | None: ...
    async def set_chat_lang(
        self, chat_id: int, lang: str, now: datetime, actor_id: int | None
    ) -> None: ...
    async def set_pending(
        self,
        chat_id: int,
        person_id: int,
        kind: str,
        payload: dict[str, Any],
        now: datetime,
        expires_at: datetime,
    ) -> None: ...
    async def take_pending(
        self, chat_id: int, person_id: int, kind: str, now: datetime
    ) -> PendingInput | None: ...
    async def get_meta(self, key: str) -> str | None: ...
    async def set_meta(self, key: str, value: str) -> None: ...

    # --- check-ins and attendance policy
    async def record_checkin(self, c: Checkin) -> Checkin | None: ...
    async def checkin_of_message(self, chat_id: int, message_id: int) -> Checkin | None: ...
    async def last_point(self, chat_id: int, message_id: int) -> Checkin | None: ...
    async def window_checkin(
        self, person_id: int, team_id: int, day: date, window: str
    ) -> Checkin | None: ...
    async def team_checkins(
        self,
        team_id: int,
        first: date,
        last: date,
        *,
        person_id: int | None = None,
        outcomes: tuple[str, ...] = ("checkin",),
    ) -> list[Checkin]: ...
    async def export_checkins(
        self, first: date, last: date, team_id: int | None = None
    ) -> list[Checkin]: ...
    async def member_teams(self, person_id: int) -> list[Team]: ...
    async def member_since(self, person_id: int, team_id: int) -> datetime | None: ...
    async def get_policy(self, county_id: int | None) -> str | None: ...
    async def set_policy(
        self, county_id: int | None, policy: str, now: datetime, actor_id: int | None
    ) -> None: ...

    # --- leave
    async def create_leave(
        self,
        person_id: int,
        team_id: int,
        kind: str,
        first: date,
        last: date,
        reason: str,
        route: tuple[str, ...],
        chat_id: int,
        now: datetime,
    ) -> LeaveRequest: ...
    async def get_leave(self, request_id: int) -> LeaveRequest | None: ...
    async def person_leave(
        self, person_id: int, states: tuple[str, ...] = ..., limit: int = 50
    ) -> list[LeaveRequest]: ...
    async def team_leave(
        self, team_id: int, first: date, last: date, states: tuple[str, ...] = ...
    ) -> list[LeaveRequest]: ...
    async def area_leave(
        self, team_ids: Sequence[int], first: date, last: date
    ) -> list[LeaveRequest]: ...
    async def pending_leave(self) -> list[LeaveRequest]: ...
    async def unreturned_leave(self, before: date) -> list[LeaveRequest]: ...
    async def decide_leave(
        self,
        leave: LeaveRequest,
        decision: str,
        actor_id: int,
        now: datetime,
        note: str | None = None,
    ) -> bool: ...
    async def leave_decisions(self, request_id: int) -> list[LeaveDecision]: ...
    async def cancel_leave(self, leave: LeaveRequest, actor_id: int, now: datetime) -> bool: ...
    async def return_from_leave(
        self, leave: LeaveRequest, day: date, actor_id: int, now: datetime
    ) -> bool: ...
    async def mark_leave(
        self, leave: LeaveRequest, what: str, now: datetime, **data: Any
    ) -> bool: ...
    async def add_leave_message(
        self,
        request_id: int,
        person_id: int | None,
        purpose: str,
        chat_id: int,
        message_id: int,
        step: int,
        now: datetime,
    ) -> None: ...
    async def leave_messages(self, request_id: int) -> list[LeaveMessage]: ...
    async def role_holders(
        self,
        role: str,
        *,
        team_id: int | None = None,
        township_id: int | None = None,
        county_id: int | None = None,
    ) -> list[Person]: ...
    async def get_person(self, person_id: int) -> Person: ...

    # --- households, work logs, the ledger, reverse checks, summaries
    async def list_households(self, team_id: int) -> list[Household]: ...
    async def find_households(self, team_ids: Sequence[int], name: str) -> list[Household]: ...
    async def add_household(
        self,
        team_id: int,
        name: str,
        note: str | None,
        source: str,
        now: datetime,
        actor_id: int | None,
    ) -> Household | None: ...
    async def recent_households(
        self, person_id: int, team_id: int, since: date, except_log: int
    ) -> list[int]: ...
    async def create_log(
        self,
        person_id: int,
        team_id: int,
        local_date: date,
        chat_id: int,
        message_id: int,
        media_group_id: str | None,
        text: str,
        written_at: datetime,
        now: datetime,
    ) -> WorkLog | None: ...
    async def get_log(self, log_id: int) -> WorkLog | None: ...
    async def log_of_message(self, chat_id: int, message_id: int) -> WorkLog | None: ...
    async def log_of_album(self, chat_id: int, media_group_id: str) -> WorkLog | None: ...
    async def team_logs(
        self, team_id: int, first: date, last: date, person_id: int | None = None
    ) -> list[WorkLog]: ...
    async def revise_log(
        self, log: WorkLog, text: str, edited_at: datetime, now: datetime, actor_id: int
    ) -> int | None: ...
    async def log_revisions(self, log_id: int) -> list[LogRevision]: ...
    async def add_photo(
        self,
        log: WorkLog,
        chat_id: int,
        message_id: int,
        file_id: str,
        file_unique_id: str,
        caption: str | None,
        now: datetime,
    ) -> bool: ...
    async def add_visit(
        self, log: WorkLog, household_id: int, how: str, now: datetime, actor_id: int
    ) -> bool: ...
    async def remove_visit(
        self, log: WorkLog, household_id: int, now: datetime, actor_id: int
    ) -> bool: ...
    async def household_ledger(self, household_ids: Sequence[int]) -> list[LedgerEntry]: ...
    async def visit_entries(self, visit_ids: Sequence[int]) -> list[LedgerEntry]: ...
    async def sample_candidates(self, team_id: int, since: date) -> tuple[list[int], list[int]]: ...
    async def create_sample(
        self, team_id: int, asked: int, visit_ids: Sequence[int], actor_id: int, now: datetime
    ) -> int: ...
    async def mark_visit(
        self, entry: LedgerEntry, verdict: str, note: str, actor_id: int, now: datetime
    ) -> AuditMark: ...
    async def verdict_counts(self, person_id: int, team_id: int, since: date) -> dict[str, int]: ...
    async def add_summary(
        self,
        team_id: int,
        month: str,
        person_id: int,
        text: str,
        file_id: str | None,
        file_name: str | None,
        chat_id: int,
        message_id: int,
        now: datetime,
    ) -> MonthlySummary | None: ...
    async def summary_months(self, team_id: int) -> list[str]: ...
    async def month_summaries(
        self, month: str, team_ids: Sequence[int]
    ) -> list[MonthlySummary]: ...
    async def area_teams(
        self, township_ids: Sequence[int], county_ids: Sequence[int], unplaced: bool
    ) -> list[Team]: ...

    # --- scheduled messages, reminder settings, private chats, an area's records
    async def plan_once(self, kind: str, period: str, scope: str, now: datetime) -> bool: ...
    async def add_deliveries(self, planned: Sequence[NewDelivery], now: datetime) -> int: ...
    async def due_deliveries(self, now: datetime, limit: int) -> list[Delivery]: ...
    async def start_part(self, delivery_id: int, now: datetime) -> None: ...
    async def part_sent(
        self, delivery_id: int, last: bool, now: datetime, uncertain: bool = False
    ) -> None: ...
    async def part_not_sent(self, delivery_id: int, error: str, now: datetime) -> None: ...
    async def delivery_failed(self, delivery_id: int, error: str, now: datetime) -> None: ...
    async def settle_interrupted(self, now: datetime) -> list[Delivery]: ...
    async def finish_delivery(self, delivery_id: int, now: datetime) -> None: ...
    async def deliveries(
        self, kind: str | None = None, period: str | None = None
    ) -> list[Delivery]: ...
    async def reminder_words(self, scope: str, ids: Sequence[int]) -> dict[int, dict[str, str]]: ...
    async def set_reminder_words(
        self,
        scope: str,
        scope_id: int,
        words: dict[str, str],
        team_id: int | None,
        now: datetime,
        actor_id: int,
    ) -> None: ...
    async def note_private(self, tg_user_id: int, now: datetime) -> bool: ...
    async def lost_private(self, person_id: int, now: datetime) -> None: ...
    async def area_members(self, team_ids: Sequence[int]) -> list[AreaMember]: ...
    async def area_checkins(
        self, team_ids: Sequence[int], first: date, last: date
    ) -> list[tuple[int, int, date, str]]: ...
    async def area_log_days(
        self, team_ids: Sequence[int], first: date, last: date
    ) -> list[tuple[int, int, date]]: ...
    async def area_verdicts(
        self, team_ids: Sequence[int], since: datetime, until: datetime
    ) -> list[tuple[int, int, str, int]]: ...
    async def all_teams(self) -> list[Team]: ...
    async def holders(self, roles: Sequence[str]) -> list[Holder]: ...

    # --- spot checks
    async def create_spot_check(
        self,
        area: str,
        area_name: str,
        ordered_by: int | None,
        plan_id: int | None,
        deadline: datetime,
        now: datetime,
    ) -> SpotCheck: ...
    async def add_spot_pick(
        self,
        check_id: int,
        person_id: int,
        team_id: int,
        local_date: date,
        named: bool,
        chat_id: int,
        now: datetime,
        actor_id: int | None,
    ) -> None: ...
    async def get_spot_check(self, check_id: int) -> SpotCheck | None: ...
    async def spot_picks(self, check_id: int) -> list[SpotPick]: ...
    async def open_spot_pick(self, person_id: int) -> tuple[SpotPick, SpotCheck] | None: ...
    async def answer_spot_pick(
        self,
        pick: SpotPick,
        answer: str,
        result: str,
        sent_at: datetime,
        late: bool,
        checkin_id: int | None,
        site_name: str | None,
        distance_m: float | None,
        now: datetime,
    ) -> bool: ...
    async def refuse_spot_answer(
        self, pick: SpotPick, reason: str, checkin_id: int | None, now: datetime
    ) -> None: ...
    async def close_spot_check(
        self, check_id: int, unreached: Sequence[int], now: datetime
    ) -> bool: ...
    async def due_spot_checks(self, now: datetime) -> list[SpotCheck]: ...
    async def spot_pick_counts(self, person_ids: Sequence[int], since: date) -> dict[int, int]: ...
    async def area_spot_picks(
        self, team_ids: Sequence[int], first: date, last: date, person_id: int | None = None
    ) -> list[SpotPick]: ...
    async def teams_with_sites(self, team_ids: Sequence[int]) -> set[int]: ...
    async def add_spot_plans(
        self, township_id: int, week: str, moments: Sequence[datetime], minutes: int, now: datetime
    ) -> None: ...
    async def due_spot_plans(self, now: datetime) -> list[SpotPlan]: ...
    async def spot_plans(self, township_id: int | None = None) -> list[SpotPlan]: ...
    async def settle_spot_plan(self, plan: SpotPlan, state: str, now: datetime) -> bool: ...

    # --- audit
    async def events(self, team_id: int | None = None, kind: str | None = None) -> list[Event]: ...


class Store(Protocol):
    """A database the bot runs on."""

    def transaction(self) -> AbstractAsyncContextManager[Tx]: ...
    async def schema_version(self) -> int: ...
    async def close(self) -> None: ...
