"""Report building blocks: tables, plots as PNG bytes, and how values are written."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


@dataclass(slots=True)
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]
    note: str = ""


@dataclass(slots=True)
class Plot:
    title: str
    png: bytes = field(repr=False)


def format_value(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def format_scalar(scalar: dict[str, Any]) -> str:
    """`0.712 [0.650, 0.770]`: the value with its bootstrap 95 % interval."""
    low, high = scalar["ci95"]
    if scalar["value"] is None:
        return "n/a"
    if low is None:
        return format_value(scalar["value"])
    return f"{format_value(scalar['value'])} [{format_value(low)}, {format_value(high)}]"


def png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()
