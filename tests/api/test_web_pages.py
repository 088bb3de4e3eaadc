"""The pages' findings one by one over HTTP: role-aware actions (the API's table), HTML
error pages, site time, the auditors' log and closed records with their exports, the
dashboard cards, the label sheet and the printable work order."""

import csv
import io
import re

from openpyxl import load_workbook

from tests.api.test_web_anomalies import _login

HTML = {"Accept": "text/html,application/xhtml+xml"}


async def _work_order(client, token_for, asset="SAW-JKS-002", **extra) -> str:
    r = await client.post(
        "/api/v1/maintenance/work-orders",
        json={"asset": asset, "type": "CORRECTIVE", "title": "Hinge", "requires_loto": True,
              "description": "Replace the hinge", **extra},
        headers=token_for("supervisor"),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()["number"]


def _forms(page: str) -> set[str]:
    return set(re.findall(r'action="/work-orders/[^/]+/(?:do|content)/([\w-]+)"', page))


async def test_each_person_sees_only_the_steps_the_table_allows(client, token_for):
    """Finding 6: an operator sees no Approve, Reject, Cancel, permit or labour form, and
    reads who the work order waits for; the approver sees the buttons."""
    number = await _work_order(client, token_for)
    r = await client.post(
        f"/api/v1/maintenance/work-orders/{number}/submit", headers=token_for("supervisor")
    )
    assert r.status_code == 200, r.text
    await _login(client, "operator")
    page = (await client.get(f"/work-orders/{number}")).text
    assert not _forms(page) & {"approve", "reject", "cancel", "permit", "labor"}, _forms(page)
    assert "Approve: waiting for maintenance supervisor, maintenance manager or EHS" in page
    await _login(client, "supervisor")
    page = (await client.get(f"/work-orders/{number}")).text
    assert {"approve", "reject", "permit"} <= _forms(page)
    assert "Cancel: waiting for maintenance manager" in page  # I.2: cancelling is a manager's


async def test_error_pages_are_html_with_navigation_for_a_browser(client):
    """Finding 10: 404 and 403 pages a person can leave; the API keeps its JSON."""
    await _login(client, "operator")
    page = await client.get("/work-orders/WO-1999-00001", headers=HTML)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Not found" in page.text and 'href="/queue"' in page.text
    page = await client.get("/audit", headers=HTML)
    assert page.status_code == 403 and "Not for your role" in page.text
    assert (await client.get("/audit")).json()["error"]["type"] == "NotAllowed"
    assert (await client.get("/favicon.ico")).headers["content-type"] == "image/svg+xml"


async def test_times_are_in_each_records_site_zone(client, token_for):
    """Finding 9: a Jackson work order in Chicago time, an Oslo one in Oslo time, in one
    list, one format; the audit log adds UTC."""
    jackson = await _work_order(client, token_for)
    oslo = await _work_order(client, token_for, asset="PP-ST-001")
    await _login(client, "manager")
    centre = (await client.get("/work-orders")).text
    row = {n: re.search(rf"{n}</a>.*?</tr>", centre, re.S).group(0) for n in (jackson, oslo)}
    assert re.search(r"\d\d \w{3} \d{4} \d\d:\d\d CST", row[jackson])
    assert re.search(r"\d\d \w{3} \d{4} \d\d:\d\d CET", row[oslo])
    await _login(client, "auditor")
    audit = (await client.get(f"/audit?record={oslo}")).text
    assert re.search(r"\d\d:\d\d CET \(\d\d \w{3} \d{4} \d\d:\d\d UTC\)", audit)


async def test_audit_log_searchable_and_exported(client, token_for):
    """3a: by record, person and period, with CSV and Excel exports."""
    number = await _work_order(client, token_for)
    await _login(client, "auditor")
    page = (await client.get(f"/audit?record={number}&person=vega")).text
    assert number in page and "Dolores Vega" in page and "maintenance supervisor" in page
    assert "Nothing found" in (await client.get("/audit?person=nobody-at-all")).text
    assert "Nothing found" in (await client.get(f"/audit?record={number}&end=2001-01-01")).text
    answer = await client.get(f"/audit?record={number}&format=csv")
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0][:4] == ["site time", "UTC", "record type", "record"]
    assert any(r[3] == number and r[5] == "Dolores Vega" for r in rows[1:])
    answer = await client.get(f"/audit?record={number}&format=xlsx")
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert any(row[3] == number for row in sheet.iter_rows(min_row=2, values_only=True))


async def test_closed_records_searchable_and_exported(client, token_for):
    """Finding 8 / 3a: a closed-out work order is found again and exported."""
    number = await _work_order(client, token_for)
    r = await client.post(
        f"/api/v1/maintenance/work-orders/{number}/cancel",
        json={"reason": "raised twice"},
        headers=token_for("manager"),
    )
    assert r.status_code == 200, r.text
    await _login(client, "auditor")
    page = (await client.get(f"/records?q={number}")).text
    assert number in page and "cancelled" in page
    answer = await client.get(f"/records?q={number}&format=csv")
    assert number in answer.text and answer.headers["content-type"].startswith("text/csv")
    answer = await client.get(f"/records?q={number}&format=xlsx")
    assert load_workbook(io.BytesIO(answer.content)).active.max_row == 2
    centre = (await client.get(f"/work-orders?q={number}")).text
    assert number in centre


async def test_dashboard_cards_label_sheet_and_printable_work_order(client, token_for):
    """H.2 cards; printable work order, LOTO permit and a sheet of QR labels."""
    number = await _work_order(client, token_for)
    await _login(client, "manager")
    page = (await client.get("/")).text
    for card in ("assets-down", "downtime-today", "anomaly-levels", "wo-states"):
        assert f'id="{card}"' in page
    assert "draft: 1" in page
    labels = (await client.get("/assets/labels?site=JKS")).text
    assert "/assets/SAW-JKS-001/qr.svg" in labels and "/assets/PP-ST-001/qr.svg" not in labels
    printed = (await client.get(f"/work-orders/{number}/print")).text
    assert "Lockout/tagout and other permits" in printed and "Replace the hinge" in printed
