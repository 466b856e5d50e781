"""Token streaming for the case chat: the agent's OpenAI-compatible chat model plus `stream`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

import openai

from agent.llm.client import ChatMessage, ChatModel, OpenAIChatModel


@runtime_checkable
class StreamsAnswers(Protocol):
    """A chat model that can hand out a free-form answer piece by piece."""

    def stream(
        self, messages: list[ChatMessage], max_tokens: int | None = None
    ) -> AsyncIterator[str]: ...


class StreamingOpenAIChatModel(OpenAIChatModel):
    """OpenAIChatModel (same requests, timeouts and error mapping) that also streams."""

    async def stream(
        self, messages: list[ChatMessage], max_tokens: int | None = None
    ) -> AsyncIterator[str]:
        """Answer pieces as the server produces them; failures raise ChatModelError."""
        try:
            chunks = await self._client.chat.completions.create(
                **self._request(messages, max_tokens, stream=True)
            )
            async for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except openai.OpenAIError as error:
            raise self._error(error) from error


def streams_answers(model: ChatModel) -> StreamsAnswers | None:
    return model if isinstance(model, StreamsAnswers) else None
