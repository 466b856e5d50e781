"""Checks that an answer is grounded in the case: every cited event id exists, and the
explanation states the case's facts rather than repeating the prompt's own words."""

from __future__ import annotations

import re
from collections.abc import Sequence

from agent.render.case import RenderedCase
from agent.verdict import ModelAnswer, Verdict

_CITED_ID = re.compile(r"\be(\d+)\b")
_WORD = re.compile(r"[\w★']+")
_TYPE_AND_ACTION = re.compile(r"^\s*\w+\s*\([^)]*\)\s*:")
"""The `<type> (<its standard action>):` opening some prompts ask the explanation to start with."""
COPIED_WORDS = 6
"""This many consecutive words of the prompt's own text in an explanation, words the case does
not contain, restate a definition or an example instead of this case's facts."""


def without_opening(explanation: str) -> str:
    """The explanation after its `<type> (<action>):` opening, when it has one."""
    return _TYPE_AND_ACTION.sub("", explanation, count=1)


def evidence_problems(
    evidence: Sequence[str], explanation: str, fraud_type: str, event_count: int
) -> list[str]:
    """Why cited ids do not ground an answer in a case of `event_count` events (empty: they do)."""
    last = event_count - 1
    problems = []
    unknown = [eid for eid in evidence if not _CITED_ID.fullmatch(eid) or int(eid[1:]) > last]
    if unknown:
        problems.append(
            f"evidence ids {', '.join(unknown)} do not exist; the case has e0 to e{last}"
        )
    cited = sorted({int(number) for number in cited_ids_in(explanation)})
    unknown_cited = [f"e{number}" for number in cited if number > last]
    if unknown_cited:
        problems.append(
            f"explanation cites {', '.join(unknown_cited)}, which do not exist "
            f"(the case has e0 to e{last})"
        )
    if fraud_type != "none" and not evidence:
        problems.append(f"fraud_type {fraud_type} needs at least one evidence id")
    return problems


def cited_ids_in(text: str) -> list[str]:
    """The numbers of the event ids (`e12` → "12") a text cites, in order."""
    return _CITED_ID.findall(text)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _runs(words: list[str], length: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + length]) for i in range(len(words) - length + 1)}


def case_text(case: RenderedCase) -> str:
    """Everything the case shows the model: its text and every list of facts."""
    facts = [*case.evidence_facts, *case.evidence_facts_v2, *case.brief_facts]
    return "\n".join([case.text, *facts, *case.compact_brief_facts])


def copied_prompt_text(
    explanation: str, prompt_texts: Sequence[str], case: str, length: int = COPIED_WORDS
) -> str | None:
    """The prompt's words an explanation restates instead of the case's facts: None when it
    copies no `length` consecutive words of the prompt's own text (system prompt, example
    answers) that the case does not contain, or when, those words set aside, it still states a
    number or an event id; else the first copied run."""
    words = _words(without_opening(explanation))
    prompt = set().union(*(_runs(_words(text), length) for text in prompt_texts))
    shown = _runs(_words(case), length)
    copied = [False] * len(words)
    first = None
    for start in range(len(words) - length + 1):
        run = tuple(words[start : start + length])
        if run in prompt and run not in shown:
            copied[start : start + length] = [True] * length
            first = first or " ".join(run)
    own = [word for word, taken in zip(words, copied, strict=True) if not taken]
    if first is None or any(any(char.isdigit() for char in word) for word in own):
        return None
    return first


def copied_text_problems(
    answer: ModelAnswer, prompt_texts: Sequence[str], case: RenderedCase
) -> list[str]:
    """Why the explanation is not this case's own (empty when it is)."""
    copied = copied_prompt_text(answer.explanation, prompt_texts, case_text(case))
    if copied is None:
        return []
    return [
        f'the explanation repeats the instructions ("{copied} …") instead of stating what this '
        "case shows: give this case's own facts with their numbers and ids, or answer none "
        "when it shows none of the patterns"
    ]


def grounding_problems(answer: ModelAnswer, case: RenderedCase) -> list[str]:
    """Why the model's answer is not grounded in `case` (empty when it is), an explanation that
    states nothing after its opening included."""
    problems = evidence_problems(
        answer.evidence, answer.explanation, answer.fraud_type, case.event_count
    )
    if not without_opening(answer.explanation).strip():
        problems.append(
            "the explanation states nothing after its opening: say what in this case's events "
            "shows the type you name, with their ids"
        )
    return problems


def verdict_grounded(verdict: Verdict, event_count: int) -> bool:
    """A model verdict (not the fallback) whose cited ids all exist in the case."""
    if verdict.is_fallback:
        return False
    return not evidence_problems(
        verdict.evidence, verdict.explanation, verdict.fraud_type, event_count
    )
