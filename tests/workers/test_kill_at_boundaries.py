"""A breakdown report and a stop-work, with the worker SIGKILLed at each boundary between
two of their steps (once the step has committed, before Temporal hears of it) and a new
worker started, several boundaries in a row in one run: the job still completes exactly
once. One report, one work order, one
downtime record, one audit row per step, one notice per recipient, the asset where it
should be, and every open work order told once."""

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import Client, Interceptor, OutboundInterceptor, StartWorkflowInput

from api.app import create_app
from domain.db import make_engine, make_sessionmaker
from domain.models import (
    Asset,
    AuditLog,
    DowntimeRecord,
    Notification,
    OperatorReport,
    StopWork,
    WorkOrder,
)
from domain.settings import Settings
from tests.conftest import SECRET
from workflows.work_order import WorkOrderWorkflow

ROOT = Path(__file__).resolve().parents[2]
BASE = "/api/v1/maintenance"
ASSET = "SAW-JKS-001"
TIMEOUT = 300.0  # a run goes through several killed workers
# Boundaries one lifecycle goes through, each on its own killed worker: the setup (a
# database, work under way) is paid once per run, not once per boundary.
CHAIN = 6
# Activities of each run, each domain step followed by its step write (a local activity):
# record, work order, downtime (each + write), notices + write, start and submit + write,
# asset + write.
BREAKDOWN_STEPS = 12
REPORT_STEPS = ["REPORTED", "WORK_ORDER_OPENED", "DOWNTIME_STARTED", "ROLES_NOTIFIED",
                "WORK_ORDER_SUBMITTED", "ASSET_DOWN"]  # fmt: skip
# Local activities run in one workflow task with those before them in it, and a worker
# killed after one loses that task: the next worker runs them all again. Boundary -> how
# many (the downtime's write, the notices, the notices' write share one task).
BREAKDOWN_RERUNS = {7: 2, 8: 3}
# Raise: record + write, hold + write, list, tell + write x2, second look; clear: write,
# release + write, list, tell + write x2, look. Each local activity alone in its task.
STOP_WORK_STEPS = 19


