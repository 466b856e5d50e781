"""Simulator versions: which generators each fraud type and hard negative draws on, and the mix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from evals.simulator.context import SimContext, SimulatedUser
from evals.simulator.fraud_account import account_takeover, card_testing, payment_fraud
from evals.simulator.fraud_bots import click_fraud, scraping_bot
from evals.simulator.fraud_orders import promo_abuse, refund_abuse, reseller_scalping
from evals.simulator.fraud_reviews import fake_review, order_brushing
from evals.simulator.legit import HARD_NEGATIVES
from evals.simulator.v2_accounts import (
    card_on_real_account,
    patient_scalper,
    quiet_takeover,
    ring_brushing,
    single_coupon_farm_account,
    slow_fake_reviews,
    two_refund_claims,
)
from evals.simulator.v2_automation import (
    low_and_slow_card_testing,
    slow_click_fraud,
    slow_or_rotating_scraper,
)
from evals.simulator.v2_legit import V2_HARD_NEGATIVES

Generator = Callable[[SimContext, str], SimulatedUser]
InjectingGenerator = Callable[..., SimulatedUser]


@dataclass(frozen=True)
class SimVersion:
    name: str
    fraud: dict[str, tuple[Generator, ...]]
    """Per fraud type, the generators a case is drawn from (uniformly; one = no draw)."""
    injecting: dict[str, tuple[InjectingGenerator, ...]]
    """Per review-writing type, the generators that can hide a prompt injection."""
    hard_negatives: dict[str, Generator]
    hard_negative_share: float = 0.25
    injection_share: float = 0.35
    max_events: int = 120
    shop_on_every_order: bool = False
    """Every purchase, review and refund names its item's shop (evals/simulator/shops.py);
    before sim_v3 only brushing's did, which gave the label away."""


SIM_V1 = SimVersion(
    name="v1",
    fraud={
        "account_takeover": (account_takeover,),
        "card_testing": (card_testing,),
        "payment_fraud": (payment_fraud,),
        "order_brushing": (order_brushing,),
        "fake_review": (fake_review,),
        "promo_abuse": (promo_abuse,),
        "scraping_bot": (scraping_bot,),
        "reseller_scalping": (reseller_scalping,),
        "refund_abuse": (refund_abuse,),
        "click_fraud": (click_fraud,),
    },
    injecting={"order_brushing": (order_brushing,), "fake_review": (fake_review,)},
    hard_negatives=HARD_NEGATIVES,
)
SIM_V2 = SimVersion(
    name="v2",
    fraud={
        "account_takeover": (account_takeover, quiet_takeover, quiet_takeover),
        "card_testing": (card_testing, low_and_slow_card_testing, low_and_slow_card_testing),
        "payment_fraud": (payment_fraud, card_on_real_account),
        "order_brushing": (order_brushing, ring_brushing, ring_brushing),
        "fake_review": (fake_review, slow_fake_reviews),
        "promo_abuse": (promo_abuse, single_coupon_farm_account),
        "scraping_bot": (scraping_bot, slow_or_rotating_scraper, slow_or_rotating_scraper),
        "reseller_scalping": (reseller_scalping, patient_scalper),
        "refund_abuse": (refund_abuse, two_refund_claims),
        "click_fraud": (click_fraud, slow_click_fraud),
    },
    injecting={"order_brushing": (ring_brushing,), "fake_review": (slow_fake_reviews,)},
    hard_negatives={**HARD_NEGATIVES, **V2_HARD_NEGATIVES},
    hard_negative_share=0.35,
    injection_share=0.5,
    max_events=200,
)
SIM_V3 = replace(SIM_V2, name="v3", shop_on_every_order=True)
"""sim_v2's cases, event for event, with every order's shop named (no label in the attrs)."""
SIM_VERSIONS = {version.name: version for version in (SIM_V1, SIM_V2, SIM_V3)}
