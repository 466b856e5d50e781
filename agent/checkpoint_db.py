"""The investigations' checkpoint database: one SQLite file shared by concurrent cases."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import aiosqlite
from langgraph.checkpoint.sqlite import SqliteSaver

BUSY_TIMEOUT_S = 30.0
"""How long a checkpoint write waits for another investigation's write to finish."""

T = TypeVar("T")


def create_tables(path: Path) -> None:
    """Once, before any concurrent use: two connections running the saver's first-use setup
    (which switches the file to WAL) at the same moment fail with "database is locked"."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
    try:
        SqliteSaver(connection).setup()
    finally:
        connection.close()


@asynccontextmanager
async def connected(path: Path) -> AsyncIterator[aiosqlite.Connection]:
    """An aiosqlite connection whose opening and closing run to their end even when the task
    is cancelled meanwhile (a stopped run cancels every case at once). aiosqlite works on a
    thread of its own that answers into the event loop: left running, it answers into a loop
    that has closed and dies with "Event loop is closed"."""
    connection = aiosqlite.connect(str(path), timeout=BUSY_TIMEOUT_S)
    try:
        await _to_the_end(connection)
        yield connection
    finally:
        await _to_the_end(connection.close())


async def _to_the_end(awaitable: Awaitable[T]) -> T:
    """`await awaitable`, which finishes even if this task is cancelled meanwhile; the
    cancellation is raised once it has."""
    task = asyncio.ensure_future(awaitable)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait({task})
        raise
