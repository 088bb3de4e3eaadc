"""What an anomaly workbook must hold (seed 000 phase 1 C4): its columns, the limits, and
the checks on one row. Plain functions over plain values: the service adds what needs the
database (the asset, the importer's sites, the duplicate key)."""

from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from domain.rules.criticality import SafetyImpact, Urgency

MAX_ROWS = 10_000
MAX_FILE_BYTES = 10 * 1024 * 1024
BATCH = 250  # rows registered per activity, in one transaction
SHEET = "Anomalies"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHANNELS = ("EXCEL", "MOBILE", "IOT", "MAXIMO", "API")
SAFETY_IMPACTS = tuple(s.value for s in SafetyImpact)
URGENCIES = tuple(u.value for u in Urgency)
YES_NO = ("YES", "NO")


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    hint: str
    choices: tuple[str, ...] = ()
    max_length: int | None = None


COLUMNS: tuple[Column, ...] = (
    Column("asset", True, "asset number, from the list (assets of your sites)", max_length=60),
    Column("title", True, "3 to 200 characters", max_length=200),
    Column("description", True, "what was seen, at least 10 characters", max_length=10_000),
    Column("detected_at", True, "date and time of detection, in the site's time"),
    Column("occurred_at", False, "when it started, if known (not after detected_at)"),
    Column("location", False, "where on the asset, if not the asset itself", max_length=200),
    Column("channel", False, "how it was first reported (default EXCEL)", CHANNELS),
    Column("safety_impact", False, "risk to people (default NONE)", SAFETY_IMPACTS),
    Column("urgency", False, "how soon it must be handled (default SOON)", URGENCIES),
    Column("production_loss_per_hour", False, "lost production per hour, a number >= 0"),
    Column("regulatory_impact", False, "YES or NO (default NO)", YES_NO),
)
NAMES = tuple(c.name for c in COLUMNS)
STATUS_COLUMN, MESSAGE_COLUMN = "import_status", "import_message"


class ImportStatus(StrEnum):
    RECEIVED = "RECEIVED"
    RUNNING = "RUNNING"
    DONE = "DONE"


class RowStatus(StrEnum):
    PENDING = "PENDING"
    REGISTERED = "REGISTERED"
    REFUSED = "REFUSED"
    DUPLICATE = "DUPLICATE"


@dataclass(frozen=True)
class Problem:
    """One rule a row breaks: the column (as the header names it) and the rule."""

    column: str
    rule: str

    def text(self) -> str:
        return f"{self.column}: {self.rule}"


def header_refusal(header: list[Any]) -> str | None:
    """Why the first row is not the template's header, or None. Extra columns at the end
    (a status column from an earlier report) are allowed; missing or renamed ones are not."""
    names = [str(v).strip().lower() if v is not None else "" for v in header]
    missing = [n for n in NAMES if n not in names]
    if missing:
        return f"missing column(s) {', '.join(missing)}; the first row must name the columns " + (
            ", ".join(NAMES)
        )
    unknown = [
        n for n in names if n and n not in NAMES and n not in (STATUS_COLUMN, MESSAGE_COLUMN)
    ]
    if unknown:
        return f"unknown column(s) {', '.join(unknown)}"
    return None


def positions(header: list[Any]) -> dict[str, int]:
    """Column name to its index in the header row."""
    names = [str(v).strip().lower() if v is not None else "" for v in header]
    return {n: names.index(n) for n in NAMES}


def title_key(title: str) -> str:
    """Two titles that differ only in case or spacing are the same row."""
    return " ".join(title.split()).casefold()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _moment(value: Any) -> datetime | str:
    """A datetime (naive: the site's time, aware kept), or why it is not one."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    text = _text(value)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return "must be a date and time, e.g. 2026-11-26 08:30"


def check_row(values: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """The row's values cleaned (names as in COLUMNS) and the rules it breaks. Datetimes
    may come back naive: the service reads them in the asset's site time zone."""
    problems: list[Problem] = []
    out: dict[str, Any] = {}
    for col in COLUMNS:
        raw = values.get(col.name)
        if col.name in ("detected_at", "occurred_at"):
            if raw is None or _text(raw) == "":
                if col.required:
                    problems.append(Problem(col.name, "is required"))
                out[col.name] = None
                continue
            moment = _moment(raw)
            if isinstance(moment, str):
                problems.append(Problem(col.name, moment))
                out[col.name] = None
            else:
                out[col.name] = moment
            continue
        if col.name == "production_loss_per_hour":
            text = _text(raw)
            if not text:
                out[col.name] = None
                continue
            try:
                number = float(text)
            except ValueError:
                problems.append(Problem(col.name, "must be a number"))
                continue
            if not 0 <= number <= 10_000_000:
                problems.append(Problem(col.name, "must be between 0 and 10000000"))
                continue
            out[col.name] = number
            continue
        text = _text(raw)
        if col.choices:
            text = text.upper()
        if not text:
            if col.required:
                problems.append(Problem(col.name, "is required"))
            out[col.name] = None
            continue
        if col.choices and text not in col.choices:
            problems.append(Problem(col.name, f"must be one of {', '.join(col.choices)}"))
            continue
        if col.max_length and len(text) > col.max_length:
            problems.append(Problem(col.name, f"must be at most {col.max_length} characters"))
            continue
        out[col.name] = text
    title, description = out.get("title"), out.get("description")
    if title and len(title) < 3:
        problems.append(Problem("title", "must be at least 3 characters"))
    if description and len(description) < 10:
        problems.append(Problem("description", "must be at least 10 characters"))
    return out, problems


def counts_line(rows: int, registered: int, refused: int, duplicates: int) -> str:
    return f"{rows} rows: {registered} registered, {refused} refused, {duplicates} already imported"
