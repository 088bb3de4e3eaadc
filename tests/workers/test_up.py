"""`plantops up` as a user runs it: the worker and the API killed with SIGKILL come back
while everything else keeps running, and Ctrl-C still stops every part."""

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from workers.cli import ROUTINE_NICENESS
from workers.embedded import free_port


def _children(pid: int) -> dict[int, str]:
    """The direct children of `pid` and their command lines."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            found[int(child)] = cmdline.decode(errors="replace")
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child stays a zombie until its parent reaps it: that counts as gone.
    return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()


class Output:
    """The command's output, read in the background and awaited line by line."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self.reader.start()

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 120) -> None:
        """Until a line holds `text`, read now or before (parts restart in any order)."""
        if any(text in line for line in self.seen):
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if not self.reader.is_alive() and self.lines.empty():
                    break  # the command has ended: the text will never come
                continue
            self.seen.append(line)
            if text in line:
                return
        raise AssertionError(f"no {text!r} in:\n" + "".join(self.seen))


def _api_answers(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer 200")


def test_up_restarts_a_killed_worker_and_api_and_ctrl_c_stops_everything(tmp_path):
    api_port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "PLANTOPS_DATA_DIR": str(tmp_path / "data"),
        "PLANTOPS_PG_PORT": str(free_port()),
        "PLANTOPS_TEMPORAL_PORT": str(free_port()),
        "PLANTOPS_TEMPORAL_UI_PORT": str(free_port()),
        "PLANTOPS_API_PORT": str(api_port),
        "PLANTOPS_TASK_QUEUE": "up-test",
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "up", "--no-demo"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out = Output(proc)
    parts: dict[int, str] = {}
    try:
        out.wait_for("plantops is up")
        parts = _children(proc.pid)
        worker = next((p for p, cmd in parts.items() if "--serves lifecycles" in cmd), None)
        alerts = next((p for p, cmd in parts.items() if "--serves alerts" in cmd), None)
        api = next((p for p, cmd in parts.items() if cmd.endswith("workers.cli api ")), None)
        assert worker and alerts and api, parts
        assert len(parts) == 5, parts  # PostgreSQL, Temporal, worker, alert worker, API
        # The routine parts yield the CPU to the safety watches when the cores are short.
        routine = min(os.getpriority(os.PRIO_PROCESS, 0) + ROUTINE_NICENESS, 19)
        assert os.getpriority(os.PRIO_PROCESS, worker) == routine
        assert os.getpriority(os.PRIO_PROCESS, api) == routine
        assert os.getpriority(os.PRIO_PROCESS, alerts) == os.getpriority(os.PRIO_PROCESS, 0)

        killed = (worker, alerts, api)
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        for part in ("worker", "alerts", "api"):
            out.wait_for(f"{part} exited with code -9 (SIGKILL); restarting in 1.0 s")
            out.wait_for(f"{part} restarted")
        out.wait_for("worker polling task queue up-test")
        _api_answers(f"http://127.0.0.1:{api_port}/health")

        now = _children(proc.pid)
        assert {pid for pid in parts if pid not in killed} <= set(now)  # still the same
        assert not set(killed) & set(now) and len(now) == 5
        restarted = next(p for p, cmd in now.items() if "--serves lifecycles" in cmd)
        assert os.getpriority(os.PRIO_PROCESS, restarted) == routine
        parts.update(now)
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        try:
            proc.wait(90)
        finally:
            if proc.poll() is None:
                proc.kill()
    out.wait_for("stopped", timeout=5)
    assert proc.returncode == 0
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in parts) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [cmd for pid, cmd in parts.items() if _alive(pid)]
