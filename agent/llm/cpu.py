"""What the machine can compute on, as torch reports it: cores, native bf16, CUDA."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_CPUINFO = Path("/proc/cpuinfo")


@dataclass(frozen=True, slots=True)
class Machine:
    """The facts a model-server start depends on."""

    cores: tuple[int, ...]
    """Ids of the CPU cores this process may run on."""
    native_bf16: bool
    """torch reports bf16 arithmetic in hardware (avx512_bf16 or AMX); without it bf16 is
    emulated by slow kernels."""
    cuda: bool
    """A CUDA device is present (the GPU build of vLLM then runs the model)."""
    cpu_name: str
    """The CPU's model name, for the start-up line and the bench table."""


def detect_machine() -> Machine:
    """This machine, as torch and the kernel see it."""
    import torch

    return Machine(
        cores=tuple(sorted(os.sched_getaffinity(0))),
        native_bf16=bool(
            torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
        ),
        cuda=torch.cuda.is_available(),
        cpu_name=cpu_model_name(),
    )


def cpu_model_name() -> str:
    """`model name` from /proc/cpuinfo (what `lscpu` prints), or `unknown CPU`."""
    try:
        for line in _CPUINFO.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                return value.strip()
    except OSError:
        pass
    return "unknown CPU"


def cpu_flags(wanted: tuple[str, ...]) -> list[str]:
    """Those of `wanted` (e.g. avx2, avx512_bf16, amx_tile) that /proc/cpuinfo lists."""
    try:
        for line in _CPUINFO.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "flags":
                present = set(value.split())
                return [flag for flag in wanted if flag in present]
    except OSError:
        pass
    return []
