"""`plantops bench anomalies`: full anomaly lifecycles through the running API, then the same
number through a no-op workflow of the same shape, to show what Temporal alone costs."""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from domain.settings import Settings
from workers.bench_noop import NOOP_ACTIVITIES
from workers.bench_shape import NoopAnomalyWorkflow, NoopInput, NoopRequest
from workers.embedded import StartupError

PASSWORD = "plantops-demo"
OPERATOR, SUPERVISOR, SENIOR = "operator", "supervisor", "seniortech"
ENDPOINTS = (
    "register",
    "poll",
    "accept",
    "progress",
    "attachments",
    "resolve",
    "review",
    "rex",
    "rex_review",
)
SHOWN_ERRORS = 5
POLL_EVERY = 0.25  # seconds between reads while the workflow assigns; polls cost CPU too
POLL_FOR = 60.0  # seconds before an unassigned anomaly counts as an error
# A valid 1x1 transparent PNG (checksums verified), as small as an upload gets.
PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000b49444154789c6360000200000500017a5eab3f00000000"
    "49454e44ae426082"
)
REX = {
    "root_cause_analysis": "blade clamp bolt worked loose under vibration",
    "lessons_learned": "check the clamp torque after blade changes",
    "preventive_actions": "add the clamp torque to the weekly round",
    "best_practices": "torque wrench, not impact driver",
    "training_needs": "none",
}


class BenchFailure(Exception):
    """One lifecycle went wrong; it is counted and the run goes on."""


@dataclass
class RunResult:
    lifecycles: int = 0
    seconds: float = 0.0
    errors: int = 0
    latencies: dict[str, list[float]] = field(default_factory=dict)  # endpoint -> ms
    messages: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.lifecycles / self.seconds if self.seconds > 0 else 0.0

    def fail(self, message: str) -> None:
        self.errors += 1
        if len(self.messages) < SHOWN_ERRORS:
            self.messages.append(message)
            print(f"  error: {message}", flush=True)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: an observed value, defined for a single sample too."""
    if not values:
        raise ValueError("no values")
    if not 0 < pct <= 100:
        raise ValueError("pct must be in (0, 100]")
    ordered = sorted(values)
    rank = math.ceil(pct / 100 * len(ordered))
    return ordered[max(rank, 1) - 1]


async def run_concurrently(
    count: int, concurrency: int, lifecycle: Callable[[int], Awaitable[None]]
) -> float:
    """Runs lifecycle(0..count-1), at most `concurrency` at once; returns the wall time."""
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            await lifecycle(i)

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return time.perf_counter() - start


def _describe(err: Exception) -> str:
    # Some httpx errors (timeouts) carry no message.
    return str(err) or type(err).__name__


# -- Part A: the full system, through the HTTP API --


class ApiBench:
    def __init__(self, http: httpx.AsyncClient, result: RunResult) -> None:
        self.http = http
        self.result = result
        self._tokens: dict[str, str] = {}
        self._login_lock = asyncio.Lock()  # one login per user, not one per lifecycle

    async def token(self, username: str) -> str:
        async with self._login_lock:
            if username not in self._tokens:
                resp = await self.http.post(
                    "/api/v1/auth/token", json={"username": username, "password": PASSWORD}
                )
                if not resp.is_success:
                    raise BenchFailure(f"login {username}: {resp.status_code} {resp.text[:300]}")
                self._tokens[username] = resp.json()["access_token"]
            return self._tokens[username]

    async def call(self, endpoint: str, user: str, method: str, path: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {await self.token(user)}"}
        start = time.perf_counter()
        resp = await self.http.request(method, path, headers=headers, **kw)
        elapsed = (time.perf_counter() - start) * 1000
        self.result.latencies.setdefault(endpoint, []).append(elapsed)
        if not resp.is_success:
            raise BenchFailure(f"{endpoint} {path}: {resp.status_code} {resp.text[:300]}")
        return resp.json()

    async def lifecycle(self, i: int) -> None:
        try:
            ref = await self.register(i)
            tech = await self.wait_assigned(ref)
            await self.work(ref, tech)
        except (BenchFailure, httpx.HTTPError) as err:
            self.result.fail(f"lifecycle {i}: {_describe(err)}")
            return
        self.result.lifecycles += 1

    async def register(self, i: int) -> str:
        body = {
            "asset": "SAW-JKS-001",
            "title": f"bench anomaly {i}",
            "description": f"benchmark lifecycle number {i}, blade wobble",
            "channel": "API",
            "safety_impact": "MINOR",
            "urgency": "SOON",
        }
        created = await self.call("register", OPERATOR, "POST", "/api/v1/anomalies", json=body)
        return created["reference"]

    async def wait_assigned(self, ref: str) -> str:
        """The assigned technician's username, once the workflow has picked one."""
        deadline = time.monotonic() + POLL_FOR
        while time.monotonic() < deadline:
            body = await self.call("poll", OPERATOR, "GET", f"/api/v1/anomalies/{ref}")
            live = body.get("live") or {}  # None while Temporal cannot answer yet
            status = live.get("status")
            if status == "ASSIGNED" and live.get("assignee"):
                return live["assignee"]["username"]
            if status not in (None, "REGISTERED", "ASSIGNED"):
                raise BenchFailure(f"{ref} went {status} instead of ASSIGNED")
            await asyncio.sleep(POLL_EVERY)
        raise BenchFailure(f"{ref} not assigned within {POLL_FOR:.0f} s")

    async def work(self, ref: str, tech: str) -> None:
        base = f"/api/v1/anomalies/{ref}"
        eta = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
        accept = {"eta": eta, "safety_acknowledged": True}
        await self.call("accept", tech, "POST", f"{base}/accept", json=accept)
        progress = {"note": "bench progress", "loto_acknowledged": True}
        await self.call("progress", tech, "POST", f"{base}/progress", json=progress)
        for kind in ("BEFORE_PHOTO", "AFTER_PHOTO"):
            files = {"file": ("b.png", PNG_BYTES, "image/png")}
            await self.call(
                "attachments", tech, "POST", f"{base}/attachments", data={"kind": kind}, files=files
            )
        resolution = {
            "root_cause": "x loose",
            "corrective_action": "tightened",
            "verification_test": "ran ok",
            "safety_restored": True,
        }
        await self.call("resolve", tech, "POST", f"{base}/resolve", json=resolution)
        approve = {"decision": "APPROVE"}
        await self.call("review", SUPERVISOR, "POST", f"{base}/review", json=approve)
        await self.call("rex", tech, "POST", f"{base}/rex", json=REX)
        await self.call("rex_review", SENIOR, "POST", f"{base}/rex/review", json=approve)


