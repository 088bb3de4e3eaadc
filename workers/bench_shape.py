"""NoopAnomalyWorkflow: the shape of AnomalyWorkflow (activities, updates, lock, the wait for
closure) with activities that do nothing, so `plantops bench` can tell Temporal's share of a
lifecycle's cost from the API's and the database's."""

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.rules.anomaly_lifecycle import AnomalyStatus as S
    from workers.bench_noop import (
        noop_assess,
        noop_kpis,
        noop_notify,
        noop_pick,
        noop_record,
    )

# The real workflow's options, so retries and timeouts cost the same.
WRITE = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=30)),
}
NOTIFY = {
    "start_to_close_timeout": timedelta(minutes=2),
    "retry_policy": RetryPolicy(maximum_attempts=8, maximum_interval=timedelta(minutes=2)),
}


@dataclass
class NoopInput:
    reference: str


@dataclass
class NoopRequest:
    actor: str
    payload: dict[str, Any] = field(default_factory=dict)


@workflow.defn
class NoopAnomalyWorkflow:
    @workflow.init
    def __init__(self, data: NoopInput) -> None:
        self._in = data
        self._lock = asyncio.Lock()
        self._step = 0
        self._status = S.REGISTERED

    @workflow.run
    async def run(self, data: NoopInput) -> str:
        await self._call(noop_assess, "ASSESSED", "plantops", WRITE)
        await self._call(noop_record, "ALERTED", "plantops", WRITE)
        await self._call(noop_notify, "ALERT", "plantops", NOTIFY)
        async with self._lock:
            await self._call(noop_pick, "PICK", "plantops", WRITE)
            self._status = S.ASSIGNED
        await workflow.wait_condition(lambda: self._status is S.CLOSED)
        # As in the real one: the closing update is still writing when the status flips.
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._call(noop_kpis, "KPIS", "plantops", WRITE)
        return self._status.value

    # -- updates: each writes and notifies, as the real ones do --

    @workflow.update
    async def accept(self, req: NoopRequest) -> str:
        # The bench sends accept right after start, where the API's caller polls for
        # ASSIGNED first; waiting here keeps polling out of the measure.
        await workflow.wait_condition(lambda: self._status is not S.REGISTERED)
        return await self._act(req, "ACCEPTED", {S.ASSIGNED}, S.IN_PROGRESS)

    @accept.validator
    def _check_accept(self, req: NoopRequest) -> None:
        self._require({S.REGISTERED, S.ASSIGNED})

    @workflow.update
    async def progress(self, req: NoopRequest) -> str:
        return await self._act(req, "PROGRESS", {S.IN_PROGRESS}, None)

    @progress.validator
    def _check_progress(self, req: NoopRequest) -> None:
        self._require({S.IN_PROGRESS})

    @workflow.update
    async def attachment(self, req: NoopRequest) -> str:
        return await self._act(req, "ATTACHMENT_ADDED", {S.IN_PROGRESS}, None)

    @attachment.validator
    def _check_attachment(self, req: NoopRequest) -> None:
        self._require({S.IN_PROGRESS})

    @workflow.update
    async def resolve(self, req: NoopRequest) -> str:
        return await self._act(req, "RESOLVED", {S.IN_PROGRESS}, S.RESOLVED)

    @resolve.validator
    def _check_resolve(self, req: NoopRequest) -> None:
        self._require({S.IN_PROGRESS})

    @workflow.update
    async def review(self, req: NoopRequest) -> str:
        return await self._act(req, "REVIEW_APPROVED", {S.RESOLVED}, S.REX)

    @review.validator
    def _check_review(self, req: NoopRequest) -> None:
        self._require({S.RESOLVED})

    @workflow.update
    async def submit_rex(self, req: NoopRequest) -> str:
        return await self._act(req, "REX_SUBMITTED", {S.REX}, S.REX_REVIEW)

    @submit_rex.validator
    def _check_rex(self, req: NoopRequest) -> None:
        self._require({S.REX})

    @workflow.update
    async def review_rex(self, req: NoopRequest) -> str:
        return await self._act(req, "CLOSED", {S.REX_REVIEW}, S.CLOSED)

    @review_rex.validator
    def _check_rex_review(self, req: NoopRequest) -> None:
        self._require({S.REX_REVIEW})

    @workflow.query
    def status(self) -> str:
        return self._status.value

    # -- helpers --

    async def _act(self, req: NoopRequest, action: str, allowed: set[S], to: S | None) -> str:
        async with self._lock:
            # Re-checked under the lock: an earlier update may have moved the status.
            self._require(allowed)
            if to is not None:
                self._status = to
            await self._call(noop_record, action, req.actor, WRITE, req.payload)
            await self._call(noop_notify, action, req.actor, NOTIFY)
            return self._status.value

    def _require(self, allowed: set[S]) -> None:
        if self._status not in allowed:
            raise ApplicationError(
                f"not allowed while {self._status.value}", type="Conflict", non_retryable=True
            )

    async def _call(
        self,
        fn: Any,
        action: str,
        actor: str,
        options: dict[str, Any],
        payload: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        self._step += 1
        data = {
            "reference": self._in.reference,
            "step": self._step,
            "action": action,
            "actor": actor,
            "status": self._status.value,
            "payload": payload or {},
        }
        return await workflow.execute_activity(fn, data, **options)
