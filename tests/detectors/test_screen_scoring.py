"""What a screen builds per sequence: top events without every event, only written users'
records, the scoring threads it is given, shard files read back as written."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
from detector_fixtures import make_sequences
from screen_fixtures import read_users, train_tiny_model, write_spread_events

from detectors.detector import load_detector
from detectors.loading import read_events
from detectors.screening.run import EngineOptions, run_screen
from detectors.screening.scoring import ScreenOutput, SequenceScreener
from detectors.screening.stage_costs import STAGES, measure_stages


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny_model(tmp_path_factory.mktemp("screen-scoring-model"))


def test_top_events_are_the_full_explanations_top_events(model: Path) -> None:
    sequences, _ = make_sequences(40, 8, seed=5)
    scored = load_detector(model).score_sequences(sequences)
    # Surprise rounded to whole nats as well: many ties, which must keep sequence order.
    rounded = replace(scored.arrays, nll=[nll.round() for nll in scored.arrays.nll])
    for case in (scored, replace(scored, arrays=rounded)):
        for index, sequence in enumerate(sequences):
            full = case.explain(index)
            for k in (1, 5, len(sequence) + 1):
                assert case.top_events(index, k) == full.top_events(k)
    assert any(len(set(nll.tolist())) < nll.size for nll in rounded.nll)


def test_explain_names_each_event_by_its_token(model: Path) -> None:
    detector = load_detector(model)
    sequences, _ = make_sequences(10, 2, seed=6)
    assert detector.tokenizer_ is not None
    features = detector.tokenizer_.encode(sequences).features
    names = [event.token for result in detector.explain(sequences) for event in result.events]
    assert names == detector.tokenizer_.feature_names_many(features)


def test_default_screen_writes_the_flagged_users_records(model: Path, tmp_path: Path) -> None:
    files = write_spread_events(tmp_path)
    for name, all_users in (("all", True), ("flagged", False)):
        output = ScreenOutput(tmp_path / name, all_users=all_users)
        run_screen(files, "jsonl", model, output, EngineOptions(shard_bytes=4096))
    every_user, written = read_users(tmp_path / "all"), read_users(tmp_path / "flagged")
    flagged = {user: record for user, record in every_user.items() if record["flagged"]}
    assert flagged and len(flagged) < len(every_user)
    assert written == flagged


def test_screener_scores_with_the_threads_it_is_given(model: Path, tmp_path: Path) -> None:
    before = torch.get_num_threads()
    try:
        SequenceScreener(str(model), ScreenOutput(tmp_path / "users"), threads=1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_stage_costs_time_every_stage_of_one_file(model: Path, tmp_path: Path) -> None:
    path = write_spread_events(tmp_path)[2]
    costs = measure_stages(path, "jsonl", str(model), batch_size=8)
    assert costs.events == len(read_events(path)[0])
    assert list(costs.per_events()) == list(STAGES)
    assert all(seconds >= 0 for seconds in costs.seconds.values())
    assert costs.seconds["parse + validate"] > 0 and costs.seconds["score"] > 0
    per_event = sum(costs.per_events(1).values())
    assert costs.events_per_cpu_s == pytest.approx(1 / per_event)
