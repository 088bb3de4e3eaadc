"""The workbooks of an anomaly import: the template to fill (columns, instructions, pick
lists of the importer's sites' assets) and the uploaded file back with each row's outcome."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.actor import Actor
from domain.errors import NotFound
from domain.models import AnomalyImport, AnomalyImportRow, Asset, Site
from domain.rules import imports as rules
from domain.rules.imports import RowStatus
from domain.services import files
from domain.services.imports import sheet_of, site_ids

if TYPE_CHECKING:
    from openpyxl import Workbook

# openpyxl is loaded by the functions that make a workbook: every API and worker process
# imports this module, few of them ever write a workbook.
HEADER_COLOUR = "DDE7F0"
BAD_COLOUR = "F8D7DA"


def template(*, session: Session, actor: Actor) -> bytes:
    """The workbook to fill: the columns, an instructions sheet, and pick lists (the assets
    of the importer's sites, channel, safety impact, urgency, yes/no)."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    mine = site_ids(session, actor)
    assets = session.execute(
        select(Asset.asset_number, Asset.name, Site.code)
        .join(Site, Site.id == Asset.site_id)
        .where(Asset.organization_id == actor.organization_id, Asset.site_id.in_(mine))
        .order_by(Site.code, Asset.asset_number)
    ).all()
    book = Workbook()
    sheet = book.active
    sheet.title = rules.SHEET
    for i, col in enumerate(rules.COLUMNS, start=1):
        cell = sheet.cell(row=1, column=i, value=col.name)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor=HEADER_COLOUR)
        cell.comment = Comment(("required: " if col.required else "optional: ") + col.hint, "")
        sheet.column_dimensions[cell.column_letter].width = max(14, len(col.name) + 4)
    sheet.freeze_panes = "A2"

    lists = book.create_sheet("Lists")
    columns = {
        "asset": [a.asset_number for a in assets] or [""],
        "channel": list(rules.CHANNELS),
        "safety_impact": list(rules.SAFETY_IMPACTS),
        "urgency": list(rules.URGENCIES),
        "regulatory_impact": list(rules.YES_NO),
    }
    last = rules.MAX_ROWS + 1
    for j, (name, values) in enumerate(columns.items(), start=1):
        lists.cell(row=1, column=j, value=name).font = Font(bold=True)
        for k, value in enumerate(values, start=2):
            lists.cell(row=k, column=j, value=value)
        letter = lists.cell(row=1, column=j).column_letter
        check = DataValidation(
            type="list",
            formula1=f"=Lists!${letter}$2:${letter}${len(values) + 1}",
            allow_blank=not rules.COLUMNS[rules.NAMES.index(name)].required,
            showErrorMessage=True,
            errorTitle=name,
            error=f"pick a {name} from the list",
        )
        target = sheet.cell(row=2, column=rules.NAMES.index(name) + 1).column_letter
        check.add(f"{target}2:{target}{last}")
        sheet.add_data_validation(check)
    for name in ("detected_at", "occurred_at"):
        letter = sheet.cell(row=1, column=rules.NAMES.index(name) + 1).column_letter
        sheet.column_dimensions[letter].width = 20
        for r in range(2, 202):  # the first rows formatted; Excel extends the format
            sheet[f"{letter}{r}"].number_format = "yyyy-mm-dd hh:mm"
    lists.sheet_state = "hidden"

    notes = book.create_sheet("Instructions")
    lines = [
        "Anomaly import",
        "",
        f"Fill one anomaly per row of the sheet '{rules.SHEET}', below its header; keep the "
        "header as it is.",
        f"At most {rules.MAX_ROWS} rows and {rules.MAX_FILE_BYTES // 1024 // 1024} MB per file.",
        "Dates and times without a time zone are read in the time of the asset's site.",
        "A row with the same asset, detection time and title as one imported before is "
        "skipped as a duplicate; uploading the same file again registers nothing new.",
        "Every row is registered like a reported anomaly: assessed, assigned, and alerted "
        "by its criticality (a G1 row pages like any G1).",
        "After the import, download its report: each row gets a status and, for a refused "
        "row, the column and rule to fix.",
        "",
        "column / required / what it holds",
    ]
    lines += [
        f"{c.name} / {'yes' if c.required else 'no'} / {c.hint}"
        + (f" ({', '.join(c.choices)})" if c.choices else "")
        for c in rules.COLUMNS
    ]
    lines += ["", "Assets of your sites (site, number, name):"]
    lines += [f"{site} / {number} / {name}" for number, name, site in assets]
    for r, text in enumerate(lines, start=1):
        notes.cell(row=r, column=1, value=text)
    notes["A1"].font = Font(bold=True, size=14)
    notes.column_dimensions["A"].width = 110
    return _saved(book)


def _saved(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def report(*, session: Session, imp: AnomalyImport) -> bytes:
    """The uploaded workbook with a status column and the message of each row."""
    from openpyxl import load_workbook
    from openpyxl.styles import Font, PatternFill

    content = files.content_of(session, organization_id=imp.organization_id, sha256=imp.file_sha256)
    if content is None:
        raise NotFound("the import's file is no longer stored", field="file")
    outcome = dict(
        session.execute(
            select(
                AnomalyImportRow.row_number,
                func.json_build_array(AnomalyImportRow.status, AnomalyImportRow.message),
            ).where(AnomalyImportRow.import_id == imp.id)
        ).all()
    )
    book = load_workbook(io.BytesIO(content))
    sheet = sheet_of(book)
    header = [c.value for c in sheet[1]]
    names = [str(v).strip().lower() if v is not None else "" for v in header]
    status_col = (
        names.index(rules.STATUS_COLUMN) + 1
        if rules.STATUS_COLUMN in names
        else len([n for n in names if n]) + 1
    )
    message_col = status_col + 1
    for col, name in ((status_col, rules.STATUS_COLUMN), (message_col, rules.MESSAGE_COLUMN)):
        cell = sheet.cell(row=1, column=col, value=name)
        cell.font = Font(bold=True)
    sheet.column_dimensions[sheet.cell(row=1, column=message_col).column_letter].width = 60
    bad = PatternFill("solid", fgColor=BAD_COLOUR)
    for number in range(2, sheet.max_row + 1):
        status, message = outcome.get(number, (None, None))
        sheet.cell(row=number, column=status_col, value=status)
        sheet.cell(row=number, column=message_col, value=message)
        if status == RowStatus.REFUSED.value:
            for col in (status_col, message_col):
                sheet.cell(row=number, column=col).fill = bad
    return _saved(book)
