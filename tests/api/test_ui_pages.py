"""The analyst's pages over HTTP without a browser: sign-in, CSRF, scopes, escaping, refusals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_doubles import CHAT_ANSWER, ScriptedChatModel, card_testing_events, make_investigator
from api_server import RunningServer
from api_sse import WRITE_KEY
from conftest import READ_HEADERS, READ_KEY, WRITE_HEADERS, api_settings, start_server

SCRIPT_REVIEW = '<script>document.title="owned"</script><b>bold</b> & great'


@pytest.fixture(scope="module")
def ui_server(
    tmp_path_factory: pytest.TempPathFactory, detector_dir: Path
) -> Iterator[RunningServer]:
    settings = api_settings(
        tmp_path_factory.mktemp("ui"), detector_dir, require_approval_for=["hold_order"]
    )
    server = start_server(settings, ScriptedChatModel(), make_investigator)
    with httpx.Client(base_url=server.url, timeout=60) as http:
        events: list[dict[str, Any]] = card_testing_events("reviewer")
        events.append(
            {
                **events[-1],
                "ts": events[-1]["ts"] + 5,
                "action": "review",
                "rating": 5,
                "text": SCRIPT_REVIEW,
            }
        )
        for alert_id, alert_events in (
            ("ui-held", card_testing_events("holder")),
            ("ui-script", events),
        ):
            response = http.post(
                "/v1/alerts",
                json={"alert_id": alert_id, "events": alert_events},
                headers=WRITE_HEADERS,
            )
            assert response.status_code == 200, response.text
    yield server
    server.stop()


def csrf_in(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match is not None, "the page has no CSRF field"
    return match.group(1)


def signed_in(server: RunningServer, key: str) -> httpx.Client:
    client = httpx.Client(base_url=server.url, timeout=60)
    form = client.get("/ui/login")
    response = client.post(
        "/ui/login", data={"api_key": key, "csrf_token": csrf_in(form.text), "next": "/ui"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/ui"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    return client


@pytest.fixture
def analyst(ui_server: RunningServer) -> Iterator[httpx.Client]:
    client = signed_in(ui_server, WRITE_KEY)
    yield client
    client.close()


@pytest.fixture
def reader(ui_server: RunningServer) -> Iterator[httpx.Client]:
    client = signed_in(ui_server, READ_KEY)
    yield client
    client.close()


def test_logged_out_pages_redirect_to_login_and_posts_are_refused(
    ui_server: RunningServer,
) -> None:
    with httpx.Client(base_url=ui_server.url, timeout=60) as anonymous:
        page = anonymous.get("/ui/cases/ui-held")
        assert page.status_code == 303
        assert page.headers["location"] == "/ui/login?next=/ui/cases/ui-held"
        assert anonymous.get("/ui").status_code == 303
        posted = anonymous.post(
            "/ui/cases/ui-held/feedback",
            data={"fraud_type": "none", "action": "allow", "csrf_token": "x"},
        )
        assert posted.status_code == 401
        # An API key as Bearer does not open the pages: they need the session cookie.
        assert anonymous.get("/ui", headers=WRITE_HEADERS).status_code == 303
    audit = httpx.get(f"{ui_server.url}/v1/cases/ui-held", headers=READ_HEADERS).json()["audit"]
    assert "feedback.add" not in [entry["action"] for entry in audit]


def test_wrong_key_and_missing_login_token_are_refused(ui_server: RunningServer) -> None:
    with httpx.Client(base_url=ui_server.url, timeout=60) as client:
        form = client.get("/ui/login")
        wrong = client.post(
            "/ui/login", data={"api_key": "not-a-key", "csrf_token": csrf_in(form.text)}
        )
        assert wrong.status_code == 401 and "unknown API key" in wrong.text
        assert "fraudlens_session" not in wrong.headers.get("set-cookie", "")
        forged = client.post("/ui/login", data={"api_key": WRITE_KEY, "csrf_token": "forged"})
        assert forged.status_code == 403
        assert "fraudlens_session" not in forged.headers.get("set-cookie", "")


def test_queue_lists_cases_with_counts_and_filters(analyst: httpx.Client) -> None:
    page = analyst.get("/ui")
    assert page.status_code == 200
    assert "Content-Security-Policy" in page.headers
    assert 'href="/ui/cases/ui-held"' in page.text
    assert re.search(r'data-testid="count-awaiting_approval">(\d+)<', page.text)
    held = analyst.get("/ui", params={"status": "awaiting_approval"}).text
    assert "ui-held" in held
    done = analyst.get("/ui", params={"status": "done"}).text
    assert 'href="/ui/cases/ui-held"' not in done
    assert analyst.get("/ui", params={"fraud_type": "nonsense"}).status_code == 422


def test_user_text_is_escaped_never_markup(analyst: httpx.Client) -> None:
    page = analyst.get("/ui/cases/ui-script")
    assert page.status_code == 200
    assert "<script>document.title" not in page.text
    assert "&lt;script&gt;document.title=&#34;owned&#34;&lt;/script&gt;&lt;b&gt;bold" in page.text
    assert "untrusted user text" in page.text


def test_case_page_links_every_cited_event(analyst: httpx.Client) -> None:
    page = analyst.get("/ui/cases/ui-held").text
    cited = re.findall(r'<a href="#(e\d+)" class="evidence-link">', page)
    assert cited == ["e1", "e2"]
    for event in cited:
        assert f'<li id="{event}"' in page


def test_form_without_csrf_token_is_refused(analyst: httpx.Client) -> None:
    response = analyst.post(
        "/ui/cases/ui-script/feedback", data={"fraud_type": "fake_review", "action": "monitor"}
    )
    assert response.status_code == 403 and "CSRF" in response.text
    stale = analyst.post(
        "/ui/cases/ui-script/feedback",
        data={"fraud_type": "fake_review", "action": "monitor", "csrf_token": "stale"},
    )
    assert stale.status_code == 403


def test_label_is_recorded_with_the_keys_name(analyst: httpx.Client) -> None:
    token = csrf_in(analyst.get("/ui/cases/ui-script").text)
    response = analyst.post(
        "/ui/cases/ui-script/feedback",
        data={
            "fraud_type": "fake_review",
            "action": "monitor",
            "note": "copied text",
            "csrf_token": token,
        },
    )
    assert response.status_code == 303
    case = analyst.get("/v1/cases/ui-script", headers=READ_HEADERS).json()
    assert [(f["fraud_type"], f["actor"]) for f in case["feedback"]] == [("fake_review", "analyst")]
    page = analyst.get(response.headers["location"]).text
    assert "Label recorded." in page and "feedback.add" in page


def test_read_key_sees_but_cannot_decide(reader: httpx.Client) -> None:
    page = reader.get("/ui/cases/ui-held")
    assert page.status_code == 200
    assert 'action="/ui/cases/ui-held/approval"' not in page.text
    assert 'data-testid="read-only"' in page.text
    token = csrf_in(page.text)  # the sign-out form's
    refused = reader.post(
        "/ui/cases/ui-held/approval", data={"approved": "true", "csrf_token": token}
    )
    assert refused.status_code == 403 and "deciding needs" in refused.text
    case = reader.get("/v1/cases/ui-held", headers=READ_HEADERS).json()
    assert case["verdict"]["awaiting_approval"] == "hold_order"


def test_sign_out_ends_the_session(ui_server: RunningServer) -> None:
    client = signed_in(ui_server, WRITE_KEY)
    token = csrf_in(client.get("/ui").text)
    cookie = client.cookies.get("fraudlens_session")
    assert client.post("/ui/logout", data={"csrf_token": token}).status_code == 303
    client.close()
    with httpx.Client(base_url=ui_server.url, timeout=60) as replay:
        replay.cookies.set("fraudlens_session", cookie or "", path="/ui")
        assert replay.get("/ui").status_code == 303


def test_login_never_redirects_off_site(ui_server: RunningServer) -> None:
    with httpx.Client(base_url=ui_server.url, timeout=60) as client:
        form = client.get("/ui/login")
        response = client.post(
            "/ui/login",
            data={
                "api_key": WRITE_KEY,
                "csrf_token": csrf_in(form.text),
                "next": "//evil.example/ui",
            },
        )
        assert response.headers["location"] == "/ui"


def test_chat_form_without_script_posts_then_shows_the_stored_answer(
    analyst: httpx.Client,
) -> None:
    token = csrf_in(analyst.get("/ui/cases/ui-script").text)
    response = analyst.post(
        "/ui/cases/ui-script/messages", data={"content": "Is the review fake?", "csrf_token": token}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/cases/ui-script#chat"
    case = analyst.get("/v1/cases/ui-script", headers=READ_HEADERS).json()
    assert [(m["role"], m["actor"]) for m in case["messages"]][-2:] == [
        ("user", "analyst"),
        ("assistant", "agent"),
    ]
    assert CHAT_ANSWER in analyst.get("/ui/cases/ui-script").text.replace("&#39;", "'")
