"""Messages of the retention round."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class RetentionInput:
    """`at` is the moment ages are counted from; a scheduled run leaves it out and takes its
    scheduled time."""

    at: datetime | None = None


@dataclass
class RetentionState:
    at: datetime
    deleted: dict[str, int] = field(default_factory=dict)  # rows per table
