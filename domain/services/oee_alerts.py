"""Performance targets and OEE alerts (seed 002): conditions judged where the data lands
(the snapshot round, a downtime's timer, an energy reading), one alert per open condition,
its notices queued once in the outbox, and the people's moves on it, all audited."""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain.actor import Actor, system_actor
from domain.errors import Conflict, NotAllowed, NotFound, RuleViolation
from domain.models import Asset, Notification, Site, User
from domain.models.oee_alerts import PerformanceAlert, PerformanceTarget
from domain.models.production import (
    EnergyBaseline,
    EnergyReading,
    Machine,
    OeeSnapshot,
    ProductionCount,
    ProductionDowntime,
    ProductionLine,
    Shift,
)
from domain.rules import oee_alerts as rules
from domain.rules.alerts import Channel
from domain.rules.energy import against_baseline
from domain.rules.oee import Interval, Tally
from domain.rules.oee_alerts import AlertType, Finding
from domain.rules.roles import Action, Scope, scope_for
from domain.services import oee, outbox
from domain.services.audit import record_change
from domain.services.oee_snapshots import TALLY_COLUMNS, bucket_end
from domain.services.production import site_shift_windows

ENTITY = "OEE_ALERT"
TARGET_ENTITY = "PERFORMANCE_TARGET"


def reference(alert_id: int) -> str:
    """The alert's name in the outbox and on pages."""
    return f"OEE-{alert_id}"


# -- targets --


def set_target(
    *,
    session: Session,
    actor: Actor,
    target_type: str,
    ref: str,
    oee_target: float = 85.0,
    availability_target: float = 90.0,
    performance_target: float = 95.0,
    quality_target: float = 99.0,
    effective: date,
    expiry: date | None = None,
) -> PerformanceTarget:
    if scope_for(actor.roles, Action.SET_OEE_TARGETS) is None:
        raise NotAllowed("targets are set by an administrator or a manager", field="role")
    if target_type not in rules.TARGET_TYPES:
        raise RuleViolation(
            f"target_type: one of {', '.join(rules.TARGET_TYPES)}", field="target_type"
        )
    if expiry is not None and expiry < effective:
        raise RuleViolation("expiry_date: cannot be before effective_date", field="expiry_date")
    ref = ref.strip().upper()
    org = actor.organization_id
    if target_type == "machine":
        found = session.scalar(
            select(Machine.id)
            .join(Asset, Asset.id == Machine.asset_id)
            .where(Asset.organization_id == org, Asset.asset_number == ref)
        )
    elif target_type == "line":
        found = session.scalar(
            select(ProductionLine.id).where(
                ProductionLine.organization_id == org, ProductionLine.code == ref
            )
        )
    else:
        found = ref or None
    if found is None:
        raise NotFound(f"{target_type} {ref} not found", field="reference")
    row = PerformanceTarget(
        organization_id=org,
        target_type=target_type,
        reference=ref,
        oee_target=oee_target,
        availability_target=availability_target,
        performance_target=performance_target,
        quality_target=quality_target,
        effective_date=effective,
        expiry_date=expiry,
        set_by=actor.full_name,
    )
    session.add(row)
    session.flush()
    record_change(
        session=session,
        actor=actor,
        entity_type=TARGET_ENTITY,
        entity_id=str(row.id),
        action="TARGET_SET",
        before=None,
        after=target_out(row),
        reason=f"{target_type} {ref}",
    )
    return row


def target_out(row: PerformanceTarget) -> dict[str, Any]:
    return {
        "id": row.id,
        "target_type": row.target_type,
        "reference": row.reference,
        "oee_target": row.oee_target,
        "availability_target": row.availability_target,
        "performance_target": row.performance_target,
        "quality_target": row.quality_target,
        "effective_date": row.effective_date.isoformat(),
        "expiry_date": row.expiry_date.isoformat() if row.expiry_date else None,
    }


def list_targets(*, session: Session, organization_id: int) -> list[PerformanceTarget]:
    return list(
        session.scalars(
            select(PerformanceTarget)
            .where(PerformanceTarget.organization_id == organization_id)
            .order_by(
                PerformanceTarget.target_type,
                PerformanceTarget.reference,
                PerformanceTarget.effective_date,
            )
        )
    )


def _target_rows(session: Session, organization_id: int) -> list[rules.TargetRow]:
    return [
        rules.TargetRow(
            r.target_type,
            r.reference,
            rules.Targets(
                r.oee_target, r.availability_target, r.performance_target, r.quality_target
            ),
            r.effective_date,
            r.expiry_date,
        )
        for r in list_targets(session=session, organization_id=organization_id)
    ]


