"""The alert matrix H1 to H4 (seed 000 phase 4): who hears of an anomaly, and how."""

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from domain.rules.criticality import Level


class Channel(StrEnum):
    EMAIL = "EMAIL"
    SMS = "SMS"
    WHATSAPP = "WHATSAPP"
    VOICE = "VOICE"
    IN_APP = "IN_APP"


class Audience(StrEnum):
    ON_DUTY_SUPERVISOR = "ON_DUTY_SUPERVISOR"
    TEAM_LEAD = "TEAM_LEAD"  # the site's maintenance supervisors
    RELEVANT_TECHNICIANS = "RELEVANT_TECHNICIANS"  # cleared for the site, skilled for the type
    ASSIGNEE = "ASSIGNEE"
    REPORTER = "REPORTER"
    MANAGER = "MANAGER"
    SENIOR_TECHNICIANS = "SENIOR_TECHNICIANS"
    QUALITY = "QUALITY"  # the site's quality people and maintenance managers


class Digest(StrEnum):
    NONE = "NONE"
    SUMMARY = "SUMMARY"  # the next scheduled summary email
    DAILY = "DAILY"  # the daily digest email


@dataclass(frozen=True)
class AlertPlan:
    alert: str  # H1 .. H4
    sends: list[tuple[Channel, Audience]]
    flag: str  # the dashboard's indicator
    flashing: bool = False
    voice_after: timedelta | None = None  # call the on-duty supervisor if unacknowledged
    digest: Digest = Digest.NONE
    digest_audience: list[Audience] = field(default_factory=list)


C, A = Channel, Audience
PLANS: dict[Level, AlertPlan] = {
    Level.G1: AlertPlan(
        "H1",
        [(C.SMS, A.ON_DUTY_SUPERVISOR), (C.WHATSAPP, A.ON_DUTY_SUPERVISOR)],
        flag="RED",
        flashing=True,
        voice_after=timedelta(minutes=5),
    ),
    Level.G2: AlertPlan(
        "H2",
        [(C.EMAIL, A.TEAM_LEAD), (C.IN_APP, A.RELEVANT_TECHNICIANS)],
        flag="ORANGE",
    ),
    Level.G3: AlertPlan(
        "H3",
        [(C.IN_APP, A.RELEVANT_TECHNICIANS)],
        flag="YELLOW",
        digest=Digest.SUMMARY,
        digest_audience=[A.TEAM_LEAD],
    ),
    Level.G4: AlertPlan(
        "H4",
        [],  # it joins the work queue; no immediate alert
        flag="BLUE",
        digest=Digest.DAILY,
        digest_audience=[A.TEAM_LEAD],
    ),
}


def plan_for(level: Level) -> AlertPlan:
    return PLANS[level]
