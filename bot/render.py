"""Digests' and exports' pictures and spreadsheets, made in a separate process.

Drawing and openpyxl are pure Python: in a thread of the bot's process they take the
interpreter's lock, and every SQLite statement of a check-in (which lets the lock go while it
runs) then waits up to a switch interval to get it back. During a Monday's fan-out that made a
check-in's p99 7× its usual (``bench/fanout.py``). In their own process they run on another
core and hold up nothing; what they get and give back (records, figures, bytes) is plain data.
A scheduled digest's figures are computed there as well: three quarters of a township's
digest was the figures' arithmetic, done while the store's lock was held.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from typing import TypeVar

from reports import parts, sheet
from reports.parts import Part
from services.assessment import AssessmentView
from services.digest import DigestRecords, Export, compute_digest

T = TypeVar("T")

_pool: ProcessPoolExecutor | None = None


def _workers() -> int:
    # One core stays the bot's; more cores draw more at once.
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def _outlive_nobody(parent: int) -> None:
    """In a drawing process: exit when the bot's process is gone. Killed (SIGKILL, a crash) it
    cannot say so, and a pool's worker would otherwise wait for work for ever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="render:parent", daemon=True).start()


def _executor() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        # spawn, not fork: the bot's process has threads and an event loop a fork would copy.
        context = multiprocessing.get_context("spawn")
        _pool = ProcessPoolExecutor(
            max_workers=_workers(),
            mp_context=context,
            initializer=_outlive_nobody,
            initargs=(os.getpid(),),
        )
    return _pool


async def _run(fn: Callable[..., T], *args: object) -> T:
    return await asyncio.get_running_loop().run_in_executor(_executor(), fn, *args)


def _records_parts(lang: str, records: DigestRecords, late_since: datetime | None) -> list[Part]:
    return parts.digest_parts(lang, compute_digest(records), late_since)


async def digest_parts(
    lang: str, records: DigestRecords, late_since: datetime | None = None
) -> list[Part]:
    """A digest, scheduled or asked for: its figures are computed in the drawing process
    too, so the store's lock was held only while its rows were read."""
    return await _run(_records_parts, lang, records, late_since)


async def export_parts(lang: str, export: Export) -> list[Part]:
    return await _run(parts.export_parts, lang, export)


async def assessment_xlsx(lang: str, view: AssessmentView) -> bytes:
    """An area's assessment spreadsheet (a county's holds a row per member)."""
    return await _run(sheet.assessment_xlsx, lang, view)


def shutdown() -> None:
    """Stop the drawing processes (the next drawing starts them again)."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None
