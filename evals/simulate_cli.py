"""`fraudlens simulate`: write a labelled case set (or plain events) from the typology simulator."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated

import typer
from tqdm import tqdm

from detectors.adapters import REAL_DATA_DIR
from detectors.cases import FRAUD_TYPES, Case
from evals.simulator.build import plan_case_sets, simulate_cases
from evals.simulator.case_files import write_cases, write_events
from evals.simulator.plan import parse_fractions
from evals.simulator.versions import SIM_VERSIONS

SPLIT_NAMES = ("train", "dev", "test")
MIN_MAX_EVENTS = 60
"""Bots need room for their runs of ≥ 50 views or clicks."""


def split_paths(output: Path, parts: int) -> list[Path]:
    """`cases.jsonl.gz` → `cases_train.jsonl.gz`, `cases_dev…`, `cases_test…` (`_partN` beyond)."""
    name = output.name
    stem, dot, suffixes = name.partition(".")
    names = SPLIT_NAMES if parts == len(SPLIT_NAMES) else [f"part{i + 1}" for i in range(parts)]
    return [output.with_name(f"{stem}_{part}{dot}{suffixes}") for part in names]


def simulate(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Case file (.jsonl or .jsonl.gz).")
    ],
    n: Annotated[int, typer.Option("--n", help="Cases (users) to generate.")] = 5000,
    fraud_rate: Annotated[float, typer.Option(help="Share of fraud cases, 0–1.")] = 0.05,
    seed: Annotated[int, typer.Option(help="Same seed, same files, byte for byte.")] = 1,
    splits: Annotated[
        str | None,
        typer.Option(help="e.g. 0.6,0.2,0.2: stratified <stem>_train/_dev/_test files."),
    ] = None,
    events_only: Annotated[
        bool, typer.Option(help="Write plain events (FORMATS.md §1), labels dropped.")
    ] = False,
    version: Annotated[
        str, typer.Option(help=f"Simulator version: {', '.join(SIM_VERSIONS)}.")
    ] = "v1",
    max_events: Annotated[
        int | None,
        typer.Option(help="Most recent events kept per user; default: the version's cap."),
    ] = None,
    real_data: Annotated[
        Path, typer.Option(help="Real data folder (Taobao, REES46, Fraud_Data, TalkingData).")
    ] = REAL_DATA_DIR,
) -> None:
    """Simulate legitimate users (real Taobao/REES46 behaviour) and ten fraud typologies."""
    if n < 1:
        raise typer.BadParameter(f"{n} cases; need ≥ 1", param_hint="--n")
    if not 0.0 <= fraud_rate <= 1.0:
        raise typer.BadParameter(f"{fraud_rate}; need 0 ≤ rate ≤ 1", param_hint="--fraud-rate")
    if version not in SIM_VERSIONS:
        known = ", ".join(SIM_VERSIONS)
        raise typer.BadParameter(f"{version!r} is not one of {known}", param_hint="--version")
    if max_events is not None and max_events < MIN_MAX_EVENTS:
        raise typer.BadParameter(
            f"{max_events}; need ≥ {MIN_MAX_EVENTS}", param_hint="--max-events"
        )
    try:
        fractions = parse_fractions(splits) if splits else None
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--splits") from None
    if not real_data.is_dir():
        raise typer.BadParameter(f"folder not found: {real_data}", param_hint="--real-data")
    try:
        parts = plan_case_sets(n, fraud_rate, seed, fractions, real_data, max_events, version)
    except FileNotFoundError as error:
        raise typer.BadParameter(str(error), param_hint="--real-data") from None
    paths = [output] if fractions is None else split_paths(output, len(parts))
    taken: set[str] = set()
    first = 0
    with tqdm(total=n, desc="simulating", unit="case") as bar:
        for (plan, ctx), path in zip(parts, paths, strict=True):
            cases = list(_ticking(simulate_cases(plan, ctx, first, taken), bar))
            first += len(plan)
            if events_only:
                users, events = write_events(path, cases)
                tqdm.write(
                    f"{path}: {users} users, {events} events (labels dropped)", file=sys.stderr
                )
            else:
                written, events = write_cases(path, cases)
                tqdm.write(f"{path}: {written} cases, {events} events", file=sys.stderr)
            _print_summary(cases)


def _ticking(cases: Iterable[Case], bar: tqdm) -> Iterator[Case]:
    for case in cases:
        bar.update()
        yield case


def _print_summary(cases: list[Case]) -> None:
    by_type = Counter(case.fraud_type for case in cases)
    tags = Counter(tag for case in cases for tag in case.extra.get("tags", []))
    fraud = sum(count for fraud_type, count in by_type.items() if fraud_type != "none")
    tqdm.write(
        f"  {len(cases)} cases: {by_type['none']} legitimate ({tags['hard_negative']} hard "
        f"negatives), {fraud} fraud ({tags['prompt_injection']} with prompt injection)",
        file=sys.stderr,
    )
    tqdm.write(
        "  " + ", ".join(f"{name} {by_type[name]}" for name in FRAUD_TYPES[1:]), file=sys.stderr
    )
