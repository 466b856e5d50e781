"""The API's logic, built once at start-up: screening, alert verdicts (idempotent), jobs, cases."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol

import httpx

from agent.api.chat_service import CaseChat
from agent.api.errors import ApiError
from agent.api.metrics import ApiMetrics
from agent.api.protocol import (
    AlertRequest,
    AlertResponse,
    AuditEntry,
    CaseMessage,
    CaseResponse,
    FeedbackRequest,
    FeedbackResponse,
    JobResponse,
    ReadyResponse,
    ScreenRequest,
    ScreenResponse,
    SequenceResult,
    SurprisingEvent,
)
from agent.api.sequences_in import check_sequence_limit, one_user_sequence, parse_records
from agent.api.store import Store
from agent.case_chat.tools import load_case_sequence
from agent.settings import Settings
from agent.verdict import Verdict
from detectors.events import format_ts, parse_event
from detectors.scores import SequenceScore
from detectors.sequences import Sequence, group_sequences

logger = logging.getLogger(__name__)
SYSTEM_ACTOR = "system"
READY_TIMEOUT_S = 3.0


class Screens(Protocol):
    """The detector as the API uses it."""

    version: str

    def explain(self, sequences: list[Sequence]) -> list[SequenceScore]: ...


class Investigates(Protocol):
    """The agent as the API uses it: one verdict for one flagged sequence, never raising for
    model failures (those give a fallback verdict with `fallback_reason`)."""

    async def investigate(
        self, case_id: str, sequence: Sequence, score: SequenceScore | None = None
    ) -> Verdict: ...


async def score_off_loop(detector: Screens, sequences: list[Sequence]) -> list[SequenceScore]:
    # Torch work runs in a worker thread so other requests keep flowing.
    return await asyncio.to_thread(detector.explain, sequences)


class ApiService:
    """Everything the routes need; routers stay HTTP-only."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        detector: Screens,
        investigator: Investigates,
        chat: CaseChat,
        metrics: ApiMetrics,
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.detector = detector
        self.investigator = investigator
        self.chat = chat
        self.metrics = metrics
        self._on_close = on_close
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._investigation_slots = asyncio.Semaphore(max(1, settings.concurrency))
        """Bounds concurrent model calls, for single alerts and batches alike."""

    # --- screening ---

    async def score(self, sequences: list[Sequence]) -> list[SequenceScore]:
        return await score_off_loop(self.detector, sequences)

    async def screen(self, request: ScreenRequest) -> ScreenResponse:
        sequences = group_sequences(parse_records(request.events, "events"))
        check_sequence_limit(sequences, self.settings.api_max_events_per_sequence)
        scores = await self.score(sequences)
        results = []
        for sequence, score in zip(sequences, scores, strict=True):
            top = [
                SurprisingEvent(
                    event_id=f"e{surprise.index}",
                    action=sequence.events[surprise.index].action,
                    ts=format_ts(sequence.events[surprise.index].ts),
                    token=surprise.token,
                    nll=surprise.nll,
                    rank=surprise.rank,
                )
                for surprise in score.top_events(request.top_k)
            ]
            results.append(
                SequenceResult(
                    user_id=sequence.user_id,
                    events=len(sequence),
                    score=score.score,
                    flagged=score.flagged,
                    top_events=top,
                )
            )
        return ScreenResponse(detector_version=self.detector.version, results=results)

    # --- readiness ---

    async def readiness(self) -> ReadyResponse:
        """Ready when the detector is fitted and the model server lists its models."""
        if self.detector.version.endswith("unfitted"):
            raise ApiError(503, "not_ready", "detector is not fitted")
        base_url = self.settings.llm_base_url
        if base_url is None:
            raise ApiError(503, "not_ready", "no model server configured (settings.llm_base_url)")
        try:
            async with httpx.AsyncClient(timeout=READY_TIMEOUT_S) as client:
                response = await client.get(base_url.rstrip("/") + "/models")
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise ApiError(
                503, "not_ready", f"model server at {base_url} unreachable: {type(error).__name__}"
            ) from None
        return ReadyResponse(
            status="ready", detector_version=self.detector.version, model_server=base_url
        )

    # --- alerts ---

    def _alert_sequence(self, request: AlertRequest, where: str) -> Sequence:
        limit = self.settings.api_max_events_per_sequence
        if request.events:
            events = parse_records(request.events, f"{where}events")
            sequence = one_user_sequence(events, f"{where}events", limit)
            if request.user_id is not None and request.user_id != sequence.user_id:
                raise ApiError(
                    422,
                    "invalid_request",
                    f"{where}user_id {request.user_id!r} differs from the events' user_id "
                    f"{sequence.user_id!r}",
                )
            return sequence
        if request.user_id is None:
            raise ApiError(422, "invalid_request", f"{where}alert needs `events` or `user_id`")
        stored = self.store.latest_events_of_user(request.user_id)
        if stored is None:
            raise ApiError(
                404,
                "not_found",
                f"{where}user {request.user_id!r} has no stored events; send `events` instead",
            )
        events = [parse_event(record) for record in stored]
        return one_user_sequence(events, f"{where}user_id", limit)

    async def submit_alert(self, request: AlertRequest, actor: str) -> AlertResponse:
        """The alert's verdict; a repeated alert_id returns the stored one, never a second."""
        if self.store.get_alert(request.alert_id) is None:
            sequence = self._alert_sequence(request, "")
            self._persist_and_start(request.alert_id, sequence, actor)
        await self._wait_for(request.alert_id)
        return self.alert_status(request.alert_id)

    def _persist_and_start(self, alert_id: str, sequence: Sequence, actor: str) -> None:
        records = [event.to_record() for event in sequence.events]
        _, created = self.store.create_alert(alert_id, sequence.user_id, records, actor)
        if created:
            self._start(alert_id, sequence)

    def _start(self, alert_id: str, sequence: Sequence) -> None:
        if alert_id in self._inflight:
            return
        task = asyncio.create_task(self._investigate_alert(alert_id, sequence))
        self._inflight[alert_id] = task
        task.add_done_callback(lambda _: self._inflight.pop(alert_id, None))

    async def _wait_for(self, alert_id: str) -> None:
        task = self._inflight.get(alert_id)
        if task is not None:
            # shield: a client that hangs up does not cancel the investigation.
            await asyncio.shield(task)

    def _stored_sequence(self, case_id: str) -> Sequence:
        sequence = load_case_sequence(self.store, case_id)
        if sequence is None:
            raise ApiError(404, "not_found", f"no case {case_id!r}")
        return sequence

    async def _investigate_alert(self, alert_id: str, sequence: Sequence) -> None:
        self.metrics.queue_depth.inc()
        try:
            async with self._investigation_slots:
                [score] = await self.score([sequence])
                with self.metrics.llm_latency.labels("verdict").time():
                    verdict = await self.investigator.investigate(
                        self._investigation_id(alert_id), sequence, score
                    )
        finally:
            self.metrics.queue_depth.dec()
        verdict = verdict.model_copy(update={"case_id": alert_id})
        if verdict.is_fallback:
            self.metrics.fallbacks.inc()
        self.metrics.verdicts.labels(verdict.fraud_type, verdict.action).inc()
        # Retry only when the model gave no answer at all (down, timed out); an answer that
        # failed validation would fail the same way again.
        no_answer = verdict.is_fallback and verdict.completion_tokens == 0
        retry_reason = verdict.fallback_reason if no_answer else None
        self.store.save_verdict(
            alert_id, verdict.model_dump(mode="json"), retry_reason, SYSTEM_ACTOR
        )

    def _investigation_id(self, alert_id: str) -> str:
        # The agent keeps one verdict per investigation id; a retry after a fallback needs a
        # fresh one, or it would be handed the stored fallback again.
        row = self.store.get_alert(alert_id)
        attempts = row.attempts if row is not None else 0
        return alert_id if attempts == 0 else f"{alert_id}:retry-{attempts}"

    def alert_status(self, alert_id: str) -> AlertResponse:
        row = self.store.get_alert(alert_id)
        if row is None:
            raise ApiError(404, "not_found", f"no alert {alert_id!r}")
        stored = self.store.get_verdict(row.case_id)
        return AlertResponse(
            alert_id=row.alert_id,
            case_id=row.case_id,
            status=row.status,  # type: ignore[arg-type]
            reason=row.reason,
            verdict=Verdict.model_validate(stored) if stored is not None else None,
        )

    # --- batches ---

    async def start_batch(self, requests: list[AlertRequest], actor: str) -> JobResponse:
        limit = self.settings.api_max_alerts_per_batch
        if len(requests) > limit:
            raise ApiError(
                422,
                "limit_exceeded",
                f"batch has {len(requests)} alerts; the limit is {limit} alerts per batch",
            )
        # Validate everything first, so a bad alert refuses the batch before any work starts.
        todo = [
            (request.alert_id, self._alert_sequence(request, f"alerts[{index}]."))
            for index, request in enumerate(requests)
            if self.store.get_alert(request.alert_id) is None
        ]
        job_id = uuid.uuid4().hex
        self.store.create_job(job_id, [request.alert_id for request in requests], actor)
        for alert_id, sequence in todo:
            self._persist_and_start(alert_id, sequence, actor)
        return self.job_status(job_id)

    def job_status(self, job_id: str) -> JobResponse:
        job = self.store.get_job(job_id)
        if job is None:
            raise ApiError(404, "not_found", f"no job {job_id!r}")
        alert_ids, _ = job
        results = [self.alert_status(alert_id) for alert_id in alert_ids]
        finished = sum(result.status != "pending" for result in results)
        return JobResponse(
            job_id=job_id,
            status="done" if finished == len(results) else "running",
            total=len(results),
            finished=finished,
            results=results,
        )

    # --- retries of fallback verdicts ---

    def requeue_interrupted(self) -> None:
        """Alerts left pending by a stopped server become retries."""
        for row in self.store.alerts_pending():
            self.store.mark_retry(row.alert_id, "interrupted by a server stop")

    async def retry_fallbacks(self) -> int:
        """Ask the model again for alerts whose verdict is a fallback; return how many."""
        rows = self.store.alerts_to_retry(1 + self.settings.api_max_retries)
        for row in rows:
            if row.alert_id not in self._inflight:
                self._start(row.alert_id, self._stored_sequence(row.case_id))
                await self._wait_for(row.alert_id)
        return len(rows)

    async def retry_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.api_retry_interval_s)
            try:
                await self.retry_fallbacks()
            except Exception:
                logger.exception("retrying fallback verdicts failed")

    async def close(self) -> None:
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.chat.close()
        if self._on_close is not None:
            await self._on_close()
        self.store.close()

    # --- cases ---

    async def case_view(self, case_id: str) -> CaseResponse:
        case = self.store.get_case(case_id)
        alert = self.store.get_alert(case_id)
        if case is None or alert is None:
            raise ApiError(404, "not_found", f"no case {case_id!r}")
        stored = self.store.get_verdict(case_id)
        return CaseResponse(
            case_id=case_id,
            user_id=case.user_id,
            status=alert.status,  # type: ignore[arg-type]
            events=case.events,
            verdict=Verdict.model_validate(stored) if stored is not None else None,
            messages=[CaseMessage.model_validate(m) for m in self.store.messages_of(case_id)],
            feedback=[
                FeedbackResponse(case_id=case_id, **entry)
                for entry in self.store.feedback_of(case_id)
            ],
            audit=[AuditEntry.model_validate(entry) for entry in self.store.audit_of(case_id)],
            thread_turns=len(await self.chat.thread_history(case_id)),
        )

    def add_feedback(self, case_id: str, request: FeedbackRequest, actor: str) -> FeedbackResponse:
        if self.store.get_case(case_id) is None:
            raise ApiError(404, "not_found", f"no case {case_id!r}")
        created_at = self.store.add_feedback(
            case_id, request.fraud_type, request.action, request.note, actor
        )
        return FeedbackResponse(
            case_id=case_id,
            fraud_type=request.fraud_type,
            action=request.action,
            note=request.note,
            actor=actor,
            created_at=created_at,
        )
