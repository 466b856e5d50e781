"""Versioned prompt files (prompts/<version>_*.md) and the chat messages built from them."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

import prompts
from agent.case_schema import (
    answerable_types,
    case_answer_schema,
    case_ids,
    cited_evidence_schema,
    ruled_out_types,
    without_types,
)
from agent.evidence_kinds import EVIDENCE_KINDS, REQUIRED_KINDS, kind_problems
from agent.llm.client import ChatMessage
from agent.render.case import RenderedCase
from agent.render.evidence_facts import by_surprise
from agent.render.facts import event_id
from agent.render.token_estimate import estimate_tokens
from agent.verdict import MAX_EVIDENCE_IDS, ModelAnswer, answer_json_schema
from detectors.cases import FRAUD_TYPES
from detectors.events import Event

PROMPTS_DIR = Path(prompts.__file__).parent
PROMPT_PARTS = ("system", "user", "retry")
_EVENT_IDS = re.compile(r" \((?:\+\d+ more|e\d+[^()]*)\)")
"""Parenthesised id lists of an example's facts: another user's ids, never to be cited."""
EXAMPLE_ANSWER_TOKENS = 200
"""Room for one few-shot example's answer JSON."""
RETRY_TOKENS = 250
"""Room for the retry turn (template and a capped error) after a rejected answer."""
MESSAGE_OVERHEAD_TOKENS = 10
"""Chat-template tokens around each message."""
MIN_CASE_TOKENS = 300
COMPACT_EXAMPLE_TOKENS = 80
"""Room for one retrieved example shown as a compact line."""


class PromptNotFoundError(FileNotFoundError):
    """A prompt version whose files are missing."""


@dataclass(frozen=True, slots=True)
class FewShotExample:
    """A labelled case rendered like a real one, with the answer a careful analyst gives."""

    case: RenderedCase
    answer: ModelAnswer