def targets_for(
    *, session: Session, machine: Machine, on: date, rows: list[rules.TargetRow] | None = None
) -> rules.Targets:
    """The targets a machine is judged by today: of the product it made last, of itself,
    or of its line."""
    if rows is None:
        rows = _target_rows(session, machine.organization_id)
    number = session.scalar(select(Asset.asset_number).where(Asset.id == machine.asset_id))
    line = session.scalar(select(ProductionLine.code).where(ProductionLine.id == machine.line_id))
    product = session.scalar(
        select(ProductionCount.product_code)
        .where(ProductionCount.machine_id == machine.id)
        .order_by(ProductionCount.period_end.desc())
        .limit(1)
    )
    return rules.pick_targets(
        rows,
        machine=number,
        line=line,
        product=product,
        on=on,
        machine_oee_pct=machine.oee_target_pct,
    )


# -- raising and settling --


def apply(
    *,
    session: Session,
    organization_id: int,
    machine: Machine | None,
    findings: list[Finding],
    reference_type: str,
    reference_id: int | None,
    now: datetime,
    deliverable: set[Channel] = frozenset(),
) -> list[str]:
    """Each condition met raises its alert unless one is open already; each condition
    cleared resolves the open one. The outbox keys waiting for a provider."""
    keys: list[str] = []
    for f in findings:
        key = rules.dedupe_key(f.type, reference_type, reference_id or 0)
        if f.met:
            keys += _raise(
                session,
                organization_id,
                machine,
                f,
                reference_type,
                reference_id,
                key,
                now,
                deliverable,
            )
        else:
            settle(
                session=session,
                organization_id=organization_id,
                key=key,
                now=now,
                why=f"condition cleared: {f.message}",
            )
    return keys


def _raise(session, org, machine, f: Finding, ref_type, ref_id, key, now, deliverable):
    rule = rules.RULES[f.type]
    name = _machine_name(session, machine)
    new_id = session.scalar(
        insert(PerformanceAlert)
        .values(
            organization_id=org,
            alert_type=f.type.value,
            severity=rule.severity,
            metric_name=rule.metric,
            threshold_value=f.threshold,
            actual_value=f.actual,
            reference_type=ref_type,
            reference_id=ref_id,
            machine_id=machine.id if machine else None,
            dedupe_key=key,
            message=f"{rule.title} on {name}: {f.message}" if name else f.message,
            triggered_at=now,
            notification_sent=False,
        )
        .on_conflict_do_nothing(
            index_elements=["organization_id", "dedupe_key"],
            index_where=PerformanceAlert.resolved_at.is_(None),
        )
        .returning(PerformanceAlert.id)
    )
    if new_id is None:  # raised before: what of its notices still waits (a retried round)
        open_id = session.scalar(
            select(PerformanceAlert.id).where(
                PerformanceAlert.organization_id == org,
                PerformanceAlert.dedupe_key == key,
                PerformanceAlert.resolved_at.is_(None),
            )
        )
        return list(
            session.scalars(
                select(Notification.key).where(
                    Notification.reference == reference(open_id), Notification.status == "PENDING"
                )
            )
        )
    alert = session.get(PerformanceAlert, new_id)
    record_change(
        session=session,
        actor=system_actor(org, "alerts"),
        entity_type=ENTITY,
        entity_id=str(alert.id),
        action="ALERT_RAISED",
        before=None,
        after=alert_state(alert),
        reason=alert.message,
    )
    return _queue_notices(session, alert, machine, deliverable)


def settle(*, session: Session, organization_id: int, key: str, now: datetime, why: str) -> int:
    """The open alert of a key, resolved by the platform (seed 002: auto-close)."""
    alert = session.scalars(
        select(PerformanceAlert)
        .where(
            PerformanceAlert.organization_id == organization_id,
            PerformanceAlert.dedupe_key == key,
            PerformanceAlert.resolved_at.is_(None),
        )
        .with_for_update()
    ).one_or_none()
    if alert is None:
        return 0
    before = alert_state(alert)
    alert.resolved_at, alert.resolved_by, alert.resolution = now, "plantops", why
    session.flush()
    record_change(
        session=session,
        actor=system_actor(organization_id, "alerts"),
        entity_type=ENTITY,
        entity_id=str(alert.id),
        action="ALERT_RESOLVED",
        before=before,
        after=alert_state(alert),
        reason=why,
    )
    return 1


