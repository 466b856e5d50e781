"""Events → tokens: the action plus learned buckets of gap, amount, quantity, status, novelty."""

from __future__ import annotations

from collections.abc import Callable, Collection
from collections.abc import Sequence as SequenceOf
from dataclasses import dataclass, field
from itertools import chain
from operator import attrgetter
from typing import Any

import numpy as np

from detectors.events import ACTIONS, OTHER_PREFIX
from detectors.sequences import Sequence

OTHER_ACTION = OTHER_PREFIX + "*"
"""Token part for an `other:<name>` action too rare to get its own."""
OOV_TOKEN = "<oov>"
FLAG_NAMES = ("new_device", "new_ip", "new_country")
FLAG_FIELDS = ("device_id", "ip", "country")
N_FEATURES = 6
"""Feature columns per event: action, gap, amount, quantity, status, novelty flags."""


class NotFittedError(RuntimeError):
    """A detector or tokenizer used before `fit`."""


@dataclass(slots=True)
class EncodedSequences:
    """Sequences flattened into arrays: rows of one sequence are contiguous, in time order."""

    features: np.ndarray
    """(N, N_FEATURES) int64 feature ids per event."""
    tokens: np.ndarray
    """(N,) int64 composite-token ids (0 = out of vocabulary): the next-event targets."""
    offsets: np.ndarray
    """(B + 1,) int64: sequence b is rows offsets[b]:offsets[b + 1]."""

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)


@dataclass(frozen=True, slots=True)
class Categories:
    """One string field of every event, as codes into its distinct values."""

    codes: np.ndarray
    """(N,) int64 index into `values`; -1 where the field is unset."""
    values: list[str]
    """The distinct values (of these events, or of a larger set they were taken from)."""

    def lookup(self, table: Callable[[str | None], Any], dtype: Any = np.int64) -> np.ndarray:
        """(N,) `table(value)` of every event (value None where unset). `table` runs once per
        distinct value, not once per event: the per-event work stays in numpy."""
        per_value = np.asarray([*map(table, self.values), table(None)], dtype=dtype)
        return per_value[self.codes]  # code -1 takes the last entry: the unset value's

    def isin(self, names: Collection[str]) -> np.ndarray:
        """(N,) bool: the event's value is one of `names`."""
        return self.lookup(names.__contains__, bool)


NUMBER_FIELDS = ("ts", "amount", "quantity", "rating")
CATEGORY_FIELDS = (
    "action",
    "status",
    "device_id",
    "ip",
    "country",
    "payment_method",
    "item_id",
    "category",
)
READ_CHUNK = 2048
"""Events read per chunk: every field of a chunk is read while its events are still in the
CPU cache (field by field over a whole batch took 1.6× as long)."""


