"""OEE alerts and targets through the API (seed 002): a downtime opened starts its timer
and ending it cancels the timer; an energy reading over 120 % of the baseline raises a
spike; a person acknowledges, notes an action and resolves, each audited with who and
which role; refusals name their field; an operator handles its own machines only."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import CancelledError

from domain.models import AuditLog, Notification
from domain.models.oee_alerts import PerformanceAlert
from domain.models.production import Machine
from domain.services import energy, oee_alerts
from tests.oee_helpers import saw_line
from workflows.oee_alert import watch_id

BASE = "/api/v1/oee"


def _alert_id(sessions, alert_type: str) -> int:
    with sessions() as s:
        return s.scalar(
            select(PerformanceAlert.id)
            .where(PerformanceAlert.alert_type == alert_type)
            .order_by(PerformanceAlert.id.desc())
        )


async def test_alerts_targets_and_the_downtime_timer(client, token_for, sessions, temporal_client):
    ids = saw_line(sessions)
    sup, op, mgr = token_for("supervisor"), token_for("operator"), token_for("opsmanager")

    # A stop opened on the floor starts its watch; ending the stop cancels it.
    r = await client.post(f"{BASE}/downtime", headers=op,
                          json={"machine": "SAW-JKS-001", "reason_code": "BD-MECH"})  # fmt: skip
    assert r.status_code == 201, r.text
    stop = r.json()
    start = datetime.fromisoformat(stop["start_time"])
    watch = temporal_client.get_workflow_handle(watch_id(stop["id"], start))
    assert (await watch.describe()).status == WorkflowExecutionStatus.RUNNING
    # The watch fires (as its timer would, a quarter hour on): the alert is raised.
    with sessions() as s:
        oee_alerts.downtime_overdue(session=s, downtime_id=stop["id"],
                                    now=start + timedelta(minutes=16))  # fmt: skip
        s.commit()
    r = await client.put(f"{BASE}/downtime/{stop['id']}/end", headers=op, json={})
    assert r.status_code == 200, r.text
    with pytest.raises(WorkflowFailureError) as ended:
        await watch.result()
    assert isinstance(ended.value.cause, CancelledError)
    r = await client.get(f"{BASE}/alerts", headers=sup)
    [extended] = [a for a in r.json()["items"] if a["alert_type"] == "extended_downtime"]
    assert extended["status"] == "RESOLVED" and extended["resolved_by"] == "plantops"

    # An energy reading at 150 % of the hourly baseline: a spike, told in-app once.
    with sessions() as s:
        m = s.get(Machine, ids["SAW-JKS-002"])
        energy.set_baseline(session=s, machine=m, effective=date(2026, 1, 1), kwh_per_hour=10.0)
        s.commit()
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    r = await client.post(f"{BASE}/energy/readings", headers=sup, json={
        "machine": "SAW-JKS-002", "reading_time": at.isoformat(), "kwh": 15.0})  # fmt: skip
    assert r.status_code == 201, r.text
    spike = _alert_id(sessions, "energy_spike")
    r = await client.get(f"{BASE}/alerts/active", headers=sup)
    [item] = [a for a in r.json()["items"] if a["id"] == spike]
    assert item["actual_value"] == 150.0 and item["machine"] == "SAW-JKS-002"
    with sessions() as s:
        notices = s.scalars(select(Notification).where(
            Notification.reference == oee_alerts.reference(spike))).all()  # fmt: skip
    assert notices and {n.channel for n in notices} == {"IN_APP"}
    assert {n.status for n in notices} == {"SENT"}
    # The operator of the other saw line neither sees nor handles it.
    r = await client.get(f"{BASE}/alerts", headers=op)
    assert spike not in [a["id"] for a in r.json()["items"]]
    r = await client.patch(f"{BASE}/alerts/{spike}/acknowledge", headers=op)
    assert r.status_code == 404 and r.json()["error"]["field"] == "alert_id"

    # Acknowledge, act, resolve: each audited with who and which role.
    r = await client.patch(f"{BASE}/alerts/{spike}/acknowledge", headers=sup)
    assert r.status_code == 200 and r.json()["status"] == "ACKNOWLEDGED"
    r = await client.patch(f"{BASE}/alerts/{spike}/acknowledge", headers=sup)
    assert r.status_code == 409 and r.json()["error"]["field"] == "status"
    r = await client.post(f"{BASE}/alerts/{spike}/act", headers=sup, json={"notes": "  "})
    assert r.status_code == 422 and r.json()["error"]["field"] == "notes"
    r = await client.post(f"{BASE}/alerts/{spike}/act", headers=sup,
                          json={"notes": "compressor leak found, valve closed"})  # fmt: skip
    assert r.status_code == 200 and r.json()["status"] == "ACTION_TAKEN"
    assert "valve closed" in r.json()["action_notes"]
    r = await client.post(f"{BASE}/alerts/{spike}/resolve", headers=sup,
                          json={"notes": "back to baseline"})  # fmt: skip
    assert r.status_code == 200 and r.json()["status"] == "RESOLVED"
    r = await client.post(f"{BASE}/alerts/{spike}/resolve", headers=sup, json={})
    assert r.status_code == 409
    with sessions() as s:
        audit = s.scalars(select(AuditLog).where(
            AuditLog.entity_type == "OEE_ALERT", AuditLog.entity_id == str(spike))
            .order_by(AuditLog.id)).all()  # fmt: skip
    assert [a.action for a in audit] == [
        "ALERT_RAISED", "ALERT_ACKNOWLEDGED", "ALERT_ACTION", "ALERT_RESOLVED"]  # fmt: skip
    assert [a.user_role for a in audit[1:]] == ["MAINT_SUPERVISOR"] * 3
    assert audit[-1].previous_state["status"] == "ACTION_TAKEN"
    assert audit[-1].new_state["status"] == "RESOLVED"

    # Targets: a manager sets them, a technician may not, a bad kind is named.
    r = await client.post(f"{BASE}/targets", headers=mgr, json={
        "target_type": "line", "reference": "saw-1", "oee_target": 70})  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["reference"] == "SAW-1" and r.json()["availability_target"] == 90.0
    r = await client.post(f"{BASE}/targets", headers=token_for("tech"), json={
        "target_type": "line", "reference": "SAW-1"})  # fmt: skip
    assert r.status_code == 403
    r = await client.post(f"{BASE}/targets", headers=mgr, json={
        "target_type": "plant", "reference": "SAW-1"})  # fmt: skip
    assert r.status_code == 422 and "target_type" in r.text
    r = await client.post(f"{BASE}/targets", headers=mgr, json={
        "target_type": "machine", "reference": "NOPE-9"})  # fmt: skip
    assert r.status_code == 404 and r.json()["error"]["field"] == "reference"
    r = await client.get(f"{BASE}/targets", headers=sup)
    assert [t["reference"] for t in r.json()] == ["SAW-1"]
    with sessions() as s:
        m = s.get(Machine, ids["SAW-JKS-001"])
        assert oee_alerts.targets_for(session=s, machine=m, on=date.today()).oee == 70
        assert s.scalar(select(AuditLog.action).where(
            AuditLog.entity_type == "PERFORMANCE_TARGET")) == "TARGET_SET"  # fmt: skip
    r = await client.get(f"{BASE}/alerts/config", headers=op)
    assert {c["alert_type"] for c in r.json()["items"]} >= {"extended_downtime", "energy_spike"}
