"""The messages of BreakdownWorkflow and of its steps. Kept outside the workflow module so
they load unsandboxed and their datetimes convert."""

from dataclasses import dataclass, field
from datetime import datetime

from domain.actor import Actor
from domain.rules.uploads import FileKey
from workflows.kit import Event


@dataclass
class BreakdownInput:
    """An operator's report as validated by the API; its photos are stored already and
    only their keys travel."""

    report_id: int
    organization_id: int
    asset_id: int
    asset_number: str
    report_type: str
    severity: str
    symptom: str
    description: str
    stopped_equipment: bool
    safety_hazard: bool
    impacted_job: str | None
    reported_at: datetime
    actor: Actor
    photo_keys: list[FileKey] = field(default_factory=list)
    # Upsert search attributes (the report's and its work order's); off only on a server
    # where they cannot be registered.
    indexed: bool = True
    site_code: str = ""


@dataclass
class ReportStepRequest:
    """One step of a report, keyed by the report."""

    report_id: int
    actor: Actor
    photo_keys: list[FileKey] = field(default_factory=list)


@dataclass
class StartWorkOrderRequest:
    """The report's work order started on its lifecycle and submitted."""

    report_id: int
    number: str
    actor: Actor
    indexed: bool = True


@dataclass
class AssetDownRequest:
    report_id: int
    asset_id: int
    work_order: str
    actor: Actor


@dataclass
class OpenedWorkOrder:
    number: str
    type: str


@dataclass
class BreakdownState:
    """The report's outcome, as the API answers it."""

    report_id: int
    reference: str
    asset: str
    work_order: str | None = None
    work_order_type: str | None = None
    downtime_id: int | None = None
    impacted_jobs: list[str] = field(default_factory=list)
    asset_status: str | None = None
    status: str = "REPORTING"  # the last step done, as the report's row holds it
    steps: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
