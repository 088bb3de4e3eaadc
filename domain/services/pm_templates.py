"""PM templates (seed 003 D.2): created, revised as a new version, found by id or code."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.actor import Actor
from domain.errors import Conflict, NotFound, RuleViolation
from domain.models import Asset, AssetType, PmTemplate, SparePart
from domain.rules import pm as rules
from domain.schemas.pm import TemplateIn, TemplateOut
from domain.services.audit import record_change

ENTITY = "PM_TEMPLATE"
PERMITS = {"LOTO", "HOT_WORK", "CONFINED_SPACE"}


def get_template(
    *, session: Session, organization_id: int, ref: str, lock: bool = False
) -> PmTemplate:
    """By id (that version) or by code (its current version)."""
    query = select(PmTemplate).where(PmTemplate.organization_id == organization_id)
    if ref.isdigit():
        query = query.where(PmTemplate.id == int(ref))
    else:
        query = query.where(PmTemplate.code == ref.upper(), PmTemplate.is_current.is_(True))
    if lock:
        query = query.with_for_update()
    found = session.scalars(query).one_or_none()
    if found is None:
        raise NotFound(f"PM template {ref} not found", field="template")
    return found


def list_templates(
    *,
    session: Session,
    organization_id: int,
    asset_type: str | None = None,
    all_versions: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[PmTemplate], int]:
    query = select(PmTemplate).where(PmTemplate.organization_id == organization_id)
    if not all_versions:
        query = query.where(PmTemplate.is_current.is_(True))
    if asset_type:
        query = query.join(AssetType, AssetType.id == PmTemplate.asset_type_id).where(
            AssetType.code == asset_type.upper()
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(PmTemplate.code, PmTemplate.version).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def _checked(session: Session, organization_id: int, data: TemplateIn) -> int:
    """The template's rules that need the database; its asset type's id."""
    refusal = rules.interval_refusal(
        data.schedule_type, data.interval_days, data.interval_hours, data.interval_cycles
    )
    if refusal:
        raise RuleViolation(refusal.message, field=refusal.field)
    asset_type = session.scalars(
        select(AssetType).where(
            AssetType.organization_id == organization_id, AssetType.code == data.asset_type.upper()
        )
    ).one_or_none()
    if asset_type is None:
        raise RuleViolation(f"asset_type {data.asset_type} does not exist", field="asset_type")
    for i, permit in enumerate(data.required_permits):
        if permit.upper() not in PERMITS:
            raise RuleViolation(
                f"required_permits: {permit} is not one of {', '.join(sorted(PERMITS))}",
                field=f"required_permits.{i}",
            )
    sequences = [t.sequence for t in data.tasks]
    if len(set(sequences)) != len(sequences):
        raise RuleViolation("tasks: each task needs its own sequence", field="tasks")
    for i, number in enumerate(data.applicable_assets):
        asset = session.scalars(
            select(Asset).where(
                Asset.organization_id == organization_id, Asset.asset_number == number.upper()
            )
        ).one_or_none()
        if asset is None or asset.type_id != asset_type.id:
            raise RuleViolation(
                f"applicable_assets: {number} is not an asset of type {asset_type.code}",
                field=f"applicable_assets.{i}",
            )
    for i, part in enumerate(data.parts):
        if not session.scalar(
            select(SparePart.id).where(
                SparePart.organization_id == organization_id,
                SparePart.part_number == part.part_number.upper(),
            )
        ):
            raise RuleViolation(
                f"parts: spare part {part.part_number} does not exist",
                field=f"parts.{i}.part_number",
            )
    return asset_type.id


def _row(
    organization_id: int, asset_type_id: int, data: TemplateIn, version: int, actor: Actor
) -> PmTemplate:
    return PmTemplate(
        organization_id=organization_id,
        code=data.code.upper(),
        version=version,
        is_current=True,
        name=data.name,
        description=data.description,
        asset_type_id=asset_type_id,
        applicable_assets=[a.upper() for a in data.applicable_assets],
        schedule_type=data.schedule_type.value,
        interval_days=data.interval_days,
        interval_hours=data.interval_hours,
        interval_cycles=data.interval_cycles,
        estimated_hours=data.estimated_hours,
        required_skills=list(data.required_skills),
        required_competencies=list(data.required_competencies),
        required_permits=[p.upper() for p in data.required_permits],
        tasks=[t.model_dump() for t in sorted(data.tasks, key=lambda t: t.sequence)],
        parts=[p.model_dump() | {"part_number": p.part_number.upper()} for p in data.parts],
        procedure_url=data.procedure_url,
        safety_instructions=data.safety_instructions,
        is_regulatory=data.is_regulatory,
        regulatory_reference=data.regulatory_reference,
        is_active=data.is_active,
        created_by=actor.full_name,
    )


def create_template(*, session: Session, actor: Actor, data: TemplateIn) -> PmTemplate:
    org = actor.organization_id
    if session.scalar(
        select(PmTemplate.id).where(
            PmTemplate.organization_id == org, PmTemplate.code == data.code.upper()
        )
    ):
        raise Conflict(f"PM template {data.code} exists already", field="code")
    row = _row(org, _checked(session, org, data), data, 1, actor)
    session.add(row)
    session.flush()
    record_change(
        session=session,
        actor=actor,
        entity_type=ENTITY,
        entity_id=row.code,
        action="CREATED",
        before=None,
        after={"version": 1, "id": row.id},
        reason=row.name,
    )
    return row


def revise_template(*, session: Session, actor: Actor, ref: str, data: TemplateIn) -> PmTemplate:
    """A change is a new version; the older stays as it was for the work orders made from it."""
    current = get_template(
        session=session, organization_id=actor.organization_id, ref=ref, lock=True
    )
    if not current.is_current:
        raise Conflict(
            f"version {current.version} of {current.code} has been revised: change the current "
            "version",
            field="template",
        )
    if data.code.upper() != current.code:
        raise RuleViolation("code: a template keeps its code across versions", field="code")
    row = _row(
        actor.organization_id,
        _checked(session, actor.organization_id, data),
        data,
        current.version + 1,
        actor,
    )
    current.is_current = False
    session.flush()
    session.add(row)
    session.flush()
    record_change(
        session=session,
        actor=actor,
        entity_type=ENTITY,
        entity_id=row.code,
        action="REVISED",
        before={"version": current.version, "id": current.id},
        after={"version": row.version, "id": row.id},
        reason=row.name,
    )
    return row


def to_out(session: Session, row: PmTemplate) -> TemplateOut:
    asset_type = session.get(AssetType, row.asset_type_id)
    values = {c: getattr(row, c) for c in TemplateOut.model_fields if c != "asset_type"}
    return TemplateOut(**values, asset_type=asset_type.code)
