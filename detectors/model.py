"""The LSTM sequence model: feature embeddings → LSTM → next-token head (+ optional type head)."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# oneDNN compiles the LSTM once per batch shape and keeps each (with its own copy of the
# weights) in a cache of 1,024 by default: a long screen's memory grew with the shapes it met
# (+300 MB over 5 batch sizes of 250k events); 32 bounds it at no measured cost in speed.
# oneDNN reads this at its first LSTM, so it is set on import, before any.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "32")

HEAD_ROWS_CPU = 1024
"""States per next-token head call on CPU: their (1024, V) logits fit in the L2 cache."""
HEAD_ROWS_GPU = 1 << 21
"""States per head call on a GPU: their logits (about 3.5 GiB in float32 at V = 424) are
made and read in one piece, and a batch of any size fits."""


@dataclass
class LSTMConfig:
    """Everything needed to rebuild the module (saved with the weights)."""

    feature_sizes: tuple[int, ...]
    """Distinct ids per input feature column (one embedding table each)."""
    vocab_size: int
    """Composite tokens (id 0 = out of vocabulary); the next-token head predicts these and
    the end of the sequence, id `vocab_size`."""
    n_types: int = 0
    """Classes of the supervised fraud-type head; 0 = no supervised head."""
    embed_dim: int = 64
    hidden: int = 128
    layers: int = 1
    dropout: float = 0.0


@dataclass
class Surprise:
    """Per-position next-token surprise and the per-sequence summary state."""

    nll: torch.Tensor
    """(B, T) negative log-likelihood of each true token (0 on padding)."""
    rank: torch.Tensor
    """(B, T) rank of each true token among the predictions, 1 = most expected."""
    end_nll: torch.Tensor
    """(B,) negative log-likelihood that the sequence ends where it does."""
    end_rank: torch.Tensor
    """(B,) rank of the end among the predictions after the last event."""
    final: torch.Tensor
    """(B, H) hidden state after the last event: the sequence embedding."""
    type_probs: torch.Tensor | None
    """(B, C) supervised head's distribution over fraud types, when it exists."""


