"""Report sections on the LLM's judgement: operating point, faithfulness, calibration."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from evals.report_format import Plot, Table, format_scalar, format_value, png

SYSTEMS = ("agent", "detector_only")
OPERATING_POINT = (
    ("end_to_end_recall", "end-to-end recall (fraud: flagged, right type, acceptable action)"),
    ("legit_above_monitor", "legitimate users ending above monitor"),
    ("hard_negatives_cleared", "flagged hard negatives cleared (allow or monitor)"),
    ("unsafe_rate", "unsafe actions (flagged cases)"),
)


def judgement_tables(summary: dict[str, Any]) -> list[Table]:
    scalars = summary["scalars"]
    calls = format_scalar(scalars["agent.llm_calls_per_1000_users"])
    operating = [
        [label, *(format_scalar(scalars[f"{system}.{name}"]) for system in SYSTEMS)]
        for name, label in OPERATING_POINT
    ]
    operating.append(["LLM calls per 1,000 users", calls, "0"])
    faithfulness = [
        [
            fraud_type,
            format_value(row["faithful"]),
            format_value(row["cited_kinds"]),
            format_value(row["numbers"]),
            str(row["n"]),
        ]
        for fraud_type, row in summary["faithfulness_by_type"].items()
    ]
    calibration = [
        [
            f"{point['low']:.1f}–{point['high']:.1f}",
            format_value(point["confidence"]),
            format_value(point["accuracy"]),
            str(point["n"]),
        ]
        for point in summary["calibration"]
    ]
    guess_wrong = scalars["agent.type_accuracy_where_guess_wrong"]
    faithful = f"Faithfulness overall: {format_scalar(scalars['agent.faithfulness_rate'])}."
    explanation = scalars.get("agent.explanation_kinds_rate")  # runs from session 17 on
    if explanation is not None:
        faithful += (
            " Explanations whose own text cites only events of the type's kinds: "
            f"{format_scalar(explanation)}."
        )
    return [
        Table(
            "Operating point: the system against the detector alone at the same flag budget",
            ["", "detector + LLM", "detector alone (type head + rule action)"],
            operating,
            "Same run, same flags. Type accuracy where the shown detector guess was wrong: "
            f"{format_scalar(guess_wrong)} (n={guess_wrong['n']}; the detector alone: 0).",
        ),
        Table(
            "Faithfulness per chosen type (model answers)",
            ["type", "faithful", "cites the type's event kinds", "numbers from the case", "n"],
            faithfulness,
            faithful,
        ),
        Table(
            "Calibration of the model's confidence (reliability diagram)",
            ["confidence bin", "mean confidence", "type accuracy", "n"],
            calibration,
            f"Expected calibration error: {format_scalar(scalars['agent.ece'])}.",
        ),
    ]


def judgement_plots(summary: dict[str, Any]) -> list[Plot]:
    """The reliability diagram, when the run has scored model answers."""
    points = summary["calibration"]
    if not points:
        return []
    figure = Figure(figsize=(4.5, 4))
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    axes.scatter(
        [p["confidence"] for p in points],
        [p["accuracy"] for p in points],
        s=[20 + 10 * p["n"] for p in points],
        label="model answers (size = count)",
    )
    axes.set(xlabel="stated confidence", ylabel="type accuracy", xlim=(0, 1), ylim=(0, 1.05))
    axes.legend(loc="upper left")
    return [Plot("Reliability diagram", png(figure))]
