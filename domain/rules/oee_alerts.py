"""Seed 002's performance alerts: the conditions, who is told how, which target applies,
and the moves of an alert (acknowledge, act, resolve). Plain data in, plain data out."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from domain.rules.alerts import Channel
from domain.rules.oee import Tally, figures, percent
from domain.rules.roles import Role


class AlertType(StrEnum):
    OEE_BELOW_TARGET = "oee_below_target"
    AVAILABILITY_LOW = "availability_low"
    PERFORMANCE_DROP = "performance_drop"
    QUALITY_ISSUE = "quality_issue"
    EXTENDED_DOWNTIME = "extended_downtime"
    ENERGY_SPIKE = "energy_spike"
    SHIFT_OEE_MISS = "shift_oee_miss"


@dataclass(frozen=True)
class AlertRule:
    severity: str  # medium or high
    metric: str
    channels: tuple[Channel, ...]  # "Dashboard" is the in-app notice
    title: str


T, C = AlertType, Channel
# Seed 002 "Alert Types": condition thresholds below, severities and channels here.
RULES: dict[AlertType, AlertRule] = {
    T.OEE_BELOW_TARGET: AlertRule("medium", "oee_pct", (C.EMAIL, C.IN_APP), "OEE below target"),
    T.AVAILABILITY_LOW: AlertRule(
        "high", "availability_pct", (C.EMAIL, C.SMS, C.IN_APP), "Availability low"
    ),
    T.PERFORMANCE_DROP: AlertRule("medium", "performance_pct", (C.IN_APP,), "Performance drop"),
    T.QUALITY_ISSUE: AlertRule("high", "quality_pct", (C.EMAIL, C.IN_APP), "Quality issue"),
    T.EXTENDED_DOWNTIME: AlertRule(
        "high", "downtime_minutes", (C.EMAIL, C.SMS), "Extended downtime"
    ),
    T.ENERGY_SPIKE: AlertRule("medium", "energy_ratio_pct", (C.IN_APP,), "Energy spike"),
    T.SHIFT_OEE_MISS: AlertRule("high", "shift_oee_pct", (C.EMAIL,), "Shift OEE missed"),
}

AVAILABILITY_LOW_PCT = 80.0
PERFORMANCE_DROP_PCT = 85.0
PERFORMANCE_DROP_FOR = timedelta(minutes=30)
QUALITY_ISSUE_PCT = 95.0
EXTENDED_DOWNTIME_AFTER = timedelta(minutes=15)
ENERGY_SPIKE_PCT = 120.0
SHIFT_OEE_TARGET_PCT = 75.0
# The machine's recent figures are judged over the last hour of snapshots, and only once
# a quarter of an hour of it was planned: one stopped five-minute slot is not a trend.
WINDOW = timedelta(hours=1)
MIN_PLANNED_S = 15 * 60
SLOT = timedelta(minutes=5)

# Who hears of an alert: production supervision of the machine's site.
AUDIENCE = frozenset({Role.MAINT_SUPERVISOR, Role.OPERATIONS_MANAGER, Role.MAINT_MANAGER})
TARGET_TYPES = ("machine", "line", "product")


@dataclass(frozen=True)
class Targets:
    oee: float = 85.0
    availability: float = 90.0
    performance: float = 95.0
    quality: float = 99.0
    source: str = "default"  # product, machine, line, default


@dataclass(frozen=True)
class TargetRow:
    target_type: str
    reference: str
    targets: Targets
    effective: date
    expiry: date | None = None


def pick_targets(
    rows: Sequence[TargetRow],
    *,
    machine: str,
    line: str | None,
    product: str | None,
    on: date,
    machine_oee_pct: float = 85.0,
) -> Targets:
    """The most specific target in force on the day: the product's being made, else the
    machine's, else its line's, else the machine's own OEE figure with seed 002 defaults.
    Among rows of one kind the latest effective wins."""
    keys = [("product", product), ("machine", machine), ("line", line)]
    for kind, ref in keys:
        if not ref:
            continue
        live = [
            r
            for r in rows
            if r.target_type == kind
            and r.reference == ref.upper()
            and r.effective <= on
            and (r.expiry is None or r.expiry >= on)
        ]
        if live:
            best = max(live, key=lambda r: r.effective)
            t = best.targets
            return Targets(t.oee, t.availability, t.performance, t.quality, kind)
    return Targets(oee=machine_oee_pct)


@dataclass(frozen=True)
class Finding:
    """A condition judged: `met` raises (or keeps) an alert, not met resolves an open one."""

    type: AlertType
    met: bool
    threshold: float
    actual: float | None
    message: str


def window_findings(slots: Sequence[Tally], targets: Targets) -> list[Finding]:
    """The machine's last hour of snapshots, oldest first, one per five minutes (a missing
    slot is an empty Tally): OEE against target, availability and quality against seed
    002's floors, and performance below 85 % in every slot of the last 30 minutes. A
    condition that cannot be judged (too little planned time, no output) is left out."""
    out: list[Finding] = []
    window = Tally()
    for t in slots:
        window = window + t
    f = figures(window)
    if window.planned_s >= MIN_PLANNED_S:
        oee, avail, quality = percent(f.oee), percent(f.availability), percent(f.quality)
        if oee is not None:
            out.append(
                Finding(
                    T.OEE_BELOW_TARGET,
                    oee < targets.oee,
                    targets.oee,
                    oee,
                    f"OEE {oee} % over the last hour, target {targets.oee} %",
                )
            )
        if avail is not None:
            out.append(
                Finding(
                    T.AVAILABILITY_LOW,
                    avail < AVAILABILITY_LOW_PCT,
                    AVAILABILITY_LOW_PCT,
                    avail,
                    f"availability {avail} % over the last hour, under {AVAILABILITY_LOW_PCT} %",
                )
            )
        if quality is not None:
            out.append(
                Finding(
                    T.QUALITY_ISSUE,
                    quality < QUALITY_ISSUE_PCT,
                    QUALITY_ISSUE_PCT,
                    quality,
                    f"quality {quality} % over the last hour, under {QUALITY_ISSUE_PCT} %",
                )
            )
    drop = performance_drop(slots)
    if drop is not None:
        out.append(drop)
    return out


def performance_drop(slots: Sequence[Tally]) -> Finding | None:
    """Met when each of the last six slots ran and ran below 85 %; cleared when the latest
    slot ran at 85 % or more; otherwise (a stop in the half hour) not judged."""
    n = int(PERFORMANCE_DROP_FOR / SLOT)
    last = list(slots)[-n:]
    perf = [percent(figures(t).performance) if t.run_s > 0 else None for t in last]
    if perf and perf[-1] is not None and perf[-1] >= PERFORMANCE_DROP_PCT:
        return Finding(T.PERFORMANCE_DROP, False, PERFORMANCE_DROP_PCT, perf[-1], "recovered")
    if len(perf) < n or any(p is None for p in perf):
        return None
    if all(p < PERFORMANCE_DROP_PCT for p in perf):
        worst = max(perf)
        return Finding(
            T.PERFORMANCE_DROP,
            True,
            PERFORMANCE_DROP_PCT,
            worst,
            f"performance under {PERFORMANCE_DROP_PCT} % for 30 minutes (at best {worst} %)",
        )
    return None


def shift_finding(shift: Tally, target_pct: float | None, code: str) -> Finding | None:
    """A shift just ended: its OEE against its target (75 % unless the shift names one)."""
    target = SHIFT_OEE_TARGET_PCT if target_pct is None else target_pct
    oee = percent(figures(shift).oee)
    if oee is None:
        return None
    return Finding(
        T.SHIFT_OEE_MISS,
        oee < target,
        target,
        oee,
        f"shift {code} ended at OEE {oee} %, target {target} %",
    )


def energy_finding(actual_kwh: float, expected_kwh: float | None) -> Finding | None:
    """A reading against the baseline's expectation for the same period: over 120 %."""
    if not expected_kwh or expected_kwh <= 0:
        return None
    pct = round(actual_kwh / expected_kwh * 100, 2)
    return Finding(
        T.ENERGY_SPIKE,
        pct > ENERGY_SPIKE_PCT,
        ENERGY_SPIKE_PCT,
        pct,
        f"{actual_kwh} kWh is {pct} % of the baseline's {expected_kwh} kWh",
    )


