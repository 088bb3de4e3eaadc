"""Shift reports and handover notes of seed 002 as plain rules: the report's states, who
may review and approve it, which shift a report or a note belongs to, and the figures
of a shift added up from sums (never averaged percentages)."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from domain.rules.roles import Action, Scope, scope_for
from domain.rules.shifts import ShiftWindow

# Seed 002, "Shift Report Generation": the report is drafted 15 minutes after the shift.
BUFFER = timedelta(minutes=15)
# The supervisor is reminded while the draft waits; the operations manager joins in after
# ESCALATE_AFTER reminders. Reminding stops after MAX_REMINDERS (the draft keeps waiting).
REMIND_EVERY = timedelta(hours=2)
ESCALATE_AFTER = 2
MAX_REMINDERS = 12


class Status(StrEnum):
    DRAFT = "DRAFT"
    IN_REVIEW = "IN_REVIEW"  # notes written, not yet approved
    APPROVED = "APPROVED"  # approved, being sent and archived
    LOCKED = "LOCKED"  # sent, archived: no edit; a correction is a new version


EDITABLE = frozenset({Status.DRAFT, Status.IN_REVIEW})
NOTE_TYPES = ("issue", "action_required", "information")
PRIORITIES = ("low", "normal", "high", "urgent")


@dataclass(frozen=True)
class Refusal:
    kind: str
    message: str
    field: str | None = None


def reference(site: str, day: date, shift: str, version: int = 1) -> str:
    """SHR-<site>-<shift date>-<shift>, the workflow id; a correction adds -V<n>."""
    base = f"SHR-{site.upper()}-{day.isoformat()}-{shift.upper()}"
    return base if version == 1 else f"{base}-V{version}"


def edit_refusal(status: str, ref: str) -> Refusal | None:
    if status in EDITABLE:
        return None
    return Refusal(
        "Conflict",
        f"shift report {ref} is {status.lower()} and locked; a correction is a new version",
        "status",
    )


def review_refusal(
    *,
    roles: Sequence[str],
    user_id: int | None,
    supervisors: Iterable[int],
    action: Action = Action.APPROVE_SHIFT_REPORT,
) -> Refusal | None:
    """Seed 002: the site's supervisor on that shift reviews and approves; the operations
    (production) manager, the maintenance manager and the admin may stand in."""
    held = scope_for(roles, action)
    if held is Scope.FULL:
        return None
    if held is Scope.ON_SHIFT and user_id is not None and user_id in set(supervisors):
        return None
    if held is Scope.ON_SHIFT:
        return Refusal(
            "NotAllowed", "only the site's supervisor on this shift or the operations "
            "manager may review this shift report",
        )  # fmt: skip
    return Refusal("NotAllowed", f"{action.value} is not among your permissions")


def ended_at(windows: Sequence[ShiftWindow], fired_at: datetime) -> ShiftWindow | None:
    """The shift a fire at `fired_at` reports on: the one that ended BUFFER before it (a
    fire run late still finds its own shift, up to a day later)."""
    due = [
        w
        for w in windows
        if w.interval.end + BUFFER <= fired_at < w.interval.end + BUFFER + timedelta(days=1)
    ]
    return max(due, key=lambda w: w.interval.end) if due else None


def current_or_last(windows: Sequence[ShiftWindow], at: datetime) -> ShiftWindow | None:
    """The shift in progress at `at`, else the one that ended last before it."""
    for w in windows:
        if w.interval.start <= at < w.interval.end:
            return w
    ended = [w for w in windows if w.interval.end <= at]
    return max(ended, key=lambda w: w.interval.end) if ended else None


def next_after(windows: Sequence[ShiftWindow], shift: ShiftWindow) -> ShiftWindow | None:
    """The shift that takes over: the first to start at or after this one's start, not
    this one (overlapping calendars hand over to the earliest next start)."""
    later = [
        w
        for w in windows
        if w.interval.start >= shift.interval.start and (w.code, w.day) != (shift.code, shift.day)
    ]
    return min(later, key=lambda w: w.interval.start) if later else None


def note_refusal(*, note_type: str, priority: str, message: str) -> Refusal | None:
    if note_type not in NOTE_TYPES:
        return Refusal("RuleViolation", f"note_type: one of {', '.join(NOTE_TYPES)}", "note_type")
    if priority not in PRIORITIES:
        return Refusal("RuleViolation", f"priority: one of {', '.join(PRIORITIES)}", "priority")
    if len(message.strip()) < 3:
        return Refusal("RuleViolation", "message: say what the next shift must know", "message")
    return None


def acknowledge_refusal(
    *, acknowledged_by: str | None, author_id: int | None, user_id: int | None
) -> Refusal | None:
    """The next shift acknowledges a note once; its author cannot stand in for them."""
    if acknowledged_by:
        return Refusal("Conflict", f"the note was acknowledged by {acknowledged_by}")
    if author_id is not None and author_id == user_id:
        return Refusal("NotAllowed", "the next shift acknowledges a note, not its author")
    return None


@dataclass(frozen=True)
class Downtime:
    reason_code: str
    category: str
    planned: bool
    minutes: float


def downtime_totals(stops: Iterable[Downtime]) -> dict[str, object]:
    """Minutes of stops in the shift: planned and unplanned, and by reason (largest first)."""
    planned = unplanned = 0.0
    by_reason: dict[tuple[str, str, bool], float] = {}
    for s in stops:
        if s.planned:
            planned += s.minutes
        else:
            unplanned += s.minutes
        key = (s.reason_code, s.category, s.planned)
        by_reason[key] = by_reason.get(key, 0.0) + s.minutes
    rows = [
        {"reason_code": k[0], "category": k[1], "planned": k[2], "minutes": round(v, 2)}
        for k, v in sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return {
        "planned_minutes": round(planned, 2),
        "unplanned_minutes": round(unplanned, 2),
        "total_minutes": round(planned + unplanned, 2),
        "by_reason": rows,
    }
