"""The worker killed with SIGKILL in the middle of 30 anomaly lifecycles and 10 work orders,
driven through the API: the supervisor of `plantops up` restarts it, every lifecycle closes,
no notification is queued twice and every step has exactly one audit row."""

import asyncio
import logging
import os
import signal
import sys
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import Client

from api.app import create_app
from domain.db import make_engine, make_sessionmaker
from domain.models import Anomaly, AuditLog, Notification, WorkOrder
from domain.settings import Settings
from tests.anomaly_helpers import PNG
from tests.conftest import SECRET
from workers import bench as bench_module
from workers.backoff import Backoff
from workers.bench import ApiBench, RunResult, run_concurrently
from workers.supervisor import ChildProcess, Supervisor

ANOMALIES = 30
WORK_ORDERS = 10
KILL_AFTER_POSTS = 120  # of about 400: lifecycles are in every state by then
TIMEOUT = 120.0  # a call can wait for the restart and for a killed activity's timeout
WO = "/api/v1/maintenance/work-orders"
ASSETS = [
    "SAW-JKS-002",
    "ROUTER-JKS-001",
    "SHEAR-JKS-001",
    "CRANE-JKS-001",
    "FORKLIFT-JKS-001",
    "FORKLIFT-JKS-002",
    "FORKLIFT-JKS-003",
    "BANDER-JKS-001",
    "COMP-JKS-001",
    "CONV-JKS-001",
]
ANOMALY_TRAIL = (
    "REGISTERED",
    "CRITICALITY_ASSESSED",
    "ALERTED",
    "ASSIGNED",
    "ACCEPTED",
    "PROGRESS",
    "ATTACHMENT_ADDED",
    "ATTACHMENT_ADDED",
    "RESOLVED",
    "REVIEW_APPROVED",
    "REX_SUBMITTED",
    "CLOSED",
)
WORK_ORDER_TRAIL = (
    "CREATED",
    "STATUS_SUBMITTED",
    "STATUS_APPROVED",
    "STATUS_SCHEDULED",
    "STATUS_IN_PROGRESS",
    "TASK_COMPLETED",
    "TASK_COMPLETED",
    "LABOR",
    "FILE_ATTACHED",
    "STATUS_COMPLETED",
    "STATUS_VERIFIED",
    "RTS_APPROVED_MAINTENANCE",
    "STATUS_CLOSED",
)
NOTICES_PER_ANOMALY = 11
CHECKLIST = {
    "Work performed as specified": True,
    "All tasks completed": True,
    "Parts properly installed": True,
    "Guards/covers reinstalled": True,
    "LOTO removed by authorized person": True,
    "Test run performed": True,
    "Test run passed": True,
    "No abnormal noise/vibration/heat": True,
    "Safety devices functional": True,
    "Documentation complete": True,
}


class SupervisedWorker:
    """`plantops worker` as a child of a supervisor running in a thread."""

    def __init__(self, env: dict[str, str]) -> None:
        self.child = ChildProcess(
            "worker", [sys.executable, "-m", "workers.cli", "worker"], env, stop_timeout=30
        )
        self.supervisor = Supervisor(Backoff(initial=0.5), poll_every=0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.supervisor.run, args=(self._stop,))

    def __enter__(self) -> "SupervisedWorker":
        self.supervisor.start(self.child)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.supervisor.stop_all()


