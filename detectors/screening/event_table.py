"""Events as Arrow columns: how both engines carry events from their input to the detector
without a Python object per event.

Validated events arrive as Arrow record batches (`input_files.keyed_event_batches`). The
local engine appends each shard's rows to an IPC stream per input file and reads a shard back
as one table; the Ray engine shuffles the same tables into blocks by key. Either way a `ShardTable`
groups the table into sequences with numpy (the same order and duplicate merge as
`group_sequences`) and hands the detector the columns it scores; `Event`s are built again only
for the users a screen writes with their events (the flagged)."""

from __future__ import annotations

import marshal
from collections.abc import Iterable
from itertools import pairwise
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa

from detectors.events import Event
from detectors.screening.event_rows import EVENT_FIELDS, shard_of
from detectors.sequences import Sequence
from detectors.tokenizer import CATEGORY_FIELDS, NUMBER_FIELDS, Categories, EventColumns

_TYPES = {
    "ts": pa.float64(),
    "amount": pa.float64(),
    "quantity": pa.int64(),
    "rating": pa.int64(),
    "attrs": pa.binary(),  # marshal of the dict; null when empty (nearly always)
}
SCHEMA = pa.schema(
    [
        ("key", pa.string()),  # what groups events into a sequence: the user, or the case
        ("case", pa.binary()),  # marshal of the case record, on its first event only
        *((name, _TYPES.get(name, pa.string())) for name in EVENT_FIELDS),
    ]
)
CONVERT_EVENTS = 2048
"""Events converted to Arrow at a time, in input order, where they come from Python values
(formats other than JSON Lines events)."""
WRITE_EVENTS = 8192
"""A shard's rows are appended to its file this many at a time (a record batch per shard per
input batch cost 0.5 CPU s per 125k events with 16 shards)."""


