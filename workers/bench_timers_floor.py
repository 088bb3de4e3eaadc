"""The floor under `plantops bench timers`: the same burst asked of Temporal alone. For each
of N anomalies, registered at R per second, one bare sleeper (its registration's watches,
the voice call and the escalation, due together) `after` seconds past its start: how late
this machine's Temporal, doing nothing else, wakes them."""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from temporalio.client import Client

from workers.bench_sleepers import WOKEN, SleeperInput, SleeperWorkflow, Woken, sleeper_worker

WATCHES = ("voice call", "escalation")


async def burst(client: Client, count: int, after: int, rate: float) -> list[Woken]:
    """One sleeper per anomaly standing for both its watches, started at `rate` anomalies per
    second, each due `after` seconds after its start; what each woke to, once the last is
    due and a grace passed."""
    WOKEN.clear()
    queue = f"bench-timers-floor-{uuid.uuid4().hex[:6]}"
    starts: list[asyncio.Task[object]] = []
    async with sleeper_worker(client, queue, count + 100):
        t0 = time.monotonic()
        for i in range(count):
            await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
            starts.append(
                asyncio.create_task(
                    client.start_workflow(
                        SleeperWorkflow.run,
                        SleeperInput(time.time() + after, kinds=list(WATCHES)),
                        id=f"{queue}-{i}",
                        task_queue=queue,
                    )
                )
            )
        await asyncio.gather(*starts)
        took = time.monotonic() - t0
        print(f"  started {count} bare watch workflows in {took:.1f} s", flush=True)
        last = time.time() + after
        while len(WOKEN) < len(WATCHES) * count and time.time() < last + 120:
            await asyncio.sleep(1)
    return list(WOKEN)


def run_floor(count: int, after: int, rate: float) -> list[Woken]:
    """A Temporal dev server of its own (the settings the system's uses), the burst, then
    the server stopped."""
    from workers.embedded import TemporalDevServer, free_port

    with tempfile.TemporaryDirectory(prefix="bench-timers-floor-") as folder:
        server = TemporalDevServer(Path(folder) / "temporal.db", free_port(), None)
        address = server.start()
        try:
            return asyncio.run(_connected(address, count, after, rate))
        finally:
            server.stop()


async def _connected(address: str, count: int, after: int, rate: float) -> list[Woken]:
    client = await Client.connect(address)
    return await burst(client, count, after, rate)


def report_floor(count: int, after: int, rate: float) -> str:
    """The floor run and its lateness table, as `plantops bench timers` prints the system's."""
    from workers.bench_timers import ON_TIME, Lateness

    woken = run_floor(count, after, rate)
    rows = [
        f"Temporal alone: {count} anomalies' bare watches at {rate:g}/s, due {after} s after "
        "their start",
        "lateness after the due moment, seconds",
        f"  {'watch':<11}{'woken':>8}{'p50':>9}{'p95':>9}{'max':>9}{'missing':>9}"
        f"{'<= ' + format(ON_TIME, 'g') + ' s':>10}",
    ]
    for kind in WATCHES:
        rows.append(Lateness(kind, count, [w.late for w in woken if w.kind == kind]).line())
    return "\n".join(rows)
