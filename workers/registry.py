"""Every workflow and activity the worker serves, in one place."""

from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from activities.alert_watches import AlertWatchActivities
from activities.anomalies import ANOMALY_STEPS, ANOMALY_SUBJECT, AnomalyActivities
from activities.asset_gateway import AssetGateway
from activities.assets import AssetActivities
from activities.breakdown import OPERATOR_REPORT_STEPS, REPORT_SUBJECT, BreakdownActivities
from activities.channels import Channels
from activities.imports import ImportActivities
from activities.maximo import MaximoActivities
from activities.notifier import Notifier
from activities.oee import OeeActivities
from activities.oee_alerts import OeeAlertActivities
from activities.oee_simulator import SimulatorActivities
from activities.pm import PM_STEPS, PM_SUBJECT, PmActivities
from activities.retention import RetentionActivities
from activities.sensors import SensorActivities
from activities.shift_reports import (
    SHIFT_REPORT_STEPS,
    SHIFT_REPORT_SUBJECT,
    ShiftReportActivities,
)
from activities.steps import StepActivities
from activities.stop_work import STOP_WORK_STEPS, StopWorkActivities
from activities.work_orders import WORK_ORDER_STEPS, WorkOrderActivities
from domain.settings import Settings, get_settings
from workflows.alert_watch import AlertWatchWorkflow, RegistrationWatchWorkflow
from workflows.anomaly import AnomalyWorkflow
from workflows.anomaly_import import AnomalyImportWorkflow
from workflows.asset import AssetWorkflow
from workflows.breakdown import BreakdownWorkflow
from workflows.digest import DigestWorkflow
from workflows.maximo_sync import MaximoSyncWorkflow
from workflows.oee_alert import OeeDowntimeWatchWorkflow
from workflows.oee_simulator import OeeSimulatorWorkflow
from workflows.oee_snapshot import OeeSnapshotWorkflow
from workflows.pm_schedule import PMScheduleWorkflow
from workflows.retention import RetentionWorkflow
from workflows.sensor_upkeep import SensorUpkeepWorkflow
from workflows.shift_report import ShiftReportWorkflow
from workflows.stop_work import StopWorkWorkflow
from workflows.work_order import WorkOrderWorkflow

WORKFLOWS: list[type] = [
    AssetWorkflow,
    AnomalyWorkflow,
    DigestWorkflow,
    WorkOrderWorkflow,
    BreakdownWorkflow,
    StopWorkWorkflow,
    PMScheduleWorkflow,
    AlertWatchWorkflow,  # listed for replays; they run on the alert queue's own worker
    RegistrationWatchWorkflow,
    OeeSnapshotWorkflow,
    OeeDowntimeWatchWorkflow,
    RetentionWorkflow,
    OeeSimulatorWorkflow,
    ShiftReportWorkflow,
    SensorUpkeepWorkflow,
    AnomalyImportWorkflow,
    MaximoSyncWorkflow,
]
# The alert task queue's: safety watches only.
ALERT_WORKFLOWS: list[type] = [AlertWatchWorkflow, RegistrationWatchWorkflow]


def activities(
    sessions: sessionmaker[Session],
    settings: Settings | None = None,
    channels: Channels | None = None,
    client: Client | None = None,
) -> list:
    """The client lets activities reach other workflows (a work order moving its asset)."""
    settings = settings or get_settings()
    assets = AssetActivities(sessions)
    anomalies = AnomalyActivities(sessions, settings, channels)
    work_orders = WorkOrderActivities(sessions)
    gateway = AssetGateway(sessions, client, settings.task_queue)
    breakdown = BreakdownActivities(sessions, client, settings.task_queue)
    stop_work = StopWorkActivities(sessions, client, settings.task_queue)
    pm = PmActivities(sessions, client, settings.task_queue)
    oee = OeeActivities(sessions)
    oee_alerts = OeeAlertActivities(sessions, settings, channels)
    shift_reports = ShiftReportActivities(sessions)
    sensors = SensorActivities(sessions, settings, client)
    imports = ImportActivities(sessions, settings, client)
    maximo = MaximoActivities(sessions, settings, client)
    # The kit's two generic activities: each lifecycle adds its record's description.
    notifier = Notifier(
        sessions,
        settings,
        channels,
        [ANOMALY_SUBJECT, REPORT_SUBJECT, PM_SUBJECT, SHIFT_REPORT_SUBJECT],
    )
    steps = StepActivities(
        sessions,
        [
            ANOMALY_STEPS,
            WORK_ORDER_STEPS,
            PM_STEPS,
            SHIFT_REPORT_STEPS,
            OPERATOR_REPORT_STEPS,
            STOP_WORK_STEPS,
        ],
        notifier,
    )
    return [
        steps.record_step,
        notifier.notify,
        notifier.queue,
        notifier.deliver_queued,
        notifier.send_digest,
        assets.apply_asset_status,
        anomalies.assess_anomaly,
        anomalies.pick_technician,
        anomalies.response_clock,
        anomalies.escalation_target,
        anomalies.watch_still_due,
        anomalies.record_decision,
        anomalies.update_kpis,
        work_orders.record_work_order,
        work_orders.end_work_order_downtime,
        work_orders.add_task,
        work_orders.edit_task,
        work_orders.remove_task,
        work_orders.complete_task,
        work_orders.log_labor,
        work_orders.issue_permit,
        work_orders.remove_permit,
        work_orders.request_parts,
        work_orders.issue_part,
        work_orders.attach_file,
        work_orders.watch_assets,
        work_orders.other_active_work_orders,
        gateway.change_asset_status,
        breakdown.record_report,
        breakdown.create_report,
        breakdown.open_report_work_order,
        breakdown.open_report_downtime,
        breakdown.start_report_work_order,
        breakdown.take_asset_down,
        stop_work.open_stop_work,
        stop_work.create_stop_work,
        stop_work.hold_asset,
        stop_work.open_work_orders,
        stop_work.tell_work_order,
        stop_work.release_asset,
        pm.load_schedule,
        pm.work_order_outcome,
        pm.open_pm_work_order,
        pm.cancel_pm_work_order,
        pm.block_asset,
        oee.take_oee_snapshots,
        oee.roll_up_oee,
        oee_alerts.evaluate_oee_alerts,
        oee_alerts.raise_extended_downtime,
        RetentionActivities(sessions, settings).apply_retention,
        SimulatorActivities(sessions, client, settings.task_queue, settings).simulate_minute,
        shift_reports.shift_ended,
        shift_reports.draft_shift_report,
        shift_reports.archive_shift_report,
        sensors.sweep_sensors,
        sensors.trim_readings,
        imports.read_import_rows,
        imports.register_import_batch,
        imports.start_import_lifecycles,
        imports.finish_import,
        maximo.begin_maximo_sync,
        maximo.import_maximo_page,
        maximo.start_maximo_lifecycles,
        maximo.finish_maximo_sync,
    ]


def alert_activities(
    sessions: sessionmaker[Session],
    settings: Settings | None = None,
    channels: Channels | None = None,
) -> list:
    """What a safety watch runs: its last look at the record and the escalation target
    (for a registration's watches, one decision queuing their notices), and the kit's
    outbox."""
    settings = settings or get_settings()
    anomalies = AnomalyActivities(sessions, settings, channels)
    notifier = Notifier(sessions, settings, channels, [ANOMALY_SUBJECT])
    return [
        AlertWatchActivities(sessions, notifier).decide_watches,
        anomalies.watch_still_due,
        anomalies.escalation_target,
        notifier.queue,
        notifier.notify,
        notifier.deliver_queued,
    ]
