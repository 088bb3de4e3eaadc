"""Messages of the Maximo sync (seed 000 C3): what starts a run, what each step asks and
answers, and what the run reports."""

from dataclasses import dataclass, field


@dataclass
class MaximoSyncInput:
    """`run_id` is set when a long run continues as new: the same run carries on."""

    organization_id: int
    run_id: int | None = None


@dataclass
class MaximoFeedState:
    """One object structure to read (MXWO or MXSR) and the page to read first."""

    kind: str
    href: str


@dataclass
class MaximoRunState:
    run_id: int
    feeds: list[MaximoFeedState] = field(default_factory=list)


@dataclass
class ImportPageRequest:
    organization_id: int
    run_id: int
    kind: str
    href: str


@dataclass
class MaximoPageState:
    created: int
    updated: int
    unchanged: int
    refused: int
    next_href: str | None
    # Open records of this page whose lifecycle has not started yet.
    to_start: list[str] = field(default_factory=list)


@dataclass
class StartLifecyclesRequest:
    organization_id: int
    references: list[str]


@dataclass
class FinishSyncRequest:
    organization_id: int
    run_id: int
    failure: str | None = None


@dataclass
class MaximoSyncState:
    run_id: int | None = None
    status: str = "STARTING"
    pages: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
