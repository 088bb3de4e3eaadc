"""The messages of SensorUpkeepWorkflow."""

from dataclasses import dataclass, field

SWEEP = "SWEEP"  # every minute: silent sensors, rule changes waiting for their minute
RETENTION = "RETENTION"  # daily: raw readings past the retention deleted


@dataclass
class SensorUpkeepInput:
    kind: str = SWEEP


@dataclass
class SensorUpkeepState:
    """What one run did."""

    kind: str
    stale: list[str] = field(default_factory=list)  # sensors found silent
    registered: list[str] = field(default_factory=list)  # anomalies opened for them
    told: list[str] = field(default_factory=list)  # anomalies told of a waiting change
    deleted: int = 0  # raw readings trimmed
