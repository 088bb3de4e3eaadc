"""The saw line's DAY shift of 2 June 2026 at JKS with output, a breakdown, scrap and
energy: what the shift report tests report on."""

import itertools
from datetime import date, timedelta

from domain.actor import system_actor
from domain.models.production import Machine
from domain.services import energy, production
from domain.services import production_downtime as downtime
from tests.oee_helpers import DAY, local, saw_line

REF = f"SHR-JKS-{DAY.isoformat()}-DAY"
# Tests on the shared dev server report on a Tuesday each: a report's id is its shift's.
_weeks = itertools.count(1)


def next_day() -> date:
    return DAY + timedelta(weeks=next(_weeks))


def shift_example(sessions, day: date = DAY) -> dict[str, int]:
    ids = saw_line(sessions)

    def at(hour: int, minute: int = 0):
        return local(hour, minute, day=day)

    with sessions() as s:
        m = s.get(Machine, ids["SAW-JKS-001"])
        actor = system_actor(m.organization_id, "test")
        downtime.record_downtime(session=s, actor=actor, machine=m, reason_code="BD-MECH",
                                 start=at(8), end=at(8, 47))  # fmt: skip
        production.record_count(session=s, actor=actor, machine=m, period_start=at(6),
                                period_end=at(13), total=19_271, good=18_848)  # fmt: skip
        production.record_quality_event(session=s, actor=actor, machine=m, event_type="scrap",
                                        quantity=40, occurred_at=at(10))  # fmt: skip
        energy.record_reading(session=s, actor=actor, machine=m, reading_time=at(12),
                              kwh=310.5, now=at(12, 1))  # fmt: skip
        s.commit()
    return ids
