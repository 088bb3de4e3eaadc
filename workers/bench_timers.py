"""`plantops bench timers`: are the H1 voice call and the escalation on time under a burst?

It starts a whole plantops of its own (`plantops up` in a scratch data folder, on free ports,
so it disturbs no running system), configured with the voice-call delay and the G1 response
time under test and with its Twilio client pointed at a recorder here, registers N
unacknowledged G1 anomalies at R per second the way the API's POST does, and prints how late
each voice call and each first escalation (the SMS to the on-duty supervisor) reached the
recorder after its deadline."""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

from domain.settings import Settings
from workers.bench_cpu import children, tree_seconds
from workers.embedded import (
    EmbeddedPostgres,
    StartupError,
    free_port,
    require_free_port,
    wait_for_port,
)

REFERENCE = re.compile(r"\b(ANO-\d{4}-\d+)\b")
GRACE = 60.0  # seconds past the last deadline before a missing call counts as missing
ON_TIME = 2.0  # seconds: the target lateness for a safety alert
STARTUP = 300.0  # seconds for the scratch system to answer on its API port
QUIET = 0.25  # cores: the scratch system at rest, before the burst
SETTLE = 600.0  # seconds at most to wait for it


@dataclass
class Arrival:
    kind: str  # VOICE or ESCALATION
    reference: str
    at: float  # epoch seconds when the request reached the recorder


