"""The LSTM detector: PyOD-style fit / score / explain, saved as safetensors + JSON."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from collections.abc import Sequence as SequenceOf
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from detectors.aggregate_profile import AggregateProfile
from detectors.base import LEGIT, BaseDetector, threshold_for_flag_rate
from detectors.behaviour import BEHAVIOUR_SIGNALS, behaviour_signals
from detectors.calibration import TailCalibration, fuse_tail_probabilities
from detectors.cases import FRAUD_TYPES
from detectors.model import LSTMConfig, SequenceLSTM, autocast_for, select_device
from detectors.scores import EventSurprise, SequenceScore
from detectors.sequences import Sequence
from detectors.surprise_signals import (
    END_SIGNAL,
    SURPRISE_SIGNALS,
    EventSurprises,
    fit_event_tail,
    surprise_signals,
    top_g_for,
)
from detectors.tokenizer import EncodedSequences, EventColumns, EventTokenizer, NotFittedError
from detectors.training import (
    TrainConfig,
    length_batches,
    padded_batch,
    train_model,
    use_all_cores,
)

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default_model"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "detector.json"
FORMAT_VERSION = 4
CALIBRATION_SHARE = 0.2
"""Share of the legitimate training sequences held out of training to calibrate the score on."""
MIN_CALIBRATION_USERS = 100
"""Fewest legitimate users `recalibrated` takes: with fewer, a 5 % budget's tail rests on a
handful of them."""
AGGREGATE_SIGNAL = "aggregate_distance"
"""How far the user's per-user aggregates are from the typical legitimate user's."""
SUPERVISED_SIGNAL = "p_fraud"
"""The supervised head's 1 − P(none), a signal beside the self-supervised ones."""


def default_model_dir() -> Path:
    """The bundled trained model (see detectors/default_model/README.md)."""
    return DEFAULT_MODEL_DIR


@dataclass
class SurpriseArrays(EventSurprises):
    """Model outputs for a list of sequences, in input order."""

    embedding: np.ndarray
    """(B, H) final hidden states."""
    type_probs: np.ndarray | None
    """(B, C) over FRAUD_TYPES, when supervised."""


@dataclass
class ScoredSequences:
    """Scores and flags of a list of sequences, in input order, and what explains each one."""

    user_ids: list[str]
    """The user (or, for a case, its first event's user) of each sequence."""
    columns: EventColumns
    """The sequences' events, as they were scored."""
    scores: np.ndarray
    """(B,) fused scores."""
    flagged: np.ndarray
    """(B,) score ≥ the detector's threshold."""
    tails: np.ndarray
    """(B, S) each signal's tail probability, in the detector's `signal_names` order."""
    arrays: SurpriseArrays
    encoded: EncodedSequences
    detector: LSTMDetector

    def __len__(self) -> int:
        return len(self.user_ids)

    def explain(self, index: int) -> SequenceScore:
        """Everything the detector says about sequence `index`, every event's surprise included."""
        return SequenceScore(
            user_id=self.user_ids[index],
            score=float(self.scores[index]),
            flagged=bool(self.flagged[index]),
            events=self._event_surprises(index, np.arange(self.columns.lengths[index])),
            fraud_type_probs=self.fraud_type_probs(index),
            embedding=self.arrays.embedding[index].tolist(),
            end_surprise=float(self.arrays.end_nll[index]),
            signal_tail_probabilities=dict(
                zip(self.detector.signal_names, self.tails[index].tolist(), strict=True)
            ),
        )

    def top_events(self, index: int, k: int) -> list[EventSurprise]:
        """The `k` most surprising events of sequence `index`, most surprising first (ties in
        sequence order): `SequenceScore.top_events` without building every event."""
        order = np.argsort(-self.arrays.nll[index], kind="stable")[:k]
        return self._event_surprises(index, order)

    def fraud_type_probs(self, index: int) -> dict[str, float] | None:
        probs = self.arrays.type_probs
        if probs is None:
            return None
        return dict(zip(FRAUD_TYPES, probs[index].tolist(), strict=True))

    def _event_surprises(self, index: int, positions: np.ndarray) -> list[EventSurprise]:
        """The surprise of the events at `positions` of sequence `index`, in that order."""
        rows = self.encoded.features[int(self.encoded.offsets[index]) + positions]
        tokens = self.detector.token_names(rows)
        nll, rank = self.arrays.nll[index][positions], self.arrays.rank[index][positions]
        return [
            EventSurprise(index=position, token=token, nll=event_nll, rank=event_rank)
            for position, token, event_nll, event_rank in zip(
                positions.tolist(), tokens, nll.tolist(), rank.tolist(), strict=True
            )
        ]


