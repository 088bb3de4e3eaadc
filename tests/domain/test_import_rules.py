"""The workbook rules of an anomaly import (seed 000 C4), without a database."""

from datetime import UTC, date, datetime

from domain.rules import imports as rules
from domain.rules.imports import Problem
from workflows.anomaly_import import batches

GOOD = {
    "asset": "SAW-JKS-001",
    "title": "Blade wobble",
    "description": "The blade wobbles at full speed",
    "detected_at": datetime(2026, 11, 20, 8, 30),
}


def test_the_header_must_name_the_template_columns():
    assert rules.header_refusal(list(rules.NAMES)) is None
    # In any order, any case, with the report's own columns from an earlier run.
    shuffled = [n.upper() for n in reversed(rules.NAMES)] + [rules.STATUS_COLUMN, None]
    assert rules.header_refusal(shuffled) is None
    assert rules.positions(shuffled)["asset"] == len(rules.NAMES) - 1
    why = rules.header_refusal(["asset", "summary"])
    assert why.startswith("missing column(s) title, description, detected_at")
    assert rules.header_refusal([*rules.NAMES, "colour"]) == "unknown column(s) colour"


def test_a_good_row_is_cleaned_and_defaults_stay_empty():
    values, problems = rules.check_row(
        {**GOOD, "urgency": " urgent ", "production_loss_per_hour": "250", "asset": 1234.0}
    )
    assert problems == []
    assert values["urgency"] == "URGENT" and values["production_loss_per_hour"] == 250.0
    assert values["asset"] == "1234" and values["safety_impact"] is None


def test_dates_come_as_cells_or_text_naive_or_with_a_zone():
    assert rules.check_row({**GOOD, "detected_at": date(2026, 11, 20)})[0][
        "detected_at"
    ] == datetime(2026, 11, 20)
    values, _ = rules.check_row({**GOOD, "detected_at": "2026-11-20T08:30:00Z"})
    assert values["detected_at"] == datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    _, problems = rules.check_row({**GOOD, "detected_at": "last tuesday"})
    assert problems == [Problem("detected_at", "must be a date and time, e.g. 2026-11-26 08:30")]


def test_every_broken_rule_is_named_with_its_column():
    _, problems = rules.check_row(
        {
            "asset": " ",
            "title": "ab",
            "description": "short",
            "safety_impact": "HUGE",
            "production_loss_per_hour": "-1",
            "regulatory_impact": "maybe",
        }
    )
    assert {p.column: p.rule for p in problems} == {
        "asset": "is required",
        "detected_at": "is required",
        "safety_impact": "must be one of NONE, MINOR, SERIOUS, IMMEDIATE",
        "production_loss_per_hour": "must be between 0 and 10000000",
        "regulatory_impact": "must be one of YES, NO",
        "title": "must be at least 3 characters",
        "description": "must be at least 10 characters",
    }
    assert Problem("title", "is required").text() == "title: is required"


def test_titles_differing_in_case_or_spacing_are_the_same_row():
    assert rules.title_key("  Belt  SQUEAL on saw 2 ") == rules.title_key("belt squeal on saw 2")


def test_rows_split_into_batches_by_sheet_row_number():
    assert batches([2, 3, 5, 6, 7], 2) == [(2, 3), (5, 6), (7, 7)]
    assert batches([], 100) == []