async def run_api(url: str, count: int, concurrency: int) -> RunResult:
    result = RunResult()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        bench = ApiBench(http, result)
        await login_fixed_users(bench, url)
        result.seconds = await run_concurrently(count, concurrency, bench.lifecycle)
    return result


async def login_fixed_users(
    bench: ApiBench, url: str, users: Sequence[str] = (OPERATOR, SUPERVISOR, SENIOR)
) -> None:
    """Before the clock starts; the first one also proves the API is there."""
    try:
        for user in users:
            await bench.token(user)
    except httpx.TransportError as err:
        raise StartupError(
            f"the API at {url} is not reachable ({_describe(err)}): "
            "start it with `plantops up` or pass --url"
        ) from None
    except BenchFailure as err:
        raise StartupError(f"{err} (are the demo users loaded? `plantops demo`)") from None


# -- Part B: Temporal alone, the same shape with no-op activities --


async def run_noop(client: Client, task_queue: str, count: int, concurrency: int) -> RunResult:
    """`count` NoopAnomalyWorkflow lifecycles, served by a worker started here on `task_queue`."""
    result = RunResult()
    worker = Worker(
        client, task_queue=task_queue, workflows=[NoopAnomalyWorkflow], activities=NOOP_ACTIVITIES
    )
    async with worker:
        lifecycle = functools.partial(_counted_noop, client, task_queue, result)
        result.seconds = await run_concurrently(count, concurrency, lifecycle)
    return result


