"""The floor under `plantops bench pm`: as many bare workflows as schedules, each asleep on a
durable timer until the same minute, then one local no-op step and done. No database, no
work order, no lifecycle: what this machine's Temporal alone takes to wake them all."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

STARTS_AT_ONCE = 200


@dataclass
class SleeperInput:
    due: float  # seconds since the epoch


@activity.defn(name="bench_pm_floor_step")
async def floor_step(n: int) -> int:
    return n


@workflow.defn(name="BenchPmFloorWorkflow")
class SleeperWorkflow:
    @workflow.run
    async def run(self, data: SleeperInput) -> int:
        await workflow.sleep(max(0.0, data.due - workflow.now().timestamp()))
        return await workflow.execute_local_activity(
            floor_step, 1, start_to_close_timeout=timedelta(seconds=30)
        )


async def floor(
    client: Client, count: int, queue: str, cached: int, due: datetime | None = None
) -> float:
    """Start `count` sleepers due at one minute (by default the first whole minute after
    their starts) and print, and return, how long after it the last one completed."""
    queue = f"{queue}-floor-{uuid.uuid4().hex[:6]}"
    if due is None:
        lead = 30 + count * 0.01
        due = (datetime.now(UTC) + timedelta(seconds=lead + 60)).replace(second=0, microsecond=0)
    gate = asyncio.Semaphore(STARTS_AT_ONCE)
    handles = []

    async def start(i: int) -> None:
        async with gate:
            handles.append(
                await client.start_workflow(
                    SleeperWorkflow.run,
                    SleeperInput(due.timestamp()),
                    id=f"{queue}-{i}",
                    task_queue=queue,
                )
            )

    worker = Worker(
        client,
        task_queue=queue,
        workflows=[SleeperWorkflow],
        activities=[floor_step],
        max_cached_workflows=cached,
    )
    async with worker:
        t0 = time.monotonic()
        await asyncio.gather(*(start(i) for i in range(count)))
        print(f"  Temporal alone: {count} bare workflows started in {time.monotonic() - t0:.1f} s")
        await asyncio.gather(*(h.result() for h in handles))
        since = (datetime.now(UTC) - due).total_seconds()
        print(f"  Temporal alone: every one woken and done {since:.1f} s after the due minute")
        return since
