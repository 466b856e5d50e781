"""`fraudlens bench detector`: one-pass vs per-window LSTM vs n-gram, measured in one run."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from detectors.adapters import REAL_DATA_DIR
from detectors.cli_input import FormatOption, check_format, load_detector_or_exit, load_or_exit

if TYPE_CHECKING:
    from detectors.bench import BenchRow


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
    import torch

    from detectors.bench import bench_lstm, bench_ngram, fixed_length_chunks, matmul_gflops
    from detectors.sequence_files import load_sequences
    from detectors.training import use_all_cores

    check_format(fmt)
    detector = load_detector_or_exit(model)
    assert detector.model_ is not None and detector.tokenizer_ is not None
    use_all_cores(threads)
    loaded = load_or_exit(file, fmt)
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
