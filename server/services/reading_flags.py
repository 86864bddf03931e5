"""Which of a visit's readings the note must keep: those outside the patient's band, and those
that raised an alert.

The band is the care plan's as it stood when the reading was taken (a later edit of the plan
does not rewrite a past visit's note), else the default home band, and none at all where the
plan switched vital-sign monitoring off. The band check itself is the domain's one check
(``encounters.detection.vital_crossings``, over the vital-sign catalogue), called from
``_crossings`` only.

An alert names its readings by their client ids (``evidence``) and its parameter and side in
its key (``vital:<parameter>:<side>``); a reading raised it when it is one of those and of
that parameter's kind (one client id can stand for a cuff's pressure and its pulse).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.careplan import CarePlan, default_care_plan
from encounters.careplan_json import validate_care_plan
from encounters.detection import Rule, samples_of, vital_crossings
from encounters.errors import ValidationError
from encounters.reading_types import Reading, Source
from encounters.vital_signs import VITAL_SIGNS, Kind
from server.store.between_visits import Alert, CarePlanVersion
from server.store.models import Reading as ReadingRow

# The reading kind each alert parameter is measured by (a blood pressure carries two).
KIND_OF_PARAMETER = {
    parameter: kind for kind, sign in VITAL_SIGNS.items() for parameter in sign.parameters
}


@dataclass(frozen=True)
class RaisedAlert:
    alert_id: int
    severity: str
    raised_at: dt.datetime


@dataclass(frozen=True)
class Crossing:
    """A band a reading fell outside: which number, on which side, and the band's limit."""

    parameter: str  # "spo2", "systolic_bp", ...
    side: str  # "low" or "high"
    limit: float | None
    unit: str  # the band's (UCUM)
    inclusive: bool  # an upper limit that is itself out of band (38.0 °C)


@dataclass(frozen=True)
class ReadingFlag:
    crossings: tuple[Crossing, ...]
    alerts: tuple[RaisedAlert, ...]


# A stored reading's (client id, kind): the key a flag is found by.
ReadingKey = tuple[str, str]


def _crossings(row: ReadingRow, plan: CarePlan) -> tuple[Crossing, ...]:
    """The patient's bands this reading falls outside under ``plan``: the one check of a
    reading against a band (``encounters.detection.vital_crossings``, which also honours the
    plan's monitoring switch), asked of this one reading."""
    if row.value is None and row.value2 is None:
        return ()
    reading = Reading(
        row.client_id,
        cast(Kind, row.kind),
        row.value,
        row.unit,
        cast(Source, row.source),
        row.taken_at,
        value2=row.value2,
    )
    try:
        crossings = vital_crossings(samples_of(reading), plan)
    except ValidationError:
        return ()  # a band in another unit: the live check could not judge it either
    return tuple(
        Crossing(
            c.sample.parameter,
            c.direction,
            c.band.low if c.direction == "low" else c.band.high,
            c.band.unit,
            c.direction == "high" and c.band.high_inclusive,
        )
        for c in crossings
    )


class _PlanHistory:
    """The patient's care plan at any moment: the newest version saved by then."""

    def __init__(self, versions: Sequence[CarePlanVersion]) -> None:
        ordered = sorted(versions, key=lambda v: (v.created_at, v.version))
        self._times = [v.created_at for v in ordered]
        self._versions = ordered
        self._plans: dict[int, CarePlan] = {}

    def at(self, moment: dt.datetime) -> CarePlan:
        index = bisect.bisect_right(self._times, moment) - 1
        if index < 0:
            return default_care_plan()
        version = self._versions[index]
        if version.version not in self._plans:
            self._plans[version.version] = validate_care_plan(version.plan)
        return self._plans[version.version]


def _alert_kind(alert: Alert) -> str | None:
    parts = alert.dedup_key.split(":")
    if len(parts) != 3 or parts[0] != "vital":
        return None
    return KIND_OF_PARAMETER.get(parts[1], parts[1])


async def flag_readings(
    s: AsyncSession, patient_id: int, rows: Sequence[ReadingRow]
) -> dict[ReadingKey, ReadingFlag]:
    """The flag of each reading among ``rows`` (one patient's, practice ones left out) that
    crossed a band or raised an alert; readings with neither are not in the result."""
    real = [row for row in rows if not row.is_drill]
    if not real:
        return {}
    last_taken = max(row.taken_at for row in real)
    versions = (
        await s.scalars(
            select(CarePlanVersion).where(
                CarePlanVersion.patient_id == patient_id,
                CarePlanVersion.created_at <= last_taken,
            )
        )
    ).all()
    plans = _PlanHistory(versions)
    # An alert is raised when its readings arrive, so never before the first was taken.
    alerts = (
        await s.scalars(
            select(Alert)
            .where(
                Alert.patient_id == patient_id,
                Alert.rule_id == Rule.VITAL_OUT_OF_BAND.value,
                Alert.drill_id.is_(None),
                Alert.raised_at >= min(row.taken_at for row in real),
            )
            .order_by(Alert.raised_at, Alert.id)
        )
    ).all()
    raised_by: dict[ReadingKey, list[RaisedAlert]] = {}
    for alert in alerts:
        kind = _alert_kind(alert)
        for client_id in alert.evidence:
            raised_by.setdefault((str(client_id), str(kind)), []).append(
                RaisedAlert(alert.id, alert.severity, alert.raised_at)
            )
    flags: dict[ReadingKey, ReadingFlag] = {}
    for row in real:
        key = (row.client_id, row.kind)
        crossings = _crossings(row, plans.at(row.taken_at))
        raised = tuple(raised_by.get(key, ()))
        if crossings or raised:
            flags[key] = ReadingFlag(crossings, raised)
    return flags
