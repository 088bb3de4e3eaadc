"""Async routes keep their database work off the event loop: a slow statement on the loop
would hold up every other request. A listener on the engine notes each statement run on a
thread that has a running loop (a worker thread has none), with the route's frame."""

import asyncio
import re
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, event, select

import api
from domain.models import PmSchedule
from tests.api.test_anomalies_api import REPORT
from tests.api.test_sensors_api import SENSOR, _batch
from tests.api.test_web_anomalies import _login
from tests.api.test_work_orders_api import _create
from tests.oee_helpers import saw_line

ROOT = str(Path(api.__file__).parent.parent) + "/"


@contextmanager
def on_the_loop(engine: Engine) -> Iterator[list[str]]:
    """The api/ frames that ran a statement on the event loop's thread."""
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a worker thread: fine
            return
        frames = [f"{f.filename[len(ROOT):]}:{f.name}" for f in traceback.extract_stack()
                  if f.filename.startswith(ROOT) and "/tests/" not in f.filename]  # fmt: skip
        seen.append(" < ".join(reversed(frames[-3:])) or statement[:60])

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


async def test_writes_and_temporal_calls_keep_the_database_off_the_loop(
    client, token_for, sessions, engine
):
    saw_line(sessions)
    operator, planner = token_for("operator"), token_for("planner")
    admin, supervisor = token_for("admin"), token_for("supervisor")
    tech, quality = token_for("tech"), token_for("quality")
    with sessions() as s:
        schedule = s.scalar(select(PmSchedule.id).order_by(PmSchedule.id).limit(1))
    number = await _create(client, token_for)  # a draft work order
    soon = (datetime.now(UTC) + timedelta(days=20)).date()
    asset = {
        "asset_number": "CRANE-JKS-LOOP", "name": "Jib crane", "type_code": "SAW",
        "criticality": "B", "site_code": "JKS",
        "requires_certification": True, "certification_expiry": soon.isoformat(),
    }  # fmt: skip
    with on_the_loop(engine) as seen:
        # The OEE stops through the API: recorded (its watch started), then ended.
        stop = {"machine": "SAW-JKS-001", "reason_code": "BD-ELEC"}
        r = await client.post("/api/v1/oee/downtime", json=stop, headers=operator)
        assert r.status_code == 201, r.text
        r = await client.put(f"/api/v1/oee/downtime/{r.json()['id']}/end", json={},
                             headers=operator)  # fmt: skip
        assert r.status_code == 200, r.text
        # An asset whose certificate starts its schedule, then moves it.
        r = await client.post("/api/v1/maintenance/assets", json=asset, headers=planner)
        assert r.status_code == 201, r.text
        later = {"certification_expiry": (soon + timedelta(days=300)).isoformat(),
                 "reason": "renewed"}  # fmt: skip
        r = await client.put("/api/v1/maintenance/assets/CRANE-JKS-LOOP", json=later,
                             headers=planner)  # fmt: skip
        assert r.status_code == 200, r.text
        # A status change through the asset's workflow; a meter reading told to its schedules.
        assets = "/api/v1/maintenance/assets"
        r = await client.post(f"{assets}/SAW-JKS-002/status", headers=supervisor,
                              json={"status": "MAINTENANCE", "reason": "blade change"})  # fmt: skip
        assert r.status_code == 200, r.text
        r = await client.post(f"{assets}/SAW-JKS-001/meters", headers=tech,
                              json={"meter_type": "HOURS", "reading": 99999})  # fmt: skip
        assert r.status_code == 201, r.text
        # A PM schedule read with its live state, then paused through its workflow.
        pm = f"/api/v1/maintenance/pm-schedules/{schedule}"
        assert (await client.get(pm, headers=planner)).status_code == 200
        r = await client.post(f"{pm}/pause", json={"reason": "line rebuilt"}, headers=planner)
        assert r.status_code in (200, 404, 409), r.text
        # A task added to the work order through its workflow.
        r = await client.post(f"/api/v1/maintenance/work-orders/{number}/tasks",
                              json={"description": "Check the guard"}, headers=planner)  # fmt: skip
        assert r.status_code == 201, r.text
        # An SPC violation drafting a quality work order and starting its lifecycle.
        spc = {"asset": "SAW-JKS-001", "violation_id": "SPC-9", "rule": 4,
               "characteristic": "cut length"}  # fmt: skip
        r = await client.post("/api/v1/maintenance/quality/spc-violations", json=spc,
                              headers=quality)  # fmt: skip
        assert r.status_code == 201, r.text
        # A sensor breach: its anomaly looked up and its lifecycle started.
        r = await client.post("/api/v1/sensors", json=SENSOR, headers=planner)
        assert r.status_code == 201, r.text
        r = await client.post("/api/v1/sensor-gateways", json={"name": "hall A"},
                              headers=admin)  # fmt: skip
        key = {"X-API-Key": r.json()["api_key"]}
        start = datetime.now(UTC) - timedelta(minutes=5)
        r = await client.post("/api/v1/sensor-readings", json=_batch([70, 85], start),
                              headers=key)  # fmt: skip
        assert r.status_code == 200 and r.json()["registered"], r.text
        (reference,) = r.json()["registered"]
        # An anomaly reported by hand, then handed to a technician by name.
        r = await client.post("/api/v1/anomalies", json=REPORT, headers=supervisor)
        assert r.status_code == 201, r.text
        r = await client.post(f"/api/v1/anomalies/{r.json()['reference']}/reassign",
                              json={"assignee": "tech", "reason": "closest"},
                              headers=supervisor)  # fmt: skip
        assert r.status_code in (200, 403, 409, 422), r.text
        # A person's action through the gateway: the organisation check, then the update.
        r = await client.post(f"/api/v1/anomalies/{reference}/acknowledge-alert",
                              headers=supervisor)  # fmt: skip
        assert r.status_code in (200, 403, 409, 422), r.text
        # The OEE page's buttons: a stop opened and ended, an output recorded.
        await _login(client, "operator")
        page = (await client.get("/oee?machine=SAW-JKS-001")).text
        r = await client.post("/oee/downtime", data={"csrf_token": _csrf(page),
                              "machine": "SAW-JKS-001", "category": "breakdown"})  # fmt: skip
        assert r.status_code == 303, r.text
        page = (await client.get("/oee?machine=SAW-JKS-001")).text
        stop = re.search(r'action="/oee/downtime/(\d+)/end"', page).group(1)
        r = await client.post(f"/oee/downtime/{stop}/end", data={"csrf_token": _csrf(page)})
        assert r.status_code == 303, r.text
        output = {
            "csrf_token": _csrf(page), "machine": "SAW-JKS-001", "total": "10", "good": "9",
            "period_start": "2026-06-02T06:00", "period_end": "2026-06-02T07:00",
        }  # fmt: skip
        r = await client.post("/oee/output", data=output)
        assert r.status_code == 303, r.text
    assert seen == [], "\n".join(sorted(set(seen)))


