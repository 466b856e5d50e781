"""`fraudlens eval detector`: ranking quality of the LSTM and every baseline, side by side."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from detectors.adapters import real_data_path
from detectors.base import LEGIT, BaseDetector
from detectors.baselines import IsolationForestDetector, NgramDetector
from detectors.detector import SUPERVISED_SIGNAL, LSTMDetector, load_detector
from detectors.quality import ranking_metrics
from detectors.rules import RuleDetector
from detectors.sequence_files import LoadedSequences, load_sequences
from detectors.sequences import Sequence
from detectors.training import use_all_cores
from evals.detector_hdfs import evaluate_hdfs
from evals.detector_open_world import (
    evaluate_cross_simulator,
    evaluate_leave_one_type_out,
    print_leave_one_type_out,
    small_lstm,
)
from evals.detector_operating import (
    OperatingTable,
    operating_table_dict,
    print_operating_table,
)

DATASETS_DIR = Path(__file__).resolve().parent / "datasets"
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


def _print_set(result: SetResult) -> None:
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


def eval_detector(
    model: Annotated[
        Path | None, typer.Option(help="Detector folder; default: the bundled model.")
    ] = None,
    train: Annotated[
        Path, typer.Option(help="Simulator train split (cases) the baselines are fitted on.")
    ] = DATASETS_DIR / "sim_v1_train.jsonl.gz",
    test: Annotated[Path, typer.Option(help="Simulator test split (cases).")] = DATASETS_DIR
    / "sim_v1_test.jsonl.gz",
    other_train: Annotated[
        Path, typer.Option(help="Another simulator version's train split (cases).")
    ] = DATASETS_DIR / "sim_v2_train.jsonl.gz",
    other_test: Annotated[
        Path, typer.Option(help="Another simulator version's test split (cases).")
    ] = DATASETS_DIR / "sim_v2_test.jsonl.gz",
    real: Annotated[
        bool, typer.Option(help="Also fit and score on TalkingData and Fraud_Data.")
    ] = True,
    hdfs: Annotated[
        bool, typer.Option(help="Also train without labels on HDFS normal sessions (DeepLog).")
    ] = True,
    leave_one_out: Annotated[
        bool, typer.Option(help="Also retrain once per fraud type without it (slow).")
    ] = True,
    cross_sim: Annotated[
        bool, typer.Option(help="Also test across simulator versions (--other-train/-test).")
    ] = True,
    flag_budget: Annotated[
        float, typer.Option(help="Share of legitimate training users each baseline flags.")
    ] = 0.05,
    hdfs_flag_budget: float = 0.02,
    real_epochs: int = 3,
    retrain_epochs: Annotated[
        int, typer.Option(help="Epochs of every LSTM an open-world eval trains.")
    ] = 4,
    seed: int = 0,
    threads: Annotated[int | None, typer.Option(help="CPU threads; default every core.")] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="JSON of every number printed.")
    ] = Path("runs/detector_quality.json"),
) -> None:
    """Ranking (ROC-AUC, PR-AUC, recall at 1 % / 5 %) and operating-threshold figures (legit
    flagged, recall, per type) of the LSTM beside every baseline; open-world sets optional."""
    needed = [train, test] + ([other_train, other_test] if cross_sim else [])
    for path in needed:
        if not path.is_file():
            raise typer.BadParameter(f"case file not found: {path}")
    try:
        detector = load_detector(model)
    except (FileNotFoundError, ValueError) as error:
        raise typer.BadParameter(str(error), param_hint="--model") from None
    use_all_cores(threads)
    train_set = load_sequences(train, "cases", with_labels=True)
    test_set = load_sequences(test, "cases", with_labels=True)
    for loaded in (train_set, test_set):
        loaded.report.print_to(sys.stderr, max_problems=3)
    results = [evaluate_simulator(detector, train_set, test_set, seed)]
    _print_set(results[-1])
    tables: list[OperatingTable] = []

    def add(table: OperatingTable) -> None:
        tables.append(table)
        if table.title.startswith("leave one"):
            print_leave_one_type_out(table)
        else:
            print_operating_table(table)

    add(
        evaluate_cross_simulator(
            f"{test.name} at the operating threshold", detector, train_set, test_set,
            flag_budget, seed,
        )
    )  # fmt: skip
    if cross_sim:
        other_train_set = load_sequences(other_train, "cases", with_labels=True)
        other_test_set = load_sequences(other_test, "cases", with_labels=True)
        add(
            evaluate_cross_simulator(
                f"trained on {train.name}, tested on {other_test.name}",
                detector, train_set, other_test_set, flag_budget, seed,
            )
        )  # fmt: skip
        reverse = small_lstm(retrain_epochs, flag_budget, seed, threads).fit(
            other_train_set.sequences, other_train_set.labels
        )
        add(
            evaluate_cross_simulator(
                f"trained on {other_train.name}, tested on {test.name}",
                reverse, other_train_set, test_set, flag_budget, seed,
            )
        )  # fmt: skip
    if leave_one_out:
        add(
            evaluate_leave_one_type_out(
                train_set, test_set, retrain_epochs, flag_budget, seed, threads
            )
        )
    if hdfs:
        add(evaluate_hdfs(retrain_epochs, seed, hdfs_flag_budget, threads))
    if real:
        for fmt in REAL_SETS:
            path = real_data_path(fmt)
            results.append(evaluate_real(fmt, path, real_epochs, seed, threads))
            _print_set(results[-1])
    output.parent.mkdir(parents=True, exist_ok=True)
    report = [_as_dict(result) for result in results] + [operating_table_dict(t) for t in tables]
    output.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    typer.echo(f"\nwrote {output}")


def _as_dict(result: SetResult) -> dict[str, object]:
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
