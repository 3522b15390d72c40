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
