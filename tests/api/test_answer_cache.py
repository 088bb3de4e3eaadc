"""The lists' kept answers (api/answer_cache.py): kept only while the change feed is heard,
dropped by any committed change to what they show, whichever door made it, and by a write
through the API before its answer leaves; each user's answer is their own."""

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from api import answer_cache
from api.app import create_app
from api.read_pool import conninfo
from domain.models import Anomaly
from domain.services import read_views

LIST = "/api/v1/anomalies?limit=50"


@pytest.fixture
async def kept(settings, sessions, temporal_client, worker) -> AsyncIterator[tuple]:
    """The API with its change feed followed, as `plantops up` runs it; answers kept long
    enough that only a change notice (not their age) can drop them."""
    app = create_app(settings, sessions=sessions, temporal=temporal_client)
    cache = answer_cache.cache_of(app)
    cache.max_age = 600
    feed = asyncio.create_task(answer_cache.follow(cache, conninfo(sessions.kw["bind"])))
    await _until(lambda: cache.live)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c, cache
    feed.cancel()


async def _until(check, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not reached in time")


async def _report(c, headers, title: str) -> None:
    r = await c.post(
        "/api/v1/anomalies",
        headers=headers,
        json={
            "asset": "SAW-JKS-001",
            "title": title,
            "description": "A slow oil weep at the lower fitting of the saw's hose.",
            "channel": "MOBILE",
            "safety_impact": "MINOR",
            "urgency": "SOON",
        },
    )
    assert r.status_code == 201, r.text


async def _kept_titles(c, cache, headers) -> list[str]:
    """The titles, read until a read is answered from what was kept."""
    for _ in range(250):
        titles, hits = await _titles(c, headers), cache.hits
        if await _titles(c, headers) == titles and cache.hits == hits + 1:
            return titles
        await asyncio.sleep(0.02)
    raise AssertionError("no read was answered from what was kept")


async def _titles(c, headers) -> list[str]:
    r = await c.get(LIST, headers=headers)
    assert r.status_code == 200, r.text
    return [a["title"] for a in r.json()["items"]]


async def test_a_change_committed_by_another_process_drops_the_kept_answer(
    kept, token_for, sessions
):
    c, cache = kept
    manager = token_for("manager")
    await _report(c, manager, "Blade wobble on saw line 1")
    first = await _kept_titles(c, cache, manager)  # once its lifecycle's first steps are done
    assert first == ["Blade wobble on saw line 1"]

    # As a worker's step would: another connection, committed.
    with sessions() as s:
        row = s.query(Anomaly).filter(Anomaly.title == first[0]).first()
        row.title = "Renamed by a step in another process"
        s.commit()
    await _until(lambda: cache.generation > 0 and not cache._answers)
    assert "Renamed by a step in another process" in await _titles(c, manager)


async def test_a_write_through_the_api_is_seen_by_the_very_next_read(
    settings, sessions, temporal_client, worker, token_for
):
    # No feed at all: only the write's own passage through the API can drop the answer.
    app = create_app(settings, sessions=sessions, temporal=temporal_client)
    cache = answer_cache.cache_of(app)
    cache.live, cache.max_age = True, 600
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        manager = token_for("manager")
        before = await _titles(c, manager)
        assert await _titles(c, manager) == before and cache.hits == 1
        await _report(c, manager, "Hydraulic hose weeping at the press")
        assert "Hydraulic hose weeping at the press" in await _titles(c, manager)


async def test_each_user_reads_their_own_answer(kept, token_for):
    c, _ = kept
    path = "/api/v1/maintenance/assets?limit=500"
    every = (await c.get(path, headers=token_for("manager"))).json()["total"]
    own = (await c.get(path, headers=token_for("operator"))).json()["total"]
    assert 0 < own < every, "an operator sees the assets of its own work centre only"
    assert (await c.get(path, headers=token_for("manager"))).json()["total"] == every


async def test_nothing_is_kept_while_the_feed_is_lost(kept, token_for, sessions):
    c, cache = kept
    manager = token_for("manager")
    await _titles(c, manager)
    with sessions() as s:  # the database drops the listening connection
        s.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query ILIKE 'LISTEN plantops_changed%' AND pid <> pg_backend_pid()"
            )
        )
    await _until(lambda: not cache.live)
    hits = cache.hits
    await _titles(c, manager)
    await _titles(c, manager)
    assert cache.hits == hits, "nothing answered from a cache that hears no changes"
    await _until(lambda: cache.live)  # the feed comes back by itself
    await _titles(c, manager)
    assert await _titles(c, manager) is not None and cache.hits == hits + 1


async def test_every_table_the_kept_lists_read_announces_its_changes(kept, token_for, sessions):
    c, _ = kept
    headers = token_for("manager")
    for path in (
        "/api/v1/anomalies?limit=5",
        "/api/v1/maintenance/assets?limit=5",
        "/api/v1/maintenance/work-orders?limit=5&assignee=tech",
    ):
        assert (await c.get(path, headers=headers)).status_code == 200
    read = set()
    for key, (sql, _) in read_views._compiled.items():
        if key[0] in {"anomalies", "assets", "work_orders", "user_id"}:
            read |= set(re.findall(r"\b(?:FROM|JOIN)\s+([a-z_]+)", sql))
    with sessions() as s:
        announcing = set(
            s.scalars(
                text(
                    "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE t.tgname = 'plantops_changed'"
                )
            )
        )
    assert {"anomalies", "assets", "work_orders", "users"} <= read
    assert read - announcing == set()
