"""Messages of the OEE snapshot round: what starts it and what it reports."""

from dataclasses import dataclass
from datetime import datetime


@dataclass
class OeeSnapshotInput:
    """`taken_at` names the five-minute slot to take; a scheduled run leaves it out and
    takes the slot of its scheduled time, so a run started late still takes its own."""

    taken_at: datetime | None = None


@dataclass
class OeeSnapshotState:
    taken_at: datetime
    machines: int  # snapshots written
    hours: int  # hourly summaries rewritten
    days: int  # daily summaries rewritten
