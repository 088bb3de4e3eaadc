"""Smart assignment (seed 000 phase 5): one score per technician, with its reasons."""

from dataclasses import dataclass
from math import asin, cos, radians, sin, sqrt

# Weights of the combined score, out of 100.
SKILL, CERTIFICATION, DISTANCE, WORKLOAD, SHIFT = 40, 10, 20, 20, 10
FAR_KM = 50.0  # at or beyond this distance the location earns nothing
FULL_LOAD = 5  # open assignments at which the workload earns nothing


@dataclass(frozen=True)
class Candidate:
    user_id: int
    username: str
    full_name: str
    skills: dict[str, int]  # skill code to level 1..5
    valid_certifications: frozenset[str]
    expired_certifications: frozenset[str]
    cleared_for_site: bool
    distance_km: float | None  # None: no known location
    open_assignments: int
    on_shift: bool


@dataclass(frozen=True)
class Ranked:
    candidate: Candidate
    score: float
    explanation: list[str]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dlat, dlon = radians(lat2 - lat1), radians(lon2 - lon1)
    a = sin(dlat / 2) ** 2 + cos(radians(lat1)) * cos(radians(lat2)) * sin(dlon / 2) ** 2
    return 2 * 6371.0 * asin(sqrt(a))


def score(c: Candidate, required_skills: list[str]) -> Ranked | None:
    """None when the technician may not take it at all (no site clearance)."""
    if not c.cleared_for_site:
        return None
    why: list[str] = []
    if required_skills:
        levels = [c.skills.get(code, 0) for code in required_skills]
        matched = [code for code in required_skills if c.skills.get(code, 0) > 0]
        skill = SKILL * sum(min(level, 5) for level in levels) / (5 * len(required_skills))
        why.append(
            f"skills {', '.join(matched) or 'none'} of {', '.join(required_skills)}: +{skill:.1f}"
        )
    else:
        skill = SKILL / 2
        why.append(f"no skill required by the asset type: +{skill:.1f}")
    cert = CERTIFICATION if not c.expired_certifications else 0.0
    why.append(
        "certifications valid: +10.0"
        if cert
        else f"expired certification {', '.join(sorted(c.expired_certifications))}: +0.0"
    )
    if c.distance_km is None:
        distance = DISTANCE / 4
        why.append(f"location unknown: +{distance:.1f}")
    else:
        distance = DISTANCE * max(0.0, 1 - c.distance_km / FAR_KM)
        why.append(f"{c.distance_km:.1f} km away: +{distance:.1f}")
    load = WORKLOAD * max(0.0, 1 - c.open_assignments / FULL_LOAD)
    why.append(f"{c.open_assignments} open assignments: +{load:.1f}")
    shift = SHIFT if c.on_shift else 0.0
    why.append("on shift now: +10.0" if c.on_shift else "off shift: +0.0")
    total = round(skill + cert + distance + load + shift, 1)
    return Ranked(c, total, why)


def rank(candidates: list[Candidate], required_skills: list[str]) -> list[Ranked]:
    """Best first; ties go to the lighter workload, then the lower user id (stable)."""
    ranked = [r for c in candidates if (r := score(c, required_skills)) is not None]
    return sorted(
        ranked, key=lambda r: (-r.score, r.candidate.open_assignments, r.candidate.user_id)
    )