def _machine_name(session: Session, machine: Machine | None) -> str | None:
    if machine is None:
        return None
    return session.scalar(select(Asset.asset_number).where(Asset.id == machine.asset_id))


def _queue_notices(session, alert: PerformanceAlert, machine, deliverable) -> list[str]:
    """Seed 002's channels for the alert's type, to production supervision of the machine's
    site; keyed by the alert, so a retry queues nothing twice."""
    rule = rules.RULES[AlertType(alert.alert_type)]
    site_id = machine.site_id if machine else None
    roles = {r.value for r in rules.AUDIENCE}
    users = [
        u
        for u in session.scalars(
            select(User)
            .where(User.organization_id == alert.organization_id, User.is_active)
            .order_by(User.id)
        )
        if roles & set(u.roles) and (site_id is None or u.home_site_id in (None, site_id))
    ]
    ref = reference(alert.id)
    messages = [
        outbox.Message(
            key=f"{ref}/{alert.alert_type}/{channel.value}/{u.id}",
            organization_id=alert.organization_id,
            reference=ref,
            event="OEE_ALERT",
            channel=channel,
            recipient=u,
            subject=f"[{alert.severity}] {rule.title}",
            body=alert.message,
        )
        for channel in rule.channels
        for u in users
    ]
    keys = outbox.enqueue(session, messages, set(deliverable))
    alert.notification_sent = bool(messages)
    return keys


def alert_state(a: PerformanceAlert) -> dict[str, Any]:
    def iso(v):
        return v.isoformat() if v else None

    return {
        "alert_type": a.alert_type,
        "severity": a.severity,
        "status": rules.status_of(a.acknowledged_at, a.action_at, a.resolved_at).value,
        "actual_value": a.actual_value,
        "threshold_value": a.threshold_value,
        "acknowledged_by": a.acknowledged_by,
        "acknowledged_at": iso(a.acknowledged_at),
        "action_notes": a.action_notes,
        "resolved_by": a.resolved_by,
        "resolved_at": iso(a.resolved_at),
    }


# -- where the data lands --


def evaluate_round(
    *, session: Session, taken_at: datetime, deliverable: set[Channel] = frozenset()
) -> list[str]:
    """After a snapshot round: every machine with snapshots in the last hour judged on
    them, and every shift that ended in the slot judged on its whole. Outbox keys out."""
    taken_at = bucket_end(taken_at)
    since = taken_at - rules.WINDOW
    rows = session.scalars(
        select(OeeSnapshot).where(OeeSnapshot.taken_at > since, OeeSnapshot.taken_at <= taken_at)
    ).all()
    by_machine: dict[int, dict[datetime, Tally]] = defaultdict(dict)
    for r in rows:
        by_machine[r.machine_id][r.taken_at] = Tally(*(getattr(r, c) for c in TALLY_COLUMNS))
    slots = [since + rules.SLOT * (i + 1) for i in range(int(rules.WINDOW / rules.SLOT))]
    keys: list[str] = []
    target_rows: dict[int, list[rules.TargetRow]] = {}
    for machine_id in sorted(by_machine):
        machine = session.get(Machine, machine_id)
        if machine is None or not machine.producing:
            continue
        org = machine.organization_id
        if org not in target_rows:
            target_rows[org] = _target_rows(session, org)
        targets = targets_for(
            session=session, machine=machine, on=taken_at.date(), rows=target_rows[org]
        )
        series = [by_machine[machine_id].get(s, Tally()) for s in slots]
        findings = rules.window_findings(series, targets)
        keys += apply(
            session=session,
            organization_id=org,
            machine=machine,
            findings=findings,
            reference_type="machine",
            reference_id=machine.id,
            now=taken_at,
            deliverable=deliverable,
        )
    keys += _shifts_ended(session, taken_at, deliverable)
    return keys


