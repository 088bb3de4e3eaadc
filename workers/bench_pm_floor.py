"""The floor under `plantops bench pm`: as many bare sleepers as schedules, all due at the
same minute: what this machine's Temporal alone takes to wake them all."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

from temporalio.client import Client

from workers.bench_sleepers import SleeperInput, SleeperWorkflow, sleeper_worker

STARTS_AT_ONCE = 200


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

    async with sleeper_worker(client, queue, cached):
        t0 = time.monotonic()
        await asyncio.gather(*(start(i) for i in range(count)))
        print(f"  Temporal alone: {count} bare workflows started in {time.monotonic() - t0:.1f} s")
        await asyncio.gather(*(h.result() for h in handles))
        since = (datetime.now(UTC) - due).total_seconds()
        print(f"  Temporal alone: every one woken and done {since:.1f} s after the due minute")
        return since
