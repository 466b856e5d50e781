"""All run-time settings in one object: env vars prefixed `FRAUDLENS_`, or `fraudlens.toml`."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class ApiKey(BaseSettings):
    """One API key, stored only as its sha256 hex digest."""

    name: str
    sha256: str
    scopes: list[str] = Field(default_factory=lambda: ["read", "write"])


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FRAUDLENS_", env_nested_delimiter="__", toml_file="fraudlens.toml"
    )

    # --- LLM endpoint (any OpenAI-compatible server with JSON-schema structured output) ---
    llm_base_url: str | None = None
    """e.g. `http://127.0.0.1:8011/v1`. Unset: the local model is pulled and served on demand."""
    llm_model: str = "qwen2.5-1.5b"
    """Model name sent to the endpoint; for the local server, a key of the model registry."""
    llm_api_key: SecretStr = SecretStr("EMPTY")
    llm_timeout_s: float = 180.0
    """Per-request timeout. Unset, a started server's timeouts come from its start-up probe
    (measured prefill and decode speed × the request's size); 180 s elsewhere."""
    llm_max_retries: int = 2
    """Retries after a failed request before the fallback verdict."""
    llm_max_tokens: int = 384
    llm_temperature: float = 0.0

    # --- local model server (vLLM) ---
    model_cache_dir: Path = Path.home() / ".cache" / "fraudlens" / "models"
    llm_host: str = "127.0.0.1"
    llm_port: int = 8011
    llm_max_model_len: int = 4096
    llm_startup_timeout_s: float = 600.0
    llm_kv_cache_gib: float = 2.0
    """KV cache of the local vLLM server (RAM on CPU): 1 GiB holds ~18.7k tokens of qwen2.5-1.5b
    in float32 (~37k in bf16); 2 GiB, the cached shared prefix and MAX_CONCURRENCY (10)
    verdict_v4 cases at once in float32.
    Mind the RAM: the server's process holds about 7 GB for this model in bf16 already."""
    llm_dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"
    """`auto`: bfloat16 on CUDA or a CPU with hardware bf16 (avx512_bf16, AMX), else float32.
    bf16 without it runs slow fallback kernels (an AVX2 CPU: one engine step over 300 s)."""
    llm_cpu_reserve_from_cores: int = 8
    """CPUs with fewer cores compute on every core; from this many on vLLM keeps one core for
    its front end (on 2 cores that halves the compute: 204 s vs 124 s for one verdict)."""
    llm_max_num_batched_tokens: int | None = None
    """Most tokens in one engine step (chunked prefill): bounds each step's time. Unset: 256 on
    a CPU (a step there takes ~10 s on 2 AVX2 cores, and the answers in flight advance one token
    a step, so short steps let them decode while prompts are prefilled), 2048 on CUDA."""
    llm_step_timeout_s: int = 900
    """vLLM's limit on one engine step (VLLM_EXECUTE_MODEL_TIMEOUT_SECONDS, vLLM's default 300);
    15× the slowest step measured (1,024 tokens on one loaded AVX2 core, about 60 s)."""
    llm_prefill_tok_s: float | None = None
    """Prompt tokens per second of the served model; with llm_decode_tok_s it sizes each call's
    timeout from the call's prompt. Measured by the start-up probe when unset."""
    llm_decode_tok_s: float | None = None
    """Answer tokens per second of one request alone; measured likewise."""
    llm_typical_prompt_tokens: int = 1500
    """Prompt size assumed before any verdict is measured (ETA, default concurrency)."""
    llm_typical_answer_tokens: int = 150
    """Answer size assumed likewise (qwen2.5-1.5b answers: verdict_v2 median 114, p90 180;
    verdict_v4 median 134, verdict_v5 117, verdict_v6 106, verdict_v7 101)."""

    # --- agent ---
    prompt_version: str = "verdict_v29"
    """Prompt files of the verdict (prompts/<version>_*; see prompts/README.md, verdict_v29)."""
    chat_prompt_version: str = "case_chat_v1"
    """Prompt files of the case chat (prompts/<version>_*.md); recorded with each answer."""
    policy_file: Path | None = None
    """TOML risk policy; unset uses the packaged defaults (agent/policy_default.toml)."""
    detector_dir: Path | None = None
    """Trained detector folder; unset uses the bundled default model."""
    concurrency: int = 2
    """Flagged users sent to the LLM at once. Unset, a started server's start-up probe picks it
    from the measured speeds (enough cases to keep the server busy); 2 elsewhere."""
    checkpoint_db: Path = Path("fraudlens-checkpoints.sqlite")
    require_approval_for: list[str] = Field(default_factory=list)
    """Actions that pause the graph for analyst approval, e.g. ["block_account"]."""
    render_token_budget: int = 1500
    """Rough token cap of one rendered case; keep prompt + answer under llm_max_model_len."""
    few_shot_k: int = 2
    """Labelled examples shown to the model per case, chosen by similarity."""

    # --- API service ---
    environment: str = "development"
    db_path: Path = Path("fraudlens.sqlite")
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    api_keys: list[ApiKey] = Field(default_factory=list)
    """Accepted Bearer keys, each by name, sha256 of the key and scopes (`read`, `write`)."""
    api_max_body_bytes: int = 2_000_000
    """Larger request bodies are refused with 413."""
    api_max_events_per_sequence: int = 5_000
    """A user's sequence with more events is refused with 422."""
    api_max_alerts_per_batch: int = 200
    """A batch with more alerts is refused with 422."""
    api_retry_interval_s: float = 60.0
    """How often alerts whose verdict fell back to `manual_review` are retried."""
    api_max_retries: int = 3
    """Attempts after the first before an alert keeps its fallback verdict for good."""
    chat_max_tokens: int = 400
    """Longest answer the case chat streams back."""

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        # Development may run with sample keys; anything else must be configured for real.
        if self.environment == "development":
            return self
        if not self.api_keys:
            raise ValueError(f"environment={self.environment!r} needs at least one api_keys entry")
        for key in self.api_keys:
            if key.sha256 in PLACEHOLDER_SHA256 or not _is_sha256_hex(key.sha256):
                raise ValueError(
                    f"api key {key.name!r}: sha256 must be the 64-hex digest of a real key, "
                    f"not a placeholder (environment={self.environment!r})"
                )
        if self.llm_api_key.get_secret_value() in PLACEHOLDER_SECRETS:
            raise ValueError(f"llm_api_key is a placeholder (environment={self.environment!r})")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


PLACEHOLDER_SECRETS = frozenset(("changethis", "changeme", "secret", "password", "test", ""))
PLACEHOLDER_SHA256 = frozenset(
    hashlib.sha256(secret.encode()).hexdigest() for secret in PLACEHOLDER_SECRETS
)


def _is_sha256_hex(text: str) -> bool:
    return len(text) == 64 and all(char in "0123456789abcdef" for char in text)


@lru_cache
def get_settings() -> Settings:
    return Settings()
