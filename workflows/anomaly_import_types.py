"""The messages of AnomalyImportWorkflow and of its steps. Kept outside the workflow module
so they load unsandboxed."""

from dataclasses import dataclass, field

from domain.actor import Actor
from domain.rules.imports import BATCH
from workflows.kit import Event


@dataclass
class AnomalyImportInput:
    """An import stored by the API (its file by content hash, its row in the database):
    only its id and the importer travel."""

    import_id: int
    organization_id: int
    actor: Actor
    batch: int = BATCH


URGENT, OTHERS, ALL = "URGENT", "OTHERS", "ALL"


@dataclass
class RegisterBatchRequest:
    """One batch of the import's rows, by sheet row number (first and last included).
    `starts` picks whose lifecycles a start step starts: the G1 and G2 rows (URGENT), the
    rest (OTHERS), or all."""

    import_id: int
    organization_id: int
    actor: Actor
    first_row: int
    last_row: int
    starts: str = ALL


@dataclass
class ImportRowsState:
    """The rows the import read from its file."""

    rows: int
    row_numbers: list[int]


@dataclass
class ImportCountsState:
    """The import's counts as its rows stand."""

    rows: int
    registered: int
    refused: int
    duplicates: int


@dataclass
class AnomalyImportState:
    """Progress, as the status page polls it."""

    reference: str
    import_id: int
    state: str = "RECEIVED"
    rows: int = 0
    registered: int = 0
    refused: int = 0
    duplicates: int = 0
    batches: int = 0
    batches_done: int = 0
    lifecycles_started: int = 0
    events: list[Event] = field(default_factory=list)