def _shifts_ended(session: Session, taken_at: datetime, deliverable) -> list[str]:
    slot = Interval(taken_at - rules.SLOT, taken_at)
    keys: list[str] = []
    sites = session.scalars(
        select(Site).where(Site.id.in_(select(Machine.site_id).where(Machine.producing)))
    ).all()
    for site in sites:
        ended = [
            w
            for w in site_shift_windows(session=session, site=site, period=slot)
            if slot.start < w.interval.end <= slot.end
        ]
        if not ended:
            continue
        machines = list(
            session.scalars(
                select(Machine)
                .where(Machine.site_id == site.id, Machine.producing)
                .order_by(Machine.id)
            )
        )
        names = dict(
            session.execute(
                select(Asset.id, Asset.asset_number).where(
                    Asset.id.in_([m.asset_id for m in machines])
                )
            ).all()
        )
        scope = oee.Scope(
            "site",
            site.code,
            machines,
            {site.id: site},
            {m.id: names[m.asset_id] for m in machines},
        )
        for w in ended:
            target = session.scalar(
                select(Shift.oee_target_pct).where(Shift.site_id == site.id, Shift.code == w.code)
            )
            facts = oee.load(session=session, scope=scope, period=w.interval)
            for m in machines:
                f = rules.shift_finding(facts.tally(m), target, w.code)
                if f is None or not f.met:
                    continue  # a shift is judged once, when it ends: nothing to clear
                key_ref = f"{m.id}:{w.code}:{w.day.isoformat()}"
                key = rules.dedupe_key(f.type, "shift", key_ref)
                keys += _raise(
                    session, m.organization_id, m, f, "shift", m.id, key, taken_at, deliverable
                )
    return keys


def downtime_overdue(
    *, session: Session, downtime_id: int, now: datetime, deliverable: set[Channel] = frozenset()
) -> list[str]:
    """A downtime's timer fired: if the stop is still open, the extended-downtime alert."""
    row = session.get(ProductionDowntime, downtime_id)
    if row is None or row.end_time is not None:
        return []
    f = rules.downtime_finding(row.start_time, now, row.reason_code)
    if not f.met:  # a start moved later since the timer began
        return []
    machine = session.get(Machine, row.machine_id)
    return apply(
        session=session,
        organization_id=row.organization_id,
        machine=machine,
        findings=[f],
        reference_type="downtime",
        reference_id=row.id,
        now=now,
        deliverable=deliverable,
    )


def downtime_ended(*, session: Session, row: ProductionDowntime) -> int:
    """A downtime that ended settles its extended-downtime alert, if one was raised."""
    key = rules.dedupe_key(AlertType.EXTENDED_DOWNTIME, "downtime", row.id)
    return settle(
        session=session,
        organization_id=row.organization_id,
        key=key,
        now=row.end_time or datetime.now(UTC),
        why=f"downtime ended after {row.duration_minutes} minutes",
    )


def evaluate_energy(*, session: Session, reading: EnergyReading) -> list[str]:
    """A reading against the machine's baseline over the time since its previous reading
    (an hour for the first): per unit made there, else per hour of it."""
    if reading.machine_id is None:
        return []
    machine = session.get(Machine, reading.machine_id)
    baseline = session.scalars(
        select(EnergyBaseline)
        .where(
            EnergyBaseline.machine_id == machine.id,
            EnergyBaseline.effective_date <= reading.reading_time.date(),
        )
        .order_by(EnergyBaseline.effective_date.desc())
        .limit(1)
    ).one_or_none()
    if baseline is None:
        return []
    previous = session.scalar(
        select(EnergyReading.reading_time)
        .where(
            EnergyReading.machine_id == machine.id,
            EnergyReading.id != reading.id,
            EnergyReading.reading_time < reading.reading_time,
            EnergyReading.reading_time >= reading.reading_time - timedelta(days=1),
        )
        .order_by(EnergyReading.reading_time.desc())
        .limit(1)
    )
    period = Interval(previous or reading.reading_time - timedelta(hours=1), reading.reading_time)
    units = session.scalar(
        select(func.coalesce(func.sum(ProductionCount.total), 0)).where(
            ProductionCount.machine_id == machine.id,
            ProductionCount.period_start >= period.start,
            ProductionCount.period_end <= period.end,
        )
    )
    vs = against_baseline(
        actual_kwh=reading.kwh,
        units=float(units or 0),
        run_hours=period.seconds / 3600,
        kwh_per_unit=baseline.kwh_per_unit,
        kwh_per_hour=baseline.kwh_per_hour,
    )
    f = rules.energy_finding(reading.kwh, vs.expected_kwh)
    if f is None:
        return []
    return apply(
        session=session,
        organization_id=machine.organization_id,
        machine=machine,
        findings=[f],
        reference_type="machine",
        reference_id=machine.id,
        now=reading.reading_time,
    )


# -- people's moves --