class BoundaryWorker:
    """The worker in its own process, killed by itself after the N-th step. It is started
    ahead (while the one before it runs) and polls once told to `go`."""

    def __init__(self, env: dict[str, str], kill_after: str | None = None) -> None:
        env = {**env, "PLANTOPS_TEST_START_ON_GO": "1"}
        if kill_after:
            env["PLANTOPS_TEST_KILL_AFTER"] = kill_after
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.workers.boundary_worker"],
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
        )

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"go\n")
        self.process.stdin.flush()

    async def killed(self) -> int:
        try:
            return await asyncio.to_thread(self.process.wait, TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError("the worker was not killed at its boundary") from None

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


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
def app_sessions(db_url: str):
    engine = make_engine(db_url, pool_size=10, max_overflow=10)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
async def ending_queue_workflows(dev_env, task_queue: str):
    """The worker processes start workflows too (work orders', assets'): end this queue's."""
    yield
    client = dev_env.client
    query = f'TaskQueue = "{task_queue}" AND ExecutionStatus = "Running"'
    async for execution in client.list_workflows(query):
        try:
            await client.get_workflow_handle(execution.id).terminate("test finished")
        except Exception:  # completed meanwhile
            pass


# A workflow task lost with its killed worker is handed on after this long: a step write
# (a local activity) runs inside the task, so a kill after one waits for it.
TASK_TIMEOUT = timedelta(seconds=3)


class _ShortTasks(Interceptor):
    """The lifecycles the API starts here get a short workflow task timeout."""

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        class Outbound(OutboundInterceptor):
            async def start_workflow(self, input: StartWorkflowInput):
                return await super().start_workflow(replace(input, task_timeout=TASK_TIMEOUT))

        return Outbound(next)


@pytest.fixture
async def http(task_queue: str, tmp_path: Path, app_sessions, temporal_client: Client):
    temporal_client = Client(
        temporal_client.service_client,
        namespace=temporal_client.namespace,
        data_converter=temporal_client.data_converter,
        interceptors=[_ShortTasks()],
    )
    settings = Settings(
        secret_key=SECRET,
        task_queue=task_queue,
        data_dir=tmp_path / "data",
        database_url="postgresql://unused",
        temporal_address="unused:0",
    )
    app = create_app(settings, sessions=app_sessions, temporal=temporal_client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", timeout=TIMEOUT
    ) as c:
        yield c


async def _post(http, h, path, body=None, expect=200):
    r = await http.post(f"{BASE}{path}", json=body or {}, headers=h)
    assert r.status_code == expect, (path, r.status_code, r.text)
    return r.json()


def chains(boundaries: list[int], length: int = CHAIN) -> list[list[int]]:
    """The boundaries, in runs that one lifecycle goes through."""
    return [boundaries[i : i + length] for i in range(0, len(boundaries), length)]


# Each kill costs a worker's start: domain steps and step writes in turn, and every step
# write that shares its workflow task with another local activity, rather than all of them.
BREAKDOWN_KILLS = [1, 2, 5, 8, 9, 12]
STOP_WORK_KILLS = [1, 2, 4, 6, 7, 10, 11, 12, 13, 15, 16, 19]
assert max(BREAKDOWN_KILLS) == BREAKDOWN_STEPS and max(STOP_WORK_KILLS) == STOP_WORK_STEPS


async def _through_kills(
    worker_env, workflow_type: str, boundaries: list[int], call, check, reruns=None
):
    """Run `call` on a worker that kills itself at the first boundary, then on a fresh one
    killed at the next, and so on; then on a worker left running, which serves the
    lifecycles' queries while `check` looks at the outcome. A killed step is run again
    first by the next worker (its commit was never reported), so that worker counts it,
    and the local activities of its workflow task before it (`reruns`)."""
    reruns = reruns or {}
    # The step each worker dies after, counted from its start; the last one lives.
    kill_after, passed = [], 0
    for boundary in boundaries:
        kill_after.append(boundary - passed + (reruns.get(passed, 1) if passed else 0))
        passed = boundary
    workers = [BoundaryWorker(worker_env, f"{workflow_type}:{kill_after[0]}")]
    try:
        task = asyncio.ensure_future(call())
        for i, boundary in enumerate(boundaries):
            workers[-1].go()
            after = kill_after[i + 1] if i + 1 < len(kill_after) else None
            workers.append(BoundaryWorker(worker_env, after and f"{workflow_type}:{after}"))
            assert await workers[-2].killed() == -signal.SIGKILL, boundary
        workers[-1].go()
        await check(await asyncio.wait_for(task, TIMEOUT))
    finally:
        for worker in workers:
            worker.stop()


def _audit(sessions, *entity_ids: str) -> Counter:
    with sessions() as s:
        return Counter(
            s.execute(
                select(AuditLog.entity_id, AuditLog.action).where(
                    AuditLog.entity_id.in_(entity_ids)
                )
            ).all()
        )


def _asset_moves(sessions) -> list[tuple[str, str]]:
    with sessions() as s:
        rows = s.execute(
            select(AuditLog.previous_state, AuditLog.new_state)
            .where(AuditLog.entity_id == ASSET, AuditLog.action != "CREATE")
            .order_by(AuditLog.id)
        ).all()
    return [(before.get("status"), after.get("status")) for before, after in rows]


@pytest.mark.parametrize("boundaries", chains(BREAKDOWN_KILLS), ids=str)
async def test_a_breakdown_report_completes_once_through_killed_workers(
    boundaries, worker_env, http, app_sessions, token_for, temporal_client, ending_queue_workflows
):
    body = {
        "asset": ASSET, "report_type": "BREAKDOWN", "severity": "HIGH",
        "symptom": "FLUID_LEAK", "description": "Oil under the saw, it stopped",
        "stopped_equipment": True, "safety_hazard": False, "impacted_job": "JOB-9",
    }  # fmt: skip
    await _through_kills(
        worker_env,
        "BreakdownWorkflow",
        boundaries,
        lambda: _post(http, token_for("operator"), "/reports/operator", body, 201),
        lambda report: _check_report(report, app_sessions, temporal_client),
        BREAKDOWN_RERUNS,
    )


async def _check_report(report, app_sessions, temporal_client) -> None:
    assert report["asset_status"] == "OUT_OF_SERVICE" and report["work_order_type"] == "BREAKDOWN"
    assert report["impacted_jobs"] == ["JOB-9"] and report["downtime_id"]
    assert report["status"] == "ASSET_DOWN"
    number, reference = report["work_order"], f"OPR-{report['report_id']}"
    with app_sessions() as s:
        assert s.scalar(select(func.count()).select_from(OperatorReport)) == 1
        orders = s.scalars(select(WorkOrder.number).where(WorkOrder.source_reference == reference))
        assert list(orders) == [number]
        assert s.scalar(select(func.count()).select_from(DowntimeRecord)) == 1
        keys = s.scalars(select(Notification.key).where(Notification.key.like(f"{reference}/%")))
        keys = list(keys)
        asset = s.scalars(select(Asset).where(Asset.asset_number == ASSET)).one()
    assert keys and len(keys) == len(set(keys))  # one notice per recipient
    assert asset.status.value == "OUT_OF_SERVICE"
    assert _asset_moves(app_sessions) == [("IN_SERVICE", "OUT_OF_SERVICE")]
    audit = _audit(app_sessions, reference, number)
    # Each step's audit row (through the step writer) exactly once.
    assert [audit[(reference, step)] for step in REPORT_STEPS] == [1] * len(REPORT_STEPS)
    with app_sessions() as s:
        assert s.get(OperatorReport, report["report_id"]).status == "ASSET_DOWN"
    assert audit[(number, "CREATED")] == 1 and audit[(number, "STATUS_SUBMITTED")] == 1
    assert [n for n in audit.values() if n > 1] == []
    state = await temporal_client.get_workflow_handle(number).query(WorkOrderWorkflow.get_state)
    assert state.status == "SUBMITTED"


async def _in_progress(http, token_for) -> str:
    sup, tech = token_for("supervisor"), token_for("tech")
    number = (
        await _post(
            http,
            sup,
            "/work-orders",
            {
                "asset": ASSET,
                "type": "CORRECTIVE",
                "title": "Replace worn blade",
                "description": "Blade teeth worn",
            },
            201,
        )  # fmt: skip
    )["number"]
    for _ in range(2400):  # the lifecycle starts with the request; wait until it answers
        if (await http.get(f"{BASE}/work-orders/{number}", headers=sup)).json().get("live"):
            break
        await asyncio.sleep(0.05)
    await _post(http, sup, f"/work-orders/{number}/submit")
    await _post(http, token_for("manager"), f"/work-orders/{number}/approve")
    await _post(http, sup, f"/work-orders/{number}/schedule", {"assignee": "tech"})
    await _post(http, tech, f"/work-orders/{number}/start")
    for _ in range(2400):  # the asset's move follows the answer: the order's work began
        live = (await http.get(f"{BASE}/work-orders/{number}", headers=sup)).json()["live"]
        if live and not live["asset_moving"]:
            break
        await asyncio.sleep(0.05)
    return number


async def _draft(http, token_for) -> str:
    sup = token_for("supervisor")
    body = {"asset": ASSET, "type": "CORRECTIVE", "title": "Not started yet",
            "description": "Waiting"}  # fmt: skip
    number = (await _post(http, sup, "/work-orders", body, 201))["number"]
    for _ in range(2400):
        if (await http.get(f"{BASE}/work-orders/{number}", headers=sup)).json().get("live"):
            return number
        await asyncio.sleep(0.05)
    raise AssertionError(number)


@pytest.mark.parametrize("boundaries", chains(STOP_WORK_KILLS), ids=str)
async def test_a_stop_work_completes_once_through_killed_workers(
    boundaries, worker_env, http, app_sessions, token_for, temporal_client, ending_queue_workflows
):
    numbers: list[str] = []
    raised: dict = {}

    async def raise_it():
        numbers.extend([await _in_progress(http, token_for), await _draft(http, token_for)])
        raised.update(
            await _post(
                http,
                token_for("operator"),
                "/stop-work",
                {"asset": ASSET, "reason": "guard missing"},
                201,
            )  # fmt: skip
        )
        return raised

    async def clear_it():
        return await _post(
            http, token_for("ehs"), f"/stop-work/{raised['stop_work_id']}/clear",
            {"reason": "guard refitted"},
        )  # fmt: skip

    async def both():
        await raise_it()
        return await clear_it()

    async def check(cleared):
        await _check_stop_work(numbers, raised, cleared, app_sessions, temporal_client)

    await _through_kills(worker_env, "StopWorkWorkflow", boundaries, both, check)


async def _check_stop_work(numbers, raised, cleared, app_sessions, temporal_client) -> None:
    working, waiting = numbers
    assert raised["held_work_orders"] == [working] and raised["unreached_work_orders"] == []
    assert cleared["asset_status"] == "MAINTENANCE" and cleared["unreached_work_orders"] == []
    assert cleared["released_work_orders"] == [working]
    swa = f"SWA-{raised['stop_work_id']}"
    await asyncio.wait_for(temporal_client.get_workflow_handle(swa).result(), TIMEOUT)

    with app_sessions() as s:
        rows = s.scalars(select(StopWork)).all()
        asset = s.scalars(select(Asset).where(Asset.asset_number == ASSET)).one()
    assert len(rows) == 1 and rows[0].cleared_at is not None
    assert asset.status.value == "MAINTENANCE"
    audit = _audit(app_sessions, working, waiting)
    assert audit[(working, "STATUS_ON_HOLD")] == 1 and audit[(working, "STOP_WORK")] == 1
    assert [k for k, n in audit.items() if n > 1] == []
    # Each decision's audit row exactly once: a work order told of the hold, then of the
    # release, is two decisions, each written once.
    with app_sessions() as s:
        rows = s.execute(
            select(AuditLog.action, AuditLog.reason)
            .where(AuditLog.entity_id == swa)
            .order_by(AuditLog.id)
        ).all()
    told, other = "WORK_ORDER_TOLD", "each other decision"
    assert [a for a, _ in rows] == ["STOP_WORK_RAISED", "ASSET_HELD", told, told,
                                    "STOP_WORK_CLEARED", "ASSET_RELEASED", told, told]  # fmt: skip
    times = Counter((a, r) if a == told else (other, a) for a, r in rows)
    assert times == Counter({(told, working): 2, (told, waiting): 2} | {
        (other, a): 1 for a, _ in rows if a != told
    })  # fmt: skip
    for number in numbers:  # told of the hold, then of the clear, once each
        state = await temporal_client.get_workflow_handle(number).query(WorkOrderWorkflow.get_state)
        assert not state.safety_hold
        assert [e.action for e in state.events].count("STOP_WORK_CLEARED") == 1, number
    # The asset: to work (the order started), held, released; each move once.
    assert _asset_moves(app_sessions) == [
        ("IN_SERVICE", "MAINTENANCE"),
        ("MAINTENANCE", "SAFETY_HOLD"),
        ("SAFETY_HOLD", "MAINTENANCE"),
    ]
