"""Anomaly imports from a workbook (seed 000 C4): the file checked and stored, its rows read
into the import, each batch registered through the same registration as a web report, and
the import's counts. The workbooks themselves: `import_workbooks`."""

import io
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain.actor import Actor
from domain.errors import DomainError, NotFound, RuleViolation
from domain.models import (
    Anomaly,
    AnomalyImport,
    AnomalyImportKey,
    AnomalyImportRow,
    Asset,
    Site,
    SiteClearance,
    User,
)
from domain.rules import imports as rules
from domain.rules.imports import ImportStatus, Problem, RowStatus
from domain.rules.uploads import safe_filename
from domain.schemas.anomalies import AnomalyReport, IntakeChannel
from domain.services import anomalies as anomaly_service
from domain.services import files
from domain.services.audit import record_change

ENTITY = "ANOMALY_IMPORT"
PREFIX = "IMP"
SHOWN_PROBLEMS = 1000  # refused rows listed in the status; the report workbook has them all


def reference(import_id: int) -> str:
    return f"{PREFIX}-{import_id}"


def import_id_of(ref: str) -> int | None:
    """IMP-12 or 12 to 12; None for anything else."""
    text = ref.strip().upper().removeprefix(f"{PREFIX}-")
    return int(text) if text.isascii() and text.isdigit() and int(text) < 2**31 else None


# -- reading a workbook --


def sheet_of(book: Any) -> Any:
    return book[rules.SHEET] if rules.SHEET in book.sheetnames else book.worksheets[0]


