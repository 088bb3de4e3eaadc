"""StopWorkWorkflow: one per stop-work order (id SWA-<id>), seed 003 F.3.

Raise: the order recorded, the asset held (SAFETY_HOLD through its own workflow), every
open work order told (the work order's `stop_work` update); one that cannot be reached is
named and tried again (at growing intervals) until told. Then it waits for EHS to clear it
(the `clear` update, refused to other roles and organisations), releases the asset unless
another stop-work still holds it, and tells the work orders.

The raise and the clear run one after the other in this workflow: a clear arriving while
work orders are still being told waits for the raise to finish. Across two stop-works on
one asset, each step reads what is open after its own commit and settles the asset and
its work from that, asking again until what it reads still stands (see activities/stop_work).

Each decision (raised with the work it holds, the asset held, each work order told or not
reached, cleared, the asset released or still held) is written through the kit's step
writer: the stop-work's fields and status with their audit row, keyed by the step's
number. Runs recorded before STOP_WORK_STEPS kept them on the timeline only."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.stop_work import StopWorkActivities
    from domain.actor import Actor
    from domain.rules.roles import Action
    from domain.rules.work_order_doors import refusal as door_refusal
    from workflows.kit import (
        CONFLICT,
        LOCAL_STEPS,
        NOT_ALLOWED,
        NOT_FOUND,
        Record,
        index,
        refuse,
    )
    from workflows.stop_work_types import (
        ClearRequest,
        HoldRequest,
        ReleaseRequest,
        StopWorkClearedEvent,
        StopWorkInput,
        StopWorkRaisedEvent,
        StopWorkState,
        TellRequest,
    )

WRITE = {
    "start_to_close_timeout": timedelta(seconds=10),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=5)),
}
# Steps that wait on another lifecycle (the asset's, a work order's).
CALL = {**WRITE, "start_to_close_timeout": timedelta(seconds=15)}
# A work order that could not be told is tried again after a minute, then at doubling
# intervals up to half an hour (a hold of weeks keeps its history small), until told.
RETRY_EVERY = timedelta(minutes=1)
RETRY_AT_MOST = timedelta(minutes=30)
# Each decision written to the stop-work's row with its audit row (the kit's step writer).
STOP_WORK_STEPS = "stop-work-steps"


@workflow.defn
class StopWorkWorkflow:
    @workflow.init
    def __init__(self, data: StopWorkInput) -> None:
        self._in = data
        self._status = "RAISING"
        self._held: list[str] = []
        self._told: list[str] = []
        self._unreached: list[str] = []
        self._raised: StopWorkRaisedEvent | None = None
        self._clear: ClearRequest | None = None
        self._cleared: StopWorkClearedEvent | None = None
        # The steps written (or, in runs from before, logged) and the timeline.
        self._record = Record("STOP_WORK", f"SWA-{data.swa_id}", data.organization_id)
        self._steps = False
        self._not_told: set[str] = set()  # named as not reached (written once each)

    @workflow.run
    async def run(self, data: StopWorkInput) -> StopWorkState:
        # Asked before the first command, so both markers lead the history.
        self._steps = workflow.patched(STOP_WORK_STEPS)
        if self._steps:
            workflow.patched(LOCAL_STEPS)
        self._index()
        if self._steps:
            self._held = await workflow.execute_activity_method(
                StopWorkActivities.create_stop_work, data, **WRITE
            )
            await self._step(
                "STOP_WORK_RAISED", data.actor, data.reason, held_work_orders=list(self._held)
            )
        else:
            self._held = await workflow.execute_activity_method(
                StopWorkActivities.open_stop_work, data, **WRITE
            )
            self._log("STOP_WORK_RAISED", data.actor, data.reason)
        await workflow.execute_activity_method(
            StopWorkActivities.hold_asset,
            HoldRequest(data.swa_id, data.asset_id, data.actor, data.reason),
            **CALL,
        )
        await self._step("ASSET_HELD", data.actor, data.asset_number)
        await self._tell_open(data.actor, data.reason, cleared=False)
        self._set_status("HELD")
        self._raised = StopWorkRaisedEvent(
            data.swa_id, data.asset_number, "SAFETY_HOLD", list(self._held), list(self._unreached)
        )
        delay = RETRY_EVERY
        while self._clear is None:
            if not self._unreached:
                await workflow.wait_condition(lambda: self._clear is not None)
            elif not await self._wait_for_clear(delay):
                await self._tell_again(data.actor, data.reason, cleared=False)
                delay = min(delay * 2, RETRY_AT_MOST)

        clear = self._clear
        self._set_status("CLEARING")
        reason = clear.reason or "stop-work cleared"
        if self._steps:
            # Cleared before the asset is settled: the settling reads it as no longer open.
            cleared_at = workflow.now().isoformat()
            await self._step("STOP_WORK_CLEARED", clear.actor, reason,
                             cleared_by=clear.actor.full_name, cleared_at=cleared_at)  # fmt: skip
        released = await workflow.execute_activity_method(
            StopWorkActivities.release_asset,
            ReleaseRequest(data.swa_id, data.asset_id, clear.actor, reason),
            **CALL,
        )
        if not self._steps:
            self._log("STOP_WORK_CLEARED", clear.actor, reason)
        await self._step("ASSET_RELEASED" if not released.still_open_stop_work
                         else "ASSET_STILL_HELD", clear.actor, released.asset_status)  # fmt: skip
        self._told, self._unreached = [], []
        self._not_told = set()
        if not released.still_open_stop_work:
            await self._tell_open(clear.actor, clear.reason or "cleared", cleared=True)
        self._set_status("CLEARED")
        self._cleared = StopWorkClearedEvent(
            data.swa_id,
            data.asset_number,
            released.asset_status,
            [] if released.still_open_stop_work else list(self._held),
            list(released.still_open_stop_work),
            list(self._unreached),
        )
        delay = RETRY_EVERY
        while self._unreached:
            await workflow.sleep(delay)
            await self._tell_again(clear.actor, clear.reason or "cleared", cleared=True)
            delay = min(delay * 2, RETRY_AT_MOST)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.get_state()

    # -- updates --

    @workflow.update
    async def raised(self) -> StopWorkRaisedEvent:
        """What the raise did, once every work order was told (or named as not reached)."""
        await workflow.wait_condition(lambda: self._raised is not None)
        return self._raised

    @workflow.update
    async def clear(self, req: ClearRequest) -> StopWorkClearedEvent:
        """EHS clears; the answer comes once the asset is released and the work told."""
        if self._clear is None:
            self._clear = req
        await workflow.wait_condition(lambda: self._cleared is not None)
        return self._cleared

    @clear.validator
    def _check_clear(self, req: ClearRequest) -> None:
        self._same_organization(req.actor)
        # The API's door for this action, from the one permission table (seed 003 I.2).
        why = door_refusal(req.actor.roles, [(Action.CLEAR_STOP_WORK,)])
        if why:
            refuse(NOT_ALLOWED, why)
        if self._clear is not None:
            refuse(
                CONFLICT,
                f"stop-work {self._in.swa_id} was cleared by {self._clear.actor.full_name}",
            )

    # -- queries --

    @workflow.query
    def get_state(self) -> StopWorkState:
        return StopWorkState(
            stop_work_id=self._in.swa_id,
            asset=self._in.asset_number,
            status=self._status,
            held_work_orders=list(self._held),
            told=list(self._told),
            unreached=list(self._unreached),
            cleared_by=self._clear.actor.full_name if self._clear else None,
            events=list(self._record.events),
        )

    # -- helpers --

    async def _wait_for_clear(self, timeout: timedelta) -> bool:
        try:
            await workflow.wait_condition(lambda: self._clear is not None, timeout=timeout)
        except TimeoutError:
            return False
        return True

    async def _tell_open(self, actor: Actor, reason: str, cleared: bool) -> None:
        """Every open work order; a second look catches one opened meanwhile."""
        seen: list[str] = []
        for _ in range(2):
            numbers = await workflow.execute_activity_method(
                StopWorkActivities.open_work_orders, self._in.asset_id, **WRITE
            )
            new = [n for n in numbers if n not in seen]
            if not new:
                break
            seen += new
            for number in new:
                await self._tell(number, actor, reason, cleared)

    async def _tell_again(self, actor: Actor, reason: str, cleared: bool) -> None:
        for number in list(self._unreached):
            self._unreached.remove(number)
            await self._tell(number, actor, reason, cleared)

    async def _tell(self, number: str, actor: Actor, reason: str, cleared: bool) -> None:
        told = await workflow.execute_activity_method(
            StopWorkActivities.tell_work_order,
            TellRequest(self._in.swa_id, self._in.asset_id, number, actor, reason, cleared),
            **CALL,
        )
        (self._told if told else self._unreached).append(number)
        if told:
            await self._step("WORK_ORDER_TOLD", actor, number)
        elif self._steps and number not in self._not_told:
            # Named once as not reached; a retry that fails again writes nothing more.
            self._not_told.add(number)
            await self._step("WORK_ORDER_NOT_TOLD", actor, number)

    def _same_organization(self, actor: Actor) -> None:
        # Another organisation's caller learns nothing, not even that the order exists.
        if actor.organization_id != self._in.organization_id:
            refuse(NOT_FOUND, f"stop-work {self._in.swa_id} not found")

    def _log(self, action: str, actor: Actor, detail: str = "") -> None:
        self._record.log(action, actor.full_name, actor.role, detail)

    async def _step(self, action: str, actor: Actor, detail: str, **fields: object) -> None:
        """A decision: the stop-work's status (and these fields) with its audit row, on the
        timeline with them; in runs from before, on the timeline only."""
        if self._steps:
            await self._record.write(action, {"status": action, **fields}, actor, detail or None)
        else:
            self._log(action, actor, detail)

    def _set_status(self, status: str) -> None:
        self._status = status
        self._index()

    def _index(self) -> None:
        d = self._in
        index(d.indexed, "STOP_WORK", asset=d.asset_number, site=d.site_code, status=self._status)