@dataclass
class Recorder:
    """Answers the Twilio REST API like Twilio and notes when each request arrived."""

    arrivals: list[Arrival] = field(default_factory=list)
    requests: int = 0

    def __post_init__(self) -> None:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                at = time.time()
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                recorder.note(self.path, form, at)
                call = self.path.endswith("/Calls.json")
                sid = ("CA" if call else "SM") + uuid.uuid4().hex
                data = json.dumps({"sid": sid, "status": "queued", "to": form.get("To")}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def note(self, path: str, form: dict[str, str], at: float) -> None:
        with self._lock:
            self.requests += 1
            if path.endswith("/Calls.json"):
                kind, text = "VOICE", form.get("Twiml", "")
            elif form.get("Body", "").startswith("Escalated to you"):
                kind, text = "ESCALATION", form["Body"]
            else:
                return
            found = REFERENCE.search(text)
            if found:
                self.arrivals.append(Arrival(kind, found.group(1), at))

    def first(self, kind: str) -> dict[str, float]:
        """Each anomaly's first arrival of this kind."""
        with self._lock:
            seen: dict[str, float] = {}
            for a in self.arrivals:
                if a.kind == kind and a.reference not in seen:
                    seen[a.reference] = a.at
            return seen

    def start(self) -> Recorder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Lateness:
    kind: str
    expected: int
    seconds: list[float]  # arrival minus deadline, one per arrived call

    @property
    def missing(self) -> int:
        return self.expected - len(self.seconds)

    @property
    def on_time(self) -> int:
        return sum(1 for s in self.seconds if s <= ON_TIME)

    def line(self) -> str:
        from workers.bench import percentile

        if not self.seconds:
            return f"  {self.kind:<11}{0:>8}{'-':>9}{'-':>9}{'-':>9}{self.missing:>9}{0:>10}"
        p50, p95 = percentile(self.seconds, 50), percentile(self.seconds, 95)
        top = max(self.seconds)
        return (
            f"  {self.kind:<11}{len(self.seconds):>8}{p50:>9.2f}{p95:>9.2f}{top:>9.2f}"
            f"{self.missing:>9}{self.on_time:>10}"
        )


def lateness(kind: str, deadlines: dict[str, float], arrived: dict[str, float]) -> Lateness:
    return Lateness(
        kind, len(deadlines), [arrived[ref] - d for ref, d in deadlines.items() if ref in arrived]
    )


def report(
    count: int, registered: int, voice: Lateness, escalation: Lateness, errors: Sequence[str]
) -> str:
    rows = [
        f"anomalies registered {registered} of {count}, registration errors {len(errors)}",
        *(f"  error: {e}" for e in errors[:5]),
        "lateness after the deadline, seconds (negative: early)",
        f"  {'channel':<11}{'arrived':>8}{'p50':>9}{'p95':>9}{'max':>9}{'missing':>9}"
        f"{'<= ' + format(ON_TIME, 'g') + ' s':>10}",
        voice.line(),
        escalation.line(),
    ]
    met = all(x.missing == 0 and x.on_time == x.expected for x in (voice, escalation))
    verdict = "MET" if met and registered == count else "NOT MET"
    rows.append(f"target (every one within {ON_TIME:g} s of its deadline, none missing): {verdict}")
    return "\n".join(rows)


# -- CPU by part --

PARTS = (
    ("--serves lifecycles", "lifecycle worker"),
    ("--serves alerts", "alert worker"),
    ("workers.cli api", "api"),
    ("temporal", "temporal server"),
    ("postgres", "postgresql"),
)


def _part(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "other"
    return next((name for marker, name in PARTS if marker in argv), "other")


def cpu_by_part(up: int | None) -> dict[str, float]:
    """CPU seconds so far of the scratch system's parts (each with the processes below it),
    and of this process, which does the registrations' API-side work."""
    usage = os.times()
    seen = {"registration (this process)": usage.user + usage.system}
    if up is not None:
        seen["supervisor"] = tree_seconds(up, below=False)
        for child in children(up):
            name = _part(child)
            seen[name] = seen.get(name, 0.0) + tree_seconds(child)
    return seen


async def first_summaries(settings: Settings, loaded: float, longest: float = SETTLE) -> None:
    """Waits for the scratch system's first OEE snapshot after the demo was loaded (at
    `loaded`, epoch seconds): the demo's records all changed then, so that snapshot takes
    the 90 days of demo production again (once, minutes of work), which would otherwise
    land in the middle of the burst. Snapshots are taken every five minutes."""
    from temporalio.client import Client
    from temporalio.service import RPCError

    from workers.schedules import OEE_SNAPSHOT_ID

    every = 300
    due = datetime.fromtimestamp(math.ceil(loaded / every) * every, UTC)
    address = f"127.0.0.1:{settings.temporal_port}"
    client = await Client.connect(address, namespace=settings.temporal_namespace)
    handle = client.get_schedule_handle(OEE_SNAPSHOT_ID)
    until = time.monotonic() + longest
    while time.monotonic() < until:
        try:
            info = (await handle.describe()).info
        except RPCError:  # the worker makes the schedule as it comes up
            info = None
        if (
            info is not None
            and not info.running_actions
            and any(a.scheduled_at >= due for a in info.recent_actions)
        ):
            return
        await asyncio.sleep(5)


def settle(up: int | None, quiet: float = QUIET, longest: float = SETTLE) -> float:
    """Waits until the scratch system is quiet (the demo data's first summaries taken), so
    the burst is measured alone; the cores it still uses, on average, when it goes on."""
    if up is None:
        return 0.0
    started = time.monotonic()
    while True:
        before = tree_seconds(up)
        time.sleep(5)
        used = (tree_seconds(up) - before) / 5
        if used <= quiet or time.monotonic() - started > longest:
            return used


def cpu_lines(before: dict[str, float], after: dict[str, float], count: int) -> list[str]:
    """Core milliseconds per anomaly, by part, between two readings of `cpu_by_part`."""
    spent = {k: after[k] - before.get(k, 0.0) for k in after}
    rows = [f"  {k:<28}{1000 * v / count:>8.1f}" for k, v in sorted(spent.items()) if v > 0]
    total = sum(spent.values())
    return [
        f"CPU per anomaly, core ms (2 cores at 20/s give 100 ms): {1000 * total / count:.1f}",
        *rows,
    ]


# -- the scratch system --


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


class ScratchSystem:
    """`plantops up` in its own data folder, with the settings under test."""

    def __init__(self, settings: Settings, data_dir: Path, env: dict[str, str]) -> None:
        # `settings` carries the scratch system's own ports (see scratch_settings).
        self.settings = settings
        self.data_dir = data_dir
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"{data_dir.name}.log"

    def start(self) -> None:
        require_free_port(self.settings.api_port, "the API", "PLANTOPS_API_PORT")
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "workers.cli", "up"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StartupError(f"the scratch plantops stopped: see {self.log}")
            try:
                wait_for_port(self.settings.api_port, 1, "the API")
                return
            except StartupError:
                continue
        raise StartupError(f"the scratch plantops did not answer in {STARTUP:.0f} s: {self.log}")

    def database_url(self) -> str:
        return EmbeddedPostgres(self.data_dir / "pg", self.settings.pg_port).url()

    def stop(self, keep: bool) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not keep:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def scratch_settings(settings: Settings) -> Settings:
    """The configured settings on free ports: the scratch system disturbs no running one."""
    return settings.model_copy(
        update={
            "pg_port": free_port(),
            "temporal_port": free_port(),
            "temporal_ui_port": free_port(),
            "api_port": free_port(),
            "api_host": "127.0.0.1",
        }
    )


def scratch_env(
    settings: Settings, recorder_url: str, after: int, data_dir: Path
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLANTOPS_")}
    env.update(
        {
            "PLANTOPS_DATA_DIR": str(data_dir),
            "PLANTOPS_PG_PORT": str(settings.pg_port),
            "PLANTOPS_TEMPORAL_PORT": str(settings.temporal_port),
            "PLANTOPS_TEMPORAL_UI_PORT": str(settings.temporal_ui_port),
            "PLANTOPS_API_HOST": settings.api_host,
            "PLANTOPS_API_PORT": str(settings.api_port),
            "PLANTOPS_TASK_QUEUE": settings.task_queue,
            "PLANTOPS_LOG_LEVEL": "WARNING",
            "PLANTOPS_TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "PLANTOPS_TWILIO_AUTH_TOKEN": "bench",
            "PLANTOPS_TWILIO_FROM_NUMBER": "+15550000000",
            "PLANTOPS_TWILIO_WHATSAPP_FROM": "+15550000001",
            "PLANTOPS_TWILIO_API_BASE": recorder_url,
            "PLANTOPS_VOICE_CALL_AFTER_SECONDS": str(after),
            "PLANTOPS_RESPONSE_G1_MINUTES": str(g1_minutes(after)),
        }
    )
    return env


def g1_minutes(after: int) -> int:
    """The G1 response time under test: the voice-call delay, rounded up to whole minutes,
    so both timers of every anomaly fire in the same stretch of the run."""
    return max(1, math.ceil(after / 60))


# -- the burst --


G1_REPORT = {
    "asset": "SAW-JKS-001",
    "channel": "API",
    "safety_impact": "IMMEDIATE",
    "urgency": "URGENT",
}


async def register_burst(
    settings: Settings, database_url: str, count: int, rate: float, after: int
) -> tuple[list[str], list[str]]:
    """Registers `count` G1 anomalies as the operator, the i-th at start + i / rate, not
    waiting for the one before. It calls what the API's POST calls (record, then start the
    workflow), without HTTP, so the burst keeps its rate while the system is busy."""
    from sqlalchemy import select
    from temporalio.client import Client

    from api.anomaly_actions import register_and_start
    from domain.actor import Actor
    from domain.db import make_engine, make_sessionmaker
    from domain.models import User
    from domain.schemas.anomalies import AnomalyReport

    # The registrations' database work runs in threads (asyncio.to_thread, as in the API):
    # enough of them that a slow commit does not hold the next registrations back.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=16))
    refs: list[str] = []
    errors: list[str] = []
    address = f"127.0.0.1:{settings.temporal_port}"
    client = await Client.connect(address, namespace=settings.temporal_namespace)
    engine = make_engine(database_url, pool_size=10, max_overflow=10)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        u = session.scalars(select(User).where(User.username == "operator")).one()
        operator = Actor(u.id, u.username, u.full_name, u.organization_id, tuple(u.roles))
    # The scratch system's own timings (scratch_env): the watches started here enforce the
    # deadline its lifecycles write, as the API's registration does there.
    live = settings.model_copy(
        update={"voice_call_after_seconds": after, "response_g1_minutes": g1_minutes(after)}
    )
    start = time.monotonic()

    async def one(i: int) -> None:
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        report = AnomalyReport(
            **G1_REPORT,
            title=f"timer bench {i}",
            description=f"timer benchmark anomaly {i}, nobody acknowledges",
        )
        session = sessions()
        try:
            refs.append(
                await register_and_start(
                    client=client, settings=live, session=session, actor=operator, report=report
                )
            )
        except Exception as err:  # any failure is counted, the burst goes on
            errors.append(f"anomaly {i}: {type(err).__name__} {err}")
        finally:
            session.close()  # nothing to hand back: the registration committed before Temporal

    try:
        await asyncio.gather(*(one(i) for i in range(count)))
    finally:
        engine.dispose()
    print(f"registered {len(refs)} in {time.monotonic() - start:.1f} s", flush=True)
    return refs, errors


def registered_at(database_url: str, refs: list[str]) -> dict[str, float]:
    from sqlalchemy import select

    from domain.db import make_engine, make_sessionmaker
    from domain.models import Anomaly

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            rows = session.execute(
                select(Anomaly.reference, Anomaly.registered_at).where(Anomaly.reference.in_(refs))
            ).all()
    finally:
        engine.dispose()
    return {ref: _epoch(at) for ref, at in rows}


def _epoch(at: datetime) -> float:
    return at.timestamp()


async def wait_for(recorder: Recorder, refs: list[str], until: float) -> None:
    """Until every anomaly's voice call and escalation arrived, or `until` passes."""
    wanted = set(refs)
    last = -1
    while time.time() < until:
        voice, esc = recorder.first("VOICE"), recorder.first("ESCALATION")
        done = len(wanted & voice.keys()) + len(wanted & esc.keys())
        if done == 2 * len(wanted):
            return
        if done != last and done:
            print(f"  arrived {done} of {2 * len(wanted)}", flush=True)
            last = done
        await asyncio.sleep(5)


def run(settings: Settings, count: int, after: int, rate: float, keep: bool) -> None:
    settings = scratch_settings(settings)
    data_dir = (settings.data_dir / "bench-timers").resolve()
    recorder = Recorder().start()
    system = ScratchSystem(settings, data_dir, scratch_env(settings, recorder.url, after, data_dir))
    print(
        f"timers: {count} G1 anomalies at {rate:g}/s, voice call after {after} s, "
        f"G1 response {g1_minutes(after)} min; load average {_load()}",
        flush=True,
    )
    print(f"starting a scratch plantops in {data_dir} (log {system.log})", flush=True)
    try:
        system.start()
        loaded = time.time()  # the demo is loaded before the API answers
        up = system.process.pid if system.process else None
        t0 = time.monotonic()
        asyncio.run(first_summaries(settings, loaded))
        rest = settle(up)
        print(
            f"scratch system at rest after {time.monotonic() - t0:.0f} s (its first OEE "
            f"snapshot taken), using {rest:.2f} "
            f"cores; load average {_load()}",
            flush=True,
        )
        idle = cpu_by_part(up)
        refs, errors = asyncio.run(
            register_burst(settings, system.database_url(), count, rate, after)
        )
        burst = cpu_by_part(up)
        print(f"load average {_load()}", flush=True)
        print("\n".join(cpu_lines(idle, burst, count)), flush=True)
        if not refs:
            raise StartupError("no anomaly registered: " + "; ".join(errors[:3]))
        at = registered_at(system.database_url(), refs)
        voice_due = {r: t + after for r, t in at.items()}
        escalation_due = {r: t + 60 * g1_minutes(after) for r, t in at.items()}
        last = max([*voice_due.values(), *escalation_due.values()], default=time.time())
        asyncio.run(wait_for(recorder, refs, last + GRACE))
        print("with the voice calls and escalations:")
        print("\n".join(cpu_lines(idle, cpu_by_part(up), count)), flush=True)
        print(f"load average {_load()} (1, 5, 15 min; this machine has {os.cpu_count()} cores)")
        print(
            report(
                count,
                len(refs),
                lateness("voice call", voice_due, recorder.first("VOICE")),
                lateness("escalation", escalation_due, recorder.first("ESCALATION")),
                errors,
            )
        )
    finally:
        system.stop(keep)
        recorder.stop()
