"""`screen --help` and `bench screen --help` import none of the heavy stacks, Ray included."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "sklearn", "vllm", "transformers", "langgraph", "ray", "pyarrow")

# Only these command modules, so that another command's imports cannot hide or cause a failure
# (tests/test_cli_startup.py checks the whole `fraudlens` app).
_PROBE = """
import json, sys, typer
from detectors.bench_screen_cli import bench_screen
from detectors.screen_cli import screen
app = typer.Typer()
app.command("screen")(screen)
app.command("bench-screen")(bench_screen)
try:
    app([sys.argv[1], "--help"], standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize(
    ("command", "option"), [("screen", "--engine"), ("bench-screen", "--ray-workers")]
)
def test_help_imports_no_heavy_stack(command: str, option: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, command], capture_output=True, text=True, check=True
    )
    assert "Usage:" in done.stdout and option in done.stdout
    modules = json.loads(done.stdout.splitlines()[-1])
    loaded = sorted({name.split(".")[0] for name in modules} & set(HEAVY))
    assert loaded == [], f"`{command} --help` imported {loaded}"
