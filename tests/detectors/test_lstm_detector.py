"""The LSTM detector: seeded quality floor, one-pass = per-window, save/load, threshold, guards."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from detector_fixtures import make_sequences
from sklearn.metrics import roc_auc_score

from detectors import model as model_module
from detectors.cases import FRAUD_TYPES
from detectors.detector import DEFAULT_MODEL_DIR, LSTMDetector, default_model_dir, load_detector
from detectors.sequences import Sequence
from detectors.tokenizer import NotFittedError
from detectors.training import padded_batch


def small_detector(epochs: int = 4) -> LSTMDetector:
    return LSTMDetector(hidden=32, embed_dim=16, epochs=epochs, seed=0)


@pytest.fixture(scope="module")
def unsupervised() -> LSTMDetector:
    sequences, _ = make_sequences(400, 0, seed=1)
    return small_detector().fit(sequences)


@pytest.fixture(scope="module")
def supervised() -> LSTMDetector:
    return small_detector().fit(*make_sequences(300, 60, seed=3))


def test_self_supervised_quality_floor_on_injected_anomalies(unsupervised: LSTMDetector) -> None:
    sequences, labels = make_sequences(200, 40, seed=2)
    scores = unsupervised.decision_function(sequences)
    is_fraud = np.asarray([label != "none" for label in labels])
    assert roc_auc_score(is_fraud, scores) >= 0.9


def test_supervised_head_gives_type_probabilities(supervised: LSTMDetector) -> None:
    sequences, labels = make_sequences(100, 20, seed=4)
    results = supervised.explain(sequences)
    is_fraud = np.asarray([label != "none" for label in labels])
    assert roc_auc_score(is_fraud, [r.score for r in results]) >= 0.95
    for result, sequence in zip(results, sequences, strict=True):
        assert result.fraud_type_probs is not None
        assert set(result.fraud_type_probs) == set(FRAUD_TYPES)
        assert sum(result.fraud_type_probs.values()) == pytest.approx(1.0, abs=1e-4)
        assert [event.index for event in result.events] == list(range(len(sequence)))
        assert all(event.rank >= 1 and event.nll >= 0 for event in result.events)
        assert result.embedding is not None and len(result.embedding) == 32

    def mean_takeover_prob(wanted: str) -> float:
        chosen = [r for r, label in zip(results, labels, strict=True) if label == wanted]
        return float(np.mean([(r.fraud_type_probs or {})["account_takeover"] for r in chosen]))

    assert mean_takeover_prob("account_takeover") > mean_takeover_prob("none") + 0.05


def test_one_pass_equals_per_window_scoring(unsupervised: LSTMDetector) -> None:
    sequences, _ = make_sequences(12, 4, seed=5)
    assert unsupervised.tokenizer_ is not None and unsupervised.model_ is not None
    encoded = unsupervised.tokenizer_.encode(sequences)
    batch = padded_batch(encoded, np.arange(len(sequences)), torch.device("cpu"))
    with torch.inference_mode():
        one_pass = unsupervised.model_.surprise(batch.x, batch.lengths, batch.targets)
        nll, rank = unsupervised.model_.surprise_per_window(
            batch.x, batch.lengths, batch.targets, window=batch.x.shape[1]
        )
    assert torch.allclose(one_pass.nll, nll, atol=1e-4)
    assert torch.equal(one_pass.rank, rank)


def test_the_head_scores_alike_in_any_number_of_pieces(
    unsupervised: LSTMDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next-token head runs a bounded number of states at a time (on a GPU too, so that a
    large batch fits); where the pieces are cut must not change a score."""
    sequences, _ = make_sequences(9, 3, seed=7)
    assert unsupervised.tokenizer_ is not None and unsupervised.model_ is not None
    encoded = unsupervised.tokenizer_.encode(sequences)
    batch = padded_batch(encoded, np.arange(len(sequences)), torch.device("cpu"))
    scored = []
    for rows in (5, 10**9):
        monkeypatch.setattr(model_module, "HEAD_ROWS_CPU", rows)
        with torch.inference_mode():
            scored.append(unsupervised.model_.surprise(batch.x, batch.lengths, batch.targets))
    assert torch.allclose(scored[0].nll, scored[1].nll, atol=1e-5)
    assert torch.equal(scored[0].rank, scored[1].rank)


