"""ShiftReportWorkflow when its archive fails (seed 002 "Shift Report Generation"): the
approval stands, the answer says approved, and the run archives and locks the report once
the file store takes files again; nothing is approved, sent or locked twice. On a
time-skipping server of its own: the archive's retries pass on its clock."""

import asyncio
from datetime import timedelta

from sqlalchemy import select, text

from domain.db import transaction
from domain.models import AuditLog, Notification, StoredFile
from tests.anomaly_helpers import actor
from tests.conftest import own_time_env
from tests.oee_helpers import DAY
from tests.shift_report_helpers import REF, shift_example
from tests.workflows.test_shift_report_workflow import drafted, outbox, refused, report
from workflows.shift_report import ShiftReportWorkflow as SR
from workflows.shift_report_types import ApproveRequest, ReviewRequest, ShiftReportInput

time_env = own_time_env


def refuse_files(sessions, refused: bool) -> None:
    """The file store refuses every write (a real failure of the database, no stand-in),
    or takes them again."""
    with transaction(sessions) as s:
        if refused:
            s.execute(text(
                "CREATE FUNCTION refuse_file() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'file store unavailable'; END $$"
            ))  # fmt: skip
            s.execute(text("CREATE TRIGGER refuse_file BEFORE INSERT ON stored_files "
                           "FOR EACH ROW EXECUTE FUNCTION refuse_file()"))  # fmt: skip
        else:
            s.execute(text("DROP TRIGGER refuse_file ON stored_files"))


async def test_an_archive_that_fails_leaves_the_approval_and_is_locked_once_later(
    tclient, time_env, sessions, task_queue
):
    """The approval is written, then its archive fails past its retries: the answer says
    approved (not locked), the approval stands (a second one is refused, nothing is sent
    again), and the run archives and locks it once the store takes files again."""
    shift_example(sessions)
    supervisor, ops = actor(sessions, "supervisor"), actor(sessions, "opsmanager")
    handle = await tclient.start_workflow(
        SR.run, ShiftReportInput(ops.organization_id, "JKS", "DAY", DAY.isoformat(),
                                 indexed=False),
        id=f"{REF}-ARCHIVE", task_queue=task_queue,
    )  # fmt: skip
    await drafted(handle)
    await handle.execute_update(SR.review, ReviewRequest(supervisor, "47 min down on saw 1"))
    refuse_files(sessions, True)
    approving = asyncio.create_task(handle.execute_update(SR.approve, ApproveRequest(ops)))
    while not approving.done():  # the archive's retries pass on the server's clock
        await time_env.sleep(timedelta(minutes=1))
    state = approving.result()
    assert state.status == "APPROVED" and state.archive_key is None
    row = report(sessions)
    assert (row.status, row.archive_key, row.locked_at) == ("APPROVED", None, None)
    assert row.approved_by_id == ops.user_id
    await refused(handle, SR.approve, ApproveRequest(ops), "Conflict", "approved")
    sent = outbox(sessions, "SHIFT_REPORT_APPROVED")
    assert ("EMAIL", ops.user_id) in sent

    # The store is back: the run's own retry archives and locks it, once.
    refuse_files(sessions, False)
    await time_env.sleep(timedelta(minutes=10))
    final = await handle.result()
    assert final.status == "LOCKED" and final.archive_key
    assert [e.action for e in final.events][-2:] == ["APPROVED", "LOCKED"]
    row = report(sessions)
    assert row.status == "LOCKED" and row.archive_key == final.archive_key and row.locked_at
    with sessions() as s:
        audit = s.scalars(
            select(AuditLog.action).where(AuditLog.entity_id == REF).order_by(AuditLog.id)
        ).all()
        stored = s.scalars(select(StoredFile).where(StoredFile.sha256 == row.archive_key)).all()
    assert audit == ["DRAFTED", "REVIEWED", "APPROVED", "LOCKED"]
    assert len(stored) == 1 and stored[0].content.startswith(b"%PDF")
    with sessions() as s:
        approved = s.scalars(
            select(Notification).where(Notification.event == "SHIFT_REPORT_APPROVED")
        ).all()
    assert len(approved) == len(sent)  # told once, not again by the lock
