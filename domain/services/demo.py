"""Loading the demo enterprise. Only what is missing is inserted, so a second run adds
nothing and never overwrites what users changed."""

from datetime import date, time

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from domain import demo_data as data
from domain.actor import system_actor
from domain.db import transaction
from domain.models import (
    Area,
    Asset,
    AssetComponent,
    AssetType,
    Certification,
    Meter,
    Organization,
    ShiftPattern,
    Site,
    SiteClearance,
    Skill,
    User,
    UserSkill,
    WorkCenter,
)
from domain.passwords import hash_password
from domain.rules.asset_status import AssetStatus
from domain.services.audit import record_change
from domain.services.pm_demo import load_pm_demo


def _get_or_add(session: Session, model, keys: dict, values: dict, counter: dict):
    row = session.scalars(select(model).filter_by(**keys)).one_or_none()
    if row is None:
        row = model(**keys, **values)
        session.add(row)
        session.flush()
        counter[model.__tablename__] = counter.get(model.__tablename__, 0) + 1
    return row


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def load_demo(sessions: sessionmaker[Session]) -> str:
    added: dict[str, int] = {}
    with transaction(sessions) as s:
        # One loader at a time: two concurrent runs would otherwise both insert.
        s.execute(text("SELECT pg_advisory_xact_lock(4242)"))
        for enterprise in data.ENTERPRISES:
            _load_enterprise(s, enterprise, added)
        first = s.scalars(select(Organization).filter_by(code=data.ORGANIZATION["code"])).one()
        load_pm_demo(s, first.id, added)
    if not added:
        return "demo already loaded: nothing to add"
    return "demo loaded: " + ", ".join(f"{n} {k}" for k, n in sorted(added.items()))


def _load_enterprise(s: Session, e: dict, added: dict[str, int]) -> None:
    org = _get_or_add(
        s,
        Organization,
        {"code": e["organization"]["code"]},
        {"name": e["organization"]["name"]},
        added,
    )
    actor = system_actor(org.id, "demo")
    o = {"organization_id": org.id}
    skills = {
        sk["code"]: _get_or_add(s, Skill, {**o, "code": sk["code"]}, {"name": sk["name"]}, added)
        for sk in e["skills"]
    }
    types = {
        t["code"]: _get_or_add(
            s,
            AssetType,
            {**o, "code": t["code"]},
            {k: v for k, v in t.items() if k != "code"},
            added,
        )
        for t in e["asset_types"]
    }
    sites, areas, centres = {}, {}, {}
    for st in e["sites"]:
        site = _get_or_add(
            s,
            Site,
            {**o, "code": st["code"]},
            {k: st[k] for k in ("name", "kind", "timezone", "address", "latitude", "longitude")},
            added,
        )
        sites[st["code"]] = site
        for ar in st["areas"]:
            area = _get_or_add(
                s,
                Area,
                {**o, "site_id": site.id, "code": ar["code"]},
                {"name": ar["name"]},
                added,
            )
            areas[(st["code"], ar["code"])] = area
            for wc in ar["work_centers"]:
                centres[wc["code"]] = _get_or_add(
                    s,
                    WorkCenter,
                    {**o, "area_id": area.id, "code": wc["code"]},
                    {"name": wc["name"]},
                    added,
                )
    assets: dict[str, Asset] = {}
    for a in e["assets"]:
        existing = s.scalars(
            select(Asset).filter_by(organization_id=org.id, asset_number=a["asset_number"])
        ).one_or_none()
        if existing is not None:
            assets[a["asset_number"]] = existing
            continue
        asset = Asset(
            **o,
            asset_number=a["asset_number"],
            name=a["name"],
            description=a.get("description"),
            type_id=types[a["type"]].id,
            criticality=a["criticality"],
            site_id=sites[a["site"]].id,
            area_id=areas[(a["site"], a["area"])].id,
            work_center_id=centres[a["work_center"]].id,
            parent_asset_id=assets[a["parent"]].id if a.get("parent") else None,
            manufacturer=a.get("manufacturer"),
            model=a.get("model"),
            serial_number=a.get("serial_number"),
            production_loss_per_hour=a.get("production_loss_per_hour"),
            latitude=a.get("latitude"),
            longitude=a.get("longitude"),
            requires_certification=a.get("requires_certification", False),
            certification_expiry=_d(a.get("certification_expiry")),
            status=AssetStatus.IN_SERVICE,
        )
        s.add(asset)
        s.flush()
        assets[a["asset_number"]] = asset
        added["assets"] = added.get("assets", 0) + 1
        for m in a.get("meters", []):
            s.add(
                Meter(
                    **o,
                    asset_id=asset.id,
                    meter_type=m["meter_type"],
                    unit=m["unit"],
                    current_reading=m.get("reading"),
                )
            )
        for c in a.get("components", []):
            s.add(AssetComponent(**o, asset_id=asset.id, **c))
        record_change(
            session=s,
            actor=actor,
            entity_type="ASSET",
            entity_id=asset.asset_number,
            action="CREATE",
            before=None,
            after={"status": "IN_SERVICE", "name": asset.name},
            reason="demo data",
        )
    shifts = {}
    for sh in e["shift_patterns"]:
        site = sites[sh["site"]]
        shifts[(sh["site"], sh["code"])] = _get_or_add(
            s,
            ShiftPattern,
            {**o, "site_id": site.id, "code": sh["code"]},
            {
                "name": sh["name"],
                "starts_at": time.fromisoformat(sh["starts_at"]),
                "ends_at": time.fromisoformat(sh["ends_at"]),
                "weekdays": sh["weekdays"],
            },
            added,
        )
    demo_hash = None
    for u in e["users"]:
        if s.scalars(select(User.id).filter_by(username=u["username"])).first():
            continue
        demo_hash = demo_hash or hash_password(data.DEMO_PASSWORD)
        location = u.get("location")
        user = User(
            **o,
            username=u["username"],
            full_name=u["full_name"],
            email=u.get("email"),
            phone=u.get("phone"),
            password_hash=demo_hash,
            roles=list(u["roles"]),
            home_site_id=sites[u["home_site"]].id,
            work_center_id=centres[u["work_center"]].id if u.get("work_center") else None,
            shift_pattern_id=shifts[(u["home_site"], u["shift"])].id if u.get("shift") else None,
            last_latitude=location[0] if location else None,
            last_longitude=location[1] if location else None,
        )
        user.skills = [
            UserSkill(skill_id=skills[code].id, level=level)
            for code, level in u.get("skills", {}).items()
        ]
        user.certifications = [
            Certification(
                **o,
                code=c["code"],
                name=c["name"],
                issued_on=_d(c["issued_on"]),
                expires_on=_d(c.get("expires_on")),
            )
            for c in u.get("certifications", [])
        ]
        user.clearances = [
            SiteClearance(site_id=sites[code].id, granted_on=date(2026, 1, 5))
            for code in u.get("clearances", [])
        ]
        s.add(user)
        added["users"] = added.get("users", 0) + 1