def downtime_due(start: datetime) -> datetime:
    """When an open downtime becomes extended: its timer's absolute moment."""
    return start + EXTENDED_DOWNTIME_AFTER


def downtime_finding(start: datetime, now: datetime, reason: str) -> Finding:
    minutes = round((now - start).total_seconds() / 60, 2)
    limit = EXTENDED_DOWNTIME_AFTER.total_seconds() / 60
    return Finding(
        T.EXTENDED_DOWNTIME,
        minutes >= limit,
        limit,
        minutes,
        f"down {minutes} minutes ({reason}), over {limit:g} minutes",
    )


# -- an alert's moves --


class AlertStatus(StrEnum):
    OPEN = "OPEN"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    ACTION_TAKEN = "ACTION_TAKEN"
    RESOLVED = "RESOLVED"


def status_of(
    acknowledged: datetime | None, acted: datetime | None, resolved: datetime | None
) -> AlertStatus:
    if resolved is not None:
        return AlertStatus.RESOLVED
    if acted is not None:
        return AlertStatus.ACTION_TAKEN
    if acknowledged is not None:
        return AlertStatus.ACKNOWLEDGED
    return AlertStatus.OPEN


MOVES = ("acknowledge", "act", "resolve")


def move_refusal(status: AlertStatus, move: str) -> tuple[str, str, str] | None:
    """Seed 002's alert workflow: acknowledged once, actions noted until resolved (an
    action on an unacknowledged alert acknowledges it), resolved once."""
    if status is AlertStatus.RESOLVED:
        return ("Conflict", f"alert already resolved: cannot {move}", "status")
    if move == "acknowledge" and status is not AlertStatus.OPEN:
        return ("Conflict", "alert already acknowledged", "status")
    return None


def dedupe_key(alert_type: AlertType, reference_type: str, reference_id: int | str) -> str:
    return f"{alert_type.value}:{reference_type}:{reference_id}"
