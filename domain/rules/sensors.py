"""Sensor rules (intake channel C2), pure: a reading stream against a high or low threshold
or a rate of change, held for at least N seconds, with a deadband so a value hovering at
the threshold does not flap; and the once-a-minute limits of the ingest path."""

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

MAX_BATCH = 10_000
SIGNAL_EVERY = timedelta(minutes=1)  # one workflow update per anomaly, one PM signal per meter
RAW_RETENTION_DAYS = 90


class RuleKind(StrEnum):
    HIGH = "HIGH"  # over the threshold
    LOW = "LOW"  # under the threshold
    RATE = "RATE"  # changing faster than the threshold, in units per minute, either way


class SensorKind(StrEnum):
    TEMPERATURE = "TEMPERATURE"
    PRESSURE = "PRESSURE"
    VIBRATION = "VIBRATION"
    FLOW = "FLOW"
    LEVEL = "LEVEL"
    CURRENT = "CURRENT"
    SPEED = "SPEED"
    COUNTER = "COUNTER"  # running hours, cycles: what a meter reads
    OTHER = "OTHER"


class Status(StrEnum):
    NORMAL = "NORMAL"
    PENDING = "PENDING"  # over the rule, not yet for long enough
    BREACH = "BREACH"


@dataclass(frozen=True)
class Rule:
    kind: RuleKind
    threshold: float
    for_seconds: int = 0
    deadband: float = 0.0


@dataclass(frozen=True)
class RuleState:
    status: Status = Status.NORMAL
    breaching_since: datetime | None = None
    count: int = 0  # readings over the rule since the anomaly opened
    episodes: int = 0  # breaches since the anomaly opened
    peak: float | None = None  # the worst measure (value, or rate per minute) since then
    last_seen: datetime | None = None  # the last reading over the rule
    last_value: float | None = None  # the last reading, whatever it was
    last_time: datetime | None = None


@dataclass(frozen=True)
class Change:
    """A rule's change of state: what reaches a workflow (never a single reading)."""

    to: Status  # BREACH (held past its duration) or NORMAL (back past the deadband)
    at: datetime
    value: float  # the reading that made the change
    measure: float  # what the rule compares: the value, or the rate per minute


def measure(rule: Rule, state: RuleState, at: datetime, value: float) -> float | None:
    """What the rule compares for this reading: the value, or the rate per minute since the
    previous reading (None for the first reading, or one not after the previous)."""
    if rule.kind is not RuleKind.RATE:
        return value
    if state.last_value is None or state.last_time is None or at <= state.last_time:
        return None
    return (value - state.last_value) / ((at - state.last_time).total_seconds() / 60)


def is_over(rule: Rule, m: float, already: bool) -> bool:
    """Over the rule; once over, it stays so until it is back past the deadband."""
    band = rule.deadband if already else 0.0
    if rule.kind is RuleKind.HIGH:
        return m > rule.threshold - band
    if rule.kind is RuleKind.LOW:
        return m < rule.threshold + band
    return abs(m) > rule.threshold - band


def worse(rule: Rule, peak: float | None, m: float) -> float:
    if peak is None:
        return m
    if rule.kind is RuleKind.LOW:
        return min(peak, m)
    if rule.kind is RuleKind.RATE:
        return m if abs(m) > abs(peak) else peak
    return max(peak, m)


def evaluate(
    rule: Rule, state: RuleState, readings: Sequence[tuple[datetime, float]]
) -> tuple[RuleState, list[Change]]:
    """A batch of one sensor's readings, in time order, through one rule: the new state and
    its changes. Counts and peak grow only while an anomaly is open for the rule (from its
    breach to its return to normal and beyond, until the anomaly is closed elsewhere).
    Plain locals in the loop: it runs for every reading of every batch."""
    changes: list[Change] = []
    status, since = state.status, state.breaching_since
    count, episodes, peak, seen = state.count, state.episodes, state.peak, state.last_seen
    last_value, last_time = state.last_value, state.last_time
    rate = rule.kind is RuleKind.RATE
    for at, value in readings:
        if last_time is not None and at < last_time:
            continue  # late and out of order: already judged past it
        if rate:
            if last_value is None or last_time is None or at <= last_time:
                last_value, last_time = value, at
                continue
            m = (value - last_value) / ((at - last_time).total_seconds() / 60)
        else:
            m = value
        last_value, last_time = value, at
        if not is_over(rule, m, status is not Status.NORMAL):
            if status is Status.BREACH:
                changes.append(Change(Status.NORMAL, at, value, m))
            status, since = Status.NORMAL, None
            continue
        if status is Status.BREACH:
            count, peak, seen = count + 1, worse(rule, peak, m), at
            continue
        since = since or at
        if (at - since).total_seconds() >= rule.for_seconds:
            status = Status.BREACH
            count, episodes, peak, seen = count + 1, episodes + 1, worse(rule, peak, m), at
            changes.append(Change(Status.BREACH, at, value, m))
        else:
            status = Status.PENDING
    new = RuleState(status, since, count, episodes, peak, seen, last_value, last_time)
    return new, changes


def closed(state: RuleState) -> RuleState:
    """The rule's anomaly was closed: the next breach opens a new one, counted afresh."""
    return replace(state, count=0, episodes=0, peak=None, last_seen=None)


def may_signal(last: datetime | None, now: datetime) -> bool:
    """At most one workflow update per anomaly (and one PM signal per meter) a minute."""
    return last is None or now - last >= SIGNAL_EVERY


def value_refusal(value: float) -> str | None:
    if math.isnan(value) or math.isinf(value):
        return "must be a finite number"
    if abs(value) > 1e12:
        return "must be within ±1e12"
    return None


def rule_refusal(rule: Rule) -> tuple[str, str] | None:
    """(field, message) of a rule that cannot work, else None."""
    if rule.kind is RuleKind.RATE and rule.threshold <= 0:
        return "threshold", "a rate-of-change threshold must be above 0 (units per minute)"
    if rule.kind is RuleKind.RATE and rule.deadband >= rule.threshold:
        return "deadband", "the deadband must be smaller than the rate threshold"
    return None


def write_step(interval_seconds: int) -> float:
    """How far a sensor's stored latest reading may lag: the ingest path rewrites it when
    it moves by a quarter of the expected interval (at most a minute), so a sensor heard
    every second is not rewritten with every batch."""
    return min(interval_seconds / 4, 60.0)


def stale(last: datetime | None, since: datetime, interval_seconds: int, now: datetime) -> bool:
    """Silent longer than its expected interval (a sensor never heard counts from its
    creation), allowing for the lag of the stored latest reading."""
    allowed = interval_seconds + write_step(interval_seconds)
    return now - (last or since) > timedelta(seconds=allowed)


def describe(rule: Rule, unit: str) -> str:
    if rule.kind is RuleKind.RATE:
        text = f"rate of change over {rule.threshold:g} {unit}/min"
    else:
        word = "above" if rule.kind is RuleKind.HIGH else "below"
        text = f"{word} {rule.threshold:g} {unit}"
    if rule.for_seconds:
        text += f" for at least {rule.for_seconds} s"
    return text
