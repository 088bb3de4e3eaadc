"""Maximo intake (seed 000 phase 1, C3): reading the MXWO / MXSR object structures as the
REST API returns them (JSON pages with `member` and `responseInfo.nextPage.href`) and as
CSV exports, and the default tables that map Maximo statuses and priorities. Pure: no I/O.
"""

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode, urlsplit

from domain.rules.criticality import SafetyImpact, Urgency


class Kind(StrEnum):
    WO = "WO"  # a work order (MXWO), identified by wonum
    SR = "SR"  # a service request (MXSR), identified by ticketid


class Outcome(StrEnum):
    """What a mapped Maximo status means here: an OPEN record starts the anomaly's
    lifecycle; CLOSED and CANCELLED ones are history, imported without paging anyone."""

    OPEN = "OPEN"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"


HISTORICAL = frozenset({Outcome.CLOSED, Outcome.CANCELLED})

# Maximo's shipped statuses (synonym domains WOSTATUS and SRSTATUS).
DEFAULT_STATUS_MAP: dict[tuple[Kind, str], Outcome] = {
    **{(Kind.WO, s): Outcome.OPEN for s in ("WAPPR", "APPR", "WSCH", "WMATL", "WPCOND", "INPRG")},
    (Kind.WO, "COMP"): Outcome.CLOSED,
    (Kind.WO, "CLOSE"): Outcome.CLOSED,
    (Kind.WO, "HISTEDIT"): Outcome.CLOSED,
    (Kind.WO, "CAN"): Outcome.CANCELLED,
    **{(Kind.SR, s): Outcome.OPEN for s in ("NEW", "QUEUED", "PENDING", "INPROG")},
    (Kind.SR, "RESOLVED"): Outcome.CLOSED,
    (Kind.SR, "CLOSED"): Outcome.CLOSED,
    (Kind.SR, "CANCELLED"): Outcome.CANCELLED,
}


@dataclass(frozen=True)
class PriorityRule:
    urgency: Urgency
    safety_impact: SafetyImpact


# Maximo's priority runs 1 (highest) to 5; a record without one is treated as 3.
DEFAULT_PRIORITY_MAP: dict[int, PriorityRule] = {
    1: PriorityRule(Urgency.URGENT, SafetyImpact.SERIOUS),
    2: PriorityRule(Urgency.URGENT, SafetyImpact.MINOR),
    3: PriorityRule(Urgency.SOON, SafetyImpact.NONE),
    4: PriorityRule(Urgency.CAN_WAIT, SafetyImpact.NONE),
    5: PriorityRule(Urgency.CAN_WAIT, SafetyImpact.NONE),
}
DEFAULT_PRIORITY = 3
PRIORITIES = range(1, 6)


@dataclass(frozen=True)
class Record:
    """One work order or service request, in the fields the import uses."""

    kind: Kind
    site: str
    ident: str  # wonum or ticketid
    asset: str | None
    description: str
    long_description: str | None
    status: str
    priority: int | None
    reported_at: datetime | None
    changed_at: datetime

    @property
    def key(self) -> str:
        return f"{self.site}/{self.kind.value}/{self.ident}"


@dataclass(frozen=True)
class Refusal:
    """A record not imported, and why; kept in the run's record."""

    site: str | None
    kind: str | None
    ident: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """Printable: a reason quotes what was sent, and JSONB refuses a NUL."""
        return {"site": _shown(self.site), "kind": self.kind, "id": _shown(self.ident),
                "reason": _shown(self.reason)}  # fmt: skip


def _shown(text: str | None) -> str | None:
    if text is None:
        return None
    return "".join(c if c.isprintable() else "?" for c in text[:500])


@dataclass
class Page:
    records: list[Record]
    refusals: list[Refusal]
    next_href: str | None


def _plain(obj: dict[str, Any]) -> dict[str, Any]:
    """Field names as the lean JSON and CSV exports spell them: lower case, no `spi:`."""
    out: dict[str, Any] = {}
    for name, value in obj.items():
        key = str(name).strip().lower()
        for prefix in ("spi:", "oslc:", "rdfs:"):
            key = key.removeprefix(prefix)
        out[key] = value
    return out


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _moment(value: Any, name: str) -> datetime | None:
    text = _text(value)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name} '{text}' is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise ValueError(f"{name} '{text}' carries no time zone")
    return moment


def _clean(value: str) -> bool:
    """No control characters nor lone surrogates in an identifier (columns and histories
    refuse them)."""
    return all(ord(c) >= 32 and not 0xD800 <= ord(c) <= 0xDFFF for c in value)


