"""The agent as a service object: built once, screens sequences and investigates cases by id."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Callable
from collections.abc import Sequence as SequenceOf
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command
from tqdm import tqdm

from agent import checkpoint_db
from agent.context import Context, Screener
from agent.fallback import failed_verdict
from agent.fewshot import FewShotLibrary, SimilarCase, library_path
from agent.graph import build_graph, checkpoint_serializer
from agent.linked_accounts import LinkedAccounts, link_accounts
from agent.llm.client import ChatModel
from agent.llm.endpoint import ModelServerDown
from agent.policy import RiskPolicy
from agent.prompting import VerdictPrompt
from agent.render.case import RenderedCase, RenderOptions, render_case
from agent.settings import Settings
from agent.state import ApprovalDecision, InputState, OutputState, State
from agent.verdict import Verdict
from detectors.cases import RISK_ACTIONS, Case
from detectors.scores import SequenceScore
from detectors.sequences import Sequence

Graph = CompiledStateGraph[State, Context, InputState, OutputState]


@dataclass(frozen=True, slots=True)
class FlaggedCase:
    """One case to investigate: its id, the user's sequence and the detector's score."""

    case_id: str
    sequence: Sequence
    score: SequenceScore
    links: LinkedAccounts | None = None
    """What the user shares with the other accounts of its batch (`flagged_in_batch`)."""


def cases_in_batch(
    case_ids: SequenceOf[str], sequences: SequenceOf[Sequence], scores: SequenceOf[SequenceScore]
) -> list[FlaggedCase]:
    """Every user of one screened batch as a case, each with its links to the batch's accounts
    (an alert is investigated whether or not the detector flags it)."""
    links = link_accounts(sequences)
    return [
        FlaggedCase(case_id, sequence, score, link)
        for case_id, sequence, score, link in zip(case_ids, sequences, scores, links, strict=True)
    ]


def flagged_in_batch(
    case_ids: SequenceOf[str], sequences: SequenceOf[Sequence], scores: SequenceOf[SequenceScore]
) -> list[FlaggedCase]:
    """The flagged users of one screened batch, each with its links to the batch's accounts."""
    return [case for case in cases_in_batch(case_ids, sequences, scores) if case.score.flagged]


@dataclass(frozen=True, slots=True)
class Investigated:
    """A case and its verdict; `error` is set when the investigation itself raised (the verdict
    is then the `manual_review` fallback that keeps the case)."""

    case: FlaggedCase
    verdict: Verdict
    error: str | None = None
    reused: bool = False
    """The verdict was already in the checkpoint database (same case id and sequence)."""


class ModelSupervisor(Protocol):
    """The served model as `investigate_many` watches it (agent.llm.endpoint.ServedModel)."""

    def healthy(self) -> bool:
        """False once the model server has died."""
        ...

    def restart(self) -> None:
        """Bring the server back, or raise ModelServerDown."""
        ...

    @property
    def log_path(self) -> Path | None:
        """The server's log, named when it stays down."""
        ...


EXAMPLE_TOKEN_BUDGET = 350
"""Few-shot examples are rendered shorter than the case itself."""