@dataclass(frozen=True, slots=True)
class VerdictPrompt:
    """One prompt version: a system prompt, a user template (`$case`, optionally
    `$type_estimate`, `$evidence_facts`, `$evidence_facts_v2`, `$examples`) and a retry template."""

    version: str
    system: str
    user: Template
    retry: Template
    nearest_example_last: bool = False
    """Show the most similar example last, right before the case (small models copy the answer
    they saw last); set by `nearest_example_last = true` in prompts/<version>_options.toml."""
    compact_examples: bool = False
    """Retrieved examples go into the case's own message as one line each (`$examples`), so
    the system prompt is a prefix shared by every case (`compact_examples = true`)."""
    case_tokens: int | None = None
    """Cap on the rendered case's tokens (`case_tokens = N`); None: whatever the context leaves."""
    max_examples: int | None = None
    """Shown at most, the most similar first (`max_examples = N`); None: all that are given."""
    max_explanation_chars: int | None = None
    """The answer's explanation is cut here by the grammar (`max_explanation_chars = N`)."""
    max_evidence: int | None = None
    """The answer cites at most this many events (`max_evidence = N`)."""
    facts_by_surprise: bool = False
    """`$evidence_facts_v2` lists the facts citing the detector's most surprising events first
    (`facts_by_surprise = true`); otherwise in the fixed order of the fact kinds."""
    compact_timeline: bool = False
    """The case's timeline in fewer tokens per line (`compact_timeline = true`; see
    `RenderOptions.compact_timeline`)."""
    check_pattern: bool = False
    """An answer naming a type its case rules out is sent back (`check_pattern = true`; see
    agent.pattern_check)."""
    check_claims: bool = False
    """A fraud answer whose explanation states events its case does not have is sent back
    (`check_claims = true`; see agent.claims_check)."""
    accept_plain_none: bool = False
    """A second `none` answer stands even when its explanation repeats the prompt's words
    ("none of these patterns"): it claims an absence, which the retry invited
    (`accept_plain_none = true`). A first one is still sent back once."""
    baseline_facts: bool = False
    """Evidence facts measured against the user's own usual behaviour, and the pattern check
    of payment_fraud by the user's home country (`baseline_facts = true`; see
    `RenderOptions.baseline_facts`)."""
    check_none: bool = False
    """A `none` answer on a case that shows a type's whole pattern is sent back, and a second
    one falls back (`check_none = true`; see agent.pattern_shown)."""
    name_shown_patterns: bool = False
    """With `check_none` (alone it does nothing): an answer sent back on a case that shows
    another type's pattern is told that pattern instead of being offered `none`
    (`name_shown_patterns = true`)."""
    check_browsing: bool = False
    """With `check_pattern`: an order_brushing answer is sent back when every purchase followed
    views of other items in its session (`check_browsing = true`; see agent.pattern_check)."""
    check_rhythm: bool = False
    """With `check_pattern`: a scraping_bot answer is sent back when the busiest session's
    views come at a person's irregular pace (`check_rhythm = true`; see agent.pattern_check)."""
    check_reviews: bool = False
    """With `check_pattern`: an order_brushing answer is sent back when the user rated several
    different items, not all 5★, and a fake_review answer when every review rates an item
    bought before it, no text copied (`check_reviews = true`; see agent.pattern_check)."""
    check_cards: bool = False
    """With `check_pattern`: a payment_fraud answer is sent back when every payment method
    added replaced another declined minutes before and every payment bills in the user's
    home country (`check_cards = true`; see agent.pattern_check)."""
    check_glance: bool = False
    """With `check_pattern`: an order_brushing answer is sent back when no order was placed at
    a glance and then rated 5★ or placed again (`check_glance = true`; see
    agent.pattern_check)."""
    refunds_by_order: bool = False
    """Refunds counted by the order they refund, a request and its return once: in the refund
    fact, and with `check_pattern` refund_abuse needs refunds of two orders or more
    (`refunds_by_order = true`; see `RenderOptions.refunds_by_order`, agent.pattern_check)."""
    linked_accounts: bool = False
    """The case's links to other accounts of its batch (a shared device or ip, coupons they
    both redeemed) are shown among the evidence facts, and with `check_none` a coupon redeemed
    by linked accounts shows promo abuse's whole pattern (`linked_accounts = true`; see
    agent.linked_accounts)."""
    takeover_shown: bool = False
    """With `check_none`: account takeover's pattern (credentials changed soon after a login
    from a device new to a long history) counts among the shown patterns
    (`takeover_shown = true`; see agent.pattern_shown)."""
    declines_shown: bool = False
    """With `check_none`: five declined payment attempts or more show card testing's pattern on
    any number of instruments (`declines_shown = true`; see agent.pattern_shown)."""
    refunded_value_shown: bool = False
    """With `check_none`: two orders or more refunded with no item returned, worth at least half
    the value bought, show refund abuse's pattern (`refunded_value_shown = true`; see
    agent.pattern_shown)."""
    new_card_abroad_shown: bool = False
    """With `check_none`: a payment method added and paid with abroad within the hour, on an
    account with no declined payment, shows payment fraud's pattern (`new_card_abroad_shown =
    true`; see agent.pattern_shown)."""
    trust_shown_pattern: bool = False
    """With `check_none`: an answer sent back on a case that shows its own type's whole
    pattern is told so instead of being offered `none`, and a fallback takes the type of the
    one pattern the case shows rather than the detector's guess (`trust_shown_pattern = true`)."""
    clear_refuted: bool = False
    """With `check_pattern` and `check_none`: a fallback whose last answer named a type the
    case's events rule out, on a case that shows no type's whole pattern, proposes the policy's
    `refuted_fallback` action (`monitor`) with type `none` instead of `manual_review`
    (`clear_refuted = true`; see agent.nodes.check_grounding)."""
    check_cited_kinds: bool = False
    """A fraud answer citing events of kinds its type does not rest on, or without its type's
    defining kind (card testing without a payment attempt), is sent back
    (`check_cited_kinds = true`; see agent.evidence_kinds)."""
    case_schema: bool = False
    """Each case gets its own answer schema: only the types its events leave open, and
    evidence only of the kinds the named type rests on (`case_schema = true`; see
    agent.case_schema)."""
    retry_without_refuted: bool = False
    """With `check_pattern`: an answer asked again after the pattern check sent one back may
    not name the type sent back (the retry's schema closes it), so a refuted type cannot be
    named twice; the first answer's schema is unchanged (`retry_without_refuted = true`; see
    agent.case_schema.without_types)."""
    retry_closes_ruled_out: bool = False
    """With `retry_without_refuted`: that retry's schema closes every type the case's events
    rule out, not only those sent back, so the retry cannot name another type the pattern check
    would send back (`retry_closes_ruled_out = true`; see agent.case_schema.ruled_out_types)."""
    evidence_schema: bool = False
    """Each case gets its own answer schema in which every type stays open, but the evidence of
    each may hold only events of the kinds it rests on (`evidence_schema = true`)."""
    existing_ids: bool = False
    """Every answer's `evidence` is held by the grammar to the case's own event ids, so an id
    past the case's end cannot be written (`existing_ids = true`; see verdict_v29)."""
    cite: Template | None = None
    """After an accepted fraud answer, a second turn asks for the events that show its type,
    held by the grammar to that type's kinds (`cite_prompt = "<file stem>"` names
    prompts/<file stem>.md; `$fraud_type`, `$kinds`, `$defining`); the answer's own
    `evidence` is replaced by the reply. None: the answer's evidence stands."""
    cite_only_unfaithful: bool = False
    """With `cite`: the citing turn is asked only when the answer's own evidence breaks its
    type's kinds (`agent.evidence_kinds.kind_problems`); evidence that already rests on them
    stands, and the turn is saved (`cite_only_unfaithful = true`)."""
    text_version: str = ""
    """The version whose files hold the text (see `prompt_options`); empty: this one."""

    @classmethod
    def load(cls, version: str, directory: Path = PROMPTS_DIR) -> VerdictPrompt:
        options = prompt_options(version, directory)
        text_version = text_version_of(version, directory)
        paths = {part: directory / f"{text_version}_{part}.md" for part in PROMPT_PARTS}
        missing = [str(path) for path in paths.values() if not path.is_file()]
        if missing:
            raise PromptNotFoundError(
                f"prompt version {version!r} is missing {len(missing)} of {len(paths)} files: "
                + ", ".join(missing)
            )
        text = {part: path.read_text(encoding="utf-8").strip() for part, path in paths.items()}
        return cls(
            version,
            text["system"],
            Template(text["user"]),
            Template(text["retry"]),
            nearest_example_last=bool(options.get("nearest_example_last", False)),
            compact_examples=bool(options.get("compact_examples", False)),
            case_tokens=_optional_int(options, "case_tokens"),
            max_examples=_optional_int(options, "max_examples"),
            max_explanation_chars=_optional_int(options, "max_explanation_chars"),
            max_evidence=_optional_int(options, "max_evidence"),
            facts_by_surprise=bool(options.get("facts_by_surprise", False)),
            compact_timeline=bool(options.get("compact_timeline", False)),
            check_pattern=bool(options.get("check_pattern", False)),
            check_claims=bool(options.get("check_claims", False)),
            accept_plain_none=bool(options.get("accept_plain_none", False)),
            baseline_facts=bool(options.get("baseline_facts", False)),
            check_none=bool(options.get("check_none", False)),
            name_shown_patterns=bool(options.get("name_shown_patterns", False)),
            check_browsing=bool(options.get("check_browsing", False)),
            check_rhythm=bool(options.get("check_rhythm", False)),
            check_reviews=bool(options.get("check_reviews", False)),
            check_cards=bool(options.get("check_cards", False)),
            check_glance=bool(options.get("check_glance", False)),
            refunds_by_order=bool(options.get("refunds_by_order", False)),
            linked_accounts=bool(options.get("linked_accounts", False)),
            takeover_shown=bool(options.get("takeover_shown", False)),
            declines_shown=bool(options.get("declines_shown", False)),
            refunded_value_shown=bool(options.get("refunded_value_shown", False)),
            new_card_abroad_shown=bool(options.get("new_card_abroad_shown", False)),
            trust_shown_pattern=bool(options.get("trust_shown_pattern", False)),
            clear_refuted=bool(options.get("clear_refuted", False)),
            check_cited_kinds=bool(options.get("check_cited_kinds", False)),
            case_schema=bool(options.get("case_schema", False)),
            retry_without_refuted=bool(options.get("retry_without_refuted", False)),
            retry_closes_ruled_out=bool(options.get("retry_closes_ruled_out", False)),
            evidence_schema=bool(options.get("evidence_schema", False)),
            existing_ids=bool(options.get("existing_ids", False)),
            cite=_cite_template(options.get("cite_prompt"), directory),
            cite_only_unfaithful=bool(options.get("cite_only_unfaithful", False)),
            text_version=text_version,
        )

    @property
    def extra_rules(self) -> tuple[str, ...]:
        """The optional pattern-check rules this prompt adds (agent.pattern_check)."""
        return _switched_on(
            browsing=self.check_browsing,
            rhythm=self.check_rhythm,
            reviews=self.check_reviews,
            cards=self.check_cards,
            glance=self.check_glance,
            orders=self.refunds_by_order,
        )

    @property
    def shown_extras(self) -> tuple[str, ...]:
        """The optional shown-pattern floors this prompt adds (agent.pattern_shown)."""
        return _switched_on(
            takeover=self.takeover_shown,
            declines=self.declines_shown,
            refunded_value=self.refunded_value_shown,
            new_card_abroad=self.new_card_abroad_shown,
        )

    def answer_schema(self, events: list[Event], refuted: Collection[str] = ()) -> dict[str, Any]:
        """The structured-output schema for this prompt's answers about `events`; `refuted`:
        the types the pattern check has sent back in this run (closed with
        `retry_without_refuted`)."""
        if refuted and self.retry_without_refuted and not self.case_schema:
            max_evidence = self.max_evidence or MAX_EVIDENCE_IDS
            closed = set(refuted)
            if self.retry_closes_ruled_out:
                closed |= ruled_out_types(events, self.baseline_facts, self.extra_rules)
            return without_types(
                events, closed, self.max_explanation_chars, max_evidence, self.existing_ids
            )
        if self.case_schema:
            types = answerable_types(
                events, self.baseline_facts, self.extra_rules, self.shown_extras
            )
        elif self.evidence_schema:
            types = list(FRAUD_TYPES)
        else:
            ids = case_ids(events) if self.existing_ids else None
            return answer_json_schema(self.max_explanation_chars, self.max_evidence, ids)
        max_evidence = self.max_evidence or MAX_EVIDENCE_IDS
        return case_answer_schema(events, types, self.max_explanation_chars, max_evidence)

    def cite_turn(
        self, fraud_type: str, evidence: list[str], events: list[Event]
    ) -> tuple[ChatMessage, dict[str, Any]] | None:
        """The citing turn's message and schema for an accepted `fraud_type` answer that cites
        `evidence`; None when this prompt has no such turn, the answer is `none`, the case holds
        nothing to cite, or (`cite_only_unfaithful`) the evidence already rests on the type's
        kinds."""
        if self.cite is None or fraud_type == "none":
            return None
        if self.cite_only_unfaithful and not kind_problems(fraud_type, evidence, events):
            return None
        schema = cited_evidence_schema(events, fraud_type, self.max_evidence or MAX_EVIDENCE_IDS)
        if schema is None:
            return None
        required = REQUIRED_KINDS.get(fraud_type)
        defining = f", the first a {' or '.join(sorted(required))} event" if required else ""
        content = self.cite.substitute(
            fraud_type=fraud_type,
            kinds=", ".join(sorted(EVIDENCE_KINDS[fraud_type])),
            defining=defining,
        )
        return {"role": "user", "content": content}, schema

    def case_token_budget(
        self, max_model_len: int, max_answer_tokens: int, examples: int, example_tokens: int
    ) -> int:
        """Tokens left for the rendered case once everything else in the context is planned."""
        examples = min(examples, self.max_examples if self.max_examples is not None else examples)
        messages = 3 if self.compact_examples else 2 + 2 * examples + 1
        per_example = (
            COMPACT_EXAMPLE_TOKENS
            if self.compact_examples
            else example_tokens + EXAMPLE_ANSWER_TOKENS
        )
        fixed = (
            estimate_tokens(self.system)
            + estimate_tokens(self.user.template)
            + examples * per_example
            + RETRY_TOKENS
            + messages * MESSAGE_OVERHEAD_TOKENS
            + max_answer_tokens
        )
        left = max_model_len - fixed
        if left < MIN_CASE_TOKENS:
            raise ValueError(
                f"a {max_model_len}-token context leaves {left} tokens for the case after the "
                f"prompt, {examples} examples of {example_tokens} and a {max_answer_tokens}-token "
                f"answer; need ≥ {MIN_CASE_TOKENS}: raise llm_max_model_len or lower few_shot_k"
            )
        return left if self.case_tokens is None else min(left, self.case_tokens)

    def user_message(self, case: RenderedCase, examples: str = "") -> str:
        return self.user.substitute(
            case=case.text,
            type_estimate=case.type_estimate,
            header=case.header,
            evidence_facts=_bullets(case.evidence_facts),
            evidence_facts_v2=_bullets(
                by_surprise(case.evidence_facts_v2, case.surprising)
                if self.facts_by_surprise
                else case.evidence_facts_v2
            ),
            brief_facts=_bullets(case.brief_facts),
            compact_brief_facts=_bullets(case.compact_brief_facts),
            timeline=case.timeline,
            examples=examples,
        )

    def messages(self, case: RenderedCase, examples: list[FewShotExample]) -> list[ChatMessage]:
        """System prompt, the examples (given most similar first), then the case. Examples are
        user/assistant pairs, or compact lines inside the case's message."""
        examples = examples[: self.max_examples]
        ordered = list(reversed(examples)) if self.nearest_example_last else examples
        messages: list[ChatMessage] = [{"role": "system", "content": self.system}]
        if self.compact_examples:
            lines = "".join(compact_example(example) + "\n" for example in ordered)
            heading = "Labelled cases like this one (other users; for contrast only):\n"
            content = self.user_message(case, heading + lines + "\n" if lines else "")
            return [*messages, {"role": "user", "content": content}]
        for example in ordered:
            messages.append({"role": "user", "content": self.user_message(example.case)})
            messages.append({"role": "assistant", "content": example.answer.model_dump_json()})
        messages.append({"role": "user", "content": self.user_message(case)})
        return messages

    def retry_message(self, case: RenderedCase, error: str) -> ChatMessage:
        """The follow-up sent after an answer that failed validation or grounding."""
        last = event_id(case.event_count - 1)
        return {"role": "user", "content": self.retry.substitute(error=error, last_event_id=last)}