def select_device(requested: str | None = None) -> torch.device:
    """CUDA when available (or asked for), else CPU."""
    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def autocast_for(device: torch.device) -> AbstractContextManager[object]:
    """bf16 autocast on CUDA (cuDNN LSTM); full precision on CPU, where it is deterministic."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


class SequenceLSTM(nn.Module):
    type_weights: torch.Tensor
    """(C,) class weights of the type loss (balanced on the training labels)."""

    def __init__(self, config: LSTMConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = nn.ModuleList(
            nn.Embedding(size, config.embed_dim) for size in config.feature_sizes
        )
        self.bos = nn.Parameter(torch.zeros(config.embed_dim))
        self.lstm = nn.LSTM(
            config.embed_dim,
            config.hidden,
            num_layers=config.layers,
            batch_first=True,
            dropout=config.dropout if config.layers > 1 else 0.0,
        )
        self.next_head = nn.Linear(config.hidden, config.vocab_size + 1)  # + the end
        self.type_head = nn.Linear(config.hidden, config.n_types) if config.n_types else None
        self.register_buffer("type_weights", torch.ones(max(config.n_types, 1)))

    def encode(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """States after BOS and after each event, and the state after the last event.

        x: (B, T, F) feature ids, padded; lengths: (B,) events per sequence (≥ 0).

        The LSTM runs over the padding too: it is causal, so a state never depends on the
        padding after it, and the fused padded kernel (oneDNN on CPU, cuDNN) is ~1.7× faster
        than the per-step loop a packed sequence takes on CPU. Batches are of similar length,
        so the padding costs little; the states after each sequence's end are never read.
        """
        batch = x.shape[0]
        embedded = sum(table(x[..., i]) for i, table in enumerate(self.embeddings))  # (B, T, E)
        bos = self.bos.expand(batch, 1, -1)  # (B, 1, E)
        states, _ = self.lstm(torch.cat([bos, embedded], dim=1))  # (B, T+1, H)
        rows = torch.arange(batch, device=x.device)
        return states, states[rows, lengths]  # (B, T+1, H), (B, H)

    def forward(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor,
        targets: torch.Tensor | None = None,
        type_targets: torch.Tensor | None = None,
        type_loss_weight: float = 1.0,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Next-token logits (B, T+1, V+1): position t is predicted from the events before t;
        position `length` predicts the end of the sequence (id V).

        With `targets` (B, T) the loss is the mean next-token cross-entropy over real events and
        the end, plus `type_loss_weight` × class-weighted type cross-entropy when `type_targets`
        (B,) given. With type targets, only legitimate sequences (type 0) train the next-token
        head, so that surprise measures distance from normal behaviour rather than from fraud.
        """
        states, final = self.encode(x, lengths)
        logits = self.next_head(states)  # (B, T+1, V+1)
        if targets is None:
            return logits, None
        mask = torch.arange(x.shape[1] + 1, device=x.device)[None, :] <= lengths[:, None]
        if type_targets is not None:
            mask = mask & (type_targets == 0)[:, None]
        loss = torch.zeros((), device=x.device)
        if mask.any():
            with_end = self._with_end(targets, lengths)
            loss = F.cross_entropy(logits[mask].float(), with_end[mask])
        if type_targets is not None and self.type_head is not None:
            type_logits = self.type_head(final).float()  # (B, C)
            loss = loss + type_loss_weight * F.cross_entropy(
                type_logits, type_targets, weight=self.type_weights
            )
        return logits, loss

    def _with_end(self, targets: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T) targets → (B, T+1) with the end id at each sequence's `length`."""
        padded = F.pad(targets, (0, 1))  # (B, T+1)
        rows = torch.arange(targets.shape[0], device=targets.device)
        padded[rows, lengths] = self.config.vocab_size
        return padded

    def surprise(self, x: torch.Tensor, lengths: torch.Tensor, targets: torch.Tensor) -> Surprise:
        """Score every position of every sequence, and its end, in one pass."""
        states, final = self.encode(x, lengths)
        nll, rank = self._next_nll_and_rank(states, self._with_end(targets, lengths))  # (B, T+1)
        rows = torch.arange(x.shape[0], device=x.device)
        end_nll, end_rank = nll[rows, lengths], rank[rows, lengths]  # (B,)
        mask = torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]
        type_probs = None
        if self.type_head is not None:
            type_probs = torch.softmax(self.type_head(final).float(), dim=-1)  # (B, C)
        return Surprise(
            nll[:, :-1] * mask, rank[:, :-1] * mask, end_nll, end_rank, final.float(), type_probs
        )

    def surprise_per_window(
        self, x: torch.Tensor, lengths: torch.Tensor, targets: torch.Tensor, window: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """DeepLog-style: one forward pass per position over the `window` events before it.

        Returns (nll, rank) of the events, each (B, T); with window ≥ T they equal `surprise`'s.
        """
        batch, steps, n_features = x.shape
        position = torch.arange(steps, device=x.device)
        valid = position[None, :] < lengths[:, None]  # (B, T)
        seq_index, pos = valid.nonzero(as_tuple=True)  # (N,), (N,)
        window_lengths = torch.clamp(pos, max=window)  # (N,)
        start = pos - window_lengths
        offsets = torch.arange(max(window, 1), device=x.device)
        gather = torch.clamp(start[:, None] + offsets[None, :], max=steps - 1)  # (N, W)
        windows = x[seq_index[:, None], gather]  # (N, W, F)
        windows = windows * (offsets[None, :] < window_lengths[:, None])[..., None]
        _, last = self.encode(windows.reshape(-1, offsets.numel(), n_features), window_lengths)
        nll_flat, rank_flat = self._next_nll_and_rank(last, targets[seq_index, pos])  # (N,)
        nll = torch.zeros(batch, steps, device=x.device)
        rank = torch.zeros(batch, steps, dtype=torch.long, device=x.device)
        nll[seq_index, pos] = nll_flat
        rank[seq_index, pos] = rank_flat
        return nll, rank

    def _next_nll_and_rank(
        self, states: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(..., H) states and (...) next-token targets → the NLL and rank of each target.

        On CPU the head runs HEAD_ROWS_CPU states at a time, so that their logits are still in
        the cache when the NLL and the rank read them (1.7× faster than all at once); on a GPU
        HEAD_ROWS_GPU at a time, which bounds their memory to a few GiB (262,144 sequences of 64
        in one batch asked an H200 for 54 GiB at once)."""
        flat_states = states.reshape(-1, states.shape[-1])
        flat_targets = targets.reshape(-1)
        rows = flat_targets.numel()
        step = HEAD_ROWS_CPU if states.device.type == "cpu" else HEAD_ROWS_GPU
        parts = [
            _nll_and_rank(
                self.next_head(flat_states[start : start + step]).float(),
                flat_targets[start : start + step],
            )
            for start in range(0, rows, step)
        ]
        if not parts:
            return torch.zeros_like(targets, dtype=torch.float32), torch.zeros_like(targets)
        nll = torch.cat([part[0] for part in parts]).view_as(targets)
        rank = torch.cat([part[1] for part in parts]).view_as(targets)
        return nll, rank


def _nll_and_rank(logits: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, V) logits and (N,) targets → NLL and 1-based rank of each target."""
    true = logits.gather(-1, targets.unsqueeze(-1))  # (N, 1)
    rank = (logits > true).sum(dim=-1) + 1
    return F.cross_entropy(logits, targets, reduction="none"), rank  # fused: 2× log-sum-exp
