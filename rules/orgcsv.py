"""Validating an organisation import (counties, townships, teams, sites) before any write.

One row per site; a team without a site has one row with the site columns empty. Rows of the
same team code must agree on county, township, village and time zone.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rules.datum import to_wgs84
from rules.geo import (
    DATUM_WORDS,
    DEFAULT_RADIUS_M,
    check_coordinates,
    check_name,
    check_radius,
)
from rules.logs import check_household
from rules.problems import Problem

REQUIRED = ("county", "township", "team_code", "village")
OPTIONAL = ("tz", "site_name", "latitude", "longitude", "radius_m", "datum")
COLUMNS = REQUIRED + OPTIONAL
RosterRole = Literal["member", "leader", "commander"]


@dataclass(frozen=True)
class SiteRow:
    line: int
    name: str
    latitude: float
    longitude: float
    radius_m: int


@dataclass
class TeamRow:
    """A team to import, with the first line that named it."""

    line: int
    county: str
    township: str
    code: str
    village: str
    tz: str
    sites: list[SiteRow] = field(default_factory=list)


@dataclass(frozen=True)
class RowProblem:
    line: int
    problem: Problem


def decode(data: bytes) -> str:
    """CSV from Excel comes as UTF-8 with a BOM or, on Chinese Windows, as GB18030."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def _header_problem(
    header: list[str], required: tuple[str, ...], columns: tuple[str, ...]
) -> RowProblem | None:
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in columns]
    if not missing and not unknown:
        return None
    params = {
        "missing": ", ".join(missing) or "-",
        "unknown": ", ".join(unknown) or "-",
        "columns": ",".join(columns),
    }
    return RowProblem(1, Problem("import.err.header", params))


def valid_tz(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def parse_org_csv(text: str, default_tz: str) -> tuple[list[TeamRow], list[RowProblem]]:
    """Every team in the file, or every problem with its line number."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    bad_header = _header_problem(header, REQUIRED, COLUMNS)
    if bad_header:
        return [], [bad_header]
    reader.fieldnames = header
    teams: dict[str, TeamRow] = {}
    problems: list[RowProblem] = []
    for raw in reader:
        line = reader.line_num
        if None in raw:
            problems.append(RowProblem(line, Problem("import.err.extra_cells")))
            continue
        # Optional columns may be left out of the header altogether: they read as empty.
        row = {k: (raw.get(k) or "").strip() for k in COLUMNS}
        if not any(row.values()):
            continue
        problem = _check_row(row, teams, default_tz)
        if problem:
            problems.append(RowProblem(line, problem))
            continue
        code = row["team_code"]
        team = teams.get(code)
        if team is None:
            team = TeamRow(
                line, row["county"], row["township"], code, row["village"], row["tz"] or default_tz
            )
            teams[code] = team
        if row["site_name"]:
            # A centre copied from Amap or Baidu is stored as what phones report (WGS-84).
            datum = DATUM_WORDS[row.get("datum", "").lower().replace("-", "") or "wgs84"]
            lat, lon = to_wgs84(float(row["latitude"]), float(row["longitude"]), datum)
            team.sites.append(
                SiteRow(
                    line,
                    row["site_name"],
                    round(lat, 7) if datum != "wgs84" else lat,
                    round(lon, 7) if datum != "wgs84" else lon,
                    round(float(row["radius_m"])) if row["radius_m"] else DEFAULT_RADIUS_M,
                )
            )
    if not teams and not problems:
        problems.append(RowProblem(1, Problem("import.err.empty")))
    return list(teams.values()), problems


def _check_row(row: dict[str, str], teams: dict[str, TeamRow], default_tz: str) -> Problem | None:
    for column in REQUIRED:
        if not row[column]:
            return Problem("import.err.required", {"column": column})
    if row["tz"] and not valid_tz(row["tz"]):
        return Problem("import.err.tz", {"tz": row["tz"]})
    team = teams.get(row["team_code"])
    if team is not None:
        tz = row["tz"] or default_tz
        if (team.county, team.township, team.village, team.tz) != (
            row["county"],
            row["township"],
            row["village"],
            tz,
        ):
            return Problem("import.err.team_differs", {"code": team.code, "line": team.line})
    datum = row.get("datum", "")
    if datum and datum.lower().replace("-", "") not in DATUM_WORDS:
        return Problem("import.err.datum", {"datum": datum})
    site_cells = (row["site_name"], row["latitude"], row["longitude"])
    if not any(site_cells):
        return Problem("import.err.radius_without_site") if row["radius_m"] else None
    if not all(site_cells):
        return Problem("import.err.site_incomplete")
    try:
        lat, lon = float(row["latitude"]), float(row["longitude"])
        radius = float(row["radius_m"]) if row["radius_m"] else DEFAULT_RADIUS_M
    except ValueError:
        return Problem("import.err.number")
    problem = check_name(row["site_name"]) or check_coordinates(lat, lon) or check_radius(radius)
    if problem:
        return problem
    if team is not None and any(s.name == row["site_name"] for s in team.sites):
        return Problem("import.err.site_twice", {"site": row["site_name"]})
    return None


# ---------------------------------------------------------------------- households
# A household register: one row per household. Chinese headers are read too, since the
# register usually comes from the village's own spreadsheet.
HOUSEHOLD_COLUMNS = ("team_code", "household", "note")
_HOUSEHOLD_ALIASES = {
    "队编码": "team_code",
    "户名": "household",
    "户主": "household",
    "备注": "note",
}


@dataclass(frozen=True)
class HouseholdRow:
    line: int
    team_code: str | None
    name: str
    note: str | None


def _rows(
    text: str, aliases: dict[str, str], required: tuple[str, ...], columns: tuple[str, ...]
) -> tuple[list[tuple[int, dict[str, str] | None]], RowProblem | None]:
    """A list's rows that are not empty, by line, spaces in each cell folded (None: a row with
    more cells than the header has); or what is wrong with the header. Headers may be in
    Chinese, as the county's own spreadsheets have them."""
    reader = csv.DictReader(io.StringIO(text))
    header = [aliases.get(h.strip(), h.strip()) for h in (reader.fieldnames or [])]
    bad_header = _header_problem(header, required, columns)
    if bad_header:
        return [], bad_header
    reader.fieldnames = header
    rows: list[tuple[int, dict[str, str] | None]] = []
    for raw in reader:
        if None in raw:
            rows.append((reader.line_num, None))
            continue
        row = {k: " ".join((v or "").split()) for k, v in raw.items()}
        if any(row.values()):
            rows.append((reader.line_num, row))
    return rows, None


