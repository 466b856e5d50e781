"""Unseen fraud: leave one type out; train on one simulator, test on another; users seen
through a window of time."""

from __future__ import annotations

import copy
from collections.abc import Sequence as SequenceOf
from dataclasses import replace

import numpy as np
import typer

from detectors.base import LEGIT
from detectors.baselines import legitimate_only
from detectors.detector import LSTMDetector
from detectors.sequence_files import LoadedSequences
from detectors.sequences import Sequence
from evals.detector_operating import OperatingRow, OperatingTable, fitted_baselines, operating_row

BASELINE_THRESHOLD_NOTE = (
    "each baseline's threshold flags {0:.0%} of the held-out legitimate training users"
)
THRESHOLD_NOTE = (
    BASELINE_THRESHOLD_NOTE + "; the LSTM's is a {0:.0%} combined tail probability on them "
    "(it flags less there)"
)


def small_lstm(
    epochs: int,
    flag_budget: float,
    seed: int,
    threads: int | None,
    endings_known: bool = False,
) -> LSTMDetector:
    """The detector retrained inside an eval: the bundled architecture at half the width."""
    return LSTMDetector(
        hidden=64,
        embed_dim=32,
        epochs=epochs,
        contamination=flag_budget,
        seed=seed,
        endings_known=endings_known,
        threads=threads,
    )


def evaluate_leave_one_type_out(
    train: LoadedSequences,
    test: LoadedSequences,
    epochs: int,
    flag_budget: float,
    seed: int,
    threads: int | None = None,
    only: SequenceOf[str] | None = None,
) -> OperatingTable:
    """Per fraud type T (every type, or those in `only`): the LSTM trained without T's cases,
    T's recall on the test split at its own threshold (rows `lstm without T`); baselines never
    see labels, one row each."""
    assert train.labels is not None and test.labels is not None
    test_labels = np.asarray(test.labels)
    types = sorted(set(train.labels) - {LEGIT})
    if only is not None:
        unknown = sorted(set(only) - set(types))
        if unknown:
            raise ValueError(f"types {unknown} are not among the training fraud types {types}")
        types = sorted(only)
    rows = []
    for left_out in types:
        kept = [i for i, label in enumerate(train.labels) if label != left_out]
        lstm = small_lstm(epochs, flag_budget, seed, threads).fit(
            [train.sequences[i] for i in kept], [train.labels[i] for i in kept]
        )
        assert lstm.threshold_ is not None
        full = operating_row(
            f"lstm without {left_out}",
            lstm.decision_function(test.sequences),
            lstm.threshold_,
            test.labels,
        )
        typer.echo(f"  left out {left_out}: recall {full.type_recall[left_out]:.3f}", err=True)
        rows.append(
            OperatingRow(
                full.name,
                full.threshold,
                full.legit_flag_rate,
                full.type_recall[left_out],
                {left_out: full.type_recall[left_out]},
                full.roc_auc,
            )
        )
    rows += _baseline_rows(train, test.sequences, test.labels, flag_budget, seed)
    note = (
        f"test split, {int((test_labels != LEGIT).sum())} fraud; each `lstm without T` row is "
        f"trained without type T (recall = T's recall); {THRESHOLD_NOTE.format(flag_budget)}"
    )
    return OperatingTable("leave one fraud type out", note, rows)


def evaluate_cross_simulator(
    name: str,
    lstm: LSTMDetector,
    train: LoadedSequences,
    test: LoadedSequences,
    flag_budget: float,
    seed: int,
) -> OperatingTable:
    """A detector trained on one simulator version, scored on another's test split."""
    assert test.labels is not None and lstm.threshold_ is not None
    scores = lstm.decision_function(test.sequences)
    rows = [operating_row(f"lstm ({lstm.version})", scores, lstm.threshold_, test.labels)]
    rows += _baseline_rows(train, test.sequences, test.labels, flag_budget, seed)
    note = f"{len(test.sequences)} test users; {THRESHOLD_NOTE.format(flag_budget)}"
    return OperatingTable(name, note, rows)


