"""A real uvicorn server on a free loopback port, in a thread; stop it and start it again."""

from __future__ import annotations

import threading
import time

import uvicorn
from fastapi import FastAPI

from agent.llm.server import find_free_port

START_TIMEOUT_S = 60.0


class RunningServer:
    def __init__(self, app: FastAPI, port: int | None = None) -> None:
        self.app = app
        self.port = port or find_free_port("127.0.0.1")
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> RunningServer:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"uvicorn on port {self.port} exited during start-up")
            if time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn on port {self.port} not started in {START_TIMEOUT_S}s")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)
