"""Pure check-in rules: datums, policy, judging a location, days and the month, send pacing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest

from rules import datum
from rules.checkin import Fix, judge
from rules.days import classify_day, month_figures, prorated
from rules.geo import SiteSpec, parse_site_add
from rules.pace import GROUP_ANSWERS, GROUP_LIMIT, Limit, next_send_at
from rules.policy import DEFAULT_POLICY, Policy, Window, apply_changes, from_json, to_json
from rules.problems import Problem
from storage.models import Site

# ---------------------------------------------------------------------- datums
# Reference pairs published with other open implementations (eviltransform, coordtransform).
WGS_GCJ = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),  # Shanghai
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),  # Shenzhen
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),  # Beijing
    ((39.915, 116.404), (39.91640428150164, 116.41024449916938)),
]


@pytest.mark.parametrize(("wgs", "gcj"), WGS_GCJ)
def test_wgs84_to_gcj02_matches_known_pairs(
    wgs: tuple[float, float], gcj: tuple[float, float]
) -> None:
    assert datum.wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-9)


@pytest.mark.parametrize(("wgs", "gcj"), WGS_GCJ)
def test_gcj02_back_to_wgs84_within_a_centimetre(
    wgs: tuple[float, float], gcj: tuple[float, float]
) -> None:
    assert datum.to_wgs84(*gcj, "gcj02") == pytest.approx(wgs, abs=1e-7)


def test_bd09_matches_known_pairs() -> None:
    assert datum.bd09_to_gcj02(39.915, 116.404) == pytest.approx(
        (39.90865673957631, 116.39762729119315), abs=1e-9
    )
    assert datum.gcj02_to_bd09(39.915, 116.404) == pytest.approx(
        (39.92133699351021, 116.41036949371029), abs=1e-9
    )
    bd = datum.gcj02_to_bd09(*datum.wgs84_to_gcj02(25.5, 103.2))
    assert datum.to_wgs84(*bd, "bd09") == pytest.approx((25.5, 103.2), abs=1e-5)


def test_outside_china_nothing_moves() -> None:
    assert datum.to_wgs84(48.85, 2.35, "gcj02") == (48.85, 2.35)
    assert datum.wgs84_to_gcj02(-33.9, 151.2) == (-33.9, 151.2)


def test_site_add_converts_a_centre_typed_from_a_chinese_map() -> None:
    gcj = WGS_GCJ[2][1]
    spec = parse_site_add(["Office", str(gcj[0]), str(gcj[1]), "200", "gcj02"])
    assert isinstance(spec, SiteSpec)
    assert (spec.latitude, spec.longitude) == pytest.approx(WGS_GCJ[2][0], abs=1e-6)
    assert (spec.datum, spec.radius_m, spec.name) == ("gcj02", 200, "Office")
    amap = parse_site_add(["村委会", f"{gcj[0]},{gcj[1]}", "高德"])
    assert isinstance(amap, SiteSpec) and amap.datum == "gcj02" and amap.radius_m == 300
    assert parse_site_add(["Office", "25.5", "103.2", "baidu"]) == SiteSpec(
        "Office", *_rounded(datum.to_wgs84(25.5, 103.2, "bd09")), 300, "bd09"
    )


def _rounded(point: tuple[float, float]) -> tuple[float, float]:
    return round(point[0], 7), round(point[1], 7)


# ---------------------------------------------------------------------- policy
def test_policy_changes_and_round_trip() -> None:
    changed = apply_changes(
        DEFAULT_POLICY, ["morning=07:30-09:00", "days=22", "nights=15", "live=required"]
    )
    assert isinstance(changed, Policy)
    assert changed.window("morning") == Window("morning", time(7, 30), time(9))
    assert (changed.days, changed.nights, changed.live) == (22, 15, "required")
    assert from_json(to_json(changed)) == changed
    assert from_json(None) == DEFAULT_POLICY
    evening_off = apply_changes(DEFAULT_POLICY, ["evening=off"])
    assert isinstance(evening_off, Policy)
    assert [w.name for w in evening_off.windows] == ["morning", "night"]


@pytest.mark.parametrize(
    ("words", "key"),
    [
        (["morning=7:00"], "rules.err.window"),
        (["morning=seven-nine"], "rules.err.time"),
        (["night=22:00-02:00"], "rules.err.window_order"),
        (["evening=19:00-21:00"], "rules.err.overlap"),
        (["days=many"], "rules.err.number"),
        (["days=40"], "rules.err.quota"),
        (["accuracy=5"], "rules.err.accuracy"),
        (["night=off", "nights=15"], "rules.err.no_night_window"),
        (["colour=red"], "rules.err.word"),
        (["live=sometimes"], "rules.err.word"),
        (["days"], "rules.err.word"),
    ],
)
def test_policy_changes_refused(words: list[str], key: str) -> None:
    refused = apply_changes(DEFAULT_POLICY, words)
    assert isinstance(refused, Problem) and refused.key == key


@pytest.mark.parametrize(
    ("moment", "window"),
    [
        (time(5, 59, 59), None),
        (time(6, 0), "morning"),
        (time(8, 59, 59), "morning"),
        (time(9, 0), None),
        (time(17, 0), "evening"),
        (time(20, 0), "night"),
        (time(23, 59, 59), "night"),
        (time(0, 1), None),
    ],
)
def test_window_edges(moment: time, window: str | None) -> None:
    found = DEFAULT_POLICY.window_at(moment)
    assert (found.name if found else None) == window


# ---------------------------------------------------------------------- judging a location
SITE = Site(1, 1, "Village office", 25.5, 103.2, 300)
# 07:02 in Asia/Shanghai: inside the morning window.
SENT = datetime(2026, 11, 23, 23, 2, tzinfo=UTC) - timedelta(days=1)
TZ = "Asia/Shanghai"
NEAR = (25.5009, 103.2)  # about 100 m north of the office
FAR = (25.52, 103.2)  # about 2.2 km north


def _fix(**changes: object) -> Fix:
    values: dict[str, object] = {
        "latitude": NEAR[0],
        "longitude": NEAR[1],
        "accuracy_m": 15.0,
        "live": True,
        "sent_at": SENT,
    }
    values.update(changes)
    return Fix(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fix", "policy", "received", "outcome", "reason"),
    [
        (_fix(), DEFAULT_POLICY, SENT, "checkin", None),
        (_fix(forwarded=True), DEFAULT_POLICY, SENT, "refused", "forwarded"),
        (_fix(venue=True, live=False), DEFAULT_POLICY, SENT, "refused", "venue"),
        (_fix(), DEFAULT_POLICY, SENT + timedelta(minutes=3), "refused", "stale"),
        (_fix(), DEFAULT_POLICY, SENT + timedelta(seconds=119), "checkin", None),
        (_fix(accuracy_m=250.0), DEFAULT_POLICY, SENT, "refused", "accuracy"),
        (_fix(accuracy_m=None), DEFAULT_POLICY, SENT, "checkin", None),
        (_fix(latitude=FAR[0]), DEFAULT_POLICY, SENT, "refused", "outside"),
        (_fix(live=False), Policy(live="required"), SENT, "refused", "static"),
        (_fix(live=False), DEFAULT_POLICY, SENT, "checkin", None),
        (
            _fix(sent_at=SENT + timedelta(hours=3)),
            DEFAULT_POLICY,
            SENT + timedelta(hours=3),
            "presence",
            None,
        ),
    ],
)
def test_judge(
    fix: Fix, policy: Policy, received: datetime, outcome: str, reason: str | None
) -> None:
    verdict = judge(fix, [SITE], policy, TZ, received, False)
    assert (verdict.outcome, verdict.reason) == (outcome, reason)


def test_judge_reports_the_window_site_and_distance() -> None:
    verdict = judge(_fix(), [SITE], DEFAULT_POLICY, TZ, SENT, False)
    assert verdict.window == "morning"
    assert verdict.site == SITE
    assert verdict.distance_m == pytest.approx(99.7, abs=0.5)
    assert (verdict.local_date, verdict.local_time) == (date(2026, 11, 23), time(7, 2))
    far = judge(_fix(latitude=FAR[0]), [SITE], DEFAULT_POLICY, TZ, SENT, False)
    assert far.distance_m == pytest.approx(2215, abs=5)


def test_static_pin_is_flagged_and_a_missing_accuracy_said() -> None:
    pin = judge(_fix(live=False, accuracy_m=None), [SITE], DEFAULT_POLICY, TZ, SENT, False)
    assert pin.flags == ("static", "no_accuracy")
    shared = judge(_fix(live=False), [SITE], DEFAULT_POLICY, TZ, SENT, False)
    assert shared.flags == ("static",)


def test_a_message_that_waited_while_the_bot_was_down_is_judged_by_its_own_time() -> None:
    # Sent at 07:02 while no run was fetching; the bot came back at 12:00 and saw it then:
    # still the morning check-in. The same delay while the bot was fetching is stale.
    back = SENT + timedelta(hours=5)
    verdict = judge(_fix(), [SITE], DEFAULT_POLICY, TZ, back, True)
    assert (verdict.outcome, verdict.window) == ("checkin", "morning")
    assert judge(_fix(), [SITE], DEFAULT_POLICY, TZ, back, False).reason == "stale"
    # A backlog older than the county's bound (12 h by default) is stale however it waited.
    late = SENT + timedelta(hours=12, minutes=1)
    assert judge(_fix(), [SITE], DEFAULT_POLICY, TZ, late, True).reason == "stale"
    day = replace(DEFAULT_POLICY, backlog_hours=24)
    assert judge(_fix(), [SITE], day, TZ, late, True).outcome == "checkin"


def test_no_site_and_nearest_of_several() -> None:
    assert judge(_fix(), [], DEFAULT_POLICY, TZ, SENT, False).reason == "no_site"
    school = Site(2, 1, "School", FAR[0], FAR[1], 100)
    verdict = judge(_fix(latitude=FAR[0] - 0.0005), [SITE, school], DEFAULT_POLICY, TZ, SENT, False)
    assert verdict.site == school and verdict.outcome == "checkin"


@pytest.mark.parametrize(
    ("utc", "local_date", "window"),
    [
        (datetime(2026, 11, 23, 15, 59, tzinfo=UTC), date(2026, 11, 23), "night"),  # 23:59
        (datetime(2026, 11, 23, 16, 1, tzinfo=UTC), date(2026, 11, 24), None),  # 00:01
    ],
)
def test_midnight_belongs_to_the_local_day(utc: datetime, local_date: date, window: str) -> None:
    verdict = judge(_fix(sent_at=utc), [SITE], DEFAULT_POLICY, TZ, utc, False)
    assert (verdict.local_date, verdict.window) == (local_date, window)


# ---------------------------------------------------------------------- days and the month
TODAY = date(2026, 11, 20)


@pytest.mark.parametrize(
    ("day", "now", "checked", "policy", "leave", "status"),
    [
        (date(2026, 11, 19), time(10), {"morning"}, DEFAULT_POLICY, False, "present"),
        (date(2026, 11, 19), time(10), {"night"}, DEFAULT_POLICY, False, "absent"),
        (date(2026, 11, 19), time(10), set(), DEFAULT_POLICY, True, "leave"),
        (date(2026, 11, 19), time(10), {"morning"}, Policy(day_rule="all"), False, "absent"),
        (
            date(2026, 11, 19),
            time(10),
            {"morning", "evening"},
            Policy(day_rule="all"),
            False,
            "present",
        ),
        (TODAY, time(10), set(), DEFAULT_POLICY, False, "pending"),
        (TODAY, time(20, 30), set(), DEFAULT_POLICY, False, "absent"),
        (date(2026, 11, 21), time(10), set(), DEFAULT_POLICY, False, "future"),
    ],
)
def test_classify_day(
    day: date, now: time, checked: set[str], policy: Policy, leave: bool, status: str
) -> None:
    assert classify_day(day, TODAY, now, checked, policy, on_leave=leave) == status  # type: ignore[arg-type]


def test_month_figures_on_a_made_up_month() -> None:
    """November 2026 (30 days), Huaihua's rule: 22 days of which 15 nights. By the 20th at
    10:00 the member was present on 14 days (9 of them with a night), on leave the 10th and
    11th, absent on 4 days, and has not checked in yet today."""
    policy = Policy(days=22, nights=15)
    present = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16]
    nights = [1, 2, 3, 4, 5, 6, 7, 8, 9]
    checked: dict[date, set[str]] = {}
    for d in present:
        checked[date(2026, 11, d)] = {"morning", "evening"}
    for d in nights:
        checked[date(2026, 11, d)].add("night")
    leave = {date(2026, 11, 10), date(2026, 11, 11)}
    figures = month_figures(TODAY, time(10), checked, policy, leave_days=leave)  # type: ignore[arg-type]
    assert (figures.present, figures.nights, figures.leave, figures.absent) == (14, 9, 2, 3)
    # absent: 17, 18, 19 (today, the 20th, is pending); remaining: 20..30 = 11 days
    assert figures.remaining == 11
    assert (figures.quota_days, figures.quota_nights) == (22, 15)
    assert (figures.need_days, figures.need_nights) == (8, 6)
    # 14 of 17 decided days kept: 14 + 14/17 * 11 = 23.1 ≥ 22, but nights 9 + 9/17*11 = 14.8 < 15
    assert figures.pace == "at_risk"


def test_month_pace_met_on_track_and_behind() -> None:
    every_day = {date(2026, 11, d): {"morning"} for d in range(1, 20)}
    met = month_figures(TODAY, time(10), every_day, Policy(days=19))  # type: ignore[arg-type]
    assert met.pace == "met"
    on_track = month_figures(TODAY, time(10), every_day, DEFAULT_POLICY)  # type: ignore[arg-type]
    assert (on_track.pace, on_track.need_days) == ("on_track", 1)
    few = {date(2026, 11, d): {"morning"} for d in range(1, 5)}
    behind = month_figures(TODAY, time(10), few, DEFAULT_POLICY)  # type: ignore[arg-type]
    assert (behind.pace, behind.need_days, behind.remaining) == ("behind", 16, 11)


def test_quota_is_prorated_for_a_member_who_joined_mid_month() -> None:
    assert prorated(20, date(2026, 11, 16), date(2026, 11, 30)) == 10
    assert prorated(22, date(2026, 11, 1), date(2026, 11, 30)) == 22
    figures = month_figures(TODAY, time(10), {}, DEFAULT_POLICY, joined=date(2026, 11, 16))
    assert (figures.first, figures.quota_days, figures.absent) == (date(2026, 11, 16), 10, 4)


# ---------------------------------------------------------------------- pacing
def test_group_limit_is_a_strict_sliding_window() -> None:
    sends = [float(i) for i in range(20)]  # 20 sends in the first 20 seconds
    assert next_send_at(sends, 20.0, GROUP_LIMIT) == pytest.approx(0.0 + GROUP_LIMIT.window)
    assert next_send_at(sends[:19], 20.0, GROUP_LIMIT) == 20.0
    assert next_send_at(sends, 100.0, GROUP_LIMIT) == 100.0


def test_answers_burst_then_spread() -> None:
    assert next_send_at([0.0] * 4, 0.5, GROUP_ANSWERS) == 0.5
    spread = next_send_at([0.0] * 5, 0.5, GROUP_ANSWERS)
    assert spread == pytest.approx(GROUP_ANSWERS.spacing)
    assert next_send_at([0.0, 1.0], 1.0, Limit(2, 10.0)) == 10.0


def test_import_converts_sites_given_in_a_chinese_map_datum() -> None:
    from rules.orgcsv import parse_org_csv

    header = "county,township,team_code,village,tz,site_name,latitude,longitude,radius_m,datum\n"
    gcj = WGS_GCJ[2][1]
    text = header + (
        f"Huize,Dahai,HZ-001,Shangba,,Office,{gcj[0]},{gcj[1]},,gcj02\n"
        "Huize,Dahai,HZ-001,Shangba,,School,25.51,103.21,150,\n"
        "Huize,Dahai,HZ-002,Xiaba,,Office,25.6,103.3,,google\n"
    )
    teams, problems = parse_org_csv(text, "Asia/Shanghai")
    [office, school] = teams[0].sites
    assert (office.latitude, office.longitude) == pytest.approx(WGS_GCJ[2][0], abs=1e-6)
    assert (school.latitude, school.longitude) == (25.51, 103.21)
    [bad] = problems
    assert (bad.line, bad.problem.key) == (4, "import.err.datum")
