"""Small seeded synthetic sequences for detector tests: routine shoppers and injected fraud."""

from __future__ import annotations

import numpy as np

from detectors.events import Event
from detectors.sequences import Sequence

BASE_TS = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def _shopper(rng: np.random.Generator, user: str) -> list[Event]:
    ts = BASE_TS + float(rng.uniform(0, 86400 * 30))
    device, ip = f"d-{user}", f"10.0.{rng.integers(0, 255)}.{rng.integers(1, 255)}"
    events = [Event(user, ts, "login", status="success", device_id=device, ip=ip, country="US")]
    for _ in range(int(rng.integers(3, 12))):
        ts += float(rng.uniform(10, 120))
        item = f"i{rng.integers(0, 50)}"
        events.append(Event(user, ts, "view", item_id=item, device_id=device, ip=ip))
    if rng.random() < 0.7:
        amount = float(rng.uniform(20, 200))
        for action in ("add_to_cart", "checkout", "payment_attempt", "purchase"):
            ts += float(rng.uniform(20, 90))
            status = "approved" if action == "payment_attempt" else None
            events.append(
                Event(user, ts, action, amount=amount, quantity=1, status=status, device_id=device)
            )
    ts += float(rng.uniform(30, 300))
    events.append(Event(user, ts, "logout", device_id=device, ip=ip))
    return events


def _card_tester(rng: np.random.Generator, user: str) -> list[Event]:
    ts = BASE_TS + float(rng.uniform(0, 86400 * 30))
    events = [Event(user, ts, "login", status="success", device_id=f"d-{user}", country="US")]
    for attempt in range(int(rng.integers(8, 20))):
        ts += float(rng.uniform(1, 6))
        status = "approved" if rng.random() < 0.15 else "declined"
        events.append(
            Event(
                user,
                ts,
                "payment_attempt",
                amount=float(rng.uniform(0.5, 3)),
                status=status,
                payment_method=f"card:****{attempt:04d}",
                device_id=f"d-{user}",
            )
        )
    return events


def _takeover(rng: np.random.Generator, user: str) -> list[Event]:
    events = _shopper(rng, user)[:-1]
    ts = events[-1].ts + float(rng.uniform(3600, 86400))
    for _ in range(3):
        ts += float(rng.uniform(2, 10))
        events.append(Event(user, ts, "login", status="failed", device_id="d-evil", country="RU"))
    for action in ("login", "email_change", "address_change", "purchase"):
        ts += float(rng.uniform(5, 30))
        events.append(
            Event(
                user,
                ts,
                action,
                status="success" if action == "login" else None,
                amount=float(rng.uniform(900, 3000)) if action == "purchase" else None,
                quantity=1 if action == "purchase" else None,
                device_id="d-evil",
                ip="203.0.113.9",
                country="RU",
            )
        )
    return events


def make_sequences(n_legit: int, n_fraud: int, seed: int = 0) -> tuple[list[Sequence], list[str]]:
    """Shuffled sequences and their labels (FRAUD_TYPES values, "none" = legit)."""
    rng = np.random.default_rng(seed)
    sequences, labels = [], []
    for index in range(n_legit):
        user = f"u{seed}-{index}"
        sequences.append(Sequence(user, _shopper(rng, user)))
        labels.append("none")
    for index in range(n_fraud):
        user = f"f{seed}-{index}"
        if index % 2:
            sequences.append(Sequence(user, _card_tester(rng, user)))
            labels.append("card_testing")
        else:
            sequences.append(Sequence(user, _takeover(rng, user)))
            labels.append("account_takeover")
    order = rng.permutation(len(sequences))
    return [sequences[i] for i in order], [labels[i] for i in order]
