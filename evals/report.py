"""An eval run's report: `report.md` and a self-contained `report.html` with its plots inlined."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve

from evals.records import CaseRecord
from evals.report_format import Plot, Table, format_scalar, format_value, png
from evals.report_judgement import judgement_plots, judgement_tables
from evals.scorers import SYSTEMS

REPORT_MD = "report.md"
REPORT_HTML = "report.html"
VERDICT_RATES = ("schema_valid", "grounding", "fallback", "error")
SYSTEM_METRICS = (
    "type_accuracy",
    "macro_f1",
    "action_agreement",
    "unsafe_rate",
    "end_to_end_recall",
)


def _scalar_rows(scalars: dict[str, Any], names: Sequence[str]) -> list[list[str]]:
    return [[name, format_scalar(scalars[name]), str(scalars[name]["n"])] for name in names]


def build_tables(run_info: dict[str, Any], summary: dict[str, Any]) -> list[Table]:
    scalars = summary["scalars"]
    versions = run_info.get("versions", {})
    run_rows = [
        ["model", str(run_info.get("model"))],
        ["prompt version", str(run_info.get("prompt_version"))],
        ["detector version", str(run_info.get("detector_version"))],
        ["dataset", f"{run_info.get('dataset_path')} (sha256 {run_info.get('dataset_sha256')})"],
        [
            "cases",
            f"{summary['cases']} ({summary['fraud_cases']} fraud, "
            f"{summary['flagged_cases']} flagged, {summary['injection_cases']} injection)",
        ],
        ["seed", str(run_info.get("seed"))],
        ["started / ended", f"{run_info.get('start_time')} / {run_info.get('end_time')}"],
        ["versions", ", ".join(f"{name} {version}" for name, version in versions.items())],
    ]
    if run_info.get("model_down"):
        run_rows.insert(0, ["MODEL DOWN", str(run_info["model_down"])])
    if run_info.get("type_guess", "shown") != "shown":
        run_rows.append(["detector type guess shown to the model", str(run_info["type_guess"])])
    metric_headers = ["metric", "value [95 % CI]", "n"]
    headline = [name for name, scalar in scalars.items() if scalar["headline"]]
    tables = [
        Table("Run", ["", ""], run_rows),
        Table(
            "Headline metrics",
            metric_headers,
            _scalar_rows(scalars, headline),
            "Bootstrap 95 % intervals over cases; n is the number of cases each is computed on.",
        ),
        Table(
            "LLM agent against the baselines (same cases)",
            ["metric", *SYSTEMS],
            [
                [metric, *(format_scalar(scalars[f"{system}.{metric}"]) for system in SYSTEMS)]
                for metric in SYSTEM_METRICS
            ],
            "Verdict metrics are over the cases each system flagged (agent and detector_only share "
            "the LSTM's flags); end_to_end_recall is over all fraud cases, misses counting as "
            "failures.",
        ),
        Table(
            "Detector",
            metric_headers,
            _scalar_rows(scalars, [n for n in scalars if n.startswith("detector.")]),
        ),
        Table(
            "Verdict quality",
            metric_headers,
            _scalar_rows(scalars, [f"agent.{name}_rate" for name in VERDICT_RATES]),
        ),
        Table(
            "Prompt-injection cases",
            metric_headers,
            _scalar_rows(scalars, [n for n in scalars if n.startswith("injection.")]),
        ),
        _per_type_table(summary),
        *judgement_tables(summary),
        Table("Cost", ["", ""], [[k, format_value(v)] for k, v in summary["cost"].items()]),
    ]
    return tables


def _per_type_table(summary: dict[str, Any]) -> Table:
    detector = summary["detector_recall_by_type"]
    end_to_end = summary["end_to_end_recall_by_type"]
    verdicts = summary["verdict_confusion"]["per_type"]
    counts = summary["cases_by_type"]
    rows = []
    for fraud_type in summary["verdict_confusion"]["labels"]:
        if fraud_type not in counts and fraud_type not in verdicts:
            continue
        verdict = verdicts.get(fraud_type, {})
        rows.append(
            [
                fraud_type,
                str(counts.get(fraud_type, 0)),
                format_value(detector.get(fraud_type, {}).get("recall")),
                format_value(end_to_end.get(fraud_type, {}).get("recall")),
                format_value(verdict.get("precision")),
                format_value(verdict.get("recall")),
                str(verdict.get("support", 0)),
            ]
        )
    return Table(
        "Per fraud type",
        [
            "type",
            "cases",
            "detector recall",
            "end-to-end recall",
            "verdict precision",
            "verdict recall",
            "flagged",
        ],
        rows,
        "Verdict precision/recall are over flagged cases only.",
    )


# --- plots -----------------------------------------------------------------------------------


def plot_pr_curve(records: Sequence[CaseRecord]) -> Plot:
    figure = Figure(figsize=(5, 4))
    axes = figure.add_subplot()
    labels = np.array([record.is_fraud for record in records])
    scores = np.array([record.detector_score for record in records])
    if labels.any() and not labels.all():
        precision, recall, _ = precision_recall_curve(labels, scores)
        axes.plot(recall, precision, label="detector")
        flagged = np.array([record.flagged for record in records])
        if flagged.any():
            axes.scatter(
                [labels[flagged].sum() / labels.sum()],
                [labels[flagged].mean()],
                color="red",
                zorder=3,
                label="operating threshold",
            )
        axes.legend(loc="lower left")
    else:
        axes.text(0.5, 0.5, "needs fraud and non-fraud cases", ha="center")
    axes.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02))
    return Plot("Detector precision-recall curve", png(figure))


def plot_confusion(summary: dict[str, Any]) -> Plot:
    confusion = summary["verdict_confusion"]
    matrix = np.array(confusion["matrix"])
    labels = confusion["labels"]
    figure = Figure(figsize=(7, 6))
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes)
    axes.set_xticks(range(len(labels)), labels, rotation=60, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set(xlabel="verdict type", ylabel="true type")
    for (row, column), count in np.ndenumerate(matrix):
        if count:
            axes.text(
                column,
                row,
                str(count),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if count > matrix.max() / 2 else "black",
            )
    return Plot("Verdict confusion matrix (flagged cases)", png(figure))


def plot_recall_by_type(summary: dict[str, Any]) -> Plot:
    detector = summary["detector_recall_by_type"]
    end_to_end = summary["end_to_end_recall_by_type"]
    types = list(detector)
    figure = Figure(figsize=(7, 4))
    axes = figure.add_subplot()
    positions = np.arange(len(types))
    axes.bar(positions - 0.2, [detector[t]["recall"] for t in types], 0.4, label="detector")
    axes.bar(positions + 0.2, [end_to_end[t]["recall"] for t in types], 0.4, label="end to end")
    axes.set_xticks(positions, types, rotation=45, ha="right")
    axes.set(ylabel="recall", ylim=(0, 1.05))
    axes.legend()
    return Plot("Recall per fraud type", png(figure))


def plot_latency(records: Sequence[CaseRecord]) -> Plot:
    latencies = [record.latency_s for record in records if record.verdict is not None]
    figure = Figure(figsize=(5, 3.5))
    axes = figure.add_subplot()
    axes.hist(latencies, bins=min(30, max(1, len(latencies))))
    axes.set(xlabel="seconds per verdict", ylabel="verdicts")
    return Plot("Verdict latency", png(figure))


# --- rendering -------------------------------------------------------------------------------


def render_markdown(title: str, tables: Sequence[Table]) -> str:
    lines = [f"# {title}", "", "Plots are in report.html beside this file.", ""]
    for table in tables:
        lines += [f"## {table.title}", ""]
        lines.append("| " + " | ".join(table.headers) + " |")
        lines.append("|" + "---|" * len(table.headers))
        lines += [
            "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in table.rows
        ]
        lines += ["", table.note, ""] if table.note else [""]
    return "\n".join(lines)


_STYLE = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
    "text-align:left}th{background:#f3f3f3}img{max-width:100%}.note{color:#666;font-size:90%}"
)


def render_html(title: str, tables: Sequence[Table], plots: Sequence[Plot]) -> str:
    """One file, nothing fetched: styles inline, plots as base64 `data:` images."""
    escape = html.escape
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>",
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>",
    ]
    for table in tables:
        parts.append(f"<h2>{escape(table.title)}</h2><table><tr>")
        parts += [f"<th>{escape(header)}</th>" for header in table.headers]
        parts.append("</tr>")
        for row in table.rows:
            parts.append("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>")
        parts.append("</table>")
        if table.note:
            parts.append(f"<p class='note'>{escape(table.note)}</p>")
    parts.append("<h2>Plots</h2>")
    for plot in plots:
        encoded = base64.b64encode(plot.png).decode("ascii")
        parts.append(
            f"<h3>{escape(plot.title)}</h3>"
            f"<img alt='{escape(plot.title)}' src='data:image/png;base64,{encoded}'>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(
    directory: Path,
    run_info: dict[str, Any],
    summary: dict[str, Any],
    records: Sequence[CaseRecord],
) -> tuple[Path, Path]:
    """Write report.md and report.html into the run directory; return their paths."""
    title = f"fraudlens eval: {run_info.get('name', directory.name)}"
    tables = build_tables(run_info, summary)
    plots = [
        plot_pr_curve(records),
        plot_confusion(summary),
        plot_recall_by_type(summary),
        plot_latency(records),
        *judgement_plots(summary),
    ]
    markdown, page = directory / REPORT_MD, directory / REPORT_HTML
    markdown.write_text(render_markdown(title, tables))
    page.write_text(render_html(title, tables, plots))
    return markdown, page
