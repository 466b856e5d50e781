"""Two eval runs side by side on their shared cases: paired differences and flagged regressions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.bootstrap import paired_bootstrap_diff
from evals.catalogue import metric_specs
from evals.records import RunDir
from evals.report_format import format_value
from evals.statistics import ScoreTable


@dataclass(frozen=True, slots=True)
class MetricComparison:
    name: str
    value_a: float
    value_b: float
    diff: float
    """B − A on the shared cases."""
    ci95: tuple[float, float]
    higher_is_better: bool
    headline: bool
    regressed: bool
    """B is worse than A by more than the tolerance (times A's value for a relative metric)."""
    improved: bool

    @property
    def significant(self) -> bool:
        """The paired 95 % interval excludes zero."""
        low, high = self.ci95
        return low > 0 or high < 0


@dataclass(frozen=True, slots=True)
class Comparison:
    run_a: str
    """The reference run: its path, model, prompt and detector."""
    run_b: str
    shared_cases: int
    cases_a: int
    cases_b: int
    tolerance: float
    metrics: list[MetricComparison]
    differing_conditions: list[str]
    """What else than model and prompt differs between the runs (detector, policy, data, guess)."""

    @property
    def headline_regressions(self) -> list[MetricComparison]:
        return [metric for metric in self.metrics if metric.headline and metric.regressed]


def compare_runs(
    run_a: Path, run_b: Path, tolerance: float = 0.02, rounds: int = 1000, seed: int = 0
) -> Comparison:
    """Every scalar metric of both runs on their shared cases, with paired bootstrap intervals."""
    if tolerance < 0:
        raise ValueError(f"tolerance must be ≥ 0; got {tolerance}")
    table_a = ScoreTable.from_records(RunDir(run_a).read_cases())
    table_b = ScoreTable.from_records(RunDir(run_b).read_cases())
    label_a, label_b = describe(run_a), describe(run_b)
    differing = differing_conditions(RunDir(run_a).read_run(), RunDir(run_b).read_run())
    shared_a, shared_b = table_a.aligned_with(table_b)
    specs = metric_specs()
    diffs = paired_bootstrap_diff(
        shared_a, shared_b, {spec.name: spec.statistic for spec in specs}, rounds, seed
    )
    metrics = []
    for spec in specs:
        diff, low, high = diffs[spec.name]
        gain = diff if spec.higher_is_better else -diff
        defined = math.isfinite(diff)
        value_a = spec.statistic(shared_a)
        allowed = tolerance * abs(value_a) if spec.relative else tolerance
        metrics.append(
            MetricComparison(
                name=spec.name,
                value_a=value_a,
                value_b=spec.statistic(shared_b),
                diff=diff,
                ci95=(low, high),
                higher_is_better=spec.higher_is_better,
                headline=spec.headline,
                regressed=defined and gain < -allowed,
                improved=defined and gain > allowed,
            )
        )
    return Comparison(
        label_a, label_b, len(shared_a), len(table_a), len(table_b), tolerance, metrics, differing
    )


CONDITIONS = ("dataset_sha256", "detector_version", "policy_sha256", "type_guess")
"""Run settings that must match for a difference to measure the model or the prompt."""
BEFORE_RECORDED = {"type_guess": "shown"}
"""What runs made before a condition was recorded ran with (the guess was always shown)."""


def differing_conditions(info_a: dict[str, Any], info_b: dict[str, Any]) -> list[str]:
    """`key: A vs B` for each condition the two run.json files record differently."""
    a, b = ({**BEFORE_RECORDED, **info} for info in (info_a, info_b))
    return [
        f"{key}: {a.get(key, 'unrecorded')} vs {b.get(key, 'unrecorded')}"
        for key in CONDITIONS
        if a.get(key) != b.get(key)
    ]


def describe(run: Path) -> str:
    """`runs/x (model m, prompt p, detector d)` from the run's run.json."""
    info = RunDir(run).read_run()
    return (
        f"{run} (model {info.get('model')}, prompt {info.get('prompt_version')}, "
        f"detector {info.get('detector_version')})"
    )


def _number(value: float) -> str:
    return format_value(value if math.isfinite(value) else None)


def render_comparison(comparison: Comparison) -> str:
    """A markdown table: A, B, B − A with its paired 95 % interval, and a verdict per metric."""
    lines = [
        f"A = {comparison.run_a} ({comparison.cases_a} cases)",
        f"B = {comparison.run_b} ({comparison.cases_b} cases)",
        f"compared on {comparison.shared_cases} shared cases; tolerance {comparison.tolerance} "
        "(of A's value for calls per 1,000 users)",
        *(
            [
                "",
                "**The runs differ in more than model and prompt** (a difference below may come "
                "from these): " + "; ".join(comparison.differing_conditions),
            ]
            if comparison.differing_conditions
            else []
        ),
        "",
        "| metric | A | B | B − A [95 % CI] | |",
        "|---|---|---|---|---|",
    ]
    for metric in comparison.metrics:
        status = "REGRESSED" if metric.regressed else "improved" if metric.improved else ""
        if status and metric.significant:
            status += " (significant)"
        name = f"**{metric.name}**" if metric.headline else metric.name
        interval = f"[{_number(metric.ci95[0])}, {_number(metric.ci95[1])}]"
        lines.append(
            f"| {name} | {_number(metric.value_a)} | {_number(metric.value_b)} "
            f"| {_number(metric.diff)} {interval} | {status} |"
        )
    regressions = comparison.headline_regressions
    lines += [
        "",
        "Headline metrics in bold. "
        + (
            f"{len(regressions)} headline metric(s) regressed beyond the tolerance: "
            + ", ".join(metric.name for metric in regressions)
            if regressions
            else "No headline metric regressed beyond the tolerance."
        ),
    ]
    return "\n".join(lines)
