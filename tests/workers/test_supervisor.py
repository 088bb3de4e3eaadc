"""The supervisor of `plantops up`: the back-off policy, and a real child killed with SIGKILL
that comes back while its sibling keeps running."""

import contextlib
import logging
import os
import signal
import sys
import threading
import time

import pytest

from workers.backoff import Backoff
from workers.supervisor import ChildProcess, Supervisor, descendants, describe_exit, threads

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def test_backoff_doubles_up_to_its_cap():
    policy = Backoff(initial=1.0, factor=2.0, cap=30.0)
    assert [policy.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert policy.delay(10_000) == 30.0  # a long crash loop neither overflows nor grows
    with pytest.raises(ValueError):
        policy.delay(0)


def test_a_long_run_starts_the_count_again():
    policy = Backoff(stable_after=60.0)
    assert policy.crashes_after(0, uptime=0.5) == 1
    assert policy.crashes_after(4, uptime=2.0) == 5  # still crashing: wait longer
    assert policy.crashes_after(4, uptime=600.0) == 1  # ran fine for a while: a new crash


def test_exit_codes_name_the_signal():
    assert describe_exit(-9) == "code -9 (SIGKILL)"
    assert describe_exit(1) == "code 1"


def _wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_a_child_killed_with_sigkill_is_restarted_and_its_sibling_keeps_running(caplog):
    caplog.set_level(logging.INFO, "plantops.supervisor")
    supervisor = Supervisor(Backoff(initial=0.2, cap=1.0), poll_every=0.05)
    victim = ChildProcess("victim", SLEEPER, stop_timeout=5)
    sibling = ChildProcess("sibling", SLEEPER, stop_timeout=5)
    supervisor.start(victim)
    supervisor.start(sibling)
    first, sibling_pid = victim.pid, sibling.pid
    stop = threading.Event()
    watcher = threading.Thread(target=supervisor.run, args=(stop,))
    watcher.start()
    try:
        os.kill(first, signal.SIGKILL)
        _wait_for(lambda: victim.pid != first and victim.exit_code() is None)
        second = victim.pid
        os.kill(second, signal.SIGKILL)  # crashes again at once: the next wait is longer
        _wait_for(lambda: victim.pid != second and victim.exit_code() is None)
    finally:
        stop.set()
        watcher.join()
        supervisor.stop_all()

    assert sibling.pid == sibling_pid and sibling.exit_code() is not None  # stopped only now
    assert victim.exit_code() is not None
    lines = [r.getMessage() for r in caplog.records]
    assert "victim exited with code -9 (SIGKILL); restarting in 0.2 s" in lines
    assert "victim exited with code -9 (SIGKILL); restarting in 0.4 s" in lines
    assert lines.count("victim restarted") == 2
    assert not any("sibling" in line for line in lines)


def test_a_part_that_cannot_start_is_tried_again_later(caplog):
    caplog.set_level(logging.INFO, "plantops.supervisor")
    supervisor = Supervisor(Backoff(initial=0.1, cap=0.2), poll_every=0.02)
    child = ChildProcess("flaky", SLEEPER, stop_timeout=5)
    supervisor.start(child)
    real_start = child.start
    failures = iter([OSError("no such file"), OSError("still missing")])

    def start() -> None:
        err = next(failures, None)
        if err is not None:
            raise err
        real_start()

    child.start = start  # the next two starts fail, the third works
    stop = threading.Event()
    watcher = threading.Thread(target=supervisor.run, args=(stop,))
    watcher.start()
    try:
        first = child.pid
        os.kill(first, signal.SIGKILL)
        _wait_for(lambda: child.pid != first and child.exit_code() is None)
    finally:
        stop.set()
        watcher.join()
        supervisor.stop_all()
    lines = [r.getMessage() for r in caplog.records]
    assert "flaky did not restart (no such file); next try in 0.2 s" in lines
    assert "flaky did not restart (still missing); next try in 0.2 s" in lines
    assert "flaky restarted" in lines


PARENT_OF_ONE = [
    sys.executable,
    "-c",
    "import subprocess, sys, threading, time;"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
    "threading.Thread(target=time.sleep, args=(60,), daemon=True).start();"
    "time.sleep(60)",
]


def test_a_routine_part_starts_at_full_priority_and_yields_once_the_system_is_up():
    # On a busy machine a part started at a low priority can be starved while it imports;
    # it is lowered, with what it started (the API's processes), only once all is up.
    supervisor = Supervisor(Backoff(initial=0.1, cap=0.2), poll_every=0.02)
    routine = ChildProcess("routine", PARENT_OF_ONE, stop_timeout=5, niceness=10)
    watch = ChildProcess("watch", SLEEPER, stop_timeout=5)
    base = os.getpriority(os.PRIO_PROCESS, 0)
    supervisor.start(routine)
    supervisor.start(watch)
    grandchildren: list[int] = []
    try:
        _wait_for(lambda: descendants(routine.pid) and len(threads(routine.pid)) == 2)
        grandchildren = descendants(routine.pid)
        assert os.getpriority(os.PRIO_PROCESS, routine.pid) == base

        supervisor.settle()
        lowered = min(base + 10, 19)
        # Every thread, the ones started before the change too (niceness is per thread).
        tasks = [t for pid in [routine.pid, *grandchildren] for t in threads(pid)]
        assert len(tasks) == 3
        assert [os.getpriority(os.PRIO_PROCESS, t) for t in tasks] == [lowered] * 3
        assert os.getpriority(os.PRIO_PROCESS, watch.pid) == base

        first = routine.pid
        os.kill(first, signal.SIGKILL)  # restarted while the system runs: lowered at once
        _wait_for(lambda: routine.exit_code() is not None)
        supervisor.check()
        _wait_for(lambda: supervisor.check() or routine.pid != first)
        assert os.getpriority(os.PRIO_PROCESS, routine.pid) == lowered
    finally:
        grandchildren += descendants(routine.pid) if routine.exit_code() is None else []
        supervisor.stop_all()
        for pid in grandchildren:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_a_part_nobody_waits_for_yields_from_its_start():
    # The lifecycle worker: `up` waits for the API only, so the worker leaves it the cores.
    supervisor = Supervisor(Backoff(initial=0.1, cap=0.2), poll_every=0.02)
    early = ChildProcess("early", SLEEPER, stop_timeout=5, niceness=10, yields_at_start=True)
    base = os.getpriority(os.PRIO_PROCESS, 0)
    supervisor.start(early)
    try:
        assert os.getpriority(os.PRIO_PROCESS, early.pid) == min(base + 10, 19)
        supervisor.settle()  # once all is up: not lowered a second time
        assert os.getpriority(os.PRIO_PROCESS, early.pid) == min(base + 10, 19)
    finally:
        supervisor.stop_all()
