"""`plantops replay REF`: fetch an anomaly's history, replay it against the current
code, and print each decision with who made it."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

from workers import registry

_decode = DataConverter.default.payload_converter.from_payloads


@dataclass(frozen=True)
class Decision:
    at: datetime
    action: str
    by: str
    role: str
    detail: str

    def line(self) -> str:
        who = f"{self.by} ({self.role})" if self.role else self.by
        text = f"{self.at:%Y-%m-%d %H:%M:%S}  {self.action:<24} {who}"
        return f"{text}  {self.detail}" if self.detail else text


def _role(actor: dict) -> str:
    from domain.rules.roles import primary_role

    roles = actor.get("roles") or []
    return "SYSTEM" if roles == ["SYSTEM"] else primary_role(roles) if roles else ""


def decisions(history: WorkflowHistory) -> Iterator[Decision]:
    """Requests people made (updates) and what the workflow decided (its writes and timers)."""
    scheduled: dict[int, str] = {}
    for event in history.events:
        at = event.event_time.ToDatetime()
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            attrs = event.workflow_execution_started_event_attributes
            yield Decision(at, "STARTED", attrs.identity or "client", "", "")
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            request = event.workflow_execution_update_accepted_event_attributes.accepted_request
            args = _decode(request.input.args.payloads) if request.input.args.payloads else []
            actor = args[0].get("actor", {}) if args and isinstance(args[0], dict) else {}
            detail = ""
            if args and isinstance(args[0], dict):
                detail = str(args[0].get("reason") or args[0].get("note") or "")
            yield Decision(
                at,
                f"asks {request.input.name}",
                actor.get("full_name", "?"),
                _role(actor),
                detail,
            )
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            scheduled[event.event_id] = attrs.activity_type.name
            if attrs.activity_type.name == "notify":
                (data,) = _decode(attrs.input.payloads)
                sends = ", ".join(f"{s['channel']} to {s['audience']}" for s in data["sends"])
                digest = f"{data['digest']} digest" if data.get("digest") else ""
                detail = "; ".join(x for x in (sends, digest) if x)
                yield Decision(at, f"notify {data['event']}", "plantops workflow", "SYSTEM", detail)
                continue
            if attrs.activity_type.name != "record_decision":
                continue
            (data,) = _decode(attrs.input.payloads)
            actor = data.get("actor", {})
            yield Decision(
                at,
                data["action"],
                actor.get("full_name", "?"),
                _role(actor),
                data.get("reason") or "",
            )
        elif kind == EventType.EVENT_TYPE_MARKER_RECORDED:
            yield from _local_activity(at, event.marker_recorded_event_attributes)
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            attrs = event.activity_task_completed_event_attributes
            if scheduled.get(attrs.scheduled_event_id) == "assess_anomaly":
                (result,) = _decode(attrs.result.payloads)
                yield Decision(
                    at,
                    "CRITICALITY_ASSESSED",
                    "plantops assessment",
                    "SYSTEM",
                    f"{result['level']}, score {result['score']}: {result['reasons'][-1]}",
                )
        elif kind == EventType.EVENT_TYPE_TIMER_FIRED:
            yield Decision(at, "TIMER_FIRED", "plantops workflow", "SYSTEM", "a deadline passed")
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            yield Decision(at, "COMPLETED", "plantops workflow", "SYSTEM", "")
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
            reason = event.workflow_execution_terminated_event_attributes.reason
            yield Decision(at, "TERMINATED", "operator", "", reason)


def _local_activity(at: datetime, attrs) -> Iterator[Decision]:
    """A step written as a local activity: its marker keeps the result, which echoes the
    decision and who made it."""
    if attrs.marker_name != "core_local_activity" or "result" not in attrs.details:
        return
    (data,) = _decode(attrs.details["data"].payloads)
    (result,) = _decode(attrs.details["result"].payloads)
    name = data.get("activity_type") if isinstance(data, dict) else None
    if name == "record_step" and isinstance(result, dict) and result.get("action"):
        actor = result.get("actor") or {}
        yield Decision(
            at,
            result["action"],
            actor.get("full_name", "?"),
            _role(actor),
            result.get("reason") or "",
        )
        for event in result.get("notices") or []:
            yield Decision(at, f"notify {event}", "plantops workflow", "SYSTEM", "")
    elif name == "assess_anomaly" and isinstance(result, dict):
        yield Decision(
            at,
            "CRITICALITY_ASSESSED",
            "plantops assessment",
            "SYSTEM",
            f"{result['level']}, score {result['score']}: {result['reasons'][-1]}",
        )


async def replay(history: WorkflowHistory) -> None:
    """Raises if the current code would decide differently from the recorded run."""
    await Replayer(workflows=registry.WORKFLOWS).replay_workflow(history)


async def fetch(client: Client, workflow_id: str) -> WorkflowHistory:
    return await client.get_workflow_handle(workflow_id).fetch_history()
