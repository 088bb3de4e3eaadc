"""What a failed test leaves to read when the cause is a wait, not a wrong value: where every
thread of the test process stood, and which database sessions were busy or waiting on a lock
(a stalled activity keeps the time-skipping server from moving its clock)."""

import sys
import threading
import traceback

from sqlalchemy import text

BUSY = text(
    """SELECT pid, state, wait_event_type, wait_event,
              now() - xact_start AS open_for, left(query, 200) AS query
       FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'
       ORDER BY xact_start"""
)


def thread_stacks() -> str:
    names = {t.ident: t.name for t in threading.enumerate()}
    parts = []
    for ident, frame in sys._current_frames().items():
        stack = "".join(traceback.format_stack(frame, limit=12))
        parts.append(f"--- {names.get(ident, ident)}\n{stack}")
    return "\n".join(parts)


def database_sessions(sessions) -> str:
    try:
        with sessions() as session:
            rows = session.execute(BUSY).all()
    except Exception as err:  # noqa: BLE001 - a report of a failure must not fail itself
        return f"not read: {err}"
    return "\n".join(str(tuple(row)) for row in rows) or "none busy"
