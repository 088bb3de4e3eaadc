"""The demo's PM programme (seed 003 D.1 and L.1, seed 004 examples) on the first
organisation's JKS site: a daily forklift inspection, a 500-hour saw blade inspection,
an annual-or-2,000-hour crane inspection and monthly lubrication, with the last PM of each
set so that some are due, one is overdue and blocks its asset, and the rest come later.
Their workflows start with the worker (workers/pm_start.py)."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.actor import system_actor
from domain.models import Asset, AssetType, Meter, PmSchedule, PmTemplate
from domain.rules import pm as rules
from domain.services import pm_schedules

INSPECT = [
    {"sequence": 1, "description": "Walk-around: leaks, damage, tyres", "requires_photo": True},
    {"sequence": 2, "description": "Test brakes, horn, lights and alarm"},
    {
        "sequence": 3,
        "description": "Check forks for cracks and wear",
        "requires_measurement": True,
        "measurement_unit": "mm",
        "measurement_spec": "0-5 mm",
    },
]
TEMPLATES = [
    {
        "code": "FL-DAILY-INSP",
        "name": "Daily forklift inspection",
        "type": "FORKLIFT",
        "schedule_type": "TIME_BASED",
        "interval_days": 1,
        "estimated_hours": 0.25,
        "required_skills": ["MECH"],
        "tasks": INSPECT,
        "is_regulatory": True,
        "regulatory_reference": "OSHA 1910.178(q)(7)",
    },
    {
        "code": "SAW-BLADE-500H",
        "name": "Saw blade inspection",
        "type": "SAW",
        "schedule_type": "METER_BASED",
        "interval_hours": 500,
        "estimated_hours": 1.0,
        "required_skills": ["MECH"],
        "required_permits": ["LOTO"],
        "tasks": [
            {"sequence": 1, "description": "Inspect blade teeth and tension"},
            {
                "sequence": 2,
                "description": "Measure blade runout",
                "requires_measurement": True,
                "measurement_unit": "mm",
                "measurement_spec": "0-0.2 mm",
            },
        ],
    },
    {
        "code": "CRANE-ANNUAL-2000H",
        "name": "Annual crane inspection (or 2,000 hours)",
        "type": "CRANE",
        "schedule_type": "HYBRID",
        "interval_days": 365,
        "interval_hours": 2000,
        "estimated_hours": 6.0,
        "required_skills": ["RIGGING"],
        "required_permits": ["LOTO"],
        "tasks": [
            {"sequence": 1, "description": "Inspect hoist rope and hook", "requires_photo": True},
            {
                "sequence": 2,
                "description": "Load test at rated capacity",
                "requires_signature": True,
            },
        ],
        "is_regulatory": True,
        "regulatory_reference": "OSHA 1910.179 / ASME B30.2",
    },
    {
        "code": "COMP-LUBE-M",
        "name": "Monthly compressor lubrication",
        "type": "COMPRESSOR",
        "schedule_type": "TIME_BASED",
        "interval_days": 30,
        "estimated_hours": 0.5,
        "required_skills": ["LUBE"],
        "tasks": [
            {"sequence": 1, "description": "Grease motor bearings"},
            {"sequence": 2, "description": "Check oil level and top up"},
        ],
    },
    {
        "code": "HVAC-LUBE-M",
        "name": "Monthly air handler lubrication",
        "type": "HVAC",
        "schedule_type": "TIME_BASED",
        "interval_days": 30,
        "estimated_hours": 0.5,
        "required_skills": ["LUBE"],
        "tasks": [
            {"sequence": 1, "description": "Grease fan bearings"},
            {"sequence": 2, "description": "Check belt tension"},
        ],
    },
]
# (template, asset, last PM this long ago, meter at the last PM, overdue action)
SCHEDULES = [
    ("FL-DAILY-INSP", "FORKLIFT-JKS-001", timedelta(hours=20), None, "ALERT"),
    ("FL-DAILY-INSP", "FORKLIFT-JKS-002", timedelta(hours=30), None, "ESCALATE"),  # overdue
    ("FL-DAILY-INSP", "FORKLIFT-JKS-003", timedelta(hours=20), None, "ALERT"),
    ("SAW-BLADE-500H", "SAW-JKS-001", timedelta(days=40), 12100.0, "ALERT"),  # 120 h to go
    ("SAW-BLADE-500H", "SAW-JKS-002", timedelta(days=60), 7600.0, "ALERT"),  # due by meter
    ("CRANE-ANNUAL-2000H", "CRANE-JKS-001", timedelta(days=240), 2410.0, "ESCALATE"),
    ("COMP-LUBE-M", "COMP-JKS-001", timedelta(days=20), None, "ALERT"),  # due in 10 days
    ("HVAC-LUBE-M", "HVAC-JKS-001", timedelta(days=50), None, "BLOCK"),  # 20 days overdue
]


def load_pm_demo(
    s: Session, organization_id: int, added: dict[str, int], now: datetime | None = None
) -> None:
    now = now or datetime.now(UTC)
    loader = system_actor(organization_id, "demo load")
    templates: dict[str, PmTemplate] = {}
    for t in TEMPLATES:
        found = s.scalars(
            select(PmTemplate).filter_by(organization_id=organization_id, code=t["code"])
        ).first()
        if found is None:
            kind = s.scalars(
                select(AssetType).filter_by(organization_id=organization_id, code=t["type"])
            ).one()
            found = PmTemplate(
                organization_id=organization_id,
                code=t["code"],
                version=1,
                is_current=True,
                name=t["name"],
                asset_type_id=kind.id,
                applicable_assets=[],
                schedule_type=t["schedule_type"],
                interval_days=t.get("interval_days"),
                interval_hours=t.get("interval_hours"),
                estimated_hours=t["estimated_hours"],
                required_skills=t["required_skills"],
                required_competencies=[],
                required_permits=t.get("required_permits", []),
                tasks=t["tasks"],
                parts=[],
                is_regulatory=t.get("is_regulatory", False),
                regulatory_reference=t.get("regulatory_reference"),
                is_active=True,
                created_by=loader.full_name,
            )
            s.add(found)
            s.flush()
            added["pm_templates"] = added.get("pm_templates", 0) + 1
        templates[t["code"]] = found
    for code, number, ago, reading, action in SCHEDULES:
        template = templates[code]
        asset = s.scalars(
            select(Asset).filter_by(organization_id=organization_id, asset_number=number)
        ).one()
        if s.scalar(select(PmSchedule.id).filter_by(asset_id=asset.id, template_code=code)):
            continue
        kind = rules.ScheduleType(template.schedule_type)
        last = now - ago
        interval = rules.Interval(kind, template.interval_days, template.interval_hours)
        meter = None
        if kind in rules.USES_METER:
            meter = s.scalars(select(Meter).filter_by(asset_id=asset.id, meter_type="HOURS")).one()
        s.add(
            PmSchedule(
                organization_id=organization_id,
                asset_id=asset.id,
                template_code=code,
                name=template.name,
                code=f"{code}@{number}",
                template_id=template.id,
                schedule_type=kind.value,
                interval_days=template.interval_days,
                interval_hours=template.interval_hours,
                anchor="FLOATING",
                meter_type="HOURS" if meter else None,
                last_executed_at=last,
                last_meter_reading=reading,
                next_due_date=rules.next_due_date(interval, completed_at=last, last_due=None),
                next_due_meter=rules.next_due_meter(interval, reading_at_completion=reading),
                alert_days_before=0 if template.interval_days == 1 else 7,
                alert_hours_before=50.0,
                overdue_threshold_days=14,
                overdue_action=action,
                overdue_told={},
                cycles=0,
                last_step=0,
            )
        )
        added["pm_schedules"] = added.get("pm_schedules", 0) + 1
    s.flush()
    # Seed 003 C.1: every certificate on record is watched by its inspection schedule.
    certified = select(Asset).filter_by(
        organization_id=organization_id, requires_certification=True
    )
    for asset in s.scalars(certified).all():
        watched = select(PmSchedule.id).filter_by(
            asset_id=asset.id, template_code=rules.CERTIFICATION
        )
        if asset.certification_expiry is None or s.scalar(watched):
            continue
        pm_schedules.certification_schedule(session=s, actor=loader, asset=asset)
        added["pm_schedules"] = added.get("pm_schedules", 0) + 1