class LSTMDetector(BaseDetector):
    """Next-event LSTM (self-supervised, with an end-of-sequence token) with an optional
    fraud-type head (supervised), fused with machine-speed and volume signals.

    Every signal (worst-event and ending surprise, top-g misses, fraud-pattern signals, the
    per-user aggregates, P(fraud)) becomes a tail probability on legitimate sequences; the
    score is 1 − their Cauchy combination, so one strong signal is enough (≈ S × its p) and
    several moderate ones add up. After training, `threshold_` = 1 − `contamination` (the flag
    budget): the combination's tail holds whatever the signals' dependence, so the threshold
    does not lean on how the signals happened to co-vary in the training data. Recalibrated on
    the traffic it will screen, the threshold flags the budget's share of those users.
    """

    def __init__(
        self,
        hidden: int = 128,
        embed_dim: int = 64,
        layers: int = 1,
        epochs: int = 6,
        batch_size: int = 64,
        lr: float = 3e-3,
        max_len: int = 256,
        min_count: int = 3,
        contamination: float = 0.05,
        calibration_share: float = CALIBRATION_SHARE,
        miss_quantile: float = 0.99,
        seed: int = 0,
        endings_known: bool = False,
        threads: int | None = None,
        device: str | None = None,
        progress: bool = False,
    ) -> None:
        self.hidden = hidden
        self.embed_dim = embed_dim
        self.layers = layers
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.max_len = max_len
        self.min_count = min_count
        self.contamination = contamination
        self.calibration_share = calibration_share
        self.miss_quantile = miss_quantile
        self.seed = seed
        self.endings_known = endings_known
        """Whether a sequence's last event is its true end (a finished session, as DeepLog's
        HDFS blocks are): only then does the ending's surprise enter the score. A user's events
        in a file are a window of an ongoing history — the window's edge is not the user's end,
        and cutting honest histories mid-way made the ending alone flag 12–88 % of them."""
        self.threads = threads
        self.device = device
        self.progress = progress
        self.tokenizer_: EventTokenizer | None = None
        self.model_: SequenceLSTM | None = None
        self.top_g_: int = 1
        self.event_tail_: TailCalibration | None = None
        self.aggregate_profile_: AggregateProfile | None = None
        self.calibrations_: dict[str, TailCalibration] = {}
        self.threshold_: float | None = None
        self.calibration_flag_rate_: float | None = None
        self.calibration_reference_: str | None = None
        """Whose legitimate users the signals were calibrated on when not the training split's
        held-out ones (see `recalibrated`)."""
        self.fills_budget_ = False
        """Whether the threshold flags the budget's share of the calibration users (recalibrated)
        rather than being 1 − the budget (trained)."""
        self.history_: list[dict[str, float]] = []
        self.validation_metrics_: dict[str, float] = {}
        self.version = "lstm-unfitted"
        self._token_names: dict[tuple[int, ...], str] = {}
        """Readable token of each feature row named so far (see `token_names`)."""

    # --- fitting -------------------------------------------------------------------------
    def fit(
        self,
        sequences: SequenceOf[Sequence],
        labels: SequenceOf[str] | None = None,
        on_epoch_end: Callable[[LSTMDetector, int], dict[str, float]] | None = None,
    ) -> Self:
        """Learn the vocabulary and the model on most sequences, then calibrate every signal
        and the threshold on the legitimate sequences held out (`calibration_share` of them).

        Labels (FRAUD_TYPES values) add the type head; without labels all sequences count as
        legitimate."""
        if not sequences:
            raise ValueError("cannot fit on 0 sequences; need ≥ 1")
        if labels is not None and len(labels) != len(sequences):
            raise ValueError(f"{len(labels)} labels for {len(sequences)} sequences; need one each")
        use_all_cores(self.threads)
        torch.manual_seed(self.seed)
        device = select_device(self.device)
        self.tokenizer_ = EventTokenizer(min_count=self.min_count).fit(sequences)
        self._token_names = {}
        encoded = self.tokenizer_.encode(sequences)
        type_ids = None if labels is None else _type_ids(labels)
        train_rows, calibration_rows = self._calibration_split(type_ids, len(sequences))
        calibration = [sequences[i] for i in calibration_rows]
        train_legit = [
            sequences[i] for i in train_rows if type_ids is None or type_ids[i] == 0
        ] or calibration
        self.aggregate_profile_ = AggregateProfile.fit(train_legit)
        config = LSTMConfig(
            feature_sizes=self.tokenizer_.feature_sizes,
            vocab_size=self.tokenizer_.vocab_size,
            n_types=len(FRAUD_TYPES) if labels is not None else 0,
            embed_dim=self.embed_dim,
            hidden=self.hidden,
            layers=self.layers,
        )
        self.model_ = SequenceLSTM(config).to(device)
        train_types = None if type_ids is None else type_ids[train_rows]
        if train_types is not None:
            self.model_.type_weights.copy_(torch.from_numpy(_balanced_weights(train_types)))
        train_config = TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            max_len=self.max_len,
            seed=self.seed,
            threads=self.threads,
        )

        pooled_behaviour = behaviour_signals(train_legit)

        def after_epoch(epoch: int) -> dict[str, float]:
            self._calibrate(calibration, pooled_behaviour)
            return {} if on_epoch_end is None else on_epoch_end(self, epoch)

        self.history_ = train_model(
            self.model_,
            _rows(encoded, train_rows),
            train_types,
            train_config,
            device,
            on_epoch_end=after_epoch,
            progress=self.progress,
        )
        self.version = self._content_version()
        return self

    def _calibration_split(
        self, type_ids: np.ndarray | None, count: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """(training rows, calibration rows): a seeded share of the legitimate rows is held out;
        with fewer than 2 legitimate rows everything trains and calibrates."""
        legit = np.arange(count) if type_ids is None else np.flatnonzero(type_ids == 0)
        if legit.size < 2:
            raise ValueError(f"{legit.size} legitimate sequences; need ≥ 2 to calibrate on")
        held_out = max(1, round(self.calibration_share * legit.size))
        chosen = np.random.default_rng(self.seed).permutation(legit)[:held_out]
        is_calibration = np.zeros(count, dtype=bool)
        is_calibration[chosen] = True
        return np.flatnonzero(~is_calibration), np.sort(chosen)

    def _calibrate(
        self,
        legitimate: SequenceOf[Sequence],
        pooled_behaviour: np.ndarray | None = None,
        fill_budget: bool = False,
    ) -> None:
        """g, the event-surprise tail and each signal's tail from held-out legitimate data; the
        behaviour signals, which no model learned, also from the training legitimate users'
        `pooled_behaviour` (B, len(BEHAVIOUR_SIGNALS)) when given, five times the reference for
        rare patterns. The threshold is 1 − the flag budget on the combined tail probability,
        or (`fill_budget`) the score that flags the budget's share of `legitimate`."""
        self.calibrations_ = {}  # every signal of this code, those added since included
        arrays = self.surprise_arrays(legitimate)
        self.top_g_ = top_g_for(arrays, self.miss_quantile)
        self.event_tail_ = fit_event_tail(arrays)
        values = self.signal_values(arrays, legitimate)
        for column, name in enumerate(self.signal_names):
            reference = values[:, column]
            if name in BEHAVIOUR_SIGNALS and pooled_behaviour is not None:
                pooled = pooled_behaviour[:, BEHAVIOUR_SIGNALS.index(name)]
                reference = np.concatenate([reference, pooled])
            self.calibrations_[name] = TailCalibration.fit(reference)
        scores = self.fused_scores(arrays, legitimate)
        self.fills_budget_ = fill_budget
        self.threshold_ = (
            threshold_for_flag_rate(scores, self.contamination)
            if fill_budget
            else 1.0 - self.contamination
        )
        self.calibration_flag_rate_ = float((scores >= self.threshold_).mean())

    def recalibrated(
        self, legitimate: SequenceOf[Sequence], reference: str, flag_budget: float | None = None
    ) -> LSTMDetector:
        """A copy with the same weights and aggregate profile whose g, event-surprise tail,
        signal tails and threshold are calibrated on `legitimate`: the legitimate users of the
        traffic it will screen (another platform, another season), described by `reference`.
        The flag budget (default: this detector's) then holds there without retraining: the
        threshold is the score that flags that share of these users (no headroom is kept for
        traffic unlike them: they are the traffic). Fraud among them lowers recall: each one
        makes its pattern look ordinary, and takes a flag of the budget."""
        if len(legitimate) < MIN_CALIBRATION_USERS:
            raise ValueError(
                f"{len(legitimate)} legitimate users to calibrate on; need ≥ "
                f"{MIN_CALIBRATION_USERS} for tails at a {self.contamination:.0%} budget"
            )
        detector = copy.copy(self)  # the model is shared; every calibrated part is replaced
        if flag_budget is not None:
            detector.contamination = flag_budget
        detector._calibrate(legitimate, fill_budget=True)  # the same users: nothing to pool
        detector.calibration_reference_ = reference
        detector.validation_metrics_ = {}  # they were the old calibration's
        detector.version = detector._content_version()
        return detector

    @property
    def supervised(self) -> bool:
        return self._fitted_model().type_head is not None

    @property
    def signal_names(self) -> tuple[str, ...]:
        """Every signal the score fuses, in column order: this code's, less the behaviour
        signals added after the detector was calibrated (recalibrating adds them)."""
        return tuple(
            name
            for name in self._code_signals
            if not self.calibrations_ or name in self.calibrations_
        )

    @property
    def _code_signals(self) -> tuple[str, ...]:
        supervised = (SUPERVISED_SIGNAL,) if self.supervised else ()
        return (*SURPRISE_SIGNALS, *BEHAVIOUR_SIGNALS, AGGREGATE_SIGNAL, *supervised)

    @property
    def combined_signals(self) -> tuple[str, ...]:
        """The signals the score combines: those that vary on the legitimate reference, and
        the ending only when `endings_known`. One constant there (payments or reviews in server
        logs) has no tail to estimate and would only dilute the others; its tail probability
        is still reported."""
        usable = tuple(n for n in self.signal_names if self.endings_known or n != END_SIGNAL)
        varying = tuple(n for n in usable if self.calibrations_[n].varies)
        return varying or usable

    # --- scoring -------------------------------------------------------------------------
    def decision_function(self, sequences: SequenceOf[Sequence]) -> np.ndarray:
        return self.fused_scores(self.surprise_arrays(sequences), sequences)

    def surprise_arrays(self, sequences: SequenceOf[Sequence]) -> SurpriseArrays:
        """Per-event NLL and rank, the ending's, embeddings and type probabilities, in order."""
        self._fitted_model()
        assert self.tokenizer_ is not None
        return self._surprise_encoded(self.tokenizer_.encode(sequences))

    def signal_values(
        self, arrays: SurpriseArrays, sequences: SequenceOf[Sequence] | EventColumns
    ) -> np.ndarray:
        """(B, S) raw signals in `signal_names` order."""
        if self.aggregate_profile_ is None or self.event_tail_ is None:
            raise NotFittedError("LSTMDetector has no calibration; call fit(sequences)")
        events = EventColumns.of(sequences)
        columns = [
            surprise_signals(arrays, self.top_g_, self.event_tail_),
            behaviour_signals(events),
            self.aggregate_profile_.distance(events)[:, None],
        ]
        if arrays.type_probs is not None:
            columns.append(1.0 - arrays.type_probs[:, :1].astype(np.float64))
        values = np.concatenate(columns, axis=1)
        code_signals = self._code_signals
        return values[:, [code_signals.index(name) for name in self.signal_names]]

    def tail_probabilities(
        self, arrays: SurpriseArrays, sequences: SequenceOf[Sequence] | EventColumns
    ) -> np.ndarray:
        """(B, S) P(a legitimate sequence is at least this extreme), per signal."""
        if not self.calibrations_:
            raise NotFittedError("LSTMDetector has no calibration; call fit(sequences) first")
        values = self.signal_values(arrays, sequences)
        return np.stack(
            [
                self.calibrations_[name].tail_probability(values[:, column])
                for column, name in enumerate(self.signal_names)
            ],
            axis=1,
        )

    def fused_scores(
        self,
        arrays: SurpriseArrays,
        sequences: SequenceOf[Sequence] | EventColumns,
        signals: SequenceOf[str] | None = None,
    ) -> np.ndarray:
        """Scores from model outputs; `signals` (default: `combined_signals`) restricts the
        fusion to some of them (reports use it to show the parts alone)."""
        return self._fuse(self.tail_probabilities(arrays, sequences), signals)

    def _fuse(
        self, probabilities: np.ndarray, signals: SequenceOf[str] | None = None
    ) -> np.ndarray:
        """(B, S) tail probabilities in `signal_names` order → (B,) scores."""
        chosen = self.combined_signals if signals is None else tuple(signals)
        unknown = sorted(set(chosen) - set(self.signal_names))
        if unknown:
            raise ValueError(f"signals {unknown} are not among {self.signal_names}")
        columns = [self.signal_names.index(name) for name in chosen]
        return fuse_tail_probabilities(probabilities[:, columns])

    def _surprise_encoded(self, encoded: EncodedSequences) -> SurpriseArrays:
        model = self._fitted_model()
        device = next(model.parameters()).device
        lengths = encoded.lengths
        count = lengths.size
        nll: list[np.ndarray] = [np.zeros(0)] * count
        rank: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * count
        end_nll = np.zeros(count)
        end_rank = np.zeros(count, dtype=np.int64)
        embedding = np.zeros((count, model.config.hidden), dtype=np.float32)
        type_probs = np.zeros((count, model.config.n_types)) if model.type_head else None
        budget = max(4096, 2_000_000 // max(model.config.vocab_size, 1))
        with torch.inference_mode(), autocast_for(device):
            for indices in length_batches(lengths, max_tokens=budget):
                batch = padded_batch(encoded, indices, device)
                out = model.surprise(batch.x, batch.lengths, batch.targets)
                batch_nll = out.nll.cpu().numpy().astype(np.float64)
                batch_rank = out.rank.cpu().numpy()
                for row, index in enumerate(indices):
                    nll[index] = batch_nll[row, : lengths[index]]
                    rank[index] = batch_rank[row, : lengths[index]]
                end_nll[indices] = out.end_nll.cpu().numpy()
                end_rank[indices] = out.end_rank.cpu().numpy()
                embedding[indices] = out.final.cpu().numpy()
                if type_probs is not None and out.type_probs is not None:
                    type_probs[indices] = out.type_probs.cpu().numpy()
        return SurpriseArrays(nll, rank, end_nll, end_rank, embedding, type_probs)

    def explain(self, sequences: SequenceOf[Sequence]) -> list[SequenceScore]:
        """Score, flag, per-event and ending surprise, each signal's tail probability, type
        probabilities and embedding per sequence."""
        scored = self.score_sequences(sequences)
        return [scored.explain(index) for index in range(len(sequences))]

    def score_sequences(self, sequences: SequenceOf[Sequence]) -> ScoredSequences:
        """Scores and flags of every sequence; what explains one is built when it is asked for
        (a screen writes the few flagged users: per-event detail for all cost more than the
        model)."""
        columns = EventColumns.from_sequences(sequences)  # read once, for tokens and signals
        return self.score_columns(columns, [sequence.user_id for sequence in sequences])

    def score_columns(self, columns: EventColumns, user_ids: list[str]) -> ScoredSequences:
        """`score_sequences` of sequences given as their columns (a screen reads them so)."""
        threshold = self._fitted_threshold()
        assert self.tokenizer_ is not None
        encoded = self.tokenizer_.encode(columns)
        arrays = self._surprise_encoded(encoded)
        tails = self.tail_probabilities(arrays, columns)
        scores = self._fuse(tails)
        flagged = scores >= threshold
        return ScoredSequences(user_ids, columns, scores, flagged, tails, arrays, encoded, self)

    def token_names(self, features: np.ndarray) -> list[str]:
        """Readable token of each (N_FEATURES,) feature row, e.g.
        `payment_attempt|gap<10s|amt<5|declined`; each distinct row is named once and kept."""
        assert self.tokenizer_ is not None
        names = []
        for row in map(tuple, features.tolist()):
            name = self._token_names.get(row)
            if name is None:
                name = self._token_names[row] = self.tokenizer_.feature_names(np.asarray(row))
            names.append(name)
        return names

    # --- persistence ---------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Weights as safetensors, everything else as JSON; no pickle."""
        model = self._fitted_model()
        assert self.tokenizer_ is not None
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        save_file(self._state_dict(), str(directory / WEIGHTS_FILE))
        meta = {
            "format_version": FORMAT_VERSION,
            "version": self.version,
            "model": asdict(model.config),
            "params": self._params(),
            "tokenizer": self.tokenizer_.to_dict(),
            "threshold": self.threshold_,
            "calibration": self._calibration_record(),
            "fraud_types": list(FRAUD_TYPES),
            "history": self.history_,
            "validation_metrics": self.validation_metrics_,
        }
        (directory / CONFIG_FILE).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: str | Path, device: str | None = None) -> LSTMDetector:
        directory = Path(directory)
        config_path = directory / CONFIG_FILE
        if not config_path.is_file():
            raise FileNotFoundError(f"no {CONFIG_FILE} in {directory}; not a saved detector")
        meta = json.loads(config_path.read_text(encoding="utf-8"))
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"{config_path}: format_version {meta.get('format_version')!r}, "
                f"this code reads {FORMAT_VERSION}"
            )
        if meta["fraud_types"] != list(FRAUD_TYPES):
            raise ValueError(f"{config_path}: saved fraud types differ from FRAUD_TYPES")
        detector = cls(**meta["params"], device=device)
        detector.tokenizer_ = EventTokenizer.from_dict(meta["tokenizer"])
        model_config = LSTMConfig(
            **{**meta["model"], "feature_sizes": tuple(meta["model"]["feature_sizes"])}
        )
        model = SequenceLSTM(model_config)
        model.load_state_dict(load_file(str(directory / WEIGHTS_FILE)))
        detector.model_ = model.to(select_device(device)).eval()
        detector.threshold_ = float(meta["threshold"])
        detector.top_g_ = int(meta["calibration"]["top_g"])
        detector.event_tail_ = TailCalibration.from_dict(meta["calibration"]["event_surprise"])
        detector.calibration_flag_rate_ = meta["calibration"].get("held_out_flag_rate")
        detector.calibration_reference_ = meta["calibration"].get("reference")
        detector.fills_budget_ = bool(meta["calibration"].get("fills_budget", False))
        detector.aggregate_profile_ = AggregateProfile.from_dict(
            meta["calibration"]["aggregate_profile"]
        )
        detector.calibrations_ = {
            name: TailCalibration.from_dict(data)
            for name, data in meta["calibration"]["signals"].items()
        }
        saved, code = set(detector.calibrations_), set(detector._code_signals)
        if not saved <= code or not code - set(BEHAVIOUR_SIGNALS) <= saved:
            raise ValueError(
                f"{config_path}: calibrated signals {sorted(saved)} differ from this code's "
                f"{sorted(code)} (only behaviour signals added since may be missing); retrain "
                "the detector"
            )
        detector.history_ = list(meta.get("history", []))
        detector.validation_metrics_ = dict(meta.get("validation_metrics", {}))
        detector.version = str(meta["version"])
        use_all_cores()
        return detector

    # --- internals -----------------------------------------------------------------------
    def _params(self) -> dict[str, Any]:
        return {
            "hidden": self.hidden,
            "embed_dim": self.embed_dim,
            "layers": self.layers,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "max_len": self.max_len,
            "min_count": self.min_count,
            "contamination": self.contamination,
            "calibration_share": self.calibration_share,
            "miss_quantile": self.miss_quantile,
            "seed": self.seed,
            "endings_known": self.endings_known,
        }

    def _calibration_record(self) -> dict[str, Any]:
        """How the score was calibrated, for the model file and the reports."""
        return {
            "rule": "score = 1 - Cauchy combination of each signal's tail probability on "
            "legitimate sequences (each capped at 0.5); flagged when score >= threshold = "
            + (
                "the score that flags flag_budget of the reference users"
                if self.fills_budget_
                else "1 - flag_budget"
            ),
            "fills_budget": self.fills_budget_,
            "flag_budget": self.contamination,
            "held_out_flag_rate": self.calibration_flag_rate_,
            **({"reference": self.calibration_reference_} if self.calibration_reference_ else {}),
            "combined_signals": list(self.combined_signals) if self.calibrations_ else None,
            "top_g": self.top_g_,
            "event_surprise": self.event_tail_.to_dict() if self.event_tail_ else None,
            "aggregate_profile": self.aggregate_profile_.to_dict()
            if self.aggregate_profile_
            else None,
            "signals": {name: tail.to_dict() for name, tail in self.calibrations_.items()},
        }

    def _state_dict(self) -> dict[str, torch.Tensor]:
        model = self._fitted_model()
        return {
            name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()
        }

    def _content_version(self) -> str:
        """Date and a hash of the weights and the calibration (a new calibration of the same
        weights is a new detector)."""
        digest = hashlib.sha256()
        for name, tensor in sorted(self._state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.float().numpy().tobytes())
        digest.update(json.dumps(self._calibration_record(), sort_keys=True).encode())
        return f"lstm-{datetime.now(UTC):%Y%m%d}-{digest.hexdigest()[:8]}"

    def _fitted_model(self) -> SequenceLSTM:
        if self.model_ is None or self.tokenizer_ is None:
            raise NotFittedError("LSTMDetector is not fitted; call fit(sequences) or load(dir)")
        return self.model_


