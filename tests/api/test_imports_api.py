"""Anomaly import from a workbook (seed 000 C4), end to end on real PostgreSQL and Temporal:
real .xlsx files with good, bad and duplicate rows, the same file twice, the same rows in
another file, refused files, the annotated report read back, and a batch run again."""

import asyncio
import io
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from temporalio.worker import Replayer

from activities.imports import ImportActivities
from domain.models import Anomaly, AuditLog
from domain.rules import imports as rules
from workers import registry
from workflows.anomaly_import_types import RegisterBatchRequest

HISTORIES = Path(__file__).parent.parent / "histories"
BASE = "/api/v1/anomalies/imports"
DETECTED = datetime(2026, 11, 20, 8, 30)  # naive: read in the site's time


def workbook(rows: list[dict], header: tuple[str, ...] = rules.NAMES) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = rules.SHEET
    sheet.append(list(header))
    for row in rows:
        sheet.append([row.get(name) for name in header] if row else [])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def row(asset: str, title: str, detected=DETECTED, **extra) -> dict:
    return {
        "asset": asset,
        "title": title,
        "description": f"{title}, seen on the morning round",
        "detected_at": detected,
        **extra,
    }


def upload(content: bytes, name: str = "anomalies.xlsx") -> dict:
    return {"file": (name, content, rules.XLSX_TYPE)}


async def _done(client, headers, ref: str, base: str = BASE) -> dict:
    deadline = time.monotonic() + 180  # a loaded machine is slow, never wrong
    while time.monotonic() < deadline:
        body = (await client.get(f"{base}/{ref}", headers=headers)).json()
        if body["state"] == "DONE":
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"{ref} never finished: {body}")


def _anomalies(sessions) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(Anomaly))


async def test_a_workbook_with_good_bad_and_duplicate_rows(
    client, token_for, sessions, settings, temporal_client
):
    sup = token_for("supervisor")
    # The template: columns, instructions, pick lists of the importer's own sites' assets.
    r = await client.get(f"{BASE}/template", headers=token_for("tech"))
    assert r.status_code == 403 and r.json()["error"]["type"] == "NotAllowed"
    r = await client.get(f"{BASE}/template", headers=sup)
    assert r.status_code == 200 and r.headers["content-type"] == rules.XLSX_TYPE
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == [rules.SHEET, "Lists", "Instructions"]
    assert [c.value for c in book[rules.SHEET][1]] == list(rules.NAMES)
    listed = {c.value for c in book["Lists"]["A"][1:]}
    assert "SAW-JKS-001" in listed and "PP-ST-001" not in listed and "HBR-SAW-001" not in listed
    checked = {
        str(v.sqref).split(":")[0] for v in book[rules.SHEET].data_validations.dataValidation
    }
    assert {"A2", "G2", "H2", "I2"} <= checked  # asset, channel, safety impact, urgency

    before = _anomalies(sessions)
    future = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=3)
    content = workbook(
        [
            row(
                "SAW-JKS-001",
                "Gas smell at the saw",
                safety_impact="IMMEDIATE",
                urgency="URGENT",
                channel="MOBILE",
            ),
            row("saw-jks-002", "Belt squeal on saw 2"),
            row("HBR-SAW-001", "Another company's saw"),  # row 4
            row("PP-ST-001", "Turbine at a site not mine"),  # row 5
            row("SAW-JKS-001", None, urgency="WHENEVER"),  # row 6: two problems
            row("SAW-JKS-002", "  belt SQUEAL on saw 2 "),  # row 7: row 3 again
            row("SAW-JKS-001", "Seen in the future", detected=future),  # row 8
            {},  # row 9 left empty
            row(
                "CONV-JKS-001",
                "Conveyor belt tracking off",
                occurred_at=DETECTED - timedelta(hours=1),
                production_loss_per_hour=120,
                regulatory_impact="yes",
            ),
        ]
    )
    r = await client.post(BASE, files=upload(content), headers=sup)
    assert r.status_code == 202, r.text
    ref = r.json()["id"]
    assert ref.startswith("IMP-") and r.json()["rows"] == 8 and not r.json()["already_imported"]

    body = await _done(client, sup, ref)
    assert (body["rows"], body["registered"], body["refused"], body["duplicates"]) == (8, 3, 4, 1)
    errors = {(e["row"], e["column"]): e["rule"] for e in body["errors"]}
    assert errors[(4, "asset")] == "unknown asset HBR-SAW-001"
    assert "not at one of your sites" in errors[(5, "asset")]
    assert errors[(6, "title")] == "is required" and "must be one of" in errors[(6, "urgency")]
    assert "future" in errors[(8, "detected_at")]
    assert _anomalies(sessions) == before + 3

    # Each registered row is an anomaly like a reported one: channel EXCEL, its lifecycle
    # and (for the G1 row) its safety watches running.
    with sessions() as s:
        imported = s.scalars(
            select(Anomaly).where(Anomaly.channel == "EXCEL").order_by(Anomaly.id)
        ).all()
        assert [a.title for a in imported][:1] == ["Gas smell at the saw"]
        assert imported[0].enrichment["import"] == {
            "reference": ref,
            "row": 2,
            "reported_via": "MOBILE",
        }
        assert imported[0].detected_at.tzinfo is not None
        refs = [a.reference for a in imported]
        audited = s.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.entity_type == "ANOMALY_IMPORT", AuditLog.entity_id == ref)
        )
        assert audited == 3  # RECEIVED, RUNNING, DONE
    for anomaly_ref in refs:
        got = (await client.get(f"/api/v1/anomalies/{anomaly_ref}", headers=sup)).json()
        assert got["channel"] == "EXCEL"
        await temporal_client.get_workflow_handle(anomaly_ref).describe()
    watches = [
        e async for e in temporal_client.list_workflows(f'WorkflowId STARTS_WITH "{refs[0]}-"')
    ]
    assert watches, "a G1 row starts its safety watches like any G1"

    # The report: the workbook back with a status and a message on every row.
    r = await client.get(f"{BASE}/{ref}/report", headers=sup)
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content))[rules.SHEET]
    head = [c.value for c in sheet[1]]
    status, message = head.index(rules.STATUS_COLUMN) + 1, head.index(rules.MESSAGE_COLUMN) + 1
    assert sheet.cell(2, status).value == "REGISTERED" and sheet.cell(2, message).value == refs[0]
    assert sheet.cell(4, status).value == "REFUSED"
    assert sheet.cell(4, message).value == "asset: unknown asset HBR-SAW-001"
    assert sheet.cell(7, status).value == "DUPLICATE"
    assert sheet.cell(9, status).value is None

    # Another organisation does not see it; the same file again registers nothing new.
    r = await client.get(f"{BASE}/{ref}", headers=token_for("b-supervisor"))
    assert r.status_code == 404
    r = await client.post(BASE, files=upload(content, "again.xlsx"), headers=sup)
    assert r.status_code == 200 and r.json()["id"] == ref and r.json()["already_imported"]
    assert _anomalies(sessions) == before + 3

    # The same rows in another file: duplicates by their key, only the new row registers.
    other = workbook(
        [
            row("SAW-JKS-001", "Gas smell at the saw"),
            row("SAW-JKS-002", "Belt squeal on saw 2"),
            row("SAW-JKS-002", "Guard latch broken"),
        ]
    )
    r = await client.post(BASE, files=upload(other), headers=token_for("manager"))
    assert r.status_code == 202, r.text
    second = await _done(client, sup, r.json()["id"])
    assert (second["registered"], second["duplicates"], second["refused"]) == (1, 2, 0)
    assert _anomalies(sessions) == before + 4

    # A batch and its starts run again (a worker lost after their commit): nothing new.
    steps = ImportActivities(sessions, settings, temporal_client)
    with sessions() as s:
        actor_row = s.scalars(select(AuditLog).where(AuditLog.entity_id == ref)).first()
    from domain.actor import Actor

    actor = Actor(
        actor_row.user_id,
        "supervisor",
        actor_row.user_name,
        imported[0].organization_id,
        ("MAINT_SUPERVISOR",),
    )
    again = RegisterBatchRequest(int(ref.removeprefix("IMP-")), actor.organization_id, actor, 2, 10)
    counts = steps.register_import_batch(again)
    assert (counts.registered, counts.refused, counts.duplicates) == (3, 4, 1)
    assert await steps.start_import_lifecycles(again) == 3
    assert _anomalies(sessions) == before + 4

    history = await temporal_client.get_workflow_handle(ref).fetch_history()
    await Replayer(workflows=registry.WORKFLOWS).replay_workflow(history)
    if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
        (HISTORIES / "anomaly_import_via_api.json").write_text(history.to_json())


