"""Connections for the API's hot reads (the bearer check, lists, details): psycopg's own
async connections, kept per process, in autocommit (each statement reads its own snapshot
and these reads write nothing), so a read costs no trip to a worker thread and no ORM.

No pre-ping: a connection a database restart has broken fails its statement, and that
statement is run once more on a new connection; if the server is still away, the error
reaches the outage handler (503, Retry-After)."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import psycopg
from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool

T = TypeVar("T")
CONNECT_TIMEOUT = 5


def conninfo(engine: Engine) -> str:
    """The libpq URL of the engine's database."""
    url = engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def keep_for(engine: Engine) -> int:
    """As many idle connections as the engine's own pool keeps (none for a NullPool)."""
    pool = engine.pool
    return pool.size() if isinstance(pool, QueuePool) else 0


def limit_for(engine: Engine) -> int | None:
    """At most as many open at once as the engine's own pool allows (None: no limit)."""
    pool = engine.pool
    if not isinstance(pool, QueuePool) or pool._max_overflow < 0:
        return None
    return pool.size() + pool._max_overflow


class ReadPool:
    """Idle connections up to `keep`; more are opened when all are busy, and closed after."""

    def __init__(self, conninfo: str, keep: int, limit: int | None = None) -> None:
        self.conninfo = conninfo
        self.keep = keep
        self._idle: list[psycopg.AsyncConnection] = []
        self._slots = asyncio.Semaphore(limit) if limit else None

    async def run(self, work: Callable[[psycopg.AsyncConnection], Awaitable[T]]) -> T:
        """`work` on a connection; once more on a new one if a kept one turns out broken.
        Past the limit, a read waits for a connection rather than opening one more."""
        if self._slots is None:
            return await self._run(work)
        async with self._slots:
            return await self._run(work)

    async def _connect(self) -> psycopg.AsyncConnection:
        return await psycopg.AsyncConnection.connect(
            self.conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT
        )

    async def _run(self, work: Callable[[psycopg.AsyncConnection], Awaitable[T]]) -> T:
        if self._idle:
            conn = self._idle.pop()
            try:
                return await self._use(conn, work)
            except psycopg.OperationalError:
                if not conn.broken:
                    raise
                await self.close()  # the others predate the same restart
        return await self._use(await self._connect(), work)

    async def _use(self, conn: psycopg.AsyncConnection, work) -> T:
        try:
            result = await work(conn)
        except Exception:  # a refusal or a failed statement: the connection says if it is fine
            await self._give_back(conn)
            raise
        except BaseException:  # cancelled mid-statement: its state is unknown
            await _close(conn)
            raise
        await self._give_back(conn)
        return result

    async def _give_back(self, conn: psycopg.AsyncConnection) -> None:
        idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        if conn.closed or not idle or len(self._idle) >= self.keep:
            await _close(conn)
        else:
            self._idle.append(conn)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await _close(conn)


async def _close(conn: psycopg.AsyncConnection) -> None:
    try:
        await conn.close()
    except Exception:  # already gone with its server
        pass
