"""Pure rules, by tables of cases: no Telegram, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rules import access
from rules.access import Scope
from rules.geo import SiteAwaitingLocation, SiteSpec, is_real_point, parse_site_add
from rules.ids import parse_id
from rules.invites import invite_problem, start_link
from rules.lang import pick_lang
from rules.orgcsv import decode, parse_org_csv
from rules.problems import Problem
from storage.models import Invite, Role

# ---------------------------------------------------------------------- /site add parsing


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("Office 25.5 103.2", SiteSpec("Office", 25.5, 103.2, 300)),
        ("Office 25.5 103.2 150", SiteSpec("Office", 25.5, 103.2, 150)),
        ("Village office 25.5 103.2 150", SiteSpec("Village office", 25.5, 103.2, 150)),
        ("村委会 25.5,103.2", SiteSpec("村委会", 25.5, 103.2, 300)),
        ("村委会 25.5， 103.2 200m", SiteSpec("村委会", 25.5, 103.2, 200)),
        ("Office -33.9 151.2 50", SiteSpec("Office", -33.9, 151.2, 50)),
        ("Office", SiteAwaitingLocation("Office", 300)),
        ("Old school", SiteAwaitingLocation("Old school", 300)),
        ("", Problem("site.err.usage")),
        ("Office 25.5", Problem("site.err.usage")),
        ("25.5 103.2", Problem("site.err.usage")),
        ("Office 103.2 25.5", Problem("site.err.swapped", {"lat": 103.2, "lon": 25.5})),
        ("Office 95 200", Problem("site.err.coordinates", {"lat": 95.0, "lon": 200.0})),
        ("Office nan 103", Problem("site.err.usage")),
        ("Office 25.5 103.2 49", Problem("site.err.radius_small", {"radius": 49.0, "min": 50})),
        (
            "Office 25.5 103.2 9000",
            Problem("site.err.radius_large", {"radius": 9000.0, "max": 5000}),
        ),
        ("x" * 65 + " 25.5 103.2", Problem("site.err.name_long", {"max": 64})),
    ],
)
def test_parse_site_add(args: str, expected: object) -> None:
    assert parse_site_add(args.split()) == expected


# ---------------------------------------------------------------------- access

TEAM = Scope(team_id=7, township_id=3, county_id=1)
LOOSE_TEAM = Scope(team_id=8, township_id=None, county_id=None)
LEADER = [Role("leader", team_id=7), Role("member", team_id=7)]
MEMBER = [Role("member", team_id=7)]
OTHER_LEADER = [Role("leader", team_id=99)]
ADMIN = [Role("admin", county_id=1)]
OTHER_ADMIN = [Role("admin", county_id=2)]
COORD = [Role("coordinator", township_id=3), Role("coordinator", township_id=4)]


@pytest.mark.parametrize(
    ("roles", "scope", "allowed"),
    [
        (LEADER, TEAM, True),
        (MEMBER, TEAM, False),
        (OTHER_LEADER, TEAM, False),
        (ADMIN, TEAM, True),
        (OTHER_ADMIN, TEAM, False),
        (OTHER_ADMIN, LOOSE_TEAM, True),  # a team in no county: any admin
        (COORD, TEAM, False),
        ([], TEAM, False),
    ],
)
def test_can_manage_team(roles: list[Role], scope: Scope, allowed: bool) -> None:
    assert access.can_manage_team(roles, scope) is allowed


@pytest.mark.parametrize(
    ("roles", "group_admin", "has_leader", "allowed"),
    [
        (LEADER, False, True, True),
        (ADMIN, False, True, True),
        (MEMBER, True, True, False),  # a group admin cannot take a led team
        (MEMBER, True, False, True),  # …but can take a team that lost its leader
        (MEMBER, False, False, False),
        (OTHER_ADMIN, True, True, False),
    ],
)
def test_may_take_over_team(
    roles: list[Role], group_admin: bool, has_leader: bool, allowed: bool
) -> None:
    assert access.may_take_over_team(roles, TEAM, group_admin, has_leader) is allowed


def test_coordinator_scope_is_their_townships() -> None:
    assert access.is_coordinator_for(COORD, TEAM)
    assert not access.is_coordinator_for(COORD, Scope(7, 5, 1))
    assert not access.is_coordinator_for(COORD, LOOSE_TEAM)


def test_may_create_and_bind() -> None:
    assert access.may_create_team([], is_group_admin=True)
    assert access.may_create_team(OTHER_ADMIN, is_group_admin=False)
    assert not access.may_create_team(MEMBER, is_group_admin=False)
    assert access.may_bind_imported(ADMIN, TEAM, is_group_admin=False)
    assert not access.may_bind_imported(OTHER_ADMIN, TEAM, is_group_admin=False)


IN_TEAM = ["help", "lang", "team", "rules"]
AS_MEMBER = ["checkin", "me", "leave_team"]


@pytest.mark.parametrize(
    ("roles", "scope", "group", "group_admin", "expected"),
    [
        ([], None, True, False, ["help", "lang"]),
        ([], None, True, True, ["help", "lang", "setup"]),
        ([], TEAM, True, False, ["help", "lang", "team", "rules", "join"]),
        (
            MEMBER,
            TEAM,
            True,
            False,
            [
                "help",
                "lang",
                "team",
                "rules",
                "checkin",
                "me",
                "log",
                "logs",
                "household",
                "leave",
                "back",
                "leaves",
                "makeup",
                "problem",
                "problems",
                "briefs",
                "unit",
                "remind",
                "leave_team",
            ],
        ),
        (
            LEADER,
            TEAM,
            True,
            False,
            [
                "help",
                "lang",
                "team",
                "rules",
                "checkin",
                "me",
                "log",
                "logs",
                "household",
                "leave",
                "back",
                "leaves",
                "makeup",
                "problem",
                "problems",
                "briefs",
                "unit",
                "remind",
                "leave_team",
                "today",
                "digest",
                "export",
                "summary",
                "setup",
                "site",
            ],
        ),
        (
            COORD,
            TEAM,
            True,
            False,
            [
                "help",
                "lang",
                "team",
                "rules",
                "join",
                "today",
                "digest",
                "export",
                "leaves",
                "logs",
                "problems",
                "briefs",
                "summaries",
            ],
        ),
        (
            COORD,
            None,
            False,
            False,
            [
                "help",
                "lang",
                "checkin",
                "leaves",
                "rules",
                "start",
                "today",
                "digest",
                "export",
                "problem",
                "problems",
                "briefs",
                "recalls",
                "assessment",
                "logs",
                "audit",
                "summaries",
                "spotcheck",
            ],
        ),
    ],
)
def test_visible_commands(
    roles: list[Role], scope: Scope | None, group: bool, group_admin: bool, expected: list[str]
) -> None:
    assert access.visible_commands(roles, scope, group, group_admin) == expected


# ---------------------------------------------------------------------- language


@pytest.mark.parametrize(
    ("chat", "user", "private", "expected"),
    [
        ("en", "zh-hans", True, "en"),
        (None, "zh-hans", True, "zh"),
        (None, "en-GB", True, "en"),
        (None, "fr", True, "zh"),
        (None, "en", False, "zh"),  # a group follows the default, not one member's phone
        ("en", None, False, "en"),
    ],
)
def test_pick_lang(chat: str | None, user: str | None, private: bool, expected: str) -> None:
    assert pick_lang(chat, user, "zh", private=private) == expected


# ---------------------------------------------------------------------- invites

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _invite(**changes: object) -> Invite:
    base: dict[str, object] = {
        "code": "inv_x",
        "role": "coordinator",
        "township_id": 1,
        "county_id": None,
        "expires_at": NOW + timedelta(hours=1),
        "used_at": None,
        "used_by": None,
    }
    base.update(changes)
    return Invite(**base)  # type: ignore[arg-type]


def test_invite_states() -> None:
    assert invite_problem(_invite(), NOW) is None
    assert invite_problem(None, NOW) == Problem("invite.err.unknown")
    assert invite_problem(_invite(used_at=NOW, used_by=3), NOW) == Problem("invite.err.used")
    assert invite_problem(_invite(expires_at=NOW), NOW) == Problem("invite.err.expired")
    assert start_link("cunbot", "inv_abc") == "https://t.me/cunbot?start=inv_abc"


# ---------------------------------------------------------------------- organisation CSV

HEADER = "county,township,team_code,village,tz,site_name,latitude,longitude,radius_m\n"


def test_org_csv_groups_sites_by_team() -> None:
    text = HEADER + (
        "Huize,Dahai,HZ-001,Shangba,,Office,25.5,103.2,\n"
        "Huize,Dahai,HZ-001,Shangba,,School,25.51,103.21,150\n"
        "Huize,Leju,HZ-002,Xiaba,Asia/Shanghai,,,,\n"
    )
    teams, problems = parse_org_csv(text, "Asia/Shanghai")
    assert problems == []
    assert [(t.code, t.village, t.line, len(t.sites)) for t in teams] == [
        ("HZ-001", "Shangba", 2, 2),
        ("HZ-002", "Xiaba", 4, 0),
    ]
    assert teams[0].sites[1].radius_m == 150
    assert teams[0].sites[0].radius_m == 300


def test_org_csv_needs_only_its_required_columns() -> None:
    # The optional columns (time zone, sites, datum) may be left out of the header: a county
    # that lists its villages first and draws sites later.
    teams, problems = parse_org_csv(
        "county,township,team_code,village\nHuize,Dahai,HZ-001,Shangba\n", "Asia/Shanghai"
    )
    assert problems == []
    assert [(t.code, t.village, t.tz, t.sites) for t in teams] == [
        ("HZ-001", "Shangba", "Asia/Shanghai", [])
    ]
    teams, problems = parse_org_csv(
        "team_code,village,county,township,site_name,latitude,longitude\n"
        "HZ-001,Shangba,Huize,Dahai,Office,25.5,103.2\n",
        "Asia/Shanghai",
    )
    assert problems == []
    assert [(s.name, s.radius_m) for s in teams[0].sites] == [("Office", 300)]


def test_org_csv_reports_every_bad_line() -> None:
    text = HEADER + (
        "Huize,Dahai,HZ-001,Shangba,,Office,25.5,103.2,\n"  # 2: fine
        "Huize,Dahai,,Xiaba,,,,,\n"  # 3: no code
        "Huize,Dahai,HZ-003,Zhongba,Mars/Base,,,,\n"  # 4: bad tz
        "Huize,Dahai,HZ-004,Qianba,,Office,125.5,103.2,\n"  # 5: lat out of range
        "Huize,Dahai,HZ-005,Houba,,Office,25.5,103.2,20\n"  # 6: radius too small
        "Huize,Dahai,HZ-006,Xinba,,Office,25.5,,\n"  # 7: site incomplete
        "Huize,Leju,HZ-001,Shangba,,School,25.5,103.2,\n"  # 8: same code, other township
        "Huize,Dahai,HZ-001,Shangba,,Office,25.6,103.3,\n"  # 9: site twice
        "Huize,Dahai,HZ-007,Beiba,,Office,abc,103.2,\n"  # 10: not a number
        "Huize,Dahai,HZ-008,Nanba,,,,,100\n"  # 11: radius with no site
        "Huize,Dahai,HZ-009,Ba,,,,,,extra\n"  # 12: extra cell
    )
    _, problems = parse_org_csv(text, "Asia/Shanghai")
    assert [(p.line, p.problem.key) for p in problems] == [
        (3, "import.err.required"),
        (4, "import.err.tz"),
        (5, "site.err.coordinates"),
        (6, "site.err.radius_small"),
        (7, "import.err.site_incomplete"),
        (8, "import.err.team_differs"),
        (9, "import.err.site_twice"),
        (10, "import.err.number"),
        (11, "import.err.radius_without_site"),
        (12, "import.err.extra_cells"),
    ]


def test_org_csv_header_and_empty() -> None:
    _, problems = parse_org_csv("county,village,colour\n", "Asia/Shanghai")
    assert problems[0].problem.key == "import.err.header"
    assert problems[0].problem.params["missing"] == "township, team_code"
    assert problems[0].problem.params["unknown"] == "colour"
    _, problems = parse_org_csv(HEADER, "Asia/Shanghai")
    assert [p.problem.key for p in problems] == ["import.err.empty"]


def test_csv_from_excel_decodes() -> None:
    row = "县,乡,码,村\n"
    assert decode("\ufeff".encode() + row.encode()) == row
    assert decode(row.encode("gb18030")) == row


def test_ids_are_ascii_numbers_a_database_holds() -> None:
    assert [parse_id(w) for w in ("12", "#12", "0", "-3", "²", "١٢", "abc", "")] == [
        12,
        12,
        None,
        None,
        None,
        None,
        None,
        None,
    ]
    assert parse_id(str(2**63 - 1)) == 2**63 - 1
    assert parse_id(str(2**63)) is None


def test_a_real_point_is_on_earth() -> None:
    assert is_real_point(25.5, 103.2, 12.0)
    assert is_real_point(-90.0, 180.0, None)
    for lat, lon, acc in (
        (91.0, 0.0, None),
        (0.0, -180.5, None),
        (float("nan"), 0.0, None),
        (0.0, float("inf"), None),
        (0.0, 0.0, float("nan")),
        (0.0, 0.0, -1.0),
    ):
        assert not is_real_point(lat, lon, acc), (lat, lon, acc)