def events_batch(
    keys: list[str], cases: list[bytes | None], rows: list[tuple[Any, ...]]
) -> pa.RecordBatch:
    """Events (their `event_tuple`s) with their keys and case records, as a SCHEMA batch."""
    if not rows:
        return pa.RecordBatch.from_pylist([], schema=SCHEMA)
    columns: list[Any] = [keys, cases, *zip(*rows, strict=True)]
    columns[-1] = [marshal.dumps(attrs) if attrs else None for attrs in columns[-1]]
    types = SCHEMA.types
    arrays = [pa.array(values, kind) for values, kind in zip(columns, types, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=SCHEMA)


class PieceWriter:
    """One input file's piece of every shard: an Arrow IPC stream per shard. Each batch of
    events is split by the shard of its keys (rows in input order within a shard); a shard's
    rows are written WRITE_EVENTS at a time."""

    def __init__(self, paths: list[Path]) -> None:
        self._files: list[IO[bytes]] = [path.open("wb") for path in paths]
        self._writers = [pa.ipc.new_stream(file, SCHEMA) for file in self._files]
        self._pending: list[list[pa.RecordBatch]] = [[] for _ in paths]
        self._pending_rows = [0] * len(paths)

    def add(self, batch: pa.RecordBatch) -> None:
        """Events as a SCHEMA batch, each to the shard of its key (`shard_of`)."""
        shards = self._shards_of(batch.column("key"))
        order = np.argsort(shards, kind="stable")  # a shard's rows keep input order
        bounds = np.searchsorted(shards[order], np.arange(len(self._writers) + 1)).tolist()
        ordered = batch.take(pa.array(order))
        for shard, (start, stop) in enumerate(pairwise(bounds)):
            if stop > start:
                self._pending[shard].append(ordered.slice(start, stop - start))
                self._pending_rows[shard] += stop - start
                if self._pending_rows[shard] >= WRITE_EVENTS:
                    self._write(shard)

    def _shards_of(self, keys: pa.Array) -> np.ndarray:
        encoded = keys.dictionary_encode()
        count = len(self._writers)
        by_key = np.array([shard_of(key, count) for key in encoded.dictionary.to_pylist()])
        return by_key[encoded.indices.to_numpy()] if len(by_key) else np.zeros(0, np.int64)

    def _write(self, shard: int) -> None:
        self._writers[shard].write_batch(pa.concat_batches(self._pending[shard]))
        self._pending[shard].clear()
        self._pending_rows[shard] = 0

    def close(self) -> None:
        for shard, pending in enumerate(self._pending):
            if pending:
                self._write(shard)
        for writer, file in zip(self._writers, self._files, strict=True):
            writer.close()
            file.close()


def read_pieces(paths: Iterable[Path]) -> pa.Table:
    """The pieces of one shard as one table, in the order given; each piece file removed."""
    tables = []
    for path in paths:
        with pa.memory_map(str(path)) as source:
            tables.append(pa.ipc.open_stream(source).read_all())
        path.unlink()
    return pa.concat_tables(tables) if tables else SCHEMA.empty_table()


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """(N,) int64 codes (-1 where null) into the distinct values, in order of first appearance."""
    encoded = column.combine_chunks().dictionary_encode()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, encoded.dictionary.to_pylist()


def _floats(column: pa.ChunkedArray) -> np.ndarray:
    """(N,) float64; NaN where null."""
    return column.cast(pa.float64(), safe=False).to_numpy().astype(np.float64, copy=False)


class ShardTable:
    """One shard's events as sequences: keys in first-seen order, each sequence's events in
    time order (ties in input order), duplicates merged (same key, user, ts, action and item:
    the first kept), exactly as `group_sequences` and `order_events` do it."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        keys, self.keys = _codes(table["key"])
        ts = _floats(table["ts"])
        categories = {name: _codes(table[name]) for name in CATEGORY_FIELDS}
        users, _ = _codes(table["user_id"])
        kept = _first_of_each(keys, users, ts, categories["action"][0], categories["item_id"][0])
        self.rows = kept[np.lexsort((ts[kept], keys[kept]))]  # stable: ties keep input order
        """Rows of `table`, grouped by key in first-seen order, each group in time order."""
        self.offsets = np.zeros(len(self.keys) + 1, dtype=np.int64)
        np.cumsum(np.bincount(keys[kept], minlength=len(self.keys)), out=self.offsets[1:])
        self.numbers = {name: _floats(table[name])[self.rows] for name in NUMBER_FIELDS}
        self.categories = {
            name: Categories(codes[self.rows], values)
            for name, (codes, values) in categories.items()
        }
        self.first_rows = np.minimum.reduceat(self.rows, self.offsets[:-1]) if len(self) else kept
        """Each sequence's first row in input order: its case record and its user."""
        firsts = table.take(pa.array(self.first_rows))
        self.user_ids: list[str] = firsts["user_id"].to_pylist()
        self.cases: list[dict[str, Any]] | None = None
        """Each sequence's case record, when the shard holds the cases of a case file."""
        if table["case"].null_count < table.num_rows:
            self.cases = [marshal.loads(blob) for blob in firsts["case"].to_pylist()]

    def __len__(self) -> int:
        return len(self.keys)

    def batch(self, start: int, stop: int) -> ShardBatch:
        return ShardBatch(self, start, min(stop, len(self)))

    def columns(self, start: int, stop: int) -> EventColumns:
        """The columns of sequences `start:stop`."""
        first, last = self.offsets[start], self.offsets[stop]
        return EventColumns(
            self.offsets[start : stop + 1] - first,
            {name: values[first:last] for name, values in self.numbers.items()},
            {
                name: Categories(category.codes[first:last], category.values)
                for name, category in self.categories.items()
            },
        )

    def sequence(self, index: int) -> Sequence:
        """Sequence `index` with every event built."""
        rows = self.rows[self.offsets[index] : self.offsets[index + 1]]
        events = self.table.select(EVENT_FIELDS).take(pa.array(rows)).to_pydict()
        events["attrs"] = [marshal.loads(blob) if blob else {} for blob in events["attrs"]]
        values = zip(*(events[name] for name in EVENT_FIELDS), strict=True)
        return Sequence(self.user_ids[index], [Event(*row) for row in values])


def _first_of_each(*keys: np.ndarray) -> np.ndarray:
    """Rows (ascending) that are the first of their value of `keys` taken together."""
    count = keys[0].size
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort(keys[::-1])  # stable: equal keys in row order, the first one first
    same = np.ones(count - 1, dtype=bool)
    for key in keys:
        ordered = key[order]
        same &= ordered[1:] == ordered[:-1]
    return np.sort(order[np.concatenate(([True], ~same))])


class ShardBatch:
    """Sequences `start:stop` of a ShardTable: what the screener scores at a time."""

    def __init__(self, table: ShardTable, start: int, stop: int) -> None:
        self._table, self._start, self._stop = table, start, stop
        self.user_ids = table.user_ids[start:stop]
        self.cases = table.cases[start:stop] if table.cases is not None else None

    def columns(self) -> EventColumns:
        return self._table.columns(self._start, self._stop)

    def sequence(self, index: int) -> Sequence:
        return self._table.sequence(self._start + index)
