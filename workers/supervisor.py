"""The supervisor of `plantops up`: one crashed part is restarted, with back-off, while the
others keep running; stopping ends every part in the reverse order of starting."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from workers.backoff import Backoff

log = logging.getLogger("plantops.supervisor")


class Service(Protocol):
    """A part of the system. `start` returns once the part is ready and raises if it cannot
    start; `exit_code` is None while it runs."""

    name: str

    def start(self) -> object: ...

    def exit_code(self) -> int | None: ...

    def stop(self) -> None: ...


class ChildProcess:
    """A command run as a child process, in its own session: a Ctrl-C in the terminal reaches
    only the supervisor, which then stops the children in order."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        stop_timeout: float = 25.0,
        niceness: int = 0,
        yields_at_start: bool = False,
    ) -> None:
        self.name = name
        self.niceness = niceness
        # A part nobody waits for while the system starts yields from its first instruction,
        # leaving the cores to the parts that must answer first.
        self.settled = yields_at_start
        self.argv = list(argv)
        self.env = dict(env) if env is not None else None
        self.stop_timeout = stop_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv, env=self.env, start_new_session=True)
        if self.settled:  # a restart while the system runs: at the lower priority at once
            self._lower_priority()

    def settle(self) -> None:
        """From now on the part runs at its lower priority. Left at the normal priority while
        the system starts, it cannot be starved of the CPU by whatever else the machine runs
        during its imports; then, when the cores are short, the kernel serves the parts left
        at the normal priority (the safety watches) first."""
        if self.settled:  # already yielding (from its start): lowered once only
            return
        self.settled = True
        self._lower_priority()

    def _lower_priority(self) -> None:
        if not self.niceness or self.process is None or self.process.poll() is not None:
            return  # an exited part's pid may already be another process's
        for pid in (self.process.pid, *descendants(self.process.pid)):
            # Niceness is per thread on Linux: every thread the process has by now (runtime
            # and pool threads), each relative to its own (raising it needs no privilege).
            for thread in threads(pid):
                with contextlib.suppress(OSError):  # it may have exited already
                    niceness = min(os.getpriority(os.PRIO_PROCESS, thread) + self.niceness, 19)
                    os.setpriority(os.PRIO_PROCESS, thread, niceness)

    def exit_code(self) -> int | None:
        return self.process.poll() if self.process else None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def descendants(pid: int) -> list[int]:
    """The processes started by `pid` and by them (for an API served by several processes),
    read from /proc; none where there is no /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # The command name, in parentheses, may hold spaces: the fields follow its end.
            fields = entry.read_text().rpartition(")")[2].split()
            children.setdefault(int(fields[1]), []).append(int(entry.parent.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def threads(pid: int) -> list[int]:
    """The ids of the process's threads (itself alone where there is no /proc)."""
    found = [int(t.name) for t in Path(f"/proc/{pid}/task").glob("[0-9]*")]
    return found or [pid]


def describe_exit(code: int) -> str:
    """`code -9 (SIGKILL)` for a killed process, `code 1` for one that exited."""
    if code < 0:
        try:
            return f"code {code} ({signal.Signals(-code).name})"
        except ValueError:
            pass
    return f"code {code}"


@dataclass
class _Watch:
    service: Service
    started_at: float
    crashes: int = 0
    restart_at: float | None = None  # set while the part is down and waiting


class Supervisor:
    def __init__(
        self,
        backoff: Backoff | None = None,
        poll_every: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backoff = backoff or Backoff()
        self.poll_every = poll_every
        self.clock = clock
        self._watches: list[_Watch] = []

    def start(self, service: Service) -> object:
        """Start a part and watch it from now on; a failure here is the caller's to report.
        It is watched before it starts, so `stop_all` also ends a half-started part."""
        self.watch(service)
        return service.start()

    def watch(self, service: Service) -> None:
        """Watch a part that is already running."""
        self._watches.append(_Watch(service, self.clock()))

    def check(self) -> None:
        """One round: notice what died, restart what has waited long enough."""
        for watch in self._watches:
            if watch.restart_at is None:
                self._notice_exit(watch)
            elif self.clock() >= watch.restart_at:
                self._restart(watch)

    def _notice_exit(self, watch: _Watch) -> None:
        code = watch.service.exit_code()
        if code is None:
            return
        now = self.clock()
        watch.crashes = self.backoff.crashes_after(watch.crashes, now - watch.started_at)
        delay = self.backoff.delay(watch.crashes)
        watch.restart_at = now + delay
        log.warning(
            "%s exited with %s; restarting in %.1f s",
            watch.service.name,
            describe_exit(code),
            delay,
        )

    def _restart(self, watch: _Watch) -> None:
        name = watch.service.name
        try:
            watch.service.start()
        except Exception as err:  # whatever stops it, the next try may succeed
            watch.crashes += 1
            delay = self.backoff.delay(watch.crashes)
            watch.restart_at = self.clock() + delay
            log.warning("%s did not restart (%s); next try in %.1f s", name, err, delay)
            return
        watch.restart_at = None
        watch.started_at = self.clock()
        log.info("%s restarted", name)

    def run(self, stop: threading.Event | None = None) -> None:
        """Watch until `stop` is set (or forever, until Ctrl-C raises KeyboardInterrupt)."""
        stop = stop or threading.Event()
        while not stop.is_set():
            self.check()
            stop.wait(self.poll_every)

    def settle(self) -> None:
        """The system is up: every part now runs at its own priority."""
        for watch in self._watches:
            settle = getattr(watch.service, "settle", None)
            if settle is not None:
                settle()

    def stop_all(self) -> None:
        for watch in reversed(self._watches):
            try:
                watch.service.stop()
            except Exception as err:  # stop the rest regardless
                log.warning("stopping %s failed: %s", watch.service.name, err)
        self._watches.clear()
