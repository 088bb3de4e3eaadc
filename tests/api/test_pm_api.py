"""The PM endpoints of seed 003 J.1 (templates, schedules, due and overdue, meter readings,
metrics) against real PostgreSQL and a Temporal dev server with the worker."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from domain.models import AuditLog, WorkOrder

BASE = "/api/v1/maintenance"
TEMPLATE = {
    "code": "PM-FL-DAILY",
    "name": "Daily forklift inspection",
    "asset_type": "FORKLIFT",
    "schedule_type": "TIME_BASED",
    "interval_days": 1,
    "estimated_hours": 0.5,
    "required_skills": ["MECH"],
    "tasks": [
        {"sequence": 1, "description": "Check forks and chains", "requires_photo": True},
        {
            "sequence": 2,
            "description": "Measure fork wear",
            "requires_measurement": True,
            "measurement_unit": "mm",
            "measurement_spec": "0-5 mm",
        },
    ],
    "is_regulatory": True,
    "regulatory_reference": "OSHA 1910.178",
}


async def _template(client, token_for, **changes) -> dict:
    r = await client.post(
        f"{BASE}/pm-templates", json=TEMPLATE | changes, headers=token_for("planner")
    )
    assert r.status_code == 201, r.text
    return r.json()


async def _live(client, h, ref: str, check, tries: int = 100) -> dict:
    body = {}
    for _ in range(tries):
        body = (await client.get(f"{BASE}/pm-schedules/{ref}", headers=h)).json()
        if body.get("live") and check(body):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(body)


async def test_templates_are_versioned_and_refuse_bad_input(client, token_for):
    h = token_for("planner")
    first = await _template(client, token_for)
    assert (first["version"], first["is_current"], first["asset_type"]) == (1, True, "FORKLIFT")
    assert [t["sequence"] for t in first["tasks"]] == [1, 2]
    r = await client.post(f"{BASE}/pm-templates", json=TEMPLATE, headers=h)
    assert r.status_code == 409 and r.json()["error"]["field"] == "code"
    bad = TEMPLATE | {"code": "PM-X", "interval_days": None}
    r = await client.post(f"{BASE}/pm-templates", json=bad, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "interval_days"
    r = await client.post(
        f"{BASE}/pm-templates",
        json=TEMPLATE | {"code": "PM-Y", "asset_type": "SPACESHIP"},
        headers=h,
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "asset_type"
    r = await client.post(
        f"{BASE}/pm-templates",
        json=TEMPLATE | {"code": "PM-Z", "required_permits": ["MAGIC"]},
        headers=h,
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "required_permits.0"
    r = await client.post(
        f"{BASE}/pm-templates", json=TEMPLATE | {"code": "PM-T"}, headers=token_for("tech")
    )
    assert r.status_code == 403
    # A change is a new version; the first stays as it was.
    r = await client.put(
        f"{BASE}/pm-templates/pm-fl-daily", json=TEMPLATE | {"estimated_hours": 0.75}, headers=h
    )
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["estimated_hours"]) == (2, 0.75)
    old = (await client.get(f"{BASE}/pm-templates/{first['id']}", headers=h)).json()
    assert (old["version"], old["is_current"], old["estimated_hours"]) == (1, False, 0.5)
    current = (await client.get(f"{BASE}/pm-templates/PM-FL-DAILY", headers=h)).json()
    assert current["version"] == 2
    listed = (await client.get(f"{BASE}/pm-templates", headers=h)).json()
    assert [t["version"] for t in listed["items"] if t["code"] == "PM-FL-DAILY"] == [2]
    other = await client.get(f"{BASE}/pm-templates/PM-FL-DAILY", headers=token_for("b-planner"))
    assert other.status_code == 404


async def test_a_schedule_opens_its_pm_work_order_and_is_listed_due_and_overdue(
    client, token_for, sessions
):
    h = token_for("planner")
    await _template(client, token_for)
    due = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    body = {
        "template": "PM-FL-DAILY",
        "asset": "FORKLIFT-JKS-001",
        "next_due_date": due,
        "overdue_action": "ESCALATE",
    }
    r = await client.post(f"{BASE}/pm-schedules", json=body, headers=token_for("tech"))
    assert r.status_code == 403
    r = await client.post(f"{BASE}/pm-schedules", json=body, headers=h)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["code"] == "PM-FL-DAILY@FORKLIFT-JKS-001"
    assert created["template_version"] == 1 and created["overdue_action"] == "ESCALATE"
    again = await client.post(f"{BASE}/pm-schedules", json=body, headers=h)
    assert again.status_code == 409 and again.json()["error"]["field"] == "template"
    wrong = await client.post(
        f"{BASE}/pm-schedules", json=body | {"asset": "SAW-JKS-001"}, headers=h
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "asset"
    live = await _live(client, h, created["code"], lambda b: b["open_work_order"])
    assert live["live"]["status"] == "OVERDUE"
    number = live["open_work_order"]
    with sessions() as s:
        wo = s.scalars(select(WorkOrder).where(WorkOrder.number == number)).one()
        assert (wo.type, wo.status, wo.pm_schedule_id) == ("PM", "APPROVED", created["id"])
    wo_api = (await client.get(f"{BASE}/work-orders/{number}", headers=h)).json()
    assert wo_api["type"] == "PM"
    due_list = (await client.get(f"{BASE}/pm-schedules/due", headers=h)).json()
    overdue = (
        await client.get(f"{BASE}/pm-schedules/overdue", params={"site": "JKS"}, headers=h)
    ).json()
    assert created["id"] in {s["id"] for s in due_list["items"]}
    mine = [s for s in overdue["items"] if s["id"] == created["id"]]
    assert [s["days_overdue"] for s in mine] == [1]
    # Another organisation learns nothing; a technician may not pause.
    for path in (f"pm-schedules/{created['id']}", f"pm-schedules/{created['code']}"):
        assert (
            await client.get(f"{BASE}/{path}", headers=token_for("b-planner"))
        ).status_code == 404
    r = await client.post(
        f"{BASE}/pm-schedules/{created['id']}/pause",
        json={"reason": "audit"},
        headers=token_for("b-planner"),
    )
    assert r.status_code == 404
    r = await client.post(
        f"{BASE}/pm-schedules/{created['id']}/pause",
        json={"reason": "audit"},
        headers=token_for("tech"),
    )
    assert r.status_code == 403
    r = await client.post(
        f"{BASE}/pm-schedules/{created['id']}/pause", json={"reason": ""}, headers=h
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "reason"
    r = await client.post(
        f"{BASE}/pm-schedules/PMS-{created['id']}/pause", json={"reason": "line stopped"}, headers=h
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "PAUSED"
    r = await client.post(
        f"{BASE}/pm-schedules/{created['id']}/pause", json={"reason": "again"}, headers=h
    )
    assert r.status_code == 409
    r = await client.put(
        f"{BASE}/pm-schedules/{created['id']}",
        json={"interval_days": 2, "reason": "twice a week is enough"},
        headers=h,
    )
    assert r.status_code == 200 and r.json()["facts"]["interval_days"] == 2
    r = await client.put(
        f"{BASE}/pm-schedules/{created['id']}", json={"interval_days": 0}, headers=h
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "interval_days"
    r = await client.post(f"{BASE}/pm-schedules/{created['id']}/resume", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "OVERDUE"
    # Skipping needs a supervisor: a planner is refused by the table.
    r = await client.post(
        f"{BASE}/pm-schedules/{created['id']}/skip", json={"reason": "sold"}, headers=h
    )
    assert r.status_code == 403
    with sessions() as s:
        actions = [
            a
            for (a,) in s.execute(
                select(AuditLog.action)
                .where(AuditLog.entity_id == f"PMS-{created['id']}")
                .order_by(AuditLog.id)
            )
        ]
    assert actions[0] == "CREATED" and {"PAUSED", "EDITED", "RESUMED"} <= set(actions)


async def test_meter_readings_wake_a_meter_schedule(client, token_for, sessions):
    h = token_for("planner")
    await _template(
        client,
        token_for,
        code="PM-SAW-BLADE",
        name="Blade inspection",
        asset_type="SAW",
        schedule_type="METER_BASED",
        interval_days=None,
        interval_hours=500,
    )
    body = {"template": "PM-SAW-BLADE", "asset": "SAW-JKS-001", "last_meter_reading": 12480}
    r = await client.post(f"{BASE}/pm-schedules", json=body, headers=h)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert r.json()["next_due_meter"] == 12980
    await _live(client, h, str(sid), lambda b: b["live"]["status"] == "WAITING")
    r = await client.post(
        f"{BASE}/pm-meter-readings",
        json={"asset": "SAW-JKS-001", "reading": 12900},
        headers=token_for("tech"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["schedules"] == [f"PMS-{sid}"]
    await _live(client, h, str(sid), lambda b: b["live"]["facts"]["current_reading"] == 12900)
    assert (await client.get(f"{BASE}/pm-schedules/{sid}", headers=h)).json()[
        "open_work_order"
    ] is None  # 80 hours to go, the alert at 50
    # A reading on the asset's own meter endpoint wakes the schedule too.
    r = await client.post(
        f"{BASE}/assets/SAW-JKS-001/meters",
        json={"meter_type": "HOURS", "reading": 12940},
        headers=token_for("tech"),
    )
    assert r.status_code == 201, r.text
    live = await _live(client, h, str(sid), lambda b: b["open_work_order"])
    assert live["current_meter_reading"] == 12940
    r = await client.post(
        f"{BASE}/pm-meter-readings",
        json={"asset": "SAW-JKS-001", "reading": 100},
        headers=token_for("tech"),
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "reading"
    r = await client.post(
        f"{BASE}/pm-meter-readings",
        json={"asset": "SAW-JKS-001", "reading": 13000},
        headers=token_for("b-tech"),
    )
    assert r.status_code == 404


async def test_metrics_for_a_site_and_period(client, token_for):
    h = token_for("manager")
    r = await client.get(f"{BASE}/metrics", params={"site": "JKS"}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert {
        "compliance_pct",
        "backlog",
        "completion_time_variance_pct",
        "effectiveness_failure_pct",
        "cost_per_asset",
    } <= set(body)
    r = await client.get(
        f"{BASE}/metrics",
        params={"start": "2026-02-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
        headers=h,
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "start"
    assert (await client.get(f"{BASE}/metrics", headers=token_for("operator"))).status_code == 403


async def test_a_reading_from_the_asset_page_or_api_wakes_a_meter_schedule(
    client, token_for, sessions
):
    """The PM door wakes the meter schedules; the asset page's meter form and the asset
    API's meter endpoint record the same reading and must wake them too."""
    from tests.api.test_web_anomalies import _csrf, _login

    h = token_for("planner")
    await _template(client, token_for, code="PM-SAW-BLADE", name="Blade inspection",
                    asset_type="SAW", schedule_type="METER_BASED", interval_days=None,
                    interval_hours=500)  # fmt: skip
    body = {"template": "PM-SAW-BLADE", "asset": "SAW-JKS-001", "last_meter_reading": 12480}
    r = await client.post(f"{BASE}/pm-schedules", json=body, headers=h)
    assert r.status_code == 201, r.text
    sid = str(r.json()["id"])
    await _live(client, h, sid, lambda b: b["live"]["status"] == "WAITING")
    r = await client.post(f"{BASE}/assets/SAW-JKS-001/meters",
                          json={"meter_type": "HOURS", "reading": 12900},
                          headers=token_for("tech"))  # fmt: skip
    assert r.status_code == 201, r.text
    await _login(client, "tech")
    token = _csrf((await client.get("/assets/SAW-JKS-001")).text)
    form = {"meter_type": "HOURS", "reading": "12940", "csrf_token": token}
    r = await client.post("/assets/SAW-JKS-001/meters", data=form)
    assert r.status_code == 303, r.text
    client.cookies.clear()
    live = await _live(client, h, sid, lambda b: b["open_work_order"], tries=50)
    assert live["current_meter_reading"] == 12940