def read_record(obj: Any) -> Record | Refusal:
    """A member of a page or a CSV row, or why it cannot be read."""
    if not isinstance(obj, dict):
        return Refusal(None, None, None, "a member must be a JSON object")
    f = _plain(obj)
    site = _text(f.get("siteid"))
    if _text(f.get("wonum")):
        kind, ident = Kind.WO, _text(f.get("wonum"))
    elif _text(f.get("ticketid")):
        kind, ident = Kind.SR, _text(f.get("ticketid"))
    else:
        return Refusal(site, None, None, "neither wonum nor ticketid is given")
    site = site.upper() if site else None
    if site is None:
        return Refusal(None, kind.value, ident, "siteid is missing")
    status = _text(f.get("status"))
    if status is None:
        return Refusal(site, kind.value, ident, "status is missing")
    try:
        changed = _moment(f.get("changedate"), "changedate")
        reported = _moment(f.get("reportdate"), "reportdate")
    except ValueError as err:
        return Refusal(site, kind.value, ident, str(err))
    if changed is None:
        return Refusal(site, kind.value, ident, "changedate is missing")
    priority_text = _text(f.get("wopriority") if kind is Kind.WO else f.get("reportedpriority"))
    priority_text = priority_text or _text(f.get("priority"))
    priority = None
    if priority_text is not None:
        try:
            priority = int(float(priority_text))
        except ValueError:
            return Refusal(site, kind.value, ident, f"priority '{priority_text}' is not a number")
    asset = (_text(f.get("assetnum")) or "").upper() or None
    for name, value, longest in (("siteid", site, 40), ("wonum/ticketid", ident, 60),
                                 ("status", status, 20), ("assetnum", asset, 60)):  # fmt: skip
        if value is not None and (len(value) > longest or not _clean(value)):
            reason = f"{name} must be printable and at most {longest} characters"
            return Refusal(site[:40], kind.value, ident[:60], reason)
    long = f.get("description_longdescription") or f.get("longdescription")
    return Record(
        kind=kind,
        site=site,
        ident=ident.upper(),
        asset=asset,
        description=_text(f.get("description")) or "",
        long_description=_text(long),
        status=status.upper(),
        priority=priority,
        reported_at=reported,
        changed_at=changed,
    )


def read_page(body: Any) -> Page:
    """A page of the REST API: `member` and, while more follow, `responseInfo.nextPage`."""
    if not isinstance(body, dict) or not isinstance(body.get("member"), list):
        raise ValueError("member: a Maximo page holds a 'member' list")
    records, refusals = [], []
    for obj in body["member"]:
        read = read_record(obj)
        (refusals if isinstance(read, Refusal) else records).append(read)
    info = body.get("responseInfo") or {}
    nxt = (info.get("nextPage") or {}) if isinstance(info, dict) else {}
    href = nxt.get("href") if isinstance(nxt, dict) else None
    return Page(records, refusals, href if isinstance(href, str) and href else None)


def read_csv(text: str) -> Page:
    """A CSV export: one record per row, Maximo's field names as headers (any case)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    headers = {h.strip().lower() for h in reader.fieldnames or []}
    if "siteid" not in headers or not headers & {"wonum", "ticketid"}:
        raise ValueError("file: the CSV header must name siteid and wonum or ticketid")
    records, refusals = [], []
    for row in reader:
        read = read_record({k: v for k, v in row.items() if k is not None})
        (refusals if isinstance(read, Refusal) else records).append(read)
    return Page(records, refusals, None)


def title_of(record: Record) -> str:
    what = "work order" if record.kind is Kind.WO else "service request"
    head = record.description or f"Maximo {what}"
    return f"{record.ident}: {head}"[:200]


def description_of(record: Record) -> str:
    """The anomaly's description: Maximo's texts and where they came from."""
    what = "work order" if record.kind is Kind.WO else "service request"
    parts = [record.description[:500], (record.long_description or "")[:9000]]
    origin = f"Imported from Maximo {what} {record.ident} at site {record.site}."
    return "\n\n".join([p for p in parts if p] + [origin])


def is_newer(stored: datetime | None, incoming: datetime) -> bool:
    """A record counts as changed only when Maximo's changedate moved forward."""
    return stored is None or incoming > stored


def where_clause(since: datetime | None) -> str | None:
    """The `oslc.where` filter of a sync: what changed after the last change seen."""
    if since is None:
        return None
    return f'changedate>"{since.isoformat()}"'


# The REST API's object structures the sync reads, by kind.
OBJECT_STRUCTURE = {Kind.WO: "mxwo", Kind.SR: "mxsr"}


def first_page(base_url: str, kind: Kind, page_size: int, since: datetime | None) -> str:
    """The first page of a sync: oldest change first, so a stopped run resumes in order."""
    params = {"lean": "1", "oslc.select": "*", "oslc.pageSize": str(page_size),
              "oslc.orderBy": "+changedate"}  # fmt: skip
    where = where_clause(since)
    if where:
        params["oslc.where"] = where
    return f"{base_url.rstrip('/')}/os/{OBJECT_STRUCTURE[kind]}?{urlencode(params)}"


def same_origin(base_url: str, href: str) -> bool:
    """The API key goes only to the configured server, whatever a page's link says."""
    a, b = urlsplit(base_url), urlsplit(href)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)
