"""Shift report and handover rules without a database: references, which shift a fire
reports on and which takes over, stops added up, who may review, and seed 002's role
table (production manager, viewer) in the permission matrix's style."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from domain.rules import shift_reports as rules
from domain.rules.roles import Action, Role, Scope, scope_for
from domain.rules.shifts import ShiftDef, shift_windows

DAY = date(2026, 6, 2)
CALENDAR = [ShiftDef("DAY", time(6), time(14)), ShiftDef("NIGHT", time(22), time(6))]


def windows(first=DAY, last=DAY + timedelta(days=2)):
    return shift_windows(CALENDAR, "America/Chicago", first, last)


def test_references_name_site_day_shift_and_version():
    assert rules.reference("jks", DAY, "day") == "SHR-JKS-2026-06-02-DAY"
    assert rules.reference("JKS", DAY, "DAY", 3) == "SHR-JKS-2026-06-02-DAY-V3"


def test_a_fire_reports_on_the_shift_that_ended_fifteen_minutes_before():
    ws = windows()
    day_end = ws[0].interval.end  # 14:00 Chicago = 19:00 UTC
    assert day_end == datetime(2026, 6, 2, 19, tzinfo=UTC)
    fired = rules.ended_at(ws, day_end + rules.BUFFER)
    assert (fired.code, fired.day) == ("DAY", DAY)
    # Late (the worker was away) it still finds its own shift; too early, none.
    assert rules.ended_at(ws, day_end + timedelta(hours=5)).code == "DAY"
    assert rules.ended_at(ws, day_end + timedelta(minutes=14)) is None
    # The night shift of the 2nd ends on the 3rd at 06:00: reported with its start day.
    night = rules.ended_at(ws, datetime(2026, 6, 3, 11, 15, tzinfo=UTC))
    assert (night.code, night.day) == ("NIGHT", DAY)


def test_the_next_shift_takes_over_and_the_current_one_hands_over():
    ws = windows()
    at = datetime(2026, 6, 2, 16, tzinfo=UTC)  # 11:00 Chicago, in DAY
    now = rules.current_or_last(ws, at)
    assert (now.code, now.day) == ("DAY", DAY)
    nxt = rules.next_after(ws, now)
    assert (nxt.code, nxt.day) == ("NIGHT", DAY)
    after_night = rules.next_after(ws, nxt)
    assert (after_night.code, after_night.day) == ("DAY", DAY + timedelta(days=1))
    # Between shifts (20:00 to 22:00 Chicago) the last one ended hands over.
    gap = rules.current_or_last(ws, datetime(2026, 6, 3, 1, tzinfo=UTC))
    assert gap.code == "DAY"


def test_stops_add_up_by_kind_and_reason_largest_first():
    totals = rules.downtime_totals([
        rules.Downtime("BD-MECH", "breakdown", False, 30.0),
        rules.Downtime("CO", "changeover", True, 20.0),
        rules.Downtime("BD-MECH", "breakdown", False, 17.0),
    ])  # fmt: skip
    assert (totals["planned_minutes"], totals["unplanned_minutes"]) == (20.0, 47.0)
    assert totals["total_minutes"] == 67.0
    assert [r["reason_code"] for r in totals["by_reason"]] == ["BD-MECH", "CO"]


def test_only_an_open_report_is_edited():
    assert rules.edit_refusal("DRAFT", "R") is None and rules.edit_refusal("IN_REVIEW", "R") is None
    for status in ("APPROVED", "LOCKED"):
        refusal = rules.edit_refusal(status, "R")
        assert refusal.kind == "Conflict" and "a correction is a new version" in refusal.message


@pytest.mark.parametrize(
    ("roles", "user", "allowed"),
    [
        (["MAINT_SUPERVISOR"], 7, True),  # the supervisor on this shift
        (["MAINT_SUPERVISOR"], 8, False),  # another supervisor
        (["OPERATIONS_MANAGER"], 9, True),
        (["MAINT_MANAGER"], 9, True),
        (["MAINT_ADMIN"], 9, True),
        (["MAINT_TECH"], 7, False),
        (["OPERATOR"], 7, False),
        (["VIEWER"], 7, False),
        (["AUDITOR"], 7, False),
    ],
)
def test_who_reviews_a_shift_report(roles, user, allowed):
    refusal = rules.review_refusal(roles=roles, user_id=user, supervisors=[7])
    assert (refusal is None) is allowed
    if refusal:
        assert refusal.kind == "NotAllowed"


# Seed 002's role table, transcribed: None is "No", LIMITED is "Dashboard" / "Limited".
SEED_002 = {
    "MAINT_ADMIN": (Scope.FULL, Scope.FULL, Scope.FULL, Scope.FULL),
    "OPERATIONS_MANAGER": (Scope.FULL, Scope.FULL, Scope.FULL, Scope.LIMITED),
    "OPERATOR": (Scope.LIMITED, Scope.ASSIGNED, None, None),
    "VIEWER": (Scope.LIMITED, None, None, None),
}
COLUMNS = (Action.VIEW_OEE, Action.LOG_PRODUCTION, Action.APPROVE_SHIFT_REPORT,
           Action.CONFIGURE_SYSTEM)  # fmt: skip


@pytest.mark.parametrize("role", sorted(SEED_002))
def test_seed_002_role_table(role):
    assert tuple(scope_for([role], a) for a in COLUMNS) == SEED_002[role]


def test_the_viewer_reads_the_dashboard_and_nothing_else():
    held = {a for a in Action if scope_for([Role.VIEWER.value], a) is not None}
    assert held == {Action.VIEW_DASHBOARD, Action.VIEW_OEE}


def test_handover_goes_with_logging_on_the_floor():
    for role in Role:
        assert scope_for([role.value], Action.HANDOVER) == scope_for(
            [role.value], Action.LOG_PRODUCTION
        ), role
    assert scope_for(["MAINT_SUPERVISOR"], Action.APPROVE_SHIFT_REPORT) is Scope.ON_SHIFT


def test_notes_need_a_known_type_priority_and_a_message():
    ok = {"note_type": "issue", "priority": "urgent", "message": "Saw 1 blade changed"}
    assert rules.note_refusal(**ok) is None
    assert rules.note_refusal(**{**ok, "priority": "soon"}).field == "priority"
    assert rules.note_refusal(**{**ok, "note_type": "gossip"}).field == "note_type"
    assert rules.note_refusal(**{**ok, "message": " x "}).field == "message"
    assert rules.acknowledge_refusal(acknowledged_by="Ann", author_id=1, user_id=2).kind == (
        "Conflict"
    )
    assert rules.acknowledge_refusal(acknowledged_by=None, author_id=2, user_id=2).kind == (
        "NotAllowed"
    )
    assert rules.acknowledge_refusal(acknowledged_by=None, author_id=1, user_id=2) is None
