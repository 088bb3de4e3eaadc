"""A worker for the kill tests: the real worker (every workflow and activity) plus an
activity interceptor that SIGKILLs its own process once the N-th activity of one workflow
type has done its work, before Temporal hears of it. Set PLANTOPS_TEST_KILL_AFTER to
"<WorkflowType>:<N>"; without it this is a plain worker. With PLANTOPS_TEST_START_ON_GO
set it gets ready (imports, connection, workflows checked) and polls only once a line
arrives on its standard input.

A killed worker's activity is noticed by its heartbeat timeout, not its start-to-close
timeout: this worker gives every activity a short heartbeat timeout and heartbeats for it
while it runs, so a live step is never cut short and a dead one is retried in seconds.

Run as `python -m tests.workers.boundary_worker` with the worker's usual environment."""

import asyncio
import os
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import (
    ActivityInboundInterceptor,
    ActivityOutboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    StartActivityInput,
    Worker,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from domain.db import make_engine, make_sessionmaker
from domain.settings import get_settings
from workers import registry

HEARTBEAT_TIMEOUT = timedelta(seconds=3)
HEARTBEAT_EVERY = 0.5


class _ShortHeartbeat(WorkflowOutboundInterceptor):
    def start_activity(self, input: StartActivityInput):
        return super().start_activity(replace(input, heartbeat_timeout=HEARTBEAT_TIMEOUT))


class _Workflows(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_ShortHeartbeat(outbound))


class Heartbeats(Interceptor):
    """Every activity heartbeats while it runs and times out soon after its worker dies.
    Only the timeouts the server applies change: histories' commands stay the same."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _Workflows

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        class Inbound(ActivityInboundInterceptor):
            def init(self, outbound: ActivityOutboundInterceptor) -> None:
                self.outbound = outbound  # heartbeats from here, beside the activity
                super().init(outbound)

            async def execute_activity(self, input: ExecuteActivityInput) -> Any:
                if activity.info().is_local:
                    return await super().execute_activity(input)
                beating = asyncio.create_task(_beat(self.outbound))
                try:
                    return await super().execute_activity(input)
                finally:
                    beating.cancel()

        return Inbound(next)


async def _beat(outbound: ActivityOutboundInterceptor) -> None:
    while True:
        outbound.heartbeat()
        await asyncio.sleep(HEARTBEAT_EVERY)


class KillAfter(Interceptor):
    def __init__(self, workflow_type: str, after: int) -> None:
        self.workflow_type, self.after = workflow_type, after
        self.done = 0
        self.lock = threading.Lock()

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        killer = self

        class Inbound(ActivityInboundInterceptor):
            async def execute_activity(self, input: ExecuteActivityInput) -> Any:
                result = await super().execute_activity(input)
                if activity.info().workflow_type == killer.workflow_type:
                    with killer.lock:
                        killer.done += 1
                        if killer.done == killer.after:
                            # Committed, not yet reported: the next worker runs it again.
                            os.kill(os.getpid(), signal.SIGKILL)
                return result

        return Inbound(next)


async def main() -> None:
    settings = get_settings()
    client = await Client.connect(settings.temporal_address)
    engine = make_engine(settings.database_url, pool_size=20, max_overflow=20)
    interceptors: list[Interceptor] = [Heartbeats()]
    if os.environ.get("PLANTOPS_TEST_KILL_AFTER"):
        workflow_type, after = os.environ["PLANTOPS_TEST_KILL_AFTER"].split(":")
        interceptors.append(KillAfter(workflow_type, int(after)))
    with ThreadPoolExecutor(max_workers=32) as executor:
        worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=registry.WORKFLOWS,
            activities=registry.activities(make_sessionmaker(engine), client=client),
            activity_executor=executor,
            interceptors=interceptors,
            # A dead worker's cached workflows go back to the shared queue at once.
            sticky_queue_schedule_to_start_timeout=timedelta(seconds=1),
        )
        if os.environ.get("PLANTOPS_TEST_START_ON_GO"):
            # Started ahead, while the worker before it runs: polls once told to.
            print("ready", flush=True)
            await asyncio.to_thread(sys.stdin.readline)
        print("polling", flush=True)
        await worker.run()


if __name__ == "__main__":
    asyncio.run(main())