async def test_reports_stop_work_uploads_and_work_order_writes_keep_the_database_off_the_loop(
    client, token_for, engine
):
    from tests.api.test_anomalies_api import PNG
    from tests.api.test_imports_api import _done, row, upload, workbook
    from tests.api.test_interleavings import REPORT as BREAKDOWN
    from tests.api.test_web_sensors import FORM

    maint = "/api/v1/maintenance"
    operator, planner, ehs = token_for("operator"), token_for("planner"), token_for("ehs")
    supervisor, tech = token_for("supervisor"), token_for("tech")
    r = await client.post("/api/v1/anomalies", json=REPORT, headers=supervisor)
    assert r.status_code == 201, r.text
    anomaly = r.json()["reference"]
    order = {"asset": "SAW-JKS-001", "type": "CORRECTIVE", "title": "Loose guard",
             "description": "Guard rattles at speed"}  # fmt: skip
    with on_the_loop(engine) as seen:
        # A work order created, edited before approval and scheduled.
        r = await client.post(f"{maint}/work-orders", json=order, headers=planner)
        assert r.status_code == 201, r.text
        number = r.json()["number"]
        r = await client.put(f"{maint}/work-orders/{number}", headers=planner,
                             json={"title": "Loose guard, left side"})  # fmt: skip
        assert r.status_code in (200, 409), r.text
        soon = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
        r = await client.post(f"{maint}/work-orders/{number}/schedule", headers=planner,
                              json={"scheduled_date": soon, "assignee": "tech"})  # fmt: skip
        assert r.status_code in (200, 409, 422), r.text
        # A stop-work raised and cleared by EHS, then an operator's breakdown report.
        r = await client.post(f"{maint}/stop-work", headers=operator,
                              json={"asset": "SAW-JKS-001", "reason": "Guard off"})  # fmt: skip
        assert r.status_code == 201, r.text
        swa = r.json()["stop_work_id"]
        r = await client.post(f"{maint}/stop-work/{swa}/clear", json={"reason": "refitted"},
                              headers=ehs)  # fmt: skip
        assert r.status_code == 200, r.text
        r = await client.post(f"{maint}/reports/operator", json=BREAKDOWN, headers=operator)
        assert r.status_code == 201, r.text
        # A photo added to an anomaly; a workbook of anomalies uploaded.
        r = await client.post(f"/api/v1/anomalies/{anomaly}/attachments", headers=tech,
                              data={"kind": "BEFORE_PHOTO"},
                              files={"file": ("guard.png", PNG, "image/png")})  # fmt: skip
        assert r.status_code in (201, 409), r.text  # stored first either way
        book = workbook([row("SAW-JKS-001", "Coolant drip under the saw")])
        r = await client.post("/api/v1/anomalies/imports", files=upload(book),
                              headers=supervisor)  # fmt: skip
        assert r.status_code in (200, 202), r.text
        # Its lifecycle starts the imported anomalies' own (on the worker's loop).
        done = await _done(client, supervisor, r.json()["id"])
        assert done["registered"] == 1, done
        # Pages: a planner's queue and work order, a sensor saved (refused, then saved).
        csrf = await _login(client, "planner")
        r = await client.get("/queue")
        assert r.status_code == 200, r.text
        r = await client.get(f"/work-orders/{number}")
        assert r.status_code == 200 and number in r.text, r.text
        bad = FORM | {"rules.0.threshold": "", "csrf_token": csrf}
        r = await client.post("/sensors/new", data=bad)
        assert r.status_code == 422, r.text
        r = await client.post("/sensors/new", data=FORM | {"csrf_token": csrf})
        assert r.status_code == 303, r.text
    assert seen == [], "\n".join(sorted(set(seen)))