def _empty(values: tuple[Any, ...]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _cell(value: Any) -> Any:
    """A cell as JSON keeps it: datetimes as ISO text (naive stays naive)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def read_rows(content: bytes) -> tuple[list[Any], list[tuple[int, dict[str, Any]]]]:
    """The header and the non-empty rows (sheet row number, cells by column name); refused
    (field "file") when the bytes are not a workbook, the columns are wrong or there are
    too many rows. Reading stops one row past the limit, whatever the sheet claims."""
    if not content:
        raise RuleViolation("file: the file is empty", field="file")
    if len(content) > rules.MAX_FILE_BYTES:
        raise RuleViolation(
            f"file: the file is over {rules.MAX_FILE_BYTES // 1024 // 1024} MB", field="file"
        )
    try:
        from openpyxl import load_workbook  # loaded by the processes that read workbooks only

        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # zip, XML or format errors: all mean "not a workbook"
        raise RuleViolation("file: not an Excel workbook (.xlsx)", field="file") from None
    try:
        sheet = sheet_of(book)
        lines = sheet.iter_rows(values_only=True)
        header = list(next(lines, ()) or ())
        why = rules.header_refusal(header)
        if why:
            raise RuleViolation(f"columns: {why}", field="columns")
        where = rules.positions(header)
        rows: list[tuple[int, dict[str, Any]]] = []
        for number, values in enumerate(lines, start=2):
            values = tuple(values[: len(header)])
            if _empty(values):
                continue
            if len(rows) >= rules.MAX_ROWS:
                raise RuleViolation(f"rows: more than {rules.MAX_ROWS} rows", field="rows")
            cells = {
                name: _cell(values[i]) if i < len(values) else None for name, i in where.items()
            }
            rows.append((number, cells))
    finally:
        book.close()
    if not rows:
        raise RuleViolation("rows: the sheet has no rows below its header", field="rows")
    return header, rows


def check_file(content: bytes) -> int:
    """The number of rows, or the refusal naming the field and rule."""
    return len(read_rows(content)[1])


# -- the import --


def create_import(
    *, session: Session, actor: Actor, content: bytes, filename: str, rows: int
) -> tuple[AnomalyImport, bool]:
    """The import of this file: a new one (True), or the one the organisation already has
    for the same bytes (False): the same file never registers twice."""
    sha = files.store(session, organization_id=actor.organization_id, content=content)
    new_id = session.scalar(
        insert(AnomalyImport)
        .values(
            organization_id=actor.organization_id,
            file_sha256=sha,
            filename=safe_filename(filename or "anomalies.xlsx"),
            user_id=actor.user_id,
            user_name=actor.full_name,
            state=ImportStatus.RECEIVED.value,
            rows=rows,
            registered=0,
            refused=0,
            duplicates=0,
        )
        .on_conflict_do_nothing(index_elements=["organization_id", "file_sha256"])
        .returning(AnomalyImport.id)
    )
    if new_id is None:
        existing = session.scalars(
            select(AnomalyImport).where(
                AnomalyImport.organization_id == actor.organization_id,
                AnomalyImport.file_sha256 == sha,
            )
        ).one()
        return existing, False
    record_change(
        session=session,
        actor=actor,
        entity_type=ENTITY,
        entity_id=reference(new_id),
        action="RECEIVED",
        before=None,
        after={"state": ImportStatus.RECEIVED.value, "rows": rows, "file": sha},
        reason=filename,
    )
    return session.get(AnomalyImport, new_id), True


def get_import(*, session: Session, organization_id: int, ref: str) -> AnomalyImport:
    import_id = import_id_of(ref)
    found = (
        session.scalars(
            select(AnomalyImport).where(
                AnomalyImport.id == import_id, AnomalyImport.organization_id == organization_id
            )
        ).one_or_none()
        if import_id is not None
        else None
    )
    if found is None:
        raise NotFound(f"import {ref} not found", field="id")
    return found


def load_rows(*, session: Session, actor: Actor, import_id: int) -> int:
    """The file's rows into the import, once (a second run finds them there); the rows."""
    imp = session.get(AnomalyImport, import_id, with_for_update=True)
    if imp is None or imp.organization_id != actor.organization_id:
        raise NotFound(f"import {reference(import_id)} not found", field="id")
    if imp.state != ImportStatus.RECEIVED.value:
        return imp.rows
    content = files.content_of(session, organization_id=imp.organization_id, sha256=imp.file_sha256)
    if content is None:
        raise NotFound("the import's file is no longer stored", field="file")
    _, rows = read_rows(content)
    for start in range(0, len(rows), 1000):
        session.execute(
            insert(AnomalyImportRow).on_conflict_do_nothing(),
            [
                {
                    "import_id": imp.id,
                    "row_number": number,
                    "organization_id": imp.organization_id,
                    "cells": cells,
                    "status": RowStatus.PENDING.value,
                    "problems": [],
                }
                for number, cells in rows[start : start + 1000]
            ],
        )
    imp.rows = len(rows)
    imp.state = ImportStatus.RUNNING.value
    record_change(
        session=session,
        actor=actor,
        entity_type=ENTITY,
        entity_id=reference(imp.id),
        action="RUNNING",
        before={"state": ImportStatus.RECEIVED.value},
        after={"state": ImportStatus.RUNNING.value, "rows": len(rows)},
    )
    return len(rows)


def row_numbers(*, session: Session, import_id: int) -> list[int]:
    return list(
        session.scalars(
            select(AnomalyImportRow.row_number)
            .where(AnomalyImportRow.import_id == import_id)
            .order_by(AnomalyImportRow.row_number)
        )
    )


def site_ids(session: Session, actor: Actor) -> set[int]:
    """The sites the importer works at: its home site and its unexpired clearances."""
    today = datetime.now(UTC).date()
    home = session.scalar(select(User.home_site_id).where(User.id == actor.user_id))
    cleared = session.scalars(
        select(SiteClearance.site_id).where(
            SiteClearance.user_id == actor.user_id,
            or_(SiteClearance.expires_on.is_(None), SiteClearance.expires_on >= today),
        )
    ).all()
    return {s for s in (home, *cleared) if s is not None}


def _aware(moment: datetime | None, zone: str) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=ZoneInfo(zone))


def _validation_problems(err: ValidationError) -> list[Problem]:
    found = []
    for e in err.errors():
        column = str(e["loc"][0]) if e["loc"] else "row"
        found.append(Problem(column, e["msg"].removeprefix("Value error, ")))
    return found


def _report(
    cells: dict[str, Any], assets: dict[str, Asset], zones: dict[int, str], mine: set[int]
) -> tuple[AnomalyReport | None, Asset | None, str, list[Problem]]:
    """The row as a web report would send it, or the rules it breaks."""
    values, problems = rules.check_row(cells)
    asset = None
    number = (values.get("asset") or "").upper()
    if number:
        asset = assets.get(number)
        if asset is None:
            problems.append(Problem("asset", f"unknown asset {number}"))
        elif asset.site_id not in mine:
            problems.append(Problem("asset", f"asset {number} is not at one of your sites"))
            asset = None
    if problems or asset is None:
        return None, asset, "", problems
    zone = zones[asset.site_id]
    try:
        report = AnomalyReport(
            asset=number,
            title=values["title"],
            description=values["description"],
            location=values.get("location"),
            channel=IntakeChannel.EXCEL,
            detected_at=_aware(values["detected_at"], zone),
            occurred_at=_aware(values.get("occurred_at"), zone),
            safety_impact=values.get("safety_impact") or "NONE",
            urgency=values.get("urgency") or "SOON",
            production_loss_per_hour=values.get("production_loss_per_hour"),
            regulatory_impact=values.get("regulatory_impact") == "YES",
        )
    except ValidationError as err:
        return None, asset, "", _validation_problems(err)
    return report, asset, values.get("channel") or "EXCEL", []


