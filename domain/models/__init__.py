"""Every table, so Alembic and the services see one metadata."""

from domain.models.anomalies import (
    Anomaly,
    AnomalyAttachment,
    KpiValue,
    Notification,
    ReferenceCounter,
    Rex,
)
from domain.models.assets import Asset, AssetComponent, AssetType, Meter, MeterReading
from domain.models.audit import AuditLog
from domain.models.base import Base
from domain.models.files import StoredFile
from domain.models.idempotency import IdempotencyKey
from domain.models.organisation import Area, Organization, Site, WorkCenter
from domain.models.people import (
    Certification,
    ShiftPattern,
    SiteClearance,
    Skill,
    User,
    UserSkill,
)
from domain.models.pm import PmTemplate
from domain.models.sign_in import RevokedToken, SignInFailure, SignInLock, WebSession
from domain.models.work_orders import (
    DowntimeRecord,
    InventoryTransaction,
    MaintenanceEvent,
    OperatorReport,
    PartReservation,
    Permit,
    PmSchedule,
    SparePart,
    StopWork,
    WorkOrder,
    WorkOrderAttachment,
    WorkOrderLabor,
    WorkOrderPart,
    WorkOrderTask,
)

__all__ = [
    "StoredFile",
    "DowntimeRecord",
    "InventoryTransaction",
    "MaintenanceEvent",
    "OperatorReport",
    "PartReservation",
    "Permit",
    "PmSchedule",
    "PmTemplate",
    "SparePart",
    "StopWork",
    "WorkOrder",
    "WorkOrderAttachment",
    "WorkOrderLabor",
    "WorkOrderPart",
    "WorkOrderTask",
    "Anomaly",
    "AnomalyAttachment",
    "KpiValue",
    "Notification",
    "ReferenceCounter",
    "RevokedToken",
    "Rex",
    "Area",
    "Asset",
    "AssetComponent",
    "AssetType",
    "AuditLog",
    "Base",
    "Certification",
    "IdempotencyKey",
    "Meter",
    "MeterReading",
    "Organization",
    "ShiftPattern",
    "SignInFailure",
    "SignInLock",
    "Site",
    "SiteClearance",
    "Skill",
    "User",
    "UserSkill",
    "WebSession",
    "WorkCenter",
]
