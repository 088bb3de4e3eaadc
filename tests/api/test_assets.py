"""The asset endpoints of seed 003 J.1 against real PostgreSQL and Temporal."""

import os
from pathlib import Path

from sqlalchemy import select
from temporalio.worker import Replayer

from domain import demo_data
from domain.models import Asset, AuditLog
from workers import registry
from workflows.asset import AssetWorkflow

HISTORIES = Path(__file__).parent.parent / "histories"

BASE = "/api/v1/maintenance/assets"
NEW = {
    "asset_number": "saw-jks-009",
    "name": "Cold saw 9",
    "type_code": "SAW",
    "criticality": "B",
    "site_code": "JKS",
    "manufacturer": "Kasto",
    "meters": [{"meter_type": "HOURS", "unit": "h"}],
}


async def test_list_filters_and_paginates(client, token_for):
    h = token_for("planner")
    r = await client.get(BASE, params={"site": "JKS", "limit": 2}, headers=h)
    assert r.status_code == 200
    page = r.json()
    assert page["limit"] == 2 and len(page["items"]) == 2 and page["total"] > 2
    assert all(a["site_code"] == "JKS" for a in page["items"])
    second = (
        await client.get(BASE, params={"site": "JKS", "limit": 2, "offset": 2}, headers=h)
    ).json()
    assert {a["asset_number"] for a in second["items"]}.isdisjoint(
        {a["asset_number"] for a in page["items"]}
    )
    crit = (await client.get(BASE, params={"criticality": "A", "limit": 500}, headers=h)).json()
    assert crit["total"] > 0 and all(a["criticality"] == "A" for a in crit["items"])


async def test_list_rejects_bad_filter_by_name(client, token_for):
    r = await client.get(BASE, params={"status": "BROKEN"}, headers=token_for("planner"))
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "status"


async def test_operator_sees_only_its_work_centre(client, token_for):
    r = await client.get(BASE, params={"limit": 500}, headers=token_for("operator"))
    everything = await client.get(BASE, params={"limit": 500}, headers=token_for("manager"))
    assert 0 < r.json()["total"] < everything.json()["total"]
    centres = {a["work_center_code"] for a in r.json()["items"]}
    assert len(centres) == 1


async def test_create_get_update_and_audit(client, token_for, sessions):
    h = token_for("planner")
    r = await client.post(BASE, json=NEW, headers=h)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["asset_number"] == "SAW-JKS-009"
    assert created["status"] == "IN_SERVICE"
    assert created["meters"][0]["meter_type"] == "HOURS"
    got = await client.get(f"{BASE}/saw-jks-009", headers=h)
    assert got.json()["id"] == created["id"]
    r = await client.put(
        f"{BASE}/SAW-JKS-009",
        headers=h,
        json={"criticality": "A", "reason": "only saw for 12 in bar"},
    )
    assert r.status_code == 200 and r.json()["criticality"] == "A"
    with sessions() as s:
        rows = s.scalars(
            select(AuditLog).where(AuditLog.entity_id == "SAW-JKS-009").order_by(AuditLog.id)
        ).all()
    assert [r.action for r in rows] == ["CREATE", "UPDATE"]
    update = rows[1]
    assert update.changed_fields == ["criticality"]
    assert update.previous_state["criticality"] == "B" and update.new_state["criticality"] == "A"
    assert update.user_role == "MAINT_PLANNER" and update.reason == "only saw for 12 in bar"