def test_save_load_round_trip_is_identical_and_pickle_free(
    supervised: LSTMDetector, tmp_path: Path
) -> None:
    sequences, _ = make_sequences(50, 10, seed=6)
    supervised.save(tmp_path / "model")
    files = sorted(path.name for path in (tmp_path / "model").iterdir())
    assert files == ["detector.json", "model.safetensors"]
    assert b"\x80\x04" not in (tmp_path / "model" / "detector.json").read_bytes()
    loaded = LSTMDetector.load(tmp_path / "model")
    assert np.array_equal(
        loaded.decision_function(sequences), supervised.decision_function(sequences)
    )
    assert loaded.threshold_ == supervised.threshold_
    assert loaded.version == supervised.version and loaded.version.startswith("lstm-")
    assert loaded.tokenizer_ is not None and supervised.tokenizer_ is not None
    assert loaded.tokenizer_.to_dict() == supervised.tokenizer_.to_dict()


def test_a_model_saved_before_a_behaviour_signal_was_added_loads_without_it(
    supervised: LSTMDetector, tmp_path: Path
) -> None:
    supervised.save(tmp_path / "model")
    config = tmp_path / "model" / "detector.json"
    meta = json.loads(config.read_text())
    del meta["calibration"]["signals"]["straight_bulk_buys"]
    config.write_text(json.dumps(meta))
    older = LSTMDetector.load(tmp_path / "model")
    assert older.signal_names == tuple(
        name for name in supervised.signal_names if name != "straight_bulk_buys"
    )
    sequences, _ = make_sequences(50, 10, seed=6)
    tails = older.explain(sequences)[0].signal_tail_probabilities
    assert tails is not None and tails.keys() == set(older.signal_names)
    legitimate, _ = make_sequences(120, 0, seed=9)
    assert older.recalibrated(legitimate, "fixture").signal_names == supervised.signal_names
    del meta["calibration"]["signals"]["worst_event"]  # not a behaviour signal: retrain
    config.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="only behaviour signals added since may be missing"):
        LSTMDetector.load(tmp_path / "model")


def test_predict_follows_threshold(unsupervised: LSTMDetector) -> None:
    sequences, labels = make_sequences(100, 20, seed=7)
    scores = unsupervised.decision_function(sequences)
    assert np.array_equal(
        unsupervised.predict(sequences), (scores >= unsupervised.threshold_).astype(int)
    )
    threshold = unsupervised.calibrate_threshold(sequences, labels, target_recall=0.9)
    flagged = unsupervised.predict(sequences).astype(bool)
    is_fraud = np.asarray([label != "none" for label in labels])
    assert threshold == unsupervised.threshold_
    assert flagged[is_fraud].mean() >= 0.9
    unsupervised.calibrate_threshold(sequences, target_flag_rate=0.1)
    assert unsupervised.predict(sequences).sum() == 12


def test_unfitted_guard_and_bad_input() -> None:
    sequences, labels = make_sequences(5, 1)
    detector = small_detector()
    with pytest.raises(NotFittedError, match="not fitted"):
        detector.decision_function(sequences)
    with pytest.raises(NotFittedError):
        detector.predict(sequences)
    with pytest.raises(ValueError, match="5 labels for 6 sequences"):
        detector.fit(sequences, labels[:5])
    with pytest.raises(ValueError, match="not FRAUD_TYPES"):
        detector.fit(sequences, ["fraud"] * 6)


def test_training_is_deterministic_on_cpu() -> None:
    sequences, _ = make_sequences(60, 0, seed=8)
    first = small_detector(epochs=1).fit(sequences)
    second = small_detector(epochs=1).fit(sequences)
    assert first.version == second.version
    assert np.array_equal(first.decision_function(sequences), second.decision_function(sequences))


def test_bundled_default_model_loads_and_scores() -> None:
    detector = load_detector(None)
    assert default_model_dir() == DEFAULT_MODEL_DIR and detector.supervised
    assert detector.version.startswith("lstm-") and detector.threshold_ is not None
    assert (DEFAULT_MODEL_DIR / "model.safetensors").stat().st_size < 5_000_000
    sequences, _ = make_sequences(20, 4, seed=9)
    results = detector.explain(sequences)
    assert [len(r.events) for r in results] == [len(s) for s in sequences]
    assert all(r.flagged == (r.score >= detector.threshold_) for r in results)


def test_a_sequence_cut_short_is_surprising_at_its_end(unsupervised: LSTMDetector) -> None:
    sequences, _ = make_sequences(60, 0, seed=11)
    cut = [Sequence(s.user_id, s.events[:2]) for s in sequences]
    full_end = unsupervised.surprise_arrays(sequences).end_nll
    cut_end = unsupervised.surprise_arrays(cut).end_nll
    assert np.median(cut_end) > np.median(full_end) + 0.5  # every full one ends with a logout
    scored = unsupervised.explain(cut[:3])
    assert all(r.end_surprise is not None and r.end_surprise > 0 for r in scored)
    assert all(len(r.events) == 2 for r in scored)  # no entries for the begin or the end


