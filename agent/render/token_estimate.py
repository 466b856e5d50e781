"""A tokenizer-free, conservative token count for budgeting prompts of any served model."""

from __future__ import annotations

TOKENS_PER_LETTER = 0.3
TOKENS_PER_DIGIT = 1.0
"""Qwen tokenises digit by digit; long numeric ids are the costliest part of a case."""
TOKENS_PER_NON_ASCII = 2.3
"""CJK characters and emoji take one to three byte-level tokens."""
TOKENS_PER_OTHER = 0.55
"""Spaces and punctuation."""


def estimate_tokens(text: str) -> int:
    """Measured against smollm2's tokenizer on rendered cases and prompts: never below the true
    count on that sample, at most ~1.5× above it."""
    letters = digits = non_ascii = 0
    for char in text:
        if not char.isascii():
            non_ascii += 1
        elif char.isdigit():
            digits += 1
        elif char.isalpha():
            letters += 1
    other = len(text) - letters - digits - non_ascii
    total = (
        letters * TOKENS_PER_LETTER
        + digits * TOKENS_PER_DIGIT
        + non_ascii * TOKENS_PER_NON_ASCII
        + other * TOKENS_PER_OTHER
    )
    return int(total) + 1
