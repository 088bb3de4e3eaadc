"""Maximo intake (seed 000 C3): records from Maximo become anomalies through the one
registration service, keyed by Maximo's own identifiers; the mapping tables, the
configuration and the runs that say what each import did."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.actor import Actor, system_actor
from domain.errors import DomainError, NotFound, RuleViolation
from domain.models import Anomaly, Asset
from domain.models.maximo import (
    MaximoAssetMap,
    MaximoConfig,
    MaximoPriorityMap,
    MaximoRecord,
    MaximoRun,
    MaximoStatusMap,
)
from domain.rules.criticality import SafetyImpact, Urgency
from domain.rules.maximo import (
    DEFAULT_PRIORITY,
    DEFAULT_PRIORITY_MAP,
    DEFAULT_STATUS_MAP,
    HISTORICAL,
    Kind,
    Outcome,
    PriorityRule,
    Record,
    Refusal,
    description_of,
    first_page,
    is_newer,
    title_of,
)
from domain.schemas.anomalies import AnomalyReport, IntakeChannel
from domain.services import anomalies
from domain.services.audit import record_change

IMPORTER = "Maximo import"


def importer(organization_id: int) -> Actor:
    """Who registers what Maximo sends: the platform, named so in every audit row."""
    return system_actor(organization_id, IMPORTER)


# -- mapping tables --


def status_map(*, session: Session, organization_id: int) -> dict[tuple[Kind, str], Outcome]:
    """The shipped defaults, overridden and extended by the organisation's own rows."""
    table = dict(DEFAULT_STATUS_MAP)
    for row in session.scalars(
        select(MaximoStatusMap).where(MaximoStatusMap.organization_id == organization_id)
    ):
        table[(Kind(row.kind), row.maximo_status)] = Outcome(row.outcome)
    return table


def priority_map(*, session: Session, organization_id: int) -> dict[int, PriorityRule]:
    table = dict(DEFAULT_PRIORITY_MAP)
    for row in session.scalars(
        select(MaximoPriorityMap).where(MaximoPriorityMap.organization_id == organization_id)
    ):
        table[row.priority] = PriorityRule(Urgency(row.urgency), SafetyImpact(row.safety_impact))
    return table


def status_rows(*, session: Session, organization_id: int) -> list[dict[str, Any]]:
    own = {
        (r.kind, r.maximo_status)
        for r in session.scalars(
            select(MaximoStatusMap).where(MaximoStatusMap.organization_id == organization_id)
        )
    }
    table = status_map(session=session, organization_id=organization_id)
    return [
        {"kind": k.value, "maximo_status": s, "outcome": o.value,
         "source": "ORGANIZATION" if (k.value, s) in own else "DEFAULT"}
        for (k, s), o in sorted(table.items())
    ]  # fmt: skip


def priority_rows(*, session: Session, organization_id: int) -> list[dict[str, Any]]:
    own = set(
        session.scalars(
            select(MaximoPriorityMap.priority).where(
                MaximoPriorityMap.organization_id == organization_id
            )
        )
    )
    table = priority_map(session=session, organization_id=organization_id)
    return [
        {"priority": p, "urgency": r.urgency.value, "safety_impact": r.safety_impact.value,
         "source": "ORGANIZATION" if p in own else "DEFAULT"}
        for p, r in sorted(table.items())
    ]  # fmt: skip


def set_status(
    *, session: Session, actor: Actor, kind: Kind, maximo_status: str, outcome: Outcome
) -> None:
    status = maximo_status.upper()
    row = session.scalars(
        select(MaximoStatusMap).where(
            MaximoStatusMap.organization_id == actor.organization_id,
            MaximoStatusMap.kind == kind.value,
            MaximoStatusMap.maximo_status == status,
        )
    ).one_or_none()
    before = status_map(session=session, organization_id=actor.organization_id).get((kind, status))
    if row is None:
        row = MaximoStatusMap(organization_id=actor.organization_id, kind=kind.value,
                              maximo_status=status)  # fmt: skip
        session.add(row)
    row.outcome = outcome.value
    record_change(
        session=session, actor=actor, entity_type="MAXIMO_STATUS_MAP",
        entity_id=f"{kind.value}/{status}", action="MAXIMO_STATUS_MAPPED",
        before={"outcome": before.value if before else None}, after={"outcome": outcome.value},
    )  # fmt: skip
    session.flush()


