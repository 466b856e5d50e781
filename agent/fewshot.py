"""The labelled few-shot library and the search for the cases most similar to a new one."""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from agent.prompting import PROMPTS_DIR, text_version_of
from agent.similarity import cosine
from agent.verdict import ModelAnswer
from detectors.cases import Case
from detectors.loading import read_cases
from detectors.scores import SequenceScore
from detectors.sequences import Sequence, order_events


def library_path(prompt_version: str, directory: Path = PROMPTS_DIR) -> Path:
    """Each prompt version has its own library, prompts/<version>_fewshot.jsonl, or uses that of
    the version it takes its text from (`text_of`)."""
    return directory / f"{text_version_of(prompt_version, directory)}_fewshot.jsonl"


def behaviour_profile(sequence: Sequence) -> Counter[str]:
    """Counts of each action and each action|status pair: a detector-free similarity basis."""
    profile: Counter[str] = Counter()
    for event in sequence.events:
        profile[event.action] += 1
        if event.status:
            profile[f"{event.action}|{event.status}"] += 1
        if event.text is not None:
            profile[f"{event.action}|text"] += 1
    return profile


def _cosine_counts(left: Counter[str], right: Counter[str]) -> float:
    dot = sum(count * right[key] for key, count in left.items())
    norm = math.sqrt(sum(c * c for c in left.values()) * sum(c * c for c in right.values()))
    return dot / norm if norm else 0.0


@dataclass(slots=True)
class LabelledExample:
    """A labelled case with the answer a careful analyst gives for it."""

    case: Case
    sequence: Sequence
    answer: ModelAnswer
    profile: Counter[str]
    score: SequenceScore | None = None
    """The detector's view of the example, once the library has been screened."""


@dataclass(frozen=True, slots=True)
class SimilarCase:
    example: LabelledExample
    similarity: float
    """Cosine similarity, of detector embeddings when both sides have one, else of profiles."""
    basis: str
    """`embedding` or `profile`."""


@dataclass(slots=True)
class FewShotLibrary:
    examples: list[LabelledExample] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    """`name@sha256[:12]` of each file the examples came from, in order: the library's version."""

    @classmethod
    def load(cls, path: Path) -> FewShotLibrary:
        """A FORMATS.md case file whose cases also carry `explanation`, `evidence`, `confidence`.

        The preferred action (first of `acceptable_actions`) is the example's answer.
        """
        cases, report = read_cases(path)
        if report.rejected:
            raise ValueError(f"few-shot library {report.summary()}; fix the rejected lines")
        return cls([_example(case) for case in cases], [_source(path)])

    @property
    def version(self) -> str:
        return " + ".join(self.sources)

    def add_labelled(self, path: Path) -> FewShotLibrary:
        """This library with the analyst-labelled cases of `path` (`fraudlens cases export`)
        joined: they are retrieved from the next case on, no retraining. The scores of the
        examples already screened are kept; the new ones are unscored (profile similarity until
        `attach_scores` is called again)."""
        joined = FewShotLibrary.load(path)
        return FewShotLibrary([*self.examples, *joined.examples], [*self.sources, *joined.sources])

    def learn(self, case: Case) -> LabelledExample:
        """Join one analyst-labelled case, retrieved from the next investigation on (no
        retraining); a case labelled again replaces its earlier label. The library's version
        gains `label:<case id>@<sha256 of the labelled case>[:12]`."""
        example = _example(case)
        record = json.dumps(case.to_record(), sort_keys=True, ensure_ascii=False)
        digest = hashlib.sha256(record.encode("utf-8")).hexdigest()[:12]
        earlier = f"label:{case.case_id}@"
        self.examples = [ex for ex in self.examples if ex.case.case_id != case.case_id]
        self.sources = [source for source in self.sources if not source.startswith(earlier)]
        self.examples.append(example)
        self.sources.append(f"{earlier}{digest}")
        return example

    def attach_scores(self, scores: Iterable[SequenceScore]) -> None:
        """Record the detector's scores (in library order), for embeddings and surprise marks."""
        scored = list(scores)
        if len(scored) != len(self.examples):
            raise ValueError(f"got {len(scored)} scores for {len(self.examples)} examples")
        for example, score in zip(self.examples, scored, strict=True):
            example.score = score

    def similar(
        self, sequence: Sequence, score: SequenceScore | None = None, k: int = 2
    ) -> list[SimilarCase]:
        """The k most similar examples, at most one per fraud type (so examples contrast)."""
        use_embedding = (
            score is not None
            and score.embedding is not None
            and all(ex.score is not None and ex.score.embedding for ex in self.examples)
        )
        profile = behaviour_profile(sequence)
        ranked: list[SimilarCase] = []
        for example in self.examples:
            if use_embedding:
                assert score is not None and score.embedding is not None
                assert example.score is not None and example.score.embedding is not None
                similarity = cosine(score.embedding, example.score.embedding)
            else:
                similarity = _cosine_counts(profile, example.profile)
            basis = "embedding" if use_embedding else "profile"
            ranked.append(SimilarCase(example, similarity, basis))
        ranked.sort(key=lambda item: (-item.similarity, item.example.case.case_id))
        chosen: list[SimilarCase] = []
        types: set[str] = set()
        for item in ranked:
            if len(chosen) == k:
                break
            if item.example.case.fraud_type not in types:
                chosen.append(item)
                types.add(item.example.case.fraud_type)
        return chosen


def _source(path: Path) -> str:
    return f"{path.name}@{hashlib.sha256(path.read_bytes()).hexdigest()[:12]}"


def _example(case: Case) -> LabelledExample:
    """A labelled case; one exported from analyst labels has no explanation and cites nothing."""
    labelled = f"Labelled {case.fraud_type} by an analyst."
    answer = ModelAnswer.model_validate(
        {
            "explanation": case.extra.get("explanation") or case.notes or labelled,
            "evidence": case.extra.get("evidence", []),
            "fraud_type": case.fraud_type,
            "confidence": case.extra.get("confidence", 0.9),
            "action": case.acceptable_actions[0],
        }
    )
    user_ids = {event.user_id for event in case.events}
    if len(user_ids) != 1:
        raise ValueError(f"example {case.case_id} has events of {len(user_ids)} users; need 1")
    sequence = Sequence(user_ids.pop(), order_events(case.events))
    return LabelledExample(case, sequence, answer, behaviour_profile(sequence))
