"""Any FORMATS.md or real-data file → per-user sequences, with fraud-type labels if it has them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from detectors.adapters import FORMAT_NAMES, read_labels
from detectors.cases import FRAUD_TYPES
from detectors.loading import LoadReport, read_cases, read_events, read_screened
from detectors.screening.flagged_records import SCREENED_FORMAT
from detectors.sequences import Sequence, group_sequences, order_events

REAL_LABEL_TYPES = {"talkingdata": "click_fraud", "fraud_data": "payment_fraud"}
"""The fraud type a positive label of each labelled real data set stands for."""
LOADER_FORMATS: tuple[str, ...] = (*FORMAT_NAMES, SCREENED_FORMAT)
"""Every format `load_sequences` reads: the event formats and `screen`'s flagged users."""


WHOLE_SESSION_FORMATS = frozenset({"deeplog"})
"""Formats whose sequences end where the session ended (DeepLog's HDFS blocks); in the others a
user's events are a window of a history that goes on."""


@dataclass(slots=True)
class LoadedSequences:
    sequences: list[Sequence]
    labels: list[str] | None
    """FRAUD_TYPES value per sequence ("none" = legit), when asked for and known."""
    case_ids: list[str] | None
    """Per sequence, for case files (one sequence per case, even if user ids repeat)."""
    report: LoadReport


def load_sequences(path: str | Path, fmt: str, with_labels: bool = False) -> LoadedSequences:
    """Read `path` in format `fmt`; labels come from case files or the labelled real sets."""
    if fmt not in LOADER_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of: {', '.join(LOADER_FORMATS)}")
    if fmt == SCREENED_FORMAT:
        if with_labels:
            raise ValueError(f"format {fmt!r} carries scores, not labels")
        screened, report = read_screened(path)
        sequences = [Sequence(user.user_id, order_events(user.events)) for user in screened]
        return LoadedSequences(sequences, None, [user.case_id for user in screened], report)
    if fmt == "cases":
        cases, report = read_cases(path)
        sequences = [Sequence(case.events[0].user_id, order_events(case.events)) for case in cases]
        labels = [case.fraud_type for case in cases] if with_labels else None
        return LoadedSequences(sequences, labels, [case.case_id for case in cases], report)
    events, report = read_events(path, fmt)
    sequences = group_sequences(events)
    if not with_labels:
        return LoadedSequences(sequences, None, None, report)
    if fmt not in REAL_LABEL_TYPES:
        labelled = ", ".join(["cases", *REAL_LABEL_TYPES])
        raise ValueError(f"format {fmt!r} carries no labels; labelled formats: {labelled}")
    by_user = read_labels(path, fmt)
    positive = REAL_LABEL_TYPES[fmt]
    assert positive in FRAUD_TYPES
    labels = [positive if by_user.get(s.user_id, 0) else "none" for s in sequences]
    return LoadedSequences(sequences, labels, None, report)
