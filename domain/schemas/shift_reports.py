"""What the shift report and handover note endpoints take and answer."""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.schemas.fields import Key, LongText, ShortText

Priority = Literal["low", "normal", "high", "urgent"]
NoteType = Literal["issue", "action_required", "information"]
# A calendar day the site-time arithmetic can hold.
Day = Annotated[date, Field(ge=date(1970, 1, 2), le=date(2199, 12, 30))]


class HandoverItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: LongText
    priority: Priority = "normal"
    note_type: NoteType = "information"


class ReviewIn(BaseModel):
    """The reviewer's notes on the draft, and notes for the next shift."""

    model_config = ConfigDict(extra="forbid")
    notes: LongText = ""
    handover: list[HandoverItemIn] = Field(default_factory=list, max_length=20)


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    notes: LongText | None = None


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: ShortText


class ShiftReportOut(BaseModel):
    reference: str
    site: str
    shift: str
    day: date
    version: int
    corrects: str | None
    correction_reason: str | None
    start: datetime
    end: datetime
    status: str
    oee_pct: float | None
    availability_pct: float | None
    performance_pct: float | None
    quality_pct: float | None
    total_output: float
    good_output: float
    scrap_count: float
    down_minutes: float
    planned_down_minutes: float
    unplanned_down_minutes: float
    kwh: float
    notes: str | None
    reviewed_by: str | None
    approved_by: str | None
    approved_at: datetime | None
    locked_at: datetime | None
    reminders: int
    archived: bool
    generated_at: datetime


class ShiftReportDetail(ShiftReportOut):
    figures: dict[str, Any]
    versions: list[str]
    latest: bool  # no later version corrects it


class ShiftReportList(BaseModel):
    items: list[ShiftReportOut]
    total: int
    limit: int
    offset: int


class ShiftReportStateOut(BaseModel):
    """The report's lifecycle as its workflow answers an action."""

    reference: str
    status: str
    site: str
    shift: str | None
    day: str | None
    version: int
    notes: str | None
    reviewed_by: str | None
    approved_by: str | None
    reminders: int
    archive_key: str | None


class CorrectionOut(BaseModel):
    reference: str
    corrects: str
    version: int
    status: str


class HandoverNoteIn(BaseModel):
    """`shift` and `day` name the shift handing over; left out, the shift in progress at
    the site (or the last one ended). With `report`, the report's shift."""

    model_config = ConfigDict(extra="forbid")
    site: Key | None = None
    message: LongText
    priority: Priority = "normal"
    note_type: NoteType = "information"
    shift: Key | None = None
    day: Day | None = None
    report: ShortText | None = None


class HandoverNoteOut(BaseModel):
    id: int
    site: str
    report: str | None
    from_shift: str
    from_day: date
    to_shift: str
    to_day: date
    note_type: str
    priority: str
    message: str
    created_by: str
    created_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None


class HandoverNoteList(BaseModel):
    items: list[HandoverNoteOut]
    total: int
    limit: int
    offset: int
