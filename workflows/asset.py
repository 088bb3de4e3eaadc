"""AssetWorkflow: one per asset, owner of its status state machine (seed 003 B.4)."""

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.assets import ApplyStatusInput, AssetActivities
    from domain.actor import Actor
    from domain.rules.asset_status import AssetStatus, status_change_refusal
    from workflows.kit import (
        ASSET,
        CRITICALITY,
        ENTITY,
        SITE,
        STATUS,
        call,
        index,
        passed_on,
        refuse,
        system_actor,
    )


def _by_platform(request: "ChangeStatusRequest") -> bool:
    return "SYSTEM" in request.actor.roles


def asset_workflow_id(organization_code: str, asset_number: str) -> str:
    return f"ASSET-{organization_code}-{asset_number}"


@dataclass
class AssetInput:
    organization_id: int
    asset_id: int
    asset_number: str
    site_code: str
    criticality: str
    status: str
    history: list["AssetEvent"] = field(default_factory=list)
    # Upsert search attributes; off only on a server where they cannot be registered
    # (the time-skipping test server).
    indexed: bool = True
    # SAFETY_HOLD placed by a stop-work (the platform's own request), carried over.
    stop_work_hold: bool = False


@dataclass
class ChangeStatusRequest:
    status: str
    reason: str
    actor: Actor
    # Set by a PM work order's return to service, which I.3 lets a supervisor approve.
    via_pm_work_order: bool = False
    # A move asked for by another lifecycle: nothing happens (and nothing is refused) when
    # the asset is already there or is not in one of `only_from`, so one call does what a
    # query and an update did.
    only_from: list[str] | None = None
    if_needed: bool = False
    # A status passed on the way, by the platform, when the asset is in one of
    # `through_from` (a return to service from MAINTENANCE passes PENDING_RETURN): one
    # call where a lifecycle made two.
    through: str | None = None
    through_from: list[str] | None = None
    through_reason: str = ""


@dataclass
class AssetEvent:
    previous: str
    status: str
    reason: str
    by: str
    role: str
    at: datetime


@dataclass
class AssetState:
    asset_number: str
    status: str
    history: list[AssetEvent]


def _attribute_values(data: AssetInput, status: str) -> list[tuple]:
    return [
        (ENTITY, "ASSET"),
        (ASSET, data.asset_number),
        (SITE, data.site_code),
        (CRITICALITY, data.criticality),
        (STATUS, status),
    ]


def search_attributes(data: AssetInput, status: str) -> TypedSearchAttributes:
    """For starting the workflow, so the Temporal UI can filter assets from the start."""
    return TypedSearchAttributes(
        [SearchAttributePair(key, value) for key, value in _attribute_values(data, status)]
    )


