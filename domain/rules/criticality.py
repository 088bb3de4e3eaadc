"""Criticality G1 to G4 (seed 000 phase 4) from a scored assessment, reasons kept."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

CRITICAL_LOSS_PER_HOUR = 10_000.0  # USD/hour above which production loss alone is G1


class Level(StrEnum):
    G1 = "G1"  # critical: safety or production impact
    G2 = "G2"  # high: equipment risk
    G3 = "G3"  # medium: maintenance required
    G4 = "G4"  # low: routine


def is_raise(old: Level, new: Level) -> bool:
    """G1 is the most severe level: moving towards it raises the criticality."""
    return new.value < old.value


class SafetyImpact(StrEnum):
    NONE = "NONE"
    MINOR = "MINOR"
    SERIOUS = "SERIOUS"
    IMMEDIATE = "IMMEDIATE"  # immediate risk to people: gas leak, live conductor


class Urgency(StrEnum):
    CAN_WAIT = "CAN_WAIT"
    SOON = "SOON"
    URGENT = "URGENT"


@dataclass(frozen=True)
class Factors:
    safety_impact: SafetyImpact
    production_loss_per_hour: float
    asset_criticality: str  # A, B or C (seed 003 B.3)
    urgency: Urgency
    regulatory_impact: bool


@dataclass(frozen=True)
class Assessment:
    level: Level
    score: int
    reasons: list[str]


_SAFETY_POINTS = {
    SafetyImpact.NONE: 0,
    SafetyImpact.MINOR: 10,
    SafetyImpact.SERIOUS: 35,
    SafetyImpact.IMMEDIATE: 60,
}
_ASSET_POINTS = {"A": 20, "B": 10, "C": 0}
_URGENCY_POINTS = {Urgency.CAN_WAIT: 0, Urgency.SOON: 8, Urgency.URGENT: 15}
# Score at or above which each level applies, below G1's hard rules.
G2_FROM, G3_FROM = 45, 15


def assess(f: Factors) -> Assessment:
    reasons: list[str] = []
    score = 0

    points = _SAFETY_POINTS[f.safety_impact]
    score += points
    reasons.append(f"safety impact {f.safety_impact.value}: +{points}")

    loss = max(f.production_loss_per_hour, 0.0)
    points = round(min(loss / CRITICAL_LOSS_PER_HOUR, 1.0) * 30)
    score += points
    reasons.append(f"production loss {loss:,.0f} USD/hour: +{points}")

    points = _ASSET_POINTS.get(f.asset_criticality, 0)
    score += points
    reasons.append(f"asset criticality {f.asset_criticality}: +{points}")

    points = _URGENCY_POINTS[f.urgency]
    score += points
    reasons.append(f"urgency {f.urgency.value}: +{points}")

    points = 15 if f.regulatory_impact else 0
    score += points
    reasons.append(f"regulatory impact {'yes' if f.regulatory_impact else 'no'}: +{points}")

    if f.safety_impact is SafetyImpact.IMMEDIATE:
        level = Level.G1
        reasons.append("G1: immediate safety risk")
    elif loss > CRITICAL_LOSS_PER_HOUR:
        level = Level.G1
        reasons.append(f"G1: production loss over {CRITICAL_LOSS_PER_HOUR:,.0f} USD/hour")
    elif f.safety_impact is SafetyImpact.SERIOUS:
        level = Level.G2
        reasons.append("G2: serious safety impact")
    elif score >= G2_FROM:
        level = Level.G2
        reasons.append(f"G2: score {score} is {G2_FROM} or more")
    elif score >= G3_FROM:
        level = Level.G3
        reasons.append(f"G3: score {score} is {G3_FROM} or more")
    else:
        level = Level.G4
        reasons.append(f"G4: score {score} is under {G3_FROM}")
    return Assessment(level, score, reasons)


@dataclass(frozen=True)
class ResponseTimes:
    """How long the assignee has to accept, per level (configurable in settings)."""

    g1: timedelta = timedelta(minutes=15)
    g2: timedelta = timedelta(hours=2)
    g3: timedelta = timedelta(hours=8)
    # G4 waits for the next maintenance window: weekday (0 = Monday) and hour, site time.
    window_weekday: int = 5
    window_hour: int = 6


def response_deadline(
    level: Level, registered_at: datetime, site_timezone: str, times: ResponseTimes
) -> datetime:
    if level is Level.G1:
        return registered_at + times.g1
    if level is Level.G2:
        return registered_at + times.g2
    if level is Level.G3:
        return registered_at + times.g3
    return next_maintenance_window(registered_at, site_timezone, times)


def next_maintenance_window(after: datetime, site_timezone: str, times: ResponseTimes) -> datetime:
    local = after.astimezone(ZoneInfo(site_timezone))
    start = local.replace(hour=times.window_hour, minute=0, second=0, microsecond=0)
    start += timedelta(days=(times.window_weekday - local.weekday()) % 7)
    if start <= local:
        start += timedelta(days=7)
    return start.astimezone(after.tzinfo)