def evaluate_recalibrated(
    lstm: LSTMDetector,
    as_trained: OperatingRow,
    name: str,
    other_train: LoadedSequences,
    other_test: LoadedSequences,
    flag_budget: float,
    seed: int,
) -> OperatingTable:
    """`as_trained`, the detector's row on another simulator's test split, beside the detector
    recalibrated on the legitimate users of that simulator's train split `name` (weights
    unchanged); the baselines fitted on the same legitimate users."""
    legitimate = legitimate_only(other_train.sequences, other_train.labels)
    fresh = lstm.recalibrated(
        legitimate, f"{len(legitimate)} legitimate users of {name}", flag_budget
    )
    title = f"recalibrated on {name}'s legitimate users, tested on its test split"
    table = evaluate_cross_simulator(title, fresh, other_train, other_test, flag_budget, seed)
    as_trained = replace(as_trained, name=f"lstm as trained ({lstm.version})")
    recalibrated = replace(table.rows[0], name=f"lstm recalibrated ({fresh.version})")
    note = (
        f"{len(other_test.sequences)} test users; the LSTM's weights as trained, its signal "
        f"tails and threshold refitted on the {len(legitimate)} legitimate users of {name} "
        f"(`fraudlens recalibrate`: the threshold flags {flag_budget:.0%} of them), the "
        f"baselines fitted on them; " + BASELINE_THRESHOLD_NOTE.format(flag_budget)
    )
    return OperatingTable(title, note, [as_trained, recalibrated, *table.rows[1:]])


def cut_to_windows(loaded: LoadedSequences, seed: int) -> LoadedSequences:
    """Each user's events cut to a random stretch (first and last event drawn uniformly,
    seeded), as a file covering some days cuts histories that began before and go on after."""
    rng = np.random.default_rng(seed)
    cut = []
    for sequence in loaded.sequences:
        first = int(rng.integers(len(sequence.events)))
        last = int(rng.integers(first, len(sequence.events)))
        cut.append(Sequence(sequence.user_id, sequence.events[first : last + 1]))
    return LoadedSequences(cut, loaded.labels, loaded.case_ids, loaded.report)


def evaluate_windows(
    lstm: LSTMDetector,
    train: LoadedSequences,
    test: LoadedSequences,
    flag_budget: float,
    seed: int,
) -> OperatingTable:
    """The test users seen through a window of time: legitimate users flagged is the figure
    (a window may hold none of a fraudster's fraud, so recall is only indicative). The LSTM as
    it scores event files, and as it would if each window's last event were the user's end."""
    windows = cut_to_windows(test, seed)
    title = "users seen through a window of time"
    table = evaluate_cross_simulator(title, lstm, train, windows, flag_budget, seed)
    assert windows.labels is not None and lstm.threshold_ is not None
    sessions = copy.copy(lstm)  # the same model, its ending counted
    sessions.endings_known = True
    scores = sessions.decision_function(windows.sequences)
    taken = operating_row("lstm, window end taken as the user's", scores, lstm.threshold_,
                          windows.labels)  # fmt: skip
    note = (
        f"{len(windows.sequences)} test users, each cut to a random stretch of their events "
        f"(seed {seed}); {THRESHOLD_NOTE.format(flag_budget)}"
    )
    return OperatingTable(title, note, [table.rows[0], taken, *table.rows[1:]])


def _baseline_rows(
    train: LoadedSequences,
    sequences: list[Sequence],
    labels: SequenceOf[str],
    flag_budget: float,
    seed: int,
) -> list[OperatingRow]:
    return [
        operating_row(name, score(sequences), threshold, labels)
        for name, (score, threshold) in fitted_baselines(
            train.sequences, train.labels, flag_budget, seed
        ).items()
    ]


def print_leave_one_type_out(table: OperatingTable) -> None:
    typer.echo(f"\n## {table.title}\n({table.note})")
    lstm_rows = [row for row in table.rows if row.name.startswith("lstm without ")]
    baselines = [row for row in table.rows if row not in lstm_rows]
    header = f"{'type left out':<20}{'lstm recall':>12}{'legit flagged':>14}"
    typer.echo(header + "".join(f"{row.name[:16]:>18}" for row in baselines))
    for row in lstm_rows:
        (fraud_type,) = row.type_recall
        values = "".join(f"{b.type_recall.get(fraud_type, float('nan')):>18.3f}" for b in baselines)
        typer.echo(f"{fraud_type:<20}{row.recall:>12.3f}{row.legit_flag_rate:>14.3f}{values}")
