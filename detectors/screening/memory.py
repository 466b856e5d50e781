"""Peak resident memory of this process and everything it started (Ray's workers included)."""

from __future__ import annotations

import threading
from types import TracebackType

import psutil


def tree_rss_bytes(root: psutil.Process) -> int:
    """Resident bytes of `root` and all its descendants (a process that exits is skipped)."""
    total = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total


class PeakMemory:
    """Samples the process tree's RSS every `interval` seconds while the block runs."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._root = psutil.Process()

    def _sample(self) -> None:
        while True:
            self.peak_bytes = max(self.peak_bytes, tree_rss_bytes(self._root))
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, tree_rss_bytes(self._root))

    @property
    def peak_mib(self) -> float:
        return self.peak_bytes / 2**20
