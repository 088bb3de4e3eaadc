"""Sensor rules without a database: thresholds with a deadband, duration, rate of change."""

from datetime import UTC, datetime, timedelta

from domain.rules.sensors import (
    Rule,
    RuleKind,
    RuleState,
    Status,
    closed,
    describe,
    evaluate,
    may_signal,
    rule_refusal,
    stale,
    value_refusal,
    write_step,
)

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def stream(*values: float, every: int = 10) -> list[tuple[datetime, float]]:
    return [(T0 + timedelta(seconds=i * every), v) for i, v in enumerate(values)]


def test_high_threshold_crosses_stays_hovers_and_returns():
    rule = Rule(RuleKind.HIGH, 80.0, deadband=2.0)
    # seed 000 C2: a bearing at 85 °C against 80 °C
    state, changes = evaluate(rule, RuleState(), stream(70, 79.9, 85, 86, 79, 78.5, 81))
    assert [c.to for c in changes] == [Status.BREACH]
    assert changes[0].value == 85
    # Hovering inside the deadband (78-80) stays a breach: no flap; 81 counts again.
    assert state.status is Status.BREACH
    assert (state.count, state.episodes, state.peak) == (5, 1, 86)
    assert state.last_seen == T0 + timedelta(seconds=60)
    state, changes = evaluate(rule, state, [(T0 + timedelta(seconds=70), 77.9)])
    assert [c.to for c in changes] == [Status.NORMAL]
    assert state.status is Status.NORMAL and state.breaching_since is None
    # A second breach on the same open anomaly: counted on it, not a new count.
    state, changes = evaluate(rule, state, [(T0 + timedelta(seconds=80), 90)])
    assert [c.to for c in changes] == [Status.BREACH]
    assert (state.count, state.episodes, state.peak) == (6, 2, 90)
    # Once its anomaly is closed, the next one counts from zero.
    fresh = closed(state)
    assert (fresh.count, fresh.episodes, fresh.peak) == (0, 0, None)


def test_low_threshold_mirrors_high():
    rule = Rule(RuleKind.LOW, 2.0, deadband=0.5)
    state, changes = evaluate(rule, RuleState(), stream(3, 1.5, 2.3, 1.0, 2.6))
    assert [c.to for c in changes] == [Status.BREACH, Status.NORMAL]
    assert state.peak == 1.0 and state.count == 3


def test_duration_must_be_held():
    rule = Rule(RuleKind.HIGH, 80.0, for_seconds=30)
    state, changes = evaluate(rule, RuleState(), stream(85, 85, 85))  # 20 s over
    assert changes == [] and state.status is Status.PENDING
    assert state.count == 0  # nothing counted before the breach stands
    state, changes = evaluate(rule, state, [(T0 + timedelta(seconds=30), 84)])
    assert [c.to for c in changes] == [Status.BREACH]
    assert changes[0].value == 84 and state.breaching_since == T0
    # A dip under the threshold before the duration starts the clock again.
    state, changes = evaluate(rule, RuleState(), stream(85, 85, 70, 85, 85, 85))
    assert changes == [] and state.breaching_since == T0 + timedelta(seconds=30)


def test_rate_of_change_per_minute_either_way():
    rule = Rule(RuleKind.RATE, 5.0, deadband=1.0)  # 5 units per minute
    # 10 s apart: +0.5 is 3/min, +1.0 is 6/min, -1.5 is -9/min, +0.7 is 4.2/min, +0.5 is 3/min
    state, changes = evaluate(rule, RuleState(), stream(20, 20.5, 21.5, 20, 20.7, 21.2))
    assert [c.to for c in changes] == [Status.BREACH, Status.NORMAL]
    assert changes[0].measure == 6.0
    assert state.peak == -9.0 and state.count == 3  # 4.2 sits in the deadband: still over


def test_out_of_order_readings_are_skipped():
    rule = Rule(RuleKind.HIGH, 80.0)
    state, _ = evaluate(rule, RuleState(), stream(70, 71))
    state2, changes = evaluate(rule, state, [(T0, 99.0)])
    assert changes == [] and state2 == state


def test_limits_and_refusals():
    assert may_signal(None, T0)
    assert not may_signal(T0, T0 + timedelta(seconds=59))
    assert may_signal(T0, T0 + timedelta(seconds=60))
    assert value_refusal(float("nan")) and value_refusal(float("inf")) and value_refusal(1e13)
    assert value_refusal(-12.5) is None
    assert rule_refusal(Rule(RuleKind.RATE, 0)) is not None
    assert rule_refusal(Rule(RuleKind.RATE, 2, deadband=2))[0] == "deadband"
    assert rule_refusal(Rule(RuleKind.HIGH, -5)) is None
    # 60 s expected, plus the 15 s the stored latest reading may lag
    assert stale(T0, T0, 60, T0 + timedelta(seconds=76))
    assert not stale(T0, T0, 60, T0 + timedelta(seconds=75))
    assert stale(None, T0, 60, T0 + timedelta(minutes=2))
    assert write_step(60) == 15 and write_step(3600) == 60
    assert describe(Rule(RuleKind.HIGH, 80, for_seconds=30), "°C") == (
        "above 80 °C for at least 30 s"
    )
