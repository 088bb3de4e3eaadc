"""What the anomaly import API answers: an import's progress, counts and refused rows."""

from datetime import datetime

from pydantic import BaseModel, Field


class ImportRowError(BaseModel):
    row: int = Field(description="the row number in the sheet")
    column: str
    rule: str


class ImportOut(BaseModel):
    id: str = Field(description="IMP-<n>, also the import workflow's id")
    filename: str
    state: str = Field(description="RECEIVED, RUNNING or DONE")
    rows: int
    processed: int
    registered: int
    refused: int
    duplicates: int
    imported_by: str
    created_at: datetime
    finished_at: datetime | None = None
    errors: list[ImportRowError]
    errors_complete: bool = Field(description="false when only the first refused rows are listed")
    already_imported: bool = Field(
        default=False, description="true when this file was uploaded before: nothing new runs"
    )