class Investigator:
    """Runs the investigation graph per case, checkpointed in SQLite with thread_id = case_id.

    The same case id with the same input returns the stored verdict (or resumes an
    investigation that a restart interrupted); a new input for that id, or a stored verdict that
    is a fallback, is investigated afresh.
    """

    def __init__(
        self,
        settings: Settings,
        chat_model: ChatModel,
        detector: Screener | None = None,
        *,
        checkpointer: BaseCheckpointSaver[str] | None = None,
        checkpoint_path: Path | None = None,
        policy: RiskPolicy | None = None,
        library: FewShotLibrary | None = None,
        retry_backoff_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`checkpointer` (owned by the caller) wins over `checkpoint_path`, which defaults to
        settings.checkpoint_db; `:memory:` keeps nothing between runs."""
        unknown = sorted(set(settings.require_approval_for) - set(RISK_ACTIONS))
        if unknown:
            raise ValueError(
                f"require_approval_for names unknown actions {unknown}; "
                f"expected some of {', '.join(RISK_ACTIONS)}"
            )
        self.settings = settings
        self.detector = detector
        prompt = VerdictPrompt.load(settings.prompt_version)
        library = library or FewShotLibrary.load(library_path(settings.prompt_version))
        if detector is not None and library.examples:
            library.attach_scores(detector.explain([ex.sequence for ex in library.examples]))
        case_budget = prompt.case_token_budget(
            settings.llm_max_model_len,
            settings.llm_max_tokens,
            settings.few_shot_k,
            EXAMPLE_TOKEN_BUDGET,
        )
        self.render_options = RenderOptions(
            token_budget=min(settings.render_token_budget, case_budget),
            compact_timeline=prompt.compact_timeline,
            baseline_facts=prompt.baseline_facts,
            refunds_by_order=prompt.refunds_by_order,
        )
        self.context = Context(
            chat=chat_model,
            prompt=prompt,
            policy=policy or RiskPolicy.load(settings.policy_file),
            library=library,
            screener=detector,
            detector_version=detector.version if detector is not None else "unknown",
            render_options=self.render_options,
            example_render_options=RenderOptions(
                token_budget=EXAMPLE_TOKEN_BUDGET,
                compact_timeline=prompt.compact_timeline,
                baseline_facts=prompt.baseline_facts,
                refunds_by_order=prompt.refunds_by_order,
            ),
            few_shot_k=settings.few_shot_k,
            max_tokens=settings.llm_max_tokens,
            max_retries=settings.llm_max_retries,
            retry_backoff_s=retry_backoff_s,
            require_approval_for=tuple(settings.require_approval_for),
            clock=clock,
        )
        self._checkpointer = checkpointer
        self._checkpoint_path = checkpoint_path or settings.checkpoint_db
        if checkpointer is None:
            checkpoint_db.create_tables(self._checkpoint_path)

    # --- the pieces the API's chat tools use ---

    def screen(self, sequences: SequenceOf[Sequence]) -> list[SequenceScore]:
        """The detector's score, flag and per-event surprise for each sequence."""
        if self.detector is None:
            raise RuntimeError("this investigator has no detector; build it with one to screen")
        return self.detector.explain(sequences)

    def render_case(self, sequence: Sequence, score: SequenceScore | None = None) -> RenderedCase:
        return render_case(sequence, score, self.render_options)

    def similar_cases(
        self, sequence: Sequence, score: SequenceScore | None = None, k: int = 3
    ) -> list[SimilarCase]:
        return self.context.library.similar(sequence, score, k)

    def learn(self, case: Case) -> str:
        """An analyst's labelled case joins the few-shot library (scored by the detector, so
        embedding similarity keeps working); returns the library's new version."""
        example = self.context.library.learn(case)
        if self.detector is not None:
            example.score = self.detector.explain([example.sequence])[0]
        return self.context.library.version

    # --- investigations ---

    async def investigate(
        self,
        case_id: str,
        sequence: Sequence,
        score: SequenceScore | None = None,
        links: LinkedAccounts | None = None,
    ) -> Verdict:
        """One verdict; model failures give the `manual_review` fallback, never an exception."""
        verdict, _ = await self._decide(case_id, sequence, score, links)
        return verdict

    async def _decide(
        self,
        case_id: str,
        sequence: Sequence,
        score: SequenceScore | None,
        links: LinkedAccounts | None = None,
    ) -> tuple[Verdict, bool]:
        """The verdict, and whether it is one the checkpoint database already held."""
        if not sequence.events:
            raise ValueError(f"case {case_id}: sequence has 0 events; need ≥ 1")
        fingerprint = self._fingerprint(sequence, score, links)
        config = _thread(case_id)
        async with self._graph() as graph:
            snapshot = await graph.aget_state(config)
            stored: dict[str, Any] = dict(snapshot.values) if snapshot.values else {}
            if stored.get("fingerprint") == fingerprint:
                if snapshot.interrupts:
                    return _pending_verdict(snapshot.interrupts[0].value), True
                if snapshot.next:  # stopped mid-way (a crash or restart): carry on
                    resumed = await graph.ainvoke(None, config, context=self.context)
                    return _verdict(resumed), False
                verdict = stored.get("verdict")
                if isinstance(verdict, Verdict) and not verdict.is_fallback:
                    return verdict, True
            fresh = InputState(
                case_id=case_id,
                sequence=sequence,
                score=score,
                links=links,
                fingerprint=fingerprint,
            )
            return _verdict(await graph.ainvoke(fresh, config, context=self.context)), False

    async def resume(self, case_id: str, decision: ApprovalDecision) -> Verdict:
        """Answer the approval interrupt of `case_id` and finish its verdict."""
        config = _thread(case_id)
        async with self._graph() as graph:
            snapshot = await graph.aget_state(config)
            if not snapshot.interrupts:
                raise ValueError(f"case {case_id} is not waiting for an approval")
            command: Command[Any] = Command(resume=decision.model_dump())
            return _verdict(await graph.ainvoke(command, config, context=self.context))

    async def investigate_many(
        self,
        cases: SequenceOf[FlaggedCase],
        concurrency: int | asyncio.Semaphore,
        *,
        on_result: Callable[[Investigated], None] | None = None,
        progress: bool = True,
        supervisor: ModelSupervisor | None = None,
        seconds_per_case: float | None = None,
    ) -> list[Investigated]:
        """Every case investigated, at most `concurrency` at once (a shared semaphore bounds
        several runs together), results in input order.

        Nothing is dropped: an investigation that raises gives a `manual_review` fallback with
        the error. `on_result` sees each result as it arrives (write it there, so a stopped run
        keeps what it finished). With a `supervisor`, a fallback while the model server is dead
        restarts the server once and asks again; a second death raises ModelServerDown.
        `seconds_per_case` (estimated from the server's measured speed) shows an ETA in the bar.
        """
        if isinstance(concurrency, int) and concurrency < 1:
            raise ValueError(f"concurrency must be ≥ 1; got {concurrency}")
        slots = (
            concurrency
            if isinstance(concurrency, asyncio.Semaphore)
            else asyncio.Semaphore(concurrency)
        )
        recovery = _Recovery(supervisor)
        bar = tqdm(total=len(cases), desc="investigate", unit="case", disable=not progress)
        fallbacks = 0
        eta = _Eta(len(cases), seconds_per_case)
        if seconds_per_case is not None:
            bar.set_postfix(eta=eta.remaining(0))

        async def one(case: FlaggedCase) -> Investigated:
            nonlocal fallbacks
            async with slots:
                result = await self._investigate_kept(case)
                if result.verdict.is_fallback and await recovery.server_restarted():
                    result = await self._investigate_kept(case)
            fallbacks += result.verdict.is_fallback
            if on_result is not None:
                on_result(result)
            postfix: dict[str, object] = {"last": result.verdict.action, "fallbacks": fallbacks}
            if seconds_per_case is not None:
                postfix["eta"] = eta.remaining(bar.n + 1)
            bar.set_postfix(postfix, refresh=False)
            bar.update()
            return result

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(case)) for case in cases]
        except ExceptionGroup as failed:
            down = failed.subgroup(ModelServerDown)
            if down is not None:
                raise down.exceptions[0] from None
            raise
        finally:
            bar.close()
        return [task.result() for task in tasks]

    async def _investigate_kept(self, case: FlaggedCase) -> Investigated:
        try:
            verdict, reused = await self._decide(
                case.case_id, case.sequence, case.score, case.links
            )
        except Exception as error:  # a bug must not drop the case; it is recorded
            verdict = failed_verdict(
                case.case_id, case.sequence.user_id, case.score, error, self.context
            )
            return Investigated(case, verdict, f"{type(error).__name__}: {error}")
        return Investigated(case, verdict, reused=reused)

    @asynccontextmanager
    async def _graph(self) -> AsyncIterator[Graph]:
        # A connection per investigation: it belongs to the running event loop, and nothing
        # has to be closed when the investigator is dropped.
        if self._checkpointer is not None:
            yield build_graph(self._checkpointer)
            return
        async with checkpoint_db.connected(self._checkpoint_path) as connection:
            yield build_graph(AsyncSqliteSaver(connection, serde=checkpoint_serializer()))

    def _fingerprint(
        self, sequence: Sequence, score: SequenceScore | None, links: LinkedAccounts | None
    ) -> str:
        identity: dict[str, Any] = {
            "events": [event.to_record() for event in sequence.events],
            "score": [score.score, score.flagged] if score is not None else None,
            "type_guess": score.fraud_type_probs if score is not None else None,
            "model": self.context.chat.name,
            "prompt": self.context.prompt.version,
            "examples": self.context.library.version,
            "detector": self.context.detector_version,
            "policy": self.context.policy.model_dump(mode="json"),
        }
        if links and self.context.prompt.linked_accounts:  # else the prompt does not see them
            identity["links"] = [links.shared, links.coupon_accounts, links.their_coupons]
        encoded = json.dumps(identity, sort_keys=True, default=str).encode()
        return hashlib.sha256(encoded).hexdigest()


