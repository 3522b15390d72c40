"""The ``cunbot`` command as an operator uses it, each call in its own process."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from bot.config import Settings
from storage.sqlite import SqliteStore
from tests.botapi_server import BotApiServer
from tests.conftest import GOOD, GROUP, HEADER, LEADER, MEMBER, BotHarness, FakeClock, run_cli


async def _teams(settings: Settings, clock: FakeClock) -> list[str]:
    store = await SqliteStore.open(settings.database, clock())
    try:
        async with store.transaction() as tx:
            return [
                code
                for code in ("HZ-001", "HZ-002", "HZ-003")
                if await tx.get_team_by_code(code) is not None
            ]
    finally:
        await store.close()


async def test_help_and_missing_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUNBOT_")}
    # --help speaks CUNBOT_LANG, and the bot's default language (Chinese) without it.
    for lang, words in (
        ("en", ("run the bot (long polling)", "print a one-time link")),
        ("zh", ("运行机器人（长轮询）", "生成一次性链接")),
        (None, ("运行机器人（长轮询）",)),
    ):
        extra = {"CUNBOT_LANG": lang} if lang else {}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--help", env={**env, **extra},
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await process.communicate()
        assert process.returncode == 0
        text = out.decode()
        assert all(w in text for w in ("run", "invite", "import", "CUNBOT_TOKEN", *words)), lang
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env={**env, "CUNBOT_DATABASE": str(tmp_path / "x.db")},
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    assert process.returncode == 2
    assert "CUNBOT_TOKEN is not set" in err.decode()


def _file(path: str) -> bytes | None:
    """The database file's bytes, or None if there is no file."""
    found = Path(path)
    return found.read_bytes() if found.exists() else None


