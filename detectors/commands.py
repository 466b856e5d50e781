"""`fraudlens train`, `screen` and `bench detector`: the detector's command functions."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
import typer

from detectors.adapters import FORMAT_NAMES, REAL_DATA_DIR
from detectors.base import LEGIT, threshold_for_flag_rate, threshold_for_recall
from detectors.bench import (
    BenchRow,
    bench_lstm,
    bench_ngram,
    fixed_length_chunks,
    matmul_gflops,
)
from detectors.detector import LSTMDetector, load_detector
from detectors.events import format_ts
from detectors.quality import ranking_metrics
from detectors.scores import SequenceScore
from detectors.sequence_files import LoadedSequences, load_sequences
from detectors.sequences import Sequence
from detectors.training import use_all_cores

FormatOption = Annotated[
    str, typer.Option("--format", "-f", help=f"Input format: {', '.join(FORMAT_NAMES)}.")
]


def _check_format(fmt: str) -> None:
    if fmt not in FORMAT_NAMES:
        known = ", ".join(FORMAT_NAMES)
        raise typer.BadParameter(f"{fmt!r} is not one of {known}", param_hint="--format")


def _load(path: Path, fmt: str, with_labels: bool = False) -> LoadedSequences:
    _check_format(fmt)
    if not path.is_file():
        raise typer.BadParameter(f"file not found: {path}")
    try:
        loaded = load_sequences(path, fmt, with_labels)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    loaded.report.print_to(sys.stderr, max_problems=5)
    if not loaded.sequences:
        typer.echo(
            f"error: {path} has 0 usable events (rejected {loaded.report.rejected})", err=True
        )
        raise typer.Exit(2)
    return loaded


def _split_validation(
    loaded: LoadedSequences, share: float, seed: int
) -> tuple[LoadedSequences, LoadedSequences]:
    order = np.random.default_rng(seed).permutation(len(loaded.sequences))
    cut = max(1, round(share * order.size))

    def subset(indices: np.ndarray) -> LoadedSequences:
        labels = loaded.labels
        return LoadedSequences(
            [loaded.sequences[i] for i in indices],
            None if labels is None else [labels[i] for i in indices],
            None,
            loaded.report,
        )

    return subset(order[cut:]), subset(order[:cut])


def train(
    data: Annotated[Path, typer.Option("--data", help="Training events or cases.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Model folder to write.")],
    fmt: FormatOption = "jsonl",
    labels: Annotated[
        bool, typer.Option("--labels", help="Also train the supervised fraud-type head.")
    ] = False,
    validation: Annotated[
        Path | None,
        typer.Option(help="Held-out file (same format); default: 10 % of --data, seeded."),
    ] = None,
    target_recall: Annotated[
        float, typer.Option(help="With labelled validation: threshold keeping this fraud recall.")
    ] = 0.95,
    target_flag_rate: Annotated[
        float, typer.Option(help="Without labels: threshold flagging this share of users.")
    ] = 0.05,
    epochs: int = 6,
    hidden: int = 128,
    embed_dim: int = 64,
    batch_size: int = 64,
    lr: float = 3e-3,
    max_len: int = 256,
    seed: int = 0,
    threads: Annotated[
        int | None, typer.Option(help="CPU threads for training; default every core.")
    ] = None,
) -> None:
    """Train the LSTM detector, choose its threshold on validation data, save it."""
    loaded = _load(data, fmt, labels)
    if validation is not None:
        held_out = _load(validation, fmt, labels)
    else:
        loaded, held_out = _split_validation(loaded, 0.1, seed)
    typer.echo(
        f"training on {len(loaded.sequences)} sequences, validating on {len(held_out.sequences)}",
        err=True,
    )

    is_fraud = None if held_out.labels is None else np.asarray(held_out.labels) != LEGIT
    has_both = is_fraud is not None and 0 < is_fraud.sum() < is_fraud.size

    def validate(detector: LSTMDetector, _epoch: int) -> dict[str, float]:
        arrays = detector.surprise_arrays(held_out.sequences)
        metrics = {"val_nll": float(np.mean(np.concatenate(arrays.nll)))}
        if has_both and is_fraud is not None:
            metrics.update(ranking_metrics(detector.combine(arrays), is_fraud))
        return metrics

    detector = LSTMDetector(
        hidden=hidden,
        embed_dim=embed_dim,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        max_len=max_len,
        contamination=target_flag_rate,
        seed=seed,
        threads=threads,
        progress=True,
    )
    detector.fit(loaded.sequences, loaded.labels, on_epoch_end=validate)
    arrays = detector.surprise_arrays(held_out.sequences)
    final = {"val_nll": float(np.mean(np.concatenate(arrays.nll)))}
    if has_both and is_fraud is not None and detector.supervised:
        weight = detector.tune_supervised_weight(arrays, is_fraud)
        typer.echo(f"supervised weight {weight} (best validation ROC-AUC)")
    scores = detector.combine(arrays)
    if is_fraud is not None and is_fraud.any():
        detector.threshold_ = threshold_for_recall(scores, is_fraud, target_recall)
        rule = f"fraud recall {target_recall:.0%} on validation"
    else:
        detector.threshold_ = threshold_for_flag_rate(scores, target_flag_rate)
        rule = f"flag rate {target_flag_rate:.0%} on validation"
    flagged = scores >= detector.threshold_
    if has_both and is_fraud is not None:
        final.update(ranking_metrics(scores, is_fraud))
    final["val_flag_rate"] = float(flagged.mean())
    if is_fraud is not None and is_fraud.any():
        final["val_recall_at_threshold"] = float(flagged[is_fraud].mean())
    detector.validation_metrics_ = final
    detector.save(output)
    typer.echo(f"threshold {detector.threshold_:.4f} ({rule})")
    typer.echo("validation: " + "  ".join(f"{k}={v:.4f}" for k, v in final.items()))
    typer.echo(f"saved {detector.version} to {output}")


def _screen_record(
    result: SequenceScore, sequence: Sequence, case_id: str | None, top: int
) -> dict[str, Any]:
    record: dict[str, Any] = {"user_id": result.user_id}
    if case_id is not None:
        record["case_id"] = case_id
    record.update(
        score=round(result.score, 6),
        flagged=result.flagged,
        n_events=len(sequence),
        top_events=[
            {
                "index": event.index,
                "ts": format_ts(sequence.events[event.index].ts),
                "action": sequence.events[event.index].action,
                "token": event.token,
                "nll": round(event.nll, 4),
                "rank": event.rank,
            }
            for event in result.top_events(top)
        ],
    )
    if result.fraud_type_probs is not None:
        record["fraud_type_probs"] = {k: round(v, 4) for k, v in result.fraud_type_probs.items()}
    return record


def screen(
    file: Annotated[Path, typer.Argument(help="Events or cases to screen.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="JSONL of users written.")],
    model: Annotated[
        Path | None, typer.Option("--model", help="Detector folder; default: the bundled model.")
    ] = None,
    fmt: FormatOption = "jsonl",
    top: Annotated[int, typer.Option(help="Most surprising events listed per user.")] = 5,
    all_users: Annotated[
        bool, typer.Option("--all", help="Write every user, not only the flagged ones.")
    ] = False,
    threads: Annotated[int | None, typer.Option(help="CPU threads; default every core.")] = None,
) -> None:
    """Score every user's sequence; write the flagged ones with their most surprising events."""
    if top < 0:
        raise typer.BadParameter(f"--top must be ≥ 0, got {top}")
    _check_format(fmt)
    try:
        detector = load_detector(model)
    except (FileNotFoundError, ValueError) as error:
        raise typer.BadParameter(str(error), param_hint="--model") from None
    use_all_cores(threads)
    started = time.perf_counter()
    loaded = _load(file, fmt)
    results = detector.explain(loaded.sequences)
    output.parent.mkdir(parents=True, exist_ok=True)
    case_ids: list[str | None] = [None] * len(results)
    if loaded.case_ids is not None:
        case_ids = list(loaded.case_ids)
    written = 0
    with output.open("w", encoding="utf-8") as out:
        for result, sequence, case_id in zip(results, loaded.sequences, case_ids, strict=True):
            if result.flagged or all_users:
                record = _screen_record(result, sequence, case_id, top)
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                written += 1
    elapsed = time.perf_counter() - started
    events = sum(len(sequence) for sequence in loaded.sequences)
    flagged = sum(result.flagged for result in results)
    typer.echo(
        f"users {len(results)}  events {events}  flagged {flagged}  "
        f"rate {flagged / len(results):.2%}  rejected lines {loaded.report.rejected}  "
        f"{elapsed:.2f} s  {events / elapsed:,.0f} events/s  "
        f"model {detector.version}  wrote {written} to {output}"
    )