async def test_files_refused_at_once_with_the_field_and_rule(client, token_for):
    sup = token_for("supervisor")
    good = workbook([row("SAW-JKS-001", "Loose guard on saw 1")])
    r = await client.post(BASE, files=upload(good), headers=token_for("tech"))
    assert r.status_code == 403 and r.json()["error"]["type"] == "NotAllowed"

    r = await client.post(
        BASE, files=upload(b"asset,title\nSAW-JKS-001,x\n", "a.xlsx"), headers=sup
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "file"
    assert "not an Excel workbook" in r.json()["error"]["message"]

    r = await client.post(BASE, files=upload(b"PK" + b"\0" * rules.MAX_FILE_BYTES), headers=sup)
    assert r.status_code == 413 and r.json()["error"]["field"] == "file"

    wrong = workbook([{"asset": "SAW-JKS-001"}], header=("asset", "summary", "when"))
    r = await client.post(BASE, files=upload(wrong), headers=sup)
    error = r.json()["error"]
    assert r.status_code == 422 and error["field"] == "columns"
    assert "missing column(s) title, description, detected_at" in error["message"]

    r = await client.post(BASE, files=upload(workbook([])), headers=sup)
    assert r.status_code == 422 and r.json()["error"]["field"] == "rows"

    book = Workbook(write_only=True)
    sheet = book.create_sheet(rules.SHEET)
    sheet.append(list(rules.NAMES))
    for i in range(rules.MAX_ROWS + 1):
        sheet.append(["SAW-JKS-001", f"row {i}"])
    out = io.BytesIO()
    book.save(out)
    r = await client.post(BASE, files=upload(out.getvalue()), headers=sup)
    assert r.status_code == 422 and r.json()["error"]["field"] == "rows"
    assert r.json()["error"]["message"] == f"rows: more than {rules.MAX_ROWS} rows"

    r = await client.post(BASE, headers=sup)
    assert r.status_code == 422 and r.json()["error"]["field"] == "file"
