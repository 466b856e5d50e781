"""The LSTM detector: PyOD-style fit / score / explain, saved as safetensors + JSON."""

from __future__ import annotations

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

from detectors.base import LEGIT, BaseDetector, threshold_for_flag_rate
from detectors.cases import FRAUD_TYPES
from detectors.model import LSTMConfig, SequenceLSTM, autocast_for, select_device
from detectors.quality import ranking_metrics
from detectors.scores import EventSurprise, SequenceScore
from detectors.sequences import Sequence
from detectors.tokenizer import EncodedSequences, EventTokenizer, NotFittedError
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
FORMAT_VERSION = 2
SUPERVISED_WEIGHTS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
"""Never 1: some self-supervised surprise stays in the score for fraud unlike any label seen."""


def default_model_dir() -> Path:
    """The bundled trained model (see detectors/default_model/README.md)."""
    return DEFAULT_MODEL_DIR


@dataclass
class SurpriseArrays:
    """Model outputs for a list of sequences, in input order."""

    nll: list[np.ndarray]
    rank: list[np.ndarray]
    embedding: np.ndarray
    """(B, H) final hidden states."""
    type_probs: np.ndarray | None
    """(B, C) over FRAUD_TYPES, when supervised."""


class LSTMDetector(BaseDetector):
    """Next-event LSTM (self-supervised) with an optional fraud-type head (supervised).

    Score = mean per-event surprise, squashed to (0, 1) against the training sequences;
    with the supervised head it is `supervised_weight` × P(fraud) + the rest × that surprise.
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
        supervised_weight: float = 0.8,
        seed: int = 0,
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
        self.supervised_weight = supervised_weight
        self.seed = seed
        self.threads = threads
        self.device = device
        self.progress = progress
        self.tokenizer_: EventTokenizer | None = None
        self.model_: SequenceLSTM | None = None
        self.surprise_center_: float = 0.0
        self.surprise_scale_: float = 1.0
        self.threshold_: float | None = None
        self.history_: list[dict[str, float]] = []
        self.validation_metrics_: dict[str, float] = {}
        self.version = "lstm-unfitted"

    # --- fitting -------------------------------------------------------------------------
    def fit(
        self,
        sequences: SequenceOf[Sequence],
        labels: SequenceOf[str] | None = None,
        on_epoch_end: Callable[[LSTMDetector, int], dict[str, float]] | None = None,
    ) -> Self:
        """Learn the vocabulary and the model; labels (FRAUD_TYPES values) add the type head."""
        if not sequences:
            raise ValueError("cannot fit on 0 sequences; need ≥ 1")
        if labels is not None and len(labels) != len(sequences):
            raise ValueError(f"{len(labels)} labels for {len(sequences)} sequences; need one each")
        use_all_cores(self.threads)
        torch.manual_seed(self.seed)
        device = select_device(self.device)
        self.tokenizer_ = EventTokenizer(min_count=self.min_count).fit(sequences)
        encoded = self.tokenizer_.encode(sequences)
        type_ids = None if labels is None else _type_ids(labels)
        config = LSTMConfig(
            feature_sizes=self.tokenizer_.feature_sizes,
            vocab_size=self.tokenizer_.vocab_size,
            n_types=len(FRAUD_TYPES) if labels is not None else 0,
            embed_dim=self.embed_dim,
            hidden=self.hidden,
            layers=self.layers,
        )
        self.model_ = SequenceLSTM(config).to(device)
        if type_ids is not None:
            self.model_.type_weights.copy_(torch.from_numpy(_balanced_weights(type_ids)))
        train_config = TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            max_len=self.max_len,
            seed=self.seed,
            threads=self.threads,
        )
        self.threshold_ = 0.0  # scoring during training needs a threshold; refined below
        self.history_ = train_model(
            self.model_,
            encoded,
            type_ids,
            train_config,
            device,
            on_epoch_end=None if on_epoch_end is None else lambda epoch: on_epoch_end(self, epoch),
            progress=self.progress,
        )
        arrays = self._surprise_encoded(encoded)
        surprise = self._sequence_surprise(arrays.nll)
        legit = surprise if labels is None else surprise[type_ids == 0]
        reference = legit if legit.size else surprise
        self.surprise_center_ = float(np.median(reference))
        spread = float(np.quantile(reference, 0.75) - np.quantile(reference, 0.25))
        self.surprise_scale_ = max(spread, 1e-3)
        self.threshold_ = threshold_for_flag_rate(self.combine(arrays), self.contamination)
        self.version = self._content_version()
        return self

    @property
    def supervised(self) -> bool:
        return self._fitted_model().type_head is not None

    # --- scoring -------------------------------------------------------------------------
    def decision_function(self, sequences: SequenceOf[Sequence]) -> np.ndarray:
        return self.combine(self.surprise_arrays(sequences))

    def surprise_arrays(self, sequences: SequenceOf[Sequence]) -> SurpriseArrays:
        """Per-event NLL and rank, embeddings and type probabilities, in input order."""
        self._fitted_model()
        assert self.tokenizer_ is not None
        return self._surprise_encoded(self.tokenizer_.encode(sequences))

    def surprise_only(self, arrays: SurpriseArrays) -> np.ndarray:
        """The self-supervised part of the score alone (for reports comparing the two)."""
        z = (self._sequence_surprise(arrays.nll) - self.surprise_center_) / self.surprise_scale_
        return 1.0 / (1.0 + np.exp(-z))

    def tune_supervised_weight(self, arrays: SurpriseArrays, is_fraud: np.ndarray) -> float:
        """Pick `supervised_weight` from SUPERVISED_WEIGHTS by ROC-AUC on held-out labels."""
        if arrays.type_probs is None:
            raise ValueError("only a detector fitted with labels has a supervised part to weigh")
        auc = {
            weight: ranking_metrics(self.combine(arrays, weight), is_fraud)["roc_auc"]
            for weight in SUPERVISED_WEIGHTS
        }
        self.supervised_weight = max(auc, key=lambda weight: (auc[weight], weight))
        return self.supervised_weight

    def combine(self, arrays: SurpriseArrays, weight: float | None = None) -> np.ndarray:
        """Sequence scores from model outputs (see the class docstring)."""
        surprise = self.surprise_only(arrays)
        if arrays.type_probs is None:
            return surprise
        weight = self.supervised_weight if weight is None else weight
        fraud = 1.0 - arrays.type_probs[:, 0].astype(np.float64)
        return weight * fraud + (1 - weight) * surprise

    @staticmethod
    def _sequence_surprise(nll: list[np.ndarray]) -> np.ndarray:
        return np.asarray([float(values.mean()) if values.size else 0.0 for values in nll])

    def _surprise_encoded(self, encoded: EncodedSequences) -> SurpriseArrays:
        model = self._fitted_model()
        device = next(model.parameters()).device
        lengths = encoded.lengths
        count = lengths.size
        nll: list[np.ndarray] = [np.zeros(0)] * count
        rank: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * count
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
                embedding[indices] = out.final.cpu().numpy()
                if type_probs is not None and out.type_probs is not None:
                    type_probs[indices] = out.type_probs.cpu().numpy()
        return SurpriseArrays(nll, rank, embedding, type_probs)

    def explain(self, sequences: SequenceOf[Sequence]) -> list[SequenceScore]:
        """Score, flag, per-event surprise, type probabilities and embedding per sequence."""
        threshold = self._fitted_threshold()
        assert self.tokenizer_ is not None
        encoded = self.tokenizer_.encode(sequences)
        arrays = self._surprise_encoded(encoded)
        scores = self.combine(arrays)
        results = []
        for index, sequence in enumerate(sequences):
            start = int(encoded.offsets[index])
            events = [
                EventSurprise(
                    index=position,
                    token=self.tokenizer_.feature_names(encoded.features[start + position]),
                    nll=float(arrays.nll[index][position]),
                    rank=int(arrays.rank[index][position]),
                )
                for position in range(len(sequence.events))
            ]
            probs = None
            if arrays.type_probs is not None:
                probs = {
                    name: float(p)
                    for name, p in zip(FRAUD_TYPES, arrays.type_probs[index], strict=True)
                }
            results.append(
                SequenceScore(
                    user_id=sequence.user_id,
                    score=float(scores[index]),
                    flagged=bool(scores[index] >= threshold),
                    events=events,
                    fraud_type_probs=probs,
                    embedding=arrays.embedding[index].tolist(),
                )
            )
        return results

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
            "surprise_center": self.surprise_center_,
            "surprise_scale": self.surprise_scale_,
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
        detector.surprise_center_ = float(meta["surprise_center"])
        detector.surprise_scale_ = float(meta["surprise_scale"])
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
            "supervised_weight": self.supervised_weight,
            "seed": self.seed,
        }

    def _state_dict(self) -> dict[str, torch.Tensor]:
        model = self._fitted_model()
        return {
            name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()
        }

    def _content_version(self) -> str:
        digest = hashlib.sha256()
        for name, tensor in sorted(self._state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.float().numpy().tobytes())
        return f"lstm-{datetime.now(UTC):%Y%m%d}-{digest.hexdigest()[:8]}"

    def _fitted_model(self) -> SequenceLSTM:
        if self.model_ is None or self.tokenizer_ is None:
            raise NotFittedError("LSTMDetector is not fitted; call fit(sequences) or load(dir)")
        return self.model_


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
