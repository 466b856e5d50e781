"""A sequence as compact, faithful text for the model: code-computed facts, then a timeline."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.linked_accounts import LinkedAccounts, describe_links
from agent.render.evidence_facts import describe_evidence, describe_evidence_v2
from agent.render.facts import brief_facts, compact_brief_facts, describe_facts, event_id
from agent.render.masking import mask_instrument, mask_ip
from agent.render.time_format import format_duration, format_offset
from agent.render.token_estimate import estimate_tokens
from agent.render.untrusted_text import instruction_like_ids, quote_untrusted
from detectors.events import Event
from detectors.scores import SequenceScore
from detectors.sequences import Sequence

LONG_ID = re.compile(r"[0-9A-Fa-f-]{13,}")
"""Long numeric / hex ids cost a token per digit; they are shown by their last 6 characters."""

MAX_ATTRS = 3
NO_TYPE_ESTIMATE = "not available"
"""The type estimate of a case scored by a detector without a supervised head."""
_PLAIN_ATTR = re.compile(r"[\w\-./:]{1,24}")

KEY_ACTIONS = frozenset(
    (
        "login",
        "password_reset",
        "email_change",
        "phone_change",
        "address_change",
        "payment_method_add",
        "two_factor_change",
        "payment_attempt",
        "purchase",
        "refund_request",
        "return",
    )
)
"""Events never elided for length (runs of them are still collapsed into one line)."""

RunKey = Callable[[Event], tuple[str | None, ...]]
RUN_KEYS: tuple[RunKey, ...] = (
    lambda event: (event.action, event.category, event.status),
    lambda event: (event.action, event.status),
    lambda event: (event.action,),
)
"""Ever coarser notions of "similar events", tried in turn until the timeline fits the budget."""


@dataclass(frozen=True, slots=True)
class RenderOptions:
    token_budget: int = 1500
    """Rough token cap for the whole rendered case (facts + timeline)."""
    max_surprising: int = 5
    """How many of the detector's most surprising events are marked."""
    min_run: int = 3
    """Shortest run of similar events that is collapsed into one line."""
    max_text_chars: int = 160
    """User-written text is cut to this many characters."""
    max_kept_texts: int = 8
    """Text-bearing events shown even when the timeline must be shortened (the first ones)."""
    compact_timeline: bool = False
    """Fewer tokens per timeline line, for prompts whose evidence facts carry the pattern: no
    category beside an item, `◀ surprising #k` marks without the detector's nll, and
    `… N more: <actions>` for an omitted stretch."""
    baseline_facts: bool = False
    """Evidence facts measured against the user's own usual behaviour: the largest payment's
    billing country against the user's home country (where most of their events came from),
    not where they were at the payment (a traveller paying abroad with the card of home is
    not a foreign card); the browsing rhythm in the busiest session, not over days between
    visits (which make every history look irregular)."""
    refunds_by_order: bool = False
    """The refund fact counts refunded orders, and each order's amount once (a refund request
    and the return of the same item are one refund)."""


@dataclass(frozen=True, slots=True)
class RenderedCase:
    """The text the model sees, plus what code needs to check the model's answer against it."""

    text: str
    event_count: int
    """Valid evidence ids are e0 … e{event_count - 1}."""
    instruction_like: list[str] = field(default_factory=list)
    """Ids of events whose user-written text reads like an instruction to the model."""
    type_estimate: str = NO_TYPE_ESTIMATE
    """The detector's most likely fraud type and its probability, e.g. `card_testing (0.75)`."""
    evidence_facts: list[str] = field(default_factory=list)
    """Per-type facts computed by code, each citing event ids (shown by prompts that ask)."""
    evidence_facts_v2: list[str] = field(default_factory=list)
    """`evidence_facts` with the largest payment and its context (signup, the instrument's
    addition, billing against the user's country): the facts `verdict_v4` shows."""
    header: str = ""
    """The user, the detector's score and its type guess: the first lines of `text`."""
    brief_facts: list[str] = field(default_factory=list)
    """Span, age, identities and velocity, for prompts that show `evidence_facts` instead of
    the full facts of `text`."""
    timeline: str = ""
    """The timeline lines of `text`."""
    compact_brief_facts: list[str] = field(default_factory=list)
    """`brief_facts` in three lines, identities by where each new one appears (`verdict_v4`)."""
    surprising: list[int] = field(default_factory=list)
    """Indices of the events the detector found most surprising, the most surprising first."""


def short_id(value: str) -> str:
    """`2053013563693335403` → `…335403`; ordinary ids and category paths are kept whole."""
    return "…" + value[-6:] if LONG_ID.fullmatch(value) else value


@dataclass(slots=True)
class _Block:
    """One timeline line: a single event, a collapsed run, or an omitted stretch."""

    start: int
    end: int
    text: str
    keep: int
    """Elided last: 2 for marked events and the first text-bearing ones, 1 for key events
    (logins, credential, payment and refund events), 0 for the rest."""