def register_batch(
    *,
    session: Session,
    actor: Actor,
    import_id: int,
    first_row: int,
    last_row: int,
    now: datetime | None = None,
) -> None:
    """Register the batch's rows still pending, each as a web report is registered; a
    refused row keeps its problems, a row whose key is taken is a duplicate. The caller's
    transaction commits the batch whole: run again, it finds nothing pending."""
    now = now or datetime.now(UTC)
    pending = session.scalars(
        select(AnomalyImportRow)
        .where(
            AnomalyImportRow.import_id == import_id,
            AnomalyImportRow.organization_id == actor.organization_id,
            AnomalyImportRow.row_number.between(first_row, last_row),
            AnomalyImportRow.status == RowStatus.PENDING.value,
        )
        .order_by(AnomalyImportRow.row_number)
        .with_for_update()
    ).all()
    if not pending:
        return
    numbers = {str(r.cells.get("asset") or "").strip().upper() for r in pending}
    assets = {
        a.asset_number: a
        for a in session.scalars(
            select(Asset).where(
                Asset.organization_id == actor.organization_id, Asset.asset_number.in_(numbers)
            )
        )
    }
    zones = dict(
        session.execute(
            select(Site.id, Site.timezone).where(Site.organization_id == actor.organization_id)
        ).all()
    )
    mine = site_ids(session, actor)
    checked = []
    for row in pending:
        report, asset, channel, problems = _report(row.cells, assets, zones, mine)
        if report is None:
            _refuse(row, problems)
            continue
        key = (asset.id, report.detected_at, rules.title_key(report.title)[:200])
        checked.append((row, report, channel, key))
    taken = _taken(session, actor.organization_id, [key for *_, key in checked])
    # The batch's rows registered together (one transaction, a fixed number of statements),
    # each as it would be alone. A row whose key an earlier row of the batch holds waits
    # for that row's outcome: a duplicate if it registered, tried in the next round if it
    # was refused (such a row then takes its reference after the round's).
    keys: list[dict[str, Any]] = []
    done: list[tuple[AnomalyImportRow, Any, str]] = []
    waiting = checked
    while waiting:
        chosen, later, held = [], [], set()
        for item in waiting:
            row, key = item[0], item[3]
            if key in taken:
                row.status = RowStatus.DUPLICATE.value
                row.message = "already imported (same asset, detection time and title)"
            elif key in held:
                later.append(item)
            else:
                held.add(key)
                chosen.append(item)
        results = anomaly_service.register_many(
            session=session, actor=actor, reports=[r for _, r, _, _ in chosen], now=now
        )
        for (row, _, channel, key), anomaly in zip(chosen, results, strict=True):
            if isinstance(anomaly, DomainError):
                # Registration checks everything before it writes: a refusal leaves nothing.
                _refuse(row, [Problem(anomaly.field or "row", anomaly.message)])
                continue
            taken.add(key)
            asset_id, detected, title = key
            keys.append(
                {
                    "organization_id": actor.organization_id,
                    "asset_id": asset_id,
                    "detected_at": detected,
                    "title_key": title,
                    "anomaly_id": anomaly.id,
                    "import_id": import_id,
                }
            )
            done.append((row, anomaly, channel))
        waiting = later
    if keys:
        won = session.scalars(
            insert(AnomalyImportKey)
            .on_conflict_do_nothing()
            .returning(AnomalyImportKey.anomaly_id),
            keys,
        ).all()
        if len(won) < len(keys):
            # Another import registered one of these rows since the check: the whole batch
            # rolls back and runs again, and finds those rows taken.
            raise KeyTaken(f"{len(keys) - len(won)} row(s) of the batch were imported meanwhile")
        session.execute(
            update(Anomaly),
            [
                {
                    "id": anomaly.id,
                    "enrichment": {
                        **anomaly.enrichment,
                        "import": {
                            "reference": reference(import_id),
                            "row": row.row_number,
                            "reported_via": channel,
                        },
                    },
                }
                for row, anomaly, channel in done
            ],
        )
    for row, anomaly, _channel in done:
        row.status = RowStatus.REGISTERED.value
        row.reference = anomaly.reference
        row.message = anomaly.reference
    _recount(session, import_id)


