"""A breakdown report's steps (seed 003 E.1, E.4), each keyed by the report: a step run a
second time finds what its first run wrote and writes nothing more."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.actor import Actor
from domain.errors import NotFound
from domain.models import Asset, OperatorReport, User, WorkOrder
from domain.rules import work_orders as rules
from domain.rules.alerts import Audience, Channel
from domain.rules.uploads import FileKey
from domain.services import downtime as downtime_service
from domain.services import files, outbox
from domain.services import work_orders as service
from domain.services.audit import record_change
from domain.services.steps import reserve_id

ENTITY = "OPERATOR_REPORT"
PRIORITY = {
    "CRITICAL": rules.WoPriority.EMERGENCY,
    "HIGH": rules.WoPriority.HIGH,
    "MEDIUM": rules.WoPriority.NORMAL,
    "LOW": rules.WoPriority.LOW,
}
# An asset in one of these needs no move when a breakdown is reported on it.
STOPPED_ALREADY = {"OUT_OF_SERVICE", "SAFETY_HOLD"}
REASON_BY_SYMPTOM = {
    "NOT_STARTING": "BD-ELEC",
    "OVERHEATING": "BD-MECH",
    "FLUID_LEAK": "BD-HYDR",
    "SMOKE_SMELL": "BD-ELEC",
    "QUALITY_DEFECT": "BD-TOOL",
}
NOTIFIED_ROLES = {"MAINT_SUPERVISOR", "MAINT_MANAGER"}


def reference(report_id: int) -> str:
    """The report's reference: its lifecycle's id and its work order's source reference."""
    return f"OPR-{report_id}"


def reserve_report_id(session: Session) -> int:
    return reserve_id(session, "operator_reports")


def is_breakdown(report_type: str, stopped_equipment: bool) -> bool:
    return report_type == "BREAKDOWN" or stopped_equipment


def work_order_type(report_type: str, stopped_equipment: bool, safety_hazard: bool) -> rules.WoType:
    if is_breakdown(report_type, stopped_equipment):
        return rules.WoType.BREAKDOWN
    if safety_hazard:
        return rules.WoType.SAFETY_RELATED
    if report_type == "QUALITY_ISSUE":
        return rules.WoType.QUALITY_RELATED
    return rules.WoType.CORRECTIVE


def store_file(
    *, session: Session, organization_id: int, filename: str, content_type: str, content: bytes
) -> FileKey:
    """Store a photo once per organisation and content; the key that travels."""
    digest = files.store(session, organization_id=organization_id, content=content)
    return FileKey(digest, filename, content_type, len(content))


def get_report(session: Session, organization_id: int, report_id: int) -> OperatorReport:
    report = session.get(OperatorReport, report_id, with_for_update=True)
    if report is None or report.organization_id != organization_id:
        raise NotFound(f"operator report {report_id} not found")
    return report


# What the report's lifecycle writes through the kit's step writer: the last step done.
WRITABLE = frozenset({"status"})


def load_locked(session: Session, organization_id: int, key: str) -> OperatorReport:
    """The report of this reference (OPR-<id>), locked for its step's write."""
    return get_report(session, organization_id, int(key.removeprefix("OPR-")))


def status_of(session: Session, organization_id: int, reference: str | None) -> str | None:
    """The last step done of the report of this reference (OPR-<id>), for where the report
    is named; None for another kind of reference or another organisation's report."""
    number = (reference or "").removeprefix("OPR-")
    if not reference or not reference.startswith("OPR-") or not number.isdigit():
        return None
    return session.scalar(
        select(OperatorReport.status).where(
            OperatorReport.id == int(number), OperatorReport.organization_id == organization_id
        )
    )


def record_report(
    *,
    session: Session,
    actor: Actor,
    report_id: int,
    asset_id: int,
    report_type: str,
    severity: str,
    symptom: str,
    description: str,
    stopped_equipment: bool,
    safety_hazard: bool,
    impacted_job: str | None,
    reported_at: datetime,
    audited: bool = True,
) -> OperatorReport:
    """The report's row under its reserved id, once. With its own audit row unless its
    first step (REPORTED) is written through the lifecycle's step writer, which audits it."""
    found = session.get(OperatorReport, report_id)
    if found is not None:
        return found
    report = OperatorReport(
        id=report_id,
        organization_id=actor.organization_id,
        asset_id=asset_id,
        report_type=report_type,
        severity=severity,
        symptom=symptom,
        description=description,
        stopped_equipment=stopped_equipment,
        safety_hazard=safety_hazard,
        impacted_job=impacted_job,
        reported_by_id=actor.user_id,
        reported_by=actor.full_name,
        reported_at=reported_at,
    )
    session.add(report)
    session.flush()
    if not audited:
        return report
    record_change(
        session=session,
        actor=actor,
        entity_type=ENTITY,
        entity_id=reference(report_id),
        action="REPORTED",
        before=None,
        after={"asset_id": asset_id, "report_type": report_type, "severity": severity,
               "symptom": symptom, "stopped_equipment": stopped_equipment,
               "safety_hazard": safety_hazard, "impacted_job": impacted_job},
        reason=description,
    )  # fmt: skip
    return report