async def test_create_refusals_name_the_field(client, token_for, sessions):
    h = token_for("planner")
    r = await client.post(BASE, json={**NEW, "type_code": "NOPE"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "type_code"
    r = await client.post(BASE, json={**NEW, "criticality": "Z"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "criticality"
    r = await client.post(BASE, json={**NEW, "asset_number": "SAW-JKS-001"}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["field"] == "asset_number"
    with sessions() as s:
        assert s.scalar(select(Asset).where(Asset.asset_number == "SAW-JKS-009")) is None


async def test_unknown_asset_is_404(client, token_for):
    r = await client.get(f"{BASE}/NOPE-1", headers=token_for("manager"))
    assert r.status_code == 404 and r.json()["error"]["type"] == "NotFound"


async def test_status_change_goes_through_the_rule_table(
    client, token_for, sessions, temporal_client
):
    h = token_for("supervisor")
    r = await client.post(
        f"{BASE}/SAW-JKS-001/status",
        headers=h,
        json={"status": "MAINTENANCE", "reason": "blade change"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "MAINTENANCE"
    assert r.json()["status_reason"] == "blade change"

    r = await client.post(
        f"{BASE}/SAW-JKS-001/status", headers=h, json={"status": "IN_SERVICE", "reason": "done now"}
    )
    assert r.status_code == 422
    assert "PENDING_RETURN" in r.json()["error"]["message"]

    r = await client.post(
        f"{BASE}/SAW-JKS-001/status",
        headers=h,
        json={"status": "PENDING_RETURN", "reason": "blade fitted, tested"},
    )
    assert r.status_code == 200
    r = await client.post(
        f"{BASE}/SAW-JKS-001/status",
        headers=h,
        json={"status": "IN_SERVICE", "reason": "looks good"},
    )
    assert r.status_code == 403
    assert "MAINT_MANAGER" in r.json()["error"]["message"]
    r = await client.post(
        f"{BASE}/SAW-JKS-001/status",
        headers=token_for("manager"),
        json={"status": "IN_SERVICE", "reason": "approved"},
    )
    assert r.status_code == 200 and r.json()["status"] == "IN_SERVICE"

    history = (await client.get(f"{BASE}/SAW-JKS-001/history", headers=h)).json()["items"]
    changes = [
        (i["previous_state"]["status"], i["new_state"]["status"], i["user_role"])
        for i in history
        if i["action"] == "STATUS_CHANGE"
    ]
    assert changes == [
        ("PENDING_RETURN", "IN_SERVICE", "MAINT_MANAGER"),
        ("MAINTENANCE", "PENDING_RETURN", "MAINT_SUPERVISOR"),
        ("IN_SERVICE", "MAINTENANCE", "MAINT_SUPERVISOR"),
    ]
    org_code = demo_data.ORGANIZATION["code"]
    handle = temporal_client.get_workflow_handle(f"ASSET-{org_code}-SAW-JKS-001")
    state = await handle.query(AssetWorkflow.get_state)
    assert state.status == "IN_SERVICE" and len(state.history) == 3

    # This run has the search attributes of a real server; keep it for the replay tests.
    history = await handle.fetch_history()
    await Replayer(workflows=registry.WORKFLOWS).replay_workflow(history)
    if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
        (HISTORIES / "asset_status_via_api.json").write_text(history.to_json())


async def test_status_change_validation_names_the_field(client, token_for):
    h = token_for("manager")
    r = await client.post(
        f"{BASE}/SAW-JKS-001/status", headers=h, json={"status": "BROKEN", "reason": "x y z"}
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "status"
    r = await client.post(f"{BASE}/SAW-JKS-001/status", headers=h, json={"status": "MAINTENANCE"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "reason"


async def test_ehs_only_handles_safety_holds(client, token_for):
    h = token_for("ehs")
    r = await client.post(
        f"{BASE}/ROUTER-JKS-001/status",
        headers=h,
        json={"status": "MAINTENANCE", "reason": "dust extraction"},
    )
    assert r.status_code == 403 and "EHS may only" in r.json()["error"]["message"]
    r = await client.post(
        f"{BASE}/ROUTER-JKS-001/status",
        headers=h,
        json={"status": "SAFETY_HOLD", "reason": "guard interlock bypassed"},
    )
    assert r.status_code == 200 and r.json()["status"] == "SAFETY_HOLD"
    # A hold set by hand is a stop-work: only clearing it releases the asset.
    r = await client.post(
        f"{BASE}/ROUTER-JKS-001/status",
        headers=token_for("manager"),
        json={"status": "MAINTENANCE", "reason": "fix the interlock"},
    )
    assert r.status_code == 409 and "under a stop-work" in r.json()["error"]["message"]
    r = await client.post(
        f"{BASE}/ROUTER-JKS-001/status",
        headers=h,
        json={"status": "MAINTENANCE", "reason": "interlock refitted"},
    )
    assert r.status_code == 409 and "clearing the stop-work" in r.json()["error"]["message"]


async def test_meter_readings_only_go_up(client, token_for, sessions):
    h = token_for("tech")
    r = await client.post(
        f"{BASE}/SAW-JKS-001/meters", headers=h, json={"meter_type": "HOURS", "reading": 99999}
    )
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["reading"] == 99999 and first["previous_reading"] is not None
    r = await client.post(
        f"{BASE}/SAW-JKS-001/meters", headers=h, json={"meter_type": "HOURS", "reading": 99998.5}
    )
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "reading"
    assert "lower than the last reading 99999" in r.json()["error"]["message"]
    r = await client.post(
        f"{BASE}/SAW-JKS-001/meters", headers=h, json={"meter_type": "MILES", "reading": 5}
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "meter_type"
    listing = (await client.get(f"{BASE}/SAW-JKS-001/meters", headers=h)).json()
    assert listing["total"] == 1 and listing["items"][0]["reading"] == 99999
    detail = (await client.get(f"{BASE}/SAW-JKS-001", headers=h)).json()
    hours = next(m for m in detail["meters"] if m["meter_type"] == "HOURS")
    assert hours["current_reading"] == 99999


async def test_an_asset_saved_while_temporal_is_away_answers_as_saved(
    client, token_for, sessions, settings, temporal_client
):
    """Seed 003 C.1: its certificate's schedule cannot start (nor be told a moved expiry)
    while Temporal is away; the asset answers as saved all the same, and the worker's start
    picks the schedule's lifecycle up once Temporal is back."""
    import asyncio
    import sys
    from datetime import UTC, datetime, timedelta

    import httpx
    from temporalio.client import Client
    from temporalio.service import RetryConfig
    from temporalio.testing import WorkflowEnvironment

    from api.app import create_app
    from domain.models import PmSchedule
    from workers.pm_start import start_missing_pm_schedules
    from workflows.pm_schedule import PMScheduleWorkflow

    # A client whose server has gone (a real one, stopped), retrying little.
    server = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server")
    )
    away = await Client.connect(
        server.client.service_client.config.target_host, retry_config=RetryConfig(max_retries=1)
    )
    await server.shutdown()
    app = create_app(settings, sessions=sessions, temporal=away)
    h = token_for("planner")
    soon = (datetime.now(UTC) + timedelta(days=20)).date()
    body = NEW | {"asset_number": "CRANE-JKS-AWAY", "requires_certification": True,
                  "certification_expiry": soon.isoformat()}  # fmt: skip
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as c:
        r = await c.post(BASE, json=body, headers=h)
        assert r.status_code == 201, r.text
        assert r.json()["requires_certification"] is True
        later = {"certification_expiry": (soon + timedelta(days=365)).isoformat(),
                 "reason": "renewed"}  # fmt: skip
        r = await c.put(f"{BASE}/CRANE-JKS-AWAY", json=later, headers=h)
        assert r.status_code == 200, r.text
    with sessions() as s:
        schedule = s.scalars(
            select(PmSchedule).where(PmSchedule.code == "CERTIFICATION@CRANE-JKS-AWAY")
        ).one()
        assert schedule.last_step == 0  # never started
    # Temporal is back: the worker's start takes up the schedule that has no lifecycle.
    started = await start_missing_pm_schedules(temporal_client, sessions, settings)
    assert f"PMS-{schedule.id}" in started
    handle = temporal_client.get_workflow_handle(f"PMS-{schedule.id}")
    for _ in range(100):
        state = await handle.query(PMScheduleWorkflow.get_state)
        if state.status == "WAITING":
            break
        await asyncio.sleep(0.1)
    assert state.status == "WAITING", state
    # It reads the expiry moved while it was away: a year out, nothing is due yet.
    assert state.facts.next_due_date.date() > soon + timedelta(days=300)
