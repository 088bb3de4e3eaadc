"""The pure rules of the anomaly lifecycle: criticality, response times, assignment, KPIs."""

from datetime import UTC, datetime, timedelta

import pytest

from domain.rules.alerts import Channel, plan_for
from domain.rules.anomaly_lifecycle import Resolution, RexContent, resolution_missing, rex_missing
from domain.rules.assignment import Candidate, rank
from domain.rules.criticality import (
    Factors,
    Level,
    ResponseTimes,
    SafetyImpact,
    Urgency,
    assess,
    response_deadline,
)
from domain.rules.kpis import Fact, Period, compute, rex_backlog


def _factors(**kw) -> Factors:
    base = dict(
        safety_impact=SafetyImpact.NONE,
        production_loss_per_hour=0.0,
        asset_criticality="C",
        urgency=Urgency.CAN_WAIT,
        regulatory_impact=False,
    )
    return Factors(**{**base, **kw})


@pytest.mark.parametrize(
    ("factors", "level"),
    [
        (_factors(safety_impact=SafetyImpact.IMMEDIATE), Level.G1),
        (_factors(production_loss_per_hour=10_001), Level.G1),
        (_factors(production_loss_per_hour=10_000, asset_criticality="A"), Level.G2),
        (_factors(safety_impact=SafetyImpact.SERIOUS, urgency=Urgency.SOON), Level.G2),
        (_factors(asset_criticality="A"), Level.G3),
        (_factors(regulatory_impact=True), Level.G3),
        (_factors(), Level.G4),
        (_factors(urgency=Urgency.SOON), Level.G4),
    ],
)
def test_levels(factors, level):
    result = assess(factors)
    assert result.level is level
    assert len(result.reasons) == 6  # one per factor, then the verdict


def test_every_factor_is_explained():
    result = assess(_factors(production_loss_per_hour=20_000, regulatory_impact=True))
    assert result.reasons[-1] == "G1: production loss over 10,000 USD/hour"
    assert "production loss 20,000 USD/hour: +30" in result.reasons
    assert "regulatory impact yes: +15" in result.reasons


def test_response_deadlines():
    at = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # a Thursday
    times = ResponseTimes()
    assert response_deadline(Level.G1, at, "UTC", times) == at + timedelta(minutes=15)
    assert response_deadline(Level.G2, at, "UTC", times) == at + timedelta(hours=2)
    assert response_deadline(Level.G3, at, "UTC", times) == at + timedelta(hours=8)
    # G4: the next maintenance window, Saturday 06:00 site time.
    assert response_deadline(Level.G4, at, "Europe/Oslo", times) == datetime(
        2026, 11, 28, 5, 0, tzinfo=UTC
    )
    saturday_noon = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert response_deadline(Level.G4, saturday_noon, "UTC", times) == datetime(
        2026, 12, 5, 6, 0, tzinfo=UTC
    )


def test_alert_matrix():
    h1 = plan_for(Level.G1)
    assert {c for c, _ in h1.sends} == {Channel.SMS, Channel.WHATSAPP}
    assert h1.voice_after == timedelta(minutes=5) and h1.flashing and h1.flag == "RED"
    assert {c for c, _ in plan_for(Level.G2).sends} == {Channel.EMAIL, Channel.IN_APP}
    assert plan_for(Level.G3).digest.value == "SUMMARY"
    assert plan_for(Level.G4).sends == [] and plan_for(Level.G4).digest.value == "DAILY"


def _candidate(uid, **kw):
    base = dict(
        user_id=uid,
        username=f"u{uid}",
        full_name=f"User {uid}",
        skills={},
        valid_certifications=frozenset(),
        expired_certifications=frozenset(),
        cleared_for_site=True,
        distance_km=1.0,
        open_assignments=0,
        on_shift=True,
    )
    return Candidate(**{**base, **kw})


def test_assignment_prefers_skill_then_explains():
    skilled = _candidate(1, skills={"HV": 5, "ELEC": 5}, distance_km=20)
    near = _candidate(2, skills={"MECH": 5}, distance_km=0.1)
    uncleared = _candidate(3, skills={"HV": 5, "ELEC": 5}, cleared_for_site=False)
    ranked = rank([near, skilled, uncleared], ["HV", "ELEC"])
    assert [r.candidate.user_id for r in ranked] == [1, 2]
    assert ranked[0].explanation[0].startswith("skills HV, ELEC of HV, ELEC")
    assert any("20.0 km away" in line for line in ranked[0].explanation)


def test_assignment_balances_workload_and_shift():
    busy = _candidate(1, open_assignments=5)
    free = _candidate(2, open_assignments=0)
    off = _candidate(3, on_shift=False)
    expired = _candidate(4, expired_certifications=frozenset({"LOTO"}))
    ranked = rank([busy, free, off, expired], [])
    assert ranked[0].candidate.user_id == 2
    assert ranked[-1].candidate.user_id == 1
    assert (
        "expired certification LOTO: +0.0"
        in next(r for r in ranked if r.candidate.user_id == 4).explanation
    )


