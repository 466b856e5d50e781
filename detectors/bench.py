"""Scoring throughput measured side by side: one-pass LSTM, per-window LSTM, n-gram, matmul."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from detectors.baselines import NgramDetector
from detectors.model import SequenceLSTM, autocast_for
from detectors.sequences import Sequence
from detectors.tokenizer import EncodedSequences, EventTokenizer
from detectors.training import padded_batch


@dataclass(slots=True)
class BenchRow:
    name: str
    device: str
    sequences: int
    seconds: float
    flops: float | None = None
    """Floating-point operations for all `sequences` (the model's matmuls), when counted."""

    @property
    def sequences_per_s(self) -> float:
        return self.sequences / self.seconds

    @property
    def gflops_per_s(self) -> float | None:
        return None if self.flops is None else self.flops / self.seconds / 1e9


def timed(call: Callable[[], object], device: torch.device, min_seconds: float) -> float:
    """Best seconds per call over repeats lasting ≥ min_seconds (after one warm-up call)."""
    call()
    best = float("inf")
    started = time.perf_counter()
    while True:
        if device.type == "cuda":
            torch.cuda.synchronize()
        begin = time.perf_counter()
        call()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - begin)
        if time.perf_counter() - started >= min_seconds:
            return best


def fixed_length_chunks(
    tokenizer: EventTokenizer, sequences: list[Sequence], length: int, count: int
) -> EncodedSequences:
    """`count` windows of exactly `length` consecutive events cut from real sequences (cycled)."""
    encoded = tokenizer.encode(sequences)
    starts = [
        start
        for begin, end in zip(encoded.offsets[:-1], encoded.offsets[1:], strict=True)
        for start in range(int(begin), int(end) - length + 1, length)
    ]
    if not starts:
        longest = int(encoded.lengths.max()) if encoded.lengths.size else 0
        raise ValueError(f"no sequence has {length} events (longest: {longest}); lower --length")
    chosen = np.resize(np.asarray(starts), count)
    rows = (chosen[:, None] + np.arange(length)[None, :]).ravel()
    offsets = np.arange(count + 1, dtype=np.int64) * length
    return EncodedSequences(encoded.features[rows], encoded.tokens[rows], offsets)


def lstm_flops(model: SequenceLSTM, steps: int, heads: int) -> float:
    """Matmul FLOPs of `steps` LSTM steps (all layers) and `heads` next-token head rows."""
    config = model.config
    per_step = 0
    for layer in range(config.layers):
        inputs = config.embed_dim if layer == 0 else config.hidden
        per_step += 2 * 4 * config.hidden * (inputs + config.hidden)
    return float(steps * per_step + heads * 2 * config.hidden * config.vocab_size)


def matmul_gflops(device: torch.device, min_seconds: float, size: int = 1024) -> float:
    """The machine's dense matmul rate: float32 on CPU, bf16 on CUDA."""
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    size = size * 8 if device.type == "cuda" else size
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    seconds = timed(lambda: a @ b, device, min_seconds)
    return 2 * size**3 / seconds / 1e9


def timed_interleaved(
    calls: list[Callable[[], object]], device: torch.device, min_seconds: float
) -> list[float]:
    """Best seconds per call, the calls taking turns until each ran ≥ 3 times and ≥ min_seconds
    passed: on a shared machine a load spike then hits every scorer alike, not just one."""
    for call in calls:
        call()  # warm-up
    best = [float("inf")] * len(calls)
    started, rounds = time.perf_counter(), 0
    while rounds < 3 or time.perf_counter() - started < min_seconds:
        for index, call in enumerate(calls):
            if device.type == "cuda":
                torch.cuda.synchronize()
            begin = time.perf_counter()
            call()
            if device.type == "cuda":
                torch.cuda.synchronize()
            best[index] = min(best[index], time.perf_counter() - begin)
        rounds += 1
    return best


def bench_lstm(
    model: SequenceLSTM,
    encoded: EncodedSequences,
    device: torch.device,
    batch_size: int,
    window_sequences: int,
    min_seconds: float,
) -> list[BenchRow]:
    """One-pass scoring of `batch_size` chunks vs per-window scoring of `window_sequences`.

    Each is timed on one batch, taking turns (best of several), so the sequences/s of the two
    are measured under the same conditions.
    """
    model = model.to(device).eval()
    length = int(encoded.lengths[0])
    one_pass_count = min(batch_size, int(encoded.lengths.size))
    window_count = min(window_sequences, int(encoded.lengths.size))
    one_pass_batch = padded_batch(encoded, np.arange(one_pass_count), device)
    window_batch = padded_batch(encoded, np.arange(window_count), device)

    def one_pass() -> None:
        with torch.inference_mode(), autocast_for(device):
            model.surprise(one_pass_batch.x, one_pass_batch.lengths, one_pass_batch.targets)

    def per_window() -> None:
        with torch.inference_mode(), autocast_for(device):
            model.surprise_per_window(
                window_batch.x, window_batch.lengths, window_batch.targets, window=length
            )

    one_pass_s, window_s = timed_interleaved([one_pass, per_window], device, min_seconds)
    window_steps = sum(min(position, length) + 1 for position in range(length))
    return [
        BenchRow(
            "lstm one-pass",
            device.type,
            one_pass_count,
            one_pass_s,
            one_pass_count * lstm_flops(model, length + 1, length),
        ),
        BenchRow(
            "lstm per-window (DeepLog)",
            device.type,
            window_count,
            window_s,
            window_count * lstm_flops(model, window_steps, length),
        ),
    ]


def bench_ngram(
    tokenizer: EventTokenizer, encoded: EncodedSequences, min_seconds: float
) -> BenchRow:
    """The trigram baseline over the same tokenised chunks (fitted on them)."""
    ngram = NgramDetector().fit_encoded(tokenizer, encoded)
    seconds = timed(lambda: ngram.score_encoded(encoded), torch.device("cpu"), min_seconds)
    return BenchRow("n-gram (trigram)", "cpu", int(encoded.lengths.size), seconds)
