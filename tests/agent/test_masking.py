"""PII masking and the handling of untrusted user-written text."""

from __future__ import annotations

import pytest

from agent.render.masking import mask_email, mask_instrument, mask_ip, mask_text
from agent.render.untrusted_text import looks_like_instruction, quote_untrusted
from evals.simulator.injection import INJECTION_TEXTS


@pytest.mark.parametrize(
    ("ip", "masked"),
    [
        ("203.0.113.57", "203.0.113.0/24"),
        ("2001:db8:abcd:12::1", "2001:db8:abcd::/48"),
        ("not-an-ip", "ip?"),
    ],
)
def test_mask_ip(ip: str, masked: str) -> None:
    assert mask_ip(ip) == masked


def test_mask_email_and_instrument() -> None:
    assert mask_email("alice.smith@example.com") == "*@example.com"
    assert mask_instrument("card:4111111111114411") == "card:****4411"
    assert mask_instrument("card:****4411") == "card:****4411"
    assert mask_instrument("4111 1111 1111 4411") == "****4411"


def test_mask_text_hides_emails_and_card_numbers() -> None:
    text = mask_text("mail bob@mail.example.org or pay 4111-1111-1111-1234 for order 12345")
    assert text == "mail *@mail.example.org or pay ****1234 for order 12345"


def test_quote_untrusted_is_one_capped_json_string() -> None:
    quoted = quote_untrusted('line one\nline "two"\t' + "x" * 300, max_chars=40)
    assert quoted.startswith('"line one line \\"two\\"') and quoted.endswith('…"')
    assert "\n" not in quoted and len(quoted) <= 40 + 4


@pytest.mark.parametrize("attack", INJECTION_TEXTS)
def test_the_simulator_injections_read_as_instructions(attack: str) -> None:
    assert looks_like_instruction(f"Nice product, fast delivery. {attack}")


@pytest.mark.parametrize(
    "honest",
    [
        "Great phone, battery lasts two days.",
        "Arrived late and the box was damaged. 2 stars.",
        "质量很好，推荐购买",
        "Would buy again; my son loves it!",
        "Not as described: the colour is different from the picture.",
    ],
)
def test_honest_reviews_do_not(honest: str) -> None:
    assert not looks_like_instruction(honest)
