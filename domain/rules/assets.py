"""Asset vocabularies of seed 003 B.2 and B.3."""

from enum import StrEnum


class AssetCategory(StrEnum):
    PROCESSING = "PROCESSING"
    MATERIAL_HANDLING = "MATERIAL_HANDLING"
    PACKAGING = "PACKAGING"
    FACILITY = "FACILITY"
    UTILITY = "UTILITY"
    SAFETY = "SAFETY"
    QUALITY = "QUALITY"
    GENERATION = "GENERATION"
    ELECTRICAL = "ELECTRICAL"


class Criticality(StrEnum):
    """A: single point of failure; B: limited redundancy; C: plenty of backup."""

    A = "A"
    B = "B"
    C = "C"


class MeterType(StrEnum):
    HOURS = "HOURS"
    CYCLES = "CYCLES"
    UNITS_PRODUCED = "UNITS_PRODUCED"
    MILES = "MILES"
    STARTS = "STARTS"
    MWH = "MWH"


def meter_reading_refusal(previous: float | None, reading: float) -> str | None:
    """Meters only count up; a lower reading is a typo or a swapped meter, never data."""
    if reading < 0:
        return "reading must not be negative"
    if previous is not None and reading < previous:
        return f"reading {reading:g} is lower than the last reading {previous:g}"
    return None
