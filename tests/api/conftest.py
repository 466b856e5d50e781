"""API fixtures: a real uvicorn server per test module, on a tiny detector and a scripted model."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_doubles import ScriptedChatModel, train_tiny_detector
from api_server import RunningServer
from api_sse import WRITE_KEY

from agent.api.app import create_app
from agent.api.auth import hash_key
from agent.api.metrics import ApiMetrics
from agent.api.service import ApiService
from agent.api.wiring import assemble_service
from agent.investigator import Investigator
from agent.llm.client import ChatModel
from agent.settings import ApiKey, Settings
from detectors.detector import load_detector

READ_KEY = "reader-key-0123456789"
READ_HEADERS = {"Authorization": f"Bearer {READ_KEY}"}
WRITE_HEADERS = {"Authorization": f"Bearer {WRITE_KEY}"}


@pytest.fixture(scope="session")
def detector_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny_detector(tmp_path_factory.mktemp("detector"))


def api_settings(directory: Path, detector_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "db_path": directory / "api.sqlite",
        "checkpoint_db": directory / "checkpoints.sqlite",
        "detector_dir": detector_dir,
        "llm_base_url": "http://127.0.0.1:9/v1",
        "api_keys": [
            ApiKey(name="reader", sha256=hash_key(READ_KEY), scopes=["read"]),
            ApiKey(name="analyst", sha256=hash_key(WRITE_KEY), scopes=["read", "write"]),
        ],
        **overrides,
    }
    return Settings(**values)


InvestigatorFactory = Callable[[Settings, Any, ChatModel], Investigator]


def start_server(
    settings: Settings, model: ChatModel, make_investigator: InvestigatorFactory
) -> RunningServer:
    async def build(settings: Settings, metrics: ApiMetrics) -> ApiService:
        detector = load_detector(settings.detector_dir)
        investigator = make_investigator(settings, detector, model)
        return await assemble_service(
            settings, metrics, detector, investigator, model, investigator.similar_cases
        )

    return RunningServer(create_app(settings, build_service=build)).start()


def wait_for_job(client: httpx.Client, job_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}", headers=READ_HEADERS).json()
        if job["status"] == "done" or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


@pytest.fixture(scope="module")
def scripted_server(
    tmp_path_factory: pytest.TempPathFactory, detector_dir: Path
) -> Iterator[RunningServer]:
    from api_doubles import make_investigator

    settings = api_settings(tmp_path_factory.mktemp("api"), detector_dir)
    server = start_server(settings, ScriptedChatModel(), make_investigator)
    yield server
    server.stop()


@pytest.fixture
def client(scripted_server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=scripted_server.url, timeout=60) as http:
        yield http