def is_household_csv(text: str) -> bool:
    first = text.splitlines()[0] if text else ""
    cells = {_HOUSEHOLD_ALIASES.get(c.strip(), c.strip()) for c in first.split(",")}
    return "household" in cells


def parse_household_csv(
    text: str, *, need_team: bool = True
) -> tuple[list[HouseholdRow], list[RowProblem]]:
    """Every household in the file, or every problem with its line number. In a team's own
    chat the team is known, so the ``team_code`` column may be left out."""
    required = ("team_code", "household") if need_team else ("household",)
    read, bad_header = _rows(text, _HOUSEHOLD_ALIASES, required, HOUSEHOLD_COLUMNS)
    if bad_header:
        return [], [bad_header]
    rows: list[HouseholdRow] = []
    problems: list[RowProblem] = []
    for line, row in read:
        if row is None:
            problems.append(RowProblem(line, Problem("import.err.extra_cells")))
            continue
        code = row.get("team_code") or None
        if need_team and not code:
            problems.append(
                RowProblem(line, Problem("import.err.required", {"column": "team_code"}))
            )
            continue
        problem = check_household(row["household"], row.get("note") or None)
        if problem is not None:
            problems.append(RowProblem(line, problem))
            continue
        rows.append(HouseholdRow(line, code, row["household"], row.get("note") or None))
    if not rows and not problems:
        problems.append(RowProblem(1, Problem("import.err.empty")))
    return rows, problems


# ---------------------------------------------------------------------- a roster
# The county's list of who serves where, sent by which unit. Members are not written into a
# team from it (a roster has no Telegram accounts): each row becomes a personal invite, and
# whoever opens it joins with the role and unit the roster gives.
ROSTER_COLUMNS = ("team_code", "name", "unit", "role")
_ROSTER_ALIASES = {
    "队编码": "team_code",
    "姓名": "name",
    "派出单位": "unit",
    "后盾单位": "unit",
    "单位": "unit",
    "角色": "role",
    "职务": "role",
}
ROSTER_ROLES: dict[str, RosterRole] = {
    "member": "member",
    "队员": "member",
    "leader": "leader",
    "队长": "leader",
    "第一书记": "leader",
    "commander": "commander",
    "总队长": "commander",
}
MAX_ROSTER_NAME = 40
MAX_UNIT_NAME = 60


@dataclass(frozen=True)
class RosterRow:
    line: int
    team_code: str
    name: str
    unit: str | None
    role: RosterRole


def is_roster_csv(text: str) -> bool:
    first = text.splitlines()[0] if text else ""
    cells = {_ROSTER_ALIASES.get(c.strip(), c.strip()) for c in first.split(",")}
    return "name" in cells and "household" not in cells


def parse_roster_csv(text: str) -> tuple[list[RosterRow], list[RowProblem]]:
    """Every person in the roster, or every problem with its line number."""
    read, bad_header = _rows(text, _ROSTER_ALIASES, ("team_code", "name"), ROSTER_COLUMNS)
    if bad_header:
        return [], [bad_header]
    rows: list[RosterRow] = []
    problems: list[RowProblem] = []
    seen: dict[tuple[str, str], int] = {}
    for line, row in read:
        if row is None:
            problems.append(RowProblem(line, Problem("import.err.extra_cells")))
            continue
        parsed = _roster_row(line, row)
        if isinstance(parsed, Problem):
            problems.append(RowProblem(line, parsed))
            continue
        key = (parsed.team_code, parsed.name)
        if key in seen:
            params = {"name": parsed.name, "code": parsed.team_code, "line": seen[key]}
            problems.append(RowProblem(line, Problem("import.err.roster_twice", params)))
            continue
        seen[key] = line
        rows.append(parsed)
    if not rows and not problems:
        problems.append(RowProblem(1, Problem("import.err.empty")))
    return rows, problems


def _roster_row(line: int, row: dict[str, str]) -> RosterRow | Problem:
    for column in ("team_code", "name"):
        if not row[column]:
            return Problem("import.err.required", {"column": column})
    if len(row["name"]) > MAX_ROSTER_NAME:
        return Problem("import.err.name_long", {"max": MAX_ROSTER_NAME})
    word = row.get("role") or "member"
    role = ROSTER_ROLES.get(word.lower())
    if role is None:
        return Problem("import.err.role", {"role": word})
    unit = row.get("unit") or None
    if unit is not None and len(unit) > MAX_UNIT_NAME:
        return Problem("import.err.unit_long", {"max": MAX_UNIT_NAME})
    if unit is not None and role == "commander":
        # A chief commander is a county leader answering for the village, not someone a unit
        # sent: a unit on their row is a mistake in the roster.
        return Problem("import.err.commander_unit")
    return RosterRow(line, row["team_code"], row["name"], unit, role)