async def test_import_creates_the_organisation_once(
    settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    csv = tmp_path / "org.csv"
    csv.write_text(GOOD, encoding="utf-8-sig")  # as Excel saves it
    code, out, err = await run_cli(settings, "import", str(csv), "--dry-run")
    assert code == 0, err
    assert "would import 1 county, 2 townships, 2 teams, 3 sites" in out
    # A dry run writes nothing at all: no database made, no migration applied or told.
    assert _file(settings.database) is None
    assert "migration" not in err
    assert await _teams(settings, clock) == []
    code, out, _ = await run_cli(settings, "import", str(csv))
    assert code == 0
    assert "Imported: 1 county, 2 townships, 2 teams, 3 sites (0 teams already there)" in out
    code, out, _ = await run_cli(settings, "import", str(csv))
    assert "Imported: 0 counties, 0 townships, 0 teams, 0 sites (2 teams already there)" in out
    assert await _teams(settings, clock) == ["HZ-001", "HZ-002"]
    # Against a database that exists, a dry run checks its copy: the file is not touched.
    before = _file(settings.database)
    code, out, _ = await run_cli(settings, "import", str(csv), "--dry-run")
    assert code == 0 and "(2 teams already there)" in out
    assert _file(settings.database) == before


async def test_a_bad_file_imports_nothing_and_names_its_lines(
    settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    csv = tmp_path / "org.csv"
    csv.write_text(
        GOOD + "Huize,Dahai,HZ-003,Zhongba,,Office,25.5,,\n"
        "Huize,Dahai,HZ-004,Qianba,,Office,25.5,103.2,10\n"
    )
    code, _, err = await run_cli(settings, "import", str(csv))
    assert code == 1
    assert "Nothing was imported: 2 problems" in err
    assert "line 5: a site needs site_name, latitude and longitude together" in err
    assert "line 6: A radius of 10.0 m is too small" in err
    assert await _teams(settings, clock) == []
    code, _, err = await run_cli(settings, "import", str(tmp_path / "missing.csv"))
    assert code == 2 and "Cannot read" in err


async def test_a_conflict_with_the_database_imports_nothing(
    settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    csv = tmp_path / "org.csv"
    csv.write_text(GOOD)
    assert (await run_cli(settings, "import", str(csv)))[0] == 0
    moved = tmp_path / "moved.csv"
    moved.write_text(HEADER + "Huize,Dahai,HZ-003,Zhongba,,,,,\nHuize,Dahai,HZ-001,Renamed,,,,,\n")
    code, _, err = await run_cli(settings, "import", str(moved))
    assert code == 1
    assert "line 3: team code HZ-001 already belongs to the team of Shangba" in err
    assert await _teams(settings, clock) == ["HZ-001", "HZ-002"]  # HZ-003 rolled back


async def test_a_city_sized_import(settings: Settings, clock: FakeClock, tmp_path: Path) -> None:
    rows = [
        f"City,T{n // 20},C-{n:04d},Village {n},,Office,25.{n:04d},103.2,\n" for n in range(2290)
    ]
    csv = tmp_path / "city.csv"
    csv.write_text(HEADER + "".join(rows))
    code, out, err = await run_cli(settings, "import", str(csv))
    assert code == 0, err
    assert "1 county, 115 townships, 2290 teams, 2290 sites" in out


async def test_imported_team_is_bound_by_code(
    bot: BotHarness, server: BotApiServer, tmp_path: Path
) -> None:
    csv = tmp_path / "org.csv"
    csv.write_text(GOOD)
    assert (await run_cli(bot.settings, "import", str(csv)))[0] == 0
    reply = await bot.say(GROUP, MEMBER, "/setup HZ-001")
    assert "Only a group admin or a county admin" in (reply.text or "")
    reply = await bot.say(GROUP, LEADER, "/setup hz-001")
    assert "This group is now the team of Shangba (HZ-001). You are its leader." in (
        reply.text or ""
    )
    view = (await bot.say(GROUP, MEMBER, "/team")).content or ""
    assert "Dahai township, Huize county" in view
    assert "• School: 25.510000, 103.210000 (radius 150 m)" in view
    other = -100888
    server.add_group(other, "Another", members={LEADER: "creator"})
    assert (
        "already bound to another group" in (await bot.say(other, LEADER, "/setup HZ-001")).content
    )
    assert (
        "team HZ-002 needs a group of its own"
        in (await bot.say(GROUP, LEADER, "/setup HZ-002")).content
    )


async def test_cunbot_run_serves_and_stops_on_sigterm(
    server: BotApiServer, settings: Settings
) -> None:
    server.add_user(LEADER, "Li")
    server.add_group(GROUP, "Team", members={LEADER: "creator"})
    env = {
        **os.environ,
        "CUNBOT_TOKEN": server.token,
        "CUNBOT_API_URL": server.url,
        "CUNBOT_DATABASE": settings.database,
        "CUNBOT_LANG": "en",
        "CUNBOT_POLL_TIMEOUT": "1",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        # Sent before the bot is up: handled once it polls, like any update from downtime.
        await server.send_text(GROUP, LEADER, "/setup Shangba")
        reply = await server.wait_for(lambda m: m.chat_id == GROUP, timeout=30)
        assert "Team of Shangba is set up" in reply.content
    finally:
        process.terminate()
        _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    assert server.token.split(":")[1] not in err.decode()  # the token never reaches the log
    assert "is running" in err.decode()


async def test_import_with_a_datum_column_is_idempotent(
    settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    csv = tmp_path / "org.csv"
    csv.write_text(
        "county,township,team_code,village,tz,site_name,latitude,longitude,radius_m,datum\n"
        "Huize,Dahai,HZ-001,Shangba,,Office,39.91334545536069,116.38404722455657,,高德\n"
    )
    assert (await run_cli(settings, "import", str(csv)))[0] == 0
    code, out, err = await run_cli(settings, "import", str(csv))
    assert code == 0, err
    assert "(1 team already there)" in out
    store = await SqliteStore.open(settings.database, clock())
    try:
        async with store.transaction() as tx:
            team = await tx.get_team_by_code("HZ-001")
            assert team is not None
            [site] = await tx.list_sites(team.id)
    finally:
        await store.close()
    assert (round(site.latitude, 6), round(site.longitude, 6)) == (39.911954, 116.377817)
