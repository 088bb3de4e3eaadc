"""The sensor API against real PostgreSQL and a Temporal dev server with the worker: sensors
and gateways managed per organisation, readings sent with a gateway's key, a breach opening
an anomaly whose lifecycle hears the rule's return to normal."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from domain.models import AuditLog, SensorRuleState, sensor_readings

SENSOR = {
    "asset": "SAW-JKS-001",
    "code": "TT-101",
    "name": "Saw 1 main bearing",
    "kind": "TEMPERATURE",
    "unit": "°C",
    "expected_interval_seconds": 60,
    "rules": [
        {
            "kind": "HIGH",
            "threshold": 80,
            "deadband": 2,
            "safety_impact": "SERIOUS",
            "urgency": "URGENT",
        }
    ],
}


def _batch(values, start: datetime, code="TT-101") -> dict:
    return {
        "readings": [
            {"sensor": code, "time": (start + timedelta(seconds=i)).isoformat(), "value": v}
            for i, v in enumerate(values)
        ]
    }


def _stored(sessions) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(sensor_readings))


async def test_sensors_and_gateways_are_managed_per_organisation(client, token_for):
    planner, tech = token_for("planner"), token_for("tech")
    r = await client.post("/api/v1/sensors", json=SENSOR, headers=planner)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["rules"][0]["description"] == "above 80 °C" and body["asset"] == "SAW-JKS-001"
    rule_id = body["rules"][0]["id"]
    r = await client.post("/api/v1/sensors", json=SENSOR, headers=planner)
    assert r.status_code == 409 and r.json()["error"]["field"] == "code"
    bad = SENSOR | {"code": "TT-102", "rules": [{"kind": "RATE", "threshold": 0}]}
    r = await client.post("/api/v1/sensors", json=bad, headers=planner)
    assert r.status_code == 422 and r.json()["error"]["field"].startswith("rules.0")
    r = await client.post("/api/v1/sensors", json=SENSOR | {"code": "X"}, headers=tech)
    assert r.status_code == 403
    # An edit keeps the named rule and adds a rate rule.
    edit = SENSOR | {
        "rules": [
            SENSOR["rules"][0] | {"id": rule_id, "for_seconds": 30},
            {"kind": "RATE", "threshold": 5, "deadband": 1},
        ]
    }
    r = await client.put("/api/v1/sensors/tt-101", json=edit, headers=planner)
    assert r.status_code == 200, r.text
    assert [x["id"] == rule_id for x in r.json()["rules"]] == [True, False]
    assert r.json()["rules"][0]["description"] == "above 80 °C for at least 30 s"
    r = await client.get("/api/v1/sensors?asset=SAW-JKS-001", headers=tech)
    assert r.json()["total"] == 1
    # Another organisation sees none of it.
    other = token_for("b-manager")
    assert (await client.get("/api/v1/sensors/TT-101", headers=other)).status_code == 404
    assert (await client.get("/api/v1/sensors", headers=other)).json()["total"] == 0
    r = await client.delete("/api/v1/sensors/TT-101", headers=other)
    assert r.status_code == 404
    # Gateways: the key is shown once, by the administrator.
    for person in ("manager", "opsmanager"):  # the latter configures a little, not keys
        r = await client.post(
            "/api/v1/sensor-gateways", json={"name": "hall A"}, headers=token_for(person)
        )
        assert r.status_code == 403, person
    r = await client.post(
        "/api/v1/sensor-gateways", json={"name": "hall A"}, headers=token_for("admin")
    )
    assert r.status_code == 201 and r.json()["api_key"].startswith(r.json()["key_prefix"])
    listed = (await client.get("/api/v1/sensor-gateways", headers=token_for("admin"))).json()
    assert "api_key" not in listed[0]
    assert (await client.delete("/api/v1/sensors/TT-101", headers=planner)).status_code == 204
    assert (await client.get("/api/v1/sensors/TT-101", headers=planner)).status_code == 404


async def test_readings_need_a_key_and_a_breach_reaches_the_anomaly(client, token_for, sessions):
    assert (
        await client.post("/api/v1/sensors", json=SENSOR, headers=token_for("planner"))
    ).status_code == 201
    other = SENSOR | {"asset": "HBR-SAW-001", "code": "HB-TT-1"}
    r = await client.post("/api/v1/sensors", json=other, headers=token_for("b-planner"))
    assert r.status_code == 201
    r = await client.post(
        "/api/v1/sensor-gateways", json={"name": "hall A"}, headers=token_for("admin")
    )
    key = {"X-API-Key": r.json()["api_key"]}
    start = datetime.now(UTC) - timedelta(minutes=5)
    url = "/api/v1/sensor-readings"
    r = await client.post(url, json=_batch([70], start))
    assert r.status_code == 401 and r.json()["error"]["field"] == "X-API-Key"
    r = await client.post(url, json=_batch([70], start), headers={"X-API-Key": "pgw_wrong"})
    assert r.status_code == 401
    # Refused whole, the reading and the rule named; nothing stored.
    r = await client.post(url, json=_batch([70, 71], start, code="HB-TT-1"), headers=key)
    assert r.status_code == 422 and r.json()["error"]["field"] == "readings.0.sensor"
    mixed = _batch([70, 71], start)
    mixed["readings"].append({"sensor": "HB-TT-1", "time": start.isoformat(), "value": 1})
    r = await client.post(url, json=mixed, headers=key)
    assert r.status_code == 422 and r.json()["error"]["field"] == "readings.2.sensor"
    r = await client.post(url, json=_batch(["hot"], start), headers=key)
    assert r.status_code == 422 and r.json()["error"]["field"] == "readings.0.value"
    huge = {"readings": _batch([70], start)["readings"] * 10_001}
    r = await client.post(url, json=huge, headers=key)
    assert r.status_code == 422 and r.json()["error"]["field"] == "readings"
    assert _stored(sessions) == 0
    # The bearing at 85 °C against 80 °C: an anomaly, registered and started.
    r = await client.post(url, json=_batch([70, 85, 86], start), headers=key)
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == 3
    (ref,) = r.json()["registered"]
    manager = token_for("manager")
    anomaly = (await client.get(f"/api/v1/anomalies/{ref}", headers=manager)).json()
    assert anomaly["channel"] == "IOT" and anomaly["asset"] == "SAW-JKS-001"
    # Back under past the deadband once the minute since the registration has passed:
    # the anomaly's lifecycle writes it down (audit and timeline).
    with sessions() as s, s.begin():
        s.execute(
            update(SensorRuleState).values(signalled_at=datetime.now(UTC) - timedelta(minutes=2))
        )
    r = await client.post(url, json=_batch([79, 77], start + timedelta(seconds=10)), headers=key)
    assert r.json()["registered"] == [] and r.json()["updated"] == [ref]
    for _ in range(100):
        with sessions() as s:
            found = s.scalars(
                select(AuditLog).where(
                    AuditLog.entity_id == ref, AuditLog.action == "SENSOR_NORMAL"
                )
            ).all()
        if found:
            break
        await asyncio.sleep(0.1)
    assert found and "back to normal" in found[0].reason and "peak 86" in found[0].reason
    assert _stored(sessions) == 5
    # A revoked key is refused like a wrong one.
    gateway_id = (await client.get("/api/v1/sensor-gateways", headers=token_for("admin"))).json()
    r = await client.delete(
        f"/api/v1/sensor-gateways/{gateway_id[0]['id']}", headers=token_for("admin")
    )
    assert r.status_code == 200 and r.json()["is_active"] is False
    r = await client.post(url, json=_batch([70], start + timedelta(seconds=20)), headers=key)
    assert r.status_code == 401 and _stored(sessions) == 5


async def test_a_rule_naming_a_condition_schedule_drafts_its_pm_work_order(
    client, token_for, sessions
):
    """Seed 003 D.1: a sensor rule that names a CONDITION_BASED schedule of its asset opens,
    on a breach, the schedule's work order as a draft for review (beside the anomaly);
    a rule cannot name a clock schedule or another asset's."""
    from domain.models import WorkOrder

    planner = token_for("planner")
    template = {"code": "PM-SAW-VIB", "name": "Bearing check on condition", "asset_type": "SAW",
                "schedule_type": "CONDITION_BASED",
                "tasks": [{"sequence": 1, "description": "Check the main bearing"}]}  # fmt: skip
    r = await client.post("/api/v1/maintenance/pm-templates", json=template, headers=planner)
    assert r.status_code == 201, r.text
    r = await client.post(
        "/api/v1/maintenance/pm-schedules",
        json={"template": "PM-SAW-VIB", "asset": "SAW-JKS-001"},
        headers=planner,
    )
    assert r.status_code == 201, r.text
    schedule = r.json()
    rule = SENSOR["rules"][0] | {"pm_schedule": schedule["code"]}
    wrong = SENSOR | {"asset": "SAW-JKS-002", "rules": [rule]}
    r = await client.post("/api/v1/sensors", json=wrong, headers=planner)
    assert r.status_code == 422 and r.json()["error"]["field"] == "rules.0.pm_schedule"
    r = await client.post("/api/v1/sensors", json=SENSOR | {"rules": [rule]}, headers=planner)
    assert r.status_code == 201, r.text
    assert r.json()["rules"][0]["pm_schedule"] == f"PMS-{schedule['id']}"
    # The page's edit form carries the link, so a save from the page keeps it.
    from tests.api.test_web_anomalies import _login

    await _login(client, "planner")
    page = (await client.get("/sensors/TT-101")).text
    assert f'name="rules.0.pm_schedule" value="PMS-{schedule["id"]}"' in page
    r = await client.post(
        "/api/v1/sensor-gateways", json={"name": "hall A"}, headers=token_for("admin")
    )
    key = {"X-API-Key": r.json()["api_key"]}
    for _ in range(100):  # its lifecycle takes its first step on the worker
        live = await client.get(
            f"/api/v1/maintenance/pm-schedules/{schedule['id']}", headers=planner
        )
        if live.json().get("live"):
            break
        await asyncio.sleep(0.1)
    start = datetime.now(UTC) - timedelta(minutes=5)
    r = await client.post("/api/v1/sensor-readings", json=_batch([70, 85, 86], start), headers=key)
    assert r.status_code == 200 and len(r.json()["registered"]) == 1, r.text
    with sessions() as s:
        drafted = s.scalars(
            select(WorkOrder).where(WorkOrder.pm_schedule_id == schedule["id"])
        ).all()
    assert [(w.status, w.type) for w in drafted] == [("DRAFT", "PM")]
