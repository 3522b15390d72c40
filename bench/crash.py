"""Crashes, run by hand: python -m bench.crash [RUNS] [BURST]

Each run starts ``cunbot run`` as a real process over the offline server, sends a burst of
work logs, check-ins and leave requests (then presses of the requests' cancel buttons), and
kills the process with SIGKILL at a random moment of a random kind (a batch just served, a
batch being confirmed, an answer on the wire, any time), starts it again, and counts:

    sent / stored once / lost / duplicated / answered twice / unanswered (uncertain)

"Unanswered" may only be answers that were on the wire at a kill, which the outbox counts as
uncertain and never sends again. The scenario is the one ``tests/test_crash.py`` runs.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
from pathlib import Path

from tests.botapi_server import BotApiServer
from tests.crashrun import MOMENTS, CrashRun, Tally


async def one_run(seed: int, burst: int) -> tuple[str, Tally]:
    chooser = random.Random(seed)
    moment = chooser.choice(MOMENTS)
    server = BotApiServer()
    await server.start()
    with tempfile.TemporaryDirectory() as workdir:
        run = CrashRun(server, Path(workdir), seed=seed)
        try:
            await run.set_up()
            run.arm(moment, after=chooser.randint(1, 3))
            await run.burst(burst)
            await run.dead(within=60)
            run.disarm()
            await run.start()
            await run.settle(timeout=180)
            run.arm(moment, after=1)
            await run.press_cancels()
            await run.dead(within=60)
            run.disarm()
            await run.start()
            await run.settle(timeout=180)
            return moment, await run.tally()
        finally:
            run.disarm()
            run.kill()
            if run.process is not None:
                await run.process.wait()
            await server.stop()


async def main(runs: int, burst: int) -> None:
    total = Tally()
    for seed in range(1, runs + 1):
        moment, tally = await one_run(seed, burst)
        print(f"run {seed:>3} ({moment:<10}) {tally.line()}", flush=True)
        for name in vars(total):
            setattr(total, name, getattr(total, name) + getattr(tally, name))
    print(f"all {runs} runs: {total.line()}")


if __name__ == "__main__":
    asyncio.run(
        main(
            int(sys.argv[1]) if len(sys.argv) > 1 else 10,
            int(sys.argv[2]) if len(sys.argv) > 2 else 40,
        )
    )
