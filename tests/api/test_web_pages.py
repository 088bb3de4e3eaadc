"""The pages' findings one by one over HTTP: role-aware actions (the API's table), HTML
error pages, site time, the auditors' log and closed records with their exports, the
dashboard cards, the label sheet and the printable work order."""

import csv
import io
import re
from html.parser import HTMLParser

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


async def test_failed_then_passed_verification_reads_true_and_asks_first(client, token_for):
    """Findings 1 and 2: an unticked item asks first (naming it, ticks kept, a reason
    needed); after a failed then a passed verification the screen says VERIFIED only, the
    approval names who may give it and reaches that person's queue."""
    from tests.anomaly_helpers import PNG
    from tests.api.test_work_orders_api import _create, _post, _to_in_progress

    number = await _create(client, token_for, requires_loto=True)
    await _to_in_progress(client, token_for, number)
    tech = token_for("tech")
    await _post(client, tech, f"/work-orders/{number}/tasks/1/complete", {})
    await _post(
        client, tech, f"/work-orders/{number}/tasks/2/complete", {"measurement_value": 0.02}
    )
    await _post(client, tech, f"/work-orders/{number}/labor", {"hours": 2.5}, 201)
    r = await client.post(
        f"/api/v1/maintenance/work-orders/{number}/attachments", data={"kind": "CHECKLIST"},
        files={"file": ("c.png", PNG, "image/png")}, headers=tech,
    )  # fmt: skip
    assert r.status_code == 201, r.text

    async def finish():
        await _post(client, tech, f"/work-orders/{number}/complete")
        await _post(client, tech, f"/work-orders/{number}/permits/LOTO/remove")

    await finish()
    token = await _login(client, "supervisor")
    url = f"/work-orders/{number}/do/verify"
    ticks = {f"check_{i}": "on" for i in range(10) if i != 3}
    form = {**ticks, "csrf_token": token, "back": "rts"}
    page = (await client.get(f"/work-orders/{number}/return-to-service")).text
    assert page.count("Test run passed") == 1  # one box, not two
    r = await client.post(url, data=form)
    assert r.status_code == 200 and "Not ticked:</strong> Guards/covers reinstalled" in r.text
    assert r.text.count("checked>") == 9  # the ticks stay
    r = await client.post(url, data={**form, "confirm": "failed"})
    assert r.status_code == 422 and 'id="reason-error"' in r.text
    r = await client.post(url, data={**form, "confirm": "failed", "reason": "guard loose"})
    assert r.status_code == 303 and "warning=" in r.headers["location"]
    page = (await client.get(r.headers["location"])).text
    assert 'class="warning"' in page and "new LOTO permit" in page
    assert 'class="notice"' not in page
    await _post(
        client, tech, f"/work-orders/{number}/permits",
        {"kind": "LOTO", "energy_sources": ["480V main"], "isolation_verified": True}, 201,
    )  # fmt: skip
    await _post(client, tech, f"/work-orders/{number}/resume")
    await finish()
    r = await client.post(url, data={**form, "check_3": "on"})
    assert r.status_code == 303, r.text
    page = (await client.get(r.headers["location"])).text
    assert 'id="wo-status">verified<' in page
    assert "verification failed" not in page and "issue a new LOTO" not in page
    assert "waiting for maintenance manager" in page
    assert "Approve return to service" not in page  # a supervisor may not, after corrective
    await _login(client, "manager")
    queue = (await client.get("/queue")).text
    assert re.search(rf'id="to-return".*{number}', queue, re.S)
    page = (await client.get(f"/work-orders/{number}/return-to-service")).text
    assert "Approve return to service (maintenance)" in page
    # Each permit prints as the LOTO sheet with a tag per lock, from the work order's page.
    detail = (await client.get(f"/work-orders/{number}")).text
    links = re.findall(rf'href="(/work-orders/{number}/permits/([^/"]+)/print)"', detail)
    assert len(links) == 2  # the first permit, removed at the failed verification, and its new one
    sheet = (await client.get(links[-1][0])).text
    assert f"permit {links[-1][1]}" in sheet and "DANGER · DO NOT OPERATE" in sheet
    assert "480V main" in sheet and "Removed by" in sheet
    missing = await client.get(
        f"/work-orders/{number}/permits/LOTO-0000/print", headers={"Accept": "text/html"}
    )
    assert missing.status_code == 404 and "<nav" in missing.text
    await _login(client, "b-manager")
    assert (await client.get(links[-1][0])).status_code == 404


