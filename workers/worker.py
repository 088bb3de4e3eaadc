"""The worker: registers every workflow and activity and drains on SIGTERM."""

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from workers import registry

log = logging.getLogger("plantops.worker")
# Every PM schedule's workflow stays cached while it sleeps: at a due minute shared by
# thousands, each wakes without fetching and replaying its history (the default keeps 1,000).
CACHED_WORKFLOWS = 20_000


def build_worker(
    client: Client,
    sessions: sessionmaker[Session],
    task_queue: str,
    executor: ThreadPoolExecutor,
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=registry.WORKFLOWS,
        activities=registry.activities(sessions, client=client),
        activity_executor=executor,
        max_concurrent_activities=32,
        max_cached_workflows=CACHED_WORKFLOWS,
        graceful_shutdown_timeout=timedelta(seconds=20),
    )


async def run_worker(client: Client, sessions: sessionmaker[Session], task_queue: str) -> None:
    """Run until SIGTERM or SIGINT, then let running activities finish before leaving."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=32) as executor:
        worker = build_worker(client, sessions, task_queue, executor)
        async with worker:
            from domain.settings import get_settings
            from workers.resume import start_missing_lifecycles, start_missing_work_orders
            from workers.schedules import ensure_schedules

            settings = get_settings()
            created = await ensure_schedules(client, settings)
            if created:
                log.info("created schedules %s", ", ".join(created))
            await start_missing_lifecycles(client, sessions, settings)
            await start_missing_work_orders(client, sessions, settings)
            from workers.pm_start import start_missing_pm_schedules

            await start_missing_pm_schedules(client, sessions, settings)
            log.info("worker polling task queue %s", task_queue)
            await stop.wait()
            log.info("worker shutting down")
