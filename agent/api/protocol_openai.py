"""Wire models of the OpenAI-compatible chat facade (`model` = `case:<case_id>`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CASE_MODEL_PATTERN = r"^case:[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$"


class ChatCompletionMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | None = Field(default=None, max_length=8000)


class ChatCompletionRequest(BaseModel):
    """Fields a chat client sends; others (temperature, …) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(pattern=CASE_MODEL_PATTERN, examples=["case:alert-000123"])
    messages: list[ChatCompletionMessage] = Field(min_length=1, max_length=50)
    stream: bool = False
    max_tokens: int | None = Field(default=None, ge=1, le=4096)


class ChoiceMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: ChoiceMessage
    finish_reason: Literal["stop"] = "stop"


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ChatCompletionResponse(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage = Field(default_factory=Usage)