class _Fields(HTMLParser):
    """Every visible form field of a page, and whether a label names it."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str | None]] = []
        self.labelled: set[str] = set()
        self.depth = 0  # inside a <label>

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "label":
            self.depth += 1
            if a.get("for"):
                self.labelled.add(a["for"])
        elif tag in ("input", "select", "textarea"):
            if a.get("type") in ("hidden", "submit"):
                return
            if self.depth or a.get("aria-label"):
                return
            self.fields.append((a.get("name") or "?", a.get("id")))

    def handle_endtag(self, tag):
        if tag == "label":
            self.depth -= 1


async def test_every_field_has_a_label(client, token_for):
    """Point 6: labels on every field of the pages people fill in."""
    number = await _work_order(client, token_for)
    pages = {
        "supervisor": ["/", "/assets", "/assets/SAW-JKS-001", "/work-orders", "/work-orders/new",
                       f"/work-orders/{number}", "/anomalies/new", "/report", "/knowledge",
                       "/outbox", "/queue"],
        "auditor": ["/audit", "/records"],
    }  # fmt: skip
    missing = []
    for user, paths in pages.items():
        await _login(client, user)
        for path in paths:
            page = await client.get(path)
            assert page.status_code == 200, (path, page.status_code)
            found = _Fields()
            found.feed(page.text)
            missing += [
                f"{path}: {name}"
                for name, id_ in found.fields
                if not id_ or id_ not in found.labelled
            ]
    assert not missing, missing


async def test_new_work_order_from_an_anomaly(client):
    """Finding 7: a work order opened from an anomaly starts from what was reported."""
    from tests.api.test_web_anomalies import _csrf, _report

    ref = await _report(client)
    await _login(client, "supervisor")
    page = (await client.get(f"/anomalies/{ref}")).text
    assert f'href="/work-orders/new?anomaly={ref}"' in page
    form = (await client.get(f"/work-orders/new?anomaly={ref}")).text
    assert 'value="SAW-JKS-001" selected' in form
    assert 'value="Hydraulic leak under the saw"' in form
    r = await client.post(
        "/work-orders/new",
        data={"anomaly": ref, "asset": "SAW-JKS-001", "type": "CORRECTIVE", "priority": "HIGH",
              "title": "", "description": "Replace the clamp seal", "csrf_token": _csrf(form)},
    )  # fmt: skip
    assert r.status_code == 422 and 'id="title-error"' in r.text  # at the field, kept
    assert "Replace the clamp seal" in r.text
    r = await client.post(
        "/work-orders/new",
        data={"anomaly": ref, "asset": "SAW-JKS-001", "type": "CORRECTIVE", "priority": "HIGH",
              "title": "Clamp seal", "description": "Replace the clamp seal",
              "csrf_token": _csrf(form)},
    )  # fmt: skip
    assert r.status_code == 303, r.text
    page = (await client.get(r.headers["location"])).text
    assert f'href="/anomalies/{ref}"' in page and "draft" in page


async def test_details_edited_before_approval(client, token_for):
    """Finding 7: a planner edits the work order before approval; a refusal stays at its
    field with what was typed."""
    number = await _work_order(client, token_for)
    token = await _login(client, "planner")
    page = (await client.get(f"/work-orders/{number}")).text
    assert f'action="/work-orders/{number}/content/details"' in page
    url = f"/work-orders/{number}/content/details"
    r = await client.post(url, data={"title": "ab", "description": "x", "csrf_token": token})
    assert r.status_code == 422 and 'id="title-error">write at least 3 characters' in r.text
    assert 'value="ab"' in r.text
    r = await client.post(
        url, data={"title": "New hinge and pin", "description": "Both", "csrf_token": token}
    )
    assert r.status_code == 303, r.text
    assert "New hinge and pin" in (await client.get(f"/work-orders/{number}")).text


def _downtime_card(page: str) -> int:
    hours, minutes = re.search(r'id="downtime-today">(\d+) h (\d+)<', page).groups()
    return int(hours) * 60 + int(minutes)


async def test_a_stop_logged_on_the_floor_counts_in_downtime_today_once(
    client, token_for, sessions
):
    """The dashboard's downtime today holds the stops logged on the floor (OEE) as well as
    the maintenance downtime; where both cover the same machine and time, once."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from tests.oee_helpers import saw_line

    saw_line(sessions)
    await _login(client, "manager")
    before = _downtime_card((await client.get("/")).text)
    now = datetime.now(UTC)
    midnight = now.astimezone(ZoneInfo("America/Chicago")).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    start = max(now - timedelta(minutes=40), midnight)
    stop = {"machine": "SAW-JKS-001", "reason_code": "BD-MECH", "start_time": start.isoformat()}
    r = await client.post("/api/v1/oee/downtime", json=stop, headers=token_for("supervisor"))
    assert r.status_code == 201, r.text
    alone = _downtime_card((await client.get("/")).text)
    expected = round((datetime.now(UTC) - start).total_seconds() / 60)
    assert abs((alone - before) - expected) <= 1, (before, alone, expected)
    # The same stoppage, as maintenance records it, from the same moment.
    down = {"asset": "SAW-JKS-001", "type": "BREAKDOWN", "reason_code": "BD-MECH",
            "start_time": start.isoformat()}  # fmt: skip
    r = await client.post("/api/v1/maintenance/downtime", json=down,
                          headers=token_for("supervisor"))  # fmt: skip
    assert r.status_code == 201, r.text
    after = _downtime_card((await client.get("/")).text)
    expected = round((datetime.now(UTC) - start).total_seconds() / 60)
    assert abs((after - before) - expected) <= 1, (before, after, expected)