async def test_an_asset_blocked_by_an_overdue_pm_stays_out_until_the_pm_is_done(
    client, token_for, sessions
):
    """BLOCK keeps the asset OUT_OF_SERVICE until its PM work order closes: the asset's
    status door must not return it to service (nor towards it) while the PM is open."""
    from domain.models import Asset

    h = token_for("planner")
    await _template(client, token_for)
    due = (datetime.now(UTC) - timedelta(days=10)).isoformat()
    body = {"template": "PM-FL-DAILY", "asset": "FORKLIFT-JKS-001", "next_due_date": due,
            "overdue_action": "BLOCK", "overdue_threshold_days": 3}  # fmt: skip
    r = await client.post(f"{BASE}/pm-schedules", json=body, headers=h)
    assert r.status_code == 201, r.text
    for _ in range(100):
        with sessions() as s:
            asset = s.scalars(select(Asset).where(Asset.asset_number == "FORKLIFT-JKS-001")).one()
        if asset.status.value == "OUT_OF_SERVICE":
            break
        await asyncio.sleep(0.1)
    assert asset.status.value == "OUT_OF_SERVICE"
    r = await client.post(
        f"{BASE}/assets/FORKLIFT-JKS-001/status",
        json={"status": "PENDING_RETURN", "reason": "looks fine to me"},
        headers=token_for("manager"),
    )
    assert r.status_code == 409 and r.json()["error"]["field"] == "status", r.text


