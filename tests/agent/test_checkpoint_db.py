"""The checkpoint connection survives a stopped run: its worker thread never answers into a
closed event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent import checkpoint_db


@pytest.fixture
def thread_errors() -> Iterator[list[BaseException | None]]:
    """Exceptions raised on any thread while the test runs (threading.excepthook)."""
    seen: list[BaseException | None] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: seen.append(args.exc_value)
    try:
        yield seen
    finally:
        threading.excepthook = previous


def _run_and_join_threads(main: Coroutine[Any, Any, None]) -> None:
    before = set(threading.enumerate())
    asyncio.run(main)
    for thread in set(threading.enumerate()) - before:
        thread.join(timeout=10)
        assert not thread.is_alive(), f"{thread.name} outlived the event loop"


@pytest.mark.parametrize("cancel_after_steps", [0, 1, 2, 5])
def test_cancelled_cases_close_their_connection_before_the_loop_ends(
    tmp_path: Path, thread_errors: list[BaseException | None], cancel_after_steps: int
) -> None:
    path = tmp_path / "checkpoints.sqlite"
    checkpoint_db.create_tables(path)

    async def case() -> None:
        async with checkpoint_db.connected(path) as connection:
            async with connection.execute("SELECT count(*) FROM checkpoints") as cursor:
                await cursor.fetchone()
            await asyncio.sleep(60)  # a model call that the stop cuts short

    async def stopped_run() -> None:
        # several cases cancelled at once, at different points: opening, querying, waiting
        tasks = [asyncio.create_task(case()) for _ in range(8)]
        for _ in range(cancel_after_steps):
            await asyncio.sleep(0)
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(result, asyncio.CancelledError) for result in results)

    _run_and_join_threads(stopped_run())
    assert thread_errors == []
