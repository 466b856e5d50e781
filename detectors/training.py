"""Batching of encoded sequences and the seeded training loop of the LSTM model."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from detectors.model import SequenceLSTM, autocast_for
from detectors.tokenizer import EncodedSequences


@dataclass
class TrainConfig:
    epochs: int = 6
    batch_size: int = 64
    lr: float = 3e-3
    max_len: int = 256
    """Training keeps the last `max_len` events of a sequence; scoring always uses all."""
    type_loss_weight: float = 1.0
    seed: int = 0
    threads: int | None = None
    """CPU threads; None = every core. On a machine shared with other busy processes,
    1 thread can be several times faster than oversubscribed cores."""


def use_all_cores(threads: int | None = None) -> None:
    """PyTorch on CPU: one thread per core (a hardware fact, not a setting), or `threads`."""
    torch.set_num_threads(threads or os.cpu_count() or 1)


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)


@dataclass
class PaddedBatch:
    x: torch.Tensor
    """(B, T, F) feature ids, zero-padded."""
    lengths: torch.Tensor
    """(B,) real events per row."""
    targets: torch.Tensor
    """(B, T) composite-token ids, zero-padded."""


def padded_batch(
    encoded: EncodedSequences,
    indices: np.ndarray,
    device: torch.device,
    max_len: int | None = None,
) -> PaddedBatch:
    """Rows `indices` of `encoded` as padded tensors (the last `max_len` events when given)."""
    starts = encoded.offsets[indices]
    lengths = encoded.offsets[indices + 1] - starts
    if max_len is not None:
        starts = starts + np.maximum(lengths - max_len, 0)
        lengths = np.minimum(lengths, max_len)
    steps = max(int(lengths.max()) if lengths.size else 0, 1)
    position = np.arange(steps)[None, :]
    rows = np.where(position < lengths[:, None], starts[:, None] + position, -1)  # (B, T)
    mask = rows >= 0
    safe = np.where(mask, rows, 0)
    x = encoded.features[safe] * mask[..., None]  # (B, T, F)
    targets = encoded.tokens[safe] * mask  # (B, T)
    return PaddedBatch(
        torch.from_numpy(x).to(device),
        torch.from_numpy(lengths).to(device),
        torch.from_numpy(targets).to(device),
    )


def length_batches(lengths: np.ndarray, max_tokens: int = 65536, max_rows: int = 1024) -> list:
    """Index batches of similar length (sorted), each with ≤ max_tokens padded positions."""
    order = np.argsort(lengths, kind="stable")
    batches: list[np.ndarray] = []
    start = 0
    while start < order.size:
        end = start + 1
        while (
            end < order.size
            and end - start < max_rows
            and (end - start + 1) * max(int(lengths[order[end]]), 1) <= max_tokens
        ):
            end += 1
        batches.append(order[start:end])
        start = end
    return batches


def _training_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """Shuffled batches of similar length: sort by length with noise, chunk, shuffle chunks."""
    noisy = lengths + rng.uniform(0, 1 + lengths * 0.2)
    order = np.argsort(noisy, kind="stable")
    chunks = [order[i : i + batch_size] for i in range(0, order.size, batch_size)]
    for chunk_index in rng.permutation(len(chunks)):
        yield chunks[chunk_index]


def train_model(
    model: SequenceLSTM,
    encoded: EncodedSequences,
    type_ids: np.ndarray | None,
    config: TrainConfig,
    device: torch.device,
    on_epoch_end: Callable[[int], dict[str, float]] | None = None,
    progress: bool = False,
) -> list[dict[str, float]]:
    """Adam on next-token (+ weighted type) cross-entropy; returns one metrics dict per epoch."""
    seed_everything(config.seed)
    use_all_cores(config.threads)
    rng = np.random.default_rng(config.seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    lengths = np.minimum(encoded.lengths, config.max_len)
    history = []
    for epoch in range(config.epochs):
        model.train()
        batches = list(_training_batches(lengths, config.batch_size, rng))
        total, steps = 0.0, 0
        # on a terminal only: redirected to a log, a bar is a thousand carriage-return updates
        bar = tqdm(
            batches, desc=f"epoch {epoch + 1}/{config.epochs}", disable=None if progress else True
        )
        for indices in bar:
            batch = padded_batch(encoded, indices, device, config.max_len)
            types = None
            if type_ids is not None:
                types = torch.from_numpy(type_ids[indices]).to(device)
            with autocast_for(device):
                _, loss = model(
                    batch.x, batch.lengths, batch.targets, types, config.type_loss_weight
                )
            assert loss is not None
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            total += float(loss.detach())
            steps += 1
            bar.set_postfix(loss=f"{total / steps:.3f}")
        metrics = {"epoch": float(epoch + 1), "train_loss": total / max(steps, 1)}
        if on_epoch_end is not None:
            model.eval()
            metrics.update(on_epoch_end(epoch))
        if progress:
            tqdm.write("  ".join(f"{key}={value:.4g}" for key, value in metrics.items()))
        history.append(metrics)
    model.eval()
    return history