def move(
    *, session: Session, actor: Actor, alert_id: int, action: str, notes: str | None = None
) -> PerformanceAlert:
    """acknowledge, act (notes required) or resolve; audited with the person and role."""
    if action not in rules.MOVES:
        raise RuleViolation(f"action: one of {', '.join(rules.MOVES)}", field="action")
    if action == "act" and not (notes or "").strip():
        raise RuleViolation("notes: say what was done", field="notes")
    alert = session.scalars(
        select(PerformanceAlert)
        .where(
            PerformanceAlert.id == alert_id,
            PerformanceAlert.organization_id == actor.organization_id,
        )
        .with_for_update()
    ).one_or_none()
    if alert is None:
        raise NotFound(f"alert {alert_id} not found", field="alert_id")
    status = rules.status_of(alert.acknowledged_at, alert.action_at, alert.resolved_at)
    refusal = rules.move_refusal(status, action)
    if refusal is not None:
        kind, message, field = refusal
        raise Conflict(message, field=field)
    before = alert_state(alert)
    now = datetime.now(UTC)
    if alert.acknowledged_at is None:  # acting on or resolving an alert acknowledges it
        alert.acknowledged_at, alert.acknowledged_by = now, actor.full_name
    if action == "act":
        stamp = f"{now:%Y-%m-%d %H:%M} {actor.full_name}: {notes.strip()}"
        alert.action_notes = f"{alert.action_notes}\n{stamp}" if alert.action_notes else stamp
        alert.action_at, alert.action_by = now, actor.full_name
    elif action == "resolve":
        alert.resolved_at, alert.resolved_by = now, actor.full_name
        alert.resolution = (notes or "").strip() or "resolved"
    session.flush()
    record_change(
        session=session,
        actor=actor,
        entity_type=ENTITY,
        entity_id=str(alert.id),
        action={
            "acknowledge": "ALERT_ACKNOWLEDGED",
            "act": "ALERT_ACTION",
            "resolve": "ALERT_RESOLVED",
        }[action],
        before=before,
        after=alert_state(alert),
        reason=notes or action,
    )
    return alert


def list_alerts(
    *,
    session: Session,
    organization_id: int,
    active: bool = False,
    machine_ids: list[int] | None = None,
    limit: int = 200,
) -> list[PerformanceAlert]:
    query = select(PerformanceAlert).where(PerformanceAlert.organization_id == organization_id)
    if active:
        query = query.where(PerformanceAlert.resolved_at.is_(None))
    if machine_ids is not None:
        query = query.where(PerformanceAlert.machine_id.in_(machine_ids))
    return list(
        session.scalars(
            query.order_by(PerformanceAlert.triggered_at.desc(), PerformanceAlert.id.desc()).limit(
                limit
            )
        )
    )


def alert_out(session: Session, a: PerformanceAlert) -> dict[str, Any]:
    machine = session.get(Machine, a.machine_id) if a.machine_id else None
    return {
        "id": a.id,
        "reference": reference(a.id),
        "alert_type": a.alert_type,
        "severity": a.severity,
        "metric_name": a.metric_name,
        "threshold_value": a.threshold_value,
        "actual_value": a.actual_value,
        "machine": _machine_name(session, machine),
        "reference_type": a.reference_type,
        "reference_id": a.reference_id,
        "message": a.message,
        "triggered_at": a.triggered_at,
        "status": rules.status_of(a.acknowledged_at, a.action_at, a.resolved_at).value,
        "acknowledged_by": a.acknowledged_by,
        "acknowledged_at": a.acknowledged_at,
        "action_notes": a.action_notes,
        "action_at": a.action_at,
        "resolved_by": a.resolved_by,
        "resolved_at": a.resolved_at,
        "resolution": a.resolution,
        "notification_sent": a.notification_sent,
    }


def visible_machines(*, session: Session, actor: Actor) -> list[int] | None:
    """The machines whose alerts a person handles: all (None) for a full view of OEE, the
    machines of its own work centre for an operator."""
    if scope_for(actor.roles, Action.VIEW_OEE) is Scope.FULL:
        return None
    work_center = select(User.work_center_id).where(User.id == actor.user_id).scalar_subquery()
    return list(
        session.scalars(
            select(Machine.id)
            .join(Asset, Asset.id == Machine.asset_id)
            .where(
                Machine.organization_id == actor.organization_id,
                Asset.work_center_id == work_center,
            )
        )
    )


def alert_for(*, session: Session, actor: Actor, alert_id: int) -> PerformanceAlert:
    """An alert of the caller's organisation (and, for an operator, of its machines)."""
    alert = session.get(PerformanceAlert, alert_id)
    allowed = visible_machines(session=session, actor=actor)
    if (
        alert is None
        or alert.organization_id != actor.organization_id
        or (allowed is not None and alert.machine_id not in allowed)
    ):
        raise NotFound(f"alert {alert_id} not found", field="alert_id")
    return alert