class KeyTaken(Exception):
    """A race with another import: not a refusal, the batch is tried again."""


def _taken(session: Session, organization_id: int, keys: list[tuple]) -> set[tuple]:
    """The keys among these that an earlier import registered."""
    if not keys:
        return set()
    rows = session.execute(
        select(
            AnomalyImportKey.asset_id, AnomalyImportKey.detected_at, AnomalyImportKey.title_key
        ).where(
            AnomalyImportKey.organization_id == organization_id,
            tuple_(
                AnomalyImportKey.asset_id,
                AnomalyImportKey.detected_at,
                AnomalyImportKey.title_key,
            ).in_(keys),
        )
    ).all()
    return {tuple(r) for r in rows}


def _refuse(row: AnomalyImportRow, problems: list[Problem]) -> None:
    row.status = RowStatus.REFUSED.value
    row.problems = [{"column": p.column, "rule": p.rule} for p in problems]
    row.message = "; ".join(p.text() for p in problems)


def _recount(session: Session, import_id: int) -> None:
    """The import's counts from its rows: right however often a batch ran."""
    session.flush()
    by_status = dict(
        session.execute(
            select(AnomalyImportRow.status, func.count())
            .where(AnomalyImportRow.import_id == import_id)
            .group_by(AnomalyImportRow.status)
        ).all()
    )
    imp = session.get(AnomalyImport, import_id)
    imp.registered = by_status.get(RowStatus.REGISTERED.value, 0)
    imp.refused = by_status.get(RowStatus.REFUSED.value, 0)
    imp.duplicates = by_status.get(RowStatus.DUPLICATE.value, 0)


def registered_in(
    *, session: Session, organization_id: int, import_id: int, first_row: int, last_row: int
) -> list[str]:
    """The references the batch registered (also after a rerun that found them done)."""
    return list(
        session.scalars(
            select(AnomalyImportRow.reference)
            .where(
                AnomalyImportRow.import_id == import_id,
                AnomalyImportRow.organization_id == organization_id,
                AnomalyImportRow.row_number.between(first_row, last_row),
                AnomalyImportRow.status == RowStatus.REGISTERED.value,
            )
            .order_by(AnomalyImportRow.row_number)
        )
    )


def finish(*, session: Session, actor: Actor, import_id: int) -> AnomalyImport:
    imp = session.get(AnomalyImport, import_id, with_for_update=True)
    if imp.state == ImportStatus.DONE.value:
        return imp
    _recount(session, import_id)
    before = {"state": imp.state}
    imp.state = ImportStatus.DONE.value
    imp.finished_at = datetime.now(UTC)
    record_change(
        session=session,
        actor=actor,
        entity_type=ENTITY,
        entity_id=reference(imp.id),
        action="DONE",
        before=before,
        after={
            "state": imp.state,
            "rows": imp.rows,
            "registered": imp.registered,
            "refused": imp.refused,
            "duplicates": imp.duplicates,
        },
        reason=rules.counts_line(imp.rows, imp.registered, imp.refused, imp.duplicates),
    )
    return imp


def status_of(session: Session, imp: AnomalyImport) -> dict[str, Any]:
    """The import's progress, counts and refused rows (row, column, rule)."""
    refused = session.execute(
        select(AnomalyImportRow.row_number, AnomalyImportRow.problems)
        .where(
            AnomalyImportRow.import_id == imp.id,
            AnomalyImportRow.status == RowStatus.REFUSED.value,
        )
        .order_by(AnomalyImportRow.row_number)
        .limit(SHOWN_PROBLEMS)
    ).all()
    done = imp.registered + imp.refused + imp.duplicates
    return {
        "id": reference(imp.id),
        "filename": imp.filename,
        "state": imp.state,
        "rows": imp.rows,
        "processed": done,
        "registered": imp.registered,
        "refused": imp.refused,
        "duplicates": imp.duplicates,
        "imported_by": imp.user_name,
        "created_at": imp.created_at,
        "finished_at": imp.finished_at,
        "errors": [
            {"row": number, "column": p["column"], "rule": p["rule"]}
            for number, problems in refused
            for p in problems
        ],
        "errors_complete": imp.refused <= SHOWN_PROBLEMS,
    }


def recent(*, session: Session, organization_id: int, limit: int = 20) -> list[AnomalyImport]:
    """The organisation's latest imports, newest first."""
    return list(
        session.scalars(
            select(AnomalyImport)
            .where(AnomalyImport.organization_id == organization_id)
            .order_by(AnomalyImport.id.desc())
            .limit(limit)
        )
    )