def prompt_options(
    version: str, directory: Path = PROMPTS_DIR, seen: tuple[str, ...] = ()
) -> dict[str, Any]:
    """prompts/<version>_options.toml, or {} when the version has none. `text_of = "<other>"`
    names the version whose text files and few-shot library this one uses, and
    `options_of = "<other>"` the version whose options this file's keys are laid over: a
    version that changes one option is a file of its reason and that option, not a copy."""
    if version in seen:
        raise ValueError(f"prompt options of {version!r} refer back to it: {' → '.join(seen)}")
    path = directory / f"{version}_options.toml"
    own = tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    base = own.pop("options_of", None)
    if base is None:
        return own
    return {**prompt_options(str(base), directory, (*seen, version)), **own}


def text_version_of(version: str, directory: Path = PROMPTS_DIR) -> str:
    """The version whose text files and few-shot library `version` uses (`text_of`)."""
    return str(prompt_options(version, directory).get("text_of", version))


def compact_example(example: FewShotExample) -> str:
    """One line: the example's evidence facts and its labelled type and action (no ids to copy)."""
    facts = "; ".join(example.case.evidence_facts) or "no type-specific evidence"
    facts = _EVENT_IDS.sub("", _EVENT_IDS.sub("", facts))
    return f"- {facts} → {example.answer.fraud_type}, {example.answer.action}"


def _cite_template(stem: object, directory: Path) -> Template | None:
    if stem is None:
        return None
    path = directory / f"{stem}.md"
    if not path.is_file():
        raise PromptNotFoundError(f"cite_prompt {stem!r} names a missing file: {path}")
    return Template(path.read_text(encoding="utf-8").strip())


def _switched_on(**switches: bool) -> tuple[str, ...]:
    """The names of the switches that are on, in the order given."""
    return tuple(name for name, on in switches.items() if on)


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines) or "- none"


def _optional_int(options: dict[str, Any], key: str) -> int | None:
    return int(options[key]) if key in options else None
