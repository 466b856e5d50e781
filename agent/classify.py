"""One structured request: bounded retries on transport failures, then a parsed answer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from agent.llm.client import ChatMessage, ChatModel, ChatModelError

Answer = TypeVar("Answer", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class AnswerAttempt(Generic[Answer]):
    """The outcome of asking once (with transport retries): an answer, or why there is none."""

    answer: Answer | None
    error: str | None
    """Why there is no answer: an unreachable model or an answer that failed validation."""
    unreachable: bool
    """True when the model never answered (a retry with the error message cannot help)."""
    calls: int
    prompt_tokens: int
    completion_tokens: int


def _validation_message(error: ValidationError) -> str:
    parts = []
    for problem in error.errors()[:5]:
        where = ".".join(str(part) for part in problem["loc"]) or "answer"
        parts.append(f"{where}: {problem['msg']}")
    return "answer is not a valid verdict JSON: " + "; ".join(parts)


async def request_answer(
    chat: ChatModel,
    messages: list[ChatMessage],
    *,
    schema: dict[str, Any],
    max_tokens: int,
    max_retries: int,
    retry_backoff_s: float = 1.0,
    parse: type[Answer],
) -> AnswerAttempt[Answer]:
    """Ask for an answer with `schema` as structured output and read it as `parse` (a
    `ModelAnswer` verdict, or the citing turn's `CitedEvidence`).

    Transport failures (timeouts, connection errors, 5xx) are retried up to `max_retries`
    times with exponential back-off; an answer that does not validate is returned with its error
    (the caller decides whether to ask again with that error).
    """
    calls = prompt_tokens = completion_tokens = 0
    error = "no request was made"
    for attempt in range(max_retries + 1):
        if attempt:
            await asyncio.sleep(retry_backoff_s * 2 ** (attempt - 1))
        calls += 1
        try:
            result = await chat.complete(messages, schema, max_tokens)
        except ChatModelError as failure:
            error = f"model call failed after {calls} attempt(s): {failure}"
            if not failure.retryable:
                break
            continue
        prompt_tokens += result.prompt_tokens
        completion_tokens += result.completion_tokens
        try:
            answer = parse.model_validate_json(result.text)
        except ValidationError as invalid:
            message = _validation_message(invalid)
            if result.finish_reason == "length":
                message += f" (the answer was cut at {max_tokens} tokens)"
            return AnswerAttempt(None, message, False, calls, prompt_tokens, completion_tokens)
        return AnswerAttempt(answer, None, False, calls, prompt_tokens, completion_tokens)
    return AnswerAttempt(None, error, True, calls, prompt_tokens, completion_tokens)
