"""What storing a batch of readings needs to know about each visit: its patient, start, drill
mark and drill, and the patient's care plan (bands, monitoring) as a parsed domain value.

One query per batch answers all of it for every visit in the batch, with the number of the
patient's latest care plan version; the parsed plan is kept in this process per patient and
parsed again from its stored JSON only when that number changed. So a saved plan, a visit
rescheduled or a drill started takes effect on the next batch, on every node, with nothing to
invalidate by hand, while the plan is validated once per version instead of once per reading.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.careplan import CarePlan, default_care_plan
from encounters.careplan_json import validate_care_plan
from server.store.between_visits import CarePlanVersion
from server.store.drills import Drill
from server.store.models import Encounter

# Parsed plans kept at once; the least recently loaded goes first. A plan is a few KiB.
MAX_PLANS = 10_000


@dataclass(frozen=True)
class VisitContext:
    encounter_id: int
    patient_id: int
    starts_at: dt.datetime
    is_drill: bool
    drill_id: int | None  # the drill this visit plays, None for a real visit
    plan: CarePlan

    @property
    def raises_alerts(self) -> bool:
        """A drill's readings raise that drill's alerts only; a visit marked as a drill
        without a drill of its own (booked from a drill alert) raises none."""
        return not self.is_drill or self.drill_id is not None


class VisitContexts:
    """Per process: parsed care plans by patient, each with the version it was parsed from."""

    def __init__(self, max_plans: int = MAX_PLANS) -> None:
        self._plans: dict[int, tuple[int, CarePlan]] = {}
        self._max_plans = max_plans
        self.parsed = 0  # plans parsed from JSON, for tests and benches

    async def load(
        self, s: AsyncSession, encounter_ids: Collection[int]
    ) -> dict[int, VisitContext]:
        """The visits that exist among ``encounter_ids``, by id."""
        latest = (
            select(func.max(CarePlanVersion.version))
            .where(CarePlanVersion.patient_id == Encounter.patient_id)
            .scalar_subquery()
        )
        drill = select(Drill.id).where(Drill.encounter_id == Encounter.id).scalar_subquery()
        rows = (
            await s.execute(
                select(
                    Encounter.id,
                    Encounter.patient_id,
                    Encounter.starts_at,
                    Encounter.is_drill,
                    drill,
                    latest,
                ).where(Encounter.id.in_(encounter_ids))
            )
        ).all()
        versions = {int(row[1]): int(row[5] or 0) for row in rows}
        plans = await self._plans_for(s, versions)
        return {
            int(eid): VisitContext(
                encounter_id=int(eid),
                patient_id=int(pid),
                starts_at=starts_at,
                is_drill=bool(is_drill),
                drill_id=int(drill_id) if drill_id is not None and is_drill else None,
                plan=plans[int(pid)],
            )
            for eid, pid, starts_at, is_drill, drill_id, _version in rows
        }

    async def _plans_for(self, s: AsyncSession, versions: dict[int, int]) -> dict[int, CarePlan]:
        stale = {
            patient_id: version
            for patient_id, version in versions.items()
            if self._plans.get(patient_id, (None,))[0] != version
        }
        stored = [(p, v) for p, v in stale.items() if v]
        found: dict[int, Any] = {}
        if stored:
            rows = await s.execute(
                select(CarePlanVersion.patient_id, CarePlanVersion.plan).where(
                    or_(
                        *(
                            and_(CarePlanVersion.patient_id == p, CarePlanVersion.version == v)
                            for p, v in stored
                        )
                    )
                )
            )
            found = {int(p): plan for p, plan in rows}
        for patient_id, version in stale.items():
            # No version yet: the defaults, the care team has not written a plan.
            plan = validate_care_plan(found[patient_id]) if version else default_care_plan()
            self.parsed += 1
            self._plans.pop(patient_id, None)
            if len(self._plans) >= self._max_plans:
                self._plans.pop(next(iter(self._plans)))
            self._plans[patient_id] = (version, plan)
        return {patient_id: self._plans[patient_id][1] for patient_id in versions}
