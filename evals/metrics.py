"""What `metrics.json` holds: every scalar with a seeded bootstrap 95 % interval, and tables."""

from __future__ import annotations

from typing import Any

import numpy as np

from detectors.cases import FRAUD_TYPES
from evals.bootstrap import bootstrap_intervals
from evals.catalogue import metric_specs
from evals.records import CaseRecord
from evals.statistics import ScoreTable, calibration_bins
from evals.tables import (
    confusion,
    cost_summary,
    faithfulness_by_type,
    finite_or_none,
    per_type_recall,
)


def summarize_run(
    records: list[CaseRecord], wall_s: float | None = None, rounds: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Everything `metrics.json` holds: scalars with intervals, per-type tables, cost."""
    table = ScoreTable.from_records(records)
    specs = metric_specs()
    intervals = bootstrap_intervals(table, {s.name: s.statistic for s in specs}, rounds, seed)
    scalars = {}
    for spec in specs:
        low, high = intervals[spec.name]
        scalars[spec.name] = {
            "value": finite_or_none(spec.statistic(table)),
            "ci95": [finite_or_none(low), finite_or_none(high)],
            "n": int(spec.rows(table).sum()),
            "higher_is_better": spec.higher_is_better,
            "headline": spec.headline,
        }
    return {
        "cases": len(table),
        "fraud_cases": int(table["is_fraud"].sum()),
        "flagged_cases": int(table["flagged"].sum()),
        "injection_cases": int(table["injection"].sum()),
        "cases_by_type": {
            fraud_type: int(np.sum(table["label"] == fraud_type))
            for fraud_type in FRAUD_TYPES
            if np.any(table["label"] == fraud_type)
        },
        "bootstrap": {"rounds": rounds, "seed": seed, "level": 0.95},
        "scalars": scalars,
        "detector_recall_by_type": per_type_recall(table, "flagged"),
        "end_to_end_recall_by_type": per_type_recall(table, "agent.end_to_end"),
        "verdict_confusion": confusion(table, "agent"),
        "cost": cost_summary(table, wall_s),
        "faithfulness_by_type": faithfulness_by_type(table),
        "calibration": calibration_bins(table),
    }
