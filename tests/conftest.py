"""Real servers for the suite: one PostgreSQL cluster (a fresh database per test, cloned
from a migrated template holding the demo), Temporal's dev server and its time-skipping
test server."""

import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    WorkflowHandle,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from api import tokens
from api.app import create_app
from domain.db import make_engine, make_sessionmaker
from domain.migrate import upgrade
from domain.models import User
from domain.services.demo import load_demo
from domain.settings import Settings
from tests.servers import SmtpInbox, TwilioRecorder
from tests.stall_report import database_sessions, thread_stacks
from workers import registry
from workers.embedded import SEARCH_ATTRIBUTES, EmbeddedPostgres, free_port, temporal_cli
from workers.worker import RUNNER, build_alert_worker
from workflows.alert_watch import alert_queue

TEMPLATE = "plantops_template"
KEPT_CONNECTIONS = 4
SECRET = "test-secret-key-for-the-suite-only-0123456789"


class Cluster:
    """The suite's PostgreSQL. A test's database is cloned from the template while the test
    before it runs, and dropped while the next one runs: one thread does both, in order."""

    def __init__(self, pg: EmbeddedPostgres) -> None:
        self.pg = pg
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="databases")
        self._next: Future[str] | None = None
        self._drops: list[Future[None]] = []

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{self.pg.port}/postgres", autocommit=True
        )

    def fresh(self) -> str:
        """A database cloned from the template, made ahead of time."""
        ready, self._next = self._next, None
        name = ready.result() if ready else self.create()
        self._next = self._background.submit(self.create)
        return name

    def create(self, template: str | None = TEMPLATE) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        with self.admin() as conn:
            conn.execute(
                f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
            )
        return name

    def drop(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop_later(self, name: str) -> None:
        for dropped in [f for f in self._drops if f.done()]:
            dropped.result()  # an earlier drop's failure shows
            self._drops.remove(dropped)
        self._drops.append(self._background.submit(self.drop, name))

    def close(self) -> None:
        """Waits for the clones and drops under way (a failed drop fails here)."""
        if self._next is not None:
            self.drop(self._next.result())
        self._background.shutdown(wait=True)
        for dropped in self._drops:
            dropped.result()

    def url(self, name: str) -> str:
        return self.pg.url(name)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root: Path = tmp_path_factory.mktemp("pg")
    pg = EmbeddedPostgres(root / "data", free_port(), durable=False)
    pg.start()
    cluster = Cluster(pg)
    with cluster.admin() as conn:
        conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
    upgrade(cluster.url(TEMPLATE))
    engine = make_engine(cluster.url(TEMPLATE), poolclass=NullPool)
    load_demo(make_sessionmaker(engine))
    engine.dispose()
    yield cluster
    cluster.close()
    pg.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def db_url(cluster: Cluster) -> Iterator[str]:
    """A fresh database with the schema and the demo enterprise."""
    name = cluster.fresh()
    yield cluster.url(name)
    cluster.drop_later(name)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A few connections kept (a new one costs a server process), as many more as asked
    for: no caller ever waits for the pool. The app's reads keep as many of their own."""
    eng = make_engine(db_url, pool_size=KEPT_CONNECTIONS, max_overflow=-1)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture(scope="session", autouse=True)
def workflows_validated_once() -> Iterator[None]:
    """A Worker validates each of its workflows in a fresh sandbox (about 0.4 s for the
    registry), and the suite builds hundreds of workers of the same classes: each class is
    validated by the first worker that has it, under the same restrictions."""
    original = SandboxedWorkflowRunner.prepare_workflow
    validated: set[tuple] = set()
    kept: list = []  # the restrictions compared by identity, kept alive so no id is reused

    def prepare_workflow(self: SandboxedWorkflowRunner, defn) -> None:
        key = (defn.cls, defn.name, id(self.restrictions), self.runner_class)
        if key not in validated:
            original(self, defn)
            validated.add(key)
            kept.append(self.restrictions)

    SandboxedWorkflowRunner.prepare_workflow = prepare_workflow  # type: ignore[method-assign]
    yield
    SandboxedWorkflowRunner.prepare_workflow = original  # type: ignore[method-assign]


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's dev server (headless, in memory) with the project's search attributes."""
    from temporalio.common import SearchAttributeKey

    keys = [SearchAttributeKey.for_keyword(name) for name in SEARCH_ATTRIBUTES]
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        search_attributes=keys,
        ui=False,
        dev_server_log_level="error",
    )
    yield env
    await env.shutdown()


async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server: timers of hours pass in milliseconds."""
    path = str(Path(sys.executable).parent / "temporal-test-server")
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=path)
    yield env
    await env.shutdown()


# One for the session; a test that sleeps through timers takes one of its own
# (`time_env = own_time_env`, a tenth of a second to start). Terminating a workflow on this
# server never gives back the clock its pending activity, task or child holds, so what an
# earlier test left in flight would keep such a test's sleep from ever moving the clock.
time_env = pytest.fixture(scope="session", name="time_env")(time_skipping_server)
own_time_env = pytest.fixture(name="time_env")(time_skipping_server)


@pytest.fixture(scope="session")
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        yield pool


@pytest.fixture
def task_queue() -> str:
    return "tq-" + uuid.uuid4().hex[:10]


