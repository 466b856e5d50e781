"""The analyst's pages in a real browser: Debian's Chromium driven by Playwright against a real
`serve api` app on a loopback port with a scripted chat model. Nothing is downloaded: the
browser is /usr/bin/chromium, installed by .ci/setup."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_doubles import (
    CHAT_ANSWER,
    MODEL_ANSWER,
    ScriptedChatModel,
    card_testing_events,
    make_investigator,
)
from api_server import RunningServer
from api_sse import WRITE_KEY
from conftest import READ_HEADERS, READ_KEY, WRITE_HEADERS, api_settings, start_server
from playwright.sync_api import Browser, Dialog, Page, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCRIPT_REVIEW = '<script>document.title = "owned"</script><img src=x onerror="alert(1)"> 5 stars'

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """The system Chromium (never a downloaded one), for this module only: Playwright's sync
    API keeps an event loop running while it is open, which later `asyncio.run` tests refuse."""
    if not Path(CHROMIUM).exists():
        # Fail, not skip: CI must not pass with the browser tests silently left out.
        pytest.fail(
            f"{CHROMIUM} is missing: run `bash .ci/setup`, or deselect with -m 'not browser'"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def ui_server(
    tmp_path_factory: pytest.TempPathFactory, detector_dir: Path
) -> Iterator[RunningServer]:
    settings = api_settings(
        tmp_path_factory.mktemp("ui-browser"), detector_dir, require_approval_for=["hold_order"]
    )
    server = start_server(settings, ScriptedChatModel(), make_investigator)
    reviewed: list[dict[str, Any]] = card_testing_events("reviewer")
    reviewed.append(
        {
            "user_id": "reviewer",
            "ts": reviewed[-1]["ts"] + 5,
            "action": "review",
            "rating": 5,
            "text": SCRIPT_REVIEW,
        }
    )
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for alert_id, events in (
            ("b-held", card_testing_events("holder")),
            ("b-script", reviewed),
        ):
            response = http.post(
                "/v1/alerts",
                json={"alert_id": alert_id, "events": events},
                headers=WRITE_HEADERS,
            )
            assert response.status_code == 200, response.text
    yield server
    server.stop()


def sign_in(page: Page, server: RunningServer, key: str, start: str = "/ui") -> None:
    page.goto(server.url + start)
    expect(page).to_have_url(re.compile(r"/ui/login"))
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(server.url + start)


def test_analyst_works_a_case_from_queue_to_audit(
    page: Page, ui_server: RunningServer, tmp_path: Path
) -> None:
    sign_in(page, ui_server, WRITE_KEY)
    expect(page.get_by_test_id("analyst-name")).to_have_text("analyst")
    expect(page.get_by_test_id("count-awaiting_approval")).to_have_text("2")

    page.get_by_role("link", name="awaiting approval").click()
    expect(page.locator("table.queue tbody tr")).to_have_count(2)
    page.get_by_role("link", name="b-held").click()
    expect(page).to_have_url(ui_server.url + "/ui/cases/b-held")
    expect(page.get_by_test_id("case-status")).to_have_text("awaiting approval")
    expect(page.get_by_test_id("verdict-type")).to_have_text(MODEL_ANSWER["fraud_type"])

    # Follow a cited evidence id by keyboard: the timeline scrolls to that event.
    evidence = page.locator("a.evidence-link", has_text="e2")
    evidence.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(ui_server.url + "/ui/cases/b-held#e2")
    target = page.locator("li#e2")
    expect(target).to_be_in_viewport()
    expect(target).to_contain_text("payment_attempt")
    expect(target).to_contain_text("cited")

    # Ask the agent; the answer streams in with the tools it ran (once the script has wired the
    # form: on a loaded machine a click before that posts the plain form instead).
    expect(page.locator("#chat-form")).to_have_attribute("data-streaming", "ready")
    page.get_by_label("Question").fill("Why was this flagged?")
    page.get_by_role("button", name="Ask").click()
    answer = page.locator("#chat-log .msg.assistant").last
    expect(answer.locator(".text")).to_have_text(CHAT_ANSWER)
    expect(answer.locator("ul.tools")).to_contain_text("detector_reasons")
    expect(page.locator("#chat-status")).to_have_text("Answered.")
    page.screenshot(path=tmp_path / "case_page.png", full_page=True)  # README's picture

    # Approve the held action; the decision is in the audit trail under the key's name.
    page.get_by_label("Approval note").fill("declines from one ip")
    page.get_by_role("button", name="Approve hold_order").click()
    expect(page.locator(".notice")).to_have_text("Approved; the verdict is final.")
    expect(page.get_by_test_id("verdict-action")).to_contain_text("hold_order")
    expect(page.get_by_test_id("case-status")).to_have_text("done")
    approval_row = page.locator("#audit tr", has_text="verdict.approve")
    expect(approval_row).to_contain_text("analyst")

    page.get_by_label("Fraud type").select_option("card_testing")
    page.get_by_label("Action taken").select_option("hold_order")
    page.get_by_role("button", name="Record label").click()
    expect(page.locator(".notice")).to_have_text("Label recorded.")
    expect(page.locator("#audit tr", has_text="feedback.add")).to_contain_text("analyst")
    expect(page.locator("#audit tr", has_text="message.add")).to_contain_text("analyst")

    case = httpx.get(f"{ui_server.url}/v1/cases/b-held", headers=READ_HEADERS).json()
    assert case["verdict"]["action"] == "hold_order"
    assert [f["actor"] for f in case["feedback"]] == ["analyst"]


def test_review_with_script_shows_as_text(page: Page, ui_server: RunningServer) -> None:
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    sign_in(page, ui_server, WRITE_KEY, "/ui/cases/b-script")
    quoted = page.locator("li#e9 figure.untrusted blockquote")  # the review
    expect(quoted).to_have_text(SCRIPT_REVIEW)
    expect(quoted.locator("script, img")).to_have_count(0)
    expect(page).not_to_have_title("owned")
    assert dialogs == []


def test_read_key_sees_but_cannot_decide(page: Page, ui_server: RunningServer) -> None:
    sign_in(page, ui_server, READ_KEY, "/ui/cases/b-script")
    expect(page.get_by_test_id("verdict-type")).to_have_text(MODEL_ANSWER["fraud_type"])
    expect(page.get_by_test_id("read-only")).to_be_visible()
    expect(page.get_by_role("button", name="Record label")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Approve"))).to_have_count(0)
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    refused = page.request.post(
        f"{ui_server.url}/ui/cases/b-script/approval",
        form={"approved": "true", "csrf_token": token or ""},
    )
    assert refused.status == 403
    case = httpx.get(f"{ui_server.url}/v1/cases/b-script", headers=READ_HEADERS).json()
    assert case["verdict"]["awaiting_approval"] == "hold_order"


def test_logged_out_requests_are_refused(page: Page, ui_server: RunningServer) -> None:
    page.goto(ui_server.url + "/ui/cases/b-held")
    expect(page).to_have_url(re.compile(r"/ui/login\?next=/ui/cases/b-held$"))
    expect(page.get_by_test_id("verdict-type")).to_have_count(0)
    refused = page.request.post(
        f"{ui_server.url}/ui/cases/b-held/feedback",
        form={"fraud_type": "none", "action": "allow", "csrf_token": "guess"},
    )
    assert refused.status == 401
