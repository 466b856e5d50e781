"""Alert enrichment: one verdict per alert id (idempotent), batches as jobs, retries of
fallback verdicts; investigations run in the background and survive a client hanging up."""

from __future__ import annotations

import asyncio
import logging
import uuid

from agent.api.errors import ApiError
from agent.api.metrics import ApiMetrics
from agent.api.protocol import AlertRequest, AlertResponse, JobResponse
from agent.api.screening import ScreeningService
from agent.api.sequences_in import one_user_sequence, parse_records
from agent.api.store import Store
from agent.case_chat.tools import load_case_sequence
from agent.investigator import Investigated, Investigator, cases_in_batch
from agent.settings import Settings
from agent.verdict import Verdict
from detectors.events import parse_event
from detectors.sequences import Sequence

logger = logging.getLogger(__name__)
SYSTEM_ACTOR = "system"


class AlertService:
    """Everything /v1/alerts and /v1/jobs do."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        screening: ScreeningService,
        investigator: Investigator,
        metrics: ApiMetrics,
    ) -> None:
        self.settings = settings
        self.store = store
        self.screening = screening
        self.investigator = investigator
        self.metrics = metrics
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._investigation_slots = asyncio.Semaphore(max(1, settings.concurrency))
        """Bounds concurrent model calls, for single alerts and batches alike."""

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
            if self._persisted(request.alert_id, sequence, actor):
                self._start_all([(request.alert_id, sequence)])
        await self._wait_for(request.alert_id)
        return self.alert_status(request.alert_id)

    def _persisted(self, alert_id: str, sequence: Sequence, actor: str) -> bool:
        """Store the alert and its events; False when another request stored it first."""
        records = [event.to_record() for event in sequence.events]
        _, created = self.store.create_alert(alert_id, sequence.user_id, records, actor)
        return created

    def _start_all(self, alerts: list[tuple[str, Sequence]]) -> None:
        """One background investigation of these alerts (a batch shares one task)."""
        todo = [
            (alert_id, sequence) for alert_id, sequence in alerts if alert_id not in self._inflight
        ]
        if not todo:
            return
        task = asyncio.create_task(self._investigate_alerts(todo))
        for alert_id, _ in todo:
            self._inflight[alert_id] = task
        task.add_done_callback(lambda _: self._forget([alert_id for alert_id, _ in todo]))

    def _forget(self, alert_ids: list[str]) -> None:
        for alert_id in alert_ids:
            self._inflight.pop(alert_id, None)

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

    async def _investigate_alerts(self, alerts: list[tuple[str, Sequence]]) -> None:
        waiting = len(alerts)
        self.metrics.queue_depth.inc(waiting)
        try:
            sequences = [sequence for _, sequence in alerts]
            scores = await self.screening.score(sequences)
            alert_of = {self._investigation_id(alert_id): alert_id for alert_id, _ in alerts}
            cases = cases_in_batch(list(alert_of), sequences, scores)

            def save(result: Investigated) -> None:
                nonlocal waiting
                waiting -= 1
                self.metrics.queue_depth.dec()
                self._save_verdict(alert_of[result.case.case_id], result.verdict)

            await self.investigator.investigate_many(
                cases, self._investigation_slots, on_result=save, progress=False
            )
        finally:
            self.metrics.queue_depth.dec(waiting)

    def _save_verdict(self, alert_id: str, verdict: Verdict) -> None:
        verdict = verdict.model_copy(update={"case_id": alert_id})
        self.metrics.llm_latency.labels("verdict").observe(verdict.latency_s)
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
        self._start_all([pair for pair in todo if self._persisted(*pair, actor)])
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

    def requeue_interrupted(self) -> None:
        """Alerts left pending by a stopped server become retries."""
        for row in self.store.alerts_pending():
            self.store.mark_retry(row.alert_id, "interrupted by a server stop")

    async def retry_fallbacks(self) -> int:
        """Ask the model again for alerts whose verdict is a fallback; return how many."""
        rows = self.store.alerts_to_retry(1 + self.settings.api_max_retries)
        self._start_all([(row.alert_id, self._stored_sequence(row.case_id)) for row in rows])
        for row in rows:
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
        """Cancel the investigations in flight; their alerts are retried after the next start."""
        tasks = set(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
