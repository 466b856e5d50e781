"""Detectors judged at their operating threshold: share of legitimate users flagged, recall."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence as SequenceOf
from dataclasses import asdict, dataclass, field

import numpy as np
import typer
from sklearn.metrics import roc_auc_score

from detectors.base import LEGIT, BaseDetector, threshold_for_flag_rate
from detectors.baselines import IsolationForestDetector, NgramDetector
from detectors.detector import CALIBRATION_SHARE
from detectors.rules import RuleDetector
from detectors.sequences import Sequence

Scorer = Callable[[list[Sequence]], np.ndarray]


@dataclass
class OperatingRow:
    """One detector on one test set, at one threshold."""

    name: str
    threshold: float
    legit_flag_rate: float
    """Share of the legitimate test sequences at or above the threshold."""
    recall: float
    """Share of the fraud (anomalous) test sequences at or above the threshold."""
    type_recall: dict[str, float] = field(default_factory=dict)
    roc_auc: float | None = None


@dataclass
class OperatingTable:
    title: str
    note: str
    rows: list[OperatingRow]


def fitted_baselines(
    sequences: SequenceOf[Sequence], labels: SequenceOf[str] | None, flag_budget: float, seed: int
) -> dict[str, tuple[Scorer, float]]:
    """n-gram, isolation forest and rules, each fitted on the training sequences less a seeded
    share CALIBRATION_SHARE of the legitimate ones, its threshold flagging `flag_budget` of
    those held out (the rule the LSTM's threshold follows too)."""
    labels = list(labels) if labels is not None else [LEGIT] * len(sequences)
    legit = [i for i, label in enumerate(labels) if label == LEGIT]
    rng = np.random.default_rng(seed)
    held_out = set(rng.permutation(legit)[: max(1, round(CALIBRATION_SHARE * len(legit)))].tolist())
    fit_rows = [i for i in range(len(sequences)) if i not in held_out]
    calibration = [sequences[i] for i in sorted(held_out)]
    baselines: dict[str, BaseDetector] = {
        "n-gram (trigram)": NgramDetector(),
        "isolation forest": IsolationForestDetector(seed=seed),
        "rules": RuleDetector(),
    }
    fitted: dict[str, tuple[Scorer, float]] = {}
    for name, baseline in baselines.items():
        baseline.fit([sequences[i] for i in fit_rows], [labels[i] for i in fit_rows])
        threshold = threshold_for_flag_rate(baseline.decision_function(calibration), flag_budget)
        fitted[name] = (baseline.decision_function, threshold)
    return fitted


def operating_row(
    name: str, scores: np.ndarray, threshold: float, labels: SequenceOf[str]
) -> OperatingRow:
    """Flag rate on the legitimate labels, recall on the rest, overall and per fraud type."""
    label_array = np.asarray(labels)
    flagged = scores >= threshold
    is_legit = label_array == LEGIT
    types = sorted(set(label_array[~is_legit]))
    both = 0 < is_legit.sum() < is_legit.size
    return OperatingRow(
        name=name,
        threshold=float(threshold),
        legit_flag_rate=float(flagged[is_legit].mean()) if is_legit.any() else float("nan"),
        recall=float(flagged[~is_legit].mean()) if (~is_legit).any() else float("nan"),
        type_recall={t: float(flagged[label_array == t].mean()) for t in types},
        roc_auc=float(roc_auc_score(~is_legit, scores)) if both else None,
    )


def print_operating_table(table: OperatingTable) -> None:
    typer.echo(f"\n## {table.title}")
    typer.echo(f"({table.note})")
    typer.echo(f"{'detector':<40}{'legit flagged':>14}{'recall':>9}{'ROC-AUC':>9}")
    for row in table.rows:
        auc = "–" if row.roc_auc is None else f"{row.roc_auc:.4f}"
        typer.echo(f"{row.name:<40}{row.legit_flag_rate:>14.3f}{row.recall:>9.3f}{auc:>9}")
    types = list(table.rows[0].type_recall) if table.rows else []
    if len(types) > 1:
        typer.echo(f"\nrecall per type at each detector's threshold:\n{'type':<20}", nl=False)
        typer.echo("".join(f"{row.name[:16]:>18}" for row in table.rows))
        for fraud_type in types:
            values = "".join(f"{row.type_recall[fraud_type]:>18.3f}" for row in table.rows)
            typer.echo(f"{fraud_type:<20}{values}")


def operating_table_dict(table: OperatingTable) -> dict[str, object]:
    return {"set": table.title, "note": table.note, "rows": [asdict(row) for row in table.rows]}
