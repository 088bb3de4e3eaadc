"""Validated shapes of the sensor API: sensors with their rules, gateways, reading batches."""

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.rules.assets import MeterType
from domain.rules.criticality import SafetyImpact, Urgency
from domain.rules.sensors import MAX_BATCH, Rule, RuleKind, SensorKind, rule_refusal
from domain.schemas.fields import EARLIEST, LATEST, Code, Label, Measurement, Unit

MAX_RULES = 10
# Readings are checked by constraints alone (no Python validator per reading), so a batch
# of 10,000 validates in the library's compiled code; the code pattern keeps out control
# characters as the shared text rule does.
SENSOR_CODE = r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"
DAY = 86_400


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int | None = Field(default=None, ge=1, le=2**31 - 1, description="keep an existing rule")
    kind: RuleKind
    threshold: Measurement = Field(description="HIGH/LOW: the value; RATE: units per minute")
    for_seconds: int = Field(default=0, ge=0, le=DAY, description="held at least this long")
    deadband: float = Field(default=0.0, ge=0, le=1e9, allow_inf_nan=False)
    safety_impact: SafetyImpact = SafetyImpact.NONE
    urgency: Urgency = Urgency.SOON
    pm_schedule: Code | None = Field(
        default=None,
        description="a condition-based PM schedule of the asset that a breach triggers",
    )

    @model_validator(mode="after")
    def _works(self) -> "RuleIn":
        refusal = rule_refusal(Rule(self.kind, self.threshold, self.for_seconds, self.deadband))
        if refusal:
            raise ValueError(f"{refusal[0]}: {refusal[1]}")
        return self


class SensorIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    asset: Code = Field(min_length=1, description="asset number")
    code: Code = Field(min_length=1, pattern=SENSOR_CODE)
    name: Label = Field(min_length=1)
    kind: SensorKind
    unit: Unit = Field(min_length=1)
    expected_interval_seconds: int = Field(ge=1, le=7 * DAY)
    meter_type: MeterType | None = Field(
        default=None, description="the asset's meter this sensor reads, if it is one"
    )
    is_active: bool = True
    rules: list[RuleIn] = Field(default_factory=list, max_length=MAX_RULES)

    @field_validator("asset", "code", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value


class RuleStateOut(BaseModel):
    status: str
    breaching_since: datetime | None
    count: int
    episodes: int
    peak: float | None
    last_seen: datetime | None
    anomaly_reference: str | None


class RuleOut(BaseModel):
    id: int
    kind: RuleKind
    threshold: float
    for_seconds: int
    deadband: float
    safety_impact: SafetyImpact
    urgency: Urgency
    pm_schedule: str | None = None
    description: str
    state: RuleStateOut | None


class SensorOut(BaseModel):
    code: str
    name: str
    asset: str
    kind: SensorKind
    unit: str
    expected_interval_seconds: int
    meter_type: MeterType | None
    is_active: bool
    last_value: float | None
    last_reading_at: datetime | None
    stale_since: datetime | None
    stale_anomaly: str | None
    rules: list[RuleOut]


class SensorPage(BaseModel):
    items: list[SensorOut]
    total: int


class GatewayIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: Label = Field(min_length=1)


class GatewayOut(BaseModel):
    id: int
    name: str
    key_prefix: str
    is_active: bool
    last_seen_at: datetime | None


class GatewayCreated(GatewayOut):
    api_key: str = Field(description="shown once: only its hash is kept")


class ReadingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sensor: str = Field(min_length=1, max_length=60, pattern=SENSOR_CODE)
    time: AwareDatetime = Field(ge=EARLIEST, lt=LATEST)
    value: Measurement


class ReadingBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    readings: list[ReadingIn] = Field(min_length=1, max_length=MAX_BATCH)


class IngestOut(BaseModel):
    stored: int = Field(description="readings stored (new ones only)")
    duplicates: int = Field(0, description="readings passed over: stored already, by time")
    registered: list[str] = Field(description="anomalies opened by this batch")
    updated: list[str] = Field(description="open anomalies told of a change of state")
    meters: int = Field(description="meters updated")
