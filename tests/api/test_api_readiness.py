"""Readiness follows the model server's engine: /models listing is not enough once /health fails."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import api_settings

from agent.api.errors import ApiError
from agent.api.screening import ScreeningService
from detectors.detector import load_detector


@contextmanager
def model_server(health_status: int) -> Iterator[str]:
    """A stand-in vLLM front end: lists a model, and answers /health with `health_status`."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = 200 if self.path == "/v1/models" else health_status
            self.send_response(status if self.path in ("/v1/models", "/health") else 404)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()


@pytest.mark.parametrize(("health", "ready"), [(200, True), (404, True), (500, False)])
def test_ready_only_while_the_engine_is_alive(
    health: int, ready: bool, tmp_path: Path, detector_dir: Path
) -> None:
    with model_server(health) as base_url:
        settings = api_settings(tmp_path, detector_dir, llm_base_url=base_url)
        service = ScreeningService(settings, load_detector(detector_dir))
        if ready:
            assert asyncio.run(service.readiness()).status == "ready"
        else:
            with pytest.raises(ApiError, match="engine unhealthy") as raised:
                asyncio.run(service.readiness())
            assert raised.value.status == 503
