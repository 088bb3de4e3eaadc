"""Shift reports and handover notes under /api/v1/oee against real PostgreSQL and a
Temporal dev server with the worker: a site's Schedule fires, a shift's report is drafted,
reviewed with a handover note, approved and locked; edits after the lock, wrong roles
and another organisation are refused; the PDF and the workbook are read back; a
correction is the second version; the next shift acknowledges a note once."""

import asyncio
import io
import uuid

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.oee_helpers import local
from tests.shift_report_helpers import next_day, shift_example
from workers.schedules import (
    SHIFT_REPORTS_ID,
    ensure_shift_report_schedules,
    shift_report_schedules,
)
from workflows.shift_report import ShiftReportWorkflow as SR
from workflows.shift_report_types import ShiftReportInput

BASE = "/api/v1/oee"


async def until(check, tries: int = 200):
    for _ in range(tries):
        if value := await check():
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("not reached")


@pytest.fixture
async def drafted(client, temporal_client, sessions, settings, token_for):
    """The saw line's DAY shift reported by a fire 15 minutes after it ended."""
    day = next_day()
    shift_example(sessions, day)
    org = (await client.get("/api/v1/auth/me", headers=token_for("manager"))).json()
    fired = await temporal_client.execute_workflow(
        SR.run, ShiftReportInput(org["organization_id"], "JKS", fired_at=local(13, 15, day=day)),
        id=f"SHR-FIRE-JKS-{uuid.uuid4().hex[:6]}", task_queue=settings.task_queue,
    )  # fmt: skip
    assert fired.reference == f"SHR-JKS-{day}-DAY"

    async def ready():
        r = await client.get(
            f"{BASE}/shift-reports/{fired.reference}", headers=token_for("manager")
        )
        return r.status_code == 200 and r.json()

    return await until(ready)