@pytest.fixture
async def worker(
    dev_env: WorkflowEnvironment,
    sessions,
    task_queue: str,
    executor: ThreadPoolExecutor,
    settings: Settings,
    temporal_client: Client,
) -> AsyncIterator[Worker]:
    w = Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=registry.WORKFLOWS,
        # Workflows the activities start (an asset's) are ended with the test's own.
        activities=registry.activities(sessions, settings, client=temporal_client),
        activity_executor=executor,
        workflow_runner=RUNNER,  # as the worker process runs them
    )
    # The safety watches' own queue (the voice call, the escalation on silence).
    alerts = build_alert_worker(dev_env.client, sessions, task_queue, executor, settings)
    async with w, alerts:
        yield w
        # Workflows started by workflows (a PM's work order, a breakdown's) are no client's
        # own: end every one left on these queues, so no later test meets its id.
        await end_queue_workflows(dev_env.client, task_queue, alert_queue(task_queue))


async def end_queue_workflows(client: Client, *queues: str) -> None:
    for queue in queues:
        query = f'TaskQueue = "{queue}" AND ExecutionStatus = "Running"'
        async for execution in client.list_workflows(query):
            await _terminate(client.get_workflow_handle(execution.id))


@pytest.fixture
def settings(task_queue: str, tmp_path: Path) -> Settings:
    return Settings(
        secret_key=SECRET,
        task_queue=task_queue,
        data_dir=tmp_path / "data",
        database_url="postgresql://unused",
        temporal_address="unused:0",
    )


class _RecordStarts(Interceptor):
    """Remembers every workflow a test starts, so teardown can end them: the dev server
    outlives the test, and a workflow left running would answer the next test's ids."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        ids = self.ids

        class Outbound(OutboundInterceptor):
            async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle:
                ids.add(input.id)
                return await super().start_workflow(input)

        return Outbound(next)


@asynccontextmanager
async def ending_started_workflows(base: Client) -> AsyncIterator[Client]:
    """A client on the same server that terminates, on exit, what it started."""
    recorder = _RecordStarts()
    config = base.config()
    config["interceptors"] = [*config["interceptors"], recorder]
    client = Client(**config)
    try:
        yield client
    finally:
        for workflow_id in list(recorder.ids):  # a teardown may start one more
            handle = client.get_workflow_handle(workflow_id)
            # Its children too (the safety watches): the time-skipping server leaves them
            # running, and a timer of theirs firing later holds up the next test's clock.
            for child in await _children(handle):
                await _terminate(client.get_workflow_handle(child))
            await _terminate(handle)


async def _children(handle: WorkflowHandle) -> list[str]:
    try:
        return [
            e.start_child_workflow_execution_initiated_event_attributes.workflow_id
            async for e in handle.fetch_history_events()
            if e.HasField("start_child_workflow_execution_initiated_event_attributes")
        ]
    except Exception:  # gone already
        return []


async def _terminate(handle: WorkflowHandle) -> None:
    try:
        await handle.terminate("test finished")
    except Exception:  # already completed
        pass


@pytest.fixture
async def temporal_client(dev_env: WorkflowEnvironment) -> AsyncIterator[Client]:
    async with ending_started_workflows(dev_env.client) as client:
        yield client


@pytest.fixture
async def client(
    settings: Settings, sessions, temporal_client: Client, worker: Worker
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, sessions=sessions, temporal=temporal_client)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
    await close_read_pool(app)


async def close_read_pool(app) -> None:
    """The reads' kept connections, which the app's lifespan closes when it runs."""
    pool = getattr(app.state, "read_pool", None)
    if pool is not None:
        await pool.close()


@pytest.fixture
def token_for(sessions):
    """A valid bearer header for a demo user, without a password round trip."""

    def make(username: str, ttl: timedelta = timedelta(minutes=5)) -> dict[str, str]:
        with sessions() as s:
            user = s.query(User).filter_by(username=username).one()
        return {"Authorization": f"Bearer {tokens.issue(user.id, SECRET, ttl)}"}

    return make


@pytest.fixture
def smtp() -> Iterator[SmtpInbox]:
    inbox = SmtpInbox().start()
    yield inbox
    inbox.stop()


@pytest.fixture
def twilio_recorder() -> Iterator[TwilioRecorder]:
    recorder = TwilioRecorder().start()
    yield recorder
    recorder.stop()


@pytest.fixture
def notify_settings(settings: Settings, smtp, twilio_recorder) -> Settings:
    """The suite's settings with every channel pointed at the loopback servers."""
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "twilio_account_sid": "AC" + "0" * 32,
            "twilio_auth_token": "token",
            "twilio_from_number": "+15550001111",
            "twilio_whatsapp_from": "+15550002222",
            "twilio_api_base": twilio_recorder.url,
        }
    )


def numbering_of_its_own(sessions) -> None:
    """References start past any earlier test's: the dev server outlives each test, and a
    lifecycle another test ran to its end keeps its id there (only a failed run restarts)."""
    import random
    from datetime import UTC, datetime

    from domain.db import transaction
    from domain.models import ReferenceCounter

    with transaction(sessions) as s:
        year = datetime.now(UTC).year
        s.add(ReferenceCounter(prefix="ANO", year=year, last=random.randrange(10_000, 900_000)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test of a lifecycle reports the process's threads and the busy database
    sessions, read at the moment of failure: a stall is otherwise gone when it is read."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed or "sessions" not in item.fixturenames:
        return
    report.sections.append(("threads at failure", thread_stacks()))
    sessions = item.funcargs.get("sessions")
    if sessions is not None:
        report.sections.append(("database sessions at failure", database_sessions(sessions)))
