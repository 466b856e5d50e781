"""The deterministic risk policy: bounds and floors on the model's proposed action, from TOML."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.verdict import FraudType, RiskAction
from detectors.cases import action_severity

DEFAULT_POLICY_FILE = Path(__file__).resolve().parent / "policy_default.toml"
BENIGN_ACTIONS: frozenset[str] = frozenset(("allow", "monitor"))


class ActionBound(BaseModel):
    """Conditions a severe action must meet to stand; otherwise it becomes `otherwise`."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    min_score: float = Field(default=0.0, ge=0.0)
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    needs_fraud_type: bool = False
    """The model must name a fraud type (not `none`)."""
    otherwise: RiskAction = "manual_review"


class Floors(BaseModel):
    """Actions a case can never end below in the named situation."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    instruction_like_text: RiskAction = "manual_review"
    """Flagged, and user-written text reads like an instruction to the model."""
    benign_answer_high_score: RiskAction = "manual_review"
    """The model answered none / allow / monitor although the score is ≥ high_score."""
    fraud_named_but_allowed: RiskAction = "manual_review"
    """The model named a fraud type but proposed `allow`."""
    low_confidence: RiskAction = "manual_review"
    """Flagged, and the model's confidence is below `min_confidence`."""


class RiskPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    high_score: float = Field(default=0.99, ge=0.0)
    """A detector score at or above this is "very high"."""
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    """A flagged case whose answer is less confident than this goes to `floors.low_confidence`."""
    refuted_fallback: RiskAction = "monitor"
    """Proposed for a fallback whose model named, on its last try, a type the case's events
    rule out, on a case that shows no type's whole pattern (prompts with `clear_refuted`);
    floors still apply. Any other fallback proposes `manual_review`."""
    floors: Floors = Field(default_factory=Floors)
    playbook: dict[FraudType, list[RiskAction]] = Field(default_factory=dict)
    """Per named fraud type, the actions taken for it, the usual one first; a proposed action
    outside the list becomes the usual one. Types without an entry take any action."""
    actions: dict[RiskAction, ActionBound] = Field(default_factory=dict)
    """Bounds per action; actions without an entry are not bounded."""

    @field_validator("playbook")
    @classmethod
    def _playbook_lists_actions(
        cls, playbook: dict[FraudType, list[RiskAction]]
    ) -> dict[FraudType, list[RiskAction]]:
        for fraud_type, actions in playbook.items():
            if fraud_type == "none" or not actions:
                raise ValueError(f"playbook.{fraud_type}: a fraud type with at least one action")
        return playbook

    @classmethod
    def load(cls, path: Path | None = None) -> RiskPolicy:
        """The packaged defaults, with the keys of `path` (a TOML file) laid over them."""
        merged = _read_toml(DEFAULT_POLICY_FILE)
        if path is not None:
            if not path.is_file():
                raise FileNotFoundError(f"risk policy file not found: {path}")
            merged = _merge(merged, _read_toml(path))
        return cls.model_validate(merged)

    def digest(self) -> str:
        """A short sha256 of every setting, so a run records which policy bounded it."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]

    def apply(self, case: PolicyInput) -> PolicyDecision:
        """Keep the action in the named type's playbook, bound it, then raise it to any floor
        that applies; note each change."""
        action, notes = case.proposed_action, []
        usual = self.playbook.get(case.fraud_type)
        if usual is not None and action not in usual:
            notes.append(f"{action} → {usual[0]}: not in the {case.fraud_type} playbook")
            action = usual[0]
        bound = self.actions.get(action)
        if bound is not None:
            unmet = _unmet(bound, case)
            if unmet:
                notes.append(f"{action} → {bound.otherwise}: needs {'; '.join(unmet)}")
                action = bound.otherwise
        for floor, reason in self._floors_for(case):
            if action_severity(action) < action_severity(floor):
                notes.append(f"{action} → {floor}: {reason}")
                action = floor
        return PolicyDecision(action, notes)

    def _floors_for(self, case: PolicyInput) -> list[tuple[RiskAction, str]]:
        floors: list[tuple[RiskAction, str]] = []
        if case.flagged and case.instruction_like:
            floors.append(
                (
                    self.floors.instruction_like_text,
                    "flagged case whose user text reads like instructions to the model "
                    f"({', '.join(case.instruction_like)}); text must not lower the action",
                )
            )
        benign = case.fraud_type == "none" or case.proposed_action in BENIGN_ACTIONS
        if benign and case.score >= self.high_score:
            floors.append(
                (
                    self.floors.benign_answer_high_score,
                    f"benign answer ({case.fraud_type}/{case.proposed_action}) but detector "
                    f"score {case.score:.3f} ≥ {self.high_score:g}",
                )
            )
        if case.answered and case.flagged and case.confidence < self.min_confidence:
            floors.append(
                (
                    self.floors.low_confidence,
                    f"confidence {case.confidence:.2f} < {self.min_confidence:g}",
                )
            )
        if case.fraud_type != "none" and case.proposed_action == "allow":
            floors.append(
                (self.floors.fraud_named_but_allowed, f"{case.fraud_type} named but `allow`")
            )
        return floors


@dataclass(frozen=True, slots=True)
class PolicyInput:
    """What the policy looks at: the model's answer and the detector's view of the case."""

    fraud_type: FraudType
    confidence: float
    proposed_action: RiskAction
    score: float
    flagged: bool
    instruction_like: list[str] = field(default_factory=list)
    """Ids of events whose user text reads like an instruction to the model."""
    answered: bool = True
    """False for a fallback: there is no model confidence to floor."""

    @classmethod
    def proposing(
        cls,
        answer: tuple[FraudType, float, RiskAction] | None,
        score: float,
        flagged: bool,
        instruction_like: list[str],
        fallback_action: RiskAction = "manual_review",
    ) -> PolicyInput:
        """The model's (type, confidence, action); no answer (a fallback) proposes
        `fallback_action` for type `none`."""
        if answer is None:
            return cls("none", 0.0, fallback_action, score, flagged, instruction_like, False)
        fraud_type, confidence, action = answer
        return cls(fraud_type, confidence, action, score, flagged, instruction_like)


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    action: RiskAction
    notes: list[str]
    """One line per change, empty when the proposed action stood."""


def _unmet(bound: ActionBound, case: PolicyInput) -> list[str]:
    unmet = []
    if case.score < bound.min_score:
        unmet.append(f"detector score ≥ {bound.min_score:g}, got {case.score:.3f}")
    if case.confidence < bound.min_confidence:
        unmet.append(f"confidence ≥ {bound.min_confidence:g}, got {case.confidence:.2f}")
    if bound.needs_fraud_type and case.fraud_type == "none":
        unmet.append("a fraud type other than none")
    return unmet


def _read_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as file:
        try:
            return tomllib.load(file)
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"risk policy {path}: {error}") from None


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