async def test_a_shift_report_through_review_approval_lock_exports_and_a_correction(
    client, drafted, token_for
):
    h, REF, DAY = token_for, drafted["reference"], drafted["day"]
    assert drafted["status"] == "DRAFT" and drafted["latest"] and drafted["versions"] == [REF]
    assert drafted["total_output"] == 19_271 and drafted["down_minutes"] == 47
    listed = await client.get(f"{BASE}/shift-reports", params={"site": "JKS", "start": DAY,
                              "end": DAY}, headers=h("supervisor"))  # fmt: skip
    assert [i["reference"] for i in listed.json()["items"]] == [REF]

    # Who may not: the read-only viewer and an operator (dashboard only), a technician
    # reviewing, another organisation (not found).
    for user in ("viewer", "operator"):
        r = await client.get(f"{BASE}/shift-reports", headers=h(user))
        assert r.status_code == 403 and r.json()["error"]["type"] == "NotAllowed", user
    r = await client.post(f"{BASE}/shift-reports/{REF}/review", json={"notes": "x"},
                          headers=h("tech"))  # fmt: skip
    assert r.status_code == 403
    for method, path in (("GET", ""), ("POST", "/review"), ("GET", ".pdf")):
        body = {} if method == "POST" else None
        r = await client.request(method, f"{BASE}/shift-reports/{REF}{path}", json=body,
                                 headers=h("b-manager"))  # fmt: skip
        assert r.status_code == 404, (path, r.text)

    # The supervisor on the shift reviews, leaving a note for the next shift.
    review = {"notes": "Saw 1 breakdown, 47 min.",
              "handover": [{"message": "Blade changed at 12:40, watch the cut edge",
                            "priority": "urgent", "note_type": "issue"}]}  # fmt: skip
    r = await client.post(f"{BASE}/shift-reports/{REF}/review", json=review,
                          headers=h("supervisor"))  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "IN_REVIEW" and r.json()["notes"] == review["notes"]
    bad = await client.post(f"{BASE}/shift-reports/{REF}/review",
                            json={"handover": [{"message": "x", "priority": "soon"}]},
                            headers=h("supervisor"))  # fmt: skip
    assert bad.status_code == 422 and "priority" in bad.text

    # The next shift reads it and acknowledges it, once; its author cannot.
    notes = await client.get(
        f"{BASE}/handover-notes", params={"report": REF}, headers=h("operator")
    )
    [note] = notes.json()["items"]
    assert (note["from_shift"], note["to_shift"], note["priority"]) == ("DAY", "EVE", "urgent")
    ack = f"{BASE}/handover-notes/{note['id']}/acknowledge"
    assert (await client.post(ack, headers=h("supervisor"))).status_code == 403  # its author
    r = await client.post(ack, headers=h("operator"))
    assert r.status_code == 200 and r.json()["acknowledged_by"] == "Kevin O'Neal"
    r = await client.post(ack, headers=h("operator"))
    assert r.status_code == 409 and "acknowledged by Kevin O'Neal" in r.json()["error"]["message"]
    assert (await client.get(f"{BASE}/handover-notes", headers=h("viewer"))).status_code == 403

    # The operations manager approves: sent, archived, locked.
    r = await client.post(f"{BASE}/shift-reports/{REF}/approve", json={}, headers=h("opsmanager"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "LOCKED" and r.json()["archive_key"]
    for path, body in (("/review", {"notes": "one more thing"}), ("/approve", {})):
        r = await client.post(f"{BASE}/shift-reports/{REF}{path}", json=body,
                              headers=h("supervisor"))  # fmt: skip
        assert r.status_code == 409, r.text
        assert "locked; a correction is a new version" in r.json()["error"]["message"]

    # The files, opened and read back.
    pdf = await client.get(f"{BASE}/shift-reports/{REF}.pdf", headers=h("manager"))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    for words in (REF, "LOCKED", "Grace Thibodeaux", "SAW-JKS-001", "BD-MECH", "Blade changed"):
        assert words in text, words
    xlsx = await client.get(f"{BASE}/shift-reports/{REF}.xlsx", headers=h("manager"))
    book = load_workbook(io.BytesIO(xlsx.content))
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["Report"] == REF and summary["Total output"] == "19271"
    assert summary["Approved by"] == "Grace Thibodeaux"
    machines = list(book["Machines"].iter_rows(values_only=True))
    assert machines[0][0] == "Machine" and machines[1][0] == "SAW-JKS-001"
    assert machines[1][1] == 74.79

    # A correction: the next version, drafted afresh; the locked one stays as it was.
    r = await client.post(f"{BASE}/shift-reports/{REF}/versions", json={"reason": "late scrap"},
                          headers=h("viewer"))  # fmt: skip
    assert r.status_code == 403
    r = await client.post(f"{BASE}/shift-reports/{REF}/versions", json={"reason": "late scrap"},
                          headers=h("opsmanager"))  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json() == {"reference": f"{REF}-V2", "corrects": REF, "version": 2,
                        "status": "COLLECTING"}  # fmt: skip

    async def two():
        r = await client.get(f"{BASE}/shift-reports/{REF}/versions", headers=h("manager"))
        return len(r.json()) == 2 and r.json()

    v1, v2 = await until(two)
    assert (v1["status"], v2["status"], v2["corrects"]) == ("LOCKED", "DRAFT", REF)
    assert not (await client.get(f"{BASE}/shift-reports/{REF}", headers=h("manager"))).json()[
        "latest"
    ]
    r = await client.post(f"{BASE}/shift-reports/{REF}/versions", json={"reason": "again"},
                          headers=h("opsmanager"))  # fmt: skip
    assert r.status_code == 409 and "still open" in r.json()["error"]["message"]


async def test_a_sites_schedule_fires_after_its_shifts_and_notes_go_to_the_next_shift(
    client, temporal_client, sessions, settings, token_for
):
    """The site's Schedule, made by the worker's start (again: changed, not doubled),
    triggered now, reports on the shift that ended last; a note left now goes to the
    shift after the current one."""
    shift_example(sessions)
    [(schedule_id, schedule)] = shift_report_schedules(settings, sessions).items()
    assert schedule_id == SHIFT_REPORTS_ID.format(site="JKS")
    fires = [(c.hour[0].start, c.minute[0].start) for c in schedule.spec.calendars]
    assert fires == [(13, 15), (22, 15)] and schedule.spec.time_zone_name == "America/Chicago"
    assert await ensure_shift_report_schedules(temporal_client, settings, sessions) == [schedule_id]
    assert await ensure_shift_report_schedules(temporal_client, settings, sessions) == []
    handle = temporal_client.get_schedule_handle(schedule_id)
    try:
        await handle.trigger()

        async def fired():
            actions = (await handle.describe()).info.recent_actions
            return actions and actions[-1].action.workflow_id

        run = temporal_client.get_workflow_handle_for(SR.run, await until(fired))
        state = await run.result()
        assert state.status == "FIRED" and state.reference.startswith("SHR-JKS-")
    finally:
        await handle.delete()

    r = await client.post(f"{BASE}/handover-notes", json={"site": "JKS", "message":
                          "Forklift 3 left on charge", "priority": "low"},
                          headers=token_for("operator"))  # fmt: skip
    assert r.status_code == 201, r.text
    note = r.json()
    assert (note["from_shift"], note["to_shift"]) in (("DAY", "EVE"), ("EVE", "DAY"))
    bad = await client.post(f"{BASE}/handover-notes", json={"site": "JKS", "message": "x"},
                            headers=token_for("operator"))  # fmt: skip
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "message"
