"""A worker for the kill tests: the real worker (every workflow and activity) plus an
activity interceptor that SIGKILLs its own process once the N-th activity of one workflow
type has done its work, before Temporal hears of it. Set PLANTOPS_TEST_KILL_AFTER to
"<WorkflowType>:<N>"; without it this is a plain worker.

Run as `python -m tests.workers.boundary_worker` with the worker's usual environment."""

import asyncio
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    Worker,
)

from domain.db import make_engine, make_sessionmaker
from domain.settings import get_settings
from workers import registry


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
    interceptors = []
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
        )
        print("polling", flush=True)
        await worker.run()


if __name__ == "__main__":
    asyncio.run(main())