def open_work_order(
    *, session: Session, actor: Actor, report_id: int, photo_keys: list[FileKey]
) -> WorkOrder:
    """The report's work order with the photos stored before; the one already opened on a
    second run."""
    report = get_report(session, actor.organization_id, report_id)
    if report.work_order_number:
        return service.get(session, actor.organization_id, report.work_order_number)
    asset = session.get(Asset, report.asset_id)
    wo = service.create(
        session=session,
        actor=actor,
        asset=asset,
        type=work_order_type(report.report_type, report.stopped_equipment, report.safety_hazard),
        priority=PRIORITY[report.severity],
        source=rules.WoSource.OPERATOR_REPORT,
        source_reference=reference(report_id),
        title=f"{report.symptom.replace('_', ' ').lower()} on {asset.asset_number}",
        description=report.description,
        now=report.reported_at,
    )
    for key in photo_keys:
        service.attach_stored(
            session, wo, actor, rules.Evidence.PHOTO_BEFORE, key.sha256, key.filename,
            key.content_type, key.size, "from the operator report",
        )  # fmt: skip
    report.work_order_number = wo.number
    session.flush()
    return wo


def open_downtime(*, session: Session, actor: Actor, report_id: int) -> int | None:
    """A breakdown's downtime clock (the one already running on the asset, if any)."""
    report = get_report(session, actor.organization_id, report_id)
    if report.downtime_id is not None:
        return report.downtime_id
    wo = service.get(session, actor.organization_id, report.work_order_number)
    record = downtime_service.start_downtime(
        session,
        session.get(Asset, report.asset_id),
        actor,
        "BREAKDOWN",
        REASON_BY_SYMPTOM.get(report.symptom, "BD-MECH"),
        report.reported_at,
        [report.impacted_job] if report.impacted_job else [],
        report.description,
        wo.number,
    )
    wo.downtime_id = report.downtime_id = record.id
    session.flush()
    return record.id


def notify_roles(session, actor: Actor, asset, wo: WorkOrder, roles: set[str], text: str) -> int:
    """In-app notices (shown in each queue) to the site's holders of these roles, keyed by
    work order and person so a second call queues nothing more; how many were meant."""
    users = session.scalars(
        select(User).where(User.organization_id == actor.organization_id, User.is_active)
    ).all()
    recipients = [
        u for u in users if roles & set(u.roles) and u.home_site_id in (None, asset.site_id)
    ]
    outbox.enqueue(
        session,
        [
            outbox.Message(
                f"{wo.number}/{wo.source}/IN_APP/{u.id}",
                actor.organization_id,
                None,
                wo.source,
                Channel.IN_APP,
                u,
                f"[{wo.number}] {wo.type.replace('_', ' ').title()} on {asset.asset_number}: "
                f"{wo.title}",
                text,
            )
            for u in recipients
        ],
        {Channel.IN_APP},
    )
    return len(recipients)


@dataclass
class ReportNotice:
    """What a report's notice names: the report, its work order, the asset."""

    report: OperatorReport
    work_order: WorkOrder
    asset: Asset


def report_notice(session: Session, organization_id: int, reference: str) -> ReportNotice:
    report = get_report(session, organization_id, int(reference.removeprefix("OPR-")))
    wo = service.get(session, organization_id, report.work_order_number)
    return ReportNotice(report, wo, session.get(Asset, report.asset_id))


# Who hears of a report (seed 003 E.4): the site's maintenance supervisors and managers.
AUDIENCE_ROLES = {Audience.TEAM_LEAD: "MAINT_SUPERVISOR", Audience.MANAGER: "MAINT_MANAGER"}


def report_audience(
    session: Session, notice: ReportNotice, audience: Audience, now: datetime
) -> list[User]:
    """The active holders of the audience's role at the report's site (or at every site)."""
    role = AUDIENCE_ROLES.get(audience)
    if role is None:
        return []
    users = session.scalars(
        select(User)
        .where(User.organization_id == notice.report.organization_id, User.is_active)
        .order_by(User.id)
    ).all()
    site = notice.asset.site_id
    return [u for u in users if role in u.roles and u.home_site_id in (None, site)]


def render_report_notice(
    event: str, channel: Channel, notice: ReportNotice, user: User, context: dict
) -> tuple[str, str]:
    wo, report = notice.work_order, notice.report
    title = (
        f"[{wo.number}] {wo.type.replace('_', ' ').title()} on {notice.asset.asset_number}: "
        f"{wo.title}"
    )
    return title, f"{context.get('reported_by', report.reported_by)} reports: {report.description}"
