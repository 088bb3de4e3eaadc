"""Anomaly records: smart registration (seed 000 phase 2), reading, and the writes the
workflow's activities make, each idempotent by workflow step."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, insert, or_, select, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, joinedload, make_transient_to_detached, selectinload

from domain.actor import Actor
from domain.errors import DomainError, NotFound, RuleViolation
from domain.models import (
    Anomaly,
    AnomalyAttachment,
    Asset,
    AssetType,
    AuditLog,
    Rex,
    Site,
    User,
)
from domain.rules.anomaly_lifecycle import AttachmentKind
from domain.rules.criticality import (
    Assessment,
    Factors,
    ResponseTimes,
    SafetyImpact,
    Urgency,
    assess,
    response_deadline,
)
from domain.rules.uploads import (
    MAX_FILE_BYTES,
    safe_content_type,
    safe_filename,
    upload_refusal,
)
from domain.schemas.anomalies import (
    AnomalyOut,
    AnomalyReport,
    AttachmentOut,
    TimelineEntry,
)
from domain.services.audit import record_change
from domain.services.steps import next_number, next_numbers, write_step

ENTITY = "ANOMALY"
PREFIX = "ANO"
CLOCK_SKEW = timedelta(minutes=5)  # a device clock this far ahead is still believed


def criticality(
    session: Session, anomaly: Anomaly, times: ResponseTimes
) -> tuple[Assessment, datetime]:
    """Its level from the factors recorded at registration, and the moment the holder must
    have accepted by: what the lifecycle writes as its assessment, known from registration."""
    f = anomaly.factors
    result = assess(
        Factors(
            SafetyImpact(f["safety_impact"]),
            float(f["production_loss_per_hour"]),
            f["asset_criticality"],
            Urgency(f["urgency"]),
            bool(f["regulatory_impact"]),
        )
    )
    site = session.get(Site, anomaly.site_id)
    return result, response_deadline(result.level, anomaly.registered_at, site.timezone, times)


def next_reference(session: Session, year: int) -> str:
    """ANO-YYYY-NNNNNN, gapless per year even under concurrent registration."""
    return next_number(session, PREFIX, year, 6)


def _asset(session: Session, actor: Actor, number: str) -> Asset:
    # An operator reports on the assets of its own work centre, as it sees them.
    from domain.services.assets import asset_for_write

    return asset_for_write(session=session, actor=actor, ref=number)


RECENT_DAYS = 180  # the asset's anomalies shown with a new one
SHOWN_RECENT = 5


def _enrich(session: Session, asset: Asset, site: Site, now: datetime) -> dict[str, Any]:
    atype = session.get(AssetType, asset.type_id)
    recent = session.scalars(
        select(Anomaly)
        .where(
            Anomaly.asset_id == asset.id,
            Anomaly.detected_at >= now - timedelta(days=RECENT_DAYS),
        )
        .order_by(Anomaly.detected_at.desc(), Anomaly.id.desc())
        .limit(SHOWN_RECENT)
    ).all()
    work = session.scalars(
        select(AuditLog)
        .where(AuditLog.entity_type == "ASSET", AuditLog.entity_id == asset.asset_number)
        .order_by(AuditLog.occurred_at.desc(), AuditLog.id.desc())
        .limit(SHOWN_RECENT)
    ).all()
    return _enrichment(asset, atype, site, [_recent(a) for a in recent], [_work(w) for w in work])


def _recent(a: Anomaly) -> dict[str, Any]:
    return {
        "reference": a.reference,
        "title": a.title,
        "status": a.status,
        "criticality": a.criticality,
        "detected_at": a.detected_at.isoformat(),
    }


def _work(w: AuditLog) -> dict[str, Any]:
    return {
        "action": w.action,
        "at": w.occurred_at.isoformat(),
        "by": w.user_name,
        "reason": w.reason,
        "status": (w.new_state or {}).get("status"),
    }


def _enrichment(
    asset: Asset, atype: AssetType, site: Site, recent: list[dict], work: list[dict]
) -> dict[str, Any]:
    return {
        "asset_number": asset.asset_number,
        "asset_name": asset.name,
        "asset_status": asset.status.value,
        "asset_criticality": asset.criticality.value,
        "asset_type": atype.code,
        "asset_type_name": atype.name,
        "asset_category": atype.category.value if atype.category else None,
        "required_skills": list(atype.required_competencies or []),
        "safety_protocols": list(atype.safety_protocols or []),
        "site_code": site.code,
        "site_name": site.name,
        "site_timezone": site.timezone,
        "recent_anomalies": recent,
        "recent_work": work,
    }


def _checked(report: AnomalyReport, now: datetime) -> list[tuple[Any, bytes]]:
    """What registration refuses before it writes anything; the photos' bytes."""
    detected = report.detected_at or now
    if detected > now + CLOCK_SKEW:
        raise RuleViolation("detected_at cannot be in the future", field="detected_at")
    if report.occurred_at and report.occurred_at > now + CLOCK_SKEW:
        raise RuleViolation("occurred_at cannot be in the future", field="occurred_at")
    photos = []
    for i, photo in enumerate(report.photos):
        try:
            content = photo.content()
        except ValueError as err:
            raise RuleViolation(str(err), field=f"photos.{i}.data_base64") from None
        if not content or len(content) > MAX_FILE_BYTES:
            raise RuleViolation(
                f"a photo must hold 1 byte to {MAX_FILE_BYTES // 1024 // 1024} MB",
                field=f"photos.{i}",
            )
        photos.append((photo, content))
    return photos


