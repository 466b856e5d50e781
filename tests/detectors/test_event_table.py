"""Shards as Arrow columns: read back, they are the sequences `group_sequences` makes of the
same events (order, ties, duplicates, every field), and the columns the detector scores."""

from __future__ import annotations

import marshal
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
from detector_fixtures import make_sequences

from detectors.events import Event
from detectors.screening.event_rows import event_tuple, shard_of
from detectors.screening.event_table import (
    PieceWriter,
    ShardTable,
    events_batch,
    read_pieces,
)
from detectors.sequences import Sequence, group_sequences, order_events
from detectors.tokenizer import EventColumns


def _events_in_input_order() -> list[Event]:
    """Every user's events shuffled across users, with time ties, exact duplicates, a
    same-time event of another action, attrs, empty strings and big quantities."""
    sequences, _ = make_sequences(200, 40, seed=3)
    rng = random.Random(4)
    events = [event for sequence in sequences for event in sequence.events]
    extra = []
    for index, event in enumerate(events[::7]):
        extra.append(replace(event))  # a duplicate: merged, the first kept
        extra.append(replace(event, action="view", attrs={"n": index, "tags": ["a", None]}))
        extra.append(replace(event, item_id=None, payment_method="", quantity=2**62))
    events += extra
    rng.shuffle(events)
    return events


ADDED = 1000
"""Events added to a piece at a time."""


def _batch(keyed: list[tuple[str, bytes | None, Event]]) -> pa.RecordBatch:
    keys, cases, events = zip(*keyed, strict=True)
    return events_batch(list(keys), list(cases), [event_tuple(event) for event in events])


def _write_pieces(tmp_path: Path, events: list[Event], pieces: int) -> list[Path]:
    paths = [tmp_path / f"piece-{index}.arrow" for index in range(pieces)]
    size = len(events) // pieces + 1
    for index, path in enumerate(paths):
        writer = PieceWriter([path])
        piece = events[index * size : (index + 1) * size]
        for start in range(0, len(piece), ADDED):  # several batches, several written at once
            writer.add(
                _batch([(event.user_id, None, event) for event in piece[start : start + ADDED]])
            )
        writer.close()
    return paths


def test_pieces_read_back_as_the_grouped_sequences(tmp_path: Path) -> None:
    events = _events_in_input_order()
    assert len(events) > 2 * 2 * ADDED  # more than one batch added per piece
    paths = _write_pieces(tmp_path, events, pieces=2)
    table = ShardTable(read_pieces(paths))
    assert not any(path.exists() for path in paths)
    expected = group_sequences(events)
    assert [table.batch(0, len(table)).sequence(i) for i in range(len(table))] == expected
    assert table.user_ids == [sequence.user_id for sequence in expected]
    assert table.cases is None


def test_batch_columns_are_the_columns_of_its_sequences(tmp_path: Path) -> None:
    events = _events_in_input_order()
    table = ShardTable(read_pieces(_write_pieces(tmp_path, events, pieces=2)))
    expected = group_sequences(events)
    for start in (0, 17):
        columns = table.batch(start, start + 25).columns()
        built = EventColumns.from_sequences(expected[start : start + 25])
        assert np.array_equal(columns.offsets, built.offsets)
        for name, values in built.numbers.items():
            assert np.array_equal(columns.numbers[name], values, equal_nan=True), name
        for name, category in built.categories.items():
            got = columns.categories[name]
            assert [got.values[c] if c >= 0 else None for c in got.codes] == [
                category.values[c] if c >= 0 else None for c in category.codes
            ], name


def test_cases_stay_one_sequence_each_with_their_records(tmp_path: Path) -> None:
    sequences, _ = make_sequences(3, 0, seed=8)
    path = tmp_path / "cases.arrow"
    writer = PieceWriter([path])
    shared_user = "u-same"  # two cases of one user stay two sequences
    cases = []
    for number, sequence in enumerate([*sequences, sequences[0]]):
        events = [replace(event, user_id=shared_user) for event in reversed(sequence.events)]
        record = {"case_id": f"c-{number}", "fraud_type": "none"}
        cases.append((record, events))
        blob = marshal.dumps(record)
        writer.add(
            _batch([(f"0:{number}", blob if i == 0 else None, e) for i, e in enumerate(events)])
        )
    writer.close()
    table = ShardTable(read_pieces([path]))
    assert table.cases == [record for record, _ in cases]
    batch = table.batch(0, len(table))
    for index, (_, events) in enumerate(cases):
        assert batch.sequence(index) == Sequence(shared_user, order_events(events))


def test_events_go_to_the_shard_of_their_key_and_a_shard_without_any_is_empty(
    tmp_path: Path,
) -> None:
    paths = [tmp_path / "a.arrow", tmp_path / "b.arrow"]
    writer = PieceWriter(paths)
    event = make_sequences(1, 0)[0][0].events[0]
    writer.add(_batch([("u-1", None, event)]))
    writer.close()
    full = shard_of("u-1", 2)
    empty = ShardTable(read_pieces([paths[1 - full]]))
    assert len(empty) == 0 and empty.user_ids == [] and empty.cases is None
    assert empty.batch(0, 10).columns().count == 0
    assert ShardTable(read_pieces([paths[full]])).keys == ["u-1"]
