"""Draws ``docs/digest-township.png``, the README's example: a township's week as the bot
sends it to its coordinator, from made-up members through the real rules and chart.

    .venv/bin/python docs/example_picture.py
"""

from __future__ import annotations

import random
from datetime import date, time, timedelta
from pathlib import Path

from reports import parts
from rules.digest import MemberRecord, Period
from rules.policy import DEFAULT_POLICY, WindowName
from services.digest import DigestRecords, compute_digest
from storage.models import Team

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "堃")
VILLAGES = ("上坝", "下坝", "大河", "石门", "龙潭", "白沙", "红岩", "青山", "柳树", "高桥")
WEEK = date(2026, 11, 16)


def main() -> None:
    rnd = random.Random(47)
    month = [date(2026, 11, d) for d in range(1, 23)]
    teams, records = [], {}
    person = 0
    for number, village in enumerate(VILLAGES, start=1):
        team = Team(
            number,
            village,
            "Asia/Shanghai",
            f"HZ-{number:03d}",
            -100 - number,
            1,
            "大海镇",
            1,
            "会泽县",
        )
        teams.append(team)
        records[number] = []
        for _ in range(rnd.choice((2, 3, 3, 4))):
            person += 1
            steady = rnd.random() < 0.85
            checked: dict[date, tuple[WindowName, ...]] = {}
            leave = set()
            for day in month:
                if rnd.random() < (0.995 if steady else 0.8):
                    checked[day] = ("morning", "evening", "night")[: rnd.choice((2, 3))]
                elif rnd.random() < 0.5:
                    leave.add(day)
            name = rnd.choice(SURNAMES) + rnd.choice(GIVEN)
            records[number].append(MemberRecord(person, name, None, checked, leave_days=leave))
    last = WEEK + timedelta(days=6)
    digest = compute_digest(
        DigestRecords(
            "township",
            "大海镇",
            Period("weekly", WEEK, last),
            last + timedelta(days=1),
            time(8, 5),
            tuple(teams),
            records,
            {t.id: DEFAULT_POLICY for t in teams},
            frozenset(),
        )
    )
    photo = parts.digest_parts("zh", digest)[1].photo
    assert photo is not None
    (Path(__file__).parent / "digest-township.png").write_bytes(photo)


if __name__ == "__main__":
    main()
