"""`plantops bench import --rows N`: how long from the upload of an N-row workbook to every
row registered. It starts a whole plantops of its own (`plantops up` in a scratch data
folder, on free ports, as `bench timers` does), takes the template as the supervisor, fills
it with N valid rows over the assets it lists, uploads it through the API and polls the
import until it is done. The figure is printed with the load average."""

from __future__ import annotations

import asyncio
import io
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from openpyxl import Workbook, load_workbook

from domain.rules import imports as rules
from domain.settings import Settings
from workers.bench import PASSWORD, SUPERVISOR
from workers.bench_cpu import CpuMeter
from workers.bench_timers import Recorder, ScratchSystem, _load, scratch_env, scratch_settings
from workers.embedded import StartupError

BASE = "/api/v1/anomalies/imports"
POLL_EVERY = 0.1
WAIT_FOR = 900.0  # seconds before an unfinished import counts as failed
TARGET = 10.0  # seconds for 1,000 rows
STARTS = 3  # tries at starting the scratch system


def fill(assets: list[str], rows: int, tag: str) -> bytes:
    """N valid rows, each its own (asset, detection time, title), spread over the assets."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(rules.SHEET)
    sheet.append(list(rules.NAMES))
    start = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(days=30)
    for i in range(rows):
        values = {
            "asset": assets[i % len(assets)],
            "title": f"Bench import {tag} row {i}",
            "description": f"Benchmark anomaly {i} from the monthly safety round",
            "detected_at": start + timedelta(minutes=i),
            "safety_impact": "NONE",
            "urgency": "CAN_WAIT",
        }
        sheet.append([values.get(name) for name in rules.NAMES])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _sign_in(http: httpx.AsyncClient, system: ScratchSystem) -> httpx.Response | None:
    """The supervisor's token once the API answers; None if the scratch system stopped."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if system.process is not None and system.process.poll() is not None:
            return None
        try:
            return await http.post(
                "/api/v1/auth/token", json={"username": SUPERVISOR, "password": PASSWORD}
            )
        except httpx.TransportError:
            await asyncio.sleep(1)
    return None


async def measure(url: str, rows: int, system: ScratchSystem) -> bool:
    """False when the scratch system stopped before it answered (try it again)."""
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        login = await _sign_in(http, system)
        if login is None:
            return False
        if not login.is_success:
            raise StartupError(f"login {SUPERVISOR}: {login.status_code} {login.text[:200]}")
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        template = await http.get(f"{BASE}/template", headers=headers)
        lists = load_workbook(io.BytesIO(template.content), read_only=True)["Lists"]
        assets = [r[0] for r in lists.iter_rows(min_row=2, max_col=1, values_only=True) if r[0]]
        content = fill(assets, rows, datetime.now(UTC).strftime("%H%M%S"))
        print(
            f"workbook: {rows} rows over {len(assets)} assets, {len(content) / 1024:.0f} KB; "
            f"load average {_load()}",
            flush=True,
        )
        meter = CpuMeter(system.process.pid if system.process else None).start()
        t0 = time.perf_counter()
        answer = await http.post(
            BASE, files={"file": ("bench.xlsx", content, rules.XLSX_TYPE)}, headers=headers
        )
        accepted = time.perf_counter() - t0
        if answer.status_code != 202:
            raise StartupError(f"upload refused: {answer.status_code} {answer.text[:300]}")
        ref = answer.json()["id"]
        body = answer.json()
        registered_in = done_in = None
        registered_cpu = done_cpu = 0.0
        shown = -1
        while time.perf_counter() - t0 < WAIT_FOR:
            body = (await http.get(f"{BASE}/{ref}", headers=headers)).json()
            now = time.perf_counter() - t0
            if registered_in is None and body["processed"] >= body["rows"]:
                registered_in, registered_cpu = now, meter.seconds()
            if body["state"] == "DONE":
                done_in, done_cpu = now, meter.seconds()
                break
            if body["processed"] != shown and int(now) % 5 == 0:
                print(f"  {now:5.1f} s  {body['processed']} of {body['rows']} rows", flush=True)
                shown = body["processed"]
            await asyncio.sleep(POLL_EVERY)
    print(f"\nimport {ref}")
    print(f"  upload answered (202)      {accepted:.2f} s")
    print(f"  state                      {body['state']}")
    print(f"  rows                       {body['rows']}")
    print(f"  registered                 {body['registered']}")
    print(f"  refused / duplicates       {body['refused']} / {body['duplicates']}")
    if registered_in is None:
        print(f"  NOT every row registered after {WAIT_FOR:.0f} s")
        return True
    rate = body["registered"] / registered_in
    print(f"  all rows registered in     {registered_in:.2f} s ({rate:.0f} rows/s)")
    per = 1 / max(1, body["registered"])
    print(f"  CPU until registered       {registered_cpu:.2f} s, {registered_cpu * per:.4f} s/row")
    if done_in is not None:
        print(f"  every lifecycle started in {done_in:.2f} s (import DONE)")
        print(f"  CPU until DONE             {done_cpu:.2f} s, {done_cpu * per:.4f} s/row")
    print("  (CPU: the scratch plantops' processes: API, worker, PostgreSQL, Temporal)")
    target = TARGET * rows / 1000
    verdict = "met" if body["registered"] == rows and registered_in <= target else "NOT met"
    print(f"  target (under {target:g} s)      {verdict}")
    print(f"load average {_load()} (1, 5, 15 min; this machine has {os.cpu_count()} cores)")
    return True


def run(settings: Settings, rows: int, keep: bool) -> None:
    if rows > rules.MAX_ROWS:
        raise StartupError(f"--rows: at most {rules.MAX_ROWS} rows per workbook")
    settings = scratch_settings(settings)
    data_dir = (Path(settings.data_dir) / "bench-import").resolve()
    recorder = Recorder().start()  # a G1 row would page: its messages land here
    env = scratch_env(settings, recorder.url, settings.voice_call_after_seconds, data_dir)
    system = ScratchSystem(settings, data_dir, env)
    print(f"starting a scratch plantops in {data_dir} (log {system.log})", flush=True)
    url = f"http://127.0.0.1:{settings.api_port}"
    try:
        # On a loaded machine `plantops up` may give up on a slow API start: start again.
        for attempt in range(1, STARTS + 1):
            try:
                system.start()
                if asyncio.run(measure(url, rows, system)):
                    return
            except StartupError as err:
                if attempt == STARTS:
                    raise
                print(f"the scratch plantops did not come up ({err}); again", flush=True)
            system.stop(keep=False)
        raise StartupError(f"the scratch plantops did not come up in {STARTS} tries")
    finally:
        system.stop(keep)
        recorder.stop()
