"""`fraudlens train`: fit the LSTM detector on events, choose its threshold, save it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from detectors.cli_input import FormatOption, load_or_exit

if TYPE_CHECKING:
    from detectors.detector import LSTMDetector
    from detectors.sequence_files import LoadedSequences


def _split_validation(
    loaded: LoadedSequences, share: float, seed: int
) -> tuple[LoadedSequences, LoadedSequences]:
    import numpy as np

    from detectors.sequence_files import LoadedSequences

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
    target_flag_rate: Annotated[
        float,
        typer.Option(help="Flag budget: threshold flagging this share of legitimate users."),
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
    """Train the LSTM detector, calibrate its signals and threshold on held-out legitimate
    users (flag budget), report validation figures, save it."""
    import numpy as np

    from detectors.base import LEGIT
    from detectors.detector import LSTMDetector
    from detectors.quality import ranking_metrics
    from detectors.sequence_files import WHOLE_SESSION_FORMATS

    loaded = load_or_exit(data, fmt, labels)
    if validation is not None:
        held_out = load_or_exit(validation, fmt, labels)
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
            scores = detector.fused_scores(arrays, held_out.sequences)
            metrics.update(ranking_metrics(scores, is_fraud))
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
        endings_known=fmt in WHOLE_SESSION_FORMATS,
        threads=threads,
        progress=True,
    )
    detector.fit(loaded.sequences, loaded.labels, on_epoch_end=validate)
    final = validate(detector, epochs)
    flagged = detector.predict(held_out.sequences).astype(bool)
    legit = ~is_fraud if is_fraud is not None else np.ones(flagged.size, dtype=bool)
    final["val_legit_flag_rate"] = float(flagged[legit].mean()) if legit.any() else 0.0
    if is_fraud is not None and is_fraud.any():
        final["val_recall_at_threshold"] = float(flagged[is_fraud].mean())
    detector.validation_metrics_ = final
    detector.save(output)
    typer.echo(
        f"threshold {detector.threshold_:.4f} (combined tail probability ≤ {target_flag_rate:.0%}; "
        f"flags {detector.calibration_flag_rate_:.1%} of the legitimate users held out for "
        f"calibration; top-g {detector.top_g_})"
    )
    typer.echo("validation: " + "  ".join(f"{k}={v:.4f}" for k, v in final.items()))
    typer.echo(f"saved {detector.version} to {output}")
