"""Review texts: honest ones (specific, mixed ratings) and the stock phrases of fake reviews."""

from __future__ import annotations

import random

HONEST_TEXTS: dict[int, tuple[str, ...]] = {
    5: (
        "Arrived two days early, fits exactly as described.",
        "Bought this for my dad, he uses it every day now. Solid build.",
        "Battery easily lasts a weekend. Very happy.",
        "质量很好，和描述一致，物流也快。",
        "Second one I've bought, still the best at this price.",
        "Отличное качество, доставка быстрая.",
        "Colour is a bit darker than the photo but I like it more this way.",
    ),
    4: (
        "Good value. Instructions were only in Chinese but it was easy to figure out.",
        "Works well, the cable is a bit short.",
        "不错，就是包装有点简陋。",
        "Nice fabric, runs slightly small so order a size up.",
        "Does the job. Took a week to arrive.",
    ),
    3: (
        "It's okay. Not as sturdy as I hoped for the price.",
        "Average. The lid does not close tightly.",
        "一般般吧，凑合用。",
        "Fine for occasional use, the app is clunky.",
    ),
    2: (
        "Stopped charging after three weeks, seller offered a partial refund.",
        "Smaller than expected and the smell took days to go away.",
        "尺码偏小，退换麻烦。",
    ),
    1: (
        "Broke on the first day. Returning it.",
        "Not what was pictured at all, returned.",
        "Пришёл с трещиной на корпусе.",
    ),
}
HONEST_RATING_WEIGHTS = {5: 48, 4: 28, 3: 12, 2: 6, 1: 6}

PRAISE_TEMPLATES: tuple[str, ...] = (
    "Great product!!! Highly recommend!!!",
    "Best seller ever, fast shipping, 5 stars!",
    "Excellent quality, will buy again!!",
    "好评！物美价廉，五星推荐！",
    "非常好，下次还来，推荐购买！",
    "Perfect perfect perfect. Amazing!!!",
    "Super good, my whole family loves it, buy now",
    "Top quality product best price A+++",
)
ATTACK_TEMPLATES: tuple[str, ...] = (
    "SCAM! Fake product, the seller is a fraud. DO NOT BUY.",
    "Terrible quality, broke immediately, worst shop on the site.",
    "差评！假货，千万别买！",
    "Dangerous!! It caught fire. Avoid this seller, buy from a real brand.",
    "Garbage. Waste of money. 1 star is too much.",
)


def honest_rating(rng: random.Random) -> int:
    return rng.choices(list(HONEST_RATING_WEIGHTS), weights=list(HONEST_RATING_WEIGHTS.values()))[0]


def honest_text(rng: random.Random, rating: int) -> str | None:
    """Many honest reviews are stars only; the rest say something specific."""
    if rng.random() < 0.35:
        return None
    return rng.choice(HONEST_TEXTS[rating])


def stock_text(rng: random.Random, rating: int) -> str:
    """A fake review's stock phrase, sometimes lightly varied (as review farms do)."""
    text = rng.choice(PRAISE_TEMPLATES if rating >= 4 else ATTACK_TEMPLATES)
    if rng.random() < 0.3:
        text = text.rstrip("!") + rng.choice(("!", "!!", " :)", " 👍", ""))
    return text
