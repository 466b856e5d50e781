"""The command line answers `--help` without importing the heavy stacks it does not need yet."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "sklearn", "vllm", "transformers", "langgraph", "ray", "pyarrow", "openai")
"""Each costs a second or more to import; a command imports them when it runs, not for --help."""

COMMANDS = [
    [],
    ["train"],
    ["screen"],
    ["investigate"],
    ["simulate"],
    ["bench", "detector"],
    ["bench", "api"],
    ["bench", "llm"],
    ["bench", "screen"],
    ["eval", "detector"],
    ["eval", "run"],
    ["eval", "compare"],
    ["eval", "perturbation"],
    ["llm", "pull"],
    ["llm", "serve"],
    ["serve", "api"],
    ["cases", "export"],
]

_PROBE = """
import json, sys
from agent.cli import app, _register_commands
_register_commands()
try:
    app(sys.argv[1:] + ["--help"], standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "fraudlens")
def test_help_imports_no_heavy_stack(command: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *command], capture_output=True, text=True, check=True
    )
    modules = json.loads(done.stdout.splitlines()[-1])
    assert "Usage:" in done.stdout
    loaded = sorted({name.split(".")[0] for name in modules} & set(HEAVY))
    assert loaded == [], f"`fraudlens {' '.join(command)} --help` imported {loaded}"
