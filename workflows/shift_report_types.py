"""The messages of ShiftReportWorkflow and of its steps. Kept outside the workflow module
so they load unsandboxed."""

from dataclasses import dataclass, field
from datetime import datetime

from domain.actor import Actor
from workflows.kit import Event


@dataclass
class ShiftReportInput:
    """One shift's report (`shift_code` and `day`, the site-local date it starts on); a
    Schedule's fire leaves them out and the run finds the shift that ended 15 minutes
    before its scheduled time, then starts that shift's report under its own id."""

    organization_id: int
    site_code: str
    shift_code: str | None = None
    day: str | None = None  # ISO date
    version: int = 1
    corrects: str | None = None  # the locked version a correction replaces
    reason: str | None = None
    actor: Actor | None = None  # who asked for a correction; the platform otherwise
    fired_at: datetime | None = None  # a fire's time when not its scheduled one (tests)
    # Upsert search attributes; off only on a server where they cannot be registered.
    indexed: bool = True


@dataclass
class FiredShift:
    """The shift a fire reports on; `shift_code` empty when none ended then."""

    shift_code: str = ""
    day: str = ""


@dataclass
class ShiftReportFacts:
    """The stored draft as the workflow starts from it."""

    reference: str
    status: str
    last_step: int
    supervisor_ids: list[int]
    created: bool
    notes: str | None = None
    reminders: int = 0


@dataclass
class HandoverItem:
    message: str
    priority: str = "normal"
    note_type: str = "information"


@dataclass
class ReviewRequest:
    """The supervisor's notes on the draft, and notes for the next shift."""

    actor: Actor
    notes: str = ""
    handover: list[HandoverItem] = field(default_factory=list)


@dataclass
class ApproveRequest:
    actor: Actor
    notes: str | None = None  # the last word on the report, if any


@dataclass
class ArchiveRequest:
    organization_id: int
    reference: str


@dataclass
class ShiftReportState:
    reference: str
    status: str  # FIRED, NO_SHIFT, COLLECTING, DRAFT, IN_REVIEW, APPROVED, LOCKED
    site: str
    shift: str | None
    day: str | None
    version: int = 1
    notes: str | None = None
    reviewed_by: str | None = None
    approved_by: str | None = None
    reminders: int = 0
    supervisor_ids: list[int] = field(default_factory=list)
    archive_key: str | None = None
    events: list[Event] = field(default_factory=list)
