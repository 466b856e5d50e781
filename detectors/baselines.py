"""Baselines behind the detector contract: an n-gram next-event model and an isolation forest."""

from __future__ import annotations

from collections.abc import Sequence as SequenceOf
from typing import TYPE_CHECKING, Self

import numpy as np

from detectors.base import LEGIT, BaseDetector, threshold_for_flag_rate
from detectors.events import ACTIONS
from detectors.rules import CREDENTIAL_ACTIONS
from detectors.sequences import Sequence
from detectors.tokenizer import (
    EncodedSequences,
    EventColumns,
    EventTokenizer,
    NotFittedError,
    consecutive_gaps,
)

if TYPE_CHECKING:  # sklearn costs ~2.5 s to import; only the isolation forest needs it
    from sklearn.ensemble import IsolationForest


def legitimate_only(
    sequences: SequenceOf[Sequence], labels: SequenceOf[str] | None
) -> SequenceOf[Sequence]:
    """Models of normal behaviour learn from normal sequences when labels say which they are."""
    if labels is not None:
        if len(labels) != len(sequences):
            raise ValueError(f"{len(labels)} labels for {len(sequences)} sequences; need one each")
        sequences = [s for s, label in zip(sequences, labels, strict=True) if label == LEGIT]
    if not sequences:
        raise ValueError("cannot fit on 0 (legitimate) sequences; need ≥ 1")
    return sequences


class NgramDetector(BaseDetector):
    """Markov next-token model over the same tokens as the LSTM; score = mean per-event NLL.

    Probabilities are interpolated down to the unigram (Dirichlet smoothing with `strength`):
    p_n(t | ctx) = (count(ctx, t) + strength · p_{n-1}(t | shorter ctx)) / (count(ctx) + strength).
    """

    def __init__(
        self, n: int = 3, strength: float = 1.0, min_count: int = 3, contamination: float = 0.05
    ) -> None:
        self.n = n
        self.strength = strength
        self.min_count = min_count
        self.contamination = contamination
        self.tokenizer_: EventTokenizer | None = None
        self.tables_: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.unigram_: np.ndarray | None = None
        self.threshold_: float | None = None

    def fit(self, sequences: SequenceOf[Sequence], labels: SequenceOf[str] | None = None) -> Self:
        """Count n-grams of the sequences; with labels, of the legitimate ones only."""
        sequences = legitimate_only(sequences, labels)
        tokenizer = EventTokenizer(min_count=self.min_count).fit(sequences)
        self.fit_encoded(tokenizer, tokenizer.encode(sequences))
        self.threshold_ = threshold_for_flag_rate(
            self.decision_function(sequences), self.contamination
        )
        return self

    def fit_encoded(self, tokenizer: EventTokenizer, encoded: EncodedSequences) -> Self:
        """Count n-grams of sequences already tokenised by `tokenizer` (leaves threshold_ as is)."""
        self.tokenizer_ = tokenizer
        vocab = tokenizer.vocab_size
        self.unigram_ = (np.bincount(encoded.tokens, minlength=vocab) + 1.0) / (
            encoded.tokens.size + vocab
        )
        self.tables_ = []
        for order in range(1, self.n):
            context = self._contexts(encoded, order)
            pair_keys, pair_counts = np.unique(context * vocab + encoded.tokens, return_counts=True)
            context_keys, context_counts = np.unique(context, return_counts=True)
            self.tables_.append((pair_keys, pair_counts, context_keys, context_counts))
        return self

    def _contexts(self, encoded: EncodedSequences, order: int) -> np.ndarray:
        """Code of the `order` tokens before each event (vocab_size stands for before-start)."""
        assert self.tokenizer_ is not None
        base = self.tokenizer_.vocab_size + 1
        position = np.arange(encoded.tokens.size) - np.repeat(encoded.offsets[:-1], encoded.lengths)
        code = np.zeros(encoded.tokens.size, dtype=np.int64)
        for back in range(1, order + 1):
            previous = np.roll(encoded.tokens, back)
            code = code * base + np.where(position >= back, previous, base - 1)
        return code

    def event_nll(self, encoded: EncodedSequences) -> np.ndarray:
        """(N,) negative log-probability of every event given the events before it."""
        if self.unigram_ is None or self.tokenizer_ is None:
            raise NotFittedError("NgramDetector is not fitted; call fit(sequences) first")
        vocab = self.tokenizer_.vocab_size
        probability = self.unigram_[encoded.tokens]
        for order, (pair_keys, pair_counts, context_keys, context_counts) in enumerate(
            self.tables_, start=1
        ):
            context = self._contexts(encoded, order)
            pair = _lookup(pair_keys, pair_counts, context * vocab + encoded.tokens)
            total = _lookup(context_keys, context_counts, context)
            probability = (pair + self.strength * probability) / (total + self.strength)
        return -np.log(probability)

    def decision_function(self, sequences: SequenceOf[Sequence]) -> np.ndarray:
        if self.tokenizer_ is None:
            raise NotFittedError("NgramDetector is not fitted; call fit(sequences) first")
        return self.score_encoded(self.tokenizer_.encode(sequences))

    def score_encoded(self, encoded: EncodedSequences) -> np.ndarray:
        """Mean per-event NLL per sequence, from already tokenised sequences."""
        nll = self.event_nll(encoded)
        sums = np.add.reduceat(nll, encoded.offsets[:-1]) if nll.size else np.zeros(0)
        lengths = encoded.lengths
        return np.where(lengths > 0, sums / np.maximum(lengths, 1), 0.0)


