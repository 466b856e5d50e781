"""Distance of a user's aggregates from the typical legitimate user's."""

from __future__ import annotations

import numpy as np
import pytest
from detector_fixtures import make_sequences

from detectors.aggregate_profile import AggregateProfile


def test_fraud_is_further_from_the_legitimate_profile_and_round_trips() -> None:
    legit, _ = make_sequences(200, 0, seed=3)
    profile = AggregateProfile.fit(legit)
    test, labels = make_sequences(100, 40, seed=4)
    distance = profile.distance(test)
    is_fraud = np.asarray([label != "none" for label in labels])
    assert np.median(distance[is_fraud]) > np.quantile(distance[~is_fraud], 0.9)
    again = AggregateProfile.from_dict(profile.to_dict())
    assert np.array_equal(again.distance(test), distance)
    with pytest.raises(ValueError, match="0 legitimate"):
        AggregateProfile.fit([])
