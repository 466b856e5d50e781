"""Pulling a local model: pinned wheels via pip, chunk order, sha256 refusal, cached no-op."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from agent.llm import pull as llm_pull
from agent.llm.pull import MARKER_FILE, ChecksumMismatchError, ensure_model
from agent.llm.registry import MODELS, RegistryModel, UnknownModelError, get_registry_model
from agent.settings import get_settings

CHUNKS = (b"GGUF-first-chunk-" * 100, b"second-chunk-" * 50)


def _write_wheel(folder: Path, package: str, chunk: bytes) -> None:
    """A minimal wheel holding one chunk, laid out like the registry's model-part packages."""
    module = package.replace("-", "_")
    with zipfile.ZipFile(folder / f"{module}-0.1.0-py3-none-any.whl", "w") as wheel:
        wheel.writestr(f"{module}/__init__.py", "")
        wheel.writestr(f"{module}/data/{module}.bin", chunk)
        info = f"{module}-0.1.0.dist-info"
        metadata = f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1.0\n"
        wheel.writestr(f"{info}/METADATA", metadata)
        wheel.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nTag: py3-none-any\n")
        wheel.writestr(f"{info}/RECORD", "")


@pytest.fixture
def local_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pip sees only a folder of fake model-part wheels (no network)."""
    index = tmp_path / "index"
    index.mkdir()
    for number, chunk in enumerate(CHUNKS, start=1):
        _write_wheel(index, f"fake-model-part{number}", chunk)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    return index


def _register_fake_model(monkeypatch: pytest.MonkeyPatch, sha256: str) -> RegistryModel:
    spec = RegistryModel(
        name="fake-model",
        upstream="test chunks",
        licence="Apache-2.0",
        packages=("fake-model-part1==0.1.0", "fake-model-part2==0.1.0"),
        chunk_pattern="*/data/*.bin",
        gguf_sha256=sha256,
        gguf_bytes=sum(len(chunk) for chunk in CHUNKS),
    )
    monkeypatch.setitem(MODELS, spec.name, spec)
    return spec


@pytest.fixture
def converted_ggufs(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Stand-in for the transformers conversion (tested for real in the `llm` test below)."""
    received: list[bytes] = []

    def convert(gguf_file: Path, out_dir: Path) -> None:
        received.append(gguf_file.read_bytes())
        out_dir.mkdir()
        (out_dir / "config.json").write_text("{}")

    monkeypatch.setattr(llm_pull, "convert_gguf_to_hf", convert)
    return received


def test_checksum_mismatch_is_refused_and_leaves_nothing(
    tmp_path: Path, local_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pinned = "0" * 64
    _register_fake_model(monkeypatch, sha256=pinned)
    actual = hashlib.sha256(b"".join(CHUNKS)).hexdigest()
    cache = tmp_path / "cache"

    with pytest.raises(ChecksumMismatchError) as raised:
        ensure_model("fake-model", cache, progress=False)

    assert pinned in str(raised.value)
    assert actual in str(raised.value)
    assert not (cache / "fake-model").exists()
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".lock")] == []


def test_chunks_are_joined_in_order_and_second_call_is_a_no_op(
    tmp_path: Path,
    local_index: Path,
    converted_ggufs: list[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = _register_fake_model(monkeypatch, hashlib.sha256(b"".join(CHUNKS)).hexdigest())
    cache = tmp_path / "cache"

    folder = ensure_model("fake-model", cache, progress=False)

    assert converted_ggufs == [b"".join(CHUNKS)]
    marker = json.loads((folder / MARKER_FILE).read_text())
    assert marker["gguf_sha256"] == spec.gguf_sha256
    assert marker["packages"] == list(spec.packages)

    # A second call must not reach pip: with an empty index, a download would fail.
    empty = tmp_path / "empty-index"
    empty.mkdir()
    monkeypatch.setenv("PIP_FIND_LINKS", str(empty))
    assert ensure_model("fake-model", cache, progress=False) == folder
    assert len(converted_ggufs) == 1


def test_folder_from_another_gguf_is_replaced(
    tmp_path: Path,
    local_index: Path,
    converted_ggufs: list[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = _register_fake_model(monkeypatch, hashlib.sha256(b"".join(CHUNKS)).hexdigest())
    stale = tmp_path / "cache" / "fake-model"
    stale.mkdir(parents=True)
    (stale / "config.json").write_text("{}")
    (stale / MARKER_FILE).write_text(json.dumps({"gguf_sha256": "f" * 64}))

    folder = ensure_model("fake-model", tmp_path / "cache", progress=False)

    assert folder == stale
    assert len(converted_ggufs) == 1
    assert json.loads((folder / MARKER_FILE).read_text())["gguf_sha256"] == spec.gguf_sha256


def test_unknown_model_names_the_known_ones() -> None:
    with pytest.raises(UnknownModelError, match="smollm2-135m"):
        get_registry_model("gpt-5")


@pytest.mark.llm
def test_real_smollm2_pull_loads_with_transformers() -> None:
    from transformers import AutoConfig, AutoTokenizer

    spec = get_registry_model("smollm2-135m")
    folder = ensure_model(spec.name, get_settings().model_cache_dir, progress=False)

    config = AutoConfig.from_pretrained(folder)
    assert config.model_type == "llama"
    assert not hasattr(config, "quantization_config")
    assert AutoTokenizer.from_pretrained(folder)("hello")["input_ids"]
    assert json.loads((folder / MARKER_FILE).read_text())["gguf_sha256"] == spec.gguf_sha256