def drop_status(*, session: Session, actor: Actor, kind: Kind, maximo_status: str) -> None:
    """The organisation's own entry goes; the shipped default, if any, applies again."""
    status = maximo_status.upper()
    row = session.scalars(
        select(MaximoStatusMap).where(
            MaximoStatusMap.organization_id == actor.organization_id,
            MaximoStatusMap.kind == kind.value,
            MaximoStatusMap.maximo_status == status,
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"the status map holds no own entry for {kind.value} {status}",
                       field="maximo_status")  # fmt: skip
    session.delete(row)
    default = DEFAULT_STATUS_MAP.get((kind, status))
    record_change(
        session=session, actor=actor, entity_type="MAXIMO_STATUS_MAP",
        entity_id=f"{kind.value}/{status}", action="MAXIMO_STATUS_UNMAPPED",
        before={"outcome": row.outcome}, after={"outcome": default.value if default else None},
    )  # fmt: skip
    session.flush()


def set_priority(*, session: Session, actor: Actor, priority: int, rule: PriorityRule) -> None:
    row = session.scalars(
        select(MaximoPriorityMap).where(
            MaximoPriorityMap.organization_id == actor.organization_id,
            MaximoPriorityMap.priority == priority,
        )
    ).one_or_none()
    before = priority_map(session=session, organization_id=actor.organization_id).get(priority)
    if row is None:
        row = MaximoPriorityMap(organization_id=actor.organization_id, priority=priority)
        session.add(row)
    row.urgency, row.safety_impact = rule.urgency.value, rule.safety_impact.value
    record_change(
        session=session, actor=actor, entity_type="MAXIMO_PRIORITY_MAP",
        entity_id=str(priority), action="MAXIMO_PRIORITY_MAPPED",
        before=_rule(before), after=_rule(rule),
    )  # fmt: skip
    session.flush()


def drop_priority(*, session: Session, actor: Actor, priority: int) -> None:
    row = session.scalars(
        select(MaximoPriorityMap).where(
            MaximoPriorityMap.organization_id == actor.organization_id,
            MaximoPriorityMap.priority == priority,
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"the priority map holds no own entry for {priority}", field="priority")
    session.delete(row)
    record_change(
        session=session, actor=actor, entity_type="MAXIMO_PRIORITY_MAP",
        entity_id=str(priority), action="MAXIMO_PRIORITY_UNMAPPED",
        before={"urgency": row.urgency, "safety_impact": row.safety_impact},
        after=_rule(DEFAULT_PRIORITY_MAP.get(priority)),
    )  # fmt: skip
    session.flush()


def _rule(rule: PriorityRule | None) -> dict[str, Any]:
    if rule is None:
        return {"urgency": None, "safety_impact": None}
    return {"urgency": rule.urgency.value, "safety_impact": rule.safety_impact.value}


def asset_rows(*, session: Session, organization_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(MaximoAssetMap, Asset.asset_number)
        .join(Asset, Asset.id == MaximoAssetMap.asset_id)
        .where(MaximoAssetMap.organization_id == organization_id)
        .order_by(MaximoAssetMap.maximo_site, MaximoAssetMap.assetnum)
    ).all()
    return [_asset_out(m, number) for m, number in rows]


def _asset_out(row: MaximoAssetMap, number: str) -> dict[str, Any]:
    return {"id": row.id, "maximo_site": row.maximo_site, "assetnum": row.assetnum,
            "asset": number}  # fmt: skip


def _own_asset(session: Session, actor: Actor, number: str) -> Asset:
    asset = session.scalars(
        select(Asset).where(
            Asset.organization_id == actor.organization_id, Asset.asset_number == number.upper()
        )
    ).one_or_none()
    if asset is None:
        raise NotFound(f"asset {number} not found", field="asset")
    return asset


def _asset_entry(session: Session, actor: Actor, entry_id: int) -> MaximoAssetMap:
    row = session.get(MaximoAssetMap, entry_id)
    if row is None or row.organization_id != actor.organization_id:
        raise NotFound(f"asset map entry {entry_id} not found", field="id")
    return row


def map_asset(
    *, session: Session, actor: Actor, maximo_site: str, assetnum: str, asset: str
) -> dict[str, Any]:
    target = _own_asset(session, actor, asset)
    site, num = maximo_site.upper(), assetnum.upper()
    taken = session.scalars(
        select(MaximoAssetMap).where(
            MaximoAssetMap.organization_id == actor.organization_id,
            MaximoAssetMap.maximo_site == site,
            MaximoAssetMap.assetnum == num,
        )
    ).one_or_none()
    if taken is not None:
        from domain.errors import Conflict

        raise Conflict(f"{site}/{num} is mapped already (entry {taken.id}); change that entry",
                       field="assetnum")  # fmt: skip
    row = MaximoAssetMap(organization_id=actor.organization_id, maximo_site=site, assetnum=num,
                         asset_id=target.id)  # fmt: skip
    session.add(row)
    session.flush()
    record_change(
        session=session, actor=actor, entity_type="MAXIMO_ASSET_MAP", entity_id=f"{site}/{num}",
        action="MAXIMO_ASSET_MAPPED", before=None, after={"asset": target.asset_number},
    )  # fmt: skip
    return _asset_out(row, target.asset_number)


def remap_asset(*, session: Session, actor: Actor, entry_id: int, asset: str) -> dict[str, Any]:
    row = _asset_entry(session, actor, entry_id)
    target = _own_asset(session, actor, asset)
    before = session.get(Asset, row.asset_id).asset_number
    row.asset_id = target.id
    record_change(
        session=session, actor=actor, entity_type="MAXIMO_ASSET_MAP",
        entity_id=f"{row.maximo_site}/{row.assetnum}", action="MAXIMO_ASSET_MAPPED",
        before={"asset": before}, after={"asset": target.asset_number},
    )  # fmt: skip
    session.flush()
    return _asset_out(row, target.asset_number)


def unmap_asset(*, session: Session, actor: Actor, entry_id: int) -> None:
    row = _asset_entry(session, actor, entry_id)
    before = session.get(Asset, row.asset_id).asset_number
    session.delete(row)
    record_change(
        session=session, actor=actor, entity_type="MAXIMO_ASSET_MAP",
        entity_id=f"{row.maximo_site}/{row.assetnum}", action="MAXIMO_ASSET_UNMAPPED",
        before={"asset": before}, after=None,
    )  # fmt: skip
    session.flush()


def _mapped_asset(session: Session, organization_id: int, site: str, assetnum: str):
    return session.scalars(
        select(Asset)
        .join(MaximoAssetMap, MaximoAssetMap.asset_id == Asset.id)
        .where(
            MaximoAssetMap.organization_id == organization_id,
            MaximoAssetMap.maximo_site == site,
            MaximoAssetMap.assetnum == assetnum,
        )
    ).one_or_none()


# -- configuration --


def get_config(*, session: Session, organization_id: int, lock: bool = False) -> MaximoConfig:
    query = select(MaximoConfig).where(MaximoConfig.organization_id == organization_id)
    if lock:
        query = query.with_for_update()
    config = session.scalars(query).one_or_none()
    if config is None:
        raise NotFound("Maximo is not configured for this organisation", field="base_url")
    return config


def config_out(config: MaximoConfig) -> dict[str, Any]:
    """Never the key itself: only whether one is stored."""
    return {
        "base_url": config.base_url, "api_key_set": bool(config.api_key),
        "interval_minutes": config.interval_minutes, "page_size": config.page_size,
        "enabled": config.enabled, "cursor": config.cursor or {},
    }  # fmt: skip


def configure(
    *,
    session: Session,
    actor: Actor,
    base_url: str,
    api_key: str | None,
    interval_minutes: int,
    page_size: int,
    enabled: bool,
    resync_from: datetime | None = None,
) -> MaximoConfig:
    """`api_key` None keeps the stored key; an empty one removes it."""
    config = session.scalars(
        select(MaximoConfig)
        .where(MaximoConfig.organization_id == actor.organization_id)
        .with_for_update()
    ).one_or_none()
    before = None
    if config is None:
        config = MaximoConfig(organization_id=actor.organization_id, cursor={})
        session.add(config)
    else:
        before = config_out(config)
    config.base_url = base_url.rstrip("/")
    if api_key is not None:
        config.api_key = api_key or None
    config.interval_minutes, config.page_size, config.enabled = interval_minutes, page_size, enabled
    if resync_from is not None:
        # Read again what changed after this moment (records refused before the asset map
        # was completed, say); imported ones come back unchanged or updated, never doubled.
        at = resync_from.astimezone(UTC).isoformat()
        config.cursor = {kind.value: {"seen": at, "next": None} for kind in Kind}
    session.flush()
    after = config_out(config)
    # The key is a secret: the audit says it changed, never what it is.
    after["api_key_changed"] = api_key is not None
    record_change(session=session, actor=actor, entity_type="MAXIMO_CONFIG",
                  entity_id=str(actor.organization_id), action="MAXIMO_CONFIGURED",
                  before=before, after=after)  # fmt: skip
    return config


# -- runs --


def begin_run(
    *, session: Session, actor: Actor, source: str, workflow_id: str | None = None,
    now: datetime | None = None,
) -> MaximoRun:  # fmt: skip
    run = MaximoRun(
        organization_id=actor.organization_id, source=source, workflow_id=workflow_id,
        started_by=actor.full_name, started_at=now or datetime.now(UTC), status="RUNNING",
        created_refs=[], updated_refs=[], refusals=[], seen={},
    )  # fmt: skip
    session.add(run)
    session.flush()
    return run


def get_run(*, session: Session, organization_id: int, run_id: int, lock: bool = False):
    query = select(MaximoRun).where(
        MaximoRun.organization_id == organization_id, MaximoRun.id == run_id
    )
    if lock:
        query = query.with_for_update()
    run = session.scalars(query).one_or_none()
    if run is None:
        raise NotFound(f"run {run_id} not found", field="run_id")
    return run


def finish_run(
    *, session: Session, run: MaximoRun, now: datetime | None = None, failure: str | None = None
) -> None:
    """A failed run keeps its cursor: the next one resumes at the page it could not read."""
    run.status, run.finished_at = ("FAILED" if failure else "DONE"), now or datetime.now(UTC)
    run.note = failure
    session.flush()


def run_out(run: MaximoRun) -> dict[str, Any]:
    return {
        "id": run.id, "source": run.source, "workflow_id": run.workflow_id,
        "started_by": run.started_by, "started_at": run.started_at,
        "finished_at": run.finished_at, "status": run.status, "note": run.note, "pages": run.pages,
        "created": run.created, "updated": run.updated, "unchanged": run.unchanged,
        "refused": run.refused, "created_references": run.created_refs,
        "updated_references": run.updated_refs, "refusals": run.refusals,
    }  # fmt: skip


def list_runs(*, session: Session, organization_id: int, limit: int, offset: int):
    return session.scalars(
        select(MaximoRun)
        .where(MaximoRun.organization_id == organization_id)
        .order_by(MaximoRun.started_at.desc(), MaximoRun.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()


# -- importing --


@dataclass
class Imported:
    """What one batch did; `to_start` are the open records whose lifecycle starts now."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    refusals: list[Refusal] = field(default_factory=list)
    to_start: list[str] = field(default_factory=list)


def import_records(
    *,
    session: Session,
    run: MaximoRun,
    records: list[Record],
    refusals: list[Refusal],
    now: datetime | None = None,
) -> Imported:
    """Each record in its own savepoint: one refused leaves nothing of itself behind and
    the others stand. The run's counts grow in the same transaction."""
    now = now or datetime.now(UTC)
    org = run.organization_id
    actor = importer(org)
    statuses = status_map(session=session, organization_id=org)
    priorities = priority_map(session=session, organization_id=org)
    done = Imported(refusals=list(refusals))
    seen = dict(run.seen or {})
    links = _links(session, org, records)
    assets: dict[tuple[str, str], Asset | None] = {}
    for record in records:
        seen[record.kind.value] = _later(seen.get(record.kind.value), record.changed_at)
        key = (record.site, record.kind.value, record.ident)
        found = links.get(key)
        if found is not None and not is_newer(found[0].changed_at, record.changed_at):
            done.unchanged += 1  # read before, or again: nothing to write
            continue
        try:
            with session.begin_nested():
                if found is not None:
                    link, reference = found
                    _update(session, actor, link, session.get(Anomaly, link.anomaly_id), record)
                    done.updated.append(reference)
                    continue
                link, reference, starts = _create(session, actor, record, statuses,
                                                  priorities, assets, now)  # fmt: skip
        except _Refused as refused:
            done.refusals.append(refused.refusal)
            continue
        except IntegrityError:
            # The same record registered by a concurrent import meanwhile: theirs stands.
            done.unchanged += 1
            continue
        links[key] = (link, reference)
        done.created.append(reference)
        if starts:
            done.to_start.append(reference)
    run.pages += 1
    run.created += len(done.created)
    run.updated += len(done.updated)
    run.unchanged += done.unchanged
    run.refused += len(done.refusals)
    run.created_refs = [*run.created_refs, *done.created]
    run.updated_refs = [*run.updated_refs, *done.updated]
    run.refusals = [*run.refusals, *(r.as_dict() for r in done.refusals)]
    run.seen = seen
    session.flush()
    return done


class _Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        self.refusal = refusal


def _refuse(record: Record, reason: str) -> _Refused:
    return _Refused(Refusal(record.site, record.kind.value, record.ident, reason))


def _links(session: Session, org: int, records: list[Record]):
    """The page's records imported before, locked, with their anomaly's reference: one
    query for the page, so a page read again costs one round trip."""
    if not records:
        return {}
    rows = session.execute(
        select(MaximoRecord, Anomaly.reference)
        .join(Anomaly, Anomaly.id == MaximoRecord.anomaly_id)
        .where(
            MaximoRecord.organization_id == org,
            MaximoRecord.external_id.in_({r.ident for r in records}),
        )
        .with_for_update(of=MaximoRecord)
    ).all()
    return {(link.site, link.kind, link.external_id): (link, ref) for link, ref in rows}


def _create(session, actor, record: Record, statuses, priorities, assets, now):
    """A record seen for the first time: registered as any report is, then history or
    a lifecycle to start (the third value)."""
    if record.asset is None:
        raise _refuse(record, "assetnum is missing: the record names no asset")
    where = (record.site, record.asset)
    if where not in assets:
        assets[where] = _mapped_asset(session, actor.organization_id, *where)
    asset = assets[where]
    if asset is None:
        raise _refuse(record, f"asset {record.site}/{record.asset} is not in the asset map")
    outcome = statuses.get((record.kind, record.status))
    if outcome is None:
        raise _refuse(record, f"status {record.status} has no entry in the status map")
    priority = record.priority if record.priority is not None else DEFAULT_PRIORITY
    rule = priorities.get(priority)
    if rule is None:
        raise _refuse(record, f"priority {priority} has no entry in the priority map")
    try:
        report = AnomalyReport(
            asset=asset.asset_number, title=title_of(record), description=description_of(record),
            channel=IntakeChannel.MAXIMO, detected_at=record.reported_at or record.changed_at,
            urgency=rule.urgency, safety_impact=rule.safety_impact,
        )  # fmt: skip
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise _refuse(record, f"{where}: {first['msg']}") from None
    try:
        anomaly = anomalies.register(session=session, actor=actor, report=report, now=now)
    except DomainError as err:
        raise _refuse(record, err.message) from None
    historical = outcome in HISTORICAL
    if historical:
        _close_as_history(session, actor, anomaly, record, outcome)
    link = MaximoRecord(
        organization_id=actor.organization_id, site=record.site, kind=record.kind.value,
        external_id=record.ident, anomaly_id=anomaly.id, maximo_status=record.status,
        changed_at=record.changed_at, historical=historical,
    )  # fmt: skip
    session.add(link)
    session.flush()
    return link, anomaly.reference, not historical


def _close_as_history(session, actor, anomaly: Anomaly, record: Record, outcome: Outcome):
    """Closed or cancelled in Maximo: recorded as closed history. No lifecycle starts for
    it, so no safety watch and no notice; the worker's resume looks only at REGISTERED."""
    anomaly.status = "CLOSED"
    anomaly.closed_at = record.changed_at
    anomaly.resolution = {"maximo_status": record.status, "outcome": outcome.value,
                          "historical": True}  # fmt: skip
    record_change(
        session=session, actor=actor, entity_type=anomalies.ENTITY, entity_id=anomaly.reference,
        action="IMPORTED_AS_HISTORY", before={"status": "REGISTERED"},
        after={"status": "CLOSED", "maximo_status": record.status,
               "closed_at": record.changed_at.isoformat()},
        reason=f"{outcome.value.lower()} in Maximo ({record.status}): history, no one paged",
    )  # fmt: skip


def _update(session, actor, link: MaximoRecord, anomaly: Anomaly, record: Record) -> None:
    """Maximo's texts and status are history; the lifecycle's decisions (status,
    criticality, assignment) stay the lifecycle's own."""
    before = {"description": anomaly.description, "maximo_status": link.maximo_status,
              "maximo_changed_at": link.changed_at.isoformat()}  # fmt: skip
    anomaly.description = description_of(record)
    link.maximo_status, link.changed_at = record.status, record.changed_at
    after = {"description": anomaly.description, "maximo_status": record.status,
             "maximo_changed_at": record.changed_at.isoformat()}  # fmt: skip
    record_change(
        session=session, actor=actor, entity_type=anomalies.ENTITY, entity_id=anomaly.reference,
        action="MAXIMO_CHANGED", before=before, after=after,
        reason=f"changed in Maximo ({record.kind.value} {record.ident} at {record.site})",
    )  # fmt: skip
    session.flush()


def check_kind(kind: str) -> Kind:
    try:
        return Kind(kind.upper())
    except ValueError:
        raise RuleViolation("kind: must be WO or SR", field="kind") from None


# -- the sync's cursor: per kind, the last change seen and the page a stopped run resumes at --


def feeds(*, config: MaximoConfig) -> list[tuple[Kind, str]]:
    out = []
    for kind in Kind:
        cursor = (config.cursor or {}).get(kind.value) or {}
        seen = cursor.get("seen")
        since = datetime.fromisoformat(seen) if seen else None
        out.append((kind, cursor.get("next") or first_page(config.base_url, kind,
                                                            config.page_size, since)))  # fmt: skip
    return out


def _later(stored: str | None, at: datetime) -> str:
    """The later of a stored moment (ISO text) and another, as UTC ISO text."""
    if stored and datetime.fromisoformat(stored) >= at:
        return stored
    return at.astimezone(UTC).isoformat()


def store_cursor(
    *, session: Session, config: MaximoConfig, run: MaximoRun, kind: Kind, next_href: str | None
) -> None:
    """After each page: where to go on. At a feed's end its last change seen moves forward,
    the next sync's filter."""
    cursor = dict(config.cursor or {})
    entry = dict(cursor.get(kind.value) or {})
    entry["next"] = next_href
    if next_href is None:
        seen = (run.seen or {}).get(kind.value)
        if seen:
            entry["seen"] = _later(entry.get("seen"), datetime.fromisoformat(seen))
    cursor[kind.value] = entry
    config.cursor = cursor  # a new dict: JSONB changes are seen by assignment
    session.flush()


def waiting_lifecycles(
    *, session: Session, organization_id: int, records: list[Record]
) -> list[str]:
    """Open records among these whose lifecycle never wrote a step: what a retried page
    still has to start (the first attempt may have stopped before starting them)."""
    if not records:
        return []
    keys = {(r.site, r.kind.value, r.ident) for r in records}
    rows = session.execute(
        select(MaximoRecord.site, MaximoRecord.kind, MaximoRecord.external_id, Anomaly.reference)
        .join(Anomaly, Anomaly.id == MaximoRecord.anomaly_id)
        .where(
            MaximoRecord.organization_id == organization_id,
            MaximoRecord.external_id.in_({r.ident for r in records}),
            MaximoRecord.historical.is_(False),
            Anomaly.status == "REGISTERED",
            Anomaly.last_step == 0,
        )
    ).all()
    return sorted(ref for site, kind, ident, ref in rows if (site, kind, ident) in keys)
