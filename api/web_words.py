"""What the pages print: times in the site's own zone (one format), plain words for the
codes of the rules, and role names as people say them."""

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo

from jinja2 import Undefined
from sqlalchemy import select

from domain.models import Asset, Site

TIME_FORMAT = "%d %b %Y %H:%M"
ROLE_WORDS = {
    "MAINT_ADMIN": "maintenance admin",
    "MAINT_MANAGER": "maintenance manager",
    "MAINT_PLANNER": "planner",
    "MAINT_TECH": "technician",
    "MAINT_SUPERVISOR": "maintenance supervisor",
    "OPERATOR": "operator",
    "EHS": "EHS",
    "QUALITY": "quality",
    "FIELD_TECHNICIAN": "field technician",
    "SENIOR_TECHNICIAN": "senior technician",
    "AUDITOR": "auditor",
    "OPERATIONS_MANAGER": "operations manager",
    "SYSTEM": "plantops",
    "NONE": "",
}
# Codes the rules use, as a person reads them; anything else is de-capitalised.
WORDS = {
    "NOT_STARTING": "will not start",
    "BEFORE_PHOTO": "photo before",
    "AFTER_PHOTO": "photo after",
    "PHOTO_BEFORE": "photo before",
    "PHOTO_AFTER": "photo after",
    "LOTO": "lockout/tagout",
    "HOT_WORK": "hot work",
    "CONFINED_SPACE": "confined space",
    "PM": "preventive",
    "REX": "lessons learned (REX)",
    "REX_REVIEW": "REX peer review",
    "IN_SERVICE": "in service",
    "OUT_OF_SERVICE": "out of service",
    "PENDING_RETURN": "waiting to return",
    "SAFETY_HOLD": "safety hold",
    "QUALITY_HOLD": "quality hold",
    "G1": "G1 critical",
    "G2": "G2 high",
    "G3": "G3 medium",
    "G4": "G4 low",
    "MOBILE": "phone",
    "SAFETY_RELATED": "safety related",
}


def word(code) -> str:
    """A code of the rules (an enum or its value) in plain words."""
    if code is None or isinstance(code, Undefined):
        return "—"
    if isinstance(code, bool):
        return "yes" if code else "no"
    text = str(getattr(code, "value", code))
    if text in WORDS:
        return WORDS[text]
    if text.isupper() or "_" in text:
        return text.replace("_", " ").lower()
    return text


def role_words(roles) -> str:
    if isinstance(roles, str):
        roles = [roles]
    return ", ".join(ROLE_WORDS.get(r, word(r)) for r in roles)


def either(names: list[str]) -> str:
    """'a', 'a or b', 'a, b or c'."""
    names = list(dict.fromkeys(names))
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


@cache
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def as_datetime(value) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def site_time(value, zone: str | None, *, utc: bool = False) -> str:
    """One format everywhere: '01 Dec 2026 08:40 CST', in the record's site zone; with utc,
    followed by the same instant in UTC (the audit log)."""
    when = as_datetime(value)
    if when is None:
        return "—"
    local = when.astimezone(_zone(zone or "UTC"))
    text = f"{local.strftime(TIME_FORMAT)} {local.tzname()}"
    if utc and (zone or "UTC") != "UTC":
        text += f" ({when.astimezone(UTC).strftime(TIME_FORMAT)} UTC)"
    return text


def local_input(value, zone: str | None) -> str:
    """A datetime-local field's value, in the site's zone."""
    when = as_datetime(value)
    return when.astimezone(_zone(zone or "UTC")).strftime("%Y-%m-%dT%H:%M") if when else ""


def from_local_input(value: str, zone: str | None) -> datetime:
    """A datetime-local field read in the site's zone (an explicit offset wins)."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=_zone(zone or "UTC"))


def site_zones(session, organization_id: int) -> dict[int, str]:
    """site id -> its time zone, for pages listing records of several sites."""
    rows = session.execute(
        select(Site.id, Site.timezone).where(Site.organization_id == organization_id)
    ).all()
    return {site_id: zone for site_id, zone in rows}


def asset_zone(session, asset_id: int | None) -> str:
    if asset_id is None:
        return "UTC"
    zone = session.execute(
        select(Site.timezone).join(Asset, Asset.site_id == Site.id).where(Asset.id == asset_id)
    ).scalar()
    return zone or "UTC"


def home_zone(session, user_id: int | None) -> str:
    from domain.models import User

    if user_id is None:
        return "UTC"
    zone = session.execute(
        select(Site.timezone).join(User, User.home_site_id == Site.id).where(User.id == user_id)
    ).scalar()
    return zone or "UTC"