@workflow.defn
class AssetWorkflow:
    @workflow.init
    def __init__(self, data: AssetInput) -> None:
        self._data = data
        self._status = AssetStatus(data.status)
        self._history = list(data.history)
        self._lock = asyncio.Lock()
        self._stop_work_hold = data.stop_work_hold

    @workflow.run
    async def run(self, data: AssetInput) -> AssetState:
        # Lives as long as the asset; ends only when it is decommissioned.
        await workflow.wait_condition(
            lambda: (
                self._status is AssetStatus.DECOMMISSIONED
                or workflow.info().is_continue_as_new_suggested()
            )
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._status is not AssetStatus.DECOMMISSIONED:
            workflow.continue_as_new(
                AssetInput(
                    data.organization_id,
                    data.asset_id,
                    data.asset_number,
                    data.site_code,
                    data.criticality,
                    self._status.value,
                    self._history[-50:],
                    data.indexed,
                    self._stop_work_hold,
                )
            )
        return self.get_state()

    @workflow.update
    async def change_status(self, request: ChangeStatusRequest) -> AssetEvent:
        async with self._lock:
            if request.through is not None and self._status.value in (request.through_from or []):
                await self._change(
                    ChangeStatusRequest(
                        request.through,
                        request.through_reason,
                        system_actor(self._data.organization_id),
                        only_from=request.through_from,
                        if_needed=True,
                    )
                )
            return await self._change(request)

    async def _change(self, request: ChangeStatusRequest) -> AssetEvent:
        """One move, under the lock."""
        # Re-check: an earlier update may have moved the asset while this one waited.
        self._refuse_if_illegal(request)
        if self._leaves_stop_work_hold(request) and workflow.patched("stop-work-hold-kept"):
            self._refuse_leaving_stop_work_hold(request)
        now = workflow.now()
        if self._not_needed(request):
            current = self._status.value
            if current == request.status == "SAFETY_HOLD" and _by_platform(request):
                self._stop_work_hold = True
            who = request.actor
            return AssetEvent(current, current, request.reason, who.full_name, who.role, now)
        target = AssetStatus(request.status)
        try:
            # A local activity: the change answers once written, with no round trip
            # through the server; histories recorded before replay the activity.
            await call(
                AssetActivities.apply_asset_status,
                ApplyStatusInput(
                    self._data.asset_id, target.value, request.reason, now, request.actor
                ),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(
                    maximum_attempts=10, maximum_interval=timedelta(seconds=10)
                ),
            )
        except ActivityError as err:
            # Hand the rule's own refusal back to the caller, not the activity wrapper.
            refusal = passed_on(err)
            if refusal is err:
                raise
            raise refusal from err
        entry = AssetEvent(
            self._status.value,
            target.value,
            request.reason,
            request.actor.full_name,
            request.actor.role,
            now,
        )
        self._status = target
        self._stop_work_hold = target is AssetStatus.SAFETY_HOLD and (
            _by_platform(request) or self._stop_work_hold
        )
        self._history.append(entry)
        d = self._data
        index(
            d.indexed,
            "ASSET",
            asset=d.asset_number,
            site=d.site_code,
            criticality=d.criticality,
            status=target.value,
        )
        return entry

    @change_status.validator
    def validate_change_status(self, request: ChangeStatusRequest) -> None:
        self._refuse_if_illegal(request)
        self._refuse_leaving_stop_work_hold(request)

    def _refuse_leaving_stop_work_hold(self, request: ChangeStatusRequest) -> None:
        """F.3: a person's own move never lifts a stop-work's hold; the stop-work's clear
        does, through the lifecycles' calls (made only when no stop-work is left open).
        The handler checks again only in runs recorded with this rule."""
        if self._leaves_stop_work_hold(request):
            refuse(
                "Conflict",
                f"status: asset {self._data.asset_number} is held by a stop-work; "
                "EHS clears the stop-work to release it",
            )

    def _leaves_stop_work_hold(self, request: ChangeStatusRequest) -> bool:
        return (
            self._stop_work_hold
            and self._status is AssetStatus.SAFETY_HOLD
            and request.status != AssetStatus.SAFETY_HOLD.value
            and not request.if_needed
            and not _by_platform(request)
        )

    def _not_needed(self, request: ChangeStatusRequest) -> bool:
        if not request.if_needed:
            return False
        current = self._status.value
        return current == request.status or (
            request.only_from is not None and current not in request.only_from
        )

    def _refuse_if_illegal(self, request: ChangeStatusRequest) -> None:
        if request.actor.organization_id != self._data.organization_id:
            refuse("NotFound", f"asset {self._data.asset_number} not found")
        if self._not_needed(request):
            return
        try:
            target = AssetStatus(request.status)
        except ValueError:
            refuse("RuleViolation", f"status: unknown asset status {request.status}")
        refusal = status_change_refusal(
            request.actor.roles, self._status, target, request.reason, request.via_pm_work_order
        )
        if refusal:
            kind, message = refusal
            refuse(kind, message)

    @workflow.query
    def get_state(self) -> AssetState:
        return AssetState(self._data.asset_number, self._status.value, list(self._history))
