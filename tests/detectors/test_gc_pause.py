"""Cyclic garbage collection is paused inside the block and back as it was after it."""

from __future__ import annotations

import gc

import pytest

from detectors.screening.gc_pause import cyclic_gc_paused


def test_collection_is_paused_inside_and_restored_even_on_error() -> None:
    assert gc.isenabled()
    with cyclic_gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), cyclic_gc_paused():
        raise RuntimeError("shard failed")
    assert gc.isenabled()


def test_a_block_inside_a_paused_one_leaves_collection_paused() -> None:
    with cyclic_gc_paused():
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
