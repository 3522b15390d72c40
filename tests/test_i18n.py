"""Every text exists in every language with the same placeholders, and every key the code
names exists."""

from __future__ import annotations

import re
from pathlib import Path

from bot.i18n import catalogue, placeholders, t
from rules.lang import LANGS

ROOT = Path(__file__).resolve().parent.parent
CODE = ["bot", "handlers", "rules", "services"]
# A literal catalogue key in code: t(lang, "a.b"), reply(..., "a.b"), Problem("a.b").
KEY_USE = re.compile(
    r'(?:\bt\(\s*\w+,\s*|reply\(\s*update,\s*context,\s*|Problem\(\s*)"([a-z_]+(?:\.[a-z_]+)+)"'
)


def test_same_keys_in_every_language() -> None:
    keys = {lang: set(catalogue(lang)) for lang in LANGS}
    assert keys["zh"] == keys["en"], keys["zh"] ^ keys["en"]


def test_same_placeholders_in_every_language() -> None:
    mismatched = [
        key
        for key, english in catalogue("en").items()
        if placeholders(english) != placeholders(catalogue("zh")[key])
    ]
    assert mismatched == []


def test_every_key_the_code_names_exists() -> None:
    used = {
        match
        for folder in CODE
        for path in (ROOT / folder).rglob("*.py")
        for match in KEY_USE.findall(path.read_text("utf-8"))
    }
    assert len(used) > 40  # the scan finds the code's keys, it is not vacuous
    missing = sorted(key for key in used if key not in catalogue("en"))
    assert missing == []


def test_texts_render() -> None:
    assert t("zh", "join.joined", name="王", village="上坝") == "欢迎 王：您已加入 上坝 工作队。"
    assert t("en", "join.joined", name="Wang", village="Shangba").startswith("Welcome, Wang")


def test_every_key_built_from_a_name_exists() -> None:
    """Keys the code builds at run time (f"checkin.refused.{reason}") are not found by the
    scan above, so each family is listed from the rules' own names."""
    from typing import get_args

    from bot.app import MENU_COMMANDS
    from rules.checkin import Reason
    from rules.datum import DATUMS
    from rules.days import Pace
    from rules.leave import LEAVE_KINDS, LEVELS, LeaveState
    from rules.logs import VERDICTS
    from rules.policy import WINDOW_NAMES, DayRule, LiveRule, OfficialRule

    built = (
        [f"checkin.refused.{reason}" for reason in get_args(Reason)]
        + [f"window.{name}" for name in WINDOW_NAMES]
        + [f"me.pace.{pace}" for pace in get_args(Pace)]
        + [f"rules.live.{rule}" for rule in get_args(LiveRule)]
        + [f"rules.day_rule.{rule}" for rule in get_args(DayRule)]
        + [f"site.converted.{d}" for d in DATUMS if d != "wgs84"]
        + ["checkin.flag.static", "checkin.flag.no_accuracy"]
        + [f"rules.official.{rule}" for rule in get_args(OfficialRule)]
        + [f"leave.kind.{kind}" for kind in LEAVE_KINDS]
        + [f"leave.level.{level}" for level in LEVELS]
        + [f"leave.err.not_approver.{level}" for level in LEVELS]
        + [f"leaves.state.{state}" for state in (*get_args(LeaveState), "overdue", "returned")]
        + [f"leave.err.already_{state}" for state in get_args(LeaveState) if state != "pending"]
        + [f"leave.notice_{o}" for o in ("approved", "rejected", "cancelled")]
        + ["me.leave_pending", "me.leave_approved"]
        + [f"audit.{family}.{v}" for family in ("label", "marked", "word") for v in VERDICTS]
        + [f"audit.verdict.{v}" for v in (*VERDICTS, "none")]
        + [f"{kind}.{command}" for kind in ("cmd", "help") for command in MENU_COMMANDS]
    )
    assert [key for key in built if key not in catalogue("en")] == []


def test_words_agree_with_their_numbers() -> None:
    """English picks a word's form by Babel's CLDR plural rules; Chinese has one form."""
    assert t("en", "digest.overview", teams=1, members=3, attention=1) == (
        "1 team, 3 members; 1 team needs attention."
    )
    assert t("en", "digest.overview", teams=2, members=1, attention=0) == (
        "2 teams, 1 member; 0 teams need attention."
    )
    assert t("en", "remind.days", days=1) == "1 day"
    assert t("zh", "digest.overview", teams=1, members=3, attention=1).startswith("1 个工作队")
    # No text hedges with "(s)" any more.
    assert [k for k, v in catalogue("en").items() if "(s)" in v] == []


# Another word for a role than the glossary's (in each catalogue's header), or 你 for 您.
OTHER_TERMS = {
    "zh": re.compile(r"乡镇协调员|乡镇联络人|县管理员|逆向检查|(?<!乡镇)联络员|你"),
    "en": re.compile(r"administrator|liaison|township contact|county administrator", re.I),
}


def test_one_term_per_role_and_one_way_to_address_the_reader() -> None:
    for lang, other in OTHER_TERMS.items():
        found = {k: v for k, v in catalogue(lang).items() if other.search(v)}
        assert found == {}, lang