def _record(
    actor: Actor,
    report: AnomalyReport,
    asset: Asset,
    site: Site,
    enrichment: dict[str, Any],
    reference: str,
    now: datetime,
) -> Anomaly:
    loss = report.production_loss_per_hour
    if loss is None:
        loss = asset.production_loss_per_hour or 0.0
    return Anomaly(
        organization_id=actor.organization_id,
        reference=reference,
        site_id=site.id,
        asset_id=asset.id,
        location=report.location or f"{site.name} / {asset.name}",
        title=report.title,
        description=report.description,
        reporter_id=actor.user_id,
        reporter_name=actor.full_name,
        channel=report.channel.value,
        occurred_at=report.occurred_at,
        detected_at=report.detected_at or now,
        registered_at=now,
        latitude=report.latitude,
        longitude=report.longitude,
        enrichment=enrichment,
        factors={
            "safety_impact": report.safety_impact.value,
            "production_loss_per_hour": loss,
            "asset_criticality": asset.criticality.value,
            "urgency": report.urgency.value,
            "regulatory_impact": report.regulatory_impact,
        },
        status="REGISTERED",
    )


def _attached(
    session: Session, actor: Actor, anomaly: Anomaly, asset: Asset, photos: list
) -> AuditLog:
    """The registered row's photos and its audit row (the row has its id)."""
    for photo, content in photos:
        session.add(
            AnomalyAttachment(
                anomaly_id=anomaly.id,
                kind=AttachmentKind.BEFORE_PHOTO.value,
                filename=safe_filename(photo.filename),
                content_type=safe_content_type(photo.content_type),
                size=len(content),
                content=content,
                caption="reported with the anomaly",
                uploaded_by=actor.full_name,
            )
        )
    return record_change(
        session=session,
        actor=actor,
        entity_type=ENTITY,
        entity_id=anomaly.reference,
        action="REGISTERED",
        before=None,
        after={
            "status": "REGISTERED",
            "asset": asset.asset_number,
            "channel": anomaly.channel,
            "detected_at": anomaly.detected_at.isoformat(),
        },
        reason=anomaly.title,
    )


