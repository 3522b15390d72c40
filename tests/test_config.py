"""Settings from the environment and an optional TOML file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import DEFAULT_API_URL, ConfigError, Secret, Settings, load_settings


def test_defaults() -> None:
    settings = load_settings({})
    assert settings == Settings()
    assert settings.database == "cunbot.db"
    assert settings.api_url == DEFAULT_API_URL
    assert (settings.tz, settings.lang) == ("Asia/Shanghai", "zh")
    with pytest.raises(ConfigError, match="CUNBOT_TOKEN is not set"):
        settings.require_token()


def test_environment_wins_over_file(tmp_path: Path) -> None:
    config = tmp_path / "cunbot.toml"
    config.write_text('token = "1:file"\ndatabase = "/data/a.db"\nlang = "en"\n')
    settings = load_settings(
        {"CUNBOT_TOKEN": "2:env", "CUNBOT_API_URL": "http://127.0.0.1:8081/bot/"}, config
    )
    assert settings.require_token() == "2:env"
    assert settings.database == "/data/a.db"
    assert settings.lang == "en"
    # A trailing /bot or slash is forgiven: the URL is the server's root.
    assert settings.api_url == "http://127.0.0.1:8081"
    assert settings.bot_api_base == "http://127.0.0.1:8081/bot"


def test_token_never_shows() -> None:
    settings = load_settings({"CUNBOT_TOKEN": "123:very-secret"})
    assert "very-secret" not in repr(settings)
    assert "very-secret" not in str(Secret("very-secret"))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CUNBOT_LANG": "fr"}, "CUNBOT_LANG"),
        ({"CUNBOT_TZ": "Mars/Olympus"}, "CUNBOT_TZ"),
        ({"CUNBOT_API_URL": "127.0.0.1:8081"}, "CUNBOT_API_URL"),
        ({"CUNBOT_POLL_TIMEOUT": "soon"}, "CUNBOT_POLL_TIMEOUT"),
    ],
)
def test_bad_settings_say_which(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings({}, tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("token = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings({}, broken)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('tokn = "1:x"\n')
    with pytest.raises(ConfigError, match="unknown keys tokn"):
        load_settings({}, unknown)
