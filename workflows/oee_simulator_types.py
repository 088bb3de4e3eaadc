"""Messages of the demo's live simulator."""

from dataclasses import dataclass
from datetime import datetime


@dataclass
class SimulatorInput:
    """`at` is the minute to simulate; a scheduled run leaves it out and takes its own."""

    at: datetime | None = None