def register(
    *, session: Session, actor: Actor, report: AnomalyReport, now: datetime | None = None
) -> Anomaly:
    """One standard record from any channel; the caller's transaction commits it."""
    now = now or datetime.now(UTC)
    photos = _checked(report, now)
    asset = _asset(session, actor, report.asset)
    site = session.get(Site, asset.site_id)
    enrichment = _enrich(session, asset, site, now)
    reference = next_reference(session, now.year)
    anomaly = _record(actor, report, asset, site, enrichment, reference, now)
    session.add(anomaly)
    session.flush()
    _attached(session, actor, anomaly, asset, photos)
    session.flush()
    return anomaly


def register_many(
    *,
    session: Session,
    actor: Actor,
    reports: list[AnomalyReport],
    now: datetime | None = None,
) -> list[Anomaly | DomainError]:
    """Many reports registered in the caller's one transaction, each exactly as `register`
    would have one after the other (same references in the same order, same enrichment,
    including the anomalies registered earlier in the batch, same audit rows), in a fixed
    number of statements: assets and sites once each, their history in one query each, the
    references in one, the rows and the audit rows in bulk. A report refused gets its
    error in its place and takes no reference; the others are registered."""
    now = now or datetime.now(UTC)
    results: list[Anomaly | DomainError | None] = [None] * len(reports)
    assets: dict[str, Asset | DomainError] = {}
    valid: list[tuple[int, AnomalyReport, Asset, list]] = []
    for i, report in enumerate(reports):
        try:
            photos = _checked(report, now)
        except DomainError as err:
            results[i] = err
            continue
        if report.asset not in assets:
            try:
                assets[report.asset] = _asset(session, actor, report.asset)
            except DomainError as err:
                assets[report.asset] = err
        asset = assets[report.asset]
        if isinstance(asset, DomainError):
            results[i] = asset
            continue
        valid.append((i, report, asset, photos))
    if not valid:
        return results  # type: ignore[return-value]
    used = {a.id: a for _, _, a, _ in valid}
    recent, work, types, sites = _histories(session, list(used.values()), now)
    since = now - timedelta(days=RECENT_DAYS)
    numbers = next_numbers(session, PREFIX, now.year, 6, len(valid))
    rows = []
    for n, (i, report, asset, photos) in enumerate(valid):
        site = sites[asset.site_id]
        shown = [entry for _, entry in recent[asset.id][:SHOWN_RECENT]]
        enrichment = _enrichment(asset, types[asset.type_id], site, shown, work[asset.id])
        anomaly = _record(actor, report, asset, site, enrichment, numbers[n], now)
        rows.append((i, anomaly, asset, photos))
        if anomaly.detected_at >= since:  # seen by the next ones on its asset
            recent[asset.id].append(((anomaly.detected_at, 1, n), _recent(anomaly)))
            recent[asset.id].sort(key=lambda e: e[0], reverse=True)
    # The rows written with one cached statement (executemany) rather than the ORM's
    # flush, whose many-row INSERT ... RETURNING costs more to build than to run: their
    # ids are taken first, and the objects join the session as if loaded.
    ids = session.scalars(NEW_IDS, {"n": len(rows)}).all()
    for (_, anomaly, _, _), new_id in zip(rows, ids, strict=True):
        anomaly.id = new_id
    _bulk_insert(session, Anomaly, [anomaly for _, anomaly, _, _ in rows])
    audits = []
    for i, anomaly, asset, photos in rows:
        make_transient_to_detached(anomaly)
        session.add(anomaly)
        audit = _attached(session, actor, anomaly, asset, photos)
        session.expunge(audit)  # written with the others below, in the same order
        audits.append(audit)
        results[i] = anomaly
    _bulk_insert(session, AuditLog, audits)
    session.flush()
    return results  # type: ignore[return-value]


NEW_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('anomalies', 'id')) FROM generate_series(1, :n)"
)


def _bulk_insert(session: Session, model: type, objects: list) -> None:
    """The objects' set attributes as rows of one executemany; defaults as a flush gives."""
    keys = [a.key for a in sa_inspect(model).column_attrs]
    session.execute(
        insert(model), [{k: o.__dict__[k] for k in keys if k in o.__dict__} for o in objects]
    )


