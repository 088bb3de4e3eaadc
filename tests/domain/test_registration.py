"""Smart registration: one record from any channel, refusals by field, gapless references."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from domain.db import transaction
from domain.errors import NotFound, RuleViolation
from domain.models import Anomaly, AuditLog
from domain.schemas.anomalies import AnomalyReport
from domain.services import anomalies as service
from tests.anomaly_helpers import actor

REPORT = {
    "asset": "pp-st-001",
    "title": "Vibration on bearing 2",
    "description": "Bearing 2 vibration rose from 3 to 7 mm/s over the last hour.",
    "channel": "MOBILE",
    "latitude": 58.9363,
    "longitude": 5.5838,
}


def test_registration_standardises_and_enriches(sessions):
    now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    with transaction(sessions) as s:
        a = service.register(
            session=s,
            actor=actor(sessions, "fieldtech"),
            report=AnomalyReport(**REPORT, detected_at=now - timedelta(minutes=3)),
            now=now,
        )
        ref = a.reference
    assert ref == "ANO-2026-000001"
    with sessions() as s:
        a = s.scalars(select(Anomaly).where(Anomaly.reference == ref)).one()
        e = a.enrichment
        assert e["asset_number"] == "PP-ST-001" and e["asset_criticality"] == "A"
        assert e["site_code"] == "PP-NORTH" and e["asset_type"] == "STEAM_TURBINE"
        assert e["safety_protocols"] and "recent_anomalies" in e and "recent_work" in e
        assert a.detected_at == now - timedelta(minutes=3) and a.registered_at == now
        assert a.reporter_name == "Youssef El Amrani" and a.channel == "MOBILE"
        assert a.factors["production_loss_per_hour"] == 42000  # from the asset
        audit = s.scalars(select(AuditLog).where(AuditLog.entity_id == ref)).one()
        assert audit.action == "REGISTERED" and audit.user_role == "FIELD_TECHNICIAN"


def test_second_anomaly_sees_the_first_in_its_history(sessions):
    who = actor(sessions, "fieldtech")
    for _ in range(2):
        with transaction(sessions) as s:
            a = service.register(session=s, actor=who, report=AnomalyReport(**REPORT))
    assert a.enrichment["recent_anomalies"][0]["reference"].endswith("000001")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"description": "short"}, "description"),
        ({"latitude": 95.0}, "latitude"),
        ({"longitude": None}, None),  # latitude without longitude
        ({"channel": "FAX"}, "channel"),
        ({"detected_at": "2026-11-26T08:00:00"}, "detected_at"),
    ],
)
def test_invalid_fields_are_named(change, field):
    with pytest.raises(ValidationError) as err:
        AnomalyReport(**{**REPORT, **change})
    if field:
        assert err.value.errors()[0]["loc"][0] == field


def test_unknown_asset_and_future_detection_are_refused(sessions):
    who = actor(sessions, "fieldtech")
    with pytest.raises(NotFound) as err, transaction(sessions) as s:
        service.register(session=s, actor=who, report=AnomalyReport(**{**REPORT, "asset": "X"}))
    assert err.value.field == "asset"
    future = datetime.now(UTC) + timedelta(hours=1)
    with pytest.raises(RuleViolation) as err, transaction(sessions) as s:
        service.register(session=s, actor=who, report=AnomalyReport(**REPORT, detected_at=future))
    assert err.value.field == "detected_at"
    with sessions() as s:
        assert s.scalars(select(Anomaly)).all() == []  # nothing half-written


def test_fifty_concurrent_registrations_get_fifty_gapless_references(sessions):
    who = actor(sessions, "fieldtech")

    def one(i: int) -> str:
        with transaction(sessions) as s:
            report = AnomalyReport(**{**REPORT, "title": f"concurrent report {i}"})
            return service.register(session=s, actor=who, report=report).reference

    with pytest.raises(NotFound), transaction(sessions) as s:  # a rollback hands its number back
        service.next_reference(s, datetime.now(UTC).year)
        raise NotFound("abandoned")
    with ThreadPoolExecutor(max_workers=16) as pool:
        refs = list(pool.map(one, range(50)))
    year = datetime.now(UTC).year
    assert len(set(refs)) == 50
    assert sorted(refs) == [f"ANO-{year}-{n:06d}" for n in range(1, 51)]


def _registered(s, refs: list[str]) -> list[tuple]:
    """What registration wrote for these references, without ids and server times."""
    rows = []
    for ref in refs:
        a = s.scalars(select(Anomaly).where(Anomaly.reference == ref)).one()
        audit = s.scalars(select(AuditLog).where(AuditLog.entity_id == ref)).one()
        columns = {
            k: getattr(a, k)
            for k in (c.key for c in sa_inspect(Anomaly).column_attrs)
            if k not in ("id", "created_at", "updated_at")  # the server's
        }
        rows.append(
            (
                columns,
                [(p.filename, p.size, p.kind, p.caption) for p in a.attachments],
                (audit.action, audit.user_name, audit.user_role, audit.previous_state,
                 audit.new_state, audit.changed_fields, audit.reason),
            )
        )  # fmt: skip
    return rows


def test_a_batch_registers_as_one_by_one_would(sessions):
    """Same references, enrichment (the batch's earlier rows in a later one's history, past
    180 days left out) and audit rows; a refused report keeps its error and its place."""
    now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    who = actor(sessions, "planner")
    with transaction(sessions) as s:  # history already there
        for minutes in (50, 40):
            report = AnomalyReport(**REPORT, detected_at=now - timedelta(minutes=minutes))
            service.register(session=s, actor=who, report=report, now=now)
    photo = {"filename": "b.png", "content_type": "image/png", "data_base64": "iVBORw0K"}
    spec = [
        ("PP-ST-001", 45, {}),
        ("PP-ST-001", 45, {}),  # same moment: the newer one first
        ("NOPE-1", 5, {}),  # unknown asset: refused, no reference taken
        ("SAW-JKS-001", 200 * 24 * 60, {}),  # older than 180 days: in nobody's history
        ("SAW-JKS-001", 30, {"photos": [photo]}),
        ("PP-ST-001", -60, {}),  # detected in the future: refused
        ("PP-ST-001", 1, {"occurred_at": now - timedelta(hours=2)}),
        ("saw-jks-001", 2, {}),
        ("PP-ST-001", 3, {}),
        ("PP-ST-001", 20, {}),
        ("PP-ST-001", 10, {}),
    ]
    reports = [
        AnomalyReport(**{**REPORT, "asset": asset, "title": f"Row {i}", **extra},
                      detected_at=now - timedelta(minutes=minutes))
        for i, (asset, minutes, extra) in enumerate(spec)
    ]  # fmt: skip
    # One by one, then rolled back (the counter hands its numbers back)...
    single, errors = [], []
    with sessions() as s:
        for report in reports:
            try:
                single.append(service.register(session=s, actor=who, report=report, now=now))
            except (NotFound, RuleViolation) as err:
                errors.append((err.field, err.message))
        expected = _registered(s, [a.reference for a in single])
        s.rollback()
    # ...and as one batch, committed.
    with transaction(sessions) as s:
        results = service.register_many(session=s, actor=who, reports=reports, now=now)
    refused = [(r.field, r.message) for r in results if not isinstance(r, Anomaly)]
    assert (
        refused
        == errors
        == [
            ("asset", "asset NOPE-1 not found"),
            ("detected_at", "detected_at cannot be in the future"),
        ]
    )
    assert [type(r) for r in results][2] is NotFound and isinstance(results[5], RuleViolation)
    refs = [r.reference for r in results if isinstance(r, Anomaly)]
    assert refs == [f"ANO-2026-{n:06d}" for n in range(3, 12)]
    with sessions() as s:
        assert _registered(s, refs) == expected
        history = [x["title"] for x in expected[-1][0]["enrichment"]["recent_anomalies"]]
    # The last row sees the five newest on its asset, the batch's and the earlier ones,
    # newest first (of two at one moment, the later registered).
    assert history == ["Row 6", "Row 8", "Row 9", REPORT["title"], "Row 1"]
