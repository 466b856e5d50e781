"""`fraudlens eval detector`: ranking quality of the LSTM and every baseline, side by side."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import typer

from detectors.base import LEGIT, BaseDetector
from detectors.baselines import IsolationForestDetector, NgramDetector
from detectors.detector import SUPERVISED_SIGNAL, LSTMDetector
from detectors.quality import ranking_metrics
from detectors.rules import RuleDetector
from detectors.sequence_files import LoadedSequences, load_sequences
from detectors.sequences import Sequence

REAL_SETS = ("fraud_data", "talkingdata")
LEAKING_ACTIONS = {"talkingdata": frozenset({"app_install"})}
"""Events that *are* the label (TalkingData's is "never installed"): removed before scoring."""


@dataclass
class DetectorResult:
    name: str
    metrics: dict[str, float]
    type_recall: dict[str, float] = field(default_factory=dict)


@dataclass
class SetResult:
    name: str
    sequences: int
    fraud: int
    note: str
    type_flag_rate: float
    """Flag budget (share of users) at which per-type recall is measured, the same for all."""
    detectors: list[DetectorResult]


def _baselines(seed: int) -> dict[str, BaseDetector]:
    return {
        "n-gram (trigram)": NgramDetector(),
        "isolation forest": IsolationForestDetector(seed=seed),
        "rules": RuleDetector(),
    }


def _score_set(
    name: str,
    note: str,
    test: LoadedSequences,
    scorers: dict[str, Callable[[list[Sequence]], np.ndarray]],
    type_flag_rate: float,
) -> SetResult:
    assert test.labels is not None
    labels = np.asarray(test.labels)
    is_fraud = labels != LEGIT
    results = []
    for scorer_name, score in scorers.items():
        scores = score(test.sequences)
        type_recall = {
            fraud_type: _type_recall(scores, is_fraud, labels == fraud_type, type_flag_rate)
            for fraud_type in sorted(set(test.labels) - {LEGIT})
        }
        results.append(DetectorResult(scorer_name, ranking_metrics(scores, is_fraud), type_recall))
    return SetResult(name, len(test.sequences), int(is_fraud.sum()), note, type_flag_rate, results)


def _type_recall(
    scores: np.ndarray, is_fraud: np.ndarray, of_type: np.ndarray, flag_rate: float
) -> float:
    """Share of one fraud type among the top `flag_rate` of scores."""
    top = np.argsort(-scores, kind="stable")[: max(1, round(flag_rate * scores.size))]
    return float(of_type[top].sum() / max(int(of_type.sum()), 1))


def evaluate_simulator(
    detector: LSTMDetector, train: LoadedSequences, test: LoadedSequences, seed: int
) -> SetResult:
    """The trained detector, and baselines fitted on the simulator's train split, on its test."""
    scorers: dict[str, Callable[[list[Sequence]], np.ndarray]] = {
        f"lstm ({detector.version})": detector.decision_function,
        "lstm without P(fraud)": lambda s: _without_supervised(detector, s),
    }
    for name, baseline in _baselines(seed).items():
        baseline.fit(train.sequences, train.labels)
        scorers[name] = baseline.decision_function
    flag_rate = float(detector.predict(test.sequences).mean())
    note = f"per-type recall at the LSTM's own flag rate at its threshold ({flag_rate:.1%})"
    return _score_set("simulator test", note, test, scorers, flag_rate)


def evaluate_real(
    fmt: str, path: Path, epochs: int, seed: int, threads: int | None = None
) -> SetResult:
    """Fit everything on a seeded half of the users, score the other half."""
    loaded = load_sequences(path, fmt, with_labels=True)
    assert loaded.labels is not None
    leaking = LEAKING_ACTIONS.get(fmt, frozenset())
    pairs = [
        (Sequence(s.user_id, [e for e in s.events if e.action not in leaking]), label)
        for s, label in zip(loaded.sequences, loaded.labels, strict=True)
    ]
    pairs = [(s, label) for s, label in pairs if s.events]
    order = np.random.default_rng(seed).permutation(len(pairs))
    half = order.size // 2

    def part(indices: np.ndarray) -> LoadedSequences:
        chosen = [pairs[i] for i in indices]
        return LoadedSequences(
            [s for s, _ in chosen], [label for _, label in chosen], None, loaded.report
        )

    train, test = part(order[:half]), part(order[half:])
    assert train.labels is not None
    lstm = LSTMDetector(
        hidden=64, embed_dim=32, epochs=epochs, seed=seed, threads=threads, progress=True
    )
    lstm.fit(train.sequences, train.labels)
    scorers: dict[str, Callable[[list[Sequence]], np.ndarray]] = {
        "lstm (fitted on the other half)": lstm.decision_function,
        "lstm without P(fraud)": lambda s: _without_supervised(lstm, s),
    }
    for name, baseline in _baselines(seed).items():
        baseline.fit(train.sequences, train.labels)
        scorers[name] = baseline.decision_function
    note = f"users split 50/50 (seed {seed}); fitted on one half, scored on the other"
    if leaking:
        note += f"; {', '.join(sorted(leaking))} events removed (they are the label)"
    fraud_share = float(np.mean([label != LEGIT for label in test.labels or []]))
    return _score_set(f"{fmt} (real labels)", note, test, scorers, min(fraud_share, 1.0))


def _without_supervised(detector: LSTMDetector, sequences: list[Sequence]) -> np.ndarray:
    """The fused score of the self-supervised and behaviour signals alone."""
    signals = [name for name in detector.signal_names if name != SUPERVISED_SIGNAL]
    return detector.fused_scores(detector.surprise_arrays(sequences), sequences, signals)


def print_set_result(result: SetResult) -> None:
    typer.echo(f"\n## {result.name}: {result.sequences} sequences, {result.fraud} fraud")
    typer.echo(f"({result.note})")
    names = list(result.detectors[0].metrics)
    typer.echo(f"{'detector':<34}" + "".join(f"{name:>12}" for name in names))
    for detector in result.detectors:
        values = "".join(f"{detector.metrics[name]:>12.4f}" for name in names)
        typer.echo(f"{detector.name:<34}{values}")
    types = list(result.detectors[0].type_recall)
    if len(types) > 1:
        typer.echo(f"\nrecall per fraud type at flag rate {result.type_flag_rate:.1%}:")
        typer.echo(f"{'type':<20}" + "".join(f"{d.name[:16]:>18}" for d in result.detectors))
        for fraud_type in types:
            row = "".join(f"{d.type_recall[fraud_type]:>18.3f}" for d in result.detectors)
            typer.echo(f"{fraud_type:<20}{row}")


def set_result_dict(result: SetResult) -> dict[str, object]:
    return {
        "set": result.name,
        "sequences": result.sequences,
        "fraud": result.fraud,
        "note": result.note,
        "type_flag_rate": result.type_flag_rate,
        "detectors": [
            {"name": d.name, "metrics": d.metrics, "type_recall": d.type_recall}
            for d in result.detectors
        ],
    }