def _rows(encoded: EncodedSequences, rows: np.ndarray) -> EncodedSequences:
    """The sequences at `rows` of `encoded`, in that order."""
    starts, ends = encoded.offsets[rows], encoded.offsets[rows + 1]
    lengths = ends - starts
    offsets = np.zeros(rows.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    events = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
    return EncodedSequences(encoded.features[events], encoded.tokens[events], offsets)


def _type_ids(labels: SequenceOf[str]) -> np.ndarray:
    index = {name: position for position, name in enumerate(FRAUD_TYPES)}
    unknown = sorted({label for label in labels if label not in index})
    if unknown:
        raise ValueError(f"labels {unknown} are not FRAUD_TYPES values ({', '.join(FRAUD_TYPES)})")
    assert FRAUD_TYPES[0] == LEGIT
    return np.asarray([index[label] for label in labels], dtype=np.int64)


def _balanced_weights(type_ids: np.ndarray) -> np.ndarray:
    """n / (k · count) per present class (sklearn's "balanced"); absent classes weigh 0."""
    counts = np.bincount(type_ids, minlength=len(FRAUD_TYPES)).astype(np.float64)
    present = counts > 0
    weights = np.zeros_like(counts)
    weights[present] = type_ids.size / (present.sum() * counts[present])
    return weights.astype(np.float32)


def load_detector(path: Path | None = None, device: str | None = None) -> LSTMDetector:
    """A saved detector; None → the bundled default model."""
    return LSTMDetector.load(path if path is not None else DEFAULT_MODEL_DIR, device=device)
