"""A database outage on a cluster of this module's own (the suite's shared one stays up):
every request answers 503 with Retry-After, JSON for the API and a page for the web, and
the same app and connection pool serve again once the server is back, whether it was
stopped and started or killed and restarted by the supervisor of `plantops up`."""

import re
import shutil
import signal
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from api.app import create_app
from domain.db import make_engine, make_sessionmaker
from domain.migrate import upgrade
from domain.services.demo import load_demo
from domain.settings import Settings
from tests.conftest import SECRET
from workers.backoff import Backoff
from workers.embedded import EmbeddedPostgres, free_port
from workers.supervisor import Supervisor

PASSWORD = "plantops-demo"
ASSETS = "/api/v1/maintenance/assets"


@pytest.fixture(scope="module")
def own_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    root: Path = tmp_path_factory.mktemp("outage")
    # In the foreground, as `plantops up` runs it, so a supervisor can restart it.
    pg = EmbeddedPostgres(root / "data", free_port(), durable=False, foreground=True)
    url = pg.start()
    upgrade(url)
    engine = make_engine(url)
    load_demo(make_sessionmaker(engine))
    engine.dispose()
    yield pg
    pg.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def web(own_pg: EmbeddedPostgres, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app on a real pool (not NullPool): it must outlive the outage by itself."""
    engine = make_engine(own_pg.url(), pool_size=2, max_overflow=0)
    settings = Settings(
        secret_key=SECRET,
        data_dir=tmp_path,
        database_url=own_pg.url(),
        temporal_address="unused:0",
    )
    app = create_app(settings, sessions=make_sessionmaker(engine))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await _sign_in(client)
        yield client
    engine.dispose()


async def _sign_in(client: httpx.AsyncClient) -> None:
    """A bearer token for the API and a session cookie for the pages."""
    r = await client.post("/api/v1/auth/token", json={"username": "manager", "password": PASSWORD})
    client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    page = await client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = await client.post(
        "/login", data={"username": "manager", "password": PASSWORD, "csrf_token": csrf}
    )
    assert r.status_code == 303


async def _serving(client: httpx.AsyncClient) -> None:
    assert (await client.get(ASSETS)).status_code == 200
    assert (await client.get("/assets")).status_code == 200


async def _refusing(client: httpx.AsyncClient) -> None:
    r = await client.get(ASSETS)
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "5"
    error = r.json()["error"]
    assert error["type"] == "ServiceUnavailable"
    assert "database" in error["message"]

    r = await client.post("/api/v1/auth/token", json={"username": "manager", "password": PASSWORD})
    assert (r.status_code, r.headers["Retry-After"]) == (503, "5")

    page = await client.get("/assets")
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert page.headers["content-type"].startswith("text/html")
    assert "Temporarily unavailable" in page.text
    assert 'http-equiv="refresh"' in page.text  # a GET page tries again by itself

    r = await client.get("/health")  # still says what is down, and when to ask again
    assert (r.status_code, r.headers["Retry-After"]) == (503, "5")
    assert r.json()["database"]["status"] == "down"


async def test_stopped_database_answers_503_and_the_app_recovers_after_restart(web, own_pg):
    await _serving(web)
    own_pg.stop()
    try:
        await _refusing(web)
    finally:
        own_pg.start()
    await _serving(web)  # same app, same pool: pre-ping replaced the broken connections


async def test_killed_database_is_restarted_by_the_supervisor_and_the_app_recovers(web, own_pg):
    await _serving(web)
    # The test cluster commits asynchronously: flush the WAL so the sign-in's session row
    # survives the kill, as it would on a durable cluster.
    with psycopg.connect(own_pg.url().replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    supervisor = Supervisor(Backoff(initial=2.0), poll_every=0.1)
    supervisor.watch(own_pg)
    stop = threading.Event()
    watcher = threading.Thread(target=supervisor.run, args=(stop,))
    watcher.start()
    try:
        first = own_pg.process
        first.send_signal(signal.SIGKILL)
        first.wait()
        await _refusing(web)
        deadline = time.monotonic() + 60
        while own_pg.process is first or own_pg.exit_code() is not None:
            assert time.monotonic() < deadline, "PostgreSQL was not restarted"
            time.sleep(0.1)
    finally:
        stop.set()
        watcher.join()
    await _serving(web)
