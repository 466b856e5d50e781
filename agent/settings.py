"""All run-time settings in one object: env vars prefixed `FRAUDLENS_`, or `fraudlens.toml`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
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
    """Per-request timeout; a CPU model needs tens of seconds for one verdict."""
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

    # --- agent ---
    prompt_version: str = "verdict_v1"
    policy_file: Path | None = None
    """TOML risk policy; unset uses the packaged defaults (agent/policy_default.toml)."""
    detector_dir: Path | None = None
    """Trained detector folder; unset uses the bundled default model."""
    concurrency: int = 2
    """Flagged users sent to the LLM at once."""
    checkpoint_db: Path = Path("fraudlens-checkpoints.sqlite")
    require_approval_for: list[str] = Field(default_factory=list)
    """Actions that pause the graph for analyst approval, e.g. ["block_account"]."""

    # --- API service ---
    environment: str = "development"
    db_path: Path = Path("fraudlens.sqlite")
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    api_keys: list[ApiKey] = Field(default_factory=list)

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


@lru_cache
def get_settings() -> Settings:
    return Settings()
