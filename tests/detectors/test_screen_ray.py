"""The Ray engine on a local 2-CPU cluster gives every score and flag the local engine gives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from screen_fixtures import read_users, train_tiny_model, write_spread_events

from detectors.screening.run import EngineOptions, ScreenRun, run_screen
from detectors.screening.scoring import ScreenOutput

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny_model(tmp_path_factory.mktemp("ray-model"))


def _screen(files: list[Path], out: Path, model: Path, options: EngineOptions) -> ScreenRun:
    output = ScreenOutput(out / "users", flagged=out / "flagged.jsonl", all_users=True)
    return run_screen(files, "jsonl", model, output, options)


def _assert_same_users(found: dict[str, dict], expected: dict[str, dict]) -> None:
    """Same users, flags, event counts and most surprising events; scores equal to 1e-5: the
    detector's float32 sums depend on which sequences share a batch and on the thread count
    (measured: at most 3e-6 apart on 9,591 users, no flag changed)."""
    assert found.keys() == expected.keys()
    for user, record in expected.items():
        other = found[user]
        assert (other["flagged"], other["n_events"]) == (record["flagged"], record["n_events"])
        assert [e["index"] for e in other["top_events"]] == [
            e["index"] for e in record["top_events"]
        ]
        assert other["score"] == pytest.approx(record["score"], abs=1e-5)


def _flagged_events(out: Path) -> dict[str, list[dict]]:
    """Each flagged user's events as written to the `screened` file."""
    lines = (out / "flagged.jsonl").read_text().splitlines()
    return {record["case_id"]: record["events"] for record in map(json.loads, lines)}


def test_ray_and_local_agree_on_every_user(cluster: None, model: Path, tmp_path: Path) -> None:
    files = write_spread_events(tmp_path)
    local = _screen(files, tmp_path / "local", model, EngineOptions(shard_bytes=4096))
    on_ray = _screen(files, tmp_path / "ray", model, EngineOptions("ray", workers=2, batch_size=8))
    local_users, ray_users = (
        read_users(tmp_path / "local/users"),
        read_users(tmp_path / "ray/users"),
    )
    assert len(local_users) == 38
    _assert_same_users(ray_users, local_users)
    assert (on_ray.counts.users, on_ray.counts.events) == (local.counts.users, local.counts.events)
    assert _flagged_events(tmp_path / "ray") == _flagged_events(tmp_path / "local")
    assert [str(problem) for report in on_ray.reports for problem in report.problems] == [
        str(problem) for report in local.reports for problem in report.problems
    ]
    assert [r.summary() for r in on_ray.reports] == [r.summary() for r in local.reports]
    assert on_ray.rejected == 2


def test_ray_screens_case_files_like_local(cluster: None, model: Path, tmp_path: Path) -> None:
    cases = [model.parent / "train.jsonl.gz"]
    for engine, out in (("local", tmp_path / "local"), ("ray", tmp_path / "ray")):
        output = ScreenOutput(out / "users", flagged=out / "flagged.jsonl", all_users=True)
        run_screen(cases, "cases", model, output, EngineOptions(engine, workers=2))
    _assert_same_users(read_users(tmp_path / "ray/users"), read_users(tmp_path / "local/users"))
    assert _flagged_events(tmp_path / "ray") == _flagged_events(tmp_path / "local")
