"""Real behaviour to build on: Taobao/REES46 users and items, Fraud_Data/TalkingData traits."""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from detectors.adapters import REAL_DATA_DIR, read_labels, real_data_path
from detectors.loading import read_events
from detectors.sequences import Sequence, group_sequences
from evals.simulator.catalog import Catalog

MIN_LONG_EVENTS = 20
"""A Taobao user with at least this many events is a long-standing account history."""
MIN_SHORT_EVENTS = 2


@dataclass(slots=True)
class RealPool:
    """Real per-user sequences (`source` names where each came from) and the items they touch."""

    long: list[tuple[str, Sequence]]
    """Taobao accounts with days of history: legitimate users and prefixes of embedded fraud."""
    short: list[tuple[str, Sequence]]
    """REES46 visitors with a short session or two."""
    catalog: Catalog
    stolen_card_delays: list[float]
    """Seconds from sign-up to purchase of the accounts Fraud_Data labels fraud (class 1)."""
    click_farm_attrs: list[dict[str, str]]
    """app/os/channel/device of TalkingData clicks from heavy-clicking ips that never installed
    anything (the data set's click-fraud proxy)."""

    def split(self, fractions: list[float], rng: random.Random) -> list[RealPool]:
        """Disjoint pools (users shuffled, then cut by `fractions`) sharing one catalog, so cases
        of different splits never replay the same real user."""
        return [
            RealPool(long, short, self.catalog, self.stolen_card_delays, self.click_farm_attrs)
            for long, short in zip(
                _cut(self.long, fractions, rng), _cut(self.short, fractions, rng), strict=True
            )
        ]


def _cut(
    users: list[tuple[str, Sequence]], fractions: list[float], rng: random.Random
) -> list[list[tuple[str, Sequence]]]:
    shuffled = list(users)
    rng.shuffle(shuffled)
    total = sum(fractions)
    parts, start, cumulative = [], 0, 0.0
    for fraction in fractions:
        cumulative += fraction
        end = round(len(shuffled) * cumulative / total)
        parts.append(shuffled[start:end])
        start = end
    for index, part in enumerate(parts):
        if not part:
            raise ValueError(
                f"split {index} of {len(users)} real users is empty; fractions {fractions} too "
                "small for the real data"
            )
    return parts


@lru_cache(maxsize=2)
def load_real_pool(data_dir: Path = REAL_DATA_DIR) -> RealPool:
    """Read the real data sets once per process (the pool is never mutated)."""
    taobao, _ = read_events(data_dir / _relative("taobao"), "taobao")
    rees46, _ = read_events(data_dir / _relative("rees46"), "rees46")
    long = [("taobao", seq) for seq in group_sequences(taobao) if len(seq) >= MIN_LONG_EVENTS]
    short = [("rees46", seq) for seq in group_sequences(rees46) if len(seq) >= MIN_SHORT_EVENTS]
    if not long or not short:
        raise ValueError(
            f"real data in {data_dir} gave {len(long)} long and {len(short)} short user "
            "sequences; need ≥ 1 of each"
        )
    return RealPool(
        long=long,
        short=short,
        catalog=Catalog.from_events(rees46 + taobao),
        stolen_card_delays=_stolen_card_delays(data_dir / _relative("fraud_data")),
        click_farm_attrs=_click_farm_attrs(data_dir / _relative("talkingdata")),
    )


def _stolen_card_delays(path: Path) -> list[float]:
    events, _ = read_events(path, "fraud_data")
    labels = read_labels(path, "fraud_data")
    delays = [
        sequence.events[-1].ts - sequence.events[0].ts
        for sequence in group_sequences(events)
        if labels.get(sequence.user_id) == 1
    ]
    if not delays:
        raise ValueError(f"{path} has 0 fraud-labelled users; need ≥ 1")
    return delays


def _click_farm_attrs(path: Path, min_clicks: int = 5) -> list[dict[str, str]]:
    events, _ = read_events(path, "talkingdata")
    labels = read_labels(path, "talkingdata")
    attrs = [
        {key: str(value) for key, value in event.attrs.items()}
        for sequence in group_sequences(events)
        if labels.get(sequence.user_id) == 1 and len(sequence) >= min_clicks
        for event in sequence.events
    ]
    if not attrs:
        raise ValueError(f"{path} has 0 never-converting ips with ≥ {min_clicks} clicks")
    return attrs


def _relative(fmt: str) -> Path:
    return real_data_path(fmt).relative_to(REAL_DATA_DIR)