def _histories(session: Session, assets: list[Asset], now: datetime) -> tuple[dict, ...]:
    """Per asset: its recent anomalies (sortable by detection, newest first) and recent
    work as `_enrich` shows them, each in one query; its type and site."""
    ids = [a.id for a in assets]
    numbers = {a.asset_number: a.id for a in assets}
    ranked = (
        select(
            Anomaly.id,
            func.row_number()
            .over(
                partition_by=Anomaly.asset_id,
                order_by=(Anomaly.detected_at.desc(), Anomaly.id.desc()),
            )
            .label("n"),
        )
        .where(
            Anomaly.asset_id.in_(ids),
            Anomaly.detected_at >= now - timedelta(days=RECENT_DAYS),
        )
        .subquery()
    )
    recent: dict[int, list] = {i: [] for i in ids}
    for a in session.scalars(
        select(Anomaly).join(ranked, ranked.c.id == Anomaly.id).where(ranked.c.n <= SHOWN_RECENT)
    ):
        recent[a.asset_id].append(((a.detected_at, 0, a.id), _recent(a)))
    for entries in recent.values():
        entries.sort(key=lambda e: e[0], reverse=True)
    logged = (
        select(
            AuditLog.id,
            func.row_number()
            .over(
                partition_by=AuditLog.entity_id,
                order_by=(AuditLog.occurred_at.desc(), AuditLog.id.desc()),
            )
            .label("n"),
        )
        .where(AuditLog.entity_type == "ASSET", AuditLog.entity_id.in_(list(numbers)))
        .subquery()
    )
    work: dict[int, list] = {i: [] for i in ids}
    for w in session.scalars(
        select(AuditLog)
        .join(logged, logged.c.id == AuditLog.id)
        .where(logged.c.n <= SHOWN_RECENT)
        .order_by(AuditLog.occurred_at.desc(), AuditLog.id.desc())
    ):
        work[numbers[w.entity_id]].append(_work(w))
    types = {
        t.id: t
        for t in session.scalars(
            select(AssetType).where(AssetType.id.in_({a.type_id for a in assets}))
        )
    }
    where = Site.id.in_({a.site_id for a in assets})
    sites = {s.id: s for s in session.scalars(select(Site).where(where))}
    return recent, work, types, sites


@dataclass(frozen=True)
class AnomalyFilters:
    status: str | None = None
    criticality: str | None = None
    asset: str | None = None
    site: str | None = None
    assignee: str | None = None
    q: str | None = None


# What to_out shows, loaded with the rows (attachments without their bytes): a page or a
# detail is a fixed number of queries, whatever the number of rows or attachments.
SHOWN = (
    joinedload(Anomaly.assignee).load_only(User.username),
    selectinload(Anomaly.attachments).defer(AnomalyAttachment.content),
)