class EventColumns:
    """The events of a list of sequences as columns: rows of one sequence contiguous, in order.

    Reading attributes of ~10⁵ Python objects costs more than all the arithmetic on them, so
    the fields that the tokenizer, the aggregates and the behaviour signals use are read once
    (`from_sequences`, or straight from a columnar table), and the three share them."""

    def __init__(
        self,
        offsets: np.ndarray,
        numbers: dict[str, np.ndarray],
        categories: dict[str, Categories],
    ) -> None:
        self.offsets = offsets
        """(B + 1,) int64: sequence b is rows offsets[b]:offsets[b + 1]."""
        self.seq = np.repeat(np.arange(offsets.size - 1), np.diff(offsets))
        """(N,) the sequence of each row."""
        self.numbers = numbers
        """(N,) float64 of each of NUMBER_FIELDS; NaN where unset."""
        self.categories = categories
        """Each of CATEGORY_FIELDS as codes (-1 where unset) into its distinct values."""

    @classmethod
    def from_sequences(cls, sequences: SequenceOf[Sequence]) -> EventColumns:
        lengths = np.fromiter((len(s.events) for s in sequences), np.int64, len(sequences))
        offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        events = list(chain.from_iterable(sequence.events for sequence in sequences))
        numbers: dict[str, list[Any]] = {name: [] for name in NUMBER_FIELDS}
        codes: dict[str, list[int]] = {name: [] for name in CATEGORY_FIELDS}
        indexes: dict[str, dict[Any, int]] = {name: {None: -1} for name in CATEGORY_FIELDS}
        for start in range(0, len(events), READ_CHUNK):
            chunk = events[start : start + READ_CHUNK]
            for name, values in numbers.items():
                values += map(attrgetter(name), chunk)
            for name, index in indexes.items():
                codes[name] += [
                    index.setdefault(value, len(index) - 1)
                    for value in map(attrgetter(name), chunk)
                ]
        return cls(
            offsets,
            {name: np.array(values, dtype=np.float64) for name, values in numbers.items()},
            {
                name: Categories(
                    np.array(codes[name], dtype=np.int64),
                    [value for value in index if value is not None],
                )
                for name, index in indexes.items()
            },
        )

    @classmethod
    def of(cls, sequences: SequenceOf[Sequence] | EventColumns) -> EventColumns:
        """The columns of `sequences`; columns already made are used as they are."""
        return sequences if isinstance(sequences, EventColumns) else cls.from_sequences(sequences)

    @property
    def count(self) -> int:
        """Number of sequences."""
        return self.offsets.size - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def counts(self, rows: np.ndarray) -> np.ndarray:
        """(B,) int64 number of `rows` (an (N,) bool mask) in each sequence."""
        return np.bincount(self.seq[rows], minlength=self.count)

    def distinct_counts(self, name: str, rows: np.ndarray | None = None) -> np.ndarray:
        """(B,) int64 number of distinct set values of string field `name` in each sequence,
        among `rows` (an (N,) bool mask; default all)."""
        categories = self.categories[name]
        chosen = categories.codes >= 0 if rows is None else rows & (categories.codes >= 0)
        width = max(len(categories.values), 1)
        pairs = np.unique(self.seq[chosen] * width + categories.codes[chosen])
        return np.bincount(pairs // width, minlength=self.count)


def consecutive_gaps(seq: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Time between consecutive rows of the same sequence, and that sequence: rows ordered by
    sequence (all rows of a batch, or some of them, e.g. its views)."""
    within = seq[1:] == seq[:-1]
    return np.diff(ts)[within], seq[1:][within]


def _quantile_edges(values: np.ndarray, n_buckets: int) -> np.ndarray:
    """Distinct inner quantile edges (2 significant digits, so tokens read well)."""
    if values.size == 0 or n_buckets < 2:
        return np.zeros(0)
    raw = np.quantile(values, np.linspace(0, 1, n_buckets + 1)[1:-1])
    rounded = [float(f"{edge:.2g}") for edge in raw]
    return np.unique(np.asarray(rounded, dtype=np.float64))


def _format_seconds(seconds: float) -> str:
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.2g}{unit}"
    return f"{seconds:.2g}s"


def _bucket_names(prefix: str, edges: list[float], fmt: Any = "{:g}".format) -> list[str]:
    """Names for buckets 1..len(edges)+1 of `searchsorted(edges, v, side="right") + 1`."""
    if not edges:
        return [f"{prefix}*"]
    return [f"{prefix}<{fmt(edge)}" for edge in edges] + [f"{prefix}≥{fmt(edges[-1])}"]


@dataclass
class EventTokenizer:
    """Learns bucket edges and a token vocabulary from training sequences; encodes vectorised.

    The model reads the feature columns (each embedded separately), and predicts the composite
    token; a composite seen fewer than `min_count` times in training is out of vocabulary.
    """

    min_count: int = 3
    n_gap_buckets: int = 8
    n_amount_buckets: int = 6
    n_quantity_buckets: int = 4
    actions_: list[str] = field(default_factory=list)
    statuses_: list[str] = field(default_factory=list)
    gap_edges_: list[float] = field(default_factory=list)
    amount_edges_: list[float] = field(default_factory=list)
    quantity_edges_: list[float] = field(default_factory=list)
    vocab_codes_: list[int] = field(default_factory=list)

    # --- fitting -------------------------------------------------------------------------
    def fit(self, sequences: SequenceOf[Sequence]) -> EventTokenizer:
        columns = EventColumns.from_sequences(sequences)
        if columns.seq.size == 0:
            raise ValueError("cannot fit a tokenizer on 0 events; need ≥ 1")
        frequent_other = sorted(
            name
            for name in self._frequent(columns.categories["action"])
            if name.startswith(OTHER_PREFIX)
        )
        self.actions_ = [OTHER_ACTION, *ACTIONS, *frequent_other]
        self.statuses_ = sorted(filter(None, self._frequent(columns.categories["status"])))
        raw = self._raw_columns(columns)
        gaps = raw["gap"][raw["gap"] > 0]
        self.gap_edges_ = _quantile_edges(gaps, self.n_gap_buckets).tolist()
        amounts = raw["amount"][~np.isnan(raw["amount"])]
        self.amount_edges_ = _quantile_edges(amounts, self.n_amount_buckets).tolist()
        quantities = raw["quantity"][~np.isnan(raw["quantity"])]
        self.quantity_edges_ = _quantile_edges(quantities, self.n_quantity_buckets).tolist()
        codes = self._codes(self._features(raw))
        unique, code_counts = np.unique(codes, return_counts=True)
        self.vocab_codes_ = unique[code_counts >= self.min_count].tolist()
        return self

    def _frequent(self, categories: Categories) -> list[str]:
        """The values seen at least `min_count` times."""
        counts = np.bincount(
            categories.codes[categories.codes >= 0], minlength=len(categories.values)
        )
        return [
            value
            for value, count in zip(categories.values, counts.tolist(), strict=True)
            if count >= self.min_count
        ]

    def _check_fitted(self) -> None:
        if not self.actions_:
            raise NotFittedError("EventTokenizer is not fitted; call fit(sequences) first")

    # --- sizes -------------------------------------------------------------------------
    @property
    def feature_sizes(self) -> tuple[int, ...]:
        """Number of distinct ids per feature column (the embedding table sizes)."""
        self._check_fitted()
        return (
            len(self.actions_),
            len(self.gap_edges_) + 3,
            len(self.amount_edges_) + 2,
            len(self.quantity_edges_) + 2,
            len(self.statuses_) + 2,
            2 ** len(FLAG_NAMES),
        )

    @property
    def vocab_size(self) -> int:
        """Composite tokens plus the out-of-vocabulary token (id 0)."""
        return len(self.vocab_codes_) + 1

    # --- encoding ------------------------------------------------------------------------
    def encode(self, sequences: SequenceOf[Sequence] | EventColumns) -> EncodedSequences:
        """Features and token ids of every event; `sequences` may be their EventColumns."""
        self._check_fitted()
        columns = EventColumns.of(sequences)
        features = self._features(self._raw_columns(columns))
        return EncodedSequences(features, self._token_ids(self._codes(features)), columns.offsets)

    def _raw_columns(self, columns: EventColumns) -> dict[str, np.ndarray]:
        ts = columns.numbers["ts"]
        gap = np.empty_like(ts)
        gap[1:] = np.diff(ts)
        starts = columns.offsets[:-1]
        gap[starts[columns.lengths > 0]] = -1.0  # first event of a sequence has no gap
        raw = {
            "seq": columns.seq,
            "gap": gap,
            "amount": columns.numbers["amount"],
            "quantity": columns.numbers["quantity"],
        }
        for name in FLAG_FIELDS:
            raw[name] = columns.categories[name].codes
        action_ids: dict[str | None, int] = {name: i for i, name in enumerate(self.actions_)}
        raw["action"] = columns.categories["action"].lookup(lambda a: action_ids.get(a, 0))
        status_ids = {name: index + 2 for index, name in enumerate(self.statuses_)}
        raw["status"] = columns.categories["status"].lookup(
            lambda s: 0 if not s else status_ids.get(s, 1)
        )
        return raw

    def _features(self, raw: dict[str, np.ndarray]) -> np.ndarray:
        n = raw["gap"].size
        features = np.zeros((n, N_FEATURES), dtype=np.int64)
        features[:, 0] = raw["action"]
        gap = raw["gap"]
        # 0 = first event, 1 = same second as the previous event (a tell-tale of scripts:
        # quantile buckets would lump it with ordinary short gaps), then the learned buckets.
        buckets = np.searchsorted(np.asarray(self.gap_edges_), gap, side="right") + 2
        features[:, 1] = np.where(gap < 0, 0, np.where(gap == 0, 1, buckets))
        for column, name, edges in (
            (2, "amount", self.amount_edges_),
            (3, "quantity", self.quantity_edges_),
        ):
            values = raw[name]
            buckets = np.searchsorted(np.asarray(edges), np.nan_to_num(values), side="right") + 1
            features[:, column] = np.where(np.isnan(values), 0, buckets)
        features[:, 4] = raw["status"]
        flags = np.zeros(n, dtype=np.int64)
        for bit, name in enumerate(FLAG_FIELDS):
            flags |= self._novelty(raw["seq"], raw[name]).astype(np.int64) << bit
        features[:, 5] = flags
        return features

    @staticmethod
    def _novelty(seq_index: np.ndarray, values: np.ndarray) -> np.ndarray:
        """True where a value is first seen in its sequence after some earlier known value."""
        novel = np.zeros(values.size, dtype=bool)
        rows = np.flatnonzero(values >= 0)
        if rows.size == 0:
            return novel
        key = seq_index[rows] * (int(values.max()) + 1) + values[rows]
        _, first_of_value = np.unique(key, return_index=True)
        _, first_of_sequence = np.unique(seq_index[rows], return_index=True)
        novel[rows[first_of_value]] = True
        novel[rows[first_of_sequence]] = False  # nothing earlier to be new against
        return novel

    def _codes(self, features: np.ndarray) -> np.ndarray:
        """Mixed-radix code of all feature columns: one integer per distinct composite token."""
        code = np.zeros(features.shape[0], dtype=np.int64)
        for column, size in enumerate(self.feature_sizes):
            code = code * size + features[:, column]
        return code

    def _token_ids(self, codes: np.ndarray) -> np.ndarray:
        vocab = np.asarray(self.vocab_codes_, dtype=np.int64)
        if vocab.size == 0:
            return np.zeros(codes.size, dtype=np.int64)
        position = np.minimum(np.searchsorted(vocab, codes), vocab.size - 1)
        return np.where(vocab[position] == codes, position + 1, 0)

    # --- names ---------------------------------------------------------------------------
    def feature_names(self, row: np.ndarray) -> str:
        """Readable token of one feature row, e.g. `payment_attempt|gap<10s|amt<5|declined`."""
        parts = [self.actions_[row[0]]]
        if row[1] == 1:
            parts.append("gap=0")
        elif row[1] > 1:
            parts.append(_bucket_names("gap", self.gap_edges_, _format_seconds)[row[1] - 2])
        if row[2] > 0:
            parts.append(_bucket_names("amt", self.amount_edges_)[row[2] - 1])
        if row[3] > 0:
            parts.append(_bucket_names("qty", self.quantity_edges_)[row[3] - 1])
        if row[4] > 0:
            parts.append("status:other" if row[4] == 1 else self.statuses_[row[4] - 2])
        parts += [name for bit, name in enumerate(FLAG_NAMES) if row[5] >> bit & 1]
        return "|".join(parts)

    def feature_names_many(self, features: np.ndarray) -> list[str]:
        """`feature_names` of every row, each distinct row named once."""
        if len(features) == 0:
            return []
        distinct, inverse = np.unique(features, axis=0, return_inverse=True)
        names = [self.feature_names(row) for row in distinct]
        return [names[index] for index in inverse.reshape(-1).tolist()]

    def token_name(self, token_id: int) -> str:
        """Readable name of a composite-token id (0 → `<oov>`)."""
        if token_id == 0:
            return OOV_TOKEN
        code = self.vocab_codes_[token_id - 1]
        row = np.zeros(N_FEATURES, dtype=np.int64)
        for column, size in reversed(list(enumerate(self.feature_sizes))):
            code, row[column] = divmod(code, size)
        return self.feature_names(row)

    # --- persistence ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        self._check_fitted()
        return {
            "min_count": self.min_count,
            "n_gap_buckets": self.n_gap_buckets,
            "n_amount_buckets": self.n_amount_buckets,
            "n_quantity_buckets": self.n_quantity_buckets,
            "actions": self.actions_,
            "statuses": self.statuses_,
            "gap_edges": self.gap_edges_,
            "amount_edges": self.amount_edges_,
            "quantity_edges": self.quantity_edges_,
            "vocab_codes": self.vocab_codes_,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EventTokenizer:
        return cls(
            min_count=int(data["min_count"]),
            n_gap_buckets=int(data["n_gap_buckets"]),
            n_amount_buckets=int(data["n_amount_buckets"]),
            n_quantity_buckets=int(data["n_quantity_buckets"]),
            actions_=list(data["actions"]),
            statuses_=list(data["statuses"]),
            gap_edges_=[float(edge) for edge in data["gap_edges"]],
            amount_edges_=[float(edge) for edge in data["amount_edges"]],
            quantity_edges_=[float(edge) for edge in data["quantity_edges"]],
            vocab_codes_=[int(code) for code in data["vocab_codes"]],
        )
