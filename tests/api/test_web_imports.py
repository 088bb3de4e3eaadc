"""The import page: linked for those who may import, the template, a refused file shown at
its field, an upload followed to its end, and the report."""

import io
import re

from openpyxl import load_workbook

from domain.rules import imports as rules
from tests.api.test_imports_api import _done, row, workbook
from tests.api.test_web_anomalies import _login


def _key(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)


async def test_import_page_from_template_to_report(client):
    await _login(client, "tech")
    assert 'href="/imports"' not in (await client.get("/")).text
    assert (await client.get("/imports")).status_code == 403

    token = await _login(client, "supervisor")
    assert 'href="/imports"' in (await client.get("/")).text
    page = await client.get("/imports")
    assert page.status_code == 200 and "No import yet." in page.text
    template = await client.get("/imports/template")
    assert load_workbook(io.BytesIO(template.content)).sheetnames[0] == rules.SHEET

    def form(html: str) -> dict[str, str]:
        return {"csrf_token": token, "idempotency_key": _key(html)}

    bad = await client.post(
        "/imports", data=form(page.text), files={"file": ("notes.xlsx", b"just text", "text/plain")}
    )
    assert bad.status_code == 422
    assert 'id="file-error"' in bad.text and "not an Excel workbook" in bad.text

    content = workbook([row("SAW-JKS-001", "Chain guard cracked"), row("NOPE-1", "Nowhere")])
    r = await client.post(
        "/imports", data=form(bad.text), files={"file": ("round.xlsx", content, rules.XLSX_TYPE)}
    )
    assert r.status_code == 303, r.text
    ref = r.headers["location"].split("id=")[1]
    progress = await _done(client, {}, f"{ref}/progress", base="/imports")
    assert (progress["registered"], progress["refused"]) == (1, 1)
    assert progress["version"] == "DONE|2"
    done = await client.get(r.headers["location"])
    assert "data-live" not in done.text and f"/imports/{ref}/report" in done.text
    assert "unknown asset NOPE-1" in done.text
    report = await client.get(f"/imports/{ref}/report")
    sheet = load_workbook(io.BytesIO(report.content))[rules.SHEET]
    assert [sheet.cell(n, len(rules.NAMES) + 1).value for n in (2, 3)] == ["REGISTERED", "REFUSED"]

    again = await client.post(
        "/imports", data=form(done.text), files={"file": ("again.xlsx", content, rules.XLSX_TYPE)}
    )
    assert again.status_code == 303 and again.headers["location"].endswith("&again=1")
    assert "imported before" in (await client.get(again.headers["location"])).text
