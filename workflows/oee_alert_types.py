"""Messages of the OEE alert workflows: the extended-downtime watch of one open downtime."""

from dataclasses import dataclass
from datetime import datetime


@dataclass
class DowntimeWatchInput:
    """One open downtime: `start_time` makes the absolute moment it becomes extended, so a
    watch started late (a stop logged after it began) still fires on time."""

    downtime_id: int
    organization_id: int
    start_time: datetime


@dataclass
class DowntimeWatchState:
    downtime_id: int
    raised: bool  # False: the downtime had ended (or moved) when the timer fired
    alert_id: int | None
    at: datetime
