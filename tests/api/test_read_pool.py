"""The reads' own connections: a kept connection the server has dropped is replaced on its
first failed statement, which runs once more; a refusal raised by the work keeps it."""

import psycopg
import pytest
from sqlalchemy.pool import NullPool

from api.read_pool import ReadPool, conninfo, keep_for, limit_for
from domain.db import make_engine


async def _pid(conn: psycopg.AsyncConnection) -> int:
    return (await (await conn.execute("SELECT pg_backend_pid()")).fetchone())[0]


async def test_a_dropped_connection_is_replaced_and_the_statement_runs_again(db_url):
    pool = ReadPool(conninfo(make_engine(db_url)), keep=1)
    first = await pool.run(_pid)
    async with await psycopg.AsyncConnection.connect(pool.conninfo, autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(%s)", [first])
    second = await pool.run(_pid)  # the kept one is dead: a new one answers
    assert second != first
    assert await pool.run(_pid) == second  # and is kept in turn
    await pool.close()


async def test_a_refusal_raised_by_the_work_keeps_the_connection(db_url):
    pool = ReadPool(conninfo(make_engine(db_url)), keep=1)
    first = await pool.run(_pid)

    async def refuse(conn):
        await conn.execute("SELECT 1")
        raise LookupError("not yours")

    with pytest.raises(LookupError):
        await pool.run(refuse)
    assert await pool.run(_pid) == first
    await pool.close()


def test_the_read_connections_follow_the_engines_pool():
    unpooled = make_engine("postgresql://u@localhost/db", poolclass=NullPool)
    assert (keep_for(unpooled), limit_for(unpooled)) == (0, None)  # none kept
    unlimited = make_engine("postgresql://u@localhost/db", pool_size=4, max_overflow=-1)
    assert (keep_for(unlimited), limit_for(unlimited)) == (4, None)
    pooled = make_engine("postgresql://u@localhost/db", pool_size=3, max_overflow=2)
    assert (keep_for(pooled), limit_for(pooled)) == (3, 5)
