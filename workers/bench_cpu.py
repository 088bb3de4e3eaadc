"""CPU seconds spent by a process and every process below it (PostgreSQL's server and its
backends, the Temporal server, the worker), read from /proc: on a shared machine a rate
falls with the others' load, the CPU a unit of work costs holds."""

from __future__ import annotations

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # the name may hold spaces


def children(pid: int) -> list[int]:
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(p) for p in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:
            continue
    return found


def tree_seconds(pid: int, below: bool = True) -> float:
    """User and system CPU of `pid`, of its children reaped so far and of those alive
    (`below`), or of `pid` alone."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    # utime, stime, cutime, cstime are fields 14-17 of stat (11-14 past the name)
    if not below:
        return sum(int(x) for x in fields[11:13]) / TICK
    own = sum(int(x) for x in fields[11:15]) / TICK
    return own + sum(tree_seconds(child) for child in children(pid))


def postmaster(data_dir: Path) -> int | None:
    """The PostgreSQL server's pid (it detaches from whoever started it)."""
    try:
        return int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class CpuMeter:
    """CPU seconds of these process trees between `start` and `seconds`."""

    def __init__(self, *pids: int | None) -> None:
        self.pids = [p for p in pids if p]
        self.at = 0.0

    def _now(self) -> float:
        return sum(tree_seconds(p) for p in self.pids)

    def start(self) -> CpuMeter:
        self.at = self._now()
        return self

    def seconds(self) -> float:
        return self._now() - self.at