def test_resolution_names_everything_missing():
    empty = Resolution("", "", "", False)
    missing = resolution_missing(empty, [], 0, False, ["LOTO before opening"])
    assert missing == [
        "root cause",
        "corrective action",
        "verification test",
        "safety restored confirmation",
        "LOTO acknowledgement",
        "before photo",
        "after photo",
        "at least one progress note",
    ]
    done = Resolution("a", "b", "c", True)
    assert resolution_missing(done, ["BEFORE_PHOTO", "AFTER_PHOTO"], 1, True, ["LOTO"]) == []


def test_rex_needs_every_section():
    assert rex_missing(RexContent("x" * 5, "", "x" * 5, "", "x" * 5)) == [
        "lessons learned",
        "best practices",
    ]


def test_kpis():
    t = datetime(2026, 1, 1, tzinfo=UTC)
    h = timedelta(hours=1)
    day = timedelta(days=1)

    def fact(asset, **kw):
        base = dict(
            asset_id=asset,
            criticality="G2",
            occurred_at=t - h,
            detected_at=t,
            registered_at=t,
            accepted_at=t + h / 4,
            resolved_at=t + 3 * h,
            closed_at=t + 4 * h,
            escalated=False,
            review_rejections=0,
            assigned_at=t,
            approved_at=t + 3 * h,
            rex_approved_at=t + 4 * h,
        )
        return Fact(**{**base, **kw})

    facts = [
        fact(1, criticality="G1"),
        fact(2, escalated=True, review_rejections=1),
        fact(3),
        fact(4, occurred_at=None, rex_approved_at=t + 8 * day, closed_at=t + 8 * day),
        # Open: its REX is still due, and it escalated before acceptance.
        fact(5, escalated=True, accepted_at=None, closed_at=None, rex_approved_at=None),
    ]
    later = {3: [t + 30 * 24 * h]}  # asset 3 failed again within 90 days
    kpis = {k.name: k for k in compute(facts, later, Period(t - day, t + 30 * day))}
    assert kpis["mttd"].value == 1.0 and kpis["mttd"].sample_size == 3
    assert kpis["mttr"].value == 3.0
    assert kpis["escalation_rate"].value == 40.0 and kpis["escalation_rate"].sample_size == 5
    assert kpis["supervisor_first_review_approval"].value == 75.0
    assert kpis["recurrence_rate_90d"].value == 25.0
    assert kpis["first_time_fix_rate"].value == 50.0
    assert kpis["critical_response_time"].value == 15.0
    # Late (8 days) and still missing both count against it; closed-only gave 100 %.
    assert kpis["rex_completion_rate"].value == 60.0
    assert kpis["rex_completion_rate"].sample_size == 5
    # Outside the period, nothing counts.
    later_period = {k.name: k for k in compute(facts, later, Period(t + 60 * day, t + 90 * day))}
    assert later_period["rex_completion_rate"].value is None


def test_rex_backlog_counts_the_overdue():
    t = datetime(2026, 1, 1, tzinfo=UTC)
    b = rex_backlog([t, t + timedelta(days=6)], t + timedelta(days=8), timedelta(days=7))
    assert (b.due, b.overdue) == (2, 1)


def test_a_raise_moves_towards_g1():
    from domain.rules.criticality import Level, is_raise

    assert is_raise(Level.G3, Level.G1) and is_raise(Level.G4, Level.G3)
    assert not is_raise(Level.G1, Level.G2) and not is_raise(Level.G2, Level.G2)


def test_recurrence_counts_a_detection_after_the_closure_within_90_days_only():
    """The recurrence search gives what the definition says, whatever the order the
    detections come in: strictly after the closure, up to 90 days after it inclusive."""
    import random

    from domain.rules.kpis import RECURRENCE_WINDOW

    t = datetime(2026, 1, 1, tzinfo=UTC)
    rng = random.Random(7)
    facts, detections = [], {}
    for asset in range(1, 6):
        found = [t + timedelta(hours=rng.randrange(0, 24 * 200)) for _ in range(40)]
        closures = [t + timedelta(hours=rng.randrange(0, 24 * 200)) for _ in range(40)]
        # The edges: a detection at the closure itself, one exactly 90 days after another.
        found += [closures[0], closures[1] + RECURRENCE_WINDOW, closures[2] + RECURRENCE_WINDOW * 2]
        rng.shuffle(found)
        detections[asset] = found
        for closed in closures:
            facts.append(
                Fact(asset, "G2", None, t, t, None, closed - timedelta(hours=1), closed, False, 0)
            )
    facts.append(Fact(9, "G2", None, t, t, None, None, t + timedelta(days=1), False, 0))
    period = Period(t, t + timedelta(days=365))
    rate = {k.name: k for k in compute(facts, detections, period)}["recurrence_rate_90d"]
    by_definition = [
        any(
            f.closed_at < d <= f.closed_at + RECURRENCE_WINDOW
            for d in detections.get(f.asset_id, [])
        )
        for f in facts
    ]
    assert rate.sample_size == len(facts)
    assert rate.value == round(100 * sum(by_definition) / len(facts), 1)
    assert 0 < sum(by_definition) < len(facts)


def test_the_kpi_names_are_those_computed():
    """The stored KPIs a closure checks before recomputing are exactly those computed."""
    from domain.rules.kpis import NAMES

    t = datetime(2026, 1, 1, tzinfo=UTC)
    assert tuple(k.name for k in compute([], {}, Period(t, t + timedelta(days=1)))) == NAMES
