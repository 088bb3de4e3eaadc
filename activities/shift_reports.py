"""The steps only shift reports take: the shift a fire reports on, the draft collected
and stored (once per shift and version), the approved report's PDF archived. Recording a
step and notifying are the kit's."""

from datetime import date, datetime

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.notifier import Subject
from activities.steps import StepTarget, refusing
from domain.db import transaction
from domain.models import ShiftReport
from domain.services import files, handover
from domain.services import shift_report_exports as exports
from domain.services import shift_reports as service
from workflows.shift_report_types import (
    ArchiveRequest,
    FiredShift,
    ShiftReportFacts,
    ShiftReportInput,
)


def alongside(session: Session, row: ShiftReport, data) -> None:
    """Handover notes written with a review go to the next shift with the report."""
    for item in (data.extra or {}).get("handover", []):
        handover.create_note(
            session=session,
            actor=data.actor,
            data=handover.NoteIn(site="", report=row.reference, **item),
        )


SHIFT_REPORT_STEPS = StepTarget(
    entity=service.ENTITY,
    load=service.load_locked,
    writable=service.WRITABLE,
    datetimes=service.DATETIMES,
    alongside=alongside,
)
SHIFT_REPORT_SUBJECT = Subject(
    entity=service.ENTITY, load=service.notice, audience=service.audience, render=service.render
)


class ShiftReportActivities:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    @activity.defn
    def shift_ended(self, organization_id: int, site_code: str, fired_at: datetime) -> FiredShift:
        with refusing(self.sessions) as session:
            site = service.site_by_code(session, organization_id, site_code)
            window = service.fired_shift(session, site, fired_at)
        if window is None:
            return FiredShift()
        return FiredShift(window.code, window.day.isoformat())

    @activity.defn
    def draft_shift_report(self, data: ShiftReportInput) -> ShiftReportFacts:
        with refusing(self.sessions) as session:
            site = service.site_by_code(session, data.organization_id, data.site_code)
            window = service.shift_window(
                session, site, data.shift_code, date.fromisoformat(data.day)
            )
            drafted = service.draft(
                session=session, site=site, window=window, version=data.version,
                corrects=data.corrects, reason=data.reason, actor=data.actor,
            )  # fmt: skip
            r = drafted.report
            return ShiftReportFacts(
                r.reference, r.status, r.last_step, list(r.supervisor_ids or []),
                drafted.created, r.notes, r.reminders,
            )  # fmt: skip

    @activity.defn
    def archive_shift_report(self, data: ArchiveRequest) -> str:
        """The approved report as PDF in the file store, by content hash: run twice, the
        same bytes (its dates are the report's own) are stored once."""
        with transaction(self.sessions) as session:
            row = service.get_report(
                session=session, organization_id=data.organization_id, ref=data.reference
            )
            content = exports.pdf(exports.view(session, row))
            return files.store(session, organization_id=row.organization_id, content=content)