async def _counted_noop(client: Client, task_queue: str, result: RunResult, i: int) -> None:
    try:
        await noop_lifecycle(client, task_queue, result)
    except Exception as err:  # any failure is the run's figure, not a crash
        result.fail(f"no-op lifecycle {i}: {_describe(err)}")
        return
    result.lifecycles += 1


NOOP_UPDATES = (
    (NoopAnomalyWorkflow.accept, "technician", "ACCEPTED"),
    (NoopAnomalyWorkflow.progress, "technician", "PROGRESS"),
    (NoopAnomalyWorkflow.attachment, "technician", "BEFORE_PHOTO"),
    (NoopAnomalyWorkflow.attachment, "technician", "AFTER_PHOTO"),
    (NoopAnomalyWorkflow.resolve, "technician", "RESOLVED"),
    (NoopAnomalyWorkflow.review, SUPERVISOR, "APPROVE"),
    (NoopAnomalyWorkflow.submit_rex, "technician", "REX"),
    (NoopAnomalyWorkflow.review_rex, SENIOR, "APPROVE"),
)


async def noop_lifecycle(client: Client, task_queue: str, result: RunResult) -> None:
    workflow_id = f"BENCH-{uuid.uuid4()}"
    handle = await client.start_workflow(
        NoopAnomalyWorkflow.run, NoopInput(workflow_id), id=workflow_id, task_queue=task_queue
    )
    for update, actor, what in NOOP_UPDATES:
        start = time.perf_counter()
        await handle.execute_update(update, NoopRequest(actor, {"what": what}))
        elapsed = (time.perf_counter() - start) * 1000
        result.latencies.setdefault(update.__name__, []).append(elapsed)
    status = await handle.result()
    if status != "CLOSED":
        raise BenchFailure(f"{workflow_id} ended {status}")


# -- the command --


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_parser(sub: Any) -> None:
    bench = sub.add_parser(
        "bench", help="time lifecycles or reads against a running plantops (`plantops up`)"
    )
    bench.add_argument(
        "what",
        choices=[
            "anomalies",
            "work-orders",
            "api",
            "timers",
            "pm",
            "analytics",
            "sensors",
            "import",
            "maximo",
        ],
        help="what to benchmark; timers, pm, sensors, import and maximo start or use scratch "
        "systems of their own",
    )
    bench.add_argument(
        "--schedules", type=_positive, default=10_000, help="pm: schedules all due at once"
    )
    bench.add_argument("--count", type=_positive, default=100, help="lifecycles (default 100)")
    bench.add_argument(
        "--concurrency", type=_positive, default=10, help="lifecycles at once (default 10)"
    )
    bench.add_argument(
        "--requests", type=_positive, default=200, help="api: reads per case at 1 client"
    )
    bench.add_argument(
        "--rows",
        type=_positive,
        default=10_000,
        help="api: anomalies and work orders to seed; import: rows of the workbook",
    )
    bench.add_argument(
        "--demo-user", default="supervisor", help="api: also read a demo record (with workflow)"
    )
    bench.add_argument(
        "--after",
        type=_positive,
        default=120,
        help="timers: voice-call delay in seconds; the G1 response time is this rounded up "
        "to whole minutes (default 120)",
    )
    bench.add_argument(
        "--rate", type=float, default=20.0, help="timers: anomalies registered per second"
    )
    bench.add_argument(
        "--floor",
        action="store_true",
        help="timers: the same burst asked of Temporal alone (one bare watch per anomaly "
        "on a dev server of its own, no database, no lifecycle), to see this machine's floor",
    )
    bench.add_argument(
        "--keep",
        action="store_true",
        help="timers, import: keep the scratch system's data folder; "
        "pm: leave the schedules running",
    )
    from workers.bench_analytics import add_arguments
    from workers.bench_sensors import add_arguments as sensor_arguments

    add_arguments(bench)
    sensor_arguments(bench)
    from workers.bench_maximo import add_arguments as maximo_arguments

    maximo_arguments(bench)
    # None, not the URL itself: settings are read only after parsing.
    bench.add_argument("--url", default=None, help="the API (default: the configured web URL)")
    bench.set_defaults(func=cmd_bench)