def _spc_notices(sessions) -> list[str]:
    from domain.models import Notification

    with sessions() as s:
        return s.scalars(
            select(Notification.recipient_name)
            .where(Notification.event == "SPC_CONDITION")
            .order_by(Notification.id)
        ).all()


async def test_an_spc_violation_naming_a_condition_schedule_drafts_its_pm_work_order(
    client, token_for, sessions
):
    """Seed 003 D.1 condition-based: no clock; a condition on the asset that names the
    schedule opens its work order as a draft for review, one at a time (BR-MAINT-001)."""
    h = token_for("planner")
    await _template(
        client, token_for, code="PM-SAW-COND", asset_type="SAW",
        schedule_type="CONDITION_BASED", interval_days=None,
    )  # fmt: skip
    r = await client.post(
        f"{BASE}/pm-schedules", json={"template": "PM-SAW-COND", "asset": "SAW-JKS-001"}, headers=h
    )
    assert r.status_code == 201, r.text
    schedule = r.json()
    assert schedule["schedule_type"] == "CONDITION_BASED" and schedule["next_due_date"] is None
    live = await _live(client, h, schedule["code"], lambda b: b["live"]["status"] == "WAITING")
    assert live["open_work_order"] is None
    spc = {"asset": "SAW-JKS-001", "rule": 4, "characteristic": "cut length"}
    quality = token_for("quality")
    r = await client.post(
        f"{BASE}/quality/spc-violations",
        json=spc | {"violation_id": "SPC-1", "pm_schedule": schedule["code"]},
        headers=quality,
    )
    assert r.status_code == 201, r.text
    wo = r.json()
    assert (wo["status"], wo["type"]) == ("DRAFT", "PM")
    with sessions() as s:
        row = s.scalars(select(WorkOrder).where(WorkOrder.number == wo["number"])).one()
        assert row.pm_schedule_id == schedule["id"]
    # The quality roles are told of the draft through the one notifier, once each.
    told = _spc_notices(sessions)
    assert "Wen Li" in told and len(told) == len(set(told))
    # A second violation while it is open drafts nothing more: the same work order.
    r = await client.post(
        f"{BASE}/quality/spc-violations",
        json=spc | {"violation_id": "SPC-2", "pm_schedule": str(schedule["id"])},
        headers=quality,
    )
    assert r.status_code == 201 and r.json()["number"] == wo["number"]
    assert _spc_notices(sessions) == told  # nothing told again
    with sessions() as s:
        drafted = s.scalars(
            select(WorkOrder.number).where(WorkOrder.pm_schedule_id == schedule["id"])
        ).all()
    assert drafted == [wo["number"]]
    timeline = (await client.get(f"{BASE}/pm-schedules/{schedule['id']}", headers=h)).json()
    actions = [e["action"] for e in timeline["live"]["events"]]
    assert "CONDITION" in actions and "CONDITION_NOTED" in actions
    with sessions() as s:
        noted = s.scalars(
            select(AuditLog).where(
                AuditLog.entity_id == f"PMS-{schedule['id']}", AuditLog.action == "CONDITION_NOTED"
            )
        ).one()
    assert "SPC-2" in noted.reason and noted.user_role == "QUALITY"
    # Refusals name the field: a clock schedule, another asset's, another organisation's.
    await _template(client, token_for, code="PM-SAW-TIME", asset_type="SAW")
    r = await client.post(
        f"{BASE}/pm-schedules",
        json={"template": "PM-SAW-TIME", "asset": "SAW-JKS-001",
              "next_due_date": (datetime.now(UTC) + timedelta(days=30)).isoformat()},
        headers=h,
    )  # fmt: skip
    timed = r.json()
    await _live(client, h, timed["code"], lambda b: True)
    r = await client.post(
        f"{BASE}/quality/spc-violations",
        json=spc | {"violation_id": "SPC-3", "pm_schedule": timed["code"]},
        headers=quality,
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "pm_schedule", r.text
    assert "not CONDITION_BASED" in r.json()["error"]["message"]
    r = await client.post(
        f"{BASE}/quality/spc-violations",
        json=spc | {"asset": "SAW-JKS-002", "violation_id": "SPC-4",
                    "pm_schedule": schedule["code"]},
        headers=quality,
    )  # fmt: skip
    assert r.status_code in (404, 422) and r.json()["error"]["field"] in ("pm_schedule", "asset")
    r = await client.post(
        f"{BASE}/quality/spc-violations",
        json=spc | {"violation_id": "SPC-5", "pm_schedule": "PMS-999999"},
        headers=quality,
    )
    assert r.status_code == 404 and r.json()["error"]["field"] == "pm_schedule"


async def test_a_certificate_on_record_is_watched_by_its_inspection_schedule(
    client, token_for, sessions
):
    """Seed 003 C.1: an asset needing certification gets an INSPECTION work order when its
    certificate falls due (30 days ahead); a changed expiry moves the schedule."""
    from domain.models import Asset, PmSchedule

    h = admin = token_for("planner")
    soon = (datetime.now(UTC) + timedelta(days=20)).date()
    body = {
        "asset_number": "CRANE-JKS-CERT", "name": "Jib crane", "type_code": "SAW",
        "criticality": "B", "site_code": "JKS",
        "requires_certification": True, "certification_expiry": soon.isoformat(),
    }  # fmt: skip
    r = await client.post(f"{BASE}/assets", json=body, headers=admin)
    assert r.status_code == 201, r.text
    code = "CERTIFICATION@CRANE-JKS-CERT"
    live = await _live(client, h, code, lambda b: b["open_work_order"])
    with sessions() as s:
        wo = s.scalars(select(WorkOrder).where(WorkOrder.number == live["open_work_order"])).one()
        assert (wo.type, wo.status) == ("INSPECTION", "APPROVED")
        assert f"Certificate expires {soon:%Y-%m-%d}" in wo.description
    # The expiry moved by hand a year out: the schedule follows it.
    later = (datetime.now(UTC) + timedelta(days=400)).date()
    r = await client.put(
        f"{BASE}/assets/CRANE-JKS-CERT",
        json={"certification_expiry": later.isoformat(), "reason": "renewed by the insurer"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    moved = await _live(
        client, h, code, lambda b: b["next_due_date"].startswith(later.isoformat()[:7])
    )
    assert moved["live"]["status"] == "OPEN"  # the work order already open stays
    # An asset without certification has no such schedule; renaming does not create one.
    r = await client.put(f"{BASE}/assets/SAW-JKS-002", json={"name": "Saw 2"}, headers=admin)
    assert r.status_code == 200
    with sessions() as s:
        saw = s.scalars(select(Asset).where(Asset.asset_number == "SAW-JKS-002")).one()
        certification = select(PmSchedule).where(
            PmSchedule.asset_id == saw.id, PmSchedule.template_code == "CERTIFICATION"
        )
        assert not s.scalars(certification).all()
