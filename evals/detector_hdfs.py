"""HDFS, DeepLog's benchmark: trained without labels on normal sessions, recall on abnormal."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from detectors.adapters import real_data_path
from detectors.sequence_files import load_sequences
from evals.detector_open_world import small_lstm
from evals.detector_operating import OperatingTable, fitted_baselines, operating_row

HDFS_NORMAL = real_data_path("deeplog")
"""`hdfs_train` in `../shared/data/benchmarks/hdfs/`, read in place."""
HDFS_ABNORMAL = HDFS_NORMAL.parent / "hdfs_test_abnormal"
HELD_OUT_SHARE = 0.1
PUBLISHED = (
    "published (each under its authors' own splits, see the data's README): DeepLog precision "
    "0.95 recall 0.96 F1 0.96 (Du et al., CCS 2017); DeepLog re-run F1 0.908, LogAnomaly F1 "
    "0.966, LogLLM F1 0.997 (LogLLM README)"
)


def evaluate_hdfs(
    epochs: int,
    seed: int,
    flag_budget: float,
    threads: int | None = None,
    normal_path: Path = HDFS_NORMAL,
    abnormal_path: Path = HDFS_ABNORMAL,
) -> OperatingTable:
    """Fit on 90 % of the normal sessions (seeded); false positives on the other 10 %."""
    normal = load_sequences(normal_path, "deeplog").sequences
    abnormal = load_sequences(abnormal_path, "deeplog").sequences
    order = np.random.default_rng(seed).permutation(len(normal))
    cut = max(1, round(HELD_OUT_SHARE * order.size))
    held_out = [normal[i] for i in order[:cut]]
    train = [normal[i] for i in order[cut:]]
    test = held_out + abnormal
    labels = ["none"] * len(held_out) + ["anomalous"] * len(abnormal)
    lstm = small_lstm(epochs, flag_budget, seed, threads, endings_known=True).fit(train)
    assert lstm.threshold_ is not None
    rows = [operating_row("lstm", lstm.decision_function(test), lstm.threshold_, labels)]
    for name, (score, threshold) in fitted_baselines(train, None, flag_budget, seed).items():
        rows.append(operating_row(name, score(test), threshold, labels))
    note = (
        f"trained on {len(train)} normal sessions; each threshold flags {flag_budget:.0%} of "
        "normal training sessions (the LSTM: of the share it held out of training to calibrate "
        f"on); false positives on {len(held_out)} held-out normal sessions, "
        f"recall on {len(abnormal)} abnormal; top-g {lstm.top_g_}. {PUBLISHED}"
    )
    return OperatingTable("HDFS (DeepLog's log-key sessions)", note, rows)
