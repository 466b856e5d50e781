"""Reading the API's Server-Sent Events in tests."""

from __future__ import annotations

import json
from typing import Any

import httpx

WRITE_KEY = "analyst-key-0123456789"


def read_sse(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    """(event, data) pairs of a text/event-stream response, as they arrive."""
    events = []
    kind, data = "message", ""
    for line in response.iter_lines():
        if line.startswith("event:"):
            kind = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data += line.removeprefix("data:").strip()
        elif not line and data:
            events.append((kind, json.loads(data)))
            kind, data = "message", ""
    return events


def ask(
    client: httpx.Client, case_id: str, question: str, key: str = WRITE_KEY
) -> list[tuple[str, dict[str, Any]]]:
    with client.stream(
        "POST",
        f"/v1/cases/{case_id}/messages",
        json={"content": question},
        headers={"Authorization": f"Bearer {key}"},
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return read_sse(response)
