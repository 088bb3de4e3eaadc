"""The bare sleeper under the benchmarks' floors (`bench pm`, `bench timers --floor`): a
workflow asleep on a durable timer until its moment, then one local no-op step that notes
how late it ran, and done. No database, no lifecycle, no message: what this machine's
Temporal alone gives."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker


@dataclass
class SleeperInput:
    due: float  # seconds since the epoch
    kind: str = ""  # what the sleeper stands for, in the floor's report
    kinds: list[str] = field(default_factory=list)  # or several things due at one moment


@dataclass
class Woken:
    kind: str
    late: float  # seconds after the due moment the step ran


WOKEN: list[Woken] = []  # filled by the step, in this process


@activity.defn(name="bench_sleeper_step")
async def sleeper_step(data: SleeperInput) -> None:
    late = time.time() - data.due
    WOKEN.extend(Woken(kind, late) for kind in data.kinds or [data.kind])


@workflow.defn(name="BenchSleeperWorkflow")
class SleeperWorkflow:
    @workflow.run
    async def run(self, data: SleeperInput) -> None:
        await workflow.sleep(max(0.0, data.due - workflow.now().timestamp()))
        await workflow.execute_local_activity(
            sleeper_step, data, start_to_close_timeout=timedelta(seconds=30)
        )


def sleeper_worker(client: Client, queue: str, cached: int) -> Worker:
    """The worker of one floor run, on a queue of its own (no sandbox: the workers of the
    system run without it)."""
    return Worker(
        client,
        task_queue=queue,
        workflows=[SleeperWorkflow],
        activities=[sleeper_step],
        workflow_runner=UnsandboxedWorkflowRunner(),
        max_cached_workflows=cached,
    )
