"""The anomaly KPIs on real data: populations that can fail, the REX backlog, and
recomputation by concurrent closures."""

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from domain.db import transaction
from domain.models import Anomaly, AuditLog, KpiValue, Rex
from domain.services import kpis as kpi_service
from tests.anomaly_helpers import actor, register
from tests.api.test_web import _login

NOW = datetime.now(UTC)
DAY = timedelta(days=1)


def _anomaly(sessions, *, status, assigned, escalated=False, approved=None, rex=None, closed=None):
    """An anomaly of the demo site JKS with the given history; rex is (status, approved_at)."""
    ref = register(sessions)
    who = actor(sessions, "supervisor")
    with transaction(sessions) as s:
        a = s.scalars(select(Anomaly).where(Anomaly.reference == ref)).one()
        a.status, a.escalated, a.approved_at, a.closed_at = status, escalated, approved, closed
        a.registered_at = a.detected_at = assigned - timedelta(minutes=1)
        a.resolved_at = approved - timedelta(hours=2) if approved else None
        s.add(
            AuditLog(
                organization_id=a.organization_id,
                entity_type="ANOMALY",
                entity_id=ref,
                action="ASSIGNED",
                user_name="plantops workflow",
                user_role="SYSTEM",
                occurred_at=assigned,
            )
        )
        if rex:
            s.add(
                Rex(
                    organization_id=a.organization_id,
                    anomaly_id=a.id,
                    asset_type_code="SAW",
                    title=a.title,
                    root_cause_analysis="flange bolts worked loose",
                    lessons_learned="check torque",
                    preventive_actions="weekly torque check",
                    best_practices="thread locker",
                    training_needs="torque refresher",
                    author_name=who.full_name,
                    status=rex[0],
                    approved_at=rex[1],
                )
            )
    return ref


def _history(sessions) -> None:
    # Closed, REX approved one day after the resolution's approval: on time.
    _anomaly(
        sessions,
        status="CLOSED",
        assigned=NOW - 6 * DAY,
        approved=NOW - 5 * DAY,
        rex=("APPROVED", NOW - 4 * DAY),
        closed=NOW - 4 * DAY,
    )
    # Closed, escalated, REX approved ten days after: late.
    _anomaly(
        sessions,
        status="CLOSED",
        assigned=NOW - 21 * DAY,
        escalated=True,
        approved=NOW - 20 * DAY,
        rex=("APPROVED", NOW - 10 * DAY),
        closed=NOW - 10 * DAY,
    )
    # Approved nine days ago, no REX yet: overdue.
    _anomaly(sessions, status="REX", assigned=NOW - 10 * DAY, approved=NOW - 9 * DAY)
    # Approved yesterday, REX submitted, not reviewed: due.
    _anomaly(
        sessions,
        status="REX_REVIEW",
        assigned=NOW - 2 * DAY,
        approved=NOW - DAY,
        rex=("SUBMITTED", None),
    )
    # Still waiting for acceptance after an escalation.
    _anomaly(sessions, status="ESCALATED", assigned=NOW - DAY, escalated=True)


async def test_kpis_count_every_approved_resolution_and_every_assignment(
    client, sessions, token_for
):
    _history(sessions)
    org = actor(sessions, "supervisor").organization_id
    with transaction(sessions) as s:
        kpi_service.recompute(s, org, "JKS", NOW)
    answer = (await client.get("/api/v1/anomalies/kpis", headers=token_for("supervisor"))).json()
    jks = answer["kpis"]["JKS"]
    # Closed anomalies alone would say 100 % and 50 %.
    assert jks["rex_completion_rate"]["value"] == 25.0
    assert jks["rex_completion_rate"]["sample_size"] == 4
    assert jks["escalation_rate"]["value"] == 40.0
    assert jks["escalation_rate"]["sample_size"] == 5
    assert answer["rex_backlog"]["JKS"] == {"due": 2, "overdue": 1}
    assert answer["rex_backlog"]["ALL"] == {"due": 2, "overdue": 1}
    assert answer["rex_due_days"] == 7

    await _login(client, "supervisor")
    page = (await client.get("/kpis")).text
    assert 'id="rex-backlog"' in page and "rex completion rate" in page
    assert "<td>JKS</td><td>2</td>" in page and "25.0 %" in page


def test_concurrent_closures_recompute_without_colliding(sessions):
    _history(sessions)
    org = actor(sessions, "supervisor").organization_id
    rounds, writers = 5, 6
    errors: list[BaseException] = []

    def close(barrier: threading.Barrier) -> None:
        try:
            barrier.wait()
            with transaction(sessions) as s:
                kpi_service.recompute(s, org, "JKS", datetime.now(UTC))
        except BaseException as err:  # collected: a thread's exception is otherwise lost
            errors.append(err)

    for _ in range(rounds):
        barrier = threading.Barrier(writers)
        threads = [threading.Thread(target=close, args=(barrier,)) for _ in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, errors[0]
    with sessions() as s:
        rows = s.scalars(select(KpiValue).where(KpiValue.organization_id == org)).all()
    assert len(rows) == 2 * 8  # the site's and the enterprise's, once each


def test_closures_arriving_together_recompute_once(sessions, engine):
    """Three closures ask while a recompute holds the lock: the first to get it recomputes
    (reading all three), the two others find that recompute began after they asked and
    keep its values. A closure asking after it recomputes again."""
    from sqlalchemy import event, text

    _history(sessions)
    org = actor(sessions, "supervisor").organization_id
    upserts: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO anomaly_kpis"):
            upserts.append(statement)

    release, held = threading.Event(), threading.Event()

    def holder() -> None:
        with transaction(sessions) as s:
            kpi_service._lock(s, org)
            held.set()
            release.wait(20)

    answers: list[dict] = []

    def close() -> None:
        with transaction(sessions) as s:
            answers.append(kpi_service.refresh(s, org, "JKS"))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        threading.Thread(target=holder).start()
        assert held.wait(10)
        closers = [threading.Thread(target=close) for _ in range(3)]
        for t in closers:
            t.start()
        waiting = 0
        for _ in range(200):  # every closer asked and waits for the lock
            with sessions() as s:
                waiting = s.scalar(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                        " AND database = (SELECT oid FROM pg_database"
                        " WHERE datname = current_database())"
                    )
                )
            if waiting == 3:
                break
            threading.Event().wait(0.05)
        assert waiting == 3
        release.set()
        for t in closers:
            t.join(20)
        assert len(answers) == 3 and answers[0] == answers[1] == answers[2]
        assert len(upserts) == 2  # one recompute: the site's row set and the enterprise's
        close()  # asked after that recompute: recomputes
        assert len(upserts) == 4
    finally:
        release.set()
        event.remove(engine, "before_cursor_execute", seen)
