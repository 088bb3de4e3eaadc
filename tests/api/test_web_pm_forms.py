"""The PM forms: templates (create, edit as a new version) and schedules (create, edit,
pause and resume with a reason), each refusal shown again at its field with what was typed;
who may not change them sees no form; another organisation's schedule is not found. Then
the PM part of a technician's queue and the dashboard's PM card, in site time."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from api.web_pm import task_lines, tasks_from_lines
from domain.models import PmSchedule, PmTemplate
from domain.rules.pm_board import week_end
from tests.api.test_web_anomalies import _login
from tests.api.test_work_orders_api import _post

TEMPLATE = {
    "code": "SAW-GUARD-W", "name": "Weekly guard check", "asset_type": "SAW",
    "schedule_type": "TIME_BASED", "interval_days": "", "required_skills": "mech",
    "tasks": "Check the blade guard\nPhotograph the guard [photo]",
}  # fmt: skip


def test_task_lines_keep_the_details_of_a_task_named_again():
    before = [{"sequence": 1, "description": "Measure runout", "requires_measurement": True,
               "measurement_unit": "MM", "requires_photo": False}]  # fmt: skip
    tasks = tasks_from_lines("Check the guard [photo]\n\n  Measure runout \n", before)
    assert tasks == [
        {"sequence": 1, "description": "Check the guard", "requires_photo": True},
        before[0] | {"sequence": 2},
    ]
    assert task_lines(tasks) == "Check the guard [photo]\nMeasure runout"


def _schedule(sessions, **where) -> PmSchedule:
    with sessions() as s:
        return s.scalars(select(PmSchedule).filter_by(**where)).one()


async def test_templates_and_schedules_from_the_pages(client, sessions):
    token = await _login(client, "tech")
    page = (await client.get("/pm/templates")).text
    assert "FL-DAILY-INSP" in page and "/pm/templates/new" not in page and "waiting for" in page
    r = await client.post("/pm/templates/new", data=TEMPLATE | {"csrf_token": token})
    assert r.status_code == 403  # a technician does not write templates
    assert "/pm/schedules/new" not in (await client.get("/pm")).text

    token = await _login(client, "planner")
    r = await client.post("/pm/templates/new", data=TEMPLATE | {"csrf_token": token})
    assert r.status_code == 422 and 'id="interval_days-error"' in r.text
    assert 'value="SAW-GUARD-W"' in r.text and "Photograph the guard [photo]</textarea>" in r.text
    r = await client.post(
        "/pm/templates/new", data=TEMPLATE | {"csrf_token": token, "interval_days": "7"}
    )
    assert r.status_code == 303, r.text
    listed = (await client.get(r.headers["location"])).text
    assert "SAW-GUARD-W" in listed and "created (version 1)" in listed
    form = (await client.get("/pm/templates/SAW-GUARD-W")).text
    assert "Photograph the guard [photo]" in form and 'value="MECH"' in form
    revised = TEMPLATE | {"csrf_token": token, "interval_days": "7", "name": "Guard check",
                          "tasks": TEMPLATE["tasks"] + "\nTighten the guard bolts"}  # fmt: skip
    r = await client.post("/pm/templates/SAW-GUARD-W", data=revised | {"interval_days": "0"})
    assert r.status_code == 422 and 'id="interval_days-error"' in r.text
    assert "Tighten the guard bolts" in r.text  # kept
    r = await client.post("/pm/templates/SAW-GUARD-W", data=revised)
    assert r.status_code == 303 and "version+2" in r.headers["location"]
    with sessions() as s:
        v2 = s.scalars(select(PmTemplate).filter_by(code="SAW-GUARD-W", is_current=True)).one()
        assert v2.version == 2 and v2.name == "Guard check"
        assert [(t["description"], t["requires_photo"]) for t in v2.tasks] == [
            ("Check the blade guard", False), ("Photograph the guard", True),
            ("Tighten the guard bolts", False),
        ]  # fmt: skip

    # A schedule: refused on the wrong asset type with the typed due date kept.
    due = (datetime.now(ZoneInfo("America/Chicago")) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    fields = {"csrf_token": token, "template": "SAW-GUARD-W", "asset": "FORKLIFT-JKS-001",
              "next_due_date": due, "alert_days_before": "7", "overdue_threshold_days": "14",
              "overdue_action": "ALERT", "anchor": "FLOATING"}  # fmt: skip
    r = await client.post("/pm/schedules/new", data=fields)
    assert r.status_code == 422 and 'id="asset-error"' in r.text and f'value="{due}"' in r.text
    r = await client.post("/pm/schedules/new", data=fields | {"asset": "SAW-JKS-001"})
    assert r.status_code == 303, r.text
    path = r.headers["location"].split("?")[0]
    row = _schedule(sessions, code="SAW-GUARD-W@SAW-JKS-001")
    assert path == f"/pm/schedules/{row.id}"
    # Entered in the site's time (Jackson, Mississippi): stored as that instant.
    local = row.next_due_date.astimezone(ZoneInfo("America/Chicago")).strftime("%Y-%m-%dT%H:%M")
    assert local == due
    page = (await client.get(path)).text
    assert "Pause the schedule" in page and "CST" in page

    r = await client.post(f"{path}/pause", data={"csrf_token": token, "reason": "ab"})
    assert r.status_code == 422 and 'id="reason-error"' in r.text and 'value="ab"' in r.text
    r = await client.post(f"{path}/pause", data={"csrf_token": token, "reason": "Guard on order"})
    assert r.status_code == 303, r.text
    page = (await client.get(path)).text
    assert "PAUSED" in page and "Guard on order" in page and "Resume the schedule" in page
    r = await client.post(f"{path}/resume", data={"csrf_token": token, "reason": "arrived"})
    assert r.status_code == 303 and not _schedule(sessions, id=row.id).is_paused

    edit = {"csrf_token": token, "interval_days": "0", "anchor": "FLOATING",
            "alert_days_before": "7", "overdue_threshold_days": "14", "overdue_action": "ALERT",
            "next_due_date": due, "reason": "fortnightly"}  # fmt: skip
    r = await client.post(f"{path}/edit", data=edit)
    assert r.status_code == 422 and 'id="interval_days-error"' in r.text
    assert 'value="fortnightly"' in r.text
    r = await client.post(f"{path}/edit", data=edit | {"interval_days": "14"})
    assert r.status_code == 303, r.text
    assert _schedule(sessions, id=row.id).interval_days == 14

    # Someone who may read but not plan sees who it waits for; another company sees nothing.
    await _login(client, "tech")
    page = (await client.get(path)).text
    assert "Pause the schedule" not in page and "waiting for" in page
    token = await _login(client, "b-planner")
    assert (await client.get(path)).status_code == 404
    r = await client.post(f"{path}/pause", data={"csrf_token": token, "reason": "not ours"})
    assert r.status_code == 404 and not _schedule(sessions, id=row.id).is_paused


def _card(page: str, site: str) -> tuple[int, int, int]:
    row = re.search(rf'<tr id="pm-{site}">(.*?)</tr>', page, re.S).group(1)
    cells = [re.search(rf'class="{c}">(?:<a [^>]*>)?(\d+)', row).group(1)
             for c in ("pm-due", "pm-overdue", "pm-blocked")]  # fmt: skip
    return tuple(int(c) for c in cells)


async def test_queue_and_dashboard_show_the_pms_due(client, token_for, sessions):
    # A PM work order given to the technician, and the PMs due that their skills fit.
    sup = token_for("supervisor")
    wo = await _post(
        client, sup, "/work-orders",
        {"asset": "COMP-JKS-001", "type": "PM", "title": "Monthly lube",
         "description": "Lubricate the compressor"},
        201,
    )  # fmt: skip
    number = wo["number"]
    await _post(client, sup, f"/work-orders/{number}/submit")
    await _post(client, token_for("manager"), f"/work-orders/{number}/approve")
    await _post(client, sup, f"/work-orders/{number}/schedule", {"assignee": "tech"})
    await _login(client, "tech")
    queue = (await client.get("/queue")).text
    pm_work = queue.split('id="pm-work"')[1].split('class="card"')[0]
    assert number in pm_work and number not in queue.split('id="pm-work"')[0]
    pm_due = queue.split('id="pm-due"')[1].split('class="card"')[0]
    assert "HVAC-LUBE-M@HVAC-JKS-001" in pm_due  # overdue, lubrication: the tech's skill
    assert "FL-DAILY-INSP@FORKLIFT-JKS-002" in pm_due
    assert "CRANE-ANNUAL-2000H" not in pm_due  # rigging: not this technician's
    assert "CST" in pm_due  # due in the site's time

    await _login(client, "planner")
    before = _card((await client.get("/")).text, "JKS")
    listed = (await client.get("/pm", params={"which": "overdue", "site": "JKS"})).text
    assert before[1] == int(re.search(r"(\d+) schedule\(s\)", listed).group(1))
    with sessions.begin() as s:  # due later this week, and the overdue air handler blocks
        now = datetime.now(UTC)
        s.execute(
            update(PmSchedule)
            .where(PmSchedule.code == "COMP-LUBE-M@COMP-JKS-001")
            .values(next_due_date=now + (week_end(now, "America/Chicago") - now) / 2)
        )
        s.execute(
            update(PmSchedule)
            .where(PmSchedule.code == "HVAC-LUBE-M@HVAC-JKS-001")
            .values(blocked_at=now)
        )
    after = _card((await client.get("/")).text, "JKS")
    assert after == (before[0] + 1, before[1], before[2] + 1)
