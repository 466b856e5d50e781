"""`fraudlens eval detector`: the detector beside every baseline, at its operating threshold
and on data it was not trained on (another simulator version, left-out types, users seen
through a window of time, HDFS)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DATASETS_DIR = Path(__file__).resolve().parent / "datasets"


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
    leave_out_types: Annotated[
        str | None,
        typer.Option(help="Comma-separated types for --leave-one-out; default: every type."),
    ] = None,
    cross_sim: Annotated[
        bool, typer.Option(help="Also test across simulator versions (--other-train/-test).")
    ] = True,
    windows: Annotated[
        bool, typer.Option(help="Also score the test users cut to random stretches of time.")
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
    import json
    import sys

    from detectors.adapters import real_data_path
    from detectors.detector import load_detector
    from detectors.sequence_files import load_sequences
    from detectors.training import use_all_cores
    from evals.detector_hdfs import evaluate_hdfs
    from evals.detector_open_world import (
        evaluate_cross_simulator,
        evaluate_leave_one_type_out,
        evaluate_recalibrated,
        evaluate_windows,
        print_leave_one_type_out,
        small_lstm,
    )
    from evals.detector_operating import (
        OperatingTable,
        operating_table_dict,
        print_operating_table,
    )
    from evals.detector_quality import (
        REAL_SETS,
        evaluate_real,
        evaluate_simulator,
        print_set_result,
        set_result_dict,
    )

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
    only = None if leave_out_types is None else leave_out_types.split(",")
    fraud_types = set(train_set.labels or []) - {"none"}
    if only is not None and not set(only) <= fraud_types:
        unknown = sorted(set(only) - fraud_types)
        raise typer.BadParameter(f"{unknown} are not fraud types of {train.name}")
    results = [evaluate_simulator(detector, train_set, test_set, seed)]
    print_set_result(results[-1])
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
    if windows:
        add(evaluate_windows(detector, train_set, test_set, flag_budget, seed))
    if cross_sim:
        other_train_set = load_sequences(other_train, "cases", with_labels=True)
        other_test_set = load_sequences(other_test, "cases", with_labels=True)
        crossed = evaluate_cross_simulator(
            f"trained on {train.name}, tested on {other_test.name}",
            detector, train_set, other_test_set, flag_budget, seed,
        )  # fmt: skip
        add(crossed)
        add(
            evaluate_recalibrated(
                detector, crossed.rows[0], other_train.name, other_train_set, other_test_set,
                flag_budget, seed,
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
                train_set, test_set, retrain_epochs, flag_budget, seed, threads, only
            )
        )
    if hdfs:
        add(evaluate_hdfs(retrain_epochs, seed, hdfs_flag_budget, threads))
    if real:
        for fmt in REAL_SETS:
            path = real_data_path(fmt)
            results.append(evaluate_real(fmt, path, real_epochs, seed, threads))
            print_set_result(results[-1])
    output.parent.mkdir(parents=True, exist_ok=True)
    report = [set_result_dict(result) for result in results] + [
        operating_table_dict(t) for t in tables
    ]
    output.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    typer.echo(f"\nwrote {output}")
