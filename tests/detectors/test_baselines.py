"""Baselines behind the detector contract: n-gram, isolation forest, rules."""

from __future__ import annotations

import numpy as np
import pytest
from detector_fixtures import make_sequences
from sklearn.metrics import roc_auc_score

from detectors.base import BaseDetector, threshold_for_flag_rate, threshold_for_recall
from detectors.baselines import IsolationForestDetector, NgramDetector
from detectors.rules import RuleDetector
from detectors.tokenizer import NotFittedError

BASELINES = [NgramDetector, IsolationForestDetector, RuleDetector]


@pytest.mark.parametrize("cls", BASELINES)
def test_baseline_contract_and_quality_floor(cls: type[BaseDetector]) -> None:
    train, _ = make_sequences(300, 0, seed=1)
    test, labels = make_sequences(150, 30, seed=2)
    detector = cls().fit(train)
    scores = detector.decision_function(test)
    assert scores.shape == (len(test),)
    is_fraud = np.asarray([label != "none" for label in labels])
    assert roc_auc_score(is_fraud, scores) >= 0.8
    assert detector.threshold_ is not None
    assert np.array_equal(detector.predict(test), (scores >= detector.threshold_).astype(int))


@pytest.mark.parametrize("cls", BASELINES)
def test_baseline_unfitted_guard(cls: type[BaseDetector]) -> None:
    sequences, _ = make_sequences(3, 1)
    with pytest.raises(NotFittedError):
        cls().predict(sequences)
    with pytest.raises(ValueError, match="cannot fit on 0"):
        cls().fit([])


def test_ngram_scores_a_seen_sequence_below_an_unseen_one() -> None:
    train, _ = make_sequences(200, 0, seed=3)
    fraud, _ = make_sequences(0, 4, seed=4)
    detector = NgramDetector().fit(train)
    assert detector.decision_function(fraud).min() > np.median(detector.decision_function(train))


def test_labels_restrict_the_normal_model_to_legitimate_sequences() -> None:
    train, labels = make_sequences(200, 40, seed=5)
    fraud = [s for s, label in zip(train, labels, strict=True) if label != "none"]
    contaminated = NgramDetector().fit(train).decision_function(fraud)
    clean = NgramDetector().fit(train, labels).decision_function(fraud)
    assert clean.mean() > contaminated.mean()
    with pytest.raises(ValueError, match="0 \\(legitimate\\)"):
        NgramDetector().fit(fraud, ["card_testing"] * len(fraud))


def test_thresholds_for_rate_and_recall() -> None:
    scores = np.arange(10, dtype=float)
    assert threshold_for_flag_rate(scores, 0.2) == 8.0
    is_fraud = np.zeros(10, dtype=bool)
    is_fraud[[3, 7, 9]] = True
    assert threshold_for_recall(scores, is_fraud, 0.66) == 7.0
    assert threshold_for_recall(scores, is_fraud, 1.0) == 3.0
    with pytest.raises(ValueError, match="no fraud among 10"):
        threshold_for_recall(scores, np.zeros(10, dtype=bool), 0.5)


def test_aggregate_features_stay_finite_for_refunds_written_as_credits() -> None:
    from detectors.baselines import aggregate_features
    from detectors.events import parse_event
    from detectors.sequences import Sequence

    records = [
        {"user_id": "u", "ts": 0, "action": "purchase", "amount": 20.0},
        {"user_id": "u", "ts": 60, "action": "refund_request", "amount": -45.0},
    ]
    features = aggregate_features([Sequence("u", [parse_event(record) for record in records])])
    assert features.shape[0] == 1 and np.isfinite(features).all()
    assert features[0, 5] < 0  # the net amount (-25) keeps its sign


def test_aggregate_features_of_a_batch_are_each_sequence_alone() -> None:
    from detectors.baselines import aggregate_features
    from detectors.sequences import Sequence

    sequences = [*make_sequences(6, 3, seed=5)[0], Sequence("empty", [])]
    together = aggregate_features(sequences)
    alone = np.concatenate([aggregate_features([sequence]) for sequence in sequences])
    assert np.array_equal(together, alone)
    assert np.isfinite(together).all() and not together[-1].any()
