"""Types of the objects the API sends and receives.

The ``TypedDict`` classes describe JSON as the server writes it (timestamps
stay strings; ``parse_time`` makes them datetimes). Dataclasses are what the
DataFrame helpers return.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Literal, Optional, TypedDict, Union


Datatype = Literal["float", "integer", "boolean", "string"]
Value = Union[float, int, bool, str]


class Measure(TypedDict):
    """A measure of a sensor type, or a model measure."""

    name: str
    units: Optional[str]
    datatype: Datatype


class SensorType(TypedDict):
    name: str
    description: Optional[str]
    measures: List[Measure]


class Sensor(TypedDict):
    unique_identifier: str
    name: Optional[str]
    notes: Optional[str]


class ReadingPoint(TypedDict):
    """One element of a series answer (sensor-readings, get-model-run)."""

    value: Value
    timestamp: str


class InsertSummary(TypedDict):
    """The answer of the batch and CSV ingest endpoints."""

    detail: str
    rows: int
    inserted: int
    duplicates: int


class SensorMeasure(TypedDict):
    name: str
    units: Optional[str]


class ModelRun(TypedDict):
    id: int
    model_id: int
    model_name: str
    scenario_id: int
    scenario_description: Optional[str]
    time_created: str
    sensor_unique_id: Optional[str]
    sensor_measure: Optional[SensorMeasure]


class ForecastSkill(TypedDict):
    measure: str
    lower_bound: Optional[str]
    upper_bound: Optional[str]
    n: int
    mae: Optional[float]
    rmse: Optional[float]
    coverage: Optional[float]


class ModelRunComparison(TypedDict):
    run: ModelRun
    forecast: Dict[str, List[ReadingPoint]]
    observed: List[ReadingPoint]
    tolerance_minutes: float
    metrics: List[ForecastSkill]
    details: Any


@dataclasses.dataclass(frozen=True)
class WriteSummary:
    """What ``write_readings`` did: readings sent, stored, and skipped
    because they were stored already; ``requests`` is the number of
    transactions (one unless the data exceeded one request body)."""

    rows: int
    inserted: int
    duplicates: int
    requests: int = 1