class _Recovery:
    """Restarts a dead model server at most once per run, one caller at a time."""

    def __init__(self, supervisor: ModelSupervisor | None) -> None:
        self.supervisor = supervisor
        self.restarts_left = 1
        self.lock = asyncio.Lock()

    async def server_restarted(self) -> bool:
        """True when the server was dead and is back (ask again); False when it never died."""
        if self.supervisor is None:
            return False
        async with self.lock:
            if self.supervisor.healthy():
                return not self.restarts_left  # restarted by another case meanwhile
            if not self.restarts_left:
                raise ModelServerDown(
                    "the model server died again after a restart", self.supervisor.log_path
                )
            self.restarts_left -= 1
            await asyncio.to_thread(self.supervisor.restart)
            return True


class _Eta:
    """Time left: from the server's measured speed until two cases are done, then from the
    run's own pace (wall time per finished case, which already counts the cases at once)."""

    def __init__(self, total: int, seconds_per_case: float | None) -> None:
        self.total = total
        self.seconds_per_case = seconds_per_case
        self.started = time.perf_counter()

    def remaining(self, done: int) -> str:
        per_case = self.seconds_per_case or 0.0
        if done >= 2:
            per_case = (time.perf_counter() - self.started) / done
        return f"{(self.total - done) * per_case / 60:.0f} min"


def _thread(case_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": case_id}}


def _pending_verdict(value: Any) -> Verdict:
    return Verdict.model_validate(value["verdict"])


def _verdict(result: dict[str, Any]) -> Verdict:
    interrupts = result.get("__interrupt__")
    if interrupts:
        return _pending_verdict(interrupts[0].value)
    verdict = result["verdict"]
    return verdict if isinstance(verdict, Verdict) else Verdict.model_validate(verdict)
