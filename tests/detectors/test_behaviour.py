"""Machine-speed and volume signals per sequence."""

from __future__ import annotations

import numpy as np

from detectors.behaviour import BEHAVIOUR_SIGNALS, behaviour_signals
from detectors.events import Event
from detectors.sequences import Sequence


def _views(user: str, gaps: list[float]) -> Sequence:
    ts = np.concatenate([[0.0], np.cumsum(gaps)])
    return Sequence(
        user, [Event(user, float(t), "view", item_id=f"i{i}") for i, t in enumerate(ts)]
    )


def test_a_regular_fast_bot_stands_out_from_a_person() -> None:
    bot = _views("bot", [2.0] * 59)  # 60 distinct items, one every 2 s
    person = _views("person", [5.0, 90.0, 12.0, 600.0, 30.0, 7.0, 240.0])
    person.events.append(Event("person", 2000.0, "purchase", status="declined"))
    signals = dict(zip(BEHAVIOUR_SIGNALS, behaviour_signals([bot, person]).T, strict=True))
    assert signals["peak_events_per_minute"].tolist() == [30.0, 3.0]  # 707, 737, 744 s
    assert signals["gap_regularity"][0] == 1.0 and signals["gap_regularity"][1] < 0.6
    assert signals["longest_action_run"].tolist() == [60.0, 8.0]
    assert signals["distinct_items_per_minute"][0] == 6.0  # 60 items over the 10-minute floor
    assert signals["failed_outcomes"].tolist() == [0.0, 1.0]


def test_short_sequences_have_no_rhythm() -> None:
    values = behaviour_signals([_views("u", [1.0, 1.0])])
    assert values.shape == (1, len(BEHAVIOUR_SIGNALS))
    assert values[0, BEHAVIOUR_SIGNALS.index("gap_regularity")] == 0.0