@pytest.fixture
def worker_env(db_url: str, dev_env, task_queue: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PLANTOPS_DATABASE_URL": db_url,
        "PLANTOPS_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "PLANTOPS_TASK_QUEUE": task_queue,
        "PLANTOPS_DATA_DIR": str(tmp_path),
        "PLANTOPS_LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def app_settings(task_queue: str, tmp_path: Path) -> Settings:
    return Settings(
        secret_key=SECRET,
        task_queue=task_queue,
        data_dir=tmp_path / "data",
        database_url="postgresql://unused",
        temporal_address="unused:0",
    )


@pytest.fixture
async def ending_queue_workflows(dev_env, task_queue: str) -> AsyncIterator[None]:
    """The worker process starts workflows too (each asset's): end all of this queue's, so
    no later test meets a running workflow under a reused id. Before it, whatever earlier
    tests left running on the shared dev server is ended too: this test's work orders and
    anomalies are numbered from 1 again."""
    client = dev_env.client
    async for execution in client.list_workflows('ExecutionStatus = "Running"'):
        try:
            await client.get_workflow_handle(execution.id).terminate("earlier test's")
        except Exception:  # completed meanwhile
            pass
    yield
    query = f'TaskQueue = "{task_queue}" AND ExecutionStatus = "Running"'
    async for execution in client.list_workflows(query):
        try:
            await client.get_workflow_handle(execution.id).terminate("test finished")
        except Exception:  # completed meanwhile
            pass


@pytest.fixture
def app_sessions(db_url: str) -> Iterator:
    engine = make_engine(db_url, pool_size=20, max_overflow=10)
    yield make_sessionmaker(engine)
    engine.dispose()


class PostCounter:
    """Kills the worker once enough writes went through the API."""

    def __init__(self, worker: SupervisedWorker, after: int) -> None:
        self.worker, self.after, self.posts = worker, after, 0
        self.killed_pid: int | None = None

    async def __call__(self, response: httpx.Response) -> None:
        if response.request.method != "POST" or not response.is_success:
            return
        self.posts += 1
        if self.posts == self.after:
            self.killed_pid = self.worker.child.pid
            os.kill(self.killed_pid, signal.SIGKILL)


async def _post(http: httpx.AsyncClient, headers: dict, path: str, body=None, expect=200):
    r = await http.post(f"{WO}{path}", json=body or {}, headers=headers)
    assert r.status_code == expect, (path, r.status_code, r.text)
    return r.json()


async def work_order(http: httpx.AsyncClient, token_for, asset: str) -> str:
    """A corrective work order from creation to its return to service."""
    sup, mgr, tech = token_for("supervisor"), token_for("manager"), token_for("tech")
    body = {
        "asset": asset,
        "type": "CORRECTIVE",
        "title": "Replace worn drive belt",
        "description": "Belt glazed and slipping under load",
        "tasks": [
            {"description": "Replace the belt"},
            {"description": "Check tension", "requires_measurement": True, "unit": "mm",
             "spec_max": 5},
        ],
    }  # fmt: skip
    number = (await _post(http, sup, "", body, 201))["number"]
    for _ in range(600):  # the lifecycle starts with the request; wait until it answers
        if (await http.get(f"{WO}/{number}", headers=sup)).json().get("live"):
            break
        await asyncio.sleep(0.2)
    await _post(http, sup, f"/{number}/submit")
    await _post(http, mgr, f"/{number}/approve")
    await _post(http, sup, f"/{number}/schedule", {"assignee": "tech"})
    await _post(http, tech, f"/{number}/start")
    await _post(http, tech, f"/{number}/tasks/1/complete")
    await _post(http, tech, f"/{number}/tasks/2/complete", {"measurement_value": 3})
    await _post(http, tech, f"/{number}/labor", {"hours": 1.5}, 201)
    r = await http.post(
        f"{WO}/{number}/attachments",
        data={"kind": "CHECKLIST"},
        files={"file": ("checklist.png", PNG, "image/png")},
        headers=tech,
    )
    assert r.status_code == 201, r.text
    await _post(http, tech, f"/{number}/complete")
    await _post(http, sup, f"/{number}/verify", {"checklist": CHECKLIST, "test_run_passed": True})
    state = await _post(http, mgr, f"/{number}/return-to-service")
    assert state["status"] == "CLOSED", state
    return number


def _audit(sessions, entity_type: str) -> dict[str, list[str]]:
    with sessions() as s:
        rows = s.execute(
            select(AuditLog.entity_id, AuditLog.action)
            .where(AuditLog.entity_type == entity_type)
            .order_by(AuditLog.id)
        ).all()
    trail: dict[str, list[str]] = {}
    for entity_id, action in rows:
        trail.setdefault(entity_id, []).append(action)
    return trail


async def test_worker_killed_mid_lifecycles_is_restarted_and_nothing_is_lost_or_doubled(
    worker_env,
    app_settings,
    app_sessions,
    temporal_client: Client,
    token_for,
    ending_queue_workflows,
    caplog,
    monkeypatch,
):
    caplog.set_level(logging.INFO, "plantops.supervisor")
    # An assignment can wait for the restart and for a killed activity to time out.
    monkeypatch.setattr(bench_module, "POLL_FOR", TIMEOUT)
    app = create_app(app_settings, sessions=app_sessions, temporal=temporal_client)
    with SupervisedWorker(worker_env) as worker:
        killer = PostCounter(worker, KILL_AFTER_POSTS)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver",
            timeout=TIMEOUT,
            event_hooks={"response": [killer]},
        ) as http:
            result = RunResult()
            bench = ApiBench(http, result)
            numbers = await asyncio.wait_for(
                asyncio.gather(
                    run_concurrently(ANOMALIES, 10, bench.lifecycle),
                    *(work_order(http, token_for, asset) for asset in ASSETS[:WORK_ORDERS]),
                ),
                4 * TIMEOUT,
            )
        with app_sessions() as s:
            ids = [*s.scalars(select(Anomaly.reference)), *numbers[1:]]
        ended = [temporal_client.get_workflow_handle(i).result() for i in ids]
        await asyncio.wait_for(asyncio.gather(*ended), TIMEOUT)  # every workflow returned
        restarted = worker.child.pid

    assert killer.killed_pid is not None and restarted != killer.killed_pid
    assert "worker exited with code -9 (SIGKILL); restarting in 0.5 s" in caplog.messages
    assert (result.lifecycles, result.errors, result.messages) == (ANOMALIES, 0, [])
    work_orders = numbers[1:]

    with app_sessions() as s:
        anomalies = s.scalars(select(Anomaly)).all()
        orders = s.scalars(select(WorkOrder).where(WorkOrder.number.in_(work_orders))).all()
        notices = s.execute(
            select(Notification.reference, Notification.event, Notification.channel,
                   Notification.recipient_id)
        ).all()  # fmt: skip
    assert sorted(a.status for a in anomalies) == ["CLOSED"] * ANOMALIES
    assert sorted(w.status for w in orders) == ["CLOSED"] * WORK_ORDERS

    # Notifications: one row per event, channel and person, as many as an undisturbed
    # lifecycle queues (work orders queue none).
    assert [k for k, n in Counter(notices).items() if n > 1] == []
    per_reference = Counter(reference for reference, *_ in notices)
    assert {per_reference[a.reference] for a in anomalies} == {NOTICES_PER_ANOMALY}

    # Audit: every lifecycle has exactly the trail of an undisturbed one, no row missing
    # and none twice, although some of its steps were retried by the restarted worker.
    trails = _audit(app_sessions, "ANOMALY")
    assert {tuple(trails[a.reference]) for a in anomalies} == {ANOMALY_TRAIL}
    trails = _audit(app_sessions, "WORK_ORDER")
    assert {tuple(trails[w.number]) for w in orders} == {WORK_ORDER_TRAIL}
