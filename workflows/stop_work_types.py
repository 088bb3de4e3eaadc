"""The messages of StopWorkWorkflow and of its steps. Kept outside the workflow module so
they load unsandboxed."""

from dataclasses import dataclass, field

from domain.actor import Actor
from workflows.kit import Event


@dataclass
class StopWorkInput:
    swa_id: int
    organization_id: int
    asset_id: int
    asset_number: str
    reason: str
    actor: Actor
    site_code: str = ""
    # Upsert search attributes; off only on a server where they cannot be registered.
    indexed: bool = True


@dataclass
class ClearRequest:
    """EHS clears the stop-work (seed 003 F.3)."""

    actor: Actor
    reason: str = ""


@dataclass
class TellRequest:
    """One work order told of the hold (or of its release)."""

    swa_id: int
    asset_id: int
    number: str
    actor: Actor
    reason: str
    cleared: bool = False


@dataclass
class HoldRequest:
    swa_id: int
    asset_id: int
    actor: Actor
    reason: str


@dataclass
class ReleaseRequest:
    swa_id: int
    asset_id: int
    actor: Actor
    reason: str


@dataclass
class StopWorkReleased:
    asset_status: str
    still_open_stop_work: list[int]


@dataclass
class StopWorkRaisedEvent:
    """What the raise did, as the API answers it."""

    stop_work_id: int
    asset: str
    asset_status: str
    held_work_orders: list[str]
    unreached_work_orders: list[str]


@dataclass
class StopWorkClearedEvent:
    """What the clear did, as the API answers it."""

    stop_work_id: int
    asset: str
    asset_status: str
    released_work_orders: list[str]
    still_open_stop_work: list[int]
    unreached_work_orders: list[str]


@dataclass
class StopWorkState:
    stop_work_id: int
    asset: str
    status: str  # RAISING, HELD, CLEARING, CLEARED
    held_work_orders: list[str] = field(default_factory=list)
    told: list[str] = field(default_factory=list)
    unreached: list[str] = field(default_factory=list)
    cleared_by: str | None = None
    events: list[Event] = field(default_factory=list)