def test_the_calibration_is_saved_and_the_budget_holds(
    unsupervised: LSTMDetector, supervised: LSTMDetector, tmp_path: Path
) -> None:
    legit, _ = make_sequences(300, 0, seed=12)
    assert unsupervised.predict(legit).mean() <= 0.12  # at most 5 % by the union bound
    # (test_predict_follows_threshold moves the unsupervised one's threshold)
    assert supervised.threshold_ == pytest.approx(1.0 - supervised.contamination)
    meta = json.loads((unsupervised.save(tmp_path / "m") / "detector.json").read_text())
    assert meta["calibration"]["flag_budget"] == unsupervised.contamination
    assert 0.0 <= meta["calibration"]["held_out_flag_rate"] <= unsupervised.contamination
    assert meta["calibration"]["event_surprise"]["count"] > 0
    assert set(meta["calibration"]["signals"]) == set(unsupervised.signal_names)
    result = unsupervised.explain(legit[:1])[0]
    assert result.signal_tail_probabilities is not None
    assert set(result.signal_tail_probabilities) == set(unsupervised.signal_names)


def test_signals_constant_on_legitimate_users_are_left_out_of_the_score(
    unsupervised: LSTMDetector,
) -> None:
    constant = [n for n in unsupervised.signal_names if not unsupervised.calibrations_[n].varies]
    assert constant  # the synthetic users write no reviews, for one
    left_out = {*constant, "end_surprise"}  # the ending too: these users' ends are not known
    assert set(unsupervised.combined_signals) == set(unsupervised.signal_names) - left_out
    sequences, _ = make_sequences(20, 5, seed=13)
    arrays = unsupervised.surprise_arrays(sequences)
    assert np.array_equal(
        unsupervised.decision_function(sequences),
        unsupervised.fused_scores(arrays, sequences, unsupervised.combined_signals),
    )


def test_the_ending_counts_only_where_sequences_are_whole_sessions(
    unsupervised: LSTMDetector, tmp_path: Path
) -> None:
    # A user's events in a file are a window of a history that goes on: honest users cut
    # short are flagged little more than whole ones (5 %; the synthetic users' aggregates
    # move too). With whole sessions (DeepLog's HDFS blocks) a session that stops early is
    # the anomaly.
    legit, _ = make_sequences(300, 0, seed=14)
    cut = [Sequence(s.user_id, s.events[: max(1, len(s.events) * 7 // 10)]) for s in legit]
    threshold = 1.0 - unsupervised.contamination
    windows = unsupervised.decision_function(cut) >= threshold
    sessions = copy.deepcopy(unsupervised)
    sessions.endings_known = True
    assert "end_surprise" in sessions.combined_signals
    ended_early = sessions.decision_function(cut) >= threshold
    assert windows.mean() <= 0.2
    assert ended_early.mean() >= windows.mean() + 0.3
    assert LSTMDetector.load(sessions.save(tmp_path / "sessions")).endings_known


@pytest.mark.slow
def test_recalibrated_on_another_simulators_legitimate_users_its_budget_holds_there() -> None:
    """The bundled detector (sim_v1) flags more than its 5 % budget of sim_v2's legitimate
    users; recalibrated on sim_v2_train's, its threshold flags 5 % of those, and about as many
    of sim_v2_test's (binomial noise on 960 users: ±1.4 points at two standard errors)."""
    from detectors.base import LEGIT
    from detectors.sequence_files import load_sequences

    datasets = Path(__file__).resolve().parents[2] / "evals" / "datasets"
    train = load_sequences(datasets / "sim_v2_train.jsonl.gz", "cases", with_labels=True)
    test = load_sequences(datasets / "sim_v2_test.jsonl.gz", "cases", with_labels=True)
    legit = [
        s for s, label in zip(train.sequences, train.labels or [], strict=True) if label == LEGIT
    ]
    bundled = load_detector()
    fresh = bundled.recalibrated(legit, "sim_v2_train's legitimate users")
    is_legit = np.asarray(test.labels) == LEGIT

    def legit_flag_rate(detector: LSTMDetector) -> float:
        return float(detector.predict(test.sequences)[is_legit].mean())

    assert legit_flag_rate(bundled) > 0.08
    assert fresh.fills_budget_ and fresh.calibration_flag_rate_ == pytest.approx(0.05, abs=1e-3)
    assert legit_flag_rate(fresh) == pytest.approx(0.05, abs=0.014)
    assert fresh.model_ is bundled.model_ and fresh.version != bundled.version
    assert bundled.calibration_reference_ is None  # the original is left as it was
    with pytest.raises(ValueError, match="50 legitimate users to calibrate on; need ≥ 100"):
        bundled.recalibrated(legit[:50], "too few")
