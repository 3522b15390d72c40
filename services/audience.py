"""Who is to hear of a change, in which chat and language: a team's group, or people
privately (those the bot may not write to are named instead, for whoever acted)."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.org import group_lang, lang_of
from storage.base import Tx
from storage.models import Person, Team


@dataclass(frozen=True)
class Audience:
    """One chat to tell: a group (``person`` None) or someone privately."""

    chat_id: int
    lang: str
    person: Person | None = None
    buttons: str = ""  # "" none, "department" (accept/note/resolved), "confirm" (the team's)
    full: bool = False  # the whole card with its photos, not a one-line notice


@dataclass
class Told:
    """Audiences gathered for one step: each chat once, the unreachable named."""

    tx: Tx
    default_lang: str
    skip: int | None = None  # the actor: told by the reply to what they did
    items: dict[int, Audience] = field(default_factory=dict)
    missed: list[str] = field(default_factory=list)

    async def group(self, team: Team, buttons: str = "") -> None:
        if team.chat_id is not None and team.chat_id not in self.items:
            lang = await group_lang(self.tx, team, self.default_lang)
            self.items[team.chat_id] = Audience(team.chat_id, lang, None, buttons)

    async def people(self, people: list[Person], buttons: str = "", full: bool = False) -> None:
        reachable = await self.tx.privately_reachable([p.id for p in people])
        for person in people:
            if person.id == self.skip or person.tg_user_id in self.items:
                continue
            if person.id not in reachable:
                if person.display_name not in self.missed:
                    self.missed.append(person.display_name)
                continue
            lang = await lang_of(self.tx, person, self.default_lang)
            self.items[person.tg_user_id] = Audience(person.tg_user_id, lang, person, buttons, full)

    def audience(self, without: int | None = None) -> tuple[Audience, ...]:
        return tuple(a for chat, a in self.items.items() if chat != without)
