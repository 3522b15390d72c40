"""Which language a reply is in."""

from __future__ import annotations

LANGS = ("zh", "en")


def normalise(code: str | None) -> str | None:
    """``zh-hans``, ``zh-CN``, ``en-GB`` … to one of ours, or None."""
    if not code:
        return None
    base = code.lower().replace("_", "-").split("-")[0]
    return base if base in LANGS else None


def pick_lang(
    chat_lang: str | None, user_language: str | None, default: str, *, private: bool
) -> str:
    """The chat's choice first. A private chat with no choice follows the person's Telegram
    language; a group follows the deployment's default, so one member's phone setting does
    not switch the language the whole group reads."""
    chosen = normalise(chat_lang)
    if chosen:
        return chosen
    if private:
        return normalise(user_language) or default
    return default
