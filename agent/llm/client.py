"""The chat transport: one protocol, implemented over any OpenAI-compatible endpoint (vLLM, …)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypedDict

import openai

from agent.llm.probe import ServerSpeed, estimate_tokens
from agent.settings import Settings


class ChatMessage(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True)
class ChatResult:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str | None = None
    """`stop`, or `length` when the answer was cut at max_tokens."""


class ChatModelError(RuntimeError):
    """The endpoint gave no answer: unreachable, timed out or refused the request."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable
        """False when asking again cannot help (e.g. the request itself was rejected)."""


class ChatModel(Protocol):
    """What the agent needs from a chat model; tests script it, production uses OpenAIChatModel."""

    name: str
    """The model name recorded in verdicts."""

    async def complete(
        self,
        messages: list[ChatMessage],
        json_schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult:
        """One answer; with `json_schema` the server must emit JSON valid against it."""
        ...


class OpenAIChatModel:
    """Chat completions over the openai SDK; only settings change between vLLM and other servers."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "EMPTY",
        timeout_s: float = 180.0,
        max_tokens: int = 384,
        temperature: float = 0.0,
        speed: ServerSpeed | None = None,
        concurrency: int = 1,
    ) -> None:
        """With `speed`, each call's timeout follows from its prompt size, `concurrency` and the
        measured speeds (never under MIN_CALL_TIMEOUT_S); without it, `timeout_s` for all."""
        self.name = model
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.speed = speed
        self.concurrency = concurrency
        self.max_tokens = max_tokens
        self.temperature = temperature
        # Retries are the caller's (bounded, with the fallback verdict after them), not the SDK's.
        self._client = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0
        )

    @classmethod
    def from_settings(cls, settings: Settings, base_url: str | None = None) -> OpenAIChatModel:
        """`base_url` overrides settings.llm_base_url (e.g. the local server's address).
        Measured speeds in the settings size each call's timeout unless llm_timeout_s is set."""
        url = base_url or settings.llm_base_url
        if not url:
            raise ValueError("no LLM endpoint: set FRAUDLENS_LLM_BASE_URL or pass base_url")
        speed = None
        fixed_timeout = "llm_timeout_s" in settings.model_fields_set
        if settings.llm_prefill_tok_s and settings.llm_decode_tok_s and not fixed_timeout:
            speed = ServerSpeed(settings.llm_prefill_tok_s, settings.llm_decode_tok_s)
        return cls(
            base_url=url,
            model=settings.llm_model,
            api_key=settings.llm_api_key.get_secret_value(),
            timeout_s=settings.llm_timeout_s,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            speed=speed,
            concurrency=settings.concurrency,
        )

    def call_timeout_s(self, messages: list[ChatMessage], max_tokens: int | None) -> float:
        """The timeout of one call: from the measured speeds when known, else `timeout_s`."""
        if self.speed is None:
            return self.timeout_s
        prompt_tokens = estimate_tokens(sum(len(message["content"]) for message in messages))
        answer_tokens = max_tokens or self.max_tokens
        return self.speed.call_timeout_s(prompt_tokens, answer_tokens, self.concurrency)

    def _request(
        self, messages: list[ChatMessage], max_tokens: int | None, **extra: Any
    ) -> dict[str, Any]:
        return {
            "model": self.name,
            "messages": messages,
            "max_tokens": max_tokens or self.max_tokens,
            "temperature": self.temperature,
            "timeout": self.call_timeout_s(messages, max_tokens),
            **extra,
        }

    def _error(self, error: Exception, timeout_s: float | None = None) -> ChatModelError:
        if isinstance(error, openai.APITimeoutError):
            waited = timeout_s or self.timeout_s
            return ChatModelError(
                f"{self.base_url} did not answer within {waited:.0f}s", retryable=True
            )
        if isinstance(error, openai.APIConnectionError):
            return ChatModelError(f"cannot reach {self.base_url}: {error}", retryable=True)
        if isinstance(error, openai.APIStatusError):
            retryable = error.status_code >= 500 or error.status_code == 429
            detail = str(error.message)[:300]
            return ChatModelError(
                f"{self.base_url} answered HTTP {error.status_code}: {detail}", retryable=retryable
            )
        return ChatModelError(f"{self.base_url}: {type(error).__name__}: {error}", retryable=False)

    async def complete(
        self,
        messages: list[ChatMessage],
        json_schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult:
        extra: dict[str, Any] = {}
        if json_schema is not None:
            extra["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "verdict", "schema": json_schema, "strict": True},
            }
        request = self._request(messages, max_tokens, **extra)
        try:
            response = await self._client.chat.completions.create(**request)
        except openai.OpenAIError as error:
            raise self._error(error, request["timeout"]) from error
        if not response.choices:
            raise ChatModelError(f"{self.base_url} answered with no choices", retryable=True)
        choice = response.choices[0]
        usage = response.usage
        return ChatResult(
            text=choice.message.content or "",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            finish_reason=choice.finish_reason,
        )

    async def aclose(self) -> None:
        await self._client.close()
