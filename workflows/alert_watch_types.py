"""The messages of AlertWatchWorkflow: what one safety watch waits for and what it did."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from activities.anomalies import Person

VOICE = "VOICE"  # H1: call the on-duty supervisor unless the alert is acknowledged
ESCALATION = "ESCALATION"  # tell the next level unless the holder accepted in time


@dataclass
class AlertWatchInput:
    reference: str
    organization_id: int
    kind: str  # VOICE or ESCALATION
    due: datetime  # absolute: a watch started late still fires on time
    step: int  # the anomaly's step reserved for this watch's notices (their outbox key)
    level: str = ""  # ESCALATION: the level it goes up to
    deadline: datetime | None = None  # ESCALATION: the response deadline it enforces
    context: dict[str, Any] = field(default_factory=dict)  # the notices' text
    # A watch started at registration beside the anomaly's workflow (not its child): the
    # workflow it reports to by the WATCH_DONE signal.
    parent: str = ""
    # A registration's ESCALATION: while nobody accepts, its workflow goes on up the chain
    # every response time itself, and reports the watches of one moment in one signal.
    # 0 in runs started before: the lifecycle watches the next levels with children.
    response_seconds: float = 0.0
    # A next level's watch: who the level below handed the anomaly to. Anyone else holding
    # it when it falls due means someone acted (a reassignment, say): nothing is due.
    holder: int | None = None


WATCH_DONE = "watch_done"  # the anomaly workflow's signal taking a registration watch's report
# The same for every watch of one moment in one signal (the voice call and the escalation due
# together): half the signals under a burst.
WATCHES_DONE = "watches_done"
# Messages a registration watch could not deliver, told after its report (a provider's
# retries take minutes; the report does not wait for them).
WATCH_PROBLEMS = "watch_problems"


@dataclass
class AlertEvent:
    kind: str
    fired: bool  # False: acknowledged or accepted before it was due
    at: datetime  # when it fired
    target: Person | None = None  # ESCALATION: the new holder, already told
    problems: list[str] = field(default_factory=list)  # notices that could not be sent
    # ESCALATION: the response deadline the watch enforced, and, when it handed the anomaly
    # on, the moment it looks again (the new holder's deadline) to go up the next level.
    deadline: datetime | None = None
    next_due: datetime | None = None


@dataclass
class RegistrationWatchInput:
    """Every safety watch a new anomaly gets at registration, held by one workflow."""

    watches: list[AlertWatchInput]