def _changed_identity(events: list[Event], index: int, seen: dict[str, set[str]]) -> list[str]:
    """device / ip / country of this event when it differs from the previous event's."""
    event, parts = events[index], []
    previous = events[index - 1] if index else None
    for name, show in (("device_id", short_id), ("ip", mask_ip), ("country", str)):
        value = getattr(event, name)
        if value is None or (previous is not None and getattr(previous, name) == value):
            continue
        label = "device" if name == "device_id" else name
        is_new = index > 0 and value not in seen[name]
        parts.append(f"{'NEW ' if is_new else ''}{label} {show(value)}")
    return parts


def _event_line(
    events: list[Event], index: int, identity: list[str], mark: str, options: RenderOptions
) -> str:
    event = events[index]
    gap = event.ts - events[index - 1].ts if index else 0.0
    parts = [event_id(index), format_offset(gap), event.action]
    if event.category and not (options.compact_timeline and event.item_id):
        parts.append(f"category {short_id(event.category)}")
    if event.item_id:
        parts.append(f"item {short_id(event.item_id)}")
    if event.quantity is not None and event.quantity != 1:
        parts.append(f"qty {event.quantity}")
    if event.amount is not None:
        parts.append(f"{event.amount:,.2f} {event.currency or 'USD'}")
    if event.payment_method:
        parts.append(mask_instrument(event.payment_method))
    if event.status:
        parts.append(event.status)
    if event.rating is not None:
        parts.append(f"rating {event.rating}/5")
    parts += identity
    parts += _attr_parts(event)
    line = " ".join(parts)
    if event.text is not None:
        quoted = quote_untrusted(event.text, options.max_text_chars)
        line += f" | untrusted text: {quoted}"
    return line + mark


def _attr_parts(event: Event) -> list[str]:
    """Short, plain `key=value` attributes; anything longer or free-form is left out (untrusted)."""
    shown = [
        f"{key}={value}"
        for key, value in sorted(event.attrs.items())
        if isinstance(value, str | int | float)
        and not isinstance(value, bool)
        and _PLAIN_ATTR.fullmatch(str(key))
        and _PLAIN_ATTR.fullmatch(str(value))
    ]
    return shown[:MAX_ATTRS]


def _run_line(events: list[Event], start: int, end: int) -> str:
    run = events[start : end + 1]
    first = run[0]
    parts = [f"{len(run)}× {first.action}"]
    if first.category and all(event.category == first.category for event in run):
        parts.append(f"category {short_id(first.category)}")
    if first.status and all(event.status == first.status for event in run):
        parts.append(first.status)
    for name, label, show in (
        ("item_id", "items", str),
        ("category", "categories", str),
        ("payment_method", "instruments", mask_instrument),
    ):
        values = {show(getattr(event, name)) for event in run if getattr(event, name) is not None}
        if len(values) > 1:
            parts.append(f"{len(values)} {label}")
    amounts = [event.amount for event in run if event.amount is not None]
    if amounts:
        currency = first.currency or "USD"
        parts.append(
            f"amounts {min(amounts):,.2f}–{max(amounts):,.2f} total {sum(amounts):,.2f} {currency}"
        )
    parts.append(f"over {format_duration(run[-1].ts - first.ts)}")
    gap = first.ts - events[start - 1].ts if start else 0.0
    span = f"{event_id(start)}–{event_id(end)} {format_offset(gap)}"
    return f"{span} " + ", ".join(parts)


def _blocks(
    events: list[Event], marks: dict[int, str], key: RunKey, options: RenderOptions
) -> list[_Block]:
    seen: dict[str, set[str]] = {"device_id": set(), "ip": set(), "country": set()}
    singles: list[tuple[int, str, bool]] = []
    for index, event in enumerate(events):
        identity = _changed_identity(events, index, seen)
        for name in seen:
            value = getattr(event, name)
            if value is not None:
                seen[name].add(value)
        line = _event_line(events, index, identity, marks.get(index, ""), options)
        singular = index in marks or event.text is not None or bool(identity)
        singles.append((index, line, singular))
    with_text = [index for index, event in enumerate(events) if event.text is not None]
    kept_texts = set(with_text[: options.max_kept_texts])
    blocks: list[_Block] = []
    index = 0
    while index < len(events):
        _, line, singular = singles[index]
        end = index
        if not singular:
            while (
                end + 1 < len(events)
                and not singles[end + 1][2]
                and key(events[end + 1]) == key(events[index])
            ):
                end += 1
        if end - index + 1 >= options.min_run:
            keep = int(events[index].action in KEY_ACTIONS)
            blocks.append(_Block(index, end, _run_line(events, index, end), keep))
        else:
            for single in range(index, end + 1):
                keep = 2 if single in marks or single in kept_texts else 0
                keep = keep or int(events[single].action in KEY_ACTIONS)
                blocks.append(_Block(single, single, singles[single][1], keep))
        index = end + 1
    return blocks


