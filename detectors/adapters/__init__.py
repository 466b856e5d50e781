"""Adapters that read the real public data sets (`../shared/data/real/`) as canonical events."""

from __future__ import annotations

from pathlib import Path

from detectors.adapters.deeplog import DEEPLOG
from detectors.adapters.diginetica import DIGINETICA
from detectors.adapters.fraud_data import FRAUD_DATA
from detectors.adapters.rees46 import REES46
from detectors.adapters.rows import Adapter
from detectors.adapters.talkingdata import TALKINGDATA
from detectors.adapters.taobao import TAOBAO
from detectors.loading import LoadReport

REAL_DATA_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"
"""Where the real data sets live, beside the project (see that folder's README.md)."""

ADAPTERS: dict[str, Adapter] = {
    "taobao": TAOBAO,
    "rees46": REES46,
    "talkingdata": TALKINGDATA,
    "fraud_data": FRAUD_DATA,
    "diginetica": DIGINETICA,
    "deeplog": DEEPLOG,
}

FORMAT_NAMES: tuple[str, ...] = ("jsonl", "cases", *ADAPTERS)
"""Every `--format` a command that reads events accepts."""

LABELLED_FORMATS: tuple[str, ...] = tuple(
    name for name, adapter in ADAPTERS.items() if adapter.read_labels is not None
)


def real_data_path(fmt: str) -> Path:
    """The real data set file an adapter reads, in the shared real-data folder."""
    return REAL_DATA_DIR / ADAPTERS[fmt].file


def read_labels(path: str | Path, fmt: str) -> dict[str, int]:
    """Per-user labels (1 = fraud) of a labelled real data set, for the rows that load as events.

    `fraud_data`: the `class` column. `talkingdata`: per ip, 1 when it never converted — a
    click-fraud proxy, not a ground truth."""
    adapter = ADAPTERS.get(fmt)
    if adapter is None or adapter.read_labels is None:
        raise ValueError(f"format {fmt!r} has no labels; labelled formats: {LABELLED_FORMATS}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"label file not found: {path}")
    rows = (row for row, _events in adapter.kept_rows(path, LoadReport(str(path))))
    return adapter.read_labels(rows)