def bench_detector(
    model: Annotated[
        Path | None, typer.Option("--model", help="Detector folder; default: the bundled model.")
    ] = None,
    file: Annotated[
        Path, typer.Option(help="Real sequences to cut into fixed-length chunks, and to screen.")
    ] = REAL_DATA_DIR / "taobao_userbehavior" / "UserBehavior.csv",
    fmt: FormatOption = "taobao",
    length: Annotated[int, typer.Option(help="Events per scored sequence.")] = 64,
    sequences: Annotated[
        int, typer.Option(help="Fixed-length chunks cut from the file; the n-gram scores all.")
    ] = 4096,
    window_sequences: Annotated[
        int, typer.Option(help="Sequences in the per-window batch (each is --length windows).")
    ] = 16,
    batch_size: Annotated[int, typer.Option(help="Sequences in the one-pass batch.")] = 512,
    min_seconds: Annotated[
        float, typer.Option(help="Repeat each timing at least this long.")
    ] = 2.0,
    threads: Annotated[int | None, typer.Option(help="CPU threads; default every core.")] = None,
) -> None:
    """Sequences/s of one-pass vs per-window LSTM vs n-gram; GFLOP/s; events/s end to end."""
    if length < 1 or sequences < 1 or window_sequences < 1 or batch_size < 1:
        raise typer.BadParameter(
            f"sizes must be ≥ 1; got length {length}, sequences {sequences}, "
            f"window-sequences {window_sequences}, batch-size {batch_size}"
        )
    _check_format(fmt)
    try:
        detector = load_detector(model)
    except (FileNotFoundError, ValueError) as error:
        raise typer.BadParameter(str(error), param_hint="--model") from None
    assert detector.model_ is not None and detector.tokenizer_ is not None
    use_all_cores(threads)
    loaded = _load(file, fmt)
    try:
        encoded = fixed_length_chunks(detector.tokenizer_, loaded.sequences, length, sequences)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--length") from None
    config = detector.model_.config
    typer.echo(
        f"model {detector.version}: hidden {config.hidden}, embed {config.embed_dim}, "
        f"vocab {config.vocab_size}; {sequences} sequences of {length} events from {file.name}; "
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
    )
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    rows: list[BenchRow] = []
    peaks: dict[str, float] = {}
    for device in devices:
        peaks[device.type] = matmul_gflops(device, min_seconds)
        rows += bench_lstm(
            detector.model_, encoded, device, batch_size, window_sequences, min_seconds
        )
    rows.append(bench_ngram(detector.tokenizer_, encoded, min_seconds))
    detector.model_.to(devices[-1])  # end to end on the fastest device present
    _print_bench(rows, peaks)
    started = time.perf_counter()
    reloaded = load_sequences(file, fmt)
    detector.decision_function(reloaded.sequences)
    elapsed = time.perf_counter() - started
    events = sum(len(sequence) for sequence in reloaded.sequences)
    typer.echo(
        f"end to end on {devices[-1].type} (parse → sequences → score) {file.name}: "
        f"{events} events, "
        f"{len(reloaded.sequences)} users, {elapsed:.2f} s, {events / elapsed:,.0f} events/s"
    )


def _print_bench(rows: list[BenchRow], peaks: dict[str, float]) -> None:
    typer.echo(f"{'scorer':<28}{'device':<8}{'seq/s':>14}{'GFLOP/s':>10}{'of matmul':>11}")
    for row in rows:
        gflops = row.gflops_per_s
        share = "" if gflops is None else f"{gflops / peaks[row.device]:.1%}"
        typer.echo(
            f"{row.name:<28}{row.device:<8}{row.sequences_per_s:>14,.0f}"
            f"{'' if gflops is None else f'{gflops:.2f}':>10}{share:>11}"
        )
    for device, peak in peaks.items():
        typer.echo(f"matmul {device}: {peak:.1f} GFLOP/s")
        by_name = {row.name: row for row in rows if row.device == device}
        one, window = by_name.get("lstm one-pass"), by_name.get("lstm per-window (DeepLog)")
        if one and window:
            ratio = one.sequences_per_s / window.sequences_per_s
            typer.echo(f"one-pass / per-window on {device}: {ratio:.1f}×")