def _omitted_line(events: list[Event], start: int, end: int, compact: bool) -> str:
    counts: dict[str, int] = {}
    for event in events[start : end + 1]:
        counts[event.action] = counts.get(event.action, 0) + 1
    summary = ", ".join(f"{count} {action}" for action, count in counts.items())
    count = end - start + 1
    omitted = f"{count} more" if compact else f"{count} events omitted for length"
    return f"{event_id(start)}–{event_id(end)} … {omitted}: {summary}"


def _omitted(
    events: list[Event], blocks: list[_Block], start: int, end: int, compact: bool
) -> _Block:
    """The stretch start…end as one summary line; a lone block is shown as it is instead."""
    lone = [block for block in blocks if block.start == start and block.end == end]
    if lone:
        return lone[0]
    return _Block(start, end, _omitted_line(events, start, end, compact), keep=0)


def _elide(
    events: list[Event], blocks: list[_Block], keep_ends: int, kept_from: int, compact: bool
) -> list[_Block]:
    """Keep the first and last `keep_ends` blocks and every block whose `keep` is at least
    `kept_from`; summarise the rest."""
    result: list[_Block] = []
    omitted_from: int | None = None
    for position, block in enumerate(blocks):
        if block.keep >= kept_from or position < keep_ends or position >= len(blocks) - keep_ends:
            if omitted_from is not None:
                result.append(_omitted(events, blocks, omitted_from, block.start - 1, compact))
                omitted_from = None
            result.append(block)
        elif omitted_from is None:
            omitted_from = block.start
    return result


def _surprise_marks(score: SequenceScore | None, options: RenderOptions) -> dict[int, str]:
    """Timeline marks of the most surprising events, in the order of their surprise."""
    if score is None:
        return {}
    return {
        surprise.index: (
            f"  ◀ surprising #{rank}"
            if options.compact_timeline
            else f"  ◀ detector: surprising #{rank} (nll {surprise.nll:.1f})"
        )
        for rank, surprise in enumerate(score.top_events(options.max_surprising), start=1)
    }


def _top_types(score: SequenceScore | None, k: int) -> list[tuple[str, float]]:
    """The supervised head's k most likely fraud types, most likely first."""
    if score is None or not score.fraud_type_probs:
        return []
    return sorted(score.fraud_type_probs.items(), key=lambda item: -item[1])[:k]


def _header(sequence: Sequence, score: SequenceScore | None) -> list[str]:
    lines = [f"User {sequence.user_id}"]
    if score is not None:
        flag = "flagged" if score.flagged else "not flagged"
        lines[0] += f" · detector score {score.score:.3f} ({flag})"
        top = _top_types(score, 3)
        if top:
            lines.append(
                "detector type guess: " + ", ".join(f"{name} {prob:.2f}" for name, prob in top)
            )
    return lines


def _tokens(blocks: list[_Block]) -> int:
    return estimate_tokens("\n".join(block.text for block in blocks))


def render_case(
    sequence: Sequence,
    score: SequenceScore | None = None,
    options: RenderOptions | None = None,
    links: LinkedAccounts | None = None,
) -> RenderedCase:
    """Deterministic: the same sequence, score and `links` (what the user shares with other
    accounts of its batch, facts added to `evidence_facts_v2`) always give the same text."""
    options = options or RenderOptions()
    events = sequence.events
    if not events:
        raise ValueError(f"sequence of user {sequence.user_id!r} has 0 events; need ≥ 1")
    header = _header(sequence, score)
    head = [
        *header,
        "Facts (computed by code):",
        *(f"- {fact}" for fact in describe_facts(events)),
        "Timeline (event id, time since the previous event, event):",
    ]
    marks = _surprise_marks(score, options)
    budget = options.token_budget - estimate_tokens("\n".join(head))
    blocks: list[_Block] = []
    for key in RUN_KEYS:
        blocks = _blocks(events, marks, key, options)
        if _tokens(blocks) <= budget:
            break
    for kept_from in (1, 2):  # key events go only when the case cannot fit with them
        keep_ends = len(blocks)
        while keep_ends > 1 and _tokens(blocks) > budget:
            keep_ends //= 2
            coarsest = _blocks(events, marks, RUN_KEYS[-1], options)
            blocks = _elide(events, coarsest, keep_ends, kept_from, options.compact_timeline)
    instruction_like = instruction_like_ids(events)
    timeline = [block.text for block in blocks]
    text = "\n".join([*head, *timeline])
    estimate = [f"{name} ({prob:.2f})" for name, prob in _top_types(score, 1)]
    return RenderedCase(
        text=text,
        event_count=len(events),
        instruction_like=instruction_like,
        type_estimate=estimate[0] if estimate else NO_TYPE_ESTIMATE,
        evidence_facts=describe_evidence(events),
        evidence_facts_v2=[
            *describe_evidence_v2(events, options.baseline_facts, options.refunds_by_order),
            *describe_links(links, events),
        ],
        header="\n".join(header),
        brief_facts=brief_facts(events),
        timeline="\n".join(timeline),
        compact_brief_facts=compact_brief_facts(events),
        surprising=list(marks),
    )
