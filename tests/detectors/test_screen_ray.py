"""The Ray engine on a local 2-CPU cluster gives every score and flag the local engine gives."""

from __future__ import annotations

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


def test_ray_and_local_agree_on_every_user(cluster: None, model: Path, tmp_path: Path) -> None:
    files = write_spread_events(tmp_path)
    local = _screen(files, tmp_path / "local", model, EngineOptions(shard_bytes=4096))
    on_ray = _screen(files, tmp_path / "ray", model, EngineOptions("ray", workers=2, batch_size=8))
    local_users, ray_users = (
        read_users(tmp_path / "local/users"),
        read_users(tmp_path / "ray/users"),
    )
    assert len(local_users) == 38
    assert ray_users == local_users  # score, flag, n_events and top events of every user
    assert (on_ray.counts.users, on_ray.counts.events) == (local.counts.users, local.counts.events)
    local_flagged = sorted((tmp_path / "local/flagged.jsonl").read_text().splitlines())
    assert sorted((tmp_path / "ray/flagged.jsonl").read_text().splitlines()) == local_flagged
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
    assert read_users(tmp_path / "ray/users") == read_users(tmp_path / "local/users")
    assert sorted((tmp_path / "ray/flagged.jsonl").read_text().splitlines()) == sorted(
        (tmp_path / "local/flagged.jsonl").read_text().splitlines()
    )
