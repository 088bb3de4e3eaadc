"""The shift report pages: the list, one report with its review and approval forms shown
only to those the report waits for, the downloads, the correction form once locked; and
the handover page where the next shift acknowledges a note."""

import re

from tests.api.test_shift_reports_api import drafted  # noqa: F401 (the drafted report)
from tests.api.test_web_anomalies import _login


async def test_review_approve_and_hand_over_from_the_pages(client, drafted):  # noqa: F811
    REF = drafted["reference"]
    token = await _login(client, "tech")
    page = await client.get(f"/shift-reports/{REF}")
    assert page.status_code == 200 and "SAW-JKS-001" in page.text and "BD-MECH" in page.text
    assert "Save review" not in page.text and "waiting for" in page.text

    token = await _login(client, "supervisor")
    listed = await client.get("/shift-reports", params={"site": "JKS"})
    assert REF in listed.text and 'href="/shift-reports"' in listed.text  # in the menu
    page = await client.get(f"/shift-reports/{REF}")
    assert "Save review" in page.text and "Approve and send" in page.text
    r = await client.post(f"/shift-reports/{REF}/do/review", data={
        "csrf_token": token, "notes": "Saw 1 breakdown", "handover": "x", "priority": "high",
    })  # fmt: skip
    assert r.status_code == 422 and "field-error" in r.text  # a note of one letter
    r = await client.post(f"/shift-reports/{REF}/do/review", data={
        "csrf_token": token, "notes": "Saw 1 breakdown", "priority": "high",
        "handover": "Blade changed at 12:40", "note_type": "issue",
    })  # fmt: skip
    assert r.status_code == 303, r.text
    page = await client.get(r.headers["location"])
    assert "In review" in page.text or "IN_REVIEW" in page.text
    assert "Blade changed at 12:40" in page.text

    token = await _login(client, "operator")
    notes = await client.get("/handover", params={"site": "JKS"})
    assert "Blade changed at 12:40" in notes.text
    [note_id] = re.findall(r'action="/handover/(\d+)/acknowledge"', notes.text)
    r = await client.post(f"/handover/{note_id}/acknowledge", data={"csrf_token": token})
    assert r.status_code == 303
    assert "Kevin O&#39;Neal" in (await client.get("/handover")).text
    r = await client.post("/handover/new", data={"csrf_token": token, "site": "JKS",
                          "message": "Forklift 3 on charge", "priority": "low"})  # fmt: skip
    assert r.status_code == 303 and "note+left+for+shift" in r.headers["location"]
    assert (await client.get(f"/shift-reports/{REF}")).status_code == 403  # dashboard only

    token = await _login(client, "opsmanager")
    r = await client.post(f"/shift-reports/{REF}/do/approve", data={"csrf_token": token})
    assert r.status_code == 303, r.text
    page = await client.get(f"/shift-reports/{REF}")
    assert "Locked" in page.text or "LOCKED" in page.text
    assert "Start a new version" in page.text and "Approve and send" not in page.text
    pdf = await client.get(f"/shift-reports/{REF}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    xlsx = await client.get(f"/shift-reports/{REF}.xlsx")
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
    r = await client.post(f"/shift-reports/{REF}/do/review", data={"csrf_token": token})
    assert r.status_code == 409 and "a correction is a new version" in r.text
