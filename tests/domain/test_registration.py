"""Smart registration: one record from any channel, refusals by field, gapless references."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
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
