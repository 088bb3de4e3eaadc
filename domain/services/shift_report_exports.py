"""A shift report as a file: PDF (fpdf2, pure Python, its core fonts built in) and Excel
(openpyxl). Both are drawn from one view of the report, so they say the same thing."""

from datetime import UTC, datetime
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.models import HandoverNote, ShiftReport, Site


def _local(at: datetime | None, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M") if at else ""


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}%"


def view(session: Session, r: ShiftReport) -> dict[str, Any]:
    """What both files show, in the site's time."""
    site = session.get(Site, r.site_id)
    tz = site.timezone
    notes = session.scalars(
        select(HandoverNote).where(HandoverNote.shift_report_id == r.id).order_by(HandoverNote.id)
    ).all()
    f = r.figures or {}
    oee = f.get("oee", {})
    summary = [
        ("Report", r.reference),
        ("Site", f"{site.code} - {site.name}"),
        ("Shift", f"{r.shift_code} of {r.shift_day.isoformat()}"),
        ("From", f"{_local(r.start_time, tz)} ({tz})"),
        ("To", f"{_local(r.end_time, tz)} ({tz})"),
        ("Version", str(r.version) + (f" (corrects {r.corrects})" if r.corrects else "")),
        ("Status", r.status),
        ("OEE", _pct(r.oee_pct)),
        ("Availability", _pct(r.availability_pct)),
        ("Performance", _pct(r.performance_pct)),
        ("Quality", _pct(r.quality_pct)),
        ("Planned minutes", f"{oee.get('planned_minutes', 0):g}"),
        ("Total output", f"{r.total_output:g}"),
        ("Good output", f"{r.good_output:g}"),
        ("Scrap", f"{r.scrap_count:g}"),
        ("Downtime minutes", f"{r.down_minutes:g}"),
        ("  planned", f"{r.planned_down_minutes:g}"),
        ("  unplanned", f"{r.unplanned_down_minutes:g}"),
        ("Energy kWh", f"{r.kwh:g}"),
        ("Reviewed by", r.reviewed_by or ""),
        ("Approved by", r.approved_by or ""),
        ("Approved at", _local(r.approved_at, tz)),
        ("Notes", r.notes or ""),
    ]
    tables = [
        ("Machines", ["Machine", "OEE %", "Avail. %", "Perf. %", "Quality %", "Output", "Good",
                      "Down min"],
         [[m["machine"], m["oee_pct"], m["availability_pct"], m["performance_pct"],
           m["quality_pct"], m["total_count"], m["good_count"], m["down_minutes"]]
          for m in oee.get("machines", [])]),
        ("Downtime by reason", ["Reason", "Category", "Planned", "Minutes"],
         [[d["reason_code"], d["category"], "yes" if d["planned"] else "no", d["minutes"]]
          for d in f.get("downtime", {}).get("by_reason", [])]),
        ("Quality events", ["Type", "Quantity"],
         [[k, v] for k, v in sorted(f.get("quality_events", {}).items())]),
        ("Work orders", ["Number", "Type", "Status", "Asset", "Title"],
         [[w["number"], w["type"], w["status"], w["asset"], w["title"]]
          for w in f.get("work_orders", {}).get("items", [])]),
        ("Anomalies", ["Reference", "Criticality", "Status", "Title"],
         [[a["reference"], a["criticality"] or "", a["status"], a["title"]]
          for a in f.get("anomalies", {}).get("items", [])]),
        ("Handover notes", ["To shift", "Priority", "Type", "Message", "Acknowledged by"],
         [[f"{n.to_shift} {n.to_day}", n.priority, n.note_type, n.message,
           n.acknowledged_by or ""] for n in notes]),
    ]  # fmt: skip
    stamp = r.approved_at or r.generated_at or datetime.now(UTC)
    return {"title": f"Shift report {r.reference}", "summary": summary, "tables": tables,
            "stamp": stamp}  # fmt: skip


def _latin(value: Any) -> str:
    """The PDF's core fonts speak Latin-1: anything else is replaced, not dropped."""
    text = "" if value is None else str(value)
    return text.replace("\u2014", "-").encode("latin-1", "replace").decode("latin-1")


def pdf(v: dict[str, Any]) -> bytes:
    from fpdf import FPDF

    doc = FPDF(orientation="P", unit="mm", format="A4")
    doc.set_creation_date(v["stamp"])  # the same report gives the same bytes
    doc.set_title(_latin(v["title"]))
    doc.set_auto_page_break(True, margin=15)
    doc.add_page()
    doc.set_font("Helvetica", "B", 15)
    doc.cell(0, 10, _latin(v["title"]), new_x="LMARGIN", new_y="NEXT")
    doc.set_font("Helvetica", size=10)
    for label, value in v["summary"]:
        doc.set_font("Helvetica", "B", 10)
        doc.cell(45, 6, _latin(label))
        doc.set_font("Helvetica", size=10)
        doc.multi_cell(0, 6, _latin(value), new_x="LMARGIN", new_y="NEXT")
    for name, head, rows in v["tables"]:
        doc.ln(3)
        doc.set_font("Helvetica", "B", 12)
        doc.cell(0, 8, _latin(name), new_x="LMARGIN", new_y="NEXT")
        doc.set_font("Helvetica", size=9)
        if not rows:
            doc.cell(0, 6, "none", new_x="LMARGIN", new_y="NEXT")
            continue
        with doc.table(text_align="LEFT", first_row_as_headings=True) as table:
            for cells in [head, *rows]:
                row = table.row()
                for cell in cells:
                    row.cell(_latin("" if cell is None else cell))
    return bytes(doc.output())


def xlsx(v: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Summary"
    sheet.append([v["title"]])
    sheet["A1"].font = Font(bold=True, size=14)
    for label, value in v["summary"]:
        sheet.append([label, value])
    sheet.column_dimensions["A"].width = 20
    sheet.column_dimensions["B"].width = 60
    for name, head, rows in v["tables"]:
        ws = book.create_sheet(name[:31])
        ws.append(head)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append(["" if c is None else c for c in row])
    out = BytesIO()
    book.save(out)
    return out.getvalue()
