"""An explanation must state the case's facts, not restate the prompt's own words."""

from __future__ import annotations

from agent.grounding import copied_prompt_text

PROMPT = (
    "- order_brushing (manual_review): the same item bought 3 times or more, 5★ reviews of it, "
    "little browsing, no refunds.\n"
    "- none (allow, or monitor when something is unusual): none of these patterns."
)
CASE = "purchases: 4 of item …335403 (e3, e5, e7, e9); reviews: 4× 5★ (e4, e6, e8, e10)"


def test_a_restated_definition_is_caught_with_its_first_copied_words() -> None:
    explanation = "order_brushing (hold_order): the same item bought 3 times or more, 5★ reviews"
    assert copied_prompt_text(explanation, [PROMPT], CASE) == "the same item bought 3 times"


def test_copied_words_beside_the_cases_own_numbers_or_ids_are_allowed() -> None:
    with_count = "order_brushing (manual_review): 4 purchases; the same item bought 3 times or more"
    with_ids = "the same item bought 3 times or more (e3, e5)"
    assert copied_prompt_text(with_count, [PROMPT], CASE) is None
    assert copied_prompt_text(with_ids, [PROMPT], CASE) is None


def test_words_the_case_itself_shows_are_not_copying() -> None:
    case = CASE + "\nthe same item bought 3 times or more, 5★ reviews of it"
    explanation = "the same item bought 3 times or more, 5★ reviews of it"
    assert copied_prompt_text(explanation, [PROMPT], case) is None


def test_the_type_and_action_opening_the_prompt_asks_for_is_not_copying() -> None:
    explanation = "none (allow, or monitor when something is unusual): a long honest history"
    assert copied_prompt_text(explanation, [PROMPT], CASE) is None
    assert copied_prompt_text("none (allow): none of these patterns", [PROMPT], CASE) is None
