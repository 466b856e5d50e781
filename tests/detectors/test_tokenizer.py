"""The event tokenizer: learned buckets, novelty flags, vocabulary, OOV and persistence."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from detector_fixtures import BASE_TS, make_sequences

from detectors.events import Event
from detectors.sequences import Sequence
from detectors.tokenizer import OOV_TOKEN, OTHER_ACTION, EventTokenizer, NotFittedError


def _user(user: str, *events: tuple[float, str, dict[str, Any]]) -> Sequence:
    return Sequence(user, [Event(user, BASE_TS + ts, a, **extra) for ts, a, extra in events])


def test_encode_shapes_offsets_and_first_gap() -> None:
    sequences, _ = make_sequences(30, 4)
    tokenizer = EventTokenizer().fit(sequences)
    encoded = tokenizer.encode(sequences)
    assert encoded.features.shape == (sum(len(s) for s in sequences), 6)
    assert encoded.offsets[-1] == encoded.features.shape[0]
    assert list(encoded.lengths) == [len(s) for s in sequences]
    first_rows = encoded.offsets[:-1]
    assert (encoded.features[first_rows, 1] == 0).all()  # no gap before a first event
    assert (encoded.features[first_rows + 1, 1] > 0).all()
    for column, size in enumerate(tokenizer.feature_sizes):
        assert encoded.features[:, column].max() < size


def test_novelty_flags_relative_to_the_users_own_history() -> None:
    home = {"device_id": "d1", "ip": "1.1.1.1", "country": "US"}
    sequence = _user(
        "u1",
        (0, "login", home),
        (10, "view", home),
        (20, "login", {"device_id": "d2", "ip": "1.1.1.1", "country": "RU"}),
        (30, "view", home),
    )
    tokenizer = EventTokenizer(min_count=1).fit([sequence])
    flags = tokenizer.encode([sequence]).features[:, 5]
    assert list(flags) == [0, 0, 0b101, 0]  # new device and new country on the third event only
    assert tokenizer.feature_names(tokenizer.encode([sequence]).features[2]).endswith(
        "new_device|new_country"
    )


def test_buckets_are_learned_from_training_gaps() -> None:
    fast = [_user(f"u{i}", (0, "view", {}), (2, "view", {})) for i in range(20)]
    slow = [_user(f"s{i}", (0, "view", {}), (5000, "view", {})) for i in range(20)]
    tokenizer = EventTokenizer(n_gap_buckets=2).fit(fast + slow)
    assert len(tokenizer.gap_edges_) == 1
    features = tokenizer.encode([fast[0], slow[0]]).features
    assert features[1, 1] != features[3, 1]  # 2 s and 5000 s fall in different buckets


def test_out_of_vocabulary_and_frequent_other_actions() -> None:
    common = [_user(f"u{i}", (0, "other:wishlist_share", {}), (5, "view", {})) for i in range(5)]
    rare = [_user("r", (0, "other:rare_thing", {}), (5, "view", {}))]
    tokenizer = EventTokenizer(min_count=3).fit(common + rare)
    assert "other:wishlist_share" in tokenizer.actions_
    assert "other:rare_thing" not in tokenizer.actions_
    encoded = tokenizer.encode(rare)
    assert tokenizer.actions_[encoded.features[0, 0]] == OTHER_ACTION
    assert encoded.tokens[0] == 0
    assert tokenizer.token_name(0) == OOV_TOKEN
    known = tokenizer.encode(common[:1]).tokens
    assert (known > 0).all()
    assert tokenizer.token_name(int(known[0])).startswith("other:wishlist_share")


def test_json_round_trip_encodes_identically() -> None:
    sequences, _ = make_sequences(40, 6, seed=3)
    tokenizer = EventTokenizer().fit(sequences)
    restored = EventTokenizer.from_dict(json.loads(json.dumps(tokenizer.to_dict())))
    before, after = tokenizer.encode(sequences), restored.encode(sequences)
    assert np.array_equal(before.features, after.features)
    assert np.array_equal(before.tokens, after.tokens)


def test_unfitted_and_empty_errors() -> None:
    with pytest.raises(NotFittedError):
        EventTokenizer().encode([])
    with pytest.raises(ValueError, match="0 events"):
        EventTokenizer().fit([])


def test_a_zero_gap_has_its_own_bucket() -> None:
    sequences = [
        _user(f"u{i}", (0, "account_signup", {}), (0 if i < 5 else 60 + i, "purchase", {}))
        for i in range(40)
    ]
    tokenizer = EventTokenizer().fit(sequences)
    features = tokenizer.encode(sequences).features
    assert list(features[[1, 11], 1]) == [1, features[11, 1]] and features[11, 1] > 1
    assert tokenizer.feature_names(features[1]) == "purchase|gap=0"
