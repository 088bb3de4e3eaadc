"""Handover notes: what one shift leaves the next (seed 002), addressed to the shift that
takes over on the site's calendar and acknowledged there once."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from domain.actor import Actor
from domain.errors import DomainError, NotFound, RuleViolation
from domain.models import HandoverNote, ShiftReport, Site
from domain.rules import shift_reports as rules
from domain.rules.oee import Interval
from domain.services.audit import record_change
from domain.services.production import site_shift_windows
from domain.services.shift_reports import get_report, shift_window, site_by_code

ENTITY = "HANDOVER_NOTE"


def _raise(refusal: rules.Refusal | None) -> None:
    if refusal:
        err = DomainError(refusal.message, field=refusal.field)
        err.kind = refusal.kind
        raise err


@dataclass
class NoteIn:
    site: str
    message: str
    priority: str = "normal"
    note_type: str = "information"
    shift: str | None = None  # the shift handing over; else the one in progress (or last)
    day: date | None = None
    report: str | None = None  # the shift report it goes with


def create_note(
    *, session: Session, actor: Actor, data: NoteIn, now: datetime | None = None
) -> HandoverNote:
    now = now or datetime.now(UTC)
    _raise(
        rules.note_refusal(note_type=data.note_type, priority=data.priority, message=data.message)
    )
    report: ShiftReport | None = None
    if data.report:
        report = get_report(session=session, organization_id=actor.organization_id, ref=data.report)
        site = session.get(Site, report.site_id)
        data.shift, data.day = report.shift_code, report.shift_day
    else:
        site = site_by_code(session, actor.organization_id, data.site)
    if data.shift and data.day:
        source = shift_window(session, site, data.shift, data.day)
    elif data.shift or data.day:
        raise RuleViolation("shift: give the shift and its day together", field="shift")
    else:
        near = site_shift_windows(
            session=session, site=site, period=Interval(now - timedelta(days=2), now)
        )
        source = rules.current_or_last(near, now)
        if source is None:
            raise RuleViolation(f"site {site.code} has no shift to hand over from", field="shift")
    ahead = site_shift_windows(
        session=session,
        site=site,
        period=Interval(source.interval.start, source.interval.end + timedelta(days=8)),
    )
    target = rules.next_after(ahead, source)
    if target is None:
        raise RuleViolation(f"site {site.code} has no shift after {source.code}", field="shift")
    note = HandoverNote(
        organization_id=actor.organization_id, site_id=site.id,
        shift_report_id=report.id if report else None, from_shift=source.code,
        from_day=source.day, to_shift=target.code, to_day=target.day,
        note_type=data.note_type, priority=data.priority, message=data.message.strip(),
        created_by=actor.full_name, created_by_id=actor.user_id, created_at=now,
    )  # fmt: skip
    session.add(note)
    session.flush()
    record_change(
        session=session, actor=actor, entity_type=ENTITY, entity_id=str(note.id),
        action="CREATED", before=None,
        after={"from": f"{source.code} {source.day}", "to": f"{target.code} {target.day}",
               "priority": note.priority, "note_type": note.note_type},
        reason=note.message[:200],
    )  # fmt: skip
    return note


def get_note(
    *, session: Session, organization_id: int, note_id: int, lock: bool = False
) -> HandoverNote:
    query = select(HandoverNote).where(
        HandoverNote.organization_id == organization_id, HandoverNote.id == note_id
    )
    note = session.scalar(query.with_for_update() if lock else query)
    if note is None:
        raise NotFound(f"handover note {note_id} not found", field="id")
    return note


def acknowledge(
    *, session: Session, actor: Actor, note_id: int, now: datetime | None = None
) -> HandoverNote:
    note = get_note(session=session, organization_id=actor.organization_id, note_id=note_id,
                    lock=True)  # fmt: skip
    _raise(
        rules.acknowledge_refusal(
            acknowledged_by=note.acknowledged_by,
            author_id=note.created_by_id,
            user_id=actor.user_id,
        )
    )
    note.acknowledged_by, note.acknowledged_by_id = actor.full_name, actor.user_id
    note.acknowledged_at = now or datetime.now(UTC)
    record_change(
        session=session, actor=actor, entity_type=ENTITY, entity_id=str(note.id),
        action="ACKNOWLEDGED", before={"acknowledged_by": None},
        after={"acknowledged_by": note.acknowledged_by,
               "acknowledged_at": note.acknowledged_at.isoformat()},
        reason=f"taken over by shift {note.to_shift} of {note.to_day}",
    )  # fmt: skip
    return note


def list_notes(
    *,
    session: Session,
    organization_id: int,
    site: str | None = None,
    open_only: bool = False,
    report: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[tuple[HandoverNote, str]], int]:
    """Newest first, urgent ones of the same shift before the rest; one query for the
    page, one for the count."""
    where = [HandoverNote.organization_id == organization_id]
    if site:
        where.append(Site.code == site.upper())
    if open_only:
        where.append(HandoverNote.acknowledged_at.is_(None))
    if report:
        row = get_report(session=session, organization_id=organization_id, ref=report)
        where.append(HandoverNote.shift_report_id == row.id)
    base = select(HandoverNote, Site.code).join(Site, Site.id == HandoverNote.site_id).where(*where)
    total = session.scalar(select(func.count()).select_from(base.subquery()))
    rank = case({p: -i for i, p in enumerate(rules.PRIORITIES)}, value=HandoverNote.priority)
    rows = session.execute(
        base.order_by(HandoverNote.to_day.desc(), rank, HandoverNote.created_at.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [(n, code) for n, code in rows], total
