"""The worker: registers every workflow and activity and drains on SIGTERM.

Two task queues: the lifecycle queue runs every lifecycle; the alert queue beside it
(`<queue>-alerts`) runs only the safety watches (the H1 voice call, the escalation when nobody
accepts in time). `plantops up` serves each from its own process, so a burst of routine work
holds neither the watches' timers nor their CPU; a lone `plantops worker` serves both."""

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.channels import Channels
from domain.settings import Settings, get_settings
from workers import registry
from workflows.alert_watch import alert_queue

log = logging.getLogger("plantops.worker")
# Every PM schedule's workflow stays cached while it sleeps: at a due minute shared by
# thousands, each wakes without fetching and replaying its history (the default keeps 1,000).
CACHED_WORKFLOWS = 20_000

# The project's own modules are deterministic (the replay tests hold them to it) and are
# imported once per process instead of once per workflow run; the sandbox's checks on
# calls (clock, randomness, I/O) still apply inside every run.
RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "workflows", "domain", "activities"
    )
)


def runner(settings: Settings) -> WorkflowRunner:
    """How the worker processes run workflows. The sandbox checks every call of every
    activation at run time, which costs about a fifth of a lifecycle worker's CPU; the test
    suite runs every workflow in it and replays recorded histories, so the processes run
    them without it unless PLANTOPS_WORKFLOW_SANDBOX asks for it."""
    return RUNNER if settings.workflow_sandbox else UnsandboxedWorkflowRunner()


SERVES = ("all", "lifecycles", "alerts")
ALERT_SLOTS = 16
# Threads behind asyncio.to_thread: the activities' database calls (the notifier's sends
# have their own pool). The default pool (cores + 4) would queue a burst of due alerts
# behind a few slow waits.
BLOCKING_THREADS = 32
# Every open watch stays in memory, so a timer that fires needs no replay first.
ALERT_CACHE = 20_000


def build_worker(
    client: Client,
    sessions: sessionmaker[Session],
    task_queue: str,
    executor: ThreadPoolExecutor,
    workflow_runner: WorkflowRunner = RUNNER,
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=registry.WORKFLOWS,
        activities=registry.activities(sessions, client=client),
        activity_executor=executor,
        workflow_runner=workflow_runner,
        max_concurrent_activities=32,
        max_cached_workflows=CACHED_WORKFLOWS,
        graceful_shutdown_timeout=timedelta(seconds=20),
    )


def build_alert_worker(
    client: Client,
    sessions: sessionmaker[Session],
    task_queue: str,
    executor: ThreadPoolExecutor,
    settings: Settings | None = None,
    channels: Channels | None = None,
    workflow_runner: WorkflowRunner = RUNNER,
    **options: Any,
) -> Worker:
    """The alert queue's worker beside the lifecycle queue `task_queue`."""
    return Worker(
        client,
        task_queue=alert_queue(task_queue),
        workflows=registry.ALERT_WORKFLOWS,
        activities=registry.alert_activities(sessions, settings, channels),
        activity_executor=executor,
        workflow_runner=workflow_runner,
        max_concurrent_activities=ALERT_SLOTS,
        max_cached_workflows=ALERT_CACHE,
        graceful_shutdown_timeout=timedelta(seconds=20),
        **options,
    )


async def run_worker(
    client: Client, sessions: sessionmaker[Session], task_queue: str, serves: str = "all"
) -> None:
    """Run until SIGTERM or SIGINT, then let running activities finish before leaving."""
    if serves not in SERVES:
        raise ValueError(f"serves must be one of {', '.join(SERVES)}")
    settings = get_settings()
    how = runner(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with AsyncExitStack() as stack:
        blocking = stack.enter_context(
            ThreadPoolExecutor(max_workers=BLOCKING_THREADS, thread_name_prefix="blocking")
        )
        loop.set_default_executor(blocking)
        queues = []
        if serves in ("all", "alerts"):
            alerting = stack.enter_context(
                ThreadPoolExecutor(max_workers=ALERT_SLOTS, thread_name_prefix="alert")
            )
            alerts = build_alert_worker(client, sessions, task_queue, alerting, workflow_runner=how)
            await stack.enter_async_context(alerts)
            queues.append(alerts.task_queue)
        if serves in ("all", "lifecycles"):
            executor = stack.enter_context(ThreadPoolExecutor(max_workers=32))
            worker = build_worker(client, sessions, task_queue, executor, how)
            await stack.enter_async_context(worker)
            queues.insert(0, task_queue)
            from workers.resume import start_missing_lifecycles, start_missing_work_orders
            from workers.schedules import ensure_schedules, ensure_shift_report_schedules

            created = await ensure_schedules(client, settings)
            created += await ensure_shift_report_schedules(client, settings, sessions)
            if created:
                log.info("created schedules %s", ", ".join(created))
            await start_missing_lifecycles(client, sessions, settings)
            await start_missing_work_orders(client, sessions, settings)
            from workers.pm_start import start_missing_pm_schedules

            await start_missing_pm_schedules(client, sessions, settings)
            from workflows.oee_alert import resume_watches

            await resume_watches(client, sessions, settings.task_queue)
            from workflows.maximo_schedule import ensure_maximo_schedules

            made = await ensure_maximo_schedules(client, sessions, settings.task_queue)
            if made:
                log.info("created schedules %s", ", ".join(made))
        log.info("worker polling task queue %s", " and ".join(queues))
        await stop.wait()
        log.info("worker shutting down")
