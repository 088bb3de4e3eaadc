"""The downtime reason catalogue: seed 003 E.3's codes in seed 002's categories, and the
category of a maintenance downtime that names a code outside the catalogue."""

from dataclasses import dataclass

from domain.rules.oee import CATEGORIES

SEVERITIES = ("low", "medium", "high")


@dataclass(frozen=True)
class Reason:
    code: str
    category: str
    description: str
    planned: bool = False
    color: str = "#888888"


DEFAULT_REASONS: tuple[Reason, ...] = (
    Reason("BD-MECH", "breakdown", "Mechanical failure (bearing, gear, shaft)", color="#c0392b"),
    Reason("BD-ELEC", "breakdown", "Electrical failure (motor, control, wiring)", color="#e74c3c"),
    Reason("BD-HYDR", "breakdown", "Hydraulic failure (pump, valve, cylinder)", color="#d35400"),
    Reason("BD-PNEU", "breakdown", "Pneumatic failure (air system, cylinder)", color="#e67e22"),
    Reason("BD-TOOL", "breakdown", "Tooling failure (blade, die, fixture)", color="#f39c12"),
    Reason("PM-SCHED", "other", "Scheduled preventive maintenance", True, "#2980b9"),
    Reason("PM-METER", "other", "Meter-based preventive maintenance", True, "#3498db"),
    Reason("SU-CHNG", "changeover", "Product changeover", True, "#8e44ad"),
    Reason("SU-TOOL", "changeover", "Tool change (blade, die)", True, "#9b59b6"),
    Reason("CL-SAN", "cleaning", "Cleaning and sanitation", True, "#16a085"),
    Reason("QL-HOLD", "quality", "Quality hold (NCR, SPC violation)", color="#27ae60"),
    Reason("SF-HOLD", "other", "Safety hold (stop-work, incident)", color="#7f8c8d"),
    Reason("OP-NONE", "operator", "No operator (break, absent)", color="#95a5a6"),
    Reason("MT-WAIT", "material", "Waiting for material", color="#2c3e50"),
    Reason("UT-POWER", "utility", "Utility outage (power, air, water, steam)", color="#34495e"),
    Reason("OTHER", "other", "Other", color="#bdc3c7"),
)

# The maintenance downtime types of seed 003 E.2 in seed 002's categories.
CATEGORY_OF_TYPE = {
    "BREAKDOWN": "breakdown",
    "PM": "other",
    "SETUP_CHANGEOVER": "changeover",
    "NO_OPERATOR": "operator",
    "NO_MATERIAL": "material",
    "QUALITY_HOLD": "quality",
    "SAFETY_HOLD": "other",
    "OTHER": "other",
}

assert all(r.category in CATEGORIES for r in DEFAULT_REASONS)


def category_for(reason_code: str, downtime_type: str, catalogue: dict[str, str]) -> str:
    """A maintenance downtime's category: its code's in the catalogue, else its type's."""
    return catalogue.get(reason_code) or CATEGORY_OF_TYPE.get(downtime_type, "other")
