"""AnomalyImportWorkflow: one per uploaded workbook (id IMP-<import id>, seed 000 C4). It
reads the stored file's rows into the import, registers them batch by batch (each batch one
activity and one transaction, keyed by its rows, so a worker lost mid-import resumes
without duplicates), starts each batch's anomaly lifecycles while the next batch
registers, and closes the import. Progress is its query."""

from dataclasses import replace
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.imports import ImportActivities
    from workflows.anomaly_import_types import (
        OTHERS,
        URGENT,
        AnomalyImportInput,
        AnomalyImportState,
        ImportCountsState,
        RegisterBatchRequest,
    )
    from workflows.kit import Record

RETRY = RetryPolicy(maximum_interval=timedelta(seconds=10), maximum_attempts=20)
READ = {"start_to_close_timeout": timedelta(minutes=5), "retry_policy": RETRY}
# A batch of registrations; a worker lost in one is noticed after this much.
BATCH = {"start_to_close_timeout": timedelta(minutes=2), "retry_policy": RETRY}
SHORT = {"start_to_close_timeout": timedelta(seconds=30), "retry_policy": RETRY}


def batches(numbers: list[int], size: int) -> list[tuple[int, int]]:
    """(first, last) sheet row numbers of each batch of `size` rows."""
    return [
        (numbers[i], numbers[min(i + size, len(numbers)) - 1]) for i in range(0, len(numbers), size)
    ]


@workflow.defn
class AnomalyImportWorkflow:
    @workflow.init
    def __init__(self, data: AnomalyImportInput) -> None:
        ref = f"IMP-{data.import_id}"
        self._state = AnomalyImportState(reference=ref, import_id=data.import_id)
        self._record = Record("ANOMALY_IMPORT", ref, data.organization_id)
        self._in = data

    @workflow.run
    async def run(self, data: AnomalyImportInput) -> AnomalyImportState:
        s = self._state
        read = await workflow.execute_activity_method(
            ImportActivities.read_import_rows, data, **READ
        )
        s.state, s.rows = "RUNNING", read.rows
        ranges = batches(read.row_numbers, max(1, data.batch))
        s.batches = len(ranges)
        self._log("RUNNING", f"{read.rows} rows in {len(ranges)} batches")
        starting = []
        steps = []
        for first, last in ranges:
            step = RegisterBatchRequest(
                data.import_id, data.organization_id, data.actor, first, last, URGENT
            )
            counts = await workflow.execute_activity_method(
                ImportActivities.register_import_batch, step, **BATCH
            )
            self._count(counts)
            s.batches_done += 1
            steps.append(step)
            # The batch's G1 and G2 rows start their lifecycles (and are paged) while the
            # next batch registers; the rest, which page nobody at once, once every row
            # is registered, so a large file does not hold its own registration back.
            starting.append(
                workflow.start_activity_method(
                    ImportActivities.start_import_lifecycles, step, **BATCH
                )
            )
        for step in steps:
            later = replace(step, starts=OTHERS)
            starting.append(
                workflow.start_activity_method(
                    ImportActivities.start_import_lifecycles, later, **BATCH
                )
            )
        for handle in starting:
            s.lifecycles_started += await handle
        counts = await workflow.execute_activity_method(
            ImportActivities.finish_import, data, **SHORT
        )
        self._count(counts)
        s.state = "DONE"
        self._log(
            "DONE",
            f"{s.registered} registered, {s.refused} refused, {s.duplicates} already imported",
        )
        return s

    @workflow.query
    def get_state(self) -> AnomalyImportState:
        return self._state

    def _count(self, counts: ImportCountsState) -> None:
        s = self._state
        s.rows, s.registered = counts.rows, counts.registered
        s.refused, s.duplicates = counts.refused, counts.duplicates

    def _log(self, action: str, detail: str) -> None:
        actor = self._in.actor
        self._record.log(action, actor.full_name, actor.role, detail)
        self._state.events = self._record.events
