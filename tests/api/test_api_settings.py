"""The service's settings refuse placeholder secrets outside development."""

from __future__ import annotations

import hashlib

import pytest
from pydantic import SecretStr, ValidationError

from agent.api.auth import hash_key
from agent.settings import ApiKey, Settings

CHANGEME_SHA256 = hashlib.sha256(b"changeme").hexdigest()


def real_key() -> ApiKey:
    return ApiKey(name="orders", sha256=hash_key("a-long-random-key-0123456789"))


def test_development_accepts_no_keys() -> None:
    assert Settings(environment="development", api_keys=[]).api_keys == []


@pytest.mark.parametrize(
    ("keys", "llm_key", "complaint"),
    [
        ([], "EMPTY", "needs at least one api_keys entry"),
        ([ApiKey(name="x", sha256=CHANGEME_SHA256)], "EMPTY", "placeholder"),
        ([ApiKey(name="x", sha256="not-a-digest")], "EMPTY", "64-hex digest"),
        ([real_key()], "changethis", "llm_api_key is a placeholder"),
    ],
)
def test_production_refuses_placeholders(keys: list[ApiKey], llm_key: str, complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        Settings(environment="production", api_keys=keys, llm_api_key=SecretStr(llm_key))


def test_production_accepts_real_keys() -> None:
    settings = Settings(environment="production", api_keys=[real_key()])
    assert settings.api_keys[0].name == "orders"