def cmd_bench(settings: Settings, args: argparse.Namespace) -> None:
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns the figures
    if args.what == "timers":
        from workers import bench_timers

        if args.rate <= 0:
            raise StartupError("--rate must be above 0")
        if args.floor:
            from workers.bench_timers_floor import report_floor

            print(report_floor(args.count, args.after, args.rate), flush=True)
            return
        bench_timers.run(settings, args.count, args.after, args.rate, args.keep)
        return
    if args.what == "pm":
        from workers.bench_pm import cmd_bench_pm
        from workers.cli import database_url

        with database_url(settings) as url:  # the configured database, or the embedded one
            cmd_bench_pm(settings.model_copy(update={"database_url": url}), args.schedules,
                         args.keep)  # fmt: skip
        return
    if args.what == "sensors":  # on a scratch system of its own
        from workers.bench_sensors import cmd_bench_sensors

        cmd_bench_sensors(settings, args)
        return
    if args.what == "import":  # on a scratch system of its own
        from workers import bench_import

        bench_import.run(settings, args.rows, args.keep)
        return
    if args.what == "analytics":  # on a scratch database of its own
        from workers.bench_analytics import cmd_bench_analytics

        cmd_bench_analytics(args)
        return
    if args.what == "maximo":  # on a scratch database of its own
        from workers.bench_maximo import cmd_bench_maximo

        cmd_bench_maximo(args)
        return
    if args.what == "api":
        from workers.bench_api import cmd_bench_api

        cmd_bench_api(settings, args)
        return
    url = (args.url or settings.web_url).rstrip("/")
    asyncio.run(_bench(settings, url, args.count, args.concurrency, args.what))
    # Drop the Temporal client and worker while the interpreter is whole: left to its
    # finalization they abort the process now and then (temporalio/sdk-python#300).
    gc.collect()


async def _bench(
    settings: Settings, url: str, count: int, concurrency: int, what: str = "anomalies"
) -> None:
    print(f"A. full {what} lifecycles through the API at {url}: {count}, {concurrency} at once")
    if what == "work-orders":
        from workers import bench_work_orders

        full = await bench_work_orders.run_work_orders(url, count, concurrency)
        order: Sequence[str] = bench_work_orders.ENDPOINTS
    else:
        full = await run_api(url, count, concurrency)
        order = ENDPOINTS
    report("A. full system (API + worker + database + Temporal)", full, order)

    address = settings.temporal_address or f"127.0.0.1:{settings.temporal_port}"
    try:
        client = await Client.connect(address, namespace=settings.temporal_namespace)
    except RuntimeError as err:
        raise StartupError(f"cannot reach Temporal at {address}: {err}") from None
    queue = f"{settings.task_queue}-bench"
    print(f"\nB. no-op lifecycles through Temporal at {address}, task queue {queue}")
    noop = await run_noop(client, queue, count, concurrency)
    report("B. Temporal alone (NoopAnomalyWorkflow, no-op activities)", noop, None)

    ratio = full.per_second / noop.per_second if noop.per_second else 0.0
    print(f"\nfull / no-op throughput: {ratio:.3f}")
    if ratio:
        print(f"  the no-op workflow completes {1 / ratio:.1f}x as many lifecycles per second")


def report(title: str, result: RunResult, order: Sequence[str] | None) -> None:
    print(f"\n{title}")
    print(f"  lifecycles completed  {result.lifecycles}")
    print(f"  errors                {result.errors}")
    print(f"  wall time             {result.seconds:.2f} s")
    print(f"  lifecycles per second {result.per_second:.2f}")
    names = [n for n in (order or result.latencies) if result.latencies.get(n)]
    if names:
        print(latency_table(names, result.latencies))


def latency_table(names: Sequence[str], latencies: dict[str, list[float]]) -> str:
    rows = [f"  {'endpoint':<12}{'count':>7}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}"]
    for name in names:
        values = latencies[name]
        p50, p95, p99 = (percentile(values, p) for p in (50, 95, 99))
        rows.append(f"  {name:<12}{len(values):>7}{p50:>10.1f}{p95:>10.1f}{p99:>10.1f}")
    return "\n".join(rows)