def _lookup(keys: np.ndarray, counts: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Counts of `query` codes in a sorted key table (0 where absent)."""
    if keys.size == 0:
        return np.zeros(query.size)
    position = np.minimum(np.searchsorted(keys, query), keys.size - 1)
    return np.where(keys[position] == query, counts[position], 0).astype(np.float64)


DISTINCT_FIELDS = ("device_id", "ip", "country", "payment_method", "item_id", "category")


def aggregate_features(sequences: SequenceOf[Sequence] | EventColumns) -> np.ndarray:
    """(B, F) per-user aggregates: volume, pace, money, outcomes, distinct devices/ips/...,
    action mix. A whole batch at once, from its columns (which a caller may share)."""
    columns = EventColumns.of(sequences)
    n = columns.lengths
    per_event = np.maximum(n, 1)
    ts = columns.numbers["ts"]
    duration = _first_to_last(columns, ts)
    median_gap, min_gap = _gap_median_and_min(columns, ts)
    amount = columns.numbers["amount"]
    has_amount = ~np.isnan(amount)
    amount_sum = np.bincount(columns.seq[has_amount], amount[has_amount], columns.count)
    actions = columns.categories["action"]
    outcomes = columns.categories["status"].isin(("declined", "failed"))
    scalars = [
        np.log1p(n),
        np.log1p(duration),
        np.log1p(n / np.maximum(duration / 3600.0, 1 / 60)),
        np.log1p(median_gap),
        np.log1p(min_gap),
        _signed_log1p(amount_sum),
        _signed_log1p(_max_per_sequence(columns, amount)),
        _max_per_sequence(columns, columns.numbers["quantity"]),
        columns.counts(outcomes) / per_event,
        columns.counts(actions.isin(CREDENTIAL_ACTIONS)).astype(np.float64),
    ]
    distinct = [np.log1p(columns.distinct_counts(name)) for name in DISTINCT_FIELDS]
    return np.column_stack([*scalars, *distinct, _action_mix(columns) / per_event[:, None]])


def _first_to_last(columns: EventColumns, values: np.ndarray) -> np.ndarray:
    """(B,) last minus first value of each sequence (0 for an empty one)."""
    nonempty = columns.lengths > 0
    span = np.zeros(columns.count)
    span[nonempty] = (
        values[columns.offsets[1:][nonempty] - 1] - values[columns.offsets[:-1][nonempty]]
    )
    return span


def _gap_median_and_min(columns: EventColumns, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(B,) median and smallest gap between consecutive events of each sequence; 0 and 0 with
    fewer than two events. One sort by (sequence, gap) puts every sequence's gaps in order."""
    gaps, gap_seq = consecutive_gaps(columns.seq, ts)
    gaps = gaps[np.lexsort((gaps, gap_seq))]
    count = np.bincount(gap_seq, minlength=columns.count)
    start = np.cumsum(count) - count
    some = count > 0
    median, smallest = np.zeros(columns.count), np.zeros(columns.count)
    low, high = (start + (count - 1) // 2)[some], (start + count // 2)[some]
    median[some] = (gaps[low] + gaps[high]) / 2  # np.median: the mean of the middle two
    smallest[some] = gaps[start[some]]
    return median, smallest


def _max_per_sequence(columns: EventColumns, values: np.ndarray) -> np.ndarray:
    """(B,) largest set (non-NaN) value of each sequence; 0 where none is set."""
    present = ~np.isnan(values)
    largest = np.full(columns.count, -np.inf)
    np.maximum.at(largest, columns.seq[present], values[present])
    return np.where(columns.counts(present) > 0, largest, 0.0)


def _action_mix(columns: EventColumns) -> np.ndarray:
    """(B, len(ACTIONS) + 1) events per canonical action, the last column the `other:` ones."""
    index: dict[str | None, int] = {name: position for position, name in enumerate(ACTIONS)}
    width = len(ACTIONS) + 1
    action = columns.categories["action"].lookup(lambda name: index.get(name, len(ACTIONS)))
    mix = np.bincount(columns.seq * width + action, minlength=columns.count * width)
    return mix.reshape(columns.count, width).astype(np.float64)


def _signed_log1p(values: np.ndarray) -> np.ndarray:
    # Amounts may be negative (refunds written as credits); log1p alone gives -inf or NaN there.
    return np.sign(values) * np.log1p(np.abs(values))


class IsolationForestDetector(BaseDetector):
    """sklearn's isolation forest on per-user aggregate features (unsupervised)."""

    def __init__(self, n_estimators: int = 200, contamination: float = 0.05, seed: int = 0) -> None:
        self.n_estimators = n_estimators
        self.contamination = contamination
        self.seed = seed
        self.forest_: IsolationForest | None = None
        self.threshold_: float | None = None

    def fit(self, sequences: SequenceOf[Sequence], labels: SequenceOf[str] | None = None) -> Self:
        """Fit on the sequences; with labels, on the legitimate ones only."""
        sequences = legitimate_only(sequences, labels)
        from sklearn.ensemble import IsolationForest

        features = aggregate_features(sequences)
        self.forest_ = IsolationForest(n_estimators=self.n_estimators, random_state=self.seed)
        self.forest_.fit(features)
        self.threshold_ = threshold_for_flag_rate(
            self.decision_function(sequences), self.contamination
        )
        return self

    def decision_function(self, sequences: SequenceOf[Sequence]) -> np.ndarray:
        if self.forest_ is None:
            raise NotFittedError("IsolationForestDetector is not fitted; call fit(sequences) first")
        features = aggregate_features(sequences)
        return -self.forest_.score_samples(features)
