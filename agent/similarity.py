"""How alike two cases are in the detector's view: cosine of their sequence embeddings."""

from __future__ import annotations

import math
from collections.abc import Sequence


def cosine(left: Sequence[float], right: Sequence[float]) -> float:
    """In [-1, 1]; 0 when either vector is all zeros."""
    dot = sum(a * b for a, b in zip(left, right, strict=True))
    norm = math.sqrt(sum(a * a for a in left) * sum(b * b for b in right))
    return dot / norm if norm else 0.0
