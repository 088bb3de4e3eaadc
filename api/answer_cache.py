"""The answers of the busiest lists, kept per API process until the data under them changes.

PostgreSQL announces every committed change to the tables these lists read on one channel
(a statement trigger, see the change-feed migration) and each process listens to it; a
write through this process drops the kept answers as it starts and again once it is done,
so a read right after an action sees it. An answer is kept at most MAX_AGE as a floor
under a notice lost in transit, and nothing is kept while the feed is not listened to
(before start-up, or while the database is away)."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from time import monotonic

import psycopg
from fastapi import FastAPI, Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CHANNEL = "plantops_changed"
MAX_AGE = 2.0  # seconds
SIZE = 512  # answers kept per process
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
log = logging.getLogger("plantops.api")


class AnswerCache:
    def __init__(self, size: int = SIZE, max_age: float = MAX_AGE) -> None:
        self.size, self.max_age = size, max_age
        self.generation = 0  # moves on at every change heard of
        self.live = False  # listening to the feed: only then is anything kept
        self.hits = 0
        self._answers: OrderedDict[tuple, tuple[float, bytes]] = OrderedDict()

    def changed(self) -> None:
        self.generation += 1
        self._answers.clear()

    def get(self, key: tuple) -> bytes | None:
        found = self._answers.get(key) if self.live else None
        if found is None:
            return None
        born, body = found
        if monotonic() - born > self.max_age:
            del self._answers[key]
            return None
        self._answers.move_to_end(key)
        self.hits += 1
        return body

    def put(self, key: tuple, generation: int, born: float, body: bytes) -> None:
        """Kept only if nothing changed since the read began (`generation`, `born`)."""
        if not self.live or generation != self.generation:
            return
        self._answers[key] = (born, body)
        self._answers.move_to_end(key)
        while len(self._answers) > self.size:
            self._answers.popitem(last=False)


def cache_of(app: FastAPI) -> AnswerCache:
    cache = getattr(app.state, "answer_cache", None)
    if cache is None:
        cache = app.state.answer_cache = AnswerCache()
    return cache


async def answer(
    request: Request, user_id: int, read: Callable[[], Awaitable[Response]]
) -> Response:
    """The kept answer of this user's request, or `read()`'s, kept when it succeeded."""
    cache = cache_of(request.app)
    key = (user_id, request.url.path, request.url.query)
    body = cache.get(key)
    if body is not None:
        return Response(body, media_type="application/json")
    generation, born = cache.generation, monotonic()
    response = await read()
    if response.status_code == 200:
        cache.put(key, generation, born, bytes(response.body))
    return response


async def follow(cache: AnswerCache, conninfo: str) -> None:
    """Listen to the change feed for as long as the process runs, reconnecting after a
    loss; while not listening, nothing is kept."""
    delay = 0.5
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
            async with conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                cache.changed()  # whatever changed while nobody listened
                cache.live, delay = True, 0.5
                async for _ in conn.notifies():
                    cache.changed()
        except psycopg.Error as err:
            log.warning("change feed lost (%s); answers not kept until it is back", err)
        finally:
            cache.live = False
            cache.changed()
        await asyncio.sleep(delay)
        delay = min(delay * 2, 10.0)


class WritesDropAnswers:
    """Any request that may write drops the kept answers before and after it runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        cache = cache_of(scope["app"])

        async def send_after_change(message: Message) -> None:
            if message["type"] == "http.response.start":  # done: before the client hears
                cache.changed()
            await send(message)

        cache.changed()
        try:
            await self.app(scope, receive, send_after_change)
        finally:
            cache.changed()
