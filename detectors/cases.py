"""Labelled cases (FORMATS.md §2), the fraud taxonomy (§3) and the risk actions (§4)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from detectors.events import Event, EventError, parse_event

FraudType = Literal[
    "none",
    "account_takeover",
    "card_testing",
    "payment_fraud",
    "order_brushing",
    "fake_review",
    "promo_abuse",
    "scraping_bot",
    "reseller_scalping",
    "refund_abuse",
    "click_fraud",
]
FRAUD_TYPES: tuple[str, ...] = get_args(FraudType)
RiskAction = Literal[
    "allow", "monitor", "step_up_auth", "hold_order", "manual_review", "block_account"
]
"""Mildest first: the index is the severity."""
RISK_ACTIONS: tuple[str, ...] = get_args(RiskAction)


def action_severity(action: str) -> int:
    """Position of `action` in RISK_ACTIONS (0 = allow)."""
    return RISK_ACTIONS.index(action)


@dataclass(slots=True)
class Case:
    """One labelled user sequence. Keys the format does not define stay in `extra`."""

    case_id: str
    fraud_type: str
    acceptable_actions: list[str]
    events: list[Event]
    notes: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_fraud(self) -> bool:
        return self.fraud_type != "none"

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "case_id": self.case_id,
            "fraud_type": self.fraud_type,
            "acceptable_actions": self.acceptable_actions,
        }
        if self.notes is not None:
            record["notes"] = self.notes
        record.update(self.extra)
        record["events"] = [event.to_record() for event in self.events]
        return record


_CASE_FIELDS = frozenset(("case_id", "fraud_type", "acceptable_actions", "notes", "events"))


def parse_case(record: Any) -> Case:
    """Validate one decoded JSON record into a Case; raise EventError naming the field."""
    if not isinstance(record, dict):
        raise EventError("<line>", f"expected a JSON object, got {type(record).__name__}")
    case_id = record.get("case_id")
    if not isinstance(case_id, str | int) or isinstance(case_id, bool) or str(case_id) == "":
        raise EventError("case_id", "required field is missing or not a string")
    fraud_type = record.get("fraud_type")
    if fraud_type not in FRAUD_TYPES:
        raise EventError("fraud_type", f"{fraud_type!r} is not one of {', '.join(FRAUD_TYPES)}")
    actions = record.get("acceptable_actions")
    if not isinstance(actions, list) or not actions:
        raise EventError("acceptable_actions", "required non-empty list is missing")
    for action in actions:
        if action not in RISK_ACTIONS:
            raise EventError(
                "acceptable_actions", f"{action!r} is not one of {', '.join(RISK_ACTIONS)}"
            )
    events = parse_event_list(record.get("events"))
    notes = record.get("notes")
    return Case(
        case_id=str(case_id),
        fraud_type=fraud_type,
        acceptable_actions=list(actions),
        events=events,
        notes=notes if isinstance(notes, str) else None,
        extra={key: value for key, value in record.items() if key not in _CASE_FIELDS},
    )


def parse_event_list(raw_events: object) -> list[Event]:
    """A record's non-empty `events` list; a bad event names its place (`events[3].ts: …`)."""
    if not isinstance(raw_events, list) or not raw_events:
        raise EventError("events", "required non-empty list is missing")
    events = []
    for index, raw in enumerate(raw_events):
        try:
            events.append(parse_event(raw))
        except EventError as error:
            message = str(error).split(": ", 1)[1]
            raise EventError(f"events[{index}].{error.field}", message) from None
    return events