def list_anomalies(
    *, session: Session, actor: Actor, filters: AnomalyFilters, limit: int, offset: int
) -> tuple[list[Anomaly], int]:
    query = filtered(actor=actor, filters=filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.options(*SHOWN)
        .order_by(Anomaly.registered_at.desc(), Anomaly.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def filtered(*, actor: Actor, filters: AnomalyFilters) -> Select[tuple[Anomaly]]:
    """The caller's organisation's anomalies that the filters pick."""
    query = select(Anomaly).where(Anomaly.organization_id == actor.organization_id)
    if filters.status:
        statuses = [s.strip().upper() for s in filters.status.split(",") if s.strip()]
        query = query.where(Anomaly.status.in_(statuses))
    if filters.criticality:
        query = query.where(Anomaly.criticality == filters.criticality.upper())
    if filters.asset:
        query = query.join(Asset, Asset.id == Anomaly.asset_id).where(
            Asset.asset_number == filters.asset.upper()
        )
    if filters.site:
        query = query.join(Site, Site.id == Anomaly.site_id).where(
            Site.code == filters.site.upper()
        )
    if filters.assignee:
        query = query.join(User, User.id == Anomaly.assignee_id).where(
            User.username == filters.assignee
        )
    if filters.q:
        like = f"%{filters.q}%"
        query = query.where(or_(Anomaly.title.ilike(like), Anomaly.description.ilike(like)))
    return query


def get_anomaly(
    *,
    session: Session,
    organization_id: int,
    reference: str,
    lock: bool = False,
    shown: bool = False,
) -> Anomaly:
    """The anomaly; `shown` loads what to_out shows with it, for reading."""
    query = select(Anomaly).where(
        Anomaly.organization_id == organization_id, Anomaly.reference == reference.upper()
    )
    if lock:
        query = query.with_for_update()
    if shown:
        query = query.options(*SHOWN)
    anomaly = session.scalars(query).one_or_none()
    if anomaly is None:
        raise NotFound(f"anomaly {reference} not found", field="reference")
    return anomaly


def timeline(*, session: Session, organization_id: int, reference: str) -> list[TimelineEntry]:
    rows = session.scalars(
        select(AuditLog)
        .where(
            AuditLog.organization_id == organization_id,
            AuditLog.entity_type == ENTITY,
            AuditLog.entity_id == reference.upper(),
        )
        .order_by(AuditLog.occurred_at, AuditLog.id)
    ).all()
    return [
        TimelineEntry(
            at=r.occurred_at,
            action=r.action,
            by=r.user_name,
            role=r.user_role,
            before=r.previous_state,
            after=r.new_state,
            reason=r.reason,
        )
        for r in rows
    ]


def add_attachment(
    *,
    session: Session,
    actor: Actor,
    anomaly: Anomaly,
    kind: AttachmentKind,
    filename: str,
    content_type: str,
    content: bytes,
    caption: str | None,
) -> AnomalyAttachment:
    photos = (AttachmentKind.BEFORE_PHOTO, AttachmentKind.AFTER_PHOTO, AttachmentKind.PHOTO)
    expects = "image" if kind in photos else "video" if kind is AttachmentKind.VIDEO else None
    refusal = upload_refusal(len(content), content_type, kind.value, expects)
    if refusal:
        raise RuleViolation(refusal, field="file")
    row = AnomalyAttachment(
        anomaly_id=anomaly.id,
        kind=kind.value,
        filename=safe_filename(filename),
        content_type=safe_content_type(content_type),
        size=len(content),
        content=content,
        caption=caption,
        uploaded_by=actor.full_name,
    )
    session.add(row)
    session.flush()
    return row


def _name(anomaly: Anomaly) -> str | None:
    if anomaly.assignee_id is None or anomaly.assignee is None:
        return None
    return anomaly.assignee.username


def to_out(session: Session, anomaly: Anomaly, live: dict[str, Any] | None = None) -> AnomalyOut:
    e = anomaly.enrichment or {}
    return AnomalyOut(
        reference=anomaly.reference,
        status=anomaly.status,
        title=anomaly.title,
        description=anomaly.description,
        asset=e.get("asset_number", ""),
        site=e.get("site_code", ""),
        location=anomaly.location,
        channel=anomaly.channel,
        reporter=anomaly.reporter_name,
        occurred_at=anomaly.occurred_at,
        detected_at=anomaly.detected_at,
        registered_at=anomaly.registered_at,
        latitude=anomaly.latitude,
        longitude=anomaly.longitude,
        criticality=anomaly.criticality,
        criticality_score=anomaly.criticality_score,
        criticality_reasons=anomaly.criticality_reasons or [],
        response_deadline=anomaly.response_deadline,
        dashboard_flag=anomaly.dashboard_flag,
        alert_acknowledged_at=anomaly.alert_acknowledged_at,
        assignee=_name(anomaly),
        assignment_score=anomaly.assignment_score,
        assignment_explanation=anomaly.assignment_explanation or [],
        escalation_level=anomaly.escalation_level,
        eta=anomaly.eta,
        accepted_at=anomaly.accepted_at,
        resolved_at=anomaly.resolved_at,
        closed_at=anomaly.closed_at,
        resolution=anomaly.resolution or {},
        work_log=anomaly.work_log or {},
        enrichment=e,
        attachments=[
            AttachmentOut(
                id=a.id,
                kind=a.kind,
                filename=a.filename,
                content_type=a.content_type,
                size=a.size,
                caption=a.caption,
                uploaded_by=a.uploaded_by,
                uploaded_at=a.uploaded_at,
            )
            for a in anomaly.attachments
        ],
        live=live,
    )


# Fields an activity may set on the record; anything else is refused loudly.
WRITABLE = {
    "status",
    "criticality",
    "criticality_score",
    "criticality_reasons",
    "criticality_overridden_by",
    "response_deadline",
    "dashboard_flag",
    "alert_acknowledged_at",
    "assignee_id",
    "assignment_score",
    "assignment_explanation",
    "escalation_level",
    "escalated",
    "eta",
    "accepted_at",
    "resolved_at",
    "approved_at",
    "closed_at",
    "review_rounds",
    "review_rejections",
    "resolution",
    "work_log",
}


def apply_step(
    *,
    session: Session,
    reference: str,
    organization_id: int,
    step: int,
    action: str,
    changes: dict[str, Any],
    actor: Actor,
    reason: str | None,
) -> bool:
    """Write one workflow decision and its audit row; False when already written."""
    anomaly = get_anomaly(
        session=session, organization_id=organization_id, reference=reference, lock=True
    )
    return write_step(
        session=session,
        row=anomaly,
        entity_type=ENTITY,
        entity_id=anomaly.reference,
        writable=WRITABLE,
        step=step,
        action=action,
        changes=changes,
        actor=actor,
        reason=reason,
    )


def save_rex(
    *,
    session: Session,
    anomaly: Anomaly,
    actor: Actor,
    content: dict[str, str],
) -> Rex:
    rex = session.scalars(select(Rex).where(Rex.anomaly_id == anomaly.id)).one_or_none()
    if rex is None:
        rex = Rex(
            organization_id=anomaly.organization_id,
            anomaly_id=anomaly.id,
            asset_type_code=(anomaly.enrichment or {}).get("asset_type", ""),
            title=anomaly.title,
            author_id=actor.user_id,
            author_name=actor.full_name,
            version=0,
            **content,
        )
        session.add(rex)
    else:
        for key, value in content.items():
            setattr(rex, key, value)
    rex.version += 1
    rex.status = "SUBMITTED"
    rex.review_feedback = None
    session.flush()
    return rex


def review_rex(
    *, session: Session, anomaly: Anomaly, reviewer: Actor, approved: bool, feedback: str
) -> Rex:
    rex = session.scalars(select(Rex).where(Rex.anomaly_id == anomaly.id)).one()
    rex.status = "APPROVED" if approved else "NEEDS_REVISION"
    rex.reviewer_name = reviewer.full_name
    rex.review_feedback = feedback or None
    if approved:
        rex.approved_at = datetime.now(UTC)
    return rex


def search_knowledge(
    *, session: Session, organization_id: int, text: str, limit: int = 20
) -> list[tuple[Rex, str]]:
    """Approved REX ranked by full-text match over every section; (rex, anomaly reference)."""
    document = func.to_tsvector(
        "english",
        func.concat_ws(
            " ",
            Rex.title,
            Rex.asset_type_code,
            Rex.root_cause_analysis,
            Rex.lessons_learned,
            Rex.preventive_actions,
            Rex.best_practices,
            Rex.training_needs,
        ),
    )
    query = (
        select(Rex, Anomaly.reference)
        .join(Anomaly, Anomaly.id == Rex.anomaly_id)
        .where(Rex.organization_id == organization_id, Rex.status == "APPROVED")
    )
    if text.strip():
        ts = func.websearch_to_tsquery("english", text)
        query = query.where(document.op("@@")(ts)).order_by(func.ts_rank(document, ts).desc())
    else:
        query = query.order_by(Rex.approved_at.desc())
    return [(rex, ref) for rex, ref in session.execute(query.limit(limit)).all()]
